"""Personal data in text: Presidio's AnalyzerEngine over a real spaCy model.

The spaCy model is named explicitly and loaded from an installed package or a folder, so
Presidio never tries to download anything. Presidio's own loggers are silenced (see
proxy.detectors.quiet): some of its recognizers log the text they looked at.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from proxy.detectors.base import Detector
from proxy.detectors.disguise import disguise_view
from proxy.detectors.name_weight import warm_name_lists, weigh
from proxy.detectors.names import propagate_names, widen_names
from proxy.detectors.nlp import Nlp, full_nlp, import_nlp_libraries, light_nlp, require_model
from proxy.detectors.normalize import NormalizedText, has_override, normalize
from proxy.detectors.prefilter import Prefilter
from proxy.detectors.quiet import silence_content_loggers
from proxy.detectors.views import across_fields, decoded_view
from proxy.model import Finding, ImageRequest, Source
from proxy.policy import CustomRecognizer

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry


_NER = "SpacyRecognizer"  # Presidio's name for findings of spaCy's named-entity recognizer


@dataclass(frozen=True)
class TextHit:
    """A span of personal data in one text, with offsets into the original (not normalised)."""

    entity: str
    start: int
    end: int
    score: float
    recognizer: str


class TextAnalyzer:
    """Finds personal data in one string. Safe to share: calls hold the spaCy pipeline's
    lock (see proxy.detectors.nlp)."""

    def __init__(
        self,
        engine: AnalyzerEngine,
        nlp: Nlp,
        entities: list[str] | None = None,
        *,
        light: bool = False,
    ) -> None:
        self._engine = engine
        self._nlp = nlp
        self._language = nlp.language
        self._entities = entities  # None: every entity Presidio knows
        # Tokenizer-only analysis (no neural pipeline) costs well under a millisecond.
        self.light = light
        self._prefilter: Prefilter | None = None
        if entities != []:
            recognizers = engine.registry.get_recognizers(
                self._language, entities, all_fields=entities is None
            )
            self._prefilter = Prefilter(recognizers, entities, light)

    def find(self, text: str) -> list[TextHit]:
        if self._entities == []:
            return []  # the policy acts on no entity that text can contain
        norm = normalize(text)
        if not norm.text.strip():
            return []
        found = self._analyze(norm.text)
        people = [
            (start, end, score) for entity, start, end, score, _ in found if entity == "PERSON"
        ]
        for start, end, score in widen_names(norm.text, people):
            found.append(("PERSON", start, end, score, "NameWidening"))
            people.append((start, end, score))
        for start, end, score in propagate_names(norm.text, people):
            found.append(("PERSON", start, end, score, "NamePropagation"))
        hits = _mapped(norm, found)
        for view in (decoded_view(norm), disguise_view(norm)):
            if view is not None:
                # Only pattern-shaped values: spaCy's entities read joined lines as one
                # sentence and cross them at random ("Cyprus 16403" + "733 162 319").
                again = self._analyze(view.norm.text)
                kept = [f for f in again if view.touches(f[1], f[2]) and f[4] != _NER]
                hits += _mapped(view.norm, kept)
        # One hit per span and entity, the best scored: readings overlap.
        unique: dict[tuple[int, int, str], TextHit] = {}
        for hit in hits:
            key = (hit.start, hit.end, hit.entity)
            if key not in unique or unique[key].score < hit.score:
                unique[key] = hit
        hits = list(unique.values())
        if has_override(text):  # what a person sees: right-to-left overrides applied
            shown = normalize(text, display_order=True)
            seen = {(h.start, h.end, h.entity) for h in hits}
            more = _mapped(shown, self._analyze(shown.text))
            hits += [h for h in more if (h.start, h.end, h.entity) not in seen]
        hits.sort(key=lambda h: (h.start, h.end, h.entity))
        return hits

    def _analyze(self, text: str) -> list[tuple[str, int, int, float, str]]:
        assert self._prefilter is not None  # find() returns early when no entity is wanted
        # Only entities some recognizer could find in this text: none, for most prompts.
        entities = self._prefilter.entities(text)
        if not entities:
            return []  # never analyze(entities=[]): Presidio reads that as "every entity"
        with self._nlp.using():
            results: list[Any] = self._engine.analyze(
                text, language=self._language, entities=entities
            )
        return [
            (
                r.entity_type,
                r.start,
                r.end,
                float(r.score),
                str((r.recognition_metadata or {}).get("recognizer_name", "")),
            )
            for r in results
        ]


def _mapped(
    norm: NormalizedText, found: Iterable[tuple[str, int, int, float, str]]
) -> list[TextHit]:
    return [TextHit(e, *norm.original_span(s, t), score, r) for e, s, t, score, r in found]


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
    import_nlp_libraries()
    require_model(spacy_model)  # even on the light path: a typo must not wait for a rule
    from presidio_analyzer import AnalyzerEngine

    from proxy.detectors.context import LinearContextEnhancer
    from proxy.detectors.recognizers import custom_recognizer

    light = light_nlp(language)
    registry = _remembering_registry(language)
    registry.load_predefined_recognizers(languages=[language], nlp_engine=light.engine)
    _replace_superlinear(registry, language)
    # Judged on Presidio's own set: ours and the policy's add recall, not a replacement for NER.
    ner_only = _ner_only(registry)
    for recognizer in extra_recognizers(language):
        registry.add_recognizer(recognizer)
    for index, spec in enumerate(custom):
        registry.add_recognizer(custom_recognizer(spec, language, index))
    nlp = full_nlp(spacy_model, language) if entities is None or entities & ner_only else light
    wanted: list[str] | None = None
    if entities is not None:
        known = {e for r in registry.recognizers for e in r.supported_entities}
        wanted = sorted(entities & known)
    engine = AnalyzerEngine(
        registry=registry,
        nlp_engine=nlp.engine,
        supported_languages=[language],
        context_aware_enhancer=LinearContextEnhancer(),
    )
    registry.frozen = True  # complete: AnalyzerEngine may have added its NLP recognizer
    return TextAnalyzer(engine, nlp, wanted, light=nlp is light)


def extra_recognizers(language: str) -> list[EntityRecognizer]:
    """Our recognizers beside Presidio's predefined ones, in the order they join the registry
    (the order of findings). Imports Presidio: call after silence_content_loggers()."""
    from proxy.detectors import recognizers as ours

    return [
        ours.StreetAddressRecognizer(supported_language=language),
        ours.PersonCueRecognizer(supported_language=language),
        ours.PersonRoleRecognizer(supported_language=language),
        ours.LuhnCardRecognizer(supported_language=language),
        ours.SeparatedCardRecognizer(supported_language=language),
        ours.SeparatedIbanRecognizer(supported_language=language),
        ours.ContextPhoneRecognizer(supported_language=language),
        ours.SpelledEmailRecognizer(supported_language=language),
        ours.DateOfBirthRecognizer(supported_language=language),
        ours.GivenNameRecognizer(supported_language=language),
    ]


def _replace_superlinear(registry: Any, language: str) -> None:
    """Presidio's email and URL recognizers by ours of the same name and findings, whose
    cost is linear in the text (see proxy.detectors.recognizers), and its phone recognizer
    by one that reads only windows around digit clusters and refuses too many of them."""
    from proxy.detectors.recognizers.email import EmailRecognizer
    from proxy.detectors.recognizers.phone import PhoneRecognizer
    from proxy.detectors.recognizers.url import UrlRecognizer

    replacements = {r.__name__: r for r in (EmailRecognizer, UrlRecognizer)}
    for i, theirs in enumerate(registry.recognizers):
        ours = replacements.get(theirs.name)
        if ours is not None:  # in place: the registry's order is the order of findings
            registry.recognizers[i] = ours(supported_language=theirs.supported_language)
        elif theirs.name == PhoneRecognizer.__name__:  # bounded, not linear: see its module
            registry.recognizers[i] = PhoneRecognizer(
                context=theirs.context, supported_language=theirs.supported_language,
                supported_regions=theirs.supported_regions, leniency=theirs.leniency,
            )  # fmt: skip


def _remembering_registry(language: str) -> Any:
    """A RecognizerRegistry that, once `frozen`, remembers which recognizers serve which
    entities. Presidio asks on every analysis (a scan of every recognizer per entity, ~30 µs),
    and nothing changes the registry after build_text_analyzer."""
    from presidio_analyzer import RecognizerRegistry

    class RememberingRegistry(RecognizerRegistry):
        frozen = False
        known: dict[tuple[str, tuple[str, ...] | None, bool], list[EntityRecognizer]]

        def get_recognizers(
            self,
            language: str,
            entities: list[str] | None = None,
            all_fields: bool = False,
            ad_hoc_recognizers: list[EntityRecognizer] | None = None,
        ) -> list[EntityRecognizer]:
            if not self.frozen or ad_hoc_recognizers:
                return super().get_recognizers(language, entities, all_fields, ad_hoc_recognizers)
            key = (language, None if entities is None else tuple(entities), all_fields)
            found = self.known.get(key)
            if found is None:
                found = self.known[key] = super().get_recognizers(language, entities, all_fields)
            return list(found)  # a copy, as Presidio's own answer is one

    registry = RememberingRegistry(supported_languages=[language])
    registry.known = {}
    return registry


class TextPiiDetector(Detector):
    """Personal data in every free-text field of a request (source `prompt`)."""

    name = "text_pii"

    def __init__(self, analyzer: TextAnalyzer) -> None:
        self.analyzer = analyzer
        self.cheap = analyzer.light
        warm_name_lists()  # read once here, not by the first request that finds a name

    def detect(self, request: ImageRequest) -> list[Finding]:
        texts = [part.text for part in request.prompts]
        pieces = [
            (index, hit.start, hit.end, hit)
            for index, text in enumerate(texts)
            for hit in self.analyzer.find(text)
        ]
        if len(texts) > 1:  # a value cut into two fields is whole only across the seam
            pieces += across_fields(
                texts, lambda text: [(h.start, h.end, h) for h in self.analyzer.find(text)]
            )
        findings = []
        for index, start, end, hit in pieces:
            # Public figures, and words that are hardly names, weigh differently.
            score, public = weigh(texts, index, start, end, hit.score, hit.entity)
            found = Finding(hit.entity, Source.PROMPT, score, index, start, end)
            findings.append(replace(found, recognizer=hit.recognizer, public=public))
        return findings
