"""The parts of an image that pixel detectors must read: every frame, every view, once.

Every frame reaches the upstream, so every frame is inspected, but a frame that repeats the
one before costs nothing: only horizontal bands where it differs are read, padded with
context, because a text line or a face may have been completed by the change (an email
whose domain appears in frame 2 is read whole, not as a lone domain). Frames that differ in
size (MPO pictures) are read whole. An alpha channel that is not opaque is read too, as a
grey picture of its own: whatever colour sits under it, text or a face drawn only through
transparency shows there, light on dark or dark on light.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageChops

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from proxy.images.model import DecodedImage

# A pixel whose any channel (alpha included) moves by more than this many levels counts as
# changed. Low enough that faint text 8 levels off its background counts; lossless formats
# repeat pixels exactly, and lossy noise above it only costs a re-read, never a miss.
CHANGE = 6
# Context read above and below a changed band (at least; a tall change gets half its own
# height): a line or face that the change completes is read whole.
PAD = 48
# Bands this close together are read as one: two crops cost more than the gap between them.
MERGE_GAP = 2 * PAD


@dataclass(frozen=True)
class Region:
    """Pixels a detector must read (RGB) and where they lie: (`left`, `top`) in the image's
    upright coordinates, in frame `frame`. `view` is "frame" for the stored colours or
    "alpha" for the alpha channel drawn as grey (opaque white, transparent black)."""

    pixels: Image.Image
    left: int
    top: int
    frame: int
    view: str

    def is_whole(self, width: int, height: int) -> bool:
        return self.left == 0 and self.top == 0 and self.pixels.size == (width, height)


def regions_of(image: DecodedImage) -> tuple[Region, ...]:
    found: list[Region] = []
    for n, frame in enumerate(image.frames):
        alpha = image.alphas[n] if n < len(image.alphas) else None
        before = image.frames[n - 1] if n else None
        if before is None or before.size != frame.size:
            bands = [(0, frame.height)]
        else:
            rows = _changed_rows(frame, before)
            alpha_before = image.alphas[n - 1] if n - 1 < len(image.alphas) else None
            if alpha is not None or alpha_before is not None:
                opaque = Image.new("L", frame.size, 255)
                rows = np.union1d(rows, _changed_rows(alpha or opaque, alpha_before or opaque))
            bands = _bands(rows, frame.height)
        for top, bottom in bands:
            found.append(Region(frame.crop((0, top, frame.width, bottom)), 0, top, n, "frame"))
            if alpha is not None:
                found.extend(_alpha_region(alpha, top, bottom, n))
    return tuple(found)


def _changed_rows(current: Image.Image, before: Image.Image) -> NDArray[np.intp]:
    """Rows where any channel of any pixel moved by more than CHANGE levels."""
    channels = ImageChops.difference(current, before).split()
    largest = channels[0]
    for channel in channels[1:]:
        largest = ImageChops.lighter(largest, channel)
    return np.flatnonzero((np.asarray(largest) > CHANGE).any(axis=1))


def _bands(rows: NDArray[np.intp], height: int) -> list[tuple[int, int]]:
    """Changed rows grouped into padded, merged (top, bottom) bands."""
    bands: list[tuple[int, int]] = []
    if not rows.size:
        return bands
    breaks = np.flatnonzero(np.diff(rows) > MERGE_GAP)
    starts = np.concatenate([[rows[0]], rows[breaks + 1]])
    ends = np.concatenate([rows[breaks], [rows[-1]]]) + 1
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        pad = max(PAD, (end - start) // 2)
        top, bottom = max(0, start - pad), min(height, end + pad)
        if bands and top <= bands[-1][1]:
            bands[-1] = (bands[-1][0], bottom)
        else:
            bands.append((top, bottom))
    return bands


def _alpha_region(alpha: Image.Image, top: int, bottom: int, frame: int) -> list[Region]:
    band = alpha.crop((0, top, alpha.width, bottom))
    low, high = band.getextrema()
    if low == high:
        return []  # opaque, or one level throughout: nothing is drawn in it
    rows = np.flatnonzero((np.asarray(band) < 255).any(axis=1))
    start, end = max(0, int(rows[0]) - PAD), min(band.height, int(rows[-1]) + 1 + PAD)
    grey = band.crop((0, start, band.width, end)).convert("RGB")
    return [Region(grey, 0, top + start, frame, "alpha")]
