r"""Presidio's URL patterns, with the schema-less one tried only where it can match.

Presidio's "Non schema URL" pattern, `(www\d{0,3}[.])?[a-z0-9.-]{1,253}[.](?:com|edu|...)`
(about 1,500 top-level domains, case-insensitive), may start anywhere: at every character
of a long run of host characters the engine reads up to 253 of them and tries the whole
domain list at each dot on the way back: linear, but some 2.5 ms per character (`a.a.a...`,
64 KiB: minutes). A match needs a dot followed by a listed domain within 253 characters of
its start, in the same run of host characters: those dots are found once, and the pattern
is run (anchored) only from the first start that can reach one. Matches are the same spans,
in the same order, as `finditer` gives. The three patterns that begin with a scheme or a
quote are cheap where they cannot match and run as they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import regex  # type: ignore[import-untyped]  # Presidio's engine: same case folding
from presidio_analyzer import EntityRecognizer, Pattern, RecognizerResult
from presidio_analyzer.predefined_recognizers import UrlRecognizer as PresidioUrl

from proxy.detectors.recognizers.results import pattern_results

if TYPE_CHECKING:
    from presidio_analyzer.nlp_engine import NlpArtifacts

_SCHEMALESS = "Non schema URL"
_HOST_LIMIT = 253  # [a-z0-9.\-]{1,253} in Presidio's pattern
_WWW = len("www999.")  # the optional prefix before those 253 characters
_FLAGS = regex.DOTALL | regex.MULTILINE | regex.IGNORECASE  # Presidio's defaults
_HOST_RUN = regex.compile(r"(?i)[a-z0-9.\-]+", _FLAGS)
_TLD_LIST = PresidioUrl.BASE_URL_REGEX.partition("{1,253}[.]")[2].rpartition("(?:/")[0]
_DOT_TLD = regex.compile(r"(?i)\.(?=" + _TLD_LIST + ")", _FLAGS)


class UrlRecognizer(PresidioUrl):
    """Presidio's UrlRecognizer (name, patterns, scores, context), linear in the text."""

    patterns: list[Pattern]  # set by PatternRecognizer; declared for mypy

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        results = []
        for pattern in self.patterns:
            compiled = regex.compile(pattern.regex, self.global_regex_flags)  # cached
            if pattern.name == _SCHEMALESS:
                spans = schemaless_spans(text, compiled)
            else:
                spans = [m.span() for m in compiled.finditer(text)]
            results += pattern_results(self, text, spans, pattern)
        return EntityRecognizer.remove_duplicates(results)


def schemaless_spans(text: str, compiled: Any) -> list[tuple[int, int]]:
    """What `compiled.finditer(text)` finds for the schema-less pattern."""
    spans: list[tuple[int, int]] = []
    done = 0
    for run in _HOST_RUN.finditer(text):
        pos = max(run.start(), done)
        while pos < run.end():
            # The first dot before a listed domain beyond `pos` (a match holds at least one
            # host character before its dot); every start before its reach fails.
            dot = _DOT_TLD.search(text, pos + 1, run.end())
            if dot is None:
                break
            start = max(pos, dot.start() - _HOST_LIMIT - _WWW)
            found = None
            while found is None and start < dot.start():
                found = compiled.match(text, start)  # succeeds by dot.start() - 253 at last
                start += 1
            if found is None or found.end() == found.start():
                break
            spans.append(found.span())
            done = pos = found.end()
    return spans
