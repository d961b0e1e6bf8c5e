"""Offline replay of captured traffic through the real gate: `pixelgate audit-flows`.

Reads a mitmproxy flow dump (`mitmdump -w`) or a HAR file, routes every request by host as
the proxy does (the policy's `providers: hosts` included), and hands each provider request
to `Gate.handle` with the policy in audit mode: the verdict is what the proxy would decide,
nothing is forwarded, no image is generated, nothing is written. The events stay in memory
and become a report; their time is the capture's.

HAR 1.2 has no field for a binary request body: `postData` carries `text` (or form `params`,
whose file parts have a name but no content). mitmproxy's own HAR export writes the body as
text decoded with the Content-Type's charset, else latin-1 for non-JSON bodies, which is
lossless and is undone here the same way; a non-standard `"encoding": "base64"` on postData
is honoured too. A provider request whose HAR entry lacks its body is counted as not
replayable, never inspected as if it were empty.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from mitmproxy import connection, http

from local_fallback.generator import GenerationRequest
from proxy.engine.audit import AuditEvent, AuditWriter
from proxy.engine.gate import Gate
from proxy.errors import CaptureError, PixelGateError
from proxy.mitm.flows import wire_request
from proxy.policy import Policy
from proxy.policy.schema import Mode
from proxy.providers.base import ProviderAdapter


@dataclass
class Replay:
    """What a replay saw: events for provider requests, and counts of everything else."""

    events: list[AuditEvent] = field(default_factory=list)
    flows: int = 0
    skipped: int = 0  # not to a provider host (or not HTTP)
    unreplayable: int = 0  # a provider request whose body the capture does not hold
    truncated: str | None = None  # why reading stopped early, if it did

    def notes(self, path: str, policy_name: str) -> list[str]:
        out = [
            f"replayed offline from {path} with policy {policy_name} in audit mode: actions "
            "are what the policy would do; nothing was forwarded",
            f"flows: {self.flows} read, {len(self.events)} to provider hosts inspected, "
            f"{self.skipped} skipped (not a provider host), "
            f"{self.unreplayable} not replayable (body not in the capture)",
        ]
        if self.truncated:
            out.append(f"reading stopped early: {self.truncated}")
        return out


class _DeclaredModel:
    """Stands for the policy's fallback model so reroute decisions read as reroute. In audit
    mode the gate never generates, so it is never called."""

    model = "declared"
    device = "none"

    def generate(self, request: GenerationRequest) -> list[bytes]:
        raise RuntimeError("replay never generates images")


def replay_gate(policy: Policy) -> Gate:
    from proxy.detectors import build_detectors
    from proxy.providers import ADAPTERS

    audit_only = replace(policy, mode=Mode.AUDIT, audit=replace(policy.audit, path=None))
    declared = policy.fallback.model or policy.fallback.url
    model = _DeclaredModel() if declared else None
    return Gate(audit_only, ADAPTERS, build_detectors(audit_only), AuditWriter(None), model)


def replay_file(path: str, gate: Gate) -> Replay:
    """Every request in the capture at `path` through `gate`. Raises CaptureError when the
    file cannot be read at all."""
    replay = Replay()
    try:
        with open(path, "rb") as f:
            head = f.read(64).lstrip()
            f.seek(0)
            flows = _har_flows(f.read()) if head.startswith(b"{") else _dump_flows(f, replay)
            for flow in flows:
                replay.flows += 1
                _replay_one(flow, gate, replay)
    except OSError as e:
        raise CaptureError(f"cannot read {path}: {e.strerror}") from None
    return replay


def _replay_one(flow: http.HTTPFlow | None, gate: Gate, replay: Replay) -> None:
    if flow is None:
        replay.skipped += 1
        return
    request = flow.request
    adapter = gate.route(request.host, request.port) or gate.route(
        (request.host_header or "").split(":")[0], request.port
    )
    if adapter is None:
        replay.skipped += 1
        return
    if flow.metadata.get("pixelgate_no_body"):
        replay.unreplayable += 1
        return
    captured = datetime.fromtimestamp(request.timestamp_start, UTC)
    event = _verdict_event(gate, adapter, flow)
    replay.events.append(replace(event, time=captured.isoformat(timespec="milliseconds")))


def _verdict_event(gate: Gate, adapter: ProviderAdapter, flow: http.HTTPFlow) -> AuditEvent:
    try:
        wire = wire_request(flow, gate.policy.limits.max_body_bytes)
    except PixelGateError as e:  # as the proxy does: the policy's on_error decides
        return gate.reject(adapter, e).event
    verdict = gate.handle(adapter, wire)
    return verdict.event


def _dump_flows(f: Any, replay: Replay) -> Iterator[http.HTTPFlow | None]:
    from mitmproxy import exceptions
    from mitmproxy.io import FlowReader

    try:
        for flow in FlowReader(f).stream():
            yield flow if isinstance(flow, http.HTTPFlow) else None
    except exceptions.FlowReadException as e:
        if replay.flows == 0:
            raise CaptureError(f"not a mitmproxy flow dump or HAR file ({e})") from None
        replay.truncated = "the flow dump is damaged after this point"


def _har_flows(data: bytes) -> Iterator[http.HTTPFlow | None]:
    try:
        entries = json.loads(data)["log"]["entries"]
        if not isinstance(entries, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise CaptureError("not a HAR file (no log.entries)") from None
    for entry in entries:
        yield _har_flow(entry)


def _har_flow(entry: Any) -> http.HTTPFlow | None:
    """One HAR entry as a flow; None when it has no usable request."""
    try:
        req = entry["request"]
        headers = [(h["name"].encode(), h["value"].encode()) for h in req.get("headers", [])]
        request = http.Request.make(req["method"], req["url"], b"", headers)
        started = entry.get("startedDateTime")
        if isinstance(started, str):
            when = datetime.fromisoformat(started.replace("Z", "+00:00"))
            request.timestamp_start = when.timestamp()
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    flow = http.HTTPFlow(
        connection.Client(peername=("127.0.0.1", 0), sockname=("127.0.0.1", 0)),
        connection.Server(address=(request.host, request.port)),
    )
    flow.request = request
    body = _har_body(req.get("postData"), request)
    if body is None and req.get("method", "").upper() in ("POST", "PUT", "PATCH"):
        flow.metadata["pixelgate_no_body"] = True
    return flow


def _har_body(post: Any, request: http.Request) -> bool | None:
    """Sets the request body from HAR postData; None when the HAR does not hold it."""
    if not isinstance(post, dict):
        return None
    text, params = post.get("text"), post.get("params")
    if isinstance(text, str) and (text or not params):
        if post.get("encoding") == "base64":
            try:
                request.content = base64.b64decode(text, validate=True)
            except binascii.Error:
                return None
        else:
            request.text = text  # the inverse of mitmproxy's export (get_text)
        return True
    if not isinstance(params, list) or not params:
        return None
    if any(not isinstance(p, dict) or "fileName" in p for p in params):
        return None  # a file part: HAR names the file but does not carry it
    fields = [(str(p.get("name", "")), str(p.get("value", ""))) for p in params]
    if "multipart/" in str(post.get("mimeType", "")):
        request.content = _multipart(fields, request)
    else:
        request.urlencoded_form = fields
    return True


def _multipart(fields: list[tuple[str, str]], request: http.Request) -> bytes:
    """Form fields as multipart, under the boundary the captured Content-Type names."""
    declared = request.headers.get("content-type", "")
    boundary = declared.partition("boundary=")[2].split(";")[0].strip('"')
    if not boundary:
        boundary = "pixelgate-replay-" + uuid.uuid4().hex
        request.headers["content-type"] = f"multipart/form-data; boundary={boundary}"
    parts = [
        f"--{boundary}\r\nContent-Disposition: form-data; name={_quoted(name)}\r\n\r\n{value}\r\n"
        for name, value in fields
    ]
    return ("".join(parts) + f"--{boundary}--\r\n").encode("utf-8")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A") + '"'
