"""The official openai SDK's AzureOpenAI client through the real proxy to a TLS upstream on
loopback that answers like Azure OpenAI: deployment paths, the api-version query, and the
endpoints on an Azure resource that PixelGate does not read."""

from __future__ import annotations

import io
import json

import openai
import pytest
from helpers.e2e import (
    Proxy,
    Upstream,
    multipart_fields,
    proxy_fixture,
)
from helpers.images import astronaut, encode

pytestmark = pytest.mark.e2e

EMAIL = "jane.doe@example.org"
CARD = "4111 1111 1111 1111"
API_VERSION = "2025-04-01-preview"

POLICY = """mode: enforce
on_error: block
rules:
  - {id: no-payment-data, entities: [CREDIT_CARD], action: block}
  - {id: contact-details, entities: [EMAIL_ADDRESS], action: redact}
  - {id: faces, entities: [FACE], sources: [face], action: redact}
redaction: {EMAIL_ADDRESS: "an email address"}
fallback: {model: null, on_unavailable: block}
"""

# The conftest's upstream answers like OpenAI Images; the policy lists it under openai.
proxy = proxy_fixture("openai", POLICY)


@pytest.fixture(autouse=True)
def _fresh_record(upstream: Upstream) -> None:
    upstream.clear()


def azure(proxy: Proxy, upstream: Upstream, deployment: str | None = None) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(
        api_key="azure-test-key",
        api_version=API_VERSION,
        azure_endpoint=f"https://localhost:{upstream.port}",
        azure_deployment=deployment,
        http_client=proxy.http_client(),
        max_retries=0,
    )


def test_generation_on_a_deployment_is_redacted_before_azure_sees_it(
    proxy: Proxy, upstream: Upstream
) -> None:
    with azure(proxy, upstream) as client:
        raw = client.images.with_raw_response.generate(
            model="gpt-image-1", prompt=f"A birthday card for {EMAIL}"
        )
    assert raw.headers["x-pixelgate-decision"] == "redact"
    assert raw.parse().data
    (received,) = upstream.received
    assert (
        received.path
        == f"/openai/deployments/gpt-image-1/images/generations?api-version={API_VERSION}"
    )
    assert json.loads(received.body)["prompt"] == "A birthday card for an email address"


def test_a_face_in_an_edit_on_a_fixed_deployment_is_redacted(
    proxy: Proxy, upstream: Upstream
) -> None:
    from proxy.detectors.faces import FaceDetector
    from proxy.images.decode import decode_image

    photo = encode(astronaut())
    with azure(proxy, upstream, deployment="flux-kontext") as client:
        raw = client.images.with_raw_response.edit(
            model="ignored", image=("me.png", photo, "image/png"), prompt="make it a watercolour"
        )
    assert raw.headers["x-pixelgate-decision"] == "redact"
    (received,) = upstream.received
    assert received.path.startswith("/openai/deployments/flux-kontext/images/edits?")
    sent = multipart_fields(received.body, received.headers["content-type"])["image"]
    assert sent != photo
    assert FaceDetector().detect_image(decode_image(sent, 0, max_pixels=10**8)) == []


def test_a_card_number_is_blocked_in_openai_format(proxy: Proxy, upstream: Upstream) -> None:
    with azure(proxy, upstream) as client, pytest.raises(openai.PermissionDeniedError) as caught:
        client.images.generate(model="gpt-image-1", prompt=f"A receipt for card {CARD}")
    assert "no-payment-data" in caught.value.message and "4111" not in caught.value.message
    assert upstream.received == []


def test_a_file_upload_to_the_resource_is_refused_not_forwarded(
    proxy: Proxy, upstream: Upstream
) -> None:
    with azure(proxy, upstream) as client, pytest.raises(openai.PermissionDeniedError) as caught:
        client.files.create(file=("me.png", io.BytesIO(encode(astronaut())), "image/png"),
                            purpose="assistants")  # fmt: skip
    assert caught.value.code == "pixelgate_unsupported_endpoint"
    assert upstream.received == []
