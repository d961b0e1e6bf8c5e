"""Hard days through the real proxy: an upstream that resets or stalls, a client that hangs up
mid-upload, an audit sink that fills up. Each gets a clear answer, nothing goes through
uninspected or unrecorded, and the proxy keeps serving (or, without an audit, stops)."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator

import openai
import pytest
from helpers.e2e import (
    Proxy,
    Received,
    Upstream,
    openai_answer,
    policy_text,
    serve_upstream,
    start_proxy,
    stop_proxy,
)

pytestmark = pytest.mark.e2e

RULES = "rules:\n  - {id: contact, entities: [EMAIL_ADDRESS], action: redact}\n"


def faulty_answer(request: Received) -> tuple[int, dict[str, str], bytes]:
    prompt = request.body.decode("utf-8", "replace")
    if "reset-me" in prompt:
        raise ConnectionResetError  # the handler dies: the connection closes without an answer
    if "slow-please" in prompt:
        time.sleep(3)
    return openai_answer(request)


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    up, server = serve_upstream(tmp_path_factory.mktemp("faulty"), faulty_answer)
    yield up
    server.shutdown()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, upstream: Upstream) -> Iterator[Proxy]:
    handle = start_proxy(tmp_path_factory.mktemp("faults"), policy_text(upstream, RULES), upstream)
    yield handle
    stop_proxy(handle)


def test_an_upstream_reset_becomes_a_502_and_the_proxy_carries_on(
    proxy: Proxy, client: openai.OpenAI
) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        client.images.generate(prompt="reset-me please")
    assert caught.value.status_code == 502
    assert client.images.generate(prompt="a quiet harbour").data
    prompts = [e for e in proxy.events() if e["operation"] == "images.generate"]
    assert len(prompts) >= 2  # both inspected and audited before going upstream


def test_a_slow_upstream_does_not_hold_up_other_requests(proxy: Proxy, upstream: Upstream) -> None:
    done: dict[str, float] = {}

    def call(prompt: str) -> None:
        with proxy.openai_client(upstream) as c:
            c.images.generate(prompt=prompt)
        done[prompt] = time.monotonic()

    slow = threading.Thread(target=call, args=("slow-please",))
    slow.start()
    time.sleep(0.3)
    call("a fast one")
    slow.join(30)
    assert done["a fast one"] < done["slow-please"]


def _tls_through_proxy(proxy: Proxy, port: int) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
    raw.sendall(f"CONNECT localhost:{port} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n".encode())
    assert raw.recv(4096).startswith(b"HTTP/1.1 200")
    context = ssl.create_default_context(cafile=str(proxy.ca))
    return context.wrap_socket(raw, server_hostname="localhost")


def test_a_client_hanging_up_mid_upload_sends_nothing_upstream(
    proxy: Proxy, upstream: Upstream, client: openai.OpenAI
) -> None:
    upstream.clear()
    tls = _tls_through_proxy(proxy, upstream.port)
    head = (
        "POST /v1/images/generations HTTP/1.1\r\nHost: localhost\r\n"
        "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    )
    tls.sendall(head.encode() + b'{"prompt": "a letter to jane.doe@example.com and')
    tls.close()
    time.sleep(1)
    assert upstream.received == []
    assert client.images.generate(prompt="still serving").data


def test_a_full_audit_sink_stops_the_proxy_instead_of_passing_traffic_unrecorded(
    tmp_path_factory: pytest.TempPathFactory, upstream: Upstream
) -> None:
    policy = policy_text(upstream, RULES).replace("audit.jsonl", "/dev/full")
    handle = start_proxy(tmp_path_factory.mktemp("full"), policy, upstream)
    upstream.clear()
    try:
        with handle.openai_client(upstream) as c, pytest.raises(openai.APIStatusError) as caught:
            c.images.generate(prompt="a lighthouse")
        assert caught.value.status_code == 503
        assert caught.value.code == "pixelgate_audit_unavailable"  # type: ignore[attr-defined]
        assert handle.process.wait(20) is not None
        assert upstream.received == []
    finally:
        stop_proxy(handle)
