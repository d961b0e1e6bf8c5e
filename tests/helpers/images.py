"""Test images built in memory: real photos with faces, rendered text, EXIF, broken files."""

from __future__ import annotations

import io
import struct
import zlib
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont


def encode(image: Image.Image, fmt: str = "PNG", **kwargs: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **kwargs)
    return out.getvalue()


@cache
def astronaut() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut())


def font(size: int, name: str = "DejaVuSans.ttf") -> ImageFont.FreeTypeFont:
    import matplotlib

    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name), size)


def text_card(lines: list[str], size: int = 28, width: int = 640) -> Image.Image:
    """Dark text on a light background, one line per entry."""
    face = font(size)
    height = 30 + len(lines) * int(size * 1.6)
    image = Image.new("RGB", (width, height), (245, 245, 240))
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((20, 15 + i * int(size * 1.6)), line, fill=(20, 20, 20), font=face)
    return image


def landscape() -> Image.Image:
    """No faces, no text: smooth gradients and noise."""
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:384, 0:512]
    sky = np.stack([x * 0.2 + 60, y * 0.3 + 120, 200 + 0 * x], axis=-1)
    noisy = sky + rng.normal(0, 6, sky.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype("uint8"))


def with_gps(image: Image.Image) -> bytes:
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (37.0, 46.0, 30.0)
    gps[3], gps[4] = "W", (122.0, 25.0, 10.0)
    exif[0xA431] = "SN-0042-7788"  # BodySerialNumber
    return encode(image, "JPEG", exif=exif.tobytes(), quality=90)


def truncated_png() -> bytes:
    return encode(landscape())[:-400]


def png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge size: only the header, nothing to decode."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" + b"\x00" * 3 * 16)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def qr_code(content: str, scale: int = 6) -> Image.Image:
    """A QR code on a white margin, RGB."""
    import zxingcpp

    symbol = zxingcpp.create_barcode(content, zxingcpp.BarcodeFormat.QRCode)
    pixels = np.asarray(symbol.to_image(scale=scale))
    page = Image.new("L", (pixels.shape[1] + 96, pixels.shape[0] + 96), 255)
    page.paste(Image.fromarray(pixels), (48, 48))
    return page.convert("RGB")


def animation(frames: list[Image.Image], fmt: str, **kwargs: object) -> bytes:
    """Every frame saved as one animated file (GIF, PNG = APNG, WEBP, AVIF)."""
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=80, **kwargs)


def png_with_chunk(png: bytes, kind: bytes, payload: bytes) -> bytes:
    """`png` with one more chunk just before IEND."""
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    chunk = struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)
    end = png.rindex(b"IEND") - 4
    return png[:end] + chunk + png[end:]


def jpeg_with_segment(jpeg: bytes, marker: int, payload: bytes) -> bytes:
    """`jpeg` with one more APPn (or other) segment right after SOI."""
    return jpeg[:2] + struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload + jpeg[2:]


def gif_with_xmp(gif: bytes, xmp: str) -> bytes:
    """`gif` with an XMP application extension before its trailer (as Adobe writes it)."""
    trailer = bytes([1, *range(255, -1, -1), 0])  # XMP's 'magic trailer' of sub-block sizes
    block = b"\x21\xff\x0bXMP DataXMP" + xmp.encode() + trailer
    return gif[:-1] + block + gif[-1:]
