"""Detector registry: an explicit tuple, built from the policy, cheapest first."""

from __future__ import annotations

from collections.abc import Callable

from proxy.detectors.base import Detector
from proxy.detectors.image_base import ImageDetector
from proxy.detectors.images import ImageDecoder, ImageDetectorStage
from proxy.detectors.text_pii import TextAnalyzer, TextPiiDetector, build_text_analyzer
from proxy.model import Source
from proxy.policy import Policy, acted_entities, acts_on

# Entities only image detectors produce; what remains of a policy's entities is text.
IMAGE_ENTITIES = frozenset(
    {"FACE", "GPS_LOCATION", "DEVICE_ID", "METADATA_OWNER", "CAPTURE_TIME", "QR_CODE", "BARCODE"}
)


def _metadata(analyzer: TextAnalyzer) -> ImageDetector:
    from proxy.detectors.metadata import MetadataDetector

    return MetadataDetector(analyzer)


def _codes(analyzer: TextAnalyzer) -> ImageDetector:
    from proxy.detectors.codes import CodeDetector

    return CodeDetector(analyzer)


def _faces(analyzer: TextAnalyzer) -> ImageDetector:
    from proxy.detectors.faces import FaceDetector

    return FaceDetector()


def _ocr(analyzer: TextAnalyzer) -> ImageDetector:
    from proxy.detectors.ocr import OcrDetector

    return OcrDetector(analyzer)


def build_detectors(policy: Policy) -> tuple[Detector, ...]:
    """Text first, then image detectors from cheap (metadata, codes) to costly (faces, OCR).

    A detector whose findings no rule could act on is not built at all (see `acts_on`),
    and detectors look only for the entities the policy acts on (`acted_entities`).
    """
    detection = policy.detection
    entities = acted_entities(policy)
    analyzer = build_text_analyzer(
        detection.spacy_model, detection.language, policy.recognizers, entities
    )
    text_entities = None if entities is None else entities - IMAGE_ENTITIES
    reads_text = text_entities is None or bool(text_entities)
    image_stages: tuple[
        tuple[Source, frozenset[str] | None, bool, Callable[..., ImageDetector]], ...
    ] = (
        (Source.METADATA, None, True, _metadata),
        (Source.CODE, None, True, _codes),
        (Source.FACE, frozenset({"FACE"}), True, _faces),
        (Source.IMAGE_TEXT, text_entities, reads_text, _ocr),
    )
    decoder = ImageDecoder(policy.limits)
    images = tuple(
        ImageDetectorStage(make(analyzer), decoder)
        for source, wanted, possible, make in image_stages
        if possible and acts_on(policy, source, wanted)
    )
    return (TextPiiDetector(analyzer), *images)
