"""Between mitmproxy's flows and PixelGate's own wire types."""

from __future__ import annotations

from types import MappingProxyType

from mitmproxy import http

from proxy.errors import MalformedRequest, RequestTooLarge
from proxy.identity.selection import Identity
from proxy.mitm.decoding import decode_body
from proxy.mitm.destination import Claims
from proxy.providers.base import WireRequest, WireResponse


def wire_request(flow: http.HTTPFlow, max_body: int) -> WireRequest:
    """The request as PixelGate's adapters read it: headers lower-cased, the body decoded
    from its Content-Encoding within `max_body` bytes."""
    request = flow.request
    if request.raw_content is None:
        raise MalformedRequest("request body was streamed and cannot be inspected")
    if request.headers.get("transfer-encoding", "chunked").replace(" ", "").lower() != "chunked":
        # mitmproxy undoes only `chunked`: the body would still be gzip'd etc. under it.
        raise MalformedRequest("transfer codings other than chunked are not supported")
    # Not mitmproxy's get_content: it inflates with no limit and reads one coding only.
    encoding = ", ".join(request.headers.get_all("content-encoding"))
    body = decode_body(request.raw_content, encoding, max_body)
    if len(body) > max_body:
        raise RequestTooLarge(f"request body exceeds the policy limit of {max_body} bytes")
    headers = {k.lower(): ", ".join(request.headers.get_all(k)) for k in request.headers}
    return WireRequest(
        method=request.method,
        host=request.host,
        port=request.port,
        path=request.path,
        headers=MappingProxyType(headers),
        body=body,
    )


def mitm_response(response: WireResponse) -> http.Response:
    """An answer PixelGate gives itself, as a mitmproxy response."""
    return http.Response.make(response.status, response.body, dict(response.headers))


def identity_of(flow: http.HTTPFlow) -> Identity:
    """Who sent `flow`: the user mitmproxy's proxyauth accepted (None without proxyauth) and
    the client's address."""
    auth = flow.metadata.get("proxyauth")
    user = auth[0] if isinstance(auth, tuple) and auth and isinstance(auth[0], str) else None
    peer = flow.client_conn.peername
    return Identity(user, str(peer[0]) if peer else None)


def claims_of(flow: http.HTTPFlow, earlier: str | None) -> Claims:
    """Every name `flow` gives for where it goes (see proxy.mitm.destination)."""
    request = flow.request
    authorities = [*request.headers.get_all("host")]
    if request.authority:
        authorities.append(request.authority)
    return Claims(
        target=request.host,
        port=request.port,
        sni=flow.client_conn.sni,
        authorities=tuple(authorities),
        earlier=earlier,
    )
