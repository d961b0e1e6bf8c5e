"""Personal data in text: Presidio's AnalyzerEngine over a real spaCy model.

The spaCy model is named explicitly and loaded from an installed package or a folder, so
Presidio never tries to download anything. Presidio's own loggers are silenced (see
proxy.quiet): some of its recognizers log the text they looked at.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from proxy.detectors.address import street_address_recognizer
from proxy.detectors.base import Detector
from proxy.detectors.names import person_cue_recognizer, propagate_names
from proxy.detectors.numbers import card_recognizer, phone_recognizer
from proxy.model import Finding, ImageRequest, Source
from proxy.normalize import normalize
from proxy.policy import CustomRecognizer
from proxy.quiet import silence_content_loggers

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngine
    from spacy.tokens import Doc

# tldextract (used by the email and URL recognizers) otherwise fetches the public suffix list.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")


# Our recognizers beside Presidio's predefined ones: an explicit tuple, in this order.
EXTRA_RECOGNIZERS = (
    street_address_recognizer,
    person_cue_recognizer,
    card_recognizer,
    phone_recognizer,
)


# spaCy's thinc and Presidio import these eagerly when installed (the `fallback` extra puts
# them there), for features text detection never uses: ~390 MB per proxy process.
_UNUSED_HEAVY_MODULES = ("torch", "transformers")


def _import_nlp_libraries() -> None:
    """Import spaCy and Presidio with torch and transformers made unimportable meanwhile
    (documented: a None entry in sys.modules makes `import` raise ImportError), then restore
    them, so the local fallback can still import torch in the same process."""
    hidden = [name for name in _UNUSED_HEAVY_MODULES if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import presidio_analyzer  # noqa: F401
        import spacy  # noqa: F401
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


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
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    key = (spacy_model, language)
    with _nlp_lock:
        if key not in _nlp_engines:
            _require_model(spacy_model)
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


def _require_model(spacy_model: str) -> None:
    import spacy

    if not (spacy.util.is_package(spacy_model) or os.path.isdir(spacy_model)):
        # Presidio would call spacy.cli.download here; we never fetch models at run time.
        raise LookupError(f"spaCy model {spacy_model!r} is not installed")


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

    def __init__(
        self,
        engine: AnalyzerEngine,
        language: str,
        entities: list[str] | None = None,
        *,
        light: bool = False,
    ) -> None:
        self._engine = engine
        self._language = language
        self._entities = entities  # None: every entity Presidio knows
        self._lock = threading.Lock()
        # Tokenizer-only analysis (no neural pipeline) costs well under a millisecond.
        self.light = light

    def find(self, text: str) -> list[TextHit]:
        if self._entities == []:
            return []  # the policy acts on no entity that text can contain
        norm = normalize(text)
        if not norm.text.strip():
            return []
        with self._lock:
            results: list[Any] = self._engine.analyze(
                norm.text, language=self._language, entities=self._entities
            )
        found = [
            (
                r.entity_type,
                r.start,
                r.end,
                float(r.score),
                str((r.recognition_metadata or {}).get("recognizer_name", "")),
            )
            for r in results
        ]
        people = [
            (start, end, score) for entity, start, end, score, _ in found if entity == "PERSON"
        ]
        for start, end, score in propagate_names(norm.text, people):
            found.append(("PERSON", start, end, score, "NamePropagation"))
        hits = []
        for entity, start, end, score, recognizer in found:
            o_start, o_end = norm.original_span(start, end)
            hits.append(TextHit(entity, o_start, o_end, score, recognizer))
        hits.sort(key=lambda h: (h.start, h.end, h.entity))
        return hits


def _lower_lemma(doc: Doc) -> Doc:
    for token in doc:
        token.lemma_ = token.lower_
    return doc


def _light_nlp_engine(language: str) -> NlpEngine:
    """spaCy's tokenizer alone, with lower-case lemmas for Presidio's context words.

    ~20x cheaper than the full pipeline, and enough for every recognizer but spaCy's NER.
    """
    import spacy
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from spacy.language import Language

    if not Language.has_factory("pixelgate_lower_lemma"):
        Language.component("pixelgate_lower_lemma", func=_lower_lemma)
    nlp = spacy.blank(language)
    nlp.add_pipe("pixelgate_lower_lemma")
    engine = SpacyNlpEngine(models=[{"lang_code": language, "model_name": f"blank_{language}"}])
    engine.nlp = {language: nlp}  # type: ignore[assignment]  # Presidio annotates it as None
    return engine


def _ner_only(registry: RecognizerRegistry) -> set[str]:
    """Entities that only spaCy's named-entity recognizer can find (PERSON, LOCATION, ...)."""
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    by_ner = {
        e
        for r in registry.recognizers
        if isinstance(r, SpacyRecognizer)
        for e in r.supported_entities
    }
    by_others = {
        e
        for r in registry.recognizers
        if not isinstance(r, SpacyRecognizer)
        for e in r.supported_entities
    }
    return by_ner - by_others


def build_text_analyzer(
    spacy_model: str,
    language: str,
    custom: Iterable[CustomRecognizer] = (),
    entities: frozenset[str] | None = None,
) -> TextAnalyzer:
    """Presidio with its predefined recognizers for `language` plus the policy's own.

    `entities` limits the search to what the policy acts on (None: everything). The spaCy
    model is loaded only when one of them needs named-entity recognition.
    """
    silence_content_loggers()  # before the imports: Presidio logs while it loads
    _import_nlp_libraries()
    _require_model(spacy_model)  # even on the light path: a typo must not wait for a rule
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

    light = _light_nlp_engine(language)
    registry = RecognizerRegistry(supported_languages=[language])
    registry.load_predefined_recognizers(languages=[language], nlp_engine=light)
    # Judged on Presidio's own set: ours and the policy's add recall, not a replacement for NER.
    ner_only = _ner_only(registry)
    for make in EXTRA_RECOGNIZERS:
        registry.add_recognizer(make(language))
    for index, spec in enumerate(custom):
        registry.add_recognizer(_custom_recognizer(spec, language, index))
    if entities is None or entities & ner_only:
        nlp = _nlp_engine(spacy_model, language)
    else:
        nlp = light
    wanted: list[str] | None = None
    if entities is not None:
        known = {e for r in registry.recognizers for e in r.supported_entities}
        wanted = sorted(entities & known)
    engine = AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=[language])
    return TextAnalyzer(engine, language, wanted, light=nlp is light)


class TextPiiDetector(Detector):
    """Personal data in every free-text field of a request (source `prompt`)."""

    name = "text_pii"

    def __init__(self, analyzer: TextAnalyzer) -> None:
        self.analyzer = analyzer
        self.cheap = analyzer.light

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
