"""The openai SDK through the real proxy beyond the Images API: the Responses API (inspected,
redacted, answered locally), an image given by link (fetched and inspected), and the
OpenAI-compatible services (Together, xAI) that are the same adapter by configuration."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai
import pytest
from helpers.e2e import (
    PNG_1x1,
    Proxy,
    Received,
    Upstream,
    openai_answer,
    providers_yaml,
    several_upstreams,
    start_proxy,
    stop_proxy,
)
from helpers.images import landscape, with_gps
from helpers.tiny_sd import tiny_pipeline_dir

pytestmark = pytest.mark.e2e

EMAIL = "ines.moreau@example.fr"
PHOTO = with_gps(landscape())
TOOL = [{"type": "image_generation", "size": "1024x1024"}]


def _response_answer(_: Received) -> tuple[int, dict[str, str], bytes]:
    doc = {"id": "resp_1", "object": "response", "created_at": 1, "status": "completed",
           "model": "gpt-5", "output": [], "parallel_tool_calls": True, "tool_choice": "auto",
           "tools": []}  # fmt: skip
    return 200, {"content-type": "application/json"}, json.dumps(doc).encode()


class _Photos(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "image/jpeg")
        self.send_header("content-length", str(len(PHOTO)))
        self.end_headers()
        self.wfile.write(PHOTO)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def photos() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Photos)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()


@pytest.fixture(scope="module")
def upstreams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Upstream]]:
    answers = {"openai": _response_answer, "together": openai_answer, "xai": openai_answer}
    with several_upstreams(tmp_path_factory, answers) as ups:
        yield ups


@pytest.fixture(scope="module")
def proxy(
    tmp_path_factory: pytest.TempPathFactory, upstreams: dict[str, Upstream]
) -> Iterator[Proxy]:
    policy = f"""version: 1
{providers_yaml(upstreams)}
audit: {{path: audit.jsonl}}
remote_images: {{action: fetch, allow_hosts: ["127.0.0.1"], timeout_s: 5}}
recognizers:
  - {{entity: PROJECT_CODENAME, deny_list: [Bluebird]}}
rules:
  - {{id: contact-details, entities: [EMAIL_ADDRESS], action: redact}}
  - {{id: photo-metadata, entities: [GPS_LOCATION], sources: [metadata], action: redact}}
  - {{id: keep-home, entities: [PROJECT_CODENAME], action: reroute}}
fallback: {{model: "{tiny_pipeline_dir()}", native_size: 64}}
"""
    handle = start_proxy(tmp_path_factory.mktemp("openai-family"), policy, upstreams["openai"])
    yield handle
    stop_proxy(handle)


def client(proxy: Proxy, upstream: Upstream) -> openai.OpenAI:
    upstream.clear()
    return proxy.openai_client(upstream)


def test_a_responses_prompt_is_redacted_on_its_way(
    proxy: Proxy, upstreams: dict[str, Upstream]
) -> None:
    up = upstreams["openai"]
    client(proxy, up).responses.create(
        model="gpt-5",
        input=f"a birthday card for {EMAIL}",
        tools=TOOL,  # type: ignore[arg-type]
    )
    sent = up.received[-1].body
    assert EMAIL.encode() not in sent and b"a birthday card for" in sent


def test_a_responses_image_by_link_is_fetched_inspected_and_sent_inline(
    proxy: Proxy, upstreams: dict[str, Upstream], photos: int
) -> None:
    up = upstreams["openai"]
    link = f"http://127.0.0.1:{photos}/holiday.jpg"
    content = [{"type": "input_text", "text": "make it autumn"},
               {"type": "input_image", "image_url": link}]  # fmt: skip
    raw = client(proxy, up).responses.with_raw_response.create(
        model="gpt-5",
        input=[{"role": "user", "content": content}],
        tools=TOOL,  # type: ignore[arg-type]
    )
    assert raw.headers["x-pixelgate-decision"] == "redact"
    sent = json.loads(up.received[-1].body)["input"][0]["content"][1]["image_url"]
    assert sent.startswith("data:image/jpeg;base64,")
    forwarded = base64.b64decode(sent.partition(",")[2])
    assert b"GPS" not in forwarded and forwarded != PHOTO


def test_a_rerouted_responses_call_is_answered_locally(
    proxy: Proxy, upstreams: dict[str, Upstream]
) -> None:
    up = upstreams["openai"]
    response = client(proxy, up).responses.create(
        model="gpt-5",
        input="the Bluebird launch poster",
        tools=TOOL,  # type: ignore[arg-type]
    )
    calls = [o for o in response.output if o.type == "image_generation_call"]
    assert calls and base64.b64decode(calls[0].result or "")[:8] == PNG_1x1[:8]
    assert up.received == []


def test_together_and_xai_speak_through_the_openai_adapter(
    proxy: Proxy, upstreams: dict[str, Upstream]
) -> None:
    internal = "http://10.0.0.7/photo.png"
    linked = {"together": {"image_url": internal}, "xai": {"image": {"url": internal}}}
    for name in ("together", "xai"):
        up = upstreams[name]
        with pytest.raises(openai.PermissionDeniedError):
            client(proxy, up).images.generate(model="m", prompt="x", extra_body=linked[name])
        assert up.received == []  # an internal address is never fetched, nothing forwarded
        client(proxy, up).images.generate(model="m", prompt=f"a letter to {EMAIL}")
        assert EMAIL.encode() not in up.received[-1].body
    events = [e for e in proxy.events() if e["provider"] in ("together", "xai")]
    assert {e["provider"] for e in events} == {"together", "xai"}
