"""Reverse-proxy mode through the real proxy: an app points its base_url at PixelGate.

`--set mode=reverse:https://<provider>` makes every request to the proxy's own address a
request to that provider: PixelGate routes it by the reverse target, so the policy applies
exactly as in the default (explicit proxy) mode.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import openai
import pytest
from helpers.e2e import Proxy, Upstream, policy_text, start_proxy, stop_proxy

pytestmark = pytest.mark.e2e

CARD = "4111 1111 1111 1111"
EMAIL = "sam.reyes@example.net"
POLICY = """mode: enforce
on_error: block
rules:
  - {id: no-payment-data, entities: [CREDIT_CARD], action: block}
  - {id: contact-details, entities: [EMAIL_ADDRESS], action: redact}
redaction: {EMAIL_ADDRESS: "an email address"}
"""


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, upstream: Upstream) -> Iterator[Proxy]:
    reverse = f"mode=reverse:https://localhost:{upstream.port}"
    text = policy_text(upstream, POLICY)
    handle = start_proxy(tmp_path_factory.mktemp("reverse"), text, upstream, "--set", reverse)
    yield handle
    stop_proxy(handle)


@pytest.fixture
def client(proxy: Proxy, upstream: Upstream) -> Iterator[openai.OpenAI]:
    """The official SDK with its base_url at the proxy itself (no HTTP proxy configured),
    trusting the proxy's CA."""
    upstream.clear()
    http = httpx.Client(verify=ssl.create_default_context(cafile=str(proxy.ca)), timeout=60)
    with openai.OpenAI(
        api_key="sk-test-not-a-real-key", base_url=f"https://localhost:{proxy.port}/v1",
        http_client=http, max_retries=0,
    ) as c:  # fmt: skip
        yield c


def test_reverse_mode_forwards_a_clean_request_to_the_target(
    client: openai.OpenAI, upstream: Upstream
) -> None:
    raw = client.images.with_raw_response.generate(prompt="a red fox in the snow")
    assert raw.status_code == 200
    assert raw.headers["x-pixelgate-decision"] == "allow"
    assert [r.path for r in upstream.received] == ["/v1/images/generations"]


def test_reverse_mode_redacts_before_the_target(client: openai.OpenAI, upstream: Upstream) -> None:
    raw = client.images.with_raw_response.generate(prompt=f"a postcard for {EMAIL}")
    assert raw.headers["x-pixelgate-decision"] == "redact"
    (received,) = upstream.received
    assert EMAIL.encode() not in received.body
    assert b"an email address" in received.body


def test_reverse_mode_blocks_and_the_target_sees_nothing(
    client: openai.OpenAI, upstream: Upstream
) -> None:
    with pytest.raises(openai.APIStatusError) as blocked:
        client.images.generate(prompt=f"a receipt showing {CARD}")
    assert blocked.value.response.headers["x-pixelgate-decision"] == "block"
    assert upstream.received == []


def test_reverse_mode_audits_each_request_under_its_provider(proxy: Proxy) -> None:
    events = [(e["provider"], e["action"]) for e in proxy.events()]
    assert events == [("openai", "allow"), ("openai", "redact"), ("openai", "block")]
