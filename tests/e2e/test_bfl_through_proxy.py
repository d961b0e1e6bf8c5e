"""The real proxy between httpx speaking BFL's documented wire format and a BFL-like upstream.

BFL publishes no Python SDK; its API reference shows plain HTTP: POST /v1/<model>, then GET
the `polling_url` until `status` is "Ready", then GET `result.sample`.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator

import httpx
import pytest
from helpers.e2e import PNG_1x1, Proxy, Received, Upstream, proxy_fixture, upstream_fixture
from helpers.tiny_sd import tiny_pipeline_dir
from PIL import Image

pytestmark = pytest.mark.e2e

EMAIL = "jane.doe@example.org"
CARD = "4111 1111 1111 1111"
CLEAN = "A watercolor lighthouse on a cliff at dawn"
SECRET = "PRJ-4821"
IMAGE64 = base64.b64encode(PNG_1x1).decode()

POLICY = """mode: enforce
on_error: block
default_action: allow
recognizers:
  - {entity: PROJECT_CODE, patterns: [{regex: 'PRJ-\\d{4}', score: 0.9}]}
rules:
  - {id: no-payment-data, entities: [CREDIT_CARD], action: block}
  - {id: contact-details, entities: [EMAIL_ADDRESS], action: redact}
  - {id: keep-home, entities: [PROJECT_CODE], action: reroute}
"""


def bfl_answer(request: Received) -> tuple[int, dict[str, str], bytes]:
    """Like BFL: a task id and a polling URL, then a Ready result, then the sample."""
    origin = f"https://{request.headers['host']}"
    if request.path.startswith("/v1/get_result"):
        doc: dict[str, object] = {
            "id": "task-1",
            "status": "Ready",
            "result": {"sample": f"{origin}/sample.png"},
        }
    elif request.path == "/sample.png":
        return 200, {"content-type": "image/png"}, PNG_1x1
    else:
        doc = {"id": "task-1", "polling_url": f"{origin}/v1/get_result?id=task-1"}
    return 200, {"content-type": "application/json"}, json.dumps(doc).encode()


upstream = upstream_fixture(bfl_answer)

proxy = proxy_fixture(
    "bfl", lambda: POLICY + f'fallback: {{model: "{tiny_pipeline_dir()}", native_size: 64}}\n'
)


@pytest.fixture
def http(proxy: Proxy, upstream: Upstream) -> Iterator[httpx.Client]:
    upstream.clear()
    with proxy.http_client() as client:
        client.base_url = f"https://localhost:{upstream.port}"
        client.headers["x-key"] = "bfl-test-key"
        yield client


def wait_for_sample(http: httpx.Client, task: dict[str, str]) -> bytes:
    result = http.get(task["polling_url"]).json()
    assert result["status"] == "Ready" and result["id"] == task["id"]
    return http.get(result["result"]["sample"]).content


def test_clean_request_arrives_byte_for_byte(http: httpx.Client, upstream: Upstream) -> None:
    body = json.dumps({"prompt": CLEAN, "width": 1024, "height": 768}).encode()
    response = http.post(
        "/v1/flux-pro-1.1", content=body, headers={"content-type": "application/json"}
    )
    assert response.headers["x-pixelgate-decision"] == "allow"
    assert wait_for_sample(http, response.json()) == PNG_1x1
    assert upstream.received[0].body == body


def test_email_in_prompt_is_redacted_and_image_kept(http: httpx.Client, upstream: Upstream) -> None:
    response = http.post(
        "/v1/flux-kontext-pro",
        json={"prompt": f"Add the address {EMAIL}", "input_image": IMAGE64, "aspect_ratio": "1:1"},
    )
    assert response.headers["x-pixelgate-decision"] == "redact"
    (received,) = upstream.received
    doc = json.loads(received.body)
    assert EMAIL not in doc["prompt"] and doc["input_image"] == IMAGE64
    assert doc["aspect_ratio"] == "1:1"


def test_card_number_is_blocked_in_bfl_error_format(http: httpx.Client, upstream: Upstream) -> None:
    response = http.post("/v1/flux-pro-1.1", json={"prompt": f"A receipt for card {CARD}"})
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert "no-payment-data" in detail and "4111" not in detail
    assert upstream.received == []


def test_rerouted_task_is_polled_and_served_by_the_proxy(
    http: httpx.Client, upstream: Upstream
) -> None:
    response = http.post(
        "/v1/flux-dev", json={"prompt": f"Logo for {SECRET}", "width": 768, "height": 512}
    )
    assert response.headers["x-pixelgate-decision"] == "reroute"
    image = Image.open(io.BytesIO(wait_for_sample(http, response.json())))
    assert (image.format, image.size) == ("PNG", (768, 512))
    assert upstream.received == []


def test_no_planted_value_in_any_file(proxy: Proxy) -> None:
    # Runs last in this module: everything above has gone through this proxy.
    actions = [str(e["action"]) for e in proxy.events() if e["operation"] != "none"]
    assert sorted(actions) == ["allow", "block", "redact", "reroute"]
    for path in proxy.written_files():
        data = path.read_bytes()
        for value in (EMAIL, CARD, SECRET, "lighthouse"):
            assert value.encode() not in data, f"{value!r} found in {path.name}"
