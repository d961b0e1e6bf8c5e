"""The contract for detectors that look at decoded images."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import replace

from proxy.images.model import DecodedImage
from proxy.model import Finding


class ImageDetector(ABC):
    """Finds one kind of personal data in one decoded image.

    Findings carry `part=image.index` and `box=(x, y, width, height)` in the image's upright
    pixels (frame 0's canvas) when a position exists (metadata has none, nor does a place
    outside frame 0's canvas). Pixel detectors read every region of `image.regions`. Like
    text detectors, an image detector never returns, stores or logs what it read (OCR text,
    decoded payloads).
    """

    name: str = ""

    @abstractmethod
    def detect_image(self, image: DecodedImage) -> Sequence[Finding]: ...


def placed(f: Finding, image: DecodedImage, left: int, top: int) -> Finding:
    """`f`, boxed in a region's pixels, in the image's coordinates, clipped to frame 0; a box
    wholly outside it (a larger MPO picture) becomes no box, and the finding still counts."""
    if f.box is None:
        return replace(f, part=image.index)
    x, y, w, h = f.box
    x0, y0 = min(max(x + left, 0), image.width), min(max(y + top, 0), image.height)
    x1, y1 = min(x + left + w, image.width), min(y + top + h, image.height)
    box = (x0, y0, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else None
    return replace(f, part=image.index, box=box)
