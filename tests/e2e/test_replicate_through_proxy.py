"""The real proxy between the official replicate SDK and a Replicate-like TLS upstream."""

from __future__ import annotations

import base64
import io
import json
import ssl
from pathlib import Path

import httpx
import pytest
from helpers.e2e import PNG_1x1, Proxy, Received, Upstream, proxy_fixture, upstream_fixture
from helpers.tiny_sd import tiny_pipeline_dir
from PIL import Image
from replicate.client import Client
from replicate.exceptions import ReplicateError
from replicate.helpers import FileOutput

pytestmark = pytest.mark.e2e

EMAIL = "jane.doe@example.org"
CARD = "4111 1111 1111 1111"
CLEAN = "A watercolor lighthouse on a cliff at dawn"
SECRET = "PRJ-4821"

POLICY = f"""mode: enforce
on_error: block
default_action: allow
recognizers:
  - {{entity: PROJECT_CODE, patterns: [{{regex: 'PRJ-\\d{{4}}', score: 0.9}}]}}
rules:
  - {{id: no-payment-data, entities: [CREDIT_CARD], action: block}}
  - {{id: contact-details, entities: [EMAIL_ADDRESS], action: redact}}
  - {{id: keep-home, entities: [PROJECT_CODE], action: reroute}}
fallback: {{model: "{tiny_pipeline_dir()}", native_size: 64, on_unavailable: block}}
"""


def replicate_answer(request: Received) -> tuple[int, dict[str, str], bytes]:
    """Like Replicate: a finished prediction whose output is a PNG on the same host."""
    if request.method == "GET" and request.path.endswith(".png"):
        return 200, {"content-type": "image/png"}, PNG_1x1
    origin = f"https://{request.headers['host']}"
    prediction = {
        "id": "up123",
        "model": "acme/painter",
        "version": "hidden",
        "status": "succeeded",
        "output": [f"{origin}/out.png"],
        "urls": {"get": f"{origin}/v1/predictions/up123"},
    }
    return 201, {"content-type": "application/json"}, json.dumps(prediction).encode()


upstream = upstream_fixture(replicate_answer)

proxy = proxy_fixture("replicate", POLICY)


@pytest.fixture
def sent() -> list[bytes]:
    return []


@pytest.fixture
def client(proxy: Proxy, upstream: Upstream, sent: list[bytes]) -> Client:
    """The official SDK through the proxy, trusting its CA; what it sends is recorded."""
    upstream.clear()
    transport = httpx.HTTPTransport(
        proxy=f"http://127.0.0.1:{proxy.port}",
        verify=ssl.create_default_context(cafile=str(proxy.ca)),
    )
    return Client(
        api_token="r8_test",
        base_url=f"https://localhost:{upstream.port}",
        transport=transport,
        event_hooks={"request": [lambda r: sent.append(r.read())]},
    )


def test_clean_prompt_arrives_byte_for_byte(
    client: Client, upstream: Upstream, sent: list[bytes]
) -> None:
    output = client.run("acme/painter", input={"prompt": CLEAN, "num_outputs": 1})
    assert isinstance(output, list) and output[0].read() == PNG_1x1
    posts = [r.body for r in upstream.received if r.method == "POST"]
    assert posts == [sent[0]] and json.loads(posts[0])["input"]["prompt"] == CLEAN


def test_email_in_prompt_is_redacted_before_upstream(client: Client, upstream: Upstream) -> None:
    image = "data:image/png;base64," + base64.b64encode(PNG_1x1).decode()
    client.predictions.create(
        version="abc123",
        input={"prompt": f"A birthday card for {EMAIL}", "image": image, "width": 512},
    )
    (received,) = upstream.received
    body = json.loads(received.body)
    assert EMAIL not in received.body.decode()
    assert body["input"]["image"] == image and body["input"]["width"] == 512
    assert body["version"] == "abc123"


def test_card_number_is_blocked_as_a_replicate_error(client: Client, upstream: Upstream) -> None:
    with pytest.raises(ReplicateError) as caught:
        client.run("acme/painter", input={"prompt": f"A receipt for card {CARD}"})
    assert caught.value.status == 403
    assert caught.value.detail and "no-payment-data" in caught.value.detail
    assert "4111" not in str(caught.value)
    assert upstream.received == []


def test_rerouted_run_returns_local_images_through_the_proxy(
    client: Client, upstream: Upstream
) -> None:
    output = client.run(
        "black-forest-labs/flux-schnell",
        input={"prompt": f"Logo for project {SECRET}", "num_outputs": 2, "aspect_ratio": "1:1"},
    )
    assert isinstance(output, list) and len(output) == 2
    assert all(isinstance(o, FileOutput) for o in output)
    images = [Image.open(io.BytesIO(o.read())) for o in output]
    assert [(i.format, i.size) for i in images] == [("PNG", (1024, 1024))] * 2
    assert upstream.received == []


def test_rerouted_prediction_is_polled_from_the_proxy(client: Client, upstream: Upstream) -> None:
    prediction = client.predictions.create(
        version="abc123", input={"prompt": f"Poster for {SECRET}", "width": 512, "height": 384}
    )
    assert prediction.status == "succeeded" and prediction.id.startswith("pg")
    prediction.reload()  # GET /v1/predictions/<id>: answered by the proxy, not upstream
    assert prediction.status == "succeeded"
    (link,) = prediction.output or []
    png = FileOutput(link, client).read()
    assert Image.open(io.BytesIO(png)).size == (512, 384)
    assert upstream.received == []


def test_no_planted_value_in_any_file(proxy: Proxy) -> None:
    # Runs last in this module: everything above has gone through this proxy.
    actions = [str(e["action"]) for e in proxy.events() if e["operation"] != "none"]
    assert sorted(actions) == ["allow", "block", "redact", "reroute", "reroute"]
    for path in proxy.written_files():
        data = path.read_bytes()
        for value in (EMAIL, CARD, SECRET, "lighthouse"):
            assert value.encode() not in data, f"{value!r} found in {Path(path).name}"
