"""Fault injection into every step that decides a flow's fate: each failure is refused, never
forwarded, and audited once (proxy.mitm.failsafe). (A failure inside inspection proper, such as an
adapter's parse or a detector, is the policy's on_error to decide: see test_addon.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from helpers.flows import openai_flow
from mitmproxy import connection
from mitmproxy.proxy import context, layer, layers
from mitmproxy.test import taddons

from proxy.engine.audit import AuditEvent, AuditWriter
from proxy.engine.gate import Gate
from proxy.engine.gate_set import GateSet
from proxy.mitm import admission as admission_module
from proxy.mitm import workers as workers_module
from proxy.mitm.addon import DECISION_HEADER, PixelGate
from proxy.mitm.layering import Layering
from proxy.mitm.workers import Workers
from proxy.policy import load_policy_text
from proxy.providers import ADAPTERS

POLICY = """version: 1
mode: enforce
on_error: allow
audit: {path: null}
rules:
  - {id: contact-details, entities: [EMAIL_ADDRESS], action: redact}
"""


class Injected(Exception):
    """A bug planted in one step."""


def explode(*args: Any, **kwargs: Any) -> Any:
    raise Injected("a planted failure that quotes jane.doe@example.org")


@pytest.fixture
def audited() -> Iterator[tuple[PixelGate, list[AuditEvent]]]:
    addon = PixelGate()
    with taddons.context(addon, loadcore=False):
        # on_error: allow, so only the fail-safe path explains a block.
        gate = Gate(load_policy_text(POLICY, "t.yaml"), ADAPTERS, [], AuditWriter(None))
        events: list[AuditEvent] = []
        gate.observers.append(events.append)
        addon.gate = gate
        yield addon, events


STEPS = [
    (admission_module, "served_answer"),
    (admission_module, "identity_of"),
    (admission_module, "provider_of"),
    (admission_module, "claims_of"),
    (GateSet, "choose"),
    (GateSet, "route"),
    (Workers, "verdict"),
    (workers_module, "wire_request"),
    (Gate, "handle"),
]


@pytest.mark.parametrize(("owner", "name"), STEPS, ids=[name for _, name in STEPS])
async def test_a_failure_in_any_step_is_refused_and_audited_once(
    audited: tuple[PixelGate, list[AuditEvent]],
    monkeypatch: pytest.MonkeyPatch,
    owner: object,
    name: str,
) -> None:
    addon, events = audited
    monkeypatch.setattr(owner, name, explode)
    flow = openai_flow(b'{"prompt": "a cat"}')
    await addon.requestheaders(flow)
    await addon.request(flow)
    assert flow.response is not None and flow.response.status_code >= 400
    assert flow.response.headers.get(DECISION_HEADER) == "block"
    assert b"jane.doe" not in (flow.response.content or b"")
    assert json.loads(flow.response.content or b"")["error"]["code"].startswith("pixelgate_")
    assert len(events) == 1 and events[0].action == "block"


async def test_a_step_that_claims_the_flow_but_leaves_it_undecided_is_refused(
    audited: tuple[PixelGate, list[AuditEvent]], monkeypatch: pytest.MonkeyPatch
) -> None:
    addon, events = audited

    async def claimed_only(*args: Any) -> bool:
        return True

    monkeypatch.setattr(PixelGate, "_inspect", claimed_only)
    flow = openai_flow(b'{"prompt": "a cat"}')
    await addon.requestheaders(flow)
    await addon.request(flow)
    assert flow.response is not None and flow.response.status_code == 502
    assert len(events) == 1 and events[0].error == "pixelgate_internal_error"


async def test_when_even_the_refusal_fails_a_fixed_answer_is_given(
    audited: tuple[PixelGate, list[AuditEvent]], monkeypatch: pytest.MonkeyPatch
) -> None:
    addon, _ = audited
    monkeypatch.setattr(Gate, "handle", explode)
    monkeypatch.setattr(Gate, "reject", explode)
    flow = openai_flow(b'{"prompt": "a cat"}')
    await addon.requestheaders(flow)
    await addon.request(flow)
    assert flow.response is not None and flow.response.status_code == 502
    assert flow.response.headers[DECISION_HEADER] == "block"


def test_a_failure_telling_a_connections_destination_reads_it_as_http() -> None:
    layering = Layering(explode)
    client = connection.Client(peername=("127.0.0.1", 5000), sockname=("127.0.0.1", 8080))
    ctx = context.Context(client, options=None)  # type: ignore[arg-type]
    ctx.server.address = ("api.openai.com", 443)
    nextlayer = layer.NextLayer(ctx)
    nextlayer.layer = layers.TCPLayer(ctx)
    layering.next_layer(nextlayer)
    assert isinstance(nextlayer.layer, layers.HttpLayer)
