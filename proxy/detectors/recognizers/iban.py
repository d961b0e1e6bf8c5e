"""IBANs written in groups that Presidio's own IBAN recognizer does not read.

Presidio's pattern allows only a space or a dash between groups; ours allows what cards
allow (proxy.detectors.recognizers.cards: dots, slashes, spaced dashes, up to two blanks or
line breaks), and checks the country's format and mod-97 as Presidio does.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from presidio_analyzer import RecognizerResult
from presidio_analyzer.predefined_recognizers.generic.iban_patterns import regex_per_country

from proxy.detectors.recognizers.base import ClassLocalRecognizer
from proxy.detectors.recognizers.cards import SEPARATOR

if TYPE_CHECKING:
    from presidio_analyzer.nlp_engine import NlpArtifacts

IBAN_RUN = rf"(?<![A-Za-z0-9])[A-Z]{{2}}(?:{SEPARATOR}?\d){{2}}(?:{SEPARATOR}?[A-Z0-9]){{11,32}}"


def iban_candidates(run: str) -> list[tuple[int, int]]:
    """Spans in `run` (an IBAN_RUN match) that are IBANs: the longest prefix, ending at a
    character, whose letters and digits fit the country's format and pass mod-97."""
    where = [i for i, ch in enumerate(run) if ch.isalnum()]
    compact = "".join(run[i] for i in where)
    country = regex_per_country.get(compact[:2])
    if country is None:
        return []
    for n in range(min(len(compact), 34), 14, -1):
        code = compact[:n]
        moved = code[4:] + code[:4]
        if re.fullmatch(country, code) and int("".join(str(int(c, 36)) for c in moved)) % 97 == 1:
            return [(0, where[n - 1] + 1)]
    return []


class SeparatedIbanRecognizer(ClassLocalRecognizer):
    """An IBAN in groups with any card separators between them, checked as Presidio does."""

    ENTITIES = ["IBAN_CODE"]
    _RUN = re.compile(IBAN_RUN)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results = []
        entity = self.supported_entities[0]
        for m in self._RUN.finditer(text):
            for start, end in iban_candidates(m[0]):
                # 1.0: a verified checksum, as Presidio scores its own IBAN matches.
                span = (m.start() + start, m.start() + end)
                meta = self.metadata()
                results.append(RecognizerResult(entity, *span, 1.0, recognition_metadata=meta))
        return results
