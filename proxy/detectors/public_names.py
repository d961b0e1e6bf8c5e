"""Names that are public knowledge rather than personal data to protect: globally famous
people, and the artists whose names image prompts cite for a style.

"A portrait of Abraham Lincoln in the style of Greg Rutkowski" names two people, and neither
is a private person the request could expose. The text detector still finds them (a PERSON
finding, marked `public`); a rule acts on such a finding only when it says
`public_figures: true`. The list ships with PixelGate (`data/public_names.txt`, built by
bench/build_public_names.py) from two public sources, with their licences:

- Pantheon 1.0 (Yu, Ronen, Hu, Lu & Hidalgo, Scientific Data 3:150075, 2016;
  doi:10.7910/DVN/28201; CC BY 4.0): the 11,341 people whose Wikipedia biography exists
  in more than 25 languages.
- clip-interrogator 0.6.0's artists list (pharmapsychotic, MIT licence, on PyPI): 5,265
  artists that image prompts name.

A name is public only when all of it is on the list (names of two words or more: a single
word is never taken for a famous person), as written or without its dots and accents
("Greg Rutkowski", "greg rutkowski"; a list of them joined by "and" or commas). A private
person who shares a listed name whole is let through as that famous person would be: the
threat model says so.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("data") / "public_names.txt"
_SEPARATORS = re.compile(r"\s*(?:,|&|/|;|\+|\band\b|\bund\b|\bet\b|\by\b)\s*")
_NOT_NAME = re.compile(r"[^a-z0-9' -]+")
_SPACES = re.compile(r"[\s_]+")
_POSSESSIVE = re.compile(r"(?:'s|s')$")
_EXTRA_WORDS = 1
MAX_NAME_CHARS = 200  # longer spans are not one listed name (and are not normalised at all)
_LOOK_BACK = 160  # characters before a name read for a style cue: a list of a few artists
_MAX_LISTED = 4  # names before this one in a list after the cue
_SEPARATOR = re.compile(r",|&|\band\b")
_SENTENCE = re.compile(r"[\n.;:!?()]")
_STYLE_CUE = re.compile(
    r"(?i:\b(?:in the style of|style of|styled after|art by|artwork by|artworks by|painting by|"
    r"paintings by|painted by|illustration by|illustrated by|drawing by|drawn by|sketch by|"
    r"photo by|photograph by|photography by|photographed by|render by|concept art by|"
    r"sculpture by|poster by|comic by|inspired by|artist|artists|by artist|by artists))"
    r"[ \t:]*(?P<named>[ \t:][^\n,.;:!?()&]{1,60})?$"
)
_BARE_BY = re.compile(r"(?i:\bby)[ \t]*(?P<named>[ \t][^\n,.;:!?()&]{1,60})?$")
_ART_WORDS = re.compile(
    r"(?i:\b(?:artstation|art station|deviantart|behance|pixiv|cgsociety|octane|unreal engine|"
    r"concept art|digital art|digital painting|oil painting|watercolou?r|illustration|"
    r"render(?:ed|ing)?|matte painting|highly detailed|trending on|masterpiece|"
    r"\d+ ?k\b|4k|8k|hd|hdr|cinematic|portrait|painting|artwork|poster|sketch|anime|"
    r"photorealistic|hyperrealistic|studio lighting|art nouveau|baroque|ukiyo))"
)


def normal_name(text: str) -> str:
    """The form names are listed and compared in: lower case, no accents or dots, single
    spaces, no possessive ending."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c)).replace("’", "'")
    plain = _NOT_NAME.sub(" ", plain.replace(".", " ").replace("-", " "))
    return _POSSESSIVE.sub("", _SPACES.sub(" ", plain).strip()).strip()


@cache
def public_names() -> frozenset[str]:
    return read_names(DATA)


def read_names(path: Path) -> frozenset[str]:
    """A shipped name list: one normalised name per line."""
    with path.open(encoding="utf-8") as f:
        return frozenset(line.strip() for line in f if line.strip())


def is_public(text: str) -> bool:
    """Whether `text` (a PERSON span) names only listed public figures."""
    if len(text) > MAX_NAME_CHARS:
        return False
    known = public_names()
    whole = normal_name(text)
    if whole in known or (text.islower() and _listed_with_extra_words(whole, known)):
        return True
    parts = [normal_name(p) for p in _SEPARATORS.split(text.casefold()) if p.strip()]
    return len(parts) > 1 and all(p in known for p in parts)


def is_public_at(text: str, start: int, end: int) -> bool:
    """Whether `text[start:end]` names only listed public figures, or artists that an image
    prompt cites for its style."""
    return is_public(text[start:end]) or cited_for_style(text, start, end)


def cited_for_style(text: str, start: int, end: int) -> bool:
    """Whether the name at `text[start:end]` is an artist that an image prompt cites for its
    style: right after "in the style of", "art by" and the like (or after a name so cited,
    in a list: "art by greg rutkowski and dan mumford"), or after a bare "by" in a prompt
    that speaks of art ("..., trending on artstation, by wlop"). Two words at least: "art by
    Tim" cites no one famous enough to know. A private person named there passes as an
    artist would; the threat model says so."""
    if " " not in text[start:end].strip():
        return False
    before = text[max(0, start - _LOOK_BACK) : start]
    if _after(_STYLE_CUE, before):
        return True
    return _after(_BARE_BY, before) and bool(_ART_WORDS.search(text))


def _after(cue: re.Pattern[str], before: str) -> bool:
    """Whether `before` ends with `cue`, or with `cue` and a short list ("a, b and ")."""
    found = cue.search(before)
    if found and found.group("named") is None:
        return True
    separators = [m.start() for m in _SEPARATOR.finditer(before)][-_MAX_LISTED:]
    tail = len(before)
    for at in reversed(separators):
        if _SENTENCE.search(before, at, tail):  # the list ends at a sentence's edge
            return False
        found = cue.search(before[:at].rstrip())
        if found and found.group("named") is not None:
            return True
        tail = at
    return False


def _listed_with_extra_words(name: str, known: frozenset[str]) -> bool:
    """A listed name with at most `_EXTRA_WORDS` words of the prompt caught on either side
    of it ("donald trump suit", "steve mccurry hills"), in a span written in lower case."""
    words = name.split()
    for size in range(len(words) - 1, max(1, len(words) - _EXTRA_WORDS - 1), -1):
        if " ".join(words[:size]) in known or " ".join(words[-size:]) in known:
            return True
    return False
