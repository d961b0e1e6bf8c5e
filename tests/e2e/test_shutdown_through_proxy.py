"""SIGTERM through the real proxy: a request in flight still gets its answer, then exit 0."""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
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

POLICY = """mode: enforce
on_error: block
rules:
  - {id: contact-details, entities: [EMAIL_ADDRESS], action: redact}
"""
UPSTREAM_DELAY_S = 2.0


def slow_answer(request: Received) -> tuple[int, dict[str, str], bytes]:
    time.sleep(UPSTREAM_DELAY_S)
    return openai_answer(request)


@pytest.fixture
def slow_upstream(tmp_path: Path) -> Iterator[Upstream]:
    up, server = serve_upstream(tmp_path, slow_answer)
    yield up
    server.shutdown()


def _start(tmp_path: Path, upstream: Upstream, *extra: str) -> Proxy:
    return start_proxy(tmp_path / "proxy", policy_text(upstream, POLICY), upstream, *extra)


def _send_in_background(proxy: Proxy, upstream: Upstream) -> tuple[threading.Thread, list[object]]:
    """One image request from the official SDK in a thread: its result or exception."""
    outcome: list[object] = []

    def send() -> None:
        try:
            with proxy.openai_client(upstream) as client:
                outcome.append(client.images.with_raw_response.generate(prompt="a red fox"))
        except Exception as e:  # noqa: BLE001 - the test inspects it
            outcome.append(e)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not upstream.received and time.monotonic() < deadline:  # the upstream is sleeping
        time.sleep(0.02)
    assert upstream.received, "the request never reached the upstream"
    return thread, outcome


def _refuses(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_sigterm_lets_the_request_in_flight_finish_then_exits_0(
    tmp_path: Path, slow_upstream: Upstream
) -> None:
    proxy = _start(tmp_path, slow_upstream)
    try:
        thread, outcome = _send_in_background(proxy, slow_upstream)
        proxy.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert proxy.process.poll() is None  # still draining: the upstream has not answered
        assert _refuses(proxy.port)  # but no longer accepting new connections
        thread.join(30)
        assert isinstance(outcome[0], openai._legacy_response.LegacyAPIResponse)
        assert outcome[0].status_code == 200
        assert proxy.process.wait(30) == 0
        assert [e["action"] for e in proxy.events()] == ["allow"]
    finally:
        stop_proxy(proxy)


def test_drain_bound_of_zero_cuts_the_request_in_flight(
    tmp_path: Path, slow_upstream: Upstream
) -> None:
    # The control: the same request is cut when the proxy does not wait for it.
    proxy = _start(tmp_path, slow_upstream, "--set", "pixelgate_drain_timeout=0")
    try:
        thread, outcome = _send_in_background(proxy, slow_upstream)
        proxy.process.send_signal(signal.SIGTERM)
        assert proxy.process.wait(30) == 0
        thread.join(30)
        assert isinstance(outcome[0], openai.APIConnectionError | httpx.HTTPError)
    finally:
        stop_proxy(proxy)
