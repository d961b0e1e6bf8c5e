"""The image stage's caches: the same bytes under another declared type are checked again."""

from __future__ import annotations

import pytest
from helpers.images import encode, landscape

from proxy.detectors.image_base import ImageDetector
from proxy.detectors.images import ImageDecoder, ImageDetectorStage
from proxy.errors import MalformedRequest
from proxy.images.model import DecodedImage
from proxy.model import Finding, ImagePart, ImageRequest
from proxy.policy import Limits


class NoFindings(ImageDetector):
    name = "none"

    def detect_image(self, image: DecodedImage) -> list[Finding]:
        return []


def request(data: bytes, content_type: str) -> ImageRequest:
    part = ImagePart(ref="image", data=data, content_type=content_type)
    return ImageRequest(provider="openai", operation="edit", images=(part,))


def test_a_wrong_declared_type_is_refused_on_every_upload_of_the_same_bytes() -> None:
    stage = ImageDetectorStage(NoFindings(), ImageDecoder(Limits()))
    png = encode(landscape())
    assert stage.detect(request(png, "image/png")) == []
    for _ in range(2):
        with pytest.raises(MalformedRequest):
            stage.detect(request(png, "image/jpeg"))
