"""Uploaded bytes to a `DecodedImage`: sniff the format, enforce limits, decode, keep metadata.

Sizes are checked on the header before any pixel is decoded, Pillow only parses the one
format the bytes announce, and library errors become our own content-free exceptions. Their
messages reach the audit log, so they name an image by its position and a format from our own
list, never what the client declared or a size the image's header claims.
"""

from __future__ import annotations

import functools
import struct
import warnings
from io import BytesIO

import numpy as np
from PIL import Image

from proxy.errors import MalformedRequest, PixelGateError, RequestRejected, RequestTooLarge
from proxy.images.metablocks import (
    collect_metadata,
    exif_is_readable,
    load_exif,
    orientation,
    upright,
)
from proxy.images.model import DecodedImage

__all__ = ["UnsupportedImage", "decode_image", "exif_is_readable", "load_exif", "sniff"]

SUPPORTED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "AVIF", "HEIF")

_MEDIA_TYPES = {"image/png": "PNG", "image/apng": "PNG", "image/jpeg": "JPEG",
                "image/jpg": "JPEG", "image/pjpeg": "JPEG", "image/webp": "WEBP",
                "image/gif": "GIF", "image/avif": "AVIF", "image/heic": "HEIF",
                "image/heif": "HEIF", "image/heic-sequence": "HEIF",
                "image/heif-sequence": "HEIF"}  # fmt: skip

# Kinds we recognise only to name them in the refusal.
_OTHER_MAGIC = ((b"BM", "a BMP image"), (b"II*\x00", "a TIFF image"),
                (b"MM\x00*", "a TIFF image"), (b"%PDF", "a PDF document"),
                (b"\xff\x0a", "a JPEG XL image"), (b"\x00\x00\x00\x0cJXL ", "a JPEG XL image"),
                (b"\x00\x00\x01\x00", "an ICO image"), (b"8BPS", "a Photoshop document"),
                (b"PK\x03\x04", "a ZIP archive"))  # fmt: skip
_AVIF_BRANDS = {b"avif", b"avis"}
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}


class UnsupportedImage(RequestRejected):
    """The upload is not an image format PixelGate can inspect; the message names its kind."""

    status = 415
    code = "pixelgate_unsupported_image"


def sniff(data: bytes) -> str:
    """The format the leading bytes announce: a name in SUPPORTED_FORMATS, or a description."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp":
        return _iso_media_kind(data)
    for magic, kind in _OTHER_MAGIC:
        if data.startswith(magic):
            return kind
    if data[:64].lstrip().lower().startswith((b"<svg", b"<?xml")):
        return "an SVG or XML document"
    if all(byte >= 0x20 or byte in b"\t\n\r" for byte in data[:4096]):
        return "text"
    return "data of an unknown kind"


def _iso_media_kind(data: bytes) -> str:
    size = struct.unpack(">I", data[:4])[0]
    brands = {data[8:12]} | {data[i : i + 4] for i in range(16, min(size, 256), 4)}
    if data[8:12] in _AVIF_BRANDS or (data[8:12] in (b"mif1", b"msf1") and brands & _AVIF_BRANDS):
        return "AVIF"
    if data[8:12] in _HEIF_BRANDS:
        return "HEIF"
    return "an ISO media file (video?)"


@functools.cache
def _register_heif() -> None:
    # Lazy: pillow_heif loads libheif, which a proxy that never sees an iPhone photo can skip.
    # (Registering twice from two threads at once is harmless: it is idempotent.)
    import pillow_heif

    pillow_heif.register_heif_opener()


def _check_declared(declared_type: str | None, kind: str, index: int) -> None:
    media = (declared_type or "").split(";", 1)[0].strip().lower()
    if not media.startswith("image/"):
        return  # octet-stream, empty, or a client that does not say: trust the bytes
    if _MEDIA_TYPES.get(media) == kind:
        return
    # The declared type is the client's text: not quoted, whatever it looks like.
    raise MalformedRequest(f"image {index}'s declared type does not match its content ({kind})")


def decode_image(
    data: bytes,
    index: int,
    *,
    max_pixels: int,
    max_frames: int = 100,
    declared_type: str | None = None,
) -> DecodedImage:
    """Decode every frame to RGB and collect the raw metadata blocks, within the limits."""
    if not data:
        raise MalformedRequest(f"image {index} is empty")
    kind = sniff(data)
    if kind not in SUPPORTED_FORMATS:
        supported = ", ".join(SUPPORTED_FORMATS)
        raise UnsupportedImage(f"image {index} is {kind}, not one of {supported}")
    _check_declared(declared_type, kind, index)
    if kind == "HEIF":
        _register_heif()
    # catch_warnings is process-wide, so another thread may briefly see the error filter;
    # the explicit max_pixels check in _decode is the guard that does not depend on it.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = _decode(data, index, kind, max_pixels, max_frames)
        except PixelGateError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            # Pillow refused from the header before our own check could name the size.
            raise _bomb(index, max_pixels) from None
        except Exception:
            # `from None`: the library's message and traceback may quote the bytes.
            raise MalformedRequest(f"image {index} is truncated or corrupt") from None
    exif = image.metadata.get("exif")
    if isinstance(exif, bytes) and not exif_is_readable(exif):
        raise MalformedRequest(f"image {index} has corrupt EXIF metadata")
    return image


def _decode(data: bytes, index: int, kind: str, max_pixels: int, max_frames: int) -> DecodedImage:
    img = Image.open(BytesIO(data), formats=[kind])  # lazy: reads the header only
    _check_pixels(img.size, index, max_pixels)
    n_frames = int(getattr(img, "n_frames", 1))
    if n_frames > max_frames:
        raise RequestTooLarge(
            f"image {index} has more frames than the policy limit of {max_frames}"
        )
    # One budget for all frames together: a small GIF can hold a hundred large frames.
    if img.size[0] * img.size[1] * n_frames > max_pixels:
        raise _frames_over_budget(index, max_pixels)
    frames = []
    alphas: list[Image.Image | None] = []
    metadata: dict[str, bytes | str] = {}
    comments: list[bytes] = []
    total = 0
    turn = 1
    for n in range(n_frames):
        if n:
            img.seek(n)
            _check_pixels(img.size, index, max_pixels)  # MPO/APNG frames carry their own size
        total += img.size[0] * img.size[1]
        if total > max_pixels:
            raise _frames_over_budget(index, max_pixels)
        img.load()
        if n == 0:
            metadata = collect_metadata(img, data, kind)
            turn = orientation(img)
        # As a viewer (and the provider) shows it: EXIF Orientation applies to every frame.
        rgb, alpha = _split_alpha(img)
        frames.append(upright(rgb, turn))
        alphas.append(None if alpha is None else upright(alpha, turn))
        comment = img.info.get("comment")
        if kind == "GIF" and isinstance(comment, bytes) and comment not in comments:
            comments.append(comment)  # each GIF frame may carry its own comment
    if comments:
        metadata["comment"] = b"\n".join(comments)
    width, height = frames[0].size
    fmt = "JPEG" if img.format == "MPO" else kind
    kept = tuple(alphas) if any(a is not None for a in alphas) else ()
    return DecodedImage(index, fmt, width, height, tuple(frames), metadata, kept)


def _frames_over_budget(index: int, max_pixels: int) -> RequestTooLarge:
    return RequestTooLarge(
        f"image {index}'s frames hold more than the policy limit of {max_pixels} pixels in all"
    )


def _bomb(index: int, max_pixels: int) -> RequestTooLarge:
    pillow_limit = Image.MAX_IMAGE_PIXELS
    if pillow_limit is not None and max_pixels <= pillow_limit:
        return RequestTooLarge(f"image {index} is over the policy limit of {max_pixels} pixels")
    return RequestTooLarge(f"image {index} is too large to decode safely")


def _check_pixels(size: tuple[int, int], index: int, max_pixels: int) -> None:
    width, height = size
    if width * height > max_pixels:
        # The size is the header's claim, written by the client: only the limit is named.
        raise RequestTooLarge(
            f"image {index} has more pixels than the policy limit of {max_pixels}"
        )


def _split_alpha(frame: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """The stored colours as RGB, and the alpha channel when any pixel is not opaque."""
    if frame.mode in ("I", "I;16", "I;16L", "I;16B"):
        # Pillow clips 16-bit samples to 255 when converting; scale them to 8 bits instead.
        grey = (np.asarray(frame).astype(np.int64).clip(0, 65535) >> 8).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB"), None
    if not (frame.mode in ("RGBA", "LA", "PA", "RGBa", "La", "P") or "transparency" in frame.info):
        return (frame.copy() if frame.mode == "RGB" else frame.convert("RGB")), None
    # Via RGBA so a palette's transparency is resolved, not warned about. Alpha is split off,
    # not composited: the colours under transparent pixels reach the upstream too.
    rgba = frame.convert("RGBA")
    alpha = rgba.getchannel("A")
    opaque = alpha.getextrema()[0] == 255
    return rgba.convert("RGB"), None if opaque else alpha
