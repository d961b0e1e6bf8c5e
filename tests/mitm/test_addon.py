"""The addon under mitmproxy's own test helpers (taddons, tflow)."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from helpers.flows import openai_flow
from mitmproxy import connection, exceptions, tls
from mitmproxy.addons import proxyserver, save, savehar
from mitmproxy.proxy import context
from mitmproxy.test import taddons, tflow, tutils

from proxy.detectors.base import Detector
from proxy.engine.audit import AuditWriter
from proxy.engine.gate import Gate
from proxy.mitm.addon import DECISION_HEADER, PixelGate
from proxy.model import Finding, ImageRequest
from proxy.policy import load_policy_text
from proxy.providers import ADAPTERS

POLICY = """version: 1
mode: {mode}
on_error: block
audit: {{path: null}}
rules:
  - {{id: contact-details, entities: [EMAIL_ADDRESS], action: redact}}
"""


class ExplodingDetector(Detector):
    name = "exploding"

    def detect(self, request: ImageRequest) -> Sequence[Finding]:
        raise RuntimeError("detector bug")


def gate_with(detectors: Sequence[Detector], mode: str = "enforce") -> Gate:
    policy = load_policy_text(POLICY.format(mode=mode), "test.yaml")
    return Gate(policy, ADAPTERS, detectors, AuditWriter(None))


async def run_hooks(addon: PixelGate, flow: tflow.HTTPFlow) -> None:
    await addon.requestheaders(flow)
    await addon.request(flow)


async def test_a_failing_detector_blocks_instead_of_forwarding() -> None:
    addon = PixelGate()
    with taddons.context(addon, loadcore=False):
        addon.gate = gate_with([ExplodingDetector()])
        flow = openai_flow(b'{"prompt": "a cat"}')
        await run_hooks(addon, flow)
        assert flow.response is not None and flow.response.status_code == 502
        assert flow.response.headers[DECISION_HEADER] == "block"
        error = json.loads(flow.response.content or b"")["error"]
        assert error["code"] == "pixelgate_inspection_failed"
        assert "RuntimeError" in error["message"] and "detector bug" not in error["message"]


async def test_audit_mode_leaves_the_flow_untouched_even_on_failure() -> None:
    addon = PixelGate()
    with taddons.context(addon, loadcore=False):
        addon.gate = gate_with([ExplodingDetector()], mode="audit")
        flow = openai_flow(b'{"prompt": "a cat"}')
        before = flow.request.get_state()
        await run_hooks(addon, flow)
        assert flow.response is None
        assert flow.request.get_state() == before


async def test_flows_to_other_hosts_are_not_touched() -> None:
    addon = PixelGate()
    with taddons.context(addon, loadcore=False):
        addon.gate = gate_with([ExplodingDetector()])
        flow = tflow.tflow(req=tutils.treq(host="example.com", port=443, content=b"x"))
        flow.client_conn.sni = None
        await run_hooks(addon, flow)
        assert flow.response is None


def client_hello(addon: PixelGate, address: tuple[str, int], sni: str | None) -> bool:
    client = connection.Client(peername=("127.0.0.1", 5000), sockname=("127.0.0.1", 8080))
    ctx = context.Context(client, options=None)  # type: ignore[arg-type]
    ctx.server.address = address
    hello = tls.ClientHello(_client_hello_bytes(sni))
    data = tls.ClientHelloData(ctx, hello)
    addon.layering.tls_clienthello(data)
    return not data.ignore_connection


def _client_hello_bytes(sni: str | None) -> bytes:
    # A real ClientHello, produced by Python's own TLS stack.
    ctx = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    sock = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    with pytest.raises(ssl.SSLWantReadError):
        sock.do_handshake()
    record = outgoing.read()
    return record[9:]  # strip the TLS record header and the handshake header


@pytest.mark.parametrize(
    ("address", "sni", "intercepted"),
    [
        (("api.openai.com", 443), "api.openai.com", True),
        (("example.com", 443), "example.com", False),
        (("203.0.113.7", 443), "api.openai.com", True),  # transparent mode: SNI only
        (("api.openai.com", 443), "innocent.example", True),  # misleading SNI
    ],
)
def test_only_provider_connections_are_decrypted(
    address: tuple[str, int], sni: str, intercepted: bool
) -> None:
    addon = PixelGate()
    with taddons.context(addon, loadcore=False):
        addon.gate = gate_with([])
        assert client_hello(addon, address, sni) is intercepted


@pytest.mark.parametrize("option", ["proxy_debug", "save_stream_file", "hardump"])
def test_options_that_would_write_content_are_refused(option: str, tmp_path: Path) -> None:
    addon = PixelGate()
    with taddons.context(addon, save.Save(), savehar.SaveHar(), proxyserver.Proxyserver()) as tctx:
        value: object = True if option == "proxy_debug" else str(tmp_path / "flows")
        with pytest.raises(exceptions.OptionsError, match="refuses"):
            tctx.configure(addon, **{option: value})


def test_a_broken_policy_is_an_options_error_naming_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nrules:\n  - {id: x, entities: [EMAIL_ADDRESS], action: deny}\n")
    addon = PixelGate()
    with taddons.context(addon) as tctx:
        with pytest.raises(exceptions.OptionsError, match="broken.yaml:3"):
            tctx.configure(addon, pixelgate_policy=str(broken))


async def test_a_declared_body_over_the_limit_is_refused_before_reading(tmp_path: Path) -> None:
    policy = load_policy_text(
        "version: 1\naudit: {path: null}\nlimits: {max_body_bytes: 10}\n", "small.yaml"
    )
    addon = PixelGate()
    with taddons.context(addon, loadcore=False):
        addon.gate = Gate(policy, ADAPTERS, [], AuditWriter(None))
        flow = openai_flow(b'{"prompt": "a cat in a hat"}')
        await addon.requestheaders(flow)
        assert flow.response is not None and flow.response.status_code == 413
        assert json.loads(flow.response.content or b"")["error"]["code"] == (
            "pixelgate_request_too_large"
        )


class HangingDetector(Detector):
    """Stuck inside detect() until released: a detector that hangs."""

    name = "hanging"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.finished = threading.Event()

    def detect(self, request: ImageRequest) -> Sequence[Finding]:
        self.release.wait(10)
        self.finished.set()
        return []


async def test_a_hung_detector_is_given_up_at_the_deadline_and_audited_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import proxy.mitm.workers

    monkeypatch.setattr(proxy.mitm.workers, "DEADLINE_GRACE_S", 0.2)
    audit = tmp_path / "audit.jsonl"
    policy = load_policy_text(
        POLICY.format(mode="enforce").replace("path: null", f"path: {audit}")
        + "limits: {inspection_timeout_s: 0.1}\n",
        "test.yaml",
    )
    hanging = HangingDetector()
    addon = PixelGate()
    with taddons.context(addon, loadcore=False):
        addon.gate = Gate(policy, ADAPTERS, [hanging], AuditWriter(policy.audit.path))
        flow = openai_flow(b'{"prompt": "a cat"}')
        await run_hooks(addon, flow)
        assert flow.response is not None and flow.response.status_code == 504
        assert json.loads(flow.response.content or b"")["error"]["code"] == (
            "pixelgate_inspection_timeout"
        )
        hanging.release.set()  # the worker comes back late: its verdict must not be audited
        assert hanging.finished.wait(5)
        time.sleep(0.2)
        addon.gate.audit.close()
    events = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [e["error"] for e in events] == ["pixelgate_inspection_timeout"]


class GreedyDetector(Detector):
    name = "greedy"

    def detect(self, request: ImageRequest) -> Sequence[Finding]:
        raise MemoryError


async def test_a_detector_out_of_memory_blocks_the_request() -> None:
    addon = PixelGate()
    with taddons.context(addon, loadcore=False):
        addon.gate = gate_with([GreedyDetector()])
        flow = openai_flow(b'{"prompt": "a cat"}')
        await run_hooks(addon, flow)
        assert flow.response is not None and flow.response.status_code == 502
