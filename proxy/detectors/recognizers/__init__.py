"""Our replacements for Presidio recognizers whose patterns cost more than linear time.

Python's regex engines hold the GIL while they match, so a pattern that backtracks
quadratically on a crafted prompt stalls every thread, the proxy's event loop included.
Each class here keeps its Presidio original's name, entity, patterns, context and
validation, so findings, scores and the prefilter's gates are unchanged, and finds the same
spans, but never lets the engine retry a long run of characters from every position in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from presidio_analyzer import EntityRecognizer, RecognizerResult


def pattern_results(
    recognizer: Any, text: str, spans: Iterable[tuple[int, int]], pattern: Any
) -> list[Any]:
    """RecognizerResults for `spans` found by `pattern`, scored, validated and explained as
    Presidio's PatternRecognizer does for the matches of its own regex."""
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
