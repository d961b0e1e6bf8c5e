"""RecognizerResults for spans a recognizer found by its own means, not by Presidio's loop.

Our linear recognizers (email, url) find the same spans as their Presidio originals'
regexes, by other means; this turns those spans into the results Presidio's
PatternRecognizer would have made of the same matches: scored, validated and explained alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from presidio_analyzer import EntityRecognizer, Pattern, RecognizerResult


def pattern_results(
    recognizer: Any, text: str, spans: Iterable[tuple[int, int]], pattern: Pattern
) -> list[RecognizerResult]:
    """RecognizerResults for `spans` found by `pattern`, scored, validated and explained as
    Presidio's PatternRecognizer does for the matches of its own regex. `recognizer` is a
    PatternRecognizer; typed Any because Presidio's annotations are narrower than what its
    own code passes (an optional validation result, optional flags)."""
    flags = recognizer.global_regex_flags
    results = []
    for start, end in spans:
        if start == end:
            continue
        matched = text[start:end]
        validation = recognizer.validate_result(matched)
        explanation = recognizer.build_regex_explanation(
            recognizer.name, pattern.name, pattern.regex, pattern.score, validation, flags
        )
        result = RecognizerResult(
            entity_type=recognizer.supported_entities[0],
            start=start,
            end=end,
            score=pattern.score,
            analysis_explanation=explanation,
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id,
            },
        )
        if validation is not None:
            result.score = EntityRecognizer.MAX_SCORE if validation else EntityRecognizer.MIN_SCORE
        if recognizer.invalidate_result(matched):
            result.score = EntityRecognizer.MIN_SCORE
        if result.score > EntityRecognizer.MIN_SCORE:
            results.append(result)
        explanation.score = result.score
    return results
