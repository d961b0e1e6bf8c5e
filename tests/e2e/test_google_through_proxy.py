"""The real proxy between the official google-genai SDK (Gemini API and Vertex AI modes) and a
TLS upstream on loopback that answers like Google."""

from __future__ import annotations

import base64
import io
import json
import ssl
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from google import genai
from google.genai import errors, types
from google.oauth2.credentials import Credentials
from helpers.e2e import PNG_1x1, Proxy, Received, Upstream, proxy_fixture, upstream_fixture
from helpers.tiny_sd import tiny_pipeline_dir
from PIL import Image

pytestmark = pytest.mark.e2e

EMAIL = "jane.doe@example.org"
CARD = "4111 1111 1111 1111"
EMPLOYEE = "EMP-482913"
CLEAN = "A watercolor lighthouse on a cliff at dawn, seagulls, soft light"
PLANTED = (EMAIL, CARD, EMPLOYEE, "4111111111111111", "lighthouse on a cliff")
MODEL = "gemini-2.5-flash-image"

POLICY = """mode: enforce
on_error: block
default_action: allow
recognizers:
  - {{entity: EMPLOYEE_ID, patterns: [{{regex: 'EMP-\\d{{6}}', score: 0.9}}]}}
rules:
  - {{id: no-payment-data, entities: [CREDIT_CARD], action: block}}
  - {{id: contact-details, entities: [EMAIL_ADDRESS], action: redact}}
  - {{id: keep-home, entities: [EMPLOYEE_ID], action: reroute}}
  - {{id: faces, entities: [FACE], sources: [face], action: redact}}
redaction: {{EMAIL_ADDRESS: "an email address", default: "<{{entity}}>"}}
fallback: {{model: "{model}", native_size: 64, on_unavailable: block}}
"""


def google_answer(request: Received) -> tuple[int, dict[str, str], bytes]:
    """Like Google: a generateContent response (as events when streamed), or predictions."""
    path = request.path.partition("?")[0]
    data = base64.b64encode(PNG_1x1).decode()
    if path.endswith(":predict"):
        payload: dict[str, object] = {
            "predictions": [{"bytesBase64Encoded": data, "mimeType": "image/png"}]
        }
    else:
        part = {"inlineData": {"mimeType": "image/png", "data": data}}
        candidate = {"content": {"role": "model", "parts": [part]}, "finishReason": "STOP"}
        payload = {"candidates": [candidate], "modelVersion": MODEL}
    if path.endswith(":streamGenerateContent"):
        event = f"data: {json.dumps(payload)}\r\n\r\n".encode()
        return 200, {"content-type": "text/event-stream"}, event
    return 200, {"content-type": "application/json"}, json.dumps(payload).encode()


upstream = upstream_fixture(google_answer)

proxy = proxy_fixture("google", lambda: POLICY.format(model=tiny_pipeline_dir()))


@pytest.fixture(autouse=True)
def _fresh_record(upstream: Upstream) -> None:
    upstream.clear()


def options(proxy: Proxy, upstream: Upstream, sent: list[bytes] | None = None) -> types.HttpOptions:
    """The SDK's own httpx client, through the proxy, trusting the proxy's CA."""
    hooks = {"request": [lambda r: sent.append(r.read())]} if sent is not None else {}
    return types.HttpOptions(
        base_url=f"https://localhost:{upstream.port}",
        client_args={
            "proxy": f"http://127.0.0.1:{proxy.port}",
            "verify": ssl.create_default_context(cafile=str(proxy.ca)),
            "event_hooks": hooks,
        },
    )


def gemini(proxy: Proxy, upstream: Upstream, sent: list[bytes] | None = None) -> genai.Client:
    return genai.Client(api_key="test-key", http_options=options(proxy, upstream, sent))


def vertex(proxy: Proxy, upstream: Upstream) -> genai.Client:
    return genai.Client(
        vertexai=True,
        project="test-project",
        location="us-central1",
        credentials=Credentials(token="test-token"),  # type: ignore[no-untyped-call]
        http_options=options(proxy, upstream),
    )


def text(value: str) -> types.Part:
    return types.Part.from_text(text=value)


def image_part() -> types.Part:
    return types.Part.from_bytes(data=PNG_1x1, mime_type="image/png")


def decision(response: types.GenerateContentResponse) -> str | None:
    http = response.sdk_http_response
    return (http.headers or {}).get("x-pixelgate-decision") if http else None


def test_clean_request_arrives_byte_for_byte(proxy: Proxy, upstream: Upstream) -> None:
    sent: list[bytes] = []
    with gemini(proxy, upstream, sent) as client:
        result = client.models.generate_content(
            model=MODEL, contents=types.UserContent(parts=[text(CLEAN), image_part()])
        )
    assert decision(result) == "allow"
    assert result.parts and result.parts[0].inline_data
    assert result.parts[0].inline_data.data == PNG_1x1
    assert [r.body for r in upstream.received] == sent


def test_email_is_redacted_before_vertex_sees_it(proxy: Proxy, upstream: Upstream) -> None:
    config = types.GenerateContentConfig(system_instruction=f"Sign every card for {EMAIL}")
    with vertex(proxy, upstream) as client:
        result = client.models.generate_content(
            model=MODEL,
            contents=types.UserContent(parts=[text(f"A birthday card for {EMAIL}"), image_part()]),
            config=config,
        )
    assert decision(result) == "redact"
    (received,) = upstream.received
    assert received.path.startswith("/v1beta1/projects/test-project/locations/us-central1/")
    body = json.loads(received.body)
    assert body["contents"][0]["parts"][0]["text"] == "A birthday card for an email address"
    assert body["systemInstruction"]["parts"][0]["text"] == "Sign every card for an email address"
    assert base64.b64decode(body["contents"][0]["parts"][1]["inlineData"]["data"]) == PNG_1x1


def test_card_number_in_a_stream_is_blocked_in_google_format(
    proxy: Proxy, upstream: Upstream
) -> None:
    with gemini(proxy, upstream) as client, pytest.raises(errors.ClientError) as caught:
        for _ in client.models.generate_content_stream(
            model=MODEL, contents=f"A receipt showing card {CARD}"
        ):
            pass
    assert (caught.value.code, caught.value.status) == (403, "PERMISSION_DENIED")
    assert "no-payment-data" in (caught.value.message or "")
    assert "4111" not in json.dumps(caught.value.details)
    assert upstream.received == []


def test_unsupported_endpoint_is_refused_not_forwarded(proxy: Proxy, upstream: Upstream) -> None:
    with gemini(proxy, upstream) as client, pytest.raises(errors.ClientError) as caught:
        client.models.embed_content(model="gemini-embedding-001", contents=CLEAN)
    assert (caught.value.code, caught.value.status) == (403, "PERMISSION_DENIED")
    reason = caught.value.details["error"]["details"][0]["reason"]
    assert reason == "pixelgate_unsupported_endpoint"
    assert upstream.received == []


def test_a_file_api_upload_is_refused_not_forwarded(proxy: Proxy, upstream: Upstream) -> None:
    # Its bytes go in a second request, after the server has named an upload URL; a photo
    # could only be inspected there, with its size already declared: refused where it starts.
    with gemini(proxy, upstream) as client, pytest.raises(errors.ClientError) as caught:
        client.files.upload(
            file=io.BytesIO(PNG_1x1), config=types.UploadFileConfig(mime_type="image/png")
        )
    assert caught.value.code == 403
    assert caught.value.details["error"]["details"][0]["reason"] == (
        "pixelgate_unsupported_endpoint"
    )
    assert upstream.received == []


def test_rerouted_generation_is_a_local_image_the_sdk_reads(
    proxy: Proxy, upstream: Upstream
) -> None:
    config = types.GenerateContentConfig(image_config=types.ImageConfig(aspect_ratio="16:9"))
    with gemini(proxy, upstream) as client:
        result = client.models.generate_content(
            model=MODEL, contents=f"A name tag reading {EMPLOYEE}", config=config
        )
    assert decision(result) == "reroute"
    assert result.parts and result.parts[0].inline_data and result.parts[0].inline_data.data
    image = Image.open(io.BytesIO(result.parts[0].inline_data.data))
    assert (image.format, image.size) == ("PNG", (1344, 768))
    assert upstream.received == []


def test_rerouted_stream_is_one_event_the_sdk_reads(proxy: Proxy, upstream: Upstream) -> None:
    with gemini(proxy, upstream) as client:
        chunks = list(
            client.models.generate_content_stream(
                model=MODEL,
                contents=types.UserContent(parts=[text(f"Badge for {EMPLOYEE}"), image_part()]),
            )
        )
    assert len(chunks) == 1 and chunks[0].parts and chunks[0].parts[0].inline_data
    assert chunks[0].parts[0].inline_data.data
    assert upstream.received == []


def test_rerouted_imagen_request_on_vertex_gets_local_predictions(
    proxy: Proxy, upstream: Upstream
) -> None:
    # The SDK marks Imagen methods deprecated (warning once per process), but still sends them.
    with vertex(proxy, upstream) as client, warnings.catch_warnings(action="ignore"):
        result = client.models.generate_images(
            model="imagen-4.0-generate-001",
            prompt=f"An ID badge for {EMPLOYEE}",
            config=types.GenerateImagesConfig(number_of_images=2, aspect_ratio="3:4"),
        )
    images = [g.image.image_bytes for g in result.generated_images or [] if g.image]
    sizes = [Image.open(io.BytesIO(data)).size for data in images if data]
    assert sizes == [(896, 1152)] * 2
    assert upstream.received == []


def test_plain_httpx_gets_a_json_array_for_a_stream_without_sse(
    proxy: Proxy, upstream: Upstream
) -> None:
    with proxy.http_client() as http:
        response = http.post(
            f"https://localhost:{upstream.port}/v1beta/models/{MODEL}:streamGenerateContent",
            json={"contents": [{"parts": [{"text": f"Badge for {EMPLOYEE}"}]}]},
        )
    assert response.headers["x-pixelgate-decision"] == "reroute"
    (item,) = response.json()
    assert item["candidates"][0]["content"]["parts"][0]["inlineData"]["mimeType"] == "image/png"


# --- real photos, as the SDK writes them (URL-safe base64 for Part.from_bytes) -----------------


def photo(name: str) -> bytes:
    """A scikit-image photo as JPEG: the astronaut has a face, the coffee cup none."""
    from skimage import data

    out = io.BytesIO()
    Image.fromarray(getattr(data, name)()).save(out, "JPEG", quality=85)
    return out.getvalue()


def photo_request(client: genai.Client, image: bytes) -> types.GenerateContentResponse:
    part = types.Part.from_bytes(data=image, mime_type="image/jpeg")
    return client.models.generate_content(
        model=MODEL, contents=types.UserContent(parts=[text("Paint this in watercolour"), part])
    )


def forwarded_photo(upstream: Upstream) -> str:
    (received,) = upstream.received
    parts = json.loads(received.body)["contents"][0]["parts"]
    return str(parts[1]["inlineData"]["data"])


def faces_in(data: bytes) -> int:
    from proxy.detectors.faces import FaceDetector
    from proxy.images.decode import decode_image

    return len(FaceDetector().detect_image(decode_image(data, 0, max_pixels=10**8)))


@pytest.mark.parametrize("client", [gemini, vertex])
def test_a_photo_in_url_safe_base64_reaches_the_upstream_as_sent(
    proxy: Proxy, upstream: Upstream, client: Callable[[Proxy, Upstream], genai.Client]
) -> None:
    image = photo("coffee")
    with client(proxy, upstream) as sdk:
        result = photo_request(sdk, image)
    assert decision(result) == "allow"
    sent = forwarded_photo(upstream)
    assert {"-", "_"} & set(sent) and not {"+", "/"} & set(sent)
    assert base64.urlsafe_b64decode(sent) == image


@pytest.mark.parametrize("client", [gemini, vertex])
def test_a_face_in_a_url_safe_photo_is_redacted_and_sent_url_safe(
    proxy: Proxy, upstream: Upstream, client: Callable[[Proxy, Upstream], genai.Client]
) -> None:
    image = photo("astronaut")
    assert faces_in(image) == 1
    with client(proxy, upstream) as sdk:
        result = photo_request(sdk, image)
    assert decision(result) == "redact"
    sent = forwarded_photo(upstream)
    assert not {"+", "/"} & set(sent)  # the alphabet the SDK used
    redacted = base64.urlsafe_b64decode(sent)
    assert redacted != image and faces_in(redacted) == 0
    assert Image.open(io.BytesIO(redacted)).size == (512, 512)


def test_a_face_in_a_vertex_imagen_edit_is_redacted(proxy: Proxy, upstream: Upstream) -> None:
    image = photo("astronaut")
    reference = types.RawReferenceImage(
        reference_id=1, reference_image=types.Image(image_bytes=image)
    )
    with vertex(proxy, upstream) as client, warnings.catch_warnings(action="ignore"):
        result = client.models.edit_image(
            model="imagen-3.0-capability-001",
            prompt="Paint this in watercolour",
            reference_images=[reference],
            config=types.EditImageConfig(edit_mode=types.EditMode.EDIT_MODE_DEFAULT),
        )
    assert result.generated_images  # the SDK read the upstream's answer
    (received,) = upstream.received
    instance = json.loads(received.body)["instances"][0]
    sent = instance["referenceImages"][0]["referenceImage"]["bytesBase64Encoded"]
    redacted = base64.b64decode(sent, validate=True)  # the standard alphabet, as sent
    assert redacted != image and faces_in(redacted) == 0


def test_no_planted_value_in_any_file_or_output(proxy: Proxy) -> None:
    # Runs last in this module: everything above has gone through this proxy.
    files: list[Path] = proxy.written_files()
    assert proxy.audit in files
    assert {e["provider"] for e in proxy.events()} == {"google"}
    for path in files:
        data = path.read_bytes()
        for value in PLANTED:
            assert value.encode() not in data, f"{value!r} found in {path.name}"
