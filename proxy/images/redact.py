"""Paint image findings out of an upload and re-encode it without its metadata.

`redact_image` returns new bytes in the upload's own format and mode family, turned upright
(EXIF Orientation applied), with every metadata block dropped except the ICC profile: EXIF,
XMP, IPTC, text chunks, comments, and whatever the decoder does not understand (private
chunks, unknown APPn segments, GIF extensions, bytes after the image), because the encoder
writes only the pixels and the options passed to it. Faces are pixelated to a coarse grid
of noisy block means, text and codes are covered with solid black. Anything it cannot do
raises `CannotRedact`, so the pipeline blocks instead.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image, ImageSequence, UnidentifiedImageError

from proxy.errors import CannotRedact
from proxy.images.metablocks import orientation, upright
from proxy.images.model import DecodedImage
from proxy.model import Finding, Source

# A face box from a detector hugs the skin; hair, ears and chin identify too.
_FACE_PAD = 0.15
# At most this many blocks across the padded face, roughly 6 across the face itself: people
# recognise familiar faces from ~16 blocks across, so this leaves a colour layout, not a face.
_FACE_BLOCKS = 8
_MIN_BLOCK = 8
# Uniform noise on each block mean: a model matching against candidate photos pixelated the
# same way (the known attack on mosaics) no longer gets exact block values to compare.
# Seeded by an HMAC of the upload under a key made at start-up: nothing public to subtract,
# yet the same upload redacts to the same bytes within a process, so its re-inspection hits
# the cache and repeated uploads stay repeatable.
_FACE_NOISE = 12
_NOISE_KEY = os.urandom(32)
_TEXT_PAD = 3
# Finder patterns sit at the code's corners: overshoot a little so no partial pattern survives.
_CODE_PAD = 4

_JPEG_QUALITY = 90
_LOSSY_QUALITY = 90
_HEIF_FORMATS = {"HEIF", "HEIC"}
# Formats whose saver writes every frame of an animation with save_all.
_ANIMATED = {"GIF", "PNG", "WEBP", "AVIF", "HEIF"}


def redact_image(data: bytes, image: DecodedImage, findings: Sequence[Finding]) -> bytes:
    """Return `data` re-encoded in its own format with `findings` painted out, minus metadata."""
    source = _open(data, image.format)
    # A multi-picture JPEG is a JPEG whose extra pictures are dropped; wide grey becomes 8-bit.
    fmt = "JPEG" if source.format == "MPO" else source.format or ""
    mode = "L" if source.mode in {"I", "I;16", "I;16L", "I;16B", "F"} else source.mode
    try:
        frames, durations = _frames(source)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise CannotRedact("image could not be decoded for redaction") from e
    # Orientation lives in EXIF, which is dropped: the pixels are turned upright first, so the
    # picture the provider receives is the way up the user sees it, and boxes (which the
    # decoder reports in upright coordinates) land where detection looked.
    turn = orientation(source)
    frames = [upright(f, turn) for f in frames]
    if frames[0].size != (image.width, image.height):  # the boxes would miss
        raise CannotRedact("image size differs from the decoded image the findings refer to")
    # Boxes are in frame-0 coordinates and go on every frame: enough for the short, mostly
    # still animations people upload; a face that moves out of its box is a known gap.
    arrays = [np.array(f.convert("RGB") if f.mode == "L" else f) for f in frames]
    seed = hmac.new(_NOISE_KEY, data, hashlib.sha256).digest()
    rng = np.random.default_rng(int.from_bytes(seed[:16], "big"))
    for f in sorted(findings, key=lambda f: f.source is not Source.FACE):
        if f.box is None:
            continue  # metadata and the like: stripping below covers them
        for a in arrays:
            if f.source is Source.FACE:
                _pixelate(a, _pad(f.box, a, pad_frac=_FACE_PAD), rng)
            else:
                # Text, codes, and any other boxed source: a solid fill leaves nothing to read.
                pad = _CODE_PAD if f.source is Source.CODE else _TEXT_PAD
                x0, y0, x1, y1 = _pad(f.box, a, pad_px=pad)
                a[y0:y1, x0:x1, :3] = 0
                if a.shape[2] == 4:
                    # Opaque too: black text on a transparent background stays readable
                    # under a black box that is itself transparent.
                    a[y0:y1, x0:x1, 3] = 255
    out = [_restore_mode(Image.fromarray(a), mode, fmt) for a in arrays]
    return _encode(out, durations, source, fmt)


def _open(data: bytes, declared: str) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        if declared.upper() not in _HEIF_FORMATS and not _looks_heif(data):
            raise CannotRedact("image format is not supported for redaction") from None
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise CannotRedact("image could not be opened for redaction") from e
    try:
        import pillow_heif  # lazy: only HEIF uploads pay for it
    except ImportError:
        raise CannotRedact("HEIF redaction needs pillow-heif, which is not installed") from None
    pillow_heif.register_heif_opener()
    try:
        return Image.open(io.BytesIO(data))
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise CannotRedact("HEIF image could not be opened for redaction") from e


def _looks_heif(data: bytes) -> bool:
    return data[4:8] == b"ftyp" and data[8:12] in {b"heic", b"heix", b"mif1", b"msf1", b"heim"}


def _frames(source: Image.Image) -> tuple[list[Image.Image], list[int]]:
    """Every frame as stored (not yet turned upright), as RGB or RGBA; each duration in ms."""
    frames: list[Image.Image] = []
    durations: list[int] = []
    for frame in ImageSequence.Iterator(source):
        frames.append(_to_rgb(frame))
        durations.append(int(frame.info.get("duration", 0) or 0))
        if source.format == "MPO":
            break  # the other pictures are previews or depth maps: drop them, unredacted
    return frames, durations


def _to_rgb(frame: Image.Image) -> Image.Image:
    if frame.mode in {"I", "I;16", "I;16L", "I;16B", "F"}:
        # Pillow clips wide samples at 255 (a white picture); scale to 8 bits as the decoder does.
        wide = np.asarray(frame).astype(np.float64)
        top = 65535.0 if frame.mode != "F" else max(float(wide.max()), 1.0)
        return Image.fromarray((np.clip(wide, 0, top) * (255.0 / top)).astype(np.uint8))
    alpha = frame.mode in {"RGBA", "LA", "PA", "RGBa", "La"} or "transparency" in frame.info
    return frame.convert("RGBA" if alpha else "RGB")


def _pad(
    box: tuple[int, int, int, int], a: np.ndarray[Any, Any], *, pad_frac: float = 0, pad_px: int = 0
) -> tuple[int, int, int, int]:
    """The box grown by a fraction of its size plus some pixels, clipped to the image."""
    x, y, w, h = box
    if w <= 0 or h <= 0:
        raise CannotRedact("a finding has an empty box")
    dx, dy = math.ceil(w * pad_frac) + pad_px, math.ceil(h * pad_frac) + pad_px
    height, width = a.shape[:2]
    x0, y0 = max(0, x - dx), max(0, y - dy)
    x1, y1 = min(width, x + w + dx), min(height, y + h + dy)
    if x0 >= x1 or y0 >= y1:
        raise CannotRedact("a finding's box lies outside the image")
    return x0, y0, x1, y1


def _pixelate(
    a: np.ndarray[Any, Any], region: tuple[int, int, int, int], rng: np.random.Generator
) -> None:
    """Replace the region's colour channels with noisy block means, in place.

    Each block keeps only one colour, so the detail inside it is gone from the bytes, not
    hidden behind a filter that a deconvolution could undo.
    """
    x0, y0, x1, y1 = region
    block = max(_MIN_BLOCK, math.ceil(max(x1 - x0, y1 - y0) / _FACE_BLOCKS))
    for by in range(y0, y1, block):
        for bx in range(x0, x1, block):
            cell = a[by : min(by + block, y1), bx : min(bx + block, x1), :3]
            mean = cell.reshape(-1, 3).mean(axis=0) + rng.uniform(-_FACE_NOISE, _FACE_NOISE, 3)
            cell[...] = np.clip(np.rint(mean), 0, 255).astype(a.dtype)


def _restore_mode(frame: Image.Image, mode: str, fmt: str) -> Image.Image:
    """Back to the upload's mode family (grey stays grey, palette stays palette)."""
    if mode in {"L", "LA", "CMYK", "1"}:
        return frame.convert(mode)
    if fmt == "GIF" and frame.mode == "RGBA":
        return _gif_frame(frame)
    if mode == "P" and fmt == "PNG":
        return frame.quantize(method=Image.Quantize.FASTOCTREE if frame.mode == "RGBA" else None)
    return frame  # GIF's saver quantises RGB(A) itself; 16-bit PNG becomes 8-bit RGB


def _gif_frame(frame: Image.Image) -> Image.Image:
    """Palette frame with fully transparent pixels on one reserved index.

    Pillow's GIF saver turns RGBA into an opaque palette image, which would fill the upload's
    transparent areas with colour.
    """
    clear = Image.fromarray(((np.array(frame.getchannel("A")) < 128) * 255).astype(np.uint8))
    out = frame.convert("RGB").quantize(255)
    out.paste(255, mask=clear)
    out.info["transparency"] = 255
    return out


def _encode(
    frames: list[Image.Image], durations: list[int], source: Image.Image, fmt: str
) -> bytes:
    # Frames are fresh images with empty `info`, so no saver can copy a comment, EXIF or XMP
    # from the source; only what is passed here is written.
    options: dict[str, Any] = {}
    icc = source.info.get("icc_profile")
    if icc and fmt != "GIF":
        # ICC describes colour, not a person; dropping it would shift the colours upstream.
        options["icc_profile"] = icc
    if fmt == "JPEG":
        options["quality"] = _JPEG_QUALITY
    elif fmt == "PNG":
        # Level 3 instead of Pillow's 6: a third of the time for a file ~8% larger.
        options["compress_level"] = 3
    elif fmt in {"WEBP", "AVIF", "HEIF"}:
        options["quality"] = _LOSSY_QUALITY
    if len(frames) > 1:
        if fmt not in _ANIMATED:
            raise CannotRedact("multi-frame image in a format that cannot be re-encoded")
        options.update(save_all=True, append_images=frames[1:], duration=durations)
        if "loop" in source.info:
            options["loop"] = source.info["loop"]
    elif fmt == "GIF" and "loop" in source.info:
        options["loop"] = source.info["loop"]
    buf = io.BytesIO()
    try:
        frames[0].save(buf, format=fmt, **options)
    except (OSError, ValueError, KeyError) as e:
        raise CannotRedact("redacted image could not be encoded in its original format") from e
    return buf.getvalue()
