"""fal.ai's documented HTTP API, spoken by httpx through the real proxy to a TLS upstream.

fal-client is not a dependency, so the client is httpx doing what fal's docs (and
fal-client's queue handle) do: POST the input, then follow status_url and response_url.
"""

from __future__ import annotations

import io
import json

import pytest
from helpers.e2e import (
    Proxy,
    Received,
    Upstream,
    four_actions_policy,
    proxy_fixture,
    upstream_fixture,
)
from PIL import Image

pytestmark = pytest.mark.e2e

EMAIL = "jane.doe@example.org"
CARD = "4111 1111 1111 1111"
PHONE = "+1 415 555 0100"
APP = "fal-ai/flux/dev"


def fal_answer(request: Received) -> tuple[int, dict[str, str], bytes]:
    payload = {
        "images": [{"url": "https://fal.media/x.png", "width": 1, "height": 1}],
        "seed": 1,
        "has_nsfw_concepts": [False],
    }
    return 200, {"content-type": "application/json"}, json.dumps(payload).encode()


upstream = upstream_fixture(fal_answer)


proxy = proxy_fixture("fal", four_actions_policy)


def test_clean_input_arrives_byte_for_byte(proxy: Proxy, upstream: Upstream) -> None:
    upstream.clear()
    content = json.dumps({"prompt": "A lighthouse at dawn", "image_size": "square_hd"}).encode()
    with proxy.http_client() as http:
        response = http.post(
            f"https://localhost:{upstream.port}/{APP}",
            content=content,
            headers={"content-type": "application/json", "authorization": "Key test"},
        )
    assert response.status_code == 200 and response.headers["x-pixelgate-decision"] == "allow"
    assert [r.body for r in upstream.received] == [content]


def test_email_is_redacted_before_upstream(proxy: Proxy, upstream: Upstream) -> None:
    upstream.clear()
    with proxy.http_client() as http:
        response = http.post(
            f"https://localhost:{upstream.port}/{APP}/image-to-image",
            json={"prompt": f"A poster for {EMAIL}", "strength": 0.9},
        )
    assert response.headers["x-pixelgate-decision"] == "redact"
    (received,) = upstream.received
    assert json.loads(received.body) == {"prompt": "A poster for an email address", "strength": 0.9}


def test_card_number_is_blocked_with_a_detail(proxy: Proxy, upstream: Upstream) -> None:
    upstream.clear()
    with proxy.http_client() as http:
        response = http.post(
            f"https://localhost:{upstream.port}/{APP}", json={"prompt": f"Receipt for {CARD}"}
        )
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert "no-payment-data" in detail and "4111" not in response.text
    assert upstream.received == []


def test_rerouted_queue_job_is_polled_like_fal_client(proxy: Proxy, upstream: Upstream) -> None:
    upstream.clear()
    with proxy.http_client() as http:
        # The client speaks to queue.fal.run: the Host header says so.
        submitted = http.post(
            f"https://localhost:{upstream.port}/{APP}",
            json={"prompt": f"A poster, call {PHONE}", "image_size": {"width": 128, "height": 64}},
            headers={"host": "queue.fal.run"},
        )
        assert submitted.headers["x-pixelgate-decision"] == "reroute"
        job = submitted.json()
        assert job["status_url"].endswith(f"/fal-ai/flux/requests/{job['request_id']}/status")
        status = http.get(job["status_url"], params={"logs": False}).json()
        assert status["status"] == "COMPLETED" and "logs" in status
        result = http.get(job["response_url"]).json()
        (item,) = result["images"]
        image = Image.open(io.BytesIO(http.get(item["url"]).content))
    assert image.size == (128, 64) == (item["width"], item["height"])
    assert upstream.received == []


def test_unsupported_path_is_refused(proxy: Proxy, upstream: Upstream) -> None:
    upstream.clear()
    with proxy.http_client() as http:
        response = http.post(f"https://localhost:{upstream.port}/flux", json={"prompt": "p"})
    assert response.status_code == 403 and response.json()["detail"]
    assert upstream.received == []
