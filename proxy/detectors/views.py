"""Second readings of a text, for values written so that no recognizer sees them whole.

`decoded_view` joins lines a value was wrapped over ("jane.do" / "e@example.com") and
replaces base64 and percent-encoded runs by what they decode to, keeping the text around
them as context. Each decoded character maps back to its whole encoded run, so a finding
in decoded text redacts the run. `across_fields` reads the seam between two adjacent
request fields, for a value cut into two fields. Findings from a second reading count only
where they cross something the first reading could not see (a seam, a join, a decoded run).
"""

from __future__ import annotations

import base64
import binascii
import re
import urllib.parse
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from proxy.detectors.normalize import NormalizedText

# Shorter runs decode to fewer than 9 bytes: too short to hold a value worth hiding, and
# ordinary words of that length would be tried for nothing.
_BASE64 = re.compile(r"(?<![\w+/=-])[A-Za-z0-9+/_-]{12,}={0,2}(?![\w+/=-])")
_URL_CHARS = r"[\w.~+!*'(),;:@&=$/-]"
# Both runs start where a run of their characters starts: tried from inside one, they would
# read to its end again from every character of it (quadratic in a long word). A start inside
# a run fails wherever the run's own start fails, so the matches are the same.
_PERCENT = re.compile(
    rf"(?<!{_URL_CHARS}){_URL_CHARS}*%[0-9A-Fa-f]{{2}}(?:{_URL_CHARS}|%[0-9A-Fa-f]{{2}})*"
)
# Lines wrapped inside one run of non-blank characters; only a run holding a digit, "@" or
# "%" can carry a value we look for, so ordinary multi-line prose gets no second reading.
_WRAPPED_RUN = re.compile(r"(?<!\S)\S+(?:\r?\n\S+)+")
_BREAK = re.compile(r"\r?\n")
_VALUE_CHARS = re.compile(r"[0-9@%]")
SEAM = 64  # characters read on each side of the seam between two fields


def _readable(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(text) < 4 or not all(ch.isprintable() or ch in "\t\n\r" for ch in text):
        return None
    return text if any(ch.isalnum() for ch in text) else None


def _unbase64(run: str) -> str | None:
    body = run.rstrip("=")
    if len(body) % 4 == 1:
        return None
    urlsafe = "-" in body or "_" in body
    if urlsafe and ("+" in body or "/" in body):
        return None
    try:
        raw = base64.b64decode(body + "=" * (-len(body) % 4), b"-_" if urlsafe else None, True)
    except (binascii.Error, ValueError):
        return None
    return _readable(raw)


def _unpercent(run: str) -> str | None:
    return _readable(urllib.parse.unquote_to_bytes(run))


@dataclass(frozen=True)
class View:
    """A second reading: `norm` maps back to the original; `regions` ([start, end) in
    `norm.text`) are what changed, and a finding counts only if it overlaps one."""

    norm: NormalizedText
    regions: tuple[tuple[int, int], ...]

    def touches(self, start: int, end: int) -> bool:
        return any(start < r_end and end > r_start for r_start, r_end in self.regions)


def decoded_view(norm: NormalizedText) -> View | None:
    """Wrapped lines joined and encoded runs decoded; None when nothing changes."""
    text = norm.text
    if "\n" not in text and "%" not in text and not _BASE64.search(text):
        return None  # the common prompt: one regex scan, no copies
    breaks = [
        (run.start() + b.start(), run.start() + b.end())
        for run in _WRAPPED_RUN.finditer(text)
        if _VALUE_CHARS.search(run[0])
        for b in _BREAK.finditer(run[0])
    ]
    kept = [0, *(i for span in breaks for i in span), len(text)]  # text between the breaks
    joined = "".join(text[kept[i] : kept[i + 1]] for i in range(0, len(kept), 2))
    pieces = _decoded_runs(joined)
    if not pieces and not breaks:
        return None  # e.g. a long word that looked like base64: decided before any copy
    starts = list(norm.origin)
    ends = list(norm.ends) if norm.ends is not None else [o + 1 for o in norm.origin]
    regions: list[tuple[int, int]] = []
    for b_start, b_end in reversed(breaks):
        del starts[b_start:b_end], ends[b_start:b_end]
    # Where each join landed in the joined text: an empty region, which only a finding
    # holding characters from both lines overlaps.
    shift = 0
    for b_start, b_end in breaks:
        regions.append((b_start - shift, b_start - shift))
        shift += b_end - b_start
    out, o_starts, o_ends = [], [], []
    done = here = 0
    decoded_regions = []
    for start, end, plain in sorted(pieces):
        out.append(joined[done:start])
        o_starts += starts[done:start]
        o_ends += ends[done:start]
        here += start - done
        decoded_regions.append((here, here + len(plain)))
        out.append(plain)
        here += len(plain)
        o_starts += [min(starts[start:end])] * len(plain)
        o_ends += [max(ends[start:end])] * len(plain)
        done = end
    out.append(joined[done:])
    o_starts += starts[done:]
    o_ends += ends[done:]
    if pieces:
        regions = _moved(regions, pieces) + decoded_regions
    view = NormalizedText("".join(out), tuple(o_starts), norm.original_length, tuple(o_ends))
    return View(view, tuple(regions))


def _decoded_runs(text: str) -> list[tuple[int, int, str]]:
    """(start, end, decoded) of the base64 and percent-encoded runs in `text` that decode
    to readable text; a run overlapping one found before is left alone."""
    pieces = [(m.start(), m.end(), p) for m in _BASE64.finditer(text) if (p := _unbase64(m[0]))]
    # Base64 runs do not overlap each other and come in order: the only one a percent run
    # can overlap is the last that starts before the percent run ends.
    starts = [s for s, _, _ in pieces]
    for m in _PERCENT.finditer(text):
        before = bisect_left(starts, m.end()) - 1
        if before >= 0 and pieces[before][1] > m.start():
            continue
        plain = _unpercent(m[0])
        if plain:
            pieces.append((m.start(), m.end(), plain))
    return pieces


def _moved(
    regions: list[tuple[int, int]], pieces: list[tuple[int, int, str]]
) -> list[tuple[int, int]]:
    """Join regions shifted by the decoding before them (joins inside a run are dropped:
    the run's own region covers them)."""
    ordered = sorted(pieces)  # they do not overlap: in order of start and of end alike
    starts = [s for s, _, _ in ordered]
    ends = [e for _, e, _ in ordered]
    growth = [0]  # growth[i]: how much the first i decoded runs lengthened the text
    for s, e, p in ordered:
        growth.append(growth[-1] + len(p) - (e - s))
    moved = []
    for r_start, r_end in regions:
        before = bisect_left(starts, r_end) - 1  # the last run starting before r_end
        if before >= 0 and ends[before] > r_start:
            continue
        delta = growth[bisect_right(ends, r_start)]
        moved.append((r_start + delta, r_end + delta))
    return moved


Hit = TypeVar("Hit")


def across_fields(
    texts: Sequence[str], find: Callable[[str], list[tuple[int, int, Hit]]]
) -> list[tuple[int, int, int, Hit]]:
    """Findings that cross the seam between adjacent fields, as (field, start, end, hit)
    pieces in each field's own offsets. `find` returns (start, end, hit) in its text."""
    pieces = []
    for i in range(len(texts) - 1):
        left, right = texts[i], texts[i + 1]
        if not left or not right:
            continue
        tail, head = left[-SEAM:], right[:SEAM]
        base = len(left) - len(tail)
        for start, end, hit in find(tail + head):
            if start < len(tail) < end:
                pieces.append((i, base + start, len(left), hit))
                pieces.append((i + 1, 0, end - len(tail), hit))
    return pieces
