"""Presidio's PhoneRecognizer, run only where a phone number can be.

python-phonenumbers' matcher costs about 0.3 s per KiB of digit groups (eight regions, each
a full scan with many candidates), and several ms even on a short prompt. Every phone
number holds at least seven digits a few punctuation characters or blanks apart, so the
matcher runs only on windows around such clusters of digits, with a margin for what it
checks before and after a number ("(", "+", "Tel:"). A cluster longer than one window is
read in overlapping windows, each long enough for any formatted number. When the windows
of one text together exceed `MAX_WINDOW_CHARS`, the text is refused as uninspectable
(RequestTooLarge; the policy's on_error applies) rather than read in part.
"""

from __future__ import annotations

import re
from typing import Any

from presidio_analyzer.predefined_recognizers import PhoneRecognizer as PresidioPhone

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

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
        found: dict[tuple[int, int], Any] = {}
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
