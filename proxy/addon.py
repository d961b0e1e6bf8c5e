"""The mitmproxy addon: a thin shell around `Gate`.

Only provider hosts are decrypted; other TLS connections are tunnelled untouched. Provider
request bodies are read whole (never streamed past inspection), inspected off the event
loop, and every outcome, including our own failures, is decided here: mitmproxy's safecall
would log a hook exception and forward the flow, so no exception may leave `request`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from mitmproxy import ctx, exceptions, http, optmanager, tls
from mitmproxy.addonmanager import Loader

from proxy import memory
from proxy.admin import Admin
from proxy.audit import AuditSinkError, AuditWriter
from proxy.errors import (
    InspectionTimeout,
    MalformedRequest,
    PixelGateError,
    PolicyError,
    RequestTooLarge,
)
from proxy.flows import mitm_response, wire_request
from proxy.gate import Gate, Ticket, Verdict
from proxy.policy import bundled_policy_path, load_policy
from proxy.providers.base import ProviderAdapter, WireRequest
from proxy.quiet import silence_content_loggers
from proxy.reload import Follower, build_gate
from proxy.served import served_answer

log = logging.getLogger("pixelgate")

DECISION_HEADER = "X-PixelGate-Decision"
_INSPECTION_WORKERS = 4
# How long past the policy's inspection deadline a worker may still answer: the pipeline
# checks the deadline between detectors, so only a detector stuck inside needs this.
_DEADLINE_GRACE_S = 5.0
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
        self.gate: Gate | None = None
        self.admin = Admin()  # a sub-addon: metrics and health checks, across reloads
        self.addons = [self.admin]
        self._workers = _INSPECTION_WORKERS
        self._executor = ThreadPoolExecutor(self._workers, thread_name_prefix="pixelgate")
        self._retired: list[AuditWriter] = []  # audit files of replaced gates: closed at exit
        self._follower: Follower | None = None
        self._follow: asyncio.Task[None] | None = None
        self._trimming: asyncio.Task[None] | None = None

    def load(self, loader: Loader) -> None:
        silence_content_loggers()
        loader.add_option(
            "pixelgate_policy",
            str,
            "",
            "PixelGate policy file (YAML). Empty: the bundled default policy.",
        )

    def configure(self, updated: set[str]) -> None:
        refuse_content_leaking(ctx.options, updated)
        if "pixelgate_policy" in updated or self.gate is None:
            path = ctx.options.pixelgate_policy or str(bundled_policy_path("default"))
            try:
                gate = build_gate(load_policy(path), self.gate)
            except (PolicyError, ValueError, AuditSinkError, LookupError) as e:
                raise exceptions.OptionsError(str(e)) from None
            except Exception as e:
                # Anything else must stop start-up too: without a gate nothing is inspected.
                raise exceptions.OptionsError(
                    f"PixelGate could not load {path}: {type(e).__name__}"
                ) from None
            self._install(gate, path)
            if ctx.options.body_size_limit is None:
                # Without it mitmproxy buffers a body of any size before our hooks can answer
                # (a chunked upload, or one that announces more than the policy allows).
                bound = max(4 * gate.policy.limits.max_body_bytes, _BODY_BOUND)
                ctx.options.update(body_size_limit=str(bound))

    def _install(self, gate: Gate, path: str) -> None:
        """Swap `gate` in; requests already being inspected finish on the old one."""
        self.admin.metrics.attach(gate)
        old, self.gate = self.gate, gate
        if old is not None and old.audit is not gate.audit:
            self._retired.append(old.audit)  # requests in flight may still write to it
        # A rerouted request holds its worker while it waits for the local model: room for
        # every request the fallback queue may hold, so waiting reroutes never starve the
        # inspection of other traffic (and a full queue answers 503 instead of stalling).
        waiting = gate.policy.fallback.max_pending if gate.fallback is not None else 0
        if _INSPECTION_WORKERS + waiting != self._workers:
            self._workers = _INSPECTION_WORKERS + waiting
            previous = self._executor
            self._executor = ThreadPoolExecutor(self._workers, thread_name_prefix="pixelgate")
            previous.shutdown(wait=False)  # requests already running on it finish there
        log.info(
            "PixelGate policy %s loaded (mode %s, on_error %s)",
            path,
            gate.policy.mode,
            gate.policy.on_error,
        )

    def request_reload(self) -> None:
        """Re-read the policy file now (SIGHUP), rather than at its next look."""
        if self._follower is not None:
            self._follower.request()

    def running(self) -> None:
        ca = os.path.join(os.path.expanduser(ctx.options.confdir), "mitmproxy-ca-cert.pem")
        log.info(
            "PixelGate CA certificate: %s\n"
            "  Clients must trust it for provider hosts (other hosts keep their own):\n"
            "  Python: add it to a bundle with certifi's roots, then SSL_CERT_FILE=<bundle>\n"
            "  Node:   NODE_EXTRA_CA_CERTS=%s\n"
            "  curl:   --cacert %s\n"
            "  OS stores, MDM and more: see README, 'Point clients at the proxy'",
            ca,
            ca,
            ca,
        )
        self._trimming = asyncio.get_running_loop().create_task(self._trim_periodically())
        path = ctx.options.pixelgate_policy
        if path and self._follower is None:  # the bundled default policy does not change
            self._follower = Follower(path, lambda: self.gate, self._install)
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
        if self.gate is not None:
            self.gate.audit.close()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _route(self, host: str | None, port: int) -> ProviderAdapter | None:
        return self.gate.route(host, port) if self.gate and host else None

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        # Intercept when either the CONNECT target or the SNI is a provider: a client cannot
        # slip past by sending a misleading SNI, nor by connecting to an address directly.
        address = data.context.server.address
        port = address[1] if address else 443
        names = {data.client_hello.sni, address[0] if address else None}
        if not any(self._route(name, port) for name in names):
            data.ignore_connection = True

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live or self.gate is None:
            return
        adapter = self._match(flow)
        if adapter is None:
            return
        flow.metadata[_META_ADAPTER] = adapter
        flow.request.stream = False  # bodies to providers are inspected whole, never streamed
        declared = flow.request.headers.get("content-length", "")
        limit = self.gate.policy.limits.max_body_bytes
        if declared.isdigit() and int(declared) > limit:
            error = RequestTooLarge(f"request body exceeds the policy limit of {limit} bytes")
            verdict = self._reject(self.gate, adapter, error)
            if verdict is None:
                self._stop_on_audit_failure(flow, adapter)
            else:
                self._apply(flow, verdict)

    def _match(self, flow: http.HTTPFlow) -> ProviderAdapter | None:
        request = flow.request
        return self._route(request.host, request.port) or self._route(
            request.host_header and request.host_header.split(":")[0], request.port
        )

    async def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live or self.gate is None:
            return
        adapter = flow.metadata.get(_META_ADAPTER)
        if not isinstance(adapter, ProviderAdapter):
            return
        gate = self.gate
        served = served_answer(gate.served, flow.request, adapter)
        if served is not None:
            flow.response = mitm_response(served)
            return
        verdict: Verdict | None
        try:
            limit = gate.policy.limits.max_body_bytes
            if flow.request.headers.get("content-encoding", "identity").lower() != "identity":
                # Inflating up to the limit is CPU work: not on the event loop.
                loop = asyncio.get_running_loop()
                wire = await loop.run_in_executor(self._executor, wire_request, flow, limit)
            else:
                wire = wire_request(flow, limit)
            verdict = gate.handle(adapter, wire, cheap_only=True)
            if verdict is None:
                verdict = await self._off_loop(gate, adapter, wire)
        except PixelGateError as e:
            verdict = self._reject(gate, adapter, e)
        except AuditSinkError:
            verdict = None
        except Exception as e:  # noqa: BLE001 - never let mitmproxy forward uninspected
            log.error("PixelGate internal error: %s", type(e).__name__)
            verdict = self._reject(gate, adapter, MalformedRequest("internal error"))
        if verdict is None:
            self._stop_on_audit_failure(flow, adapter)
        else:
            self._apply(flow, verdict)

    async def _off_loop(self, gate: Gate, adapter: ProviderAdapter, wire: WireRequest) -> Verdict:
        """Inspect in a worker thread. The pipeline stops itself at the policy's deadline
        between detectors; a detector that hangs inside is given up on a little later: the
        client gets the timeout answer and the worker's late verdict is discarded unaudited.
        A worker waiting for the local model is not cut off (the model has its own bounds)."""
        ticket = Ticket()
        job = asyncio.get_running_loop().run_in_executor(
            self._executor, functools.partial(gate.handle, adapter, wire, ticket=ticket)
        )
        limit = gate.policy.limits.inspection_timeout_s + _DEADLINE_GRACE_S
        try:
            verdict = await asyncio.wait_for(asyncio.shield(job), limit)
        except TimeoutError:
            if ticket.generating or not ticket.take():
                verdict = await job
            else:
                timeout = InspectionTimeout(
                    "inspection exceeded the policy's limit of "
                    f"{gate.policy.limits.inspection_timeout_s:g} s"
                )
                log.warning("PixelGate gave up on an inspection at the deadline")
                verdict = gate.reject(adapter, timeout)
        assert verdict is not None  # only cheap_only calls return None
        return verdict

    def _reject(
        self, gate: Gate, adapter: ProviderAdapter, error: PixelGateError
    ) -> Verdict | None:
        """A verdict for a request we could not inspect; None when the audit sink failed."""
        try:
            return gate.reject(adapter, error)
        except AuditSinkError:
            return None

    def _apply(self, flow: http.HTTPFlow, verdict: Verdict) -> None:
        if self.gate is None or not self.gate.enforcing:
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
