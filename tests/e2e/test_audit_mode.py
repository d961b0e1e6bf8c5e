"""`mode: audit` through the real proxy: forwards byte-for-byte, adds nothing, records."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from helpers.e2e import Proxy, Upstream, policy_text, start_proxy, stop_proxy

pytestmark = pytest.mark.e2e

CARD = "4111 1111 1111 1111"
EMAIL = "sam.reyes@example.net"
AUDIT = """mode: audit
on_error: block
rules:
  - {id: no-payment-data, entities: [CREDIT_CARD], action: block}
  - {id: contact-details, entities: [EMAIL_ADDRESS], action: redact}
"""


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, upstream: Upstream) -> Iterator[Proxy]:
    handle = start_proxy(tmp_path_factory.mktemp("audit"), policy_text(upstream, AUDIT), upstream)
    yield handle
    stop_proxy(handle)


def send(proxy: Proxy, upstream: Upstream, prompt: str) -> tuple[bytes, dict[str, str]]:
    sent: list[bytes] = []
    http = proxy.http_client()
    http.event_hooks["request"] = [lambda r: sent.append(r.read())]
    with openai.OpenAI(
        api_key="sk-test", base_url=f"https://localhost:{upstream.port}/v1",
        http_client=http, max_retries=0,
    ) as client:  # fmt: skip
        raw = client.images.with_raw_response.generate(prompt=prompt)
    return sent[0], dict(raw.headers)


@pytest.mark.parametrize("prompt", [f"receipt with {CARD}", f"card for {EMAIL}", "a red fox"])
def test_audit_mode_forwards_byte_for_byte_and_adds_no_header(
    proxy: Proxy, upstream: Upstream, prompt: str
) -> None:
    upstream.clear()
    sent, headers = send(proxy, upstream, prompt)
    assert [r.body for r in upstream.received] == [sent]
    assert not any(k.lower().startswith("x-pixelgate") for k in headers)


def test_audit_events_record_what_enforce_would_have_done(proxy: Proxy) -> None:
    events = proxy.events()
    assert [(e["action"], e["rule"], e["enforced"]) for e in events] == [
        ("block", "no-payment-data", False),
        ("redact", "contact-details", False),
        ("allow", "default", False),
    ]
    assert all(e["mode"] == "audit" for e in events)


def test_audit_mode_writes_no_content(proxy: Proxy) -> None:
    for path in proxy.written_files():
        data = path.read_bytes()
        for value in (CARD, EMAIL, "a red fox", "receipt with"):
            assert value.encode() not in data, f"{value!r} found in {path.name}"
