"""Detector registry: an explicit tuple, built from the policy, cheapest first."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from proxy.detectors.base import Detector
from proxy.detectors.image_base import ImageDetector
from proxy.detectors.images import ImageDecoder, ImageDetectorStage
from proxy.detectors.text_pii import TextAnalyzer, TextPiiDetector, build_text_analyzer
from proxy.model import Source
from proxy.policy import Policy, acted_entities, acts_on

if TYPE_CHECKING:
    from proxy.detectors.ocr import OcrEngine

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


# The face nets and the OCR engine hold their models: one of each per process, shared by the
# gates of every policy in force and across reloads (both are safe to share between threads).
@cache
def _face_detector() -> ImageDetector:
    from proxy.detectors.faces import FaceDetector

    return FaceDetector()


@cache
def _ocr_engine() -> OcrEngine:
    from proxy.detectors.ocr import RapidOcrEngine

    return RapidOcrEngine()


def _faces(analyzer: TextAnalyzer) -> ImageDetector:
    return _face_detector()


def _ocr(analyzer: TextAnalyzer) -> ImageDetector:
    from proxy.detectors.ocr import OcrDetector

    return OcrDetector(analyzer, _ocr_engine())


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
