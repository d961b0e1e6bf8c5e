"""One provider request in, one verdict out: parse, inspect, decide, audit.

This is the whole enforcement logic without mitmproxy, so it is tested directly and shared
by the addon and the command line. It never raises for a request: every failure becomes a
verdict per `on_error`, with an audit event. The only exception it lets out is
`AuditSinkError`, because traffic must not pass unrecorded.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from proxy.detectors.base import Detector
from proxy.detectors.technical import worth_reading
from proxy.engine.audit import NOBODY, AuditEvent, AuditWriter, Caller, count_findings, fingerprint
from proxy.engine.envelope import REF_PREFIX, settled, with_envelope
from proxy.engine.outcome import outcome_of, unless_unrewritable
from proxy.engine.pipeline import Outcome, Pipeline
from proxy.engine.reroute import ImageModel, answer_locally, failure_answer
from proxy.engine.served import ImageStore
from proxy.errors import InspectionFailed, PixelGateError, RequestRejected
from proxy.model import Action, ImageRequest
from proxy.policy import Policy
from proxy.providers.base import ProviderAdapter, WireRequest, WireResponse
from proxy.providers.routing import Router, passes_through

# Requests without a body carry no prompt or image (model lists, job status, ...).
_BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


class Ticket:
    """One request's single audit event: whoever takes the ticket first writes it (the
    worker that inspected the request, or the proxy giving up on it at the deadline).
    `generating` says the worker has finished inspecting and waits for the local model."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._taken = False
        self.generating = False

    def take(self) -> bool:
        with self._lock:
            taken, self._taken = self._taken, True
        return not taken


@dataclass
class Call:
    """One request's bookkeeping: who sent it, its audit ticket, its id and when it began."""

    caller: Caller = NOBODY
    ticket: Ticket = field(default_factory=Ticket)
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started: float = field(default_factory=time.perf_counter)


@dataclass(frozen=True)
class Verdict:
    """What the proxy does: answer itself (`response`), forward a new `body`, or forward as is."""

    action: Action
    event: AuditEvent
    response: WireResponse | None = None
    body: bytes | None = None


class Gate:
    """A compiled policy: router, pipeline and audit sink."""

    def __init__(
        self,
        policy: Policy,
        adapters: Sequence[ProviderAdapter],
        detectors: Sequence[Detector],
        audit: AuditWriter,
        fallback: ImageModel | None = None,
    ) -> None:
        self.policy = policy
        self.router = Router(adapters, policy.providers)
        self.pipeline = Pipeline(policy, detectors)
        self.fallback = fallback
        self.served = ImageStore()
        self.audit = audit
        self.observers: list[Callable[[AuditEvent], None]] = []  # see each written event
        key = os.environ.get(policy.audit.fingerprint_key_env, "")
        self._fingerprint_key = key.encode("utf-8") if key else None
        wanted = policy.audit.user_ids
        self._user_ids = self.enforcing if wanted is None else wanted

    @property
    def enforcing(self) -> bool:
        return self.policy.mode == "enforce"

    def route(self, host: str, port: int) -> ProviderAdapter | None:
        return self.router.match(host, port)

    def handle(
        self,
        adapter: ProviderAdapter,
        wire: WireRequest,
        *,
        call: Call | None = None,
    ) -> Verdict:
        """The verdict for one request (costly: call it off the event loop). The audit
        event is written only if this call takes `call`'s ticket."""
        call = call or Call()
        deadline = time.monotonic() + self.policy.limits.inspection_timeout_s
        # A websocket upgrade is a body-less GET whose messages would pass uninspected: the
        # adapter sees it (and refuses what it cannot read), like any request with content.
        upgrade = wire.headers.get("upgrade", "")
        bodyless = wire.method.upper() in _BODYLESS_METHODS and not wire.body and not upgrade
        if passes_through(self.policy.passthrough.get(adapter.name, ()), wire.path):
            why = (f"endpoint forwarded uninspected (providers.{adapter.name}.passthrough)",)
            event = self._event(
                call, adapter, "passthrough", Action.ALLOW, "passthrough", reasons=why
            )
            return self._finish(event, call)
        try:
            # A request without a body (model lists, job status) says something only in
            # its URL and headers; those are read for every request.
            parsed = ImageRequest(adapter.name, "none") if bodyless else adapter.parse(wire)
            ready = not bodyless and self.fallback is not None and adapter.can_render(parsed)
            request = _readable(with_envelope(parsed, wire))
            outcome = unless_unrewritable(
                settled(
                    outcome_of(self.pipeline, self.policy.remote_images, request, ready, deadline),
                    ready,
                ),
                adapter.unrewritable(wire),
                ready,
            )
            rerouted = outcome.decision.action is Action.REROUTE and self.enforcing
            body = self._rewrite(adapter, wire, outcome)
        except PixelGateError as e:
            return self.reject(adapter, e, call=call)
        except Exception as e:  # noqa: BLE001 - fail closed on anything a library throws
            return self.reject(
                adapter, InspectionFailed(f"inspection failed ({type(e).__name__})"), call=call
            )
        decision = outcome.decision
        event = self._event(
            call,
            adapter,
            outcome.request.operation,
            decision.action,
            decision.rule_id,
            outcome=outcome,
        )
        if not self.enforcing or decision.action is Action.ALLOW:
            return self._finish(event, call, Verdict(decision.action, event))
        if decision.action is Action.REDACT and body is not None:
            return self._finish(event, call, Verdict(Action.REDACT, event, body=body))
        if rerouted:
            call.ticket.generating = True
            generating = time.perf_counter()
            verdict = self._rerouted(adapter, wire, outcome, event)
            ms = round((time.perf_counter() - generating) * 1000, 3)
            timed = replace(verdict.event, timings_ms={**verdict.event.timings_ms, "fallback": ms})
            return self._finish(timed, call, verdict)
        message = "Blocked by PixelGate policy: " + "; ".join(decision.reasons)
        response = adapter.render_error(403, message, "pii_blocked", "policy_violation")
        return self._finish(event, call, Verdict(decision.action, event, response=response))

    def _rerouted(
        self, adapter: ProviderAdapter, wire: WireRequest, outcome: Outcome, event: AuditEvent
    ) -> Verdict:
        """The local model's answer. If it cannot give one, the client gets an error and the
        request goes nowhere: whatever on_error says, the policy wanted it kept home."""
        assert self.fallback is not None
        try:
            answer = answer_locally(self.fallback, adapter, wire, outcome.request, self.served)
            return Verdict(Action.REROUTE, event, response=answer)
        except Exception as e:  # noqa: BLE001 - any failure is answered, never forwarded
            code, answer = failure_answer(adapter, e)
            failed = replace(event, action=Action.BLOCK.value, error=code)
            return Verdict(Action.BLOCK, failed, response=answer)

    def reject(
        self, adapter: ProviderAdapter, error: PixelGateError, *, call: Call | None = None
    ) -> Verdict:
        """A request that could not be inspected: `on_error` decides (unless the error may
        never be forwarded, as when the sender's identity is unknown); audit mode forwards."""
        call = call or Call()
        allow = self.policy.on_error == "allow" and error.forwardable
        action = Action.ALLOW if allow else Action.BLOCK
        reasons = (str(error),)
        event = self._event(
            call, adapter, "unknown", action, "on_error", error=error.code, reasons=reasons
        )
        if not self.enforcing or action is Action.ALLOW:
            return self._finish(event, call, Verdict(action, event))
        message = f"PixelGate could not inspect this request: {error}"
        status = error.status if isinstance(error, RequestRejected | InspectionFailed) else 502
        response = adapter.render_error(status, message, error.code, error.kind)
        return self._finish(event, call, Verdict(action, event, response=response))

    def _rewrite(
        self, adapter: ProviderAdapter, wire: WireRequest, outcome: Outcome
    ) -> bytes | None:
        if outcome.decision.action is not Action.REDACT or outcome.forward is None:
            return None
        if not self.enforcing:
            return None
        return adapter.apply(wire, outcome.forward)

    def _event(
        self,
        call: Call,
        adapter: ProviderAdapter,
        operation: str,
        action: Action,
        rule: str,
        *,
        outcome: Outcome | None = None,
        error: str | None = None,
        reasons: tuple[str, ...] = (),
    ) -> AuditEvent:
        request: ImageRequest | None = outcome.request if outcome else None
        return AuditEvent(
            request_id=call.request_id,
            mode=self.policy.mode,
            provider=adapter.name,
            operation=operation,
            action=action.value,
            rule=rule,
            enforced=self.enforcing,
            findings=count_findings(outcome.findings) if outcome else {},
            reasons=outcome.decision.reasons if outcome else reasons,
            error=error,
            timings_ms=dict(outcome.timings_ms) if outcome else {},
            fingerprint=(
                fingerprint(self._fingerprint_key, request)
                if self._fingerprint_key and request is not None
                else None
            ),
            user=call.caller.user if self._user_ids else None,
            selection=call.caller.selection,
        )

    def _finish(self, event: AuditEvent, call: Call, verdict: Verdict | None = None) -> Verdict:
        total = round((time.perf_counter() - call.started) * 1000, 3)
        event = replace(event, timings_ms={**event.timings_ms, "total": total})
        if call.ticket.take():  # else the proxy gave up on this request and audited that instead
            self.audit.write(event)
            for observe in self.observers:
                observe(event)
        if verdict is None:
            return Verdict(Action(event.action), event)
        return Verdict(verdict.action, event, verdict.response, verdict.body)


def _readable(request: ImageRequest) -> ImageRequest:
    """`request` without the technical parts (URL, headers, keys, numbers, parameters) that
    can hold no personal data: most requests then need no text analysis beyond the prompt."""
    kept = tuple(
        p for p in request.prompts if not p.ref.startswith(REF_PREFIX) or worth_reading(p.text)
    )
    return request.with_prompts(kept) if len(kept) != len(request.prompts) else request
