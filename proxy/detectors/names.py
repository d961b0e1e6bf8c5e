"""More recall for personal names than spaCy's small model gives alone.

Two general signals, both cheap: a capitalised name right after a cue that introduces a
person ("my name is", "Dear", "Mr.", "Name:"), and every further occurrence of a name
token that was already found as a person elsewhere in the same text (a surname repeated
alone, a first name used again).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from proxy.detectors.patterns import pattern_recognizer

ENTITY = "PERSON"

_NAME = r"\p{Lu}[\p{Ll}'’-]+(?:[ \t]+\p{Lu}[\p{Ll}'’-]+){0,2}"
# The cue is matched by a look-behind (the `regex` module allows any length), so the
# finding covers the name alone and redaction keeps the sentence readable.
_STRONG_CUES = (
    r"my name is|my name's|name is|i am called|call me|named|name:|full name:|dear|"
    r"mr\.?|mrs\.?|ms\.?|miss|mx\.?|dr\.?|prof\.?|sincerely,?|regards,?|signed,?|"
    r"attn:?|from:|to:|cc:|directed by:?|written by:?|starring:?|patient:?|employee:?|"
    r"customer:?|contact:?"
)
_WEAK_CUES = r"hi|hello|hey|thanks|thank you|bye|love|yours|with"

# A line holding only two or three capitalised words (a signature, a letterhead, an address
# block's first line) is often a name: weak evidence, for policies that redact broadly.
_NAME_LINE = (
    r"(?<=^[ \t]*(?:>[ \t]*)?)\p{Lu}[\p{Ll}'’-]+(?:[ \t]+(?:\p{Lu}\.|\p{Lu}[\p{Ll}'’-]+)){1,2}"
    r"(?=[ \t]*$)"
)

PATTERNS: tuple[tuple[str, str, float], ...] = (
    ("cue_strong", rf"(?<=(?i:\b(?:{_STRONG_CUES}))[ \t]*\n?[ \t]*){_NAME}", 0.7),
    ("cue_weak", rf"(?<=(?i:\b(?:{_WEAK_CUES}))[ \t,]+){_NAME}(?=[ \t]*[,!.:\n])", 0.5),
    ("name_line", _NAME_LINE, 0.35),
)


def person_cue_recognizer(language: str) -> Any:
    return pattern_recognizer(ENTITY, "PersonCueRecognizer", language, PATTERNS, (), re.MULTILINE)


def propagate_names(
    text: str, spans: Iterable[tuple[int, int, float]]
) -> list[tuple[int, int, float]]:
    """Other whole-word occurrences of tokens (3+ letters) of names already found.

    `spans` are (start, end, score) of person findings; returns new (start, end, score).
    """
    import regex  # type: ignore[import-untyped]  # Presidio's regex engine: \p{..} classes

    known: dict[str, float] = {}
    covered = []
    for start, end, score in spans:
        covered.append((start, end))
        for token in regex.findall(r"\p{L}[\p{L}'’-]{2,}", text[start:end]):
            if token[0].isupper():
                known[token] = max(score, known.get(token, 0.0))
    found = []
    for token, score in known.items():
        for match in regex.finditer(rf"(?<!\p{{L}}){regex.escape(token)}(?!\p{{L}})", text):
            if not any(s <= match.start() and match.end() <= e for s, e in covered):
                found.append((match.start(), match.end(), score))
    return found
