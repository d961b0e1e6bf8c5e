"""Writes the images that the bundled policy cases (policies/cases/*.yaml) upload.

Run once from the repository root, `.venv/bin/python tests/helpers/case_images.py`; the
files are committed, so the cases need neither this script nor the test image libraries.
Each is a few KB to a few tens of KB.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import zxingcpp
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers.images import astronaut, encode, landscape, text_card, with_gps  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / "policies" / "cases" / "images"


def qr(content: str) -> Image.Image:
    symbol = zxingcpp.create_barcode(content, zxingcpp.BarcodeFormat.QRCode)
    pixels = np.asarray(symbol.to_image(scale=6))
    page = Image.new("L", (pixels.shape[1] + 96, pixels.shape[0] + 96), 255)
    page.paste(Image.fromarray(pixels), (48, 48))
    return page.convert("RGB")


def with_serial(image: Image.Image) -> bytes:
    """A photo whose EXIF names the camera's serial number, and no position."""
    exif = Image.Exif()
    exif[0xA431] = "SN-0042-7788"  # BodySerialNumber
    return encode(image, "JPEG", exif=exif.tobytes(), quality=80)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    small = landscape().resize((256, 192))
    files = {
        "landscape.jpg": encode(small, "JPEG", quality=80),
        "gps-photo.jpg": with_gps(small),
        "camera-serial.jpg": with_serial(small),
        "face.jpg": encode(astronaut().crop((120, 0, 300, 200)), "JPEG", quality=80),
        "email-badge.png": encode(text_card(["Visitor badge", "mara.lindqvist@example.org"])),
        "card-receipt.png": encode(text_card(["RECEIPT", "Card 4111 1111 1111 1111"])),
        "poster-text.png": encode(text_card(["Summer Jazz Festival", "Live music all weekend"])),
        "qr-email.png": encode(qr("mailto:mara.lindqvist@example.org")),
        "qr-url.png": encode(qr("https://example.com/menu")),
    }
    for name, data in files.items():
        (OUT / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
