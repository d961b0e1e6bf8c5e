r"""Presidio's email pattern, matched from each "@" instead of from every word boundary.

Presidio's local part, `\b(C|C[C.]*C)@` (C: letters, digits and `!#$%&'*+-/=?^_`{|}~`),
lets the engine start at every word boundary of a long run such as `a.a.a.a...`, read to
its end and back: quadratic (8 KiB of it: 7 s). Here the run before each "@" is read once,
backwards; the leftmost start Presidio's regex would take is the first word boundary in the
run before a character other than "."; the domain is Presidio's own pattern, matched once
after the "@". Matches are the same spans, in the same order, as `finditer` gives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import regex  # type: ignore[import-untyped]  # Presidio's engine: same \w and \b
from presidio_analyzer import EntityRecognizer, Pattern, RecognizerResult
from presidio_analyzer.predefined_recognizers import EmailRecognizer as PresidioEmail

from proxy.detectors.recognizers.results import pattern_results

if TYPE_CHECKING:
    from presidio_analyzer.nlp_engine import NlpArtifacts

_SPECIALS = r"!#$%&'*+\-/=?^_`{|}~"
_RUN_BACKWARDS = regex.compile(rf"(?r)[{_SPECIALS}.\w]+")
_START = regex.compile(rf"\b[{_SPECIALS}\w]")
_DOMAIN = regex.compile(r"\w+(?:-+\w+)*(?:\.\w+(?:-+\w+)*)+\b")
# The domain's characters. `_DOMAIN.match` is given where they end: unbounded, the engine
# first looks for the "." it requires through the whole rest of the text, on every call.
_DOMAIN_RUN = regex.compile(r"[\w.\-]*")


class EmailRecognizer(PresidioEmail):
    """Presidio's EmailRecognizer (name, pattern, score, context, validation), linear."""

    patterns: list[Pattern]  # set by PatternRecognizer; declared for mypy

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        return EntityRecognizer.remove_duplicates(
            pattern_results(self, text, email_spans(text), self.patterns[0])
        )


def email_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    done = 0  # where the last match ended: finditer never looks back before it
    at, after_last_at = text.find("@"), 0
    while at >= 0:
        # The local part's characters, read once: they hold no "@", so never reach back
        # beyond the previous one (nor is the engine asked to: a wide range costs per call).
        run = _RUN_BACKWARDS.match(text, max(done, after_last_at), at)
        domain = None
        if run and text[at - 1] != ".":
            end = _DOMAIN_RUN.match(text, at + 1).end()  # \b there holds with or without
            domain = _DOMAIN.match(text, at + 1, end)
        start = _START.search(text, run.start(), at) if domain else None
        if start is not None and domain is not None:
            spans.append((start.start(), domain.end()))
            done = domain.end()  # holds no "@": the next one lies beyond it
        at, after_last_at = text.find("@", at + 1), at + 1
    return spans
