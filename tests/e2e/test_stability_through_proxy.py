"""The real proxy between httpx speaking Stability's documented wire format and a TLS upstream.

Stability has no maintained official Python SDK for its REST API; its reference documents
each endpoint with plain HTTP samples, which httpx reproduces here (multipart for v2beta and
v1 image-to-image, JSON for v1 text-to-image).
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator

import httpx
import pytest
from helpers.e2e import (
    PNG_1x1,
    Proxy,
    Received,
    Upstream,
    multipart_fields,
    proxy_fixture,
    upstream_fixture,
)
from helpers.images import astronaut, encode
from helpers.tiny_sd import tiny_pipeline_dir
from PIL import Image

pytestmark = pytest.mark.e2e

EMAIL = "jane.doe@example.org"
CARD = "4111 1111 1111 1111"
EMPLOYEE = "EMP-482913"
CLEAN = "A watercolor lighthouse on a cliff at dawn"

POLICY = f"""mode: enforce
on_error: block
default_action: allow
recognizers:
  - {{entity: EMPLOYEE_ID, patterns: [{{regex: 'EMP-\\d{{6}}', score: 0.9}}]}}
rules:
  - {{id: no-payment-data, entities: [CREDIT_CARD], action: block}}
  - {{id: contact-details, entities: [EMAIL_ADDRESS], action: redact}}
  - {{id: keep-home, entities: [EMPLOYEE_ID], action: reroute}}
redaction: {{EMAIL_ADDRESS: "an email address", default: "<{{entity}}>"}}
fallback: {{model: "{tiny_pipeline_dir()}", native_size: 64, on_unavailable: block}}
"""


def stability_answer(request: Received) -> tuple[int, dict[str, str], bytes]:
    """Like api.stability.ai: bare image bytes for v2beta, artifacts JSON for v1."""
    if request.path.startswith("/v1/"):
        doc = {"artifacts": [{"base64": base64.b64encode(PNG_1x1).decode(), "seed": 7,
                              "finishReason": "SUCCESS"}]}  # fmt: skip
        return 200, {"content-type": "application/json"}, json.dumps(doc).encode()
    return 200, {"content-type": "image/png", "finish-reason": "SUCCESS", "seed": "7"}, PNG_1x1


upstream = upstream_fixture(stability_answer)

proxy = proxy_fixture("stability", POLICY)


@pytest.fixture
def http(proxy: Proxy, upstream: Upstream) -> Iterator[httpx.Client]:
    upstream.clear()
    with proxy.http_client() as client:
        client.base_url = httpx.URL(f"https://localhost:{upstream.port}")
        yield client


def test_clean_generation_arrives_byte_for_byte(http: httpx.Client, upstream: Upstream) -> None:
    sent: list[bytes] = []
    http.event_hooks["request"] = [lambda r: sent.append(r.read())]
    response = http.post(
        "/v2beta/stable-image/generate/core",
        headers={"accept": "image/*"},
        files={"none": ""},
        data={"prompt": CLEAN, "output_format": "png"},
    )
    assert response.headers["x-pixelgate-decision"] == "allow"
    assert response.content == PNG_1x1 and response.headers["finish-reason"] == "SUCCESS"
    assert [r.body for r in upstream.received] == sent


def test_email_in_search_prompt_is_redacted_and_image_is_identical(
    http: httpx.Client, upstream: Upstream
) -> None:
    photo = encode(astronaut())
    response = http.post(
        "/v2beta/stable-image/edit/search-and-replace",
        headers={"accept": "image/*"},
        files={"image": ("photo.png", photo, "image/png")},
        data={"prompt": "a golden retriever", "search_prompt": f"the badge of {EMAIL}"},
    )
    assert response.headers["x-pixelgate-decision"] == "redact"
    (received,) = upstream.received
    fields = multipart_fields(received.body, received.headers["content-type"])
    assert fields["search_prompt"] == b"the badge of an email address"
    assert fields["image"] == photo and fields["prompt"] == b"a golden retriever"


def test_card_in_v1_prompt_is_blocked_in_stability_error_format(
    http: httpx.Client, upstream: Upstream
) -> None:
    response = http.post(
        "/v1/generation/stable-diffusion-xl-1024-v1-0/text-to-image",
        headers={"accept": "application/json"},
        json={"text_prompts": [{"text": f"A receipt for card {CARD}", "weight": 1}]},
    )
    assert response.status_code == 403
    error = response.json()
    assert error["name"] == "pii_blocked" and "no-payment-data" in error["message"]
    assert error["errors"] == [error["message"]] and "4111" not in response.text
    assert response.headers["x-pixelgate-decision"] == "block"
    assert upstream.received == []


def test_rerouted_ultra_answers_stability_json_with_the_ratio_size(
    http: httpx.Client, upstream: Upstream
) -> None:
    response = http.post(
        "/v2beta/stable-image/generate/ultra",
        headers={"accept": "application/json"},
        files={"none": ""},
        data={"prompt": f"A name tag reading {EMPLOYEE}", "aspect_ratio": "16:9"},
    )
    assert response.headers["x-pixelgate-decision"] == "reroute"
    doc = response.json()
    assert doc["finish_reason"] == "SUCCESS" and isinstance(doc["seed"], int)
    image = Image.open(io.BytesIO(base64.b64decode(doc["image"])))
    assert (image.format, image.size) == ("PNG", (1344, 768))
    assert upstream.received == []


def test_rerouted_async_relight_is_polled_from_the_proxy(
    http: httpx.Client, upstream: Upstream
) -> None:
    started = http.post(
        "/v2beta/stable-image/edit/replace-background-and-relight",
        headers={"accept": "image/*"},
        files={"subject_image": ("me.png", encode(astronaut()), "image/png")},
        data={"background_prompt": f"an office for {EMPLOYEE}", "output_format": "webp"},
    )
    assert started.status_code == 200 and started.headers["x-pixelgate-decision"] == "reroute"
    result = http.get(f"/v2beta/results/{started.json()['id']}", headers={"accept": "image/*"})
    assert result.status_code == 200 and result.headers["content-type"] == "image/webp"
    assert Image.open(io.BytesIO(result.content)).format == "WEBP"
    assert upstream.received == []


def test_unknown_endpoint_on_the_host_is_refused(http: httpx.Client, upstream: Upstream) -> None:
    response = http.post(
        "/v2beta/audio/stable-audio-2/text-to-audio",
        files={"none": ""},
        data={"prompt": CLEAN},
    )
    assert response.status_code == 403
    assert response.json()["name"] == "pixelgate_unsupported_endpoint"
    assert upstream.received == []
