"""The decoded form of an uploaded image that every image detector shares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image


@dataclass(frozen=True)
class DecodedImage:
    """One upload, decoded once per request. Detectors read it and never modify it.

    Pixels are as stored in the file (no EXIF orientation applied), and every finding's
    `box` is in these coordinates, so that redaction paints where detection looked.
    `index` is the image's position in `ImageRequest.images` (a finding's `part`);
    `frames` are RGB, every frame of an animation; `metadata` maps a metadata block's
    kind ("exif", "xmp", "iptc", "icc", "text:<key>", "comment") to its raw value.
    """

    index: int
    format: str
    width: int
    height: int
    frames: tuple[Image.Image, ...]
    metadata: Mapping[str, bytes | str] = field(default_factory=lambda: MappingProxyType({}))
    # For an image with transparency: frame 0 as a viewer shows it, composited on white.
    # `frames` keep the stored colours under transparent pixels (the upstream gets those
    # too); text drawn on a transparent background is only legible here.
    flattened: Image.Image | None = None
