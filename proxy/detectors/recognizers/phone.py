"""Phone numbers: Presidio's PhoneRecognizer, bounded, and a context-driven one of ours.

PhoneRecognizer is Presidio's, run only where a phone number can be. python-phonenumbers'
matcher costs about 0.3 s per KiB of digit groups (eight regions, each a full scan with
many candidates), and several ms even on a short prompt. Every phone number holds at least
seven digits a few punctuation characters or blanks apart, so the matcher runs only on
windows around such clusters of digits, with a margin for what it checks before and after a
number ("(", "+", "Tel:"). A cluster longer than one window is read in overlapping windows,
each long enough for any formatted number. When the windows of one text together exceed
`MAX_WINDOW_CHARS`, the text is refused as uninspectable (RequestTooLarge; the policy's
on_error applies) rather than read in part.

ContextPhoneRecognizer: a phone-shaped number scores below any sensible threshold on its
own and counts only with a context word nearby ("phone", "call", "mobile", ...), which
Presidio's context enhancement adds; the phone-number library misses many national formats.
"""

from __future__ import annotations

import re
from typing import Any

from presidio_analyzer import Pattern, RecognizerResult
from presidio_analyzer.predefined_recognizers import PhoneRecognizer as PresidioPhone

from proxy.detectors.recognizers.base import ClassPatternRecognizer
from proxy.errors import RequestTooLarge

MIN_DIGITS = 7  # the shortest number any of the regions' metadata calls valid has more
MARGIN = 12  # characters read before and after a cluster
WINDOW = 48  # a long cluster is read in windows this long ...
STEP = 24  # ... starting this far apart: every number of up to 24 characters is whole in one
MAX_WINDOW_CHARS = 2048  # about 0.7 s of matching on dense digit groups

_CLUSTER = re.compile(r"\d+(?:[^\w\n\r]{1,4}\d+)*")


def windows(text: str) -> list[tuple[int, int]]:
    """[start, end) of the stretches of `text` the matcher must read; raises
    RequestTooLarge when there is too much of it to read."""
    spans: list[tuple[int, int]] = []
    total = 0
    for m in _CLUSTER.finditer(text):
        if sum(ch.isdigit() for ch in m[0]) < MIN_DIGITS:
            continue
        cuts = [(m.start(), m.end())]
        if m.end() - m.start() > WINDOW:
            cuts = [(s, min(s + WINDOW, m.end())) for s in range(m.start(), m.end(), STEP)]
            cuts = [c for c in cuts if c[1] - c[0] > WINDOW - STEP or c[0] == m.start()]
        for start, end in cuts:
            span = (max(start - MARGIN, 0), min(end + MARGIN, len(text)))
            total += span[1] - span[0]
            if total > MAX_WINDOW_CHARS:
                raise RequestTooLarge("too many digit groups to inspect for phone numbers")
            spans.append(span)
    return spans


class PhoneRecognizer(PresidioPhone):
    """Presidio's PhoneRecognizer (same name, context, regions, leniency and findings on
    numbers of up to `STEP` characters), at a cost bounded by `MAX_WINDOW_CHARS`."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        # nlp_artifacts: Any, as Presidio's own signature reads "NlpArtifacts = None".
        found: dict[tuple[int, int], RecognizerResult] = {}
        for start, end in windows(text):
            for result in super().analyze(text[start:end], entities, nlp_artifacts):
                # A match touching a window's cut inside a cluster may be a fragment; the
                # window before or after holds it whole.
                if (result.start == 0 and start > 0) or (
                    result.end == end - start and end < len(text)
                ):
                    continue
                result.start += start
                result.end += start
                found.setdefault((result.start, result.end), result)
        return list(found.values())


PHONE = r"(?<![\w+])\+?(?:\(?\d{1,4}\)?[ .\-/]?){2,6}\d{2,4}(?![\w])"
# "call" is a spaCy stop word, and Presidio never takes a stop word as context: "call me on
# +1 456 864 1849" would stay at the pattern's 0.1. The cue is therefore part of a pattern.
# What a number can start with, looked for before the look-behind, which then runs only
# there; "[ \t]*(?::[ \t]*)?" splits a run of blanks one way only ("[ \t]*:?[ \t]*" has a
# square number of ways, all tried from every blank of a long run).
PHONE_AFTER_CALL = (
    r"(?=[+(\d])(?<=\b(?i:call|ring)(?:[ \t]+(?i:me|us|him|her|them))?(?:[ \t]+(?i:on|at))?"
    r"[ \t]*(?::[ \t]*)?)" + PHONE
)


class ContextPhoneRecognizer(ClassPatternRecognizer):
    """A phone-shaped number of 7 to 15 digits: weak alone, strong after "call me on"."""

    ENTITY = "PHONE_NUMBER"

    PATTERNS = [Pattern("phone_shaped", PHONE, 0.1), Pattern("after_call", PHONE_AFTER_CALL, 0.45)]
    CONTEXT = [
        "phone", "telephone", "tel", "mobile", "cell", "call", "fax", "whatsapp", "sms", "text",
        "number", "reach", "contact", "landline",
    ]  # fmt: skip

    def validate_result(self, pattern_text: str) -> bool | None:
        # None keeps the pattern's score (True would make it 1.0).
        return None if 7 <= len(re.sub(r"\D", "", pattern_text)) <= 15 else False
