"""Detector registry: an explicit tuple, built from the policy."""

from __future__ import annotations

from proxy.detectors.base import Detector
from proxy.detectors.text_pii import TextPiiDetector, build_text_analyzer
from proxy.policy import Policy, acted_entities


def build_detectors(policy: Policy) -> tuple[Detector, ...]:
    """Detectors look only for the entities the policy can act on (see `acted_entities`)."""
    detection = policy.detection
    analyzer = build_text_analyzer(
        detection.spacy_model, detection.language, policy.recognizers, acted_entities(policy)
    )
    return (TextPiiDetector(analyzer),)
