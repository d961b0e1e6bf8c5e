"""Personal data in text: Presidio's AnalyzerEngine over a real spaCy model.

The spaCy model is named explicitly and loaded from an installed package or a folder, so
Presidio never tries to download anything. Presidio's own loggers are silenced: some of its
recognizers log the text they looked at, and nothing may write content to a log.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from proxy.detectors.base import Detector
from proxy.model import Finding, ImageRequest, Source
from proxy.normalize import normalize
from proxy.policy import CustomRecognizer

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine, EntityRecognizer
    from presidio_analyzer.nlp_engine import NlpEngine

# tldextract (used by the email and URL recognizers) otherwise fetches the public suffix list.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

_PRESIDIO_LOGGERS = ("presidio-analyzer", "decision_process")


def silence_presidio_logs() -> None:
    for name in _PRESIDIO_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.CRITICAL + 1)
        logger.propagate = False


@dataclass(frozen=True)
class TextHit:
    """A span of personal data in one text, with offsets into the original (not normalised)."""

    entity: str
    start: int
    end: int
    score: float
    recognizer: str


_nlp_engines: dict[tuple[str, str], NlpEngine] = {}
_nlp_lock = threading.Lock()


def _nlp_engine(spacy_model: str, language: str) -> NlpEngine:
    """Load a spaCy model once per process; the load is the expensive part (~1–5 s)."""
    import spacy
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    key = (spacy_model, language)
    with _nlp_lock:
        if key not in _nlp_engines:
            if not (spacy.util.is_package(spacy_model) or os.path.isdir(spacy_model)):
                # Presidio would call spacy.cli.download here; we never fetch models at run time.
                raise LookupError(f"spaCy model {spacy_model!r} is not installed")
            engine = SpacyNlpEngine(models=[{"lang_code": language, "model_name": spacy_model}])
            engine.load()
            # Presidio reads entities, tags and lemmas, never the dependency parse: dropping
            # the parser saves ~18% per prompt with identical findings on PartiPrompts.
            assert engine.nlp is not None  # set by load()
            nlp = engine.nlp[language]
            if "parser" in nlp.pipe_names:
                nlp.disable_pipe("parser")
            _nlp_engines[key] = engine
        return _nlp_engines[key]


def _custom_recognizer(spec: CustomRecognizer, language: str, index: int) -> EntityRecognizer:
    from presidio_analyzer import Pattern, PatternRecognizer

    patterns = [
        Pattern(name=f"{spec.entity.lower()}_{n}", regex=p.regex, score=p.score)
        for n, p in enumerate(spec.patterns)
    ]
    # Presidio tells "no patterns" from "empty patterns" by None; its annotations do not.
    optional: dict[str, Any] = {
        "patterns": patterns or None,
        "deny_list": list(spec.deny_list) or None,
        "context": list(spec.context) or None,
    }
    return PatternRecognizer(
        supported_entity=spec.entity,
        name=f"policy:{spec.entity}:{index}",
        supported_language=language,
        deny_list_score=spec.deny_list_score,
        **optional,
    )


class TextAnalyzer:
    """Finds personal data in one string. Safe to share; calls are serialised by a lock
    because spaCy pipelines are not documented as thread-safe."""

    def __init__(self, engine: AnalyzerEngine, language: str) -> None:
        self._engine = engine
        self._language = language
        self._lock = threading.Lock()

    def find(self, text: str) -> list[TextHit]:
        norm = normalize(text)
        if not norm.text.strip():
            return []
        with self._lock:
            results: list[Any] = self._engine.analyze(norm.text, language=self._language)
        hits = []
        for r in results:
            start, end = norm.original_span(r.start, r.end)
            recognizer = (r.recognition_metadata or {}).get("recognizer_name", "")
            hits.append(TextHit(r.entity_type, start, end, float(r.score), str(recognizer)))
        hits.sort(key=lambda h: (h.start, h.end, h.entity))
        return hits


def build_text_analyzer(
    spacy_model: str, language: str, custom: Iterable[CustomRecognizer] = ()
) -> TextAnalyzer:
    """Presidio with its predefined recognizers for `language` plus the policy's own."""
    silence_presidio_logs()
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

    nlp = _nlp_engine(spacy_model, language)
    registry = RecognizerRegistry(supported_languages=[language])
    registry.load_predefined_recognizers(languages=[language], nlp_engine=nlp)
    for index, spec in enumerate(custom):
        registry.add_recognizer(_custom_recognizer(spec, language, index))
    engine = AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=[language])
    return TextAnalyzer(engine, language)


class TextPiiDetector(Detector):
    """Personal data in every free-text field of a request (source `prompt`)."""

    name = "text_pii"

    def __init__(self, analyzer: TextAnalyzer) -> None:
        self.analyzer = analyzer

    def detect(self, request: ImageRequest) -> list[Finding]:
        findings = []
        for index, part in enumerate(request.prompts):
            for hit in self.analyzer.find(part.text):
                findings.append(
                    Finding(
                        entity=hit.entity,
                        source=Source.PROMPT,
                        score=hit.score,
                        part=index,
                        start=hit.start,
                        end=hit.end,
                        recognizer=hit.recognizer,
                    )
                )
        return findings
