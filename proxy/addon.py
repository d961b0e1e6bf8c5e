"""The mitmproxy addon: a thin shell around `Gate`.

Only connections to provider hosts are decrypted, and never relayed raw (proxy.layering);
other TLS connections are tunnelled untouched. A request belongs to a provider when any name
it gives for its destination is a provider host, and is refused when those names disagree
(proxy.destination). Provider request bodies are read whole (never streamed past
inspection) and inspected off the event loop. Every hook that decides a flow's fate runs
through proxy.failsafe, whose failure path refuses and audits: mitmproxy would log a hook's
exception and forward the flow.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from mitmproxy import connection, ctx, exceptions, http, optmanager
from mitmproxy.addonmanager import Loader

from proxy import failsafe, memory, trailers
from proxy.admin import Admin
from proxy.audit import AuditSinkError, AuditWriter
from proxy.ca_cli import trust_hint
from proxy.destination import provider_of, touched
from proxy.errors import DestinationMismatch, PixelGateError, PolicyError, RequestTooLarge
from proxy.flows import claims_of, identity_of, mitm_response
from proxy.gate import Call, Gate, Verdict
from proxy.gates import GateSet, build_gates
from proxy.identity import login
from proxy.identity.ldap import IdentityLookupFailed
from proxy.inspector import Inspector, reject
from proxy.layering import Layering
from proxy.policy import bundled_policy_path
from proxy.providers.base import ProviderAdapter
from proxy.providers.unknown import UNKNOWN
from proxy.quiet import silence_content_loggers
from proxy.reload import Follower
from proxy.served import served_answer

log = logging.getLogger("pixelgate")
# `proxyauth=ldap:...` logins go through PixelGate's DirectoryLogin, not mitmproxy's LDAP
# check (unescaped filter, no timeouts, unverified ldaps): set before any option is.
login.install()
# HTTP/1 requests ending in trailer fields crash mitmproxy's connection handler otherwise.
trailers.install()

DECISION_HEADER = failsafe.DECISION_HEADER
_BODY_BOUND = 256 * 1024 * 1024  # mitmproxy's own limit, at least, for any body it buffers
_META_ADAPTER = "pixelgate_adapter"
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
        self.gates: GateSet | None = None
        self.admin = Admin()  # a sub-addon: metrics and health checks, across reloads
        self.layering = Layering(self._touches)  # sub-addon: what is decrypted, and as what
        self.addons = [self.admin, self.layering]
        self._hosts: dict[str, str] = {}  # client connection id -> the provider host it used
        self._inspector = Inspector()
        self._retired: list[AuditWriter] = []  # audit files of replaced gates: closed at exit
        self._follower: Follower | None = None
        self._follow: asyncio.Task[None] | None = None
        self._trimming: asyncio.Task[None] | None = None

    @property
    def gate(self) -> Gate | None:
        """The default policy's gate (the only one without an identities file)."""
        return self.gates.default if self.gates is not None else None

    @gate.setter
    def gate(self, gate: Gate) -> None:
        self.gates = GateSet(gate)

    def load(self, loader: Loader) -> None:
        silence_content_loggers()
        loader.add_option(
            "pixelgate_policy",
            str,
            "",
            "PixelGate policy file (YAML). Empty: the bundled default policy.",
        )
        loader.add_option(
            "pixelgate_identities",
            str,
            "",
            "PixelGate identities file (YAML): the policy for each user, group or client "
            "network. Empty: the policy applies to everyone.",
        )

    def configure(self, updated: set[str]) -> None:
        refuse_content_leaking(ctx.options, updated)
        if "proxyauth" in updated and (auth := ctx.master.addons.get("proxyauth")):
            login.checked_off_the_event_loop(auth)
        files = {"pixelgate_policy", "pixelgate_identities"}
        if files & updated or self.gates is None:
            try:
                gates = self._build(self.gates)
            except (PolicyError, ValueError, AuditSinkError, LookupError) as e:
                raise exceptions.OptionsError(str(e)) from None
            except Exception as e:
                # Anything else must stop start-up too: without a gate nothing is inspected.
                raise exceptions.OptionsError(
                    f"PixelGate could not load its policy: {type(e).__name__}"
                ) from None
            self._install(gates)
            if ctx.options.body_size_limit is None:
                # Without it mitmproxy buffers a body of any size before our hooks can answer
                # (a chunked upload, or one that announces more than the policy allows).
                bound = max(4 * gates.max_body_bytes, _BODY_BOUND)
                ctx.options.update(body_size_limit=str(bound))
        if (files | {"proxyauth", "mode"}) & updated and self.gates is not None:
            auth = getattr(ctx.options, "proxyauth", None)
            for warning in self.gates.warnings(auth, getattr(ctx.options, "mode", ())):
                log.warning("PixelGate: %s", warning)

    def _build(self, previous: GateSet | None) -> GateSet:
        policy = ctx.options.pixelgate_policy or str(bundled_policy_path("default"))
        return build_gates(policy, ctx.options.pixelgate_identities or None, previous)

    def _install(self, gates: GateSet) -> None:
        """Swap `gates` in; requests already being inspected finish on the old ones."""
        self.admin.metrics.attach(*gates.gates)
        old, self.gates = self.gates, gates
        if old is not None:
            kept = {id(g.audit) for g in gates.gates}
            # Requests in flight may still write to a replaced audit file: closed at exit.
            self._retired += [g.audit for g in old.gates if id(g.audit) not in kept]
        self._inspector.fit(gates)
        for gate in gates.gates:
            policy = gate.policy
            log.info(
                "PixelGate policy %s loaded (mode %s, on_error %s)",
                policy.source,
                policy.mode,
                policy.on_error,
            )

    def request_reload(self) -> None:
        """Re-read the policy file now (SIGHUP), rather than at its next look."""
        if self._follower is not None:
            self._follower.request()

    def running(self) -> None:
        log.info(trust_hint(ctx.options.confdir))
        self._trimming = asyncio.get_running_loop().create_task(self._trim_periodically())
        # The bundled default policy does not change; files the operator names may.
        named = ctx.options.pixelgate_policy or ctx.options.pixelgate_identities
        if self._follower is None and self.gates is not None and named:
            self._follower = Follower(lambda: self.gates, self._build, self._install)
            self._follow = asyncio.get_running_loop().create_task(self._follower.run())

    async def _trim_periodically(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(memory.INTERVAL_S)
            await loop.run_in_executor(None, memory.release_free_memory)

    def done(self) -> None:
        if self._trimming is not None:
            self._trimming.cancel()
        if self._follow is not None:
            self._follow.cancel()
        for writer in self._retired:
            writer.close()
        for gate in self.gates.gates if self.gates is not None else ():
            gate.audit.close()
        self._inspector.close()

    def _touches(self, host: str, port: int) -> bool:
        return self.gates is not None and self.gates.route(host, port) is not None

    def client_disconnected(self, client: connection.Client) -> None:
        self._hosts.pop(client.id, None)

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if _pending(flow) and (gates := self.gates) is not None:
            failsafe.decided(flow, lambda: self._headers(flow, gates), self._fail)

    async def request(self, flow: http.HTTPFlow) -> None:
        if _pending(flow) and (gates := self.gates) is not None:
            await failsafe.decided_async(flow, lambda: self._inspect(flow, gates), self._fail)

    def _headers(self, flow: http.HTTPFlow, gates: GateSet) -> bool:
        """Match the flow to its provider (or refuse it), before its body is read."""
        claims = claims_of(flow, self._hosts.get(flow.client_conn.id))
        try:
            found = provider_of(gates.route, claims)
        except DestinationMismatch as e:
            # Answered in the format of the provider it touched, audited under that name.
            named = touched(gates.route, claims) or UNKNOWN
            self._conclude(flow, named, reject(gates.default, named, e, Call()))
            return True
        if found is None:
            return False
        adapter, host = found
        self._hosts[flow.client_conn.id] = host  # later requests on it must agree
        flow.metadata[_META_ADAPTER] = adapter
        flow.request.stream = False  # bodies to providers are inspected whole, never streamed
        declared = flow.request.headers.get("content-length", "")
        limit = gates.max_body_bytes  # the sender's own policy's limit is applied in `request`
        if declared.isdigit() and int(declared) > limit:
            error = RequestTooLarge(f"request body exceeds the policy limit of {limit} bytes")
            call = Call(gates.caller(identity_of(flow)))
            self._conclude(flow, adapter, reject(gates.default, adapter, error, call))
        return True

    async def _inspect(self, flow: http.HTTPFlow, gates: GateSet) -> bool:
        matched = flow.metadata.get(_META_ADAPTER)
        if not isinstance(matched, ProviderAdapter):
            return False
        flow.request.trailers = None  # HTTP/2 trailers are not read, so never sent on
        # Links to locally made images (one store for every policy) need no policy choice.
        served = served_answer(gates.default.served, flow.request, matched)
        if served is not None:
            flow.response = mitm_response(served)
            return True
        who = identity_of(flow)
        try:
            if gates.may_block:  # a directory lookup: not on the event loop
                gate, caller = await self._inspector.run(gates.choose, who)
            else:
                gate, caller = gates.choose(who)
        except IdentityLookupFailed as e:
            call = Call(gates.caller(who))
            self._conclude(flow, matched, reject(gates.default, matched, e, call))
            return True
        adapter = gate.route(flow.request.host, flow.request.port) or matched
        self._conclude(
            flow, adapter, await self._inspector.verdict(flow, gate, adapter, Call(caller))
        )
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
        if verdict is None:
            self._stop_on_audit_failure(flow, adapter)
        else:
            self._apply(flow, verdict)

    def _apply(self, flow: http.HTTPFlow, verdict: Verdict) -> None:
        if not verdict.event.enforced:
            return
        flow.metadata[_META_DECISION] = verdict.action.value
        if verdict.response is not None:
            flow.response = mitm_response(verdict.response)
            flow.response.headers[DECISION_HEADER] = verdict.action.value
        elif verdict.body is not None:
            flow.request.content = verdict.body

    def _stop_on_audit_failure(self, flow: http.HTTPFlow, adapter: ProviderAdapter) -> None:
        # Like mitmproxy's save addon: crash visibly rather than let traffic through unrecorded.
        log.error("PixelGate stops: the audit log cannot be written")
        answer = adapter.render_error(
            503,
            "PixelGate cannot record this request and is stopping",
            "pixelgate_audit_unavailable",
            "server_error",
        )
        flow.response = mitm_response(answer)
        flow.response.headers[DECISION_HEADER] = "block"
        ctx.master.shutdown()

    def response(self, flow: http.HTTPFlow) -> None:
        decision = flow.metadata.get(_META_DECISION)
        if decision and flow.response is not None:
            flow.response.headers[DECISION_HEADER] = decision


def _pending(flow: http.HTTPFlow) -> bool:
    return not (flow.response or flow.error or not flow.live)
