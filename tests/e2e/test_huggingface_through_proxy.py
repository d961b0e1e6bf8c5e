"""huggingface_hub's InferenceClient through the real proxy to a TLS upstream on loopback."""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import Iterator

import httpx
import pytest
from helpers.e2e import (
    PNG_1x1,
    Proxy,
    Received,
    Upstream,
    four_actions_policy,
    proxy_fixture,
    upstream_fixture,
)
from huggingface_hub import InferenceClient
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.utils import set_client_factory
from huggingface_hub.utils._http import default_client_factory

pytestmark = pytest.mark.e2e

EMAIL = "jane.doe@example.org"
CARD = "4111 1111 1111 1111"
LIGHTHOUSE = "A watercolor lighthouse on a cliff at dawn"
SENT: list[bytes] = []  # request bodies as the SDK sent them to the upstream


def image_answer(request: Received) -> tuple[int, dict[str, str], bytes]:
    return 200, {"content-type": "image/png"}, PNG_1x1


upstream = upstream_fixture(image_answer)


proxy = proxy_fixture("huggingface", four_actions_policy)


def _record(request: httpx.Request, upstream: Upstream) -> None:
    # The SDK also calls huggingface.co on its own (e.g. /api/agent-harnesses): not ours.
    if request.url.host == "localhost" and request.url.port == upstream.port:
        SENT.append(request.read())


@pytest.fixture
def client(proxy: Proxy, upstream: Upstream) -> Iterator[InferenceClient]:
    """The SDK's own hook for its HTTP client: every call goes through the proxy."""
    context = ssl.create_default_context(cafile=str(proxy.ca))
    SENT.clear()
    set_client_factory(
        lambda: httpx.Client(
            proxy=f"http://127.0.0.1:{proxy.port}",
            verify=context,
            timeout=60,
            event_hooks={"request": [lambda r: _record(r, upstream)]},
        )
    )
    upstream.clear()
    model = f"https://localhost:{upstream.port}/hf-inference/models/org/model"
    yield InferenceClient(model=model, token="hf_test")
    set_client_factory(default_client_factory)


def test_clean_prompt_arrives_byte_for_byte(client: InferenceClient, upstream: Upstream) -> None:
    image = client.text_to_image(LIGHTHOUSE, width=512, height=512)
    assert image.size == (1, 1)
    assert [r.body for r in upstream.received] == SENT
    assert json.loads(SENT[0]) == {
        "inputs": LIGHTHOUSE,
        "parameters": {"height": 512, "width": 512},
    }


def test_email_in_image_to_image_prompt_is_redacted(
    client: InferenceClient, upstream: Upstream
) -> None:
    client.image_to_image(PNG_1x1, prompt=f"Add a sign saying {EMAIL}")
    (received,) = upstream.received
    body = json.loads(received.body)
    assert body["parameters"]["prompt"] == "Add a sign saying an email address"
    assert base64.b64decode(body["inputs"]) == PNG_1x1


def test_card_number_is_blocked(client: InferenceClient, upstream: Upstream) -> None:
    with pytest.raises(HfHubHTTPError) as caught:
        client.text_to_image(f"A receipt showing card {CARD}")
    assert caught.value.response.status_code == 403
    assert caught.value.response.headers["x-pixelgate-decision"] == "block"
    assert "no-payment-data" in str(caught.value) and "4111" not in str(caught.value)
    assert upstream.received == []


def test_reroute_is_answered_with_an_image_the_sdk_decodes(
    client: InferenceClient, upstream: Upstream
) -> None:
    image = client.text_to_image("A poster, call +1 415 555 0100 now", width=256, height=128)
    assert image.size == (256, 128)
    assert upstream.received == []


def test_third_party_provider_route_is_refused(proxy: Proxy, upstream: Upstream) -> None:
    upstream.clear()
    with proxy.http_client() as http:
        response = http.post(
            f"https://localhost:{upstream.port}/fal-ai/fal-ai/flux/schnell", json={"prompt": "a"}
        )
    assert response.status_code == 403 and "error" in response.json()
    assert upstream.received == []
