"""Card numbers that Presidio's own recognizer misses.

LuhnCardRecognizer: any 13–19 digit number that passes the Luhn check, bare or in groups
parted by spaces, dashes, dots or slashes (Presidio's pattern knows only some issuer
prefixes; Mastercard's 2-series is missing).

SeparatedCardRecognizer: a run of digit groups parted by up to three separator characters
(blanks, dashes of every kind, dots, slashes, underscores, bars, commas, middle dots, plus
signs, ...) is a card when a stretch of its groups holds 13–19 digits that pass the Luhn
check and the stretch is shaped like a card: groups written the same way (one separator
throughout: "4539_1234_..."; groups under three digits, "4 5 3 9 ...", only as the whole
run) or a card's own grouping (4-4-4-4, 4-6-5, ...) with any mix of separators. A piece of
such a number is never left for a weaker finding (a phone number) to redact: the card is
found and blocks. The scan is linear: one regex pass that no character can start twice
(separators hold no digit), and per group at most 19 digits of look-ahead.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING

from presidio_analyzer import Pattern, RecognizerResult

from proxy.detectors.recognizers.base import ClassLocalRecognizer, ClassPatternRecognizer

if TYPE_CHECKING:
    from presidio_analyzer.nlp_engine import NlpArtifacts

CARD = r"(?<![\d.,-])\d(?:[ -]?\d){12,18}(?![\d.,-]?\d)"
# Between digit groups: a dash, dot or slash with optional spaces, or up to two spaces or
# line breaks. Only between groups of 3–6 digits: "3.14159265358979" is not a card.
SEPARATOR = r"(?:[ \t]*[-./][ \t]*|\s{1,2})"
CARD_GROUPED = rf"(?<![\d.,/-])\d{{4}}(?:{SEPARATOR}\d{{3,6}}){{2,4}}(?!\d|[.,/-]\d)"


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


class LuhnCardRecognizer(ClassPatternRecognizer):
    """A 13–19 digit number, bare or grouped, that passes the Luhn check."""

    ENTITY = "CREDIT_CARD"

    PATTERNS = [Pattern("luhn_13_19", CARD, 0.6), Pattern("luhn_grouped", CARD_GROUPED, 0.6)]
    CONTEXT = ["card", "credit", "debit", "visa", "mastercard", "amex", "cc"]

    def validate_result(self, pattern_text: str) -> bool | None:
        # None keeps the pattern's score; True would make it 1.0 (Presidio's convention).
        digits = re.sub(r"\D", "", pattern_text)
        valid = 13 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn_valid(digits)
        return None if valid else False


# Any punctuation, symbol or blank on one line (a colon too: times are too short to be cards).
SEPARATORS = r"(?:[^\w\n\r]|_)"
_RUN = re.compile(rf"(?<!\d)\d+(?:{SEPARATORS}{{1,3}}\d+)+")
_GROUP = re.compile(r"\d+")
# Groupings of card numbers as printed (the last group may be short on 13-19 digit cards).
CARD_SHAPES = frozenset(
    {(4, 4, 4, 4), (4, 6, 5), (4, 6, 4), (4, 4, 5), (4, 4, 4, 1), (4, 4, 4, 2), (4, 4, 4, 3),
     (4, 4, 4, 4, 1), (4, 4, 4, 4, 2), (4, 4, 4, 4, 3), (4, 5, 4), (4, 5, 5)}
)  # fmt: skip
_LONGEST = max(len(shape) for shape in CARD_SHAPES)
MAX_GROUP = 6  # "3.14159265358979" is a number, not a card: one bare digit run is Presidio's


def card_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) of every card-shaped, Luhn-valid stretch of grouped digits in `text`."""
    spans = []
    for run in _RUN.finditer(text):
        groups = [(m.start(), m.end()) for m in _GROUP.finditer(text, run.start(), run.end())]
        n = len(groups)
        compact = "".join(text[s:e] for s, e in groups)
        seps = [text[groups[k][1] : groups[k + 1][0]] for k in range(n - 1)]
        # same[i]: the last group j such that groups i..j are parted by one separator.
        same = list(range(n))
        for k in range(n - 2, -1, -1):
            if k + 1 < n - 1 and seps[k] == seps[k + 1]:
                same[k] = same[k + 1]
            else:
                same[k] = k + 1
        # total[k]: digits in groups before k; big[k]: the first group from k on over MAX_GROUP.
        # short[k]: groups of under three digits before k.
        total, short = [0], [0]
        for start, end in groups:
            total.append(total[-1] + end - start)
            short.append(short[-1] + (end - start < 3))
        big = [n] * (n + 1)
        for k in range(n - 1, -1, -1):
            wide = groups[k][1] - groups[k][0] > MAX_GROUP
            big[k] = k if wide else big[k + 1]
        for i in range(n):
            first = max(bisect_left(total, total[i] + 13) - 1, i + 1)
            last = min(bisect_right(total, total[i] + 19) - 2, big[i] - 1)
            for j in range(first, last + 1):
                shaped = j - i < _LONGEST and (
                    tuple(e - s for s, e in groups[i : j + 1]) in CARD_SHAPES
                )
                if j > same[i] and not shaped:
                    continue
                # Short groups ("4 5 3 9 ...", "45 39 ...") count only as the whole run: a
                # list of lottery numbers holds many 16-digit stretches, one in ten Luhn-valid.
                if not shaped and (i > 0 or j < n - 1) and short[j + 1] > short[i]:
                    continue
                digits = compact[total[i] : total[j + 1]]
                if digits.count(digits[0]) < len(digits) and luhn_valid(digits):
                    spans.append((groups[i][0], groups[j][1]))
    return spans


class SeparatedCardRecognizer(ClassLocalRecognizer):
    """A card-shaped, Luhn-valid stretch of digit groups with any separators (`card_spans`)."""

    ENTITIES = ["CREDIT_CARD"]

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        # 1.0: a verified checksum, as Presidio scores its own card matches.
        entity = self.supported_entities[0]
        return [
            RecognizerResult(entity, s, e, 1.0, recognition_metadata=self.metadata())
            for s, e in card_spans(text)
        ]
