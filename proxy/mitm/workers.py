"""Running a gate on a provider request in a worker thread, within the policy's inspection
deadline. Nothing of it runs on mitmproxy's event loop: not the body's decoding, not the
parse, not the smallest prompt (a prompt's size says nothing of what a pattern costs on it).

A rerouted request holds its worker while it waits for the local model, so the pool has room
for every request the fallback queues may hold besides the inspection workers: waiting
reroutes never starve the inspection of other traffic (a full queue answers 503 instead).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from mitmproxy import http

from proxy.engine.gate import Call, Gate, Verdict
from proxy.engine.gate_set import GateSet
from proxy.errors import AuditSinkError, InspectionTimeout, InternalError, PixelGateError
from proxy.mitm.flows import wire_request
from proxy.providers.base import ProviderAdapter

log = logging.getLogger("pixelgate")

T = TypeVar("T")
INSPECTION_WORKERS = 4
# How long past the policy's inspection deadline a worker may still answer: the pipeline
# checks the deadline between detectors, so only a detector stuck inside needs this.
DEADLINE_GRACE_S = 5.0


class Workers:
    """The worker threads that inspect requests (and wait for the local model)."""

    def __init__(self) -> None:
        self._workers = INSPECTION_WORKERS
        self._executor = ThreadPoolExecutor(self._workers, thread_name_prefix="pixelgate")

    def fit(self, gates: GateSet) -> None:
        """Size the pool for `gates`' fallback queues; work already running finishes."""
        # Per loaded model (policies with the same fallback settings share one queue).
        queues = {id(g.fallback): g.policy.fallback.max_pending for g in gates.gates if g.fallback}
        waiting = sum(queues.values())
        if INSPECTION_WORKERS + waiting != self._workers:
            self._workers = INSPECTION_WORKERS + waiting
            previous = self._executor
            self._executor = ThreadPoolExecutor(self._workers, thread_name_prefix="pixelgate")
            previous.shutdown(wait=False)

    async def run(self, work: Callable[..., T], *args: object) -> T:
        """`work(*args)` in a worker thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, work, *args)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def verdict(
        self, flow: http.HTTPFlow, gate: Gate, adapter: ProviderAdapter, call: Call
    ) -> Verdict | None:
        """The gate's verdict on `flow`; None when the audit sink failed."""
        try:
            return await self._off_loop(flow, gate, adapter, call)
        except PixelGateError as e:
            return reject(gate, adapter, e, call)
        except AuditSinkError:
            return None
        except Exception as e:  # noqa: BLE001 - never let mitmproxy forward uninspected
            log.error("PixelGate internal error: %s", type(e).__name__)
            return reject(gate, adapter, InternalError("internal error"), call)

    async def _off_loop(
        self, flow: http.HTTPFlow, gate: Gate, adapter: ProviderAdapter, call: Call
    ) -> Verdict:
        """Inspect in a worker thread. The pipeline stops itself at the policy's deadline
        between detectors; a detector that hangs inside is given up on a little later: the
        client gets the timeout answer and the worker's late verdict is discarded unaudited.
        A worker waiting for the local model is not cut off (the model has its own bounds)."""
        job = asyncio.get_running_loop().run_in_executor(
            self._executor, functools.partial(_handle, flow, gate, adapter, call)
        )
        limit = gate.policy.limits.inspection_timeout_s + DEADLINE_GRACE_S
        try:
            verdict = await asyncio.wait_for(asyncio.shield(job), limit)
        except TimeoutError:
            if call.ticket.generating or not call.ticket.take():
                verdict = await job
            else:
                timeout = InspectionTimeout(
                    "inspection exceeded the policy's limit of "
                    f"{gate.policy.limits.inspection_timeout_s:g} s"
                )
                log.warning("PixelGate gave up on an inspection at the deadline")
                verdict = gate.reject(adapter, timeout, call=Call(call.caller))
        return verdict


def _handle(flow: http.HTTPFlow, gate: Gate, adapter: ProviderAdapter, call: Call) -> Verdict:
    """In a worker: the body decoded within the policy's limit, then the gate's verdict.
    (mitmproxy awaits the hook meanwhile, so nothing else touches the flow.)"""
    try:
        wire = wire_request(flow, gate.policy.limits.max_body_bytes)
    except PixelGateError as e:
        return gate.reject(adapter, e, call=call)
    return gate.handle(adapter, wire, call=call)


def reject(
    gate: Gate, adapter: ProviderAdapter, error: PixelGateError, call: Call
) -> Verdict | None:
    """A verdict for a request we could not inspect; None when the audit sink failed."""
    try:
        return gate.reject(adapter, error, call=call)
    except AuditSinkError:
        return None
