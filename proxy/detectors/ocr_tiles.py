"""Where OCR reads a picture: whole when small, whole and in overlapping tiles when large.

Reading a tall screenshot only downscaled to MAX_SIDE shrinks its text below legibility (a
1080x7200 page becomes 240 px wide), so larger pictures are also cut into tiles read at a
scale that keeps text of ~12 px legible. The number of tiles grows with the area, which the
policy's `max_image_pixels` bounds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

MAX_SIDE = 1600  # read whole at this size at most: detection time grows with area
# Tiles of TILE px (the text detector's own input size, so it reads them unscaled) at
# TILE_SCALE or more: PP-OCR reads text of 8 px, so text of 12 px in the upload stays legible.
# Tiles overlap by more than the tallest line the downscaled whole read cannot resolve.
TILE = 960
TILE_SCALE = 2 / 3
TILE_OVERLAP = 128


def reading_plan(pixels: Image.Image) -> list[tuple[Image.Image, float, int, int]]:
    """(part, scale, left, top) to read: the whole at MAX_SIDE at most, and when that shrinks
    it, overlapping tiles at TILE_SCALE or more, so text of ~12 px stays ~8 px or taller."""
    width, height = pixels.size
    whole = min(1.0, MAX_SIDE / max(width, height, 1))
    plan = [(pixels, whole, 0, 0)]
    if whole >= 1.0:
        return plan
    scale = min(1.0, max(whole, TILE_SCALE))
    side, step = round(TILE / scale), round((TILE - TILE_OVERLAP) / scale)
    for top in _starts(height, side, step):
        for left in _starts(width, side, step):
            box = (left, top, min(left + side, width), min(top + side, height))
            plan.append((pixels.crop(box), scale, left, top))
    return plan


def _starts(length: int, side: int, step: int) -> list[int]:
    """Tile offsets along one side: evenly stepped, the last one flush with the end."""
    if length <= side:
        return [0]
    starts = list(range(0, length - side, step))
    return [*starts, length - side]
