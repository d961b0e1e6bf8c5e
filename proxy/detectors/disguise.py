"""A third reading of a text: values written in disguise, put back into plain form.

Each rewrite undoes one class of disguise and only where the disguise shows (never a
plain prompt): digits spelled out ("four five three nine") or in Chinese numerals
(一二三, 〇), the letters O, o, l and I standing for 0 and 1 inside a digit group, HTML
entities (&#64;, &commat;), HTML tags and markdown emphasis around an "@", an "@" in
brackets or between blanks, an at-sign or a dot spelled out around a dotted domain, an
email written letter by letter, the ideographic full stop between letters, an address
written backwards. Like the decoded reading (proxy.detectors.views), a finding here counts
only where it overlaps something a rewrite changed, and maps back to the original.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable

import regex  # type: ignore[import-untyped]  # \p{...} classes and variable look-behinds

from proxy.detectors.normalize import NormalizedText
from proxy.detectors.spelled import has_public_suffix
from proxy.detectors.views import View

Edit = tuple[int, int, str]  # replace text[start:end] by the string

# A quick test for any of the disguises below, so that a plain prompt costs one scan.
_ANY = regex.compile(
    r"[&<@*`。｡︒〇零一二三四五六七八九两壹贰叁肆伍陆柒捌玖貳參陸]|\d[ \t]?[OolI]|[OolI][ \t]?\d|"
    r"(?i:\b(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|at|dot|period|point|sign|"
    r"symbol|nought|nil|double|triple)\b)"
)

_DIGIT_WORDS = {
    "zero": "0", "oh": "0", "nought": "0", "nil": "0", "one": "1", "two": "2",
    "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9",
}  # fmt: skip
_HAN_DIGITS = {ch: str(i) for i, ch in enumerate("〇一二三四五六七八九")} | {"零": "0", "两": "2"}
# The financial forms (大写), simplified and traditional, written on cheques and invoices.
_HAN_DIGITS |= {ch: str(i) for i, ch in enumerate("零壹贰叁肆伍陆柒捌玖")}
_HAN_DIGITS |= {ch: str(i) for i, ch in enumerate("零壹貳參肆伍陸柒捌玖")}
_NUM_WORD = r"(?i:zero|oh|nought|nil|one|two|three|four|five|six|seven|eight|nine)"
# Four or more digit words or digit groups in a row, at least one of them a word.
# "double five" is "55" and "triple oh" "000", as numbers are read out.
_NUM_TOKEN = rf"(?:(?:(?i:double|triple)[ \t]+)?{_NUM_WORD}|\d{{1,6}})\b"
_SPELLED_RUN = regex.compile(
    rf"\b{_NUM_TOKEN}(?:[ \t]{{0,2}}[^\w\s]{{0,2}}[ \t]{{0,2}}{_NUM_TOKEN}){{3,}}"
)
_NUM_PIECE = regex.compile(rf"\b{_NUM_TOKEN}")
_HAN = "[〇零一二三四五六七八九两壹贰叁肆伍陆柒捌玖貳參陸]"
_HAN_RUN = regex.compile(rf"{_HAN}(?:[ \t,\-–—_.|·+]{{0,3}}{_HAN}){{3,}}")
# A group of digits with O/o (0) or l/I (1) among them, not part of a word.
_DIGIT_LIKE = regex.compile(r"(?<![\p{L}\d])[\dOolI]++(?![\p{L}\d])")
_GAP = regex.compile(r"[ \t.\-/()]{1,3}")
_LETTER_DIGIT = {"O": "0", "o": "0", "l": "1", "I": "1"}

_ENTITY = regex.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});?")
_TAG = regex.compile(r"</?[A-Za-z][A-Za-z0-9]{0,10}(?:[ \t][^<>\n]{0,80})?/?>|<!--.{0,80}?-->")
# Markdown emphasis around an "@", or its escape ("\@").
_EMPHASIS_AT = regex.compile(r"[*_~`\\]{1,3}(?=@)|(?<=@)[*_~`]{1,3}")
_OPEN, _CLOSE = r"[\[({<]", r"[\])}>]"
_AT_WRAPPED = regex.compile(
    rf"[ \t]*{_OPEN}[ \t]*@[ \t]*{_CLOSE}[ \t]*|(?<=\w)[ \t]+@[ \t]*(?=\w)|(?<=\w)@[ \t]+(?=\w)"
)
_IDEO_STOP = regex.compile(r"(?<=[A-Za-z0-9])[。｡︒](?=[A-Za-z0-9])")

# Spelled-out "@" and ".": "at-sign", "(at)", "period", "dot", "point" between name parts.
_WORD = r"[A-Za-z0-9](?:[A-Za-z0-9_%+-]{0,62}[A-Za-z0-9])?"
_AT_TOKEN = r"(?i:at[- ]?sign|at[- ]symbol|at)"
_DOT_TOKEN = r"(?i:dot|period|point|full[- ]stop)"
# Spelled words stand apart (blanks or brackets): "greatexample.com" holds no "at".
_AT_WORDS = (
    rf"(?:[ \t]*{_OPEN}[ \t]*(?:{_AT_TOKEN}|@)[ \t]*{_CLOSE}[ \t]*"
    rf"|[ \t]+{_AT_TOKEN}[ \t]+|[ \t]*@[ \t]*)"
)
_DOT_WORDS = (
    rf"(?:[ \t]*{_OPEN}[ \t]*(?:{_DOT_TOKEN}|\.)[ \t]*{_CLOSE}[ \t]*"
    rf"|[ \t]+(?:{_DOT_TOKEN}|\.)[ \t]+|\.)"
)
_SPELLED_EMAIL = regex.compile(
    rf"(?<![\w.@]){_WORD}(?:{_DOT_WORDS}{_WORD}){{0,4}}{_AT_WORDS}{_WORD}"
    rf"(?:{_DOT_WORDS}{_WORD}){{1,4}}(?![\w@])"
)
_AT_PIECE = regex.compile(_AT_WORDS)
_DOT_PIECE = regex.compile(_DOT_WORDS)
_PLAIN_AT = regex.compile(r"[ \t]+(?i:at)[ \t]+")

# An email written letter by letter: single characters (or a bracketed one) apart.
_SPACED = regex.compile(
    r"(?<!\S)(?:\S|[\[({<]\S[\])}>])(?:[ \t]{1,3}(?:\S|[\[({<]\S[\])}>])(?!\S)){5,}"
)
# Either way round: "ku.oc.elpmaxe@nhoj" has its dots before the "@".
_EMAILISH = regex.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w.+-]{1,253}(?![\w-])")


def _spelled_digits(text: str) -> Iterable[Edit]:
    """Digit words become digits and the run one number ("four five, 12" -> "4512"): how
    the words were grouped says nothing of how the digits are."""
    for run in _SPELLED_RUN.finditer(text):
        base, last_end = run.start(), None
        for m in _NUM_PIECE.finditer(run[0]):
            if last_end is not None and m.start() > last_end:
                yield base + last_end, base + m.start(), ""
            if not m[0][0].isdigit():
                *times, word = m[0].lower().split()
                count = {"double": 2, "triple": 3}.get(times[0] if times else "", 1)
                yield base + m.start(), base + m.end(), _DIGIT_WORDS[word] * count
            last_end = m.end()


def _han_digits(text: str) -> Iterable[Edit]:
    for run in _HAN_RUN.finditer(text):
        for i, ch in enumerate(run[0]):
            if ch in _HAN_DIGITS:
                yield run.start() + i, run.start() + i + 1, _HAN_DIGITS[ch]


def _letters_for_digits(text: str) -> Iterable[Edit]:
    """O/o/l/I in a group of two or more digits ("45O9"), or anywhere in a run of groups a
    short gap apart holding six or more digits ("+I 8ll 7o2 5807", "4539 l488 O343 6467")."""
    clusters: list[list[tuple[int, int, int]]] = []
    for m in _DIGIT_LIKE.finditer(text):
        token = (m.start(), m.end(), sum(ch.isdigit() for ch in m[0]))
        last = clusters[-1][-1] if clusters else None
        if last is not None and _GAP.fullmatch(text[last[1] : m.start()]):
            clusters[-1].append(token)
        else:
            clusters.append([token])
    for cluster in clusters:
        whole = sum(digits for _, _, digits in cluster) >= 6
        for start, end, digits in cluster:
            if whole or digits >= 2:
                for i in range(start, end):
                    if text[i] in _LETTER_DIGIT:
                        yield i, i + 1, _LETTER_DIGIT[text[i]]


def _entities(text: str) -> Iterable[Edit]:
    for m in _ENTITY.finditer(text):
        plain = html.unescape(m[0])
        if plain != m[0] and len(plain) == 1:
            yield m.start(), m.end(), plain


def _sub(pattern: regex.Pattern, by: str) -> Callable[[str], Iterable[Edit]]:
    return lambda text: ((m.start(), m.end(), by) for m in pattern.finditer(text))


def _spelled_email(text: str) -> Iterable[Edit]:
    for m in _SPELLED_EMAIL.finditer(text):
        at = _AT_PIECE.search(m[0])
        dots = [d for d in _DOT_PIECE.finditer(m[0]) if d[0] != "."]
        if at is None:
            continue
        bare = at[0].strip(" \t") == "@"
        if (bare or _PLAIN_AT.fullmatch(at[0])) and not dots:
            continue  # a plain " at " needs a spelled dot ("look at example.com" is prose)
        if not bare:
            yield m.start() + at.start(), m.start() + at.end(), "@"
        for d in dots:
            if d.start() >= at.end() or d.end() <= at.start():
                yield m.start() + d.start(), m.start() + d.end(), "."


def _letter_spaced(text: str) -> Iterable[Edit]:
    for m in _SPACED.finditer(text):
        if "@" in m[0]:
            for gap in regex.finditer(r"[ \t]+", m[0]):
                yield m.start() + gap.start(), m.start() + gap.end(), ""


def _reversed(text: str) -> Iterable[Edit]:
    for m in _EMAILISH.finditer(text):
        back = m[0][::-1]
        if not has_public_suffix(m[0]) and has_public_suffix(back):
            yield m.start(), m.end(), back


# In order: each pass reads what the passes before it wrote.
PASSES: tuple[Callable[[str], Iterable[Edit]], ...] = (
    _entities,
    _sub(_TAG, ""),
    _sub(_EMPHASIS_AT, ""),
    _letter_spaced,
    _sub(_AT_WRAPPED, "@"),
    _sub(_IDEO_STOP, "."),
    _spelled_email,
    _reversed,
    _spelled_digits,
    _han_digits,
    _letters_for_digits,
)


def disguise_view(norm: NormalizedText) -> View | None:
    """The text with every disguise above undone; None when there is none."""
    if not _ANY.search(norm.text):
        return None
    text = norm.text
    starts = list(norm.origin)
    ends = list(norm.ends) if norm.ends is not None else [o + 1 for o in norm.origin]
    changed = [False] * len(text)
    any_edit = False
    for find in PASSES:
        edits = sorted(find(text))
        if not edits:
            continue
        any_edit = True
        out: list[str] = []
        n_starts: list[int] = []
        n_ends: list[int] = []
        n_changed: list[bool] = []
        done = 0
        for start, end, new in edits:
            if start < done:
                continue  # overlapping edits: the first one wins
            out.append(text[done:start])
            n_starts += starts[done:start]
            n_ends += ends[done:start]
            n_changed += changed[done:start]
            if new:
                low = min(starts[start:end]) if end > start else starts[start]
                high = max(ends[start:end]) if end > start else low
                # A reversed run maps back character by character, in reverse.
                if new == text[start:end][::-1] and len(new) > 1:
                    n_starts += starts[start:end][::-1]
                    n_ends += ends[start:end][::-1]
                else:
                    n_starts += [low] * len(new)
                    n_ends += [high] * len(new)
                n_changed += [True] * len(new)
            elif n_changed:  # a deletion: the characters on both sides now touch
                n_changed[-1] = True
                if end < len(text):
                    changed[end] = True
            out.append(new)
            done = end
        out.append(text[done:])
        n_starts += starts[done:]
        n_ends += ends[done:]
        n_changed += changed[done:]
        text, starts, ends, changed = "".join(out), n_starts, n_ends, n_changed
    if not any_edit:
        return None
    regions = _runs(changed)
    view = NormalizedText(text, tuple(starts), norm.original_length, tuple(ends))
    return View(view, regions)


def _runs(flags: list[bool]) -> tuple[tuple[int, int], ...]:
    runs: list[tuple[int, int]] = []
    start = None
    for i, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append((start, i))
            start = None
    return tuple(runs)
