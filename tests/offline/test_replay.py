"""`pixelgate audit-flows`: captured traffic replayed offline through the real gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.images import with_gps
from mitmproxy import http
from mitmproxy.addons.savehar import SaveHar
from mitmproxy.io import FlowWriter
from mitmproxy.test import tflow, tutils
from PIL import Image

from proxy.cli.main import main
from proxy.engine.audit import AuditEvent
from proxy.engine.gate import Gate
from proxy.errors import CaptureError
from proxy.offline.replay import replay_file, replay_gate
from proxy.policy import load_policy_text

DATA = Path(__file__).parents[1] / "data"
CARD, EMAIL = "4111 1111 1111 1111", "sam.reyes@example.net"
POLICY = """version: 1
mode: enforce
providers: {openai: {hosts: ["gateway.internal:8443"]}}
rules:
  - {id: no-payment-data, entities: [CREDIT_CARD], action: block}
  - {id: contact-details, entities: [EMAIL_ADDRESS], action: redact}
  - {id: no-location, entities: [GPS_LOCATION], action: block}
"""
BOUNDARY = "pixelgate-replay-boundary"


def generation(prompt: str, host: str = "api.openai.com", port: int = 443) -> http.HTTPFlow:
    body = json.dumps({"prompt": prompt, "model": "gpt-image-1"}).encode()
    headers = http.Headers(host=host, content_type="application/json")
    request = tutils.treq(
        host=host, port=port, method=b"POST", path=b"/v1/images/generations",
        authority=b"", headers=headers, content=body,
    )  # fmt: skip
    return tflow.tflow(req=request)


def edit_with_image(prompt: str, image: bytes) -> http.HTTPFlow:
    """A multipart upload with binary image bytes, as the OpenAI SDK sends an edit."""
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="prompt"\r\n\r\n{prompt}\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + image
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    headers = http.Headers(content_type=f"multipart/form-data; boundary={BOUNDARY}")
    request = tutils.treq(
        host="api.openai.com", method=b"POST", path=b"/v1/images/edits",
        headers=headers, content=body,
    )  # fmt: skip
    return tflow.tflow(req=request)


def elsewhere() -> http.HTTPFlow:
    return tflow.tflow(req=tutils.treq(host="example.com", path=b"/", method=b"GET"))


def write_dump(path: Path, flows: list[http.HTTPFlow]) -> Path:
    with path.open("wb") as f:
        writer = FlowWriter(f)
        for flow in flows:
            writer.add(flow)
    return path


@pytest.fixture(scope="module")
def gate() -> Gate:
    return replay_gate(load_policy_text(POLICY, "replay.yaml"))


def decisions(events: list[AuditEvent]) -> list[tuple[str, str]]:
    return [(e.action, e.rule) for e in events]


def test_flow_dump_requests_get_the_gates_decisions_and_others_are_skipped(
    tmp_path: Path, gate: Gate
) -> None:
    flows = [generation(f"receipt {CARD}"), generation(f"mail {EMAIL}"), generation("a fox")]
    dump = write_dump(tmp_path / "flows.mitm", [*flows, elsewhere()])
    replay = replay_file(str(dump), gate)
    assert decisions(replay.events) == [
        ("block", "no-payment-data"), ("redact", "contact-details"), ("allow", "default")
    ]  # fmt: skip
    assert (replay.flows, replay.skipped, replay.unreplayable) == (4, 1, 0)
    assert all(e.mode == "audit" and not e.enforced for e in replay.events)


def test_policy_hosts_route_like_the_proxy(tmp_path: Path, gate: Gate) -> None:
    flows = [generation(f"mail {EMAIL}", "gateway.internal", 8443),
             generation(f"mail {EMAIL}", "gateway.internal", 9999)]  # fmt: skip
    replay = replay_file(str(write_dump(tmp_path / "f.mitm", flows)), gate)
    assert decisions(replay.events) == [("redact", "contact-details")]
    assert replay.skipped == 1


def test_event_time_is_the_capture_time(tmp_path: Path, gate: Gate) -> None:
    flow = generation("a fox")
    flow.request.timestamp_start = 1_700_000_000.0
    replay = replay_file(str(write_dump(tmp_path / "f.mitm", [flow])), gate)
    assert replay.events[0].time.startswith("2023-11-14T22:13:20")


def test_mitmproxy_har_export_replays_binary_uploads_like_the_dump(
    tmp_path: Path, gate: Gate
) -> None:
    photo = with_gps(Image.new("RGB", (32, 32), "white"))
    flows = [edit_with_image("a hat", photo), generation(f"mail {EMAIL}"), elsewhere()]
    for flow in flows:
        flow.response = tutils.tresp()
    har = tmp_path / "flows.har"
    har.write_text(json.dumps(SaveHar().make_har(flows)))
    from_har = replay_file(str(har), gate)
    from_dump = replay_file(str(write_dump(tmp_path / "f.mitm", flows)), gate)
    assert decisions(from_har.events) == decisions(from_dump.events) == [
        ("block", "no-location"), ("redact", "contact-details")
    ]  # fmt: skip
    assert from_har.events[0].findings["metadata"]["GPS_LOCATION"] == 1
    assert [e.findings for e in from_har.events] == [e.findings for e in from_dump.events]


def test_har_fixture_from_the_spec(gate: Gate) -> None:
    replay = replay_file(str(DATA / "har" / "browser_session.har"), gate)
    # text body (JSON), form params (no file), a file part HAR cannot carry, a base64 body,
    # and a page load elsewhere
    assert decisions(replay.events) == [
        ("block", "no-payment-data"), ("redact", "contact-details"), ("redact", "contact-details")
    ]  # fmt: skip
    assert (replay.flows, replay.skipped, replay.unreplayable) == (5, 1, 1)


def test_a_file_that_is_no_capture_is_refused(tmp_path: Path, gate: Gate) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01 certainly not flows")
    with pytest.raises(CaptureError):
        replay_file(str(junk), gate)
    (tmp_path / "bad.har").write_text('{"log": {}}')
    with pytest.raises(CaptureError):
        replay_file(str(tmp_path / "bad.har"), gate)


def test_a_damaged_dump_reports_what_it_read(tmp_path: Path, gate: Gate) -> None:
    dump = write_dump(tmp_path / "f.mitm", [generation("a fox"), generation("a cat")])
    data = dump.read_bytes()
    dump.write_bytes(data[: len(data) // 2 + 40])
    replay = replay_file(str(dump), gate)
    assert replay.flows == 1 and replay.truncated


def test_audit_flows_command_prints_the_report_without_content(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY)
    dump = write_dump(tmp_path / "f.mitm", [generation(f"receipt {CARD}"), elsewhere()])
    page = tmp_path / "r.html"
    assert main(["audit-flows", str(dump), "--policy", str(policy), "--html", str(page)]) == 0
    out = capsys.readouterr().out
    assert "requests: 1" in out and "1 skipped (not a provider host)" in out
    assert "no-payment-data" in out
    for text in (out, page.read_text()):
        assert CARD not in text and "receipt" not in text
    assert main(["audit-flows", str(tmp_path / "missing.mitm")]) == 2
