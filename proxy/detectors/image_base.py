"""The contract for detectors that look at decoded images."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from proxy.images.model import DecodedImage
from proxy.model import Finding


class ImageDetector(ABC):
    """Finds one kind of personal data in one decoded image.

    Findings carry `part=image.index` and `box=(x, y, width, height)` in pixels of the
    first frame when a position exists (metadata has none). Like text detectors, an image
    detector never returns, stores or logs what it read (OCR text, decoded payloads).
    """

    name: str = ""

    @abstractmethod
    def detect_image(self, image: DecodedImage) -> Sequence[Finding]: ...
