"""The gate without mitmproxy: verdicts and audit events for wire requests."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import MappingProxyType

import pytest

from proxy.detectors import build_detectors
from proxy.engine.audit import AuditWriter
from proxy.engine.gate import Gate
from proxy.errors import FallbackBusy
from proxy.model import Action
from proxy.policy import load_policy_text
from proxy.providers import ADAPTERS
from proxy.providers.base import WireRequest

OPENAI = ADAPTERS[0]
POLICY = """version: 1
mode: {mode}
on_error: {on_error}
audit: {{path: {path}}}
rules:
  - {{id: no-payment-data, entities: [CREDIT_CARD], action: block}}
  - {{id: contact-details, entities: [EMAIL_ADDRESS], action: redact}}
  - {{id: faces-home, entities: [PERSON], min_score: 0.8, action: reroute}}
"""


def make_gate(tmp_path: Path, mode: str = "enforce", on_error: str = "block") -> Gate:
    audit = tmp_path / "audit.jsonl"
    policy = load_policy_text(POLICY.format(mode=mode, on_error=on_error, path=audit), "t.yaml")
    return Gate(policy, ADAPTERS, build_detectors(policy), AuditWriter(policy.audit.path))


def raw_generation(body: bytes) -> WireRequest:
    headers = MappingProxyType({"content-type": "application/json"})
    return WireRequest("POST", "api.openai.com", 443, "/v1/images/generations", headers, body)


def generation(prompt: str) -> WireRequest:
    return raw_generation(json.dumps({"prompt": prompt, "size": "1024x1024"}).encode())


def events(tmp_path: Path) -> list[dict[str, object]]:
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_fingerprint_uses_the_operators_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIXELGATE_FINGERPRINT_KEY", "s3cret")
    gate = make_gate(tmp_path)
    gate.handle(OPENAI, generation("a red fox"))
    gate.handle(OPENAI, generation("a red fox"))
    gate.handle(OPENAI, generation("a blue fox"))
    prints = [e["fingerprint"] for e in events(tmp_path)]
    assert prints[0] == prints[1] != prints[2]


def test_no_key_means_no_fingerprint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIXELGATE_FINGERPRINT_KEY", raising=False)
    make_gate(tmp_path).handle(OPENAI, generation("a red fox"))
    assert "fingerprint" not in events(tmp_path)[0]


def test_redact_verdict_carries_the_rewritten_body(tmp_path: Path) -> None:
    verdict = make_gate(tmp_path).handle(OPENAI, generation("card for kim@example.com"))
    assert verdict.action is Action.REDACT and verdict.response is None
    assert json.loads(verdict.body or b"") == {
        "prompt": "card for <EMAIL_ADDRESS>",
        "size": "1024x1024",
    }


def test_reroute_without_a_fallback_blocks_and_says_why(tmp_path: Path) -> None:
    verdict = make_gate(tmp_path).handle(OPENAI, generation("Portrait of Margaret Thompson"))
    assert verdict.action is Action.BLOCK and verdict.response is not None
    message = json.loads(verdict.response.body)["error"]["message"]
    assert "faces-home" in message and "fallback" in message
    assert "Margaret" not in message


def test_audit_mode_never_answers_or_rewrites(tmp_path: Path) -> None:
    gate = make_gate(tmp_path, mode="audit")
    for prompt in ("card 4111 1111 1111 1111", "for kim@example.com", "a fox"):
        verdict = gate.handle(OPENAI, generation(prompt))
        assert verdict.response is None and verdict.body is None
    assert [e["action"] for e in events(tmp_path)] == ["block", "redact", "allow"]


def test_on_error_allow_forwards_unreadable_requests_and_audits_them(tmp_path: Path) -> None:
    gate = make_gate(tmp_path, on_error="allow")
    verdict = gate.handle(OPENAI, raw_generation(b"{"))
    assert verdict.action is Action.ALLOW and verdict.response is None
    (event,) = events(tmp_path)
    assert event["error"] == "pixelgate_malformed_request" and event["rule"] == "on_error"


def test_error_messages_never_quote_the_body(tmp_path: Path) -> None:
    secret = "jane.doe@example.org"
    bodies = [b'{"prompt": "' + secret.encode() + b'"', b'["' + secret.encode() + b'"]']
    gate = make_gate(tmp_path)
    for body in bodies:
        verdict = gate.handle(OPENAI, raw_generation(body))
        assert verdict.response is not None and secret.encode() not in verdict.response.body
    assert secret not in (tmp_path / "audit.jsonl").read_text()


class _Broken:
    """Stands in for a local model (same interface as Generator) that fails or is busy."""

    model, device, dtype = "stand-in", "cpu", "float32"

    def __init__(self, error: Exception) -> None:
        self.error = error

    def generate(self, request: object) -> list[bytes]:
        raise self.error


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (FallbackBusy(7), 503, "pixelgate_fallback_busy"),
        (RuntimeError("CUDA out of memory"), 502, "pixelgate_fallback_failed"),
    ],
)
def test_a_reroute_the_model_cannot_answer_is_never_forwarded(
    tmp_path: Path, error: Exception, status: int, code: str
) -> None:
    audit = tmp_path / "audit.jsonl"
    policy = load_policy_text(
        f"version: 1\non_error: allow\naudit: {{path: {audit}}}\n"
        "rules:\n  - {id: home, entities: [EMAIL_ADDRESS], action: reroute}\n",
        "t.yaml",
    )
    gate = Gate(policy, ADAPTERS, build_detectors(policy), AuditWriter(str(audit)), _Broken(error))  # type: ignore[arg-type]
    verdict = gate.handle(OPENAI, generation("a card for kim@example.com"))
    assert verdict is not None and verdict.response is not None and verdict.body is None
    assert verdict.response.status == status
    assert json.loads(verdict.response.body)["error"]["code"] == code
    assert "out of memory" not in verdict.response.body.decode()
    if status == 503:
        assert ("retry-after", "7") in verdict.response.headers
    (event,) = events(tmp_path)
    assert event["action"] == "block" and event["error"] == code


# Images given by link: remote_images decides, the audit says what happened.
LINKED = """version: 1
audit: {{path: {path}}}
remote_images: {remote}
rules:
  - {{id: photo-metadata, entities: [GPS_LOCATION], sources: [metadata], action: redact}}
"""


def linked_gate(tmp_path: Path, remote: str) -> Gate:
    audit = tmp_path / "audit.jsonl"
    policy = load_policy_text(LINKED.format(path=audit, remote=remote), "t.yaml")
    return Gate(policy, ADAPTERS, build_detectors(policy), AuditWriter(policy.audit.path))


def linked_edit(url: str) -> WireRequest:
    body = {"prompt": "make it autumn", "images": [{"image_url": url}]}
    headers = MappingProxyType({"content-type": "application/json"})
    return WireRequest(
        "POST", "api.openai.com", 443, "/v1/images/edits", headers, json.dumps(body).encode()
    )


def test_an_image_by_link_is_refused_by_default(tmp_path: Path) -> None:
    gate = linked_gate(tmp_path, "block")
    verdict = gate.handle(OPENAI, linked_edit("https://example.com/photo.jpg"))
    assert verdict is not None and verdict.action is Action.BLOCK
    assert verdict.response is not None and verdict.response.status == 403
    assert b"remote_images" in verdict.response.body
    assert events(tmp_path)[0]["rule"] == "remote_images"


def test_an_allowed_image_by_link_passes_uninspected_and_the_audit_says_so(
    tmp_path: Path,
) -> None:
    gate = linked_gate(tmp_path, "allow")
    verdict = gate.handle(OPENAI, linked_edit("https://example.com/photo.jpg"))
    assert verdict is not None and verdict.action is Action.ALLOW and verdict.body is None
    assert any("uninspected" in r for r in events(tmp_path)[0]["reasons"])  # type: ignore[union-attr]


def test_a_fetched_image_is_inspected_and_its_redaction_goes_inline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from helpers.images import landscape, with_gps

    import proxy.engine.outcome

    photo = with_gps(landscape())
    fetched: list[str] = []

    def fake_network(url: str, settings: object) -> bytes:  # the fetcher has its own tests
        fetched.append(url)
        return photo

    monkeypatch.setattr(proxy.engine.outcome, "fetch_image", fake_network)
    gate = linked_gate(tmp_path, "fetch")
    verdict = gate.handle(OPENAI, linked_edit("https://example.com/photo.jpg"))
    assert fetched == ["https://example.com/photo.jpg"]
    assert verdict is not None and verdict.action is Action.REDACT and verdict.body is not None
    sent = json.loads(verdict.body)["images"][0]["image_url"]
    assert sent.startswith("data:image/jpeg;base64,")
    assert events(tmp_path)[0]["findings"]


def test_a_link_that_cannot_be_fetched_follows_on_error(tmp_path: Path) -> None:
    gate = linked_gate(tmp_path, "fetch")
    verdict = gate.handle(OPENAI, linked_edit("http://127.0.0.1:9/photo.jpg"))
    assert verdict is not None and verdict.action is Action.BLOCK
    assert verdict.response is not None and b"non-public" in verdict.response.body
    assert events(tmp_path)[0]["error"] == "pixelgate_remote_image"


def test_a_websocket_upgrade_on_a_provider_host_is_not_waved_through(tmp_path: Path) -> None:
    gate = make_gate(tmp_path)
    headers = MappingProxyType({"upgrade": "websocket", "connection": "Upgrade"})
    wire = WireRequest("GET", "api.openai.com", 443, "/v1/realtime", headers)
    verdict = gate.handle(OPENAI, wire)
    assert verdict is not None and verdict.action is Action.BLOCK
    assert events(tmp_path)[0]["error"] == "pixelgate_unsupported_endpoint"
    plain = gate.handle(OPENAI, WireRequest("GET", "api.openai.com", 443, "/v1/models"))
    assert plain is not None and plain.action is Action.ALLOW


class SlowDetector:
    """Takes its time; the pipeline must not start another detector past the deadline."""

    cheap = False

    def __init__(self, name: str, seconds: float) -> None:
        self.name, self.seconds, self.calls = name, seconds, 0

    def detect(self, request: object) -> list[object]:
        self.calls += 1
        time.sleep(self.seconds)
        return []


def test_inspection_stops_at_the_policys_deadline(tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    text = POLICY.format(mode="enforce", on_error="block", path=audit)
    policy = load_policy_text(text + "limits: {inspection_timeout_s: 0.1}\n", "t.yaml")
    first, second = SlowDetector("first", 0.2), SlowDetector("second", 0.0)
    gate = Gate(policy, ADAPTERS, [first, second], AuditWriter(policy.audit.path))  # type: ignore[list-item]
    verdict = gate.handle(OPENAI, generation("a red fox"))
    assert verdict is not None and verdict.action is Action.BLOCK
    assert verdict.response is not None and verdict.response.status == 504
    assert (first.calls, second.calls) == (1, 0)
    assert [e["error"] for e in events(tmp_path)] == ["pixelgate_inspection_timeout"]
