"""The decoded form of an uploaded image that every image detector shares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

    from proxy.images.regions import Region


@dataclass(frozen=True)
class DecodedImage:
    """One upload, decoded once per request. Detectors read it and never modify it.

    Pixels are upright, as a viewer and the provider show them (EXIF Orientation applied),
    and every finding's `box` is in these coordinates; redaction turns the stored pixels
    upright before painting, so it paints where detection looked. `index` is the image's
    position in `ImageRequest.images` (a finding's `part`); `frames` are RGB, every frame of
    an animation (and every picture of an MPO), with the stored colours under transparent
    pixels (the upstream gets those too); `alphas` holds each frame's alpha channel ("L"),
    None for an opaque frame, and is empty when no frame has transparency. `metadata` maps a
    metadata block's kind ("exif", "xmp", "iptc", "icc", "text:<key>", "comment", and the
    blocks of `proxy.images.containers`) to its raw value.
    """

    index: int
    format: str
    width: int
    height: int
    frames: tuple[Image.Image, ...]
    metadata: Mapping[str, bytes | str] = field(default_factory=lambda: MappingProxyType({}))
    alphas: tuple[Image.Image | None, ...] = ()

    @cached_property
    def regions(self) -> tuple[Region, ...]:
        """What every pixel detector reads: each frame's parts that differ from the frame
        before, and the alpha channel where it is not opaque (see `proxy.images.regions`)."""
        from proxy.images.regions import regions_of

        return regions_of(self)
