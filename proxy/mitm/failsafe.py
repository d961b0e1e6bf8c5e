"""The one way a hook decides a flow's fate: its failure path refuses the flow, and audits.

mitmproxy's addon manager logs an exception raised by a hook and then carries on with the
flow, which would forward it uninspected. Every PixelGate hook that decides what happens to
a request therefore runs its step through `decided`/`decided_async`: whatever the step raises
(or a step that claims the flow and then leaves it undecided) ends in `fail`, which answers
the flow with an error and writes one audit event; if even that fails, the flow is answered
with a fixed 502 here. So a bug anywhere in the decision path blocks rather than forwards.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from mitmproxy import http

from proxy.errors import InternalError, PixelGateError
from proxy.providers.base import ProviderAdapter, WireResponse

log = logging.getLogger("pixelgate")

# A step returns whether the flow is PixelGate's (a provider request it must decide).
Step = Callable[[], bool]
Fail = Callable[[http.HTTPFlow, PixelGateError], None]
SETTLED = "pixelgate_settled"  # flow.metadata key: a verdict was applied to the flow
DECISION_HEADER = "X-PixelGate-Decision"


def decided(flow: http.HTTPFlow, step: Step, fail: Fail) -> None:
    """Run `step`; on any exception, `fail` the flow."""
    try:
        step()
    except Exception as e:  # noqa: BLE001 - nothing may leave a hook: mitmproxy would forward
        _failed(flow, fail, e)


async def decided_async(
    flow: http.HTTPFlow, step: Callable[[], Awaitable[bool]], fail: Fail
) -> None:
    """Await `step`; on any exception, or when it claims the flow without settling it
    (no verdict applied, no answer given), `fail` the flow."""
    try:
        ours = await step()
    except Exception as e:  # noqa: BLE001 - nothing may leave a hook: mitmproxy would forward
        _failed(flow, fail, e)
        return
    if ours and flow.response is None and not flow.metadata.get(SETTLED):
        _failed(flow, fail, None)


def _failed(flow: http.HTTPFlow, fail: Fail, cause: Exception | None) -> None:
    what = type(cause).__name__ if cause is not None else "no verdict"
    log.error("PixelGate internal error while deciding a request: %s", what)
    flow.response = None  # whatever the failed step left half-done is not the answer
    try:
        fail(flow, InternalError(f"PixelGate failed while deciding this request ({what})"))
    except Exception as e:  # noqa: BLE001 - the last line: answer without any of our parts
        log.error("PixelGate could not refuse a request cleanly: %s", type(e).__name__)
        headers = {"content-type": "text/plain", DECISION_HEADER: "block"}
        flow.response = http.Response.make(502, _LAST_RESORT, headers)


_LAST_RESORT = b"PixelGate could not decide on this request and refused it.\n"


def last_resort(adapter: ProviderAdapter, error: PixelGateError) -> WireResponse:
    """An error answer that needs no gate (before any policy is loaded)."""
    return adapter.render_error(502, str(error), error.code, error.kind)


def unrecorded(adapter: ProviderAdapter) -> WireResponse:
    """The answer when the audit file cannot be written, and the proxy stops: like
    mitmproxy's save addon, crash visibly rather than let traffic through unrecorded."""
    log.error("PixelGate stops: the audit log cannot be written")
    answer = adapter.render_error(
        503,
        "PixelGate cannot record this request and is stopping",
        "pixelgate_audit_unavailable",
        "server_error",
    )
    return WireResponse(answer.status, (*answer.headers, (DECISION_HEADER, "block")), answer.body)
