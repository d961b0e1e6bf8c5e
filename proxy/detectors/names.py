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


_WORD = r"\p{Lu}[\p{Ll}'’-]+"
# After a name: middle initials, surname particles, then a capitalised word ("<M. Belov>",
# "<van de Noort>", "<ten Pas>"): the rest of the same name, which the model often drops.
_REST = (
    rf"(?:[ \t]+(?:\p{{Lu}}\.|van|von|de|der|den|da|di|du|del|della|dos|das|ten|ter|bin|ibn|"
    rf"al|el|la|le))*[ \t]+{_WORD}"
)
# Two or more names in a row: "A, B, C and D", "A & B".
_ITEM = rf"{_WORD}(?:[ \t]+(?:\p{{Lu}}\.[ \t]+)?{_WORD}){{0,2}}"
_LIST = rf"{_ITEM}(?:(?:,[ \t]*|,?[ \t]+(?:and|or|&|und|et|y|e)[ \t]+){_ITEM})+"


def widen_names(text: str, spans: Iterable[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    """Person spans completed by what belongs with them: the rest of a name cut short, and the
    other members of a list one of whose members is a person ("A, B and C").

    `spans` are (start, end, score) of person findings; returns new (start, end, score).
    """
    import regex

    spans = list(spans)
    if not spans:
        return []  # most prompts: no scan at all
    found = []
    for _, end, score in spans:
        rest = regex.match(_REST, text, pos=end)
        if rest is not None:
            blank = len(rest[0]) - len(rest[0].lstrip())
            found.append((end + blank, rest.end(), score))
    for match in regex.finditer(_LIST, text):
        items = [(m.start(), m.end()) for m in regex.finditer(_ITEM, match[0])]
        items = [(match.start() + s, match.start() + e) for s, e in items]
        hit = [sc for s, e, sc in spans if any(s < ie and is_ < e for is_, ie in items)]
        if hit:
            score = min(max(hit), 0.6)
            found += [
                (s, e, score) for s, e in items if not any(a < e and s < b for a, b, _ in spans)
            ]
    return found
