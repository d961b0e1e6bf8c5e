"""Person spans completed across a text, after the recognizers have found some.

Two general signals, both cheap, applied to the person findings of one text: every further
occurrence of a name token already found as a person elsewhere in it (a surname repeated
alone, a first name used again: `propagate_names`), and the rest of a name cut short or the
other members of a list one of whose members is a person (`widen_names`). The cue-based
name recognizer is proxy.detectors.recognizers.names.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Iterable, Sequence


def propagate_names(
    text: str, spans: Iterable[tuple[int, int, float]]
) -> list[tuple[int, int, float]]:
    """Other whole-word occurrences of tokens (3 to 64 letters) of names already found.

    `spans` are (start, end, score) of person findings; returns new (start, end, score).
    """
    import regex  # type: ignore[import-untyped]  # Presidio's regex engine: \p{..} classes

    known: dict[str, float] = {}
    covered = []
    for start, end, score in spans:
        covered.append((start, end))
        for token in regex.findall(r"\p{L}[\p{L}'’-]{2,}", text[start:end]):
            if token[0].isupper() and len(token) <= _LONGEST_TOKEN:
                known[token] = max(score, known.get(token, 0.0))
    if not known:
        return []
    # One pass over the text for all tokens, not one per token (a text of many names has
    # as many tokens as words): at each letter that follows no letter, the known tokens
    # of each length that end before a non-letter there.
    inside = _Cover(covered)
    lengths = sorted({len(token) for token in known})
    letter = regex.compile(r"\p{L}")
    found = []
    for first in regex.finditer(r"(?<!\p{L})\p{L}", text):
        at = first.start()
        for length in lengths:
            token = text[at : at + length]
            if token in known and not letter.match(text, at + length, at + length + 1):
                if not inside.covers(at, at + length):
                    found.append((at, at + length, known[token]))
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


_LONGEST_TOKEN = 64  # longer "names" are not propagated: each costs its length per word


class _Cover:
    """Whether some span contains [start, end): a bisection, not a scan of every span."""

    def __init__(self, spans: Sequence[tuple[int, int]]) -> None:
        ordered = sorted(spans)
        self.starts = [s for s, _ in ordered]
        self.reach: list[int] = []  # reach[i]: the furthest end among the first i + 1 spans
        for _, end in ordered:
            self.reach.append(max(end, self.reach[-1] if self.reach else end))

    def covers(self, start: int, end: int) -> bool:
        last = bisect_right(self.starts, start) - 1
        return last >= 0 and self.reach[last] >= end


def _best_overlaps(
    spans: Sequence[tuple[int, int, float]], items: Sequence[tuple[int, int]]
) -> list[float | None]:
    """For each of `items` (disjoint, in order): the best score of the spans overlapping it,
    None if none does. One sweep with a heap, not spans x items comparisons."""
    ordered = sorted(spans)
    active: list[tuple[float, int]] = []  # (-score, end); spans ended are dropped lazily
    best: list[float | None] = []
    i = 0
    for start, end in items:
        while i < len(ordered) and ordered[i][0] < end:
            heapq.heappush(active, (-ordered[i][2], ordered[i][1]))
            i += 1
        while active and active[0][1] <= start:  # ends are passed for good: items go right
            heapq.heappop(active)
        best.append(-active[0][0] if active else None)
    return best


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
    lists = [
        [
            (m.start(), m.end())
            for m in regex.finditer(_ITEM, text, pos=match.start(), endpos=match.end())
        ]
        for match in regex.finditer(_LIST, text)
    ]
    best = iter(_best_overlaps(spans, [item for items in lists for item in items]))
    for items in lists:
        overlaps = [next(best) for _ in items]
        hit = [score for score in overlaps if score is not None]
        if hit:
            score = min(max(hit), 0.6)
            found += [item + (score,) for item, o in zip(items, overlaps, strict=True) if o is None]
    return found
