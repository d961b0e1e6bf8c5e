"""The mitmproxy addon: a thin shell around the engine's gates.

Only connections to provider hosts are decrypted, and never relayed raw (proxy.mitm.layering).
A request's headers decide whether it goes to a provider, which one and under which policy
(proxy.mitm.admission); its body is then read whole (never streamed past inspection) and
inspected off the event loop (proxy.mitm.workers). Every hook that decides a flow's fate runs
through proxy.mitm.failsafe, whose failure path refuses and audits: mitmproxy would log a
hook's exception and forward the flow. The policies in force and their reloads are
proxy.mitm.policies; /metrics and the health checks are proxy.mitm.admin.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from mitmproxy import connection, ctx, exceptions, http, optmanager

from proxy.engine.gate import Call, Gate, Verdict
from proxy.engine.gate_set import GateSet
from proxy.errors import PixelGateError
from proxy.mitm import failsafe, memory, trailers
from proxy.mitm.admin import Admin
from proxy.mitm.admission import Admissions, Admitted, LinkAnswer, Refused
from proxy.mitm.ca import trust_hint
from proxy.mitm.flows import mitm_response
from proxy.mitm.layering import Layering
from proxy.mitm.policies import Policies
from proxy.mitm.workers import Workers, reject
from proxy.providers.base import ProviderAdapter
from proxy.providers.unknown import UNKNOWN

log = logging.getLogger("pixelgate")
# HTTP/1 requests ending in trailer fields crash mitmproxy's connection handler otherwise.
trailers.install()

DECISION_HEADER = failsafe.DECISION_HEADER
_META_ADAPTER = "pixelgate_adapter"  # the provider's adapter, once a request is matched
_META_ADMITTED = "pixelgate_admitted"
_META_DECISION = "pixelgate_decision"
# mitmproxy options that would write request content to disk or logs.
_CONTENT_LEAKING_OPTIONS = ("proxy_debug", "save_stream_file", "hardump")


def refuse_content_leaking(options: optmanager.OptManager, updated: Iterable[str]) -> None:
    for name in _CONTENT_LEAKING_OPTIONS:
        if name in updated and getattr(options, name, None):
            raise exceptions.OptionsError(
                f"PixelGate refuses {name}: it would write request content to disk or logs"
            )


class PixelGate:
    def __init__(self) -> None:
        self._workers = Workers()
        self.admin = Admin()  # metrics and health checks, across reloads
        self.policies = Policies(self._installed)
        self.layering = Layering(self._touches)  # what is decrypted, and as what
        self.admissions = Admissions(self._workers.run)
        self.addons = [self.policies, self.admin, self.layering, memory.Trimmer()]

    @property
    def gates(self) -> GateSet | None:
        return self.policies.gates

    @property
    def gate(self) -> Gate | None:
        """The default policy's gate (the only one without an identities file)."""
        return self.gates.default if self.gates is not None else None

    @gate.setter
    def gate(self, gate: Gate) -> None:
        self.policies.install(GateSet(gate))

    def _installed(self, gates: GateSet) -> None:
        self.admin.metrics.attach(*gates.gates)
        self._workers.fit(gates)

    def configure(self, updated: set[str]) -> None:
        refuse_content_leaking(ctx.options, updated)

    def running(self) -> None:
        log.info(trust_hint(ctx.options.confdir))

    def request_reload(self) -> None:
        self.policies.request_reload()

    def done(self) -> None:
        self._workers.close()

    def _touches(self, host: str, port: int) -> bool:
        return self.gates is not None and self.gates.route(host, port) is not None

    def client_disconnected(self, client: connection.Client) -> None:
        self.admissions.forget(client.id)

    async def requestheaders(self, flow: http.HTTPFlow) -> None:
        if _pending(flow) and (gates := self.gates) is not None:
            await failsafe.decided_async(flow, lambda: self._admit(flow, gates), self._fail)

    async def request(self, flow: http.HTTPFlow) -> None:
        admitted = flow.metadata.get(_META_ADMITTED)
        if _pending(flow) and isinstance(admitted, Admitted):
            await failsafe.decided_async(flow, lambda: self._inspect(flow, admitted), self._fail)

    async def _admit(self, flow: http.HTTPFlow, gates: GateSet) -> bool:
        """Settle what the headers decide; True when the flow is settled now."""
        admission = await self.admissions.admit(flow, gates)
        if admission is None:
            return False
        flow.metadata[_META_ADAPTER] = admission.adapter
        if isinstance(admission, LinkAnswer):
            flow.response = mitm_response(admission.response)
        elif isinstance(admission, Refused):
            call = Call(admission.caller)
            verdict = reject(admission.gate, admission.adapter, admission.error, call)
            self._conclude(flow, admission.adapter, verdict)
        else:
            flow.metadata[_META_ADMITTED] = admission
            flow.request.stream = False  # bodies to providers are inspected whole
            return False
        return True

    async def _inspect(self, flow: http.HTTPFlow, admitted: Admitted) -> bool:
        flow.request.trailers = None  # HTTP/2 trailers are not read, so never sent on
        gate, adapter = admitted.gate, admitted.adapter
        verdict = await self._workers.verdict(flow, gate, adapter, Call(admitted.caller))
        self._conclude(flow, adapter, verdict)
        return True

    def _fail(self, flow: http.HTTPFlow, error: PixelGateError) -> None:
        """The failure path of every hook that decides a flow's fate: refused, audited."""
        adapter = flow.metadata.get(_META_ADAPTER)
        if not isinstance(adapter, ProviderAdapter):
            adapter = UNKNOWN
        gates = self.gates
        if gates is None:
            flow.response = mitm_response(failsafe.last_resort(adapter, error))
            return
        self._conclude(flow, adapter, reject(gates.default, adapter, error, Call()))

    def _conclude(
        self, flow: http.HTTPFlow, adapter: ProviderAdapter, verdict: Verdict | None
    ) -> None:
        flow.metadata[failsafe.SETTLED] = True
        if verdict is None:  # the audit sink failed: nothing passes unrecorded
            flow.response = mitm_response(failsafe.unrecorded(adapter))
            ctx.master.shutdown()
        elif verdict.event.enforced:
            flow.metadata[_META_DECISION] = verdict.action.value
            if verdict.response is not None:
                flow.response = mitm_response(verdict.response)
                flow.response.headers[DECISION_HEADER] = verdict.action.value
            elif verdict.body is not None:
                flow.request.content = verdict.body

    def response(self, flow: http.HTTPFlow) -> None:
        decision = flow.metadata.get(_META_DECISION)
        if decision and flow.response is not None:
            flow.response.headers[DECISION_HEADER] = decision


def _pending(flow: http.HTTPFlow) -> bool:
    return not (flow.response or flow.error or not flow.live)
