"""The URL and the headers the client wrote are inspected with the body (proxy.engine.envelope)."""

from __future__ import annotations

import json
from types import MappingProxyType

import pytest

from proxy.detectors import build_detectors
from proxy.engine.audit import AuditWriter
from proxy.engine.envelope import envelope
from proxy.engine.gate import Gate
from proxy.model import Action
from proxy.policy import load_policy_text
from proxy.providers import ADAPTERS
from proxy.providers.base import WireRequest

OPENAI = ADAPTERS[0]
EMAIL = "jane.doe@example.org"
CARD = "4539148803436467"
POLICY = """version: 1
mode: enforce
on_error: block
audit: {path: null}
rules:
  - {id: no-payment-data, entities: [CREDIT_CARD], action: block}
  - {id: contact-details, entities: [EMAIL_ADDRESS], action: redact}
"""
# What the official openai SDK sends besides the body (recorded from openai 2.54.0).
SDK_HEADERS = {
    "content-type": "application/json",
    "accept": "application/json",
    "accept-encoding": "gzip, deflate",
    "user-agent": "OpenAI/Python 2.54.0",
    "x-stainless-lang": "python",
    "x-stainless-package-version": "2.54.0",
    "x-stainless-os": "Linux",
    "x-stainless-arch": "x64",
    "x-stainless-runtime": "CPython",
    "x-stainless-runtime-version": "3.11.7",
    "x-stainless-async": "false",
    "x-stainless-retry-count": "0",
    "x-stainless-read-timeout": "600",
    "authorization": f"Bearer sk-proj-{CARD}-{EMAIL}",
}


@pytest.fixture(scope="module")
def gate() -> Gate:
    policy = load_policy_text(POLICY, "t.yaml")
    return Gate(policy, ADAPTERS, build_detectors(policy), AuditWriter(None))


def request(
    path: str = "/v1/images/generations",
    extra: dict[str, str] | None = None,
    method: str = "POST",
    prompt: str | None = "a lighthouse at dawn",
) -> WireRequest:
    body = json.dumps({"prompt": prompt}).encode() if prompt is not None else b""
    headers = MappingProxyType({**SDK_HEADERS, **(extra or {})})
    return WireRequest(method, "api.openai.com", 443, path, headers, body)


def test_what_the_sdk_sends_around_a_clean_prompt_is_allowed(gate: Gate) -> None:
    assert gate.handle(OPENAI, request()).action is Action.ALLOW


def test_credentials_are_not_read(gate: Gate) -> None:
    text = " ".join(part.text for part in envelope(request()))
    assert "sk-proj" not in text and "authorization" not in text


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/images/generations?user={EMAIL}",
        "/v1/images/generations?user=jane.doe%40example.org",
        f"/v1/images/generations?note=card+{CARD}",
    ],
)
def test_personal_data_in_the_query_is_refused(gate: Gate, path: str) -> None:
    verdict = gate.handle(OPENAI, request(path))
    assert verdict.action is Action.BLOCK and verdict.response is not None
    assert EMAIL not in verdict.response.body.decode() and CARD not in str(verdict.event)


@pytest.mark.parametrize(
    "extra",
    [
        {"x-end-user": EMAIL},
        {"openai-organization": f"org {CARD}"},
        {f"x-note-{CARD}": "1"},
    ],
)
def test_personal_data_in_a_header_the_client_added_is_refused(
    gate: Gate, extra: dict[str, str]
) -> None:
    verdict = gate.handle(OPENAI, request(extra=extra))
    assert verdict.action is Action.BLOCK
    assert any("URL or headers" in r or "payment" in r for r in verdict.event.reasons)


def test_a_request_without_a_body_is_read_by_its_url(gate: Gate) -> None:
    clean = gate.handle(OPENAI, request("/v1/models", method="GET", prompt=None))
    assert clean.action is Action.ALLOW
    leaked = gate.handle(OPENAI, request(f"/v1/files?purpose={EMAIL}", method="GET", prompt=None))
    assert leaked.action is Action.BLOCK


def test_a_redaction_in_the_body_still_forwards_headers_untouched(gate: Gate) -> None:
    verdict = gate.handle(OPENAI, request(prompt=f"a card for {EMAIL}"))
    assert verdict.action is Action.REDACT and verdict.body is not None
    assert EMAIL.encode() not in verdict.body
