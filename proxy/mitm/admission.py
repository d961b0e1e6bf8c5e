"""What a request's headers decide, before its body is read: whether it goes to a provider
(and which), whether the names it gives for its destination agree, whether its declared size
is within its sender's policy, and which policy (gate) applies to its sender.

A request is matched here, in one place: against every policy in force first (a host one
policy treats as a provider is inspected for everyone, and nobody's directory entry is looked
up for other traffic), then against the chosen policy's routing, which names the adapter.
A keep-alive connection remembers the provider host its first request used: later requests on
it must name the same one (proxy.mitm.destination).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from mitmproxy import http

from proxy.engine.audit import Caller
from proxy.engine.gate import Gate
from proxy.engine.gate_set import GateSet
from proxy.engine.served import served_answer
from proxy.errors import DestinationMismatch, IdentityLookupFailed, PixelGateError, RequestTooLarge
from proxy.mitm.destination import provider_of, touched
from proxy.mitm.flows import claims_of, identity_of
from proxy.providers.base import ProviderAdapter, WireResponse
from proxy.providers.unknown import UNKNOWN

T = TypeVar("T")
OffLoop = Callable[..., Awaitable[T]]


@dataclass(frozen=True)
class Admitted:
    """A provider request whose body is to be read whole and inspected by `gate`."""

    adapter: ProviderAdapter
    gate: Gate
    caller: Caller


@dataclass(frozen=True)
class Refused:
    """A provider request refused on its headers alone, to be answered per `gate`'s policy."""

    adapter: ProviderAdapter
    gate: Gate
    error: PixelGateError
    caller: Caller


@dataclass(frozen=True)
class LinkAnswer:
    """A link the proxy handed out (an image made locally): answered from memory."""

    adapter: ProviderAdapter
    response: WireResponse


Admission = Admitted | Refused | LinkAnswer | None  # None: not a provider's request


class Admissions:
    """Admits requests; remembers the provider host each client connection used."""

    def __init__(self, off_loop: OffLoop[tuple[Gate, Caller]]) -> None:
        self._off_loop = off_loop  # runs a directory lookup in a worker thread
        self._hosts: dict[str, str] = {}  # client connection id -> the provider host it used

    def forget(self, client_id: str) -> None:
        self._hosts.pop(client_id, None)

    async def admit(self, flow: http.HTTPFlow, gates: GateSet) -> Admission:
        claims = claims_of(flow, self._hosts.get(flow.client_conn.id))
        try:
            # Which policy applies is not known yet: any policy's provider host counts.
            found = provider_of(gates.route, claims)
        except DestinationMismatch as e:
            # Answered in the format of the provider it touched, audited under that name.
            named = touched(gates.route, claims) or UNKNOWN
            return Refused(named, gates.default, e, Caller())
        if found is None:
            return None
        matched, host = found
        self._hosts[flow.client_conn.id] = host  # later requests on it must agree
        # Links to locally made images (one store for every policy) need no policy choice.
        served = served_answer(gates.default.served, flow.request, matched)
        if served is not None:
            return LinkAnswer(matched, served)
        who = identity_of(flow)
        try:
            if gates.may_block:  # a directory lookup: not on the event loop
                gate, caller = await self._off_loop(gates.choose, who)
            else:
                gate, caller = gates.choose(who)
        except IdentityLookupFailed as e:
            return Refused(matched, gates.default, e, gates.caller(who))
        adapter = gate.route(flow.request.host, flow.request.port) or matched
        declared = flow.request.headers.get("content-length", "")
        limit = gate.policy.limits.max_body_bytes
        if declared.isdigit() and int(declared) > limit:
            error = RequestTooLarge(f"request body exceeds the policy limit of {limit} bytes")
            return Refused(adapter, gate, error, caller)
        return Admitted(adapter, gate, caller)
