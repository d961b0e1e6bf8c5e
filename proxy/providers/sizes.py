"""Neutral image sizes from the shapes providers take (width and height, aspect ratios)."""

from __future__ import annotations

from collections.abc import Mapping


def size_of(fields: Mapping[str, object]) -> str | None:
    """ "WxH" from integer `width` and `height`, else from `aspect_ratio`; None if neither."""
    width, height = fields.get("width"), fields.get("height")
    if type(width) is int and type(height) is int and width > 0 and height > 0:
        return f"{width}x{height}"
    return aspect_size(fields.get("aspect_ratio"))


def aspect_size(ratio: object) -> str | None:
    """ "16:9" -> the size near one megapixel with that shape, in multiples of 64."""
    if not isinstance(ratio, str):
        return None
    left, colon, right = ratio.partition(":")
    if not (colon and left.isdigit() and right.isdigit() and int(left) and int(right)):
        return None
    shape = int(left) / int(right)
    if not 1 / 8 <= shape <= 8:
        return None
    width = round((1024 * 1024 * shape) ** 0.5 / 64) * 64
    height = round((1024 * 1024 / shape) ** 0.5 / 64) * 64
    return f"{max(width, 64)}x{max(height, 64)}"
