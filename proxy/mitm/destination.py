"""Which provider a request goes to, from every name it gives for its destination.

A request names where it goes several times: the address the proxy connects to (the CONNECT
target, the transparent destination or the absolute-form URI), the TLS SNI, the Host header(s)
and HTTP/2's `:authority`; a keep-alive connection adds the name an earlier request on it went
to. The provider's front end may route by any of them, so when any one is a provider host the
request is that provider's, and all of them must name the same host, or the request is refused
(`DestinationMismatch`). IP literals that route nowhere are left out of the comparison: a
transparent destination is an address, not a name.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from proxy.errors import DestinationMismatch
from proxy.providers.base import ProviderAdapter

Route = Callable[[str, int], ProviderAdapter | None]


@dataclass(frozen=True)
class Claims:
    """Every name one request gives for its destination."""

    target: str  # where the proxy would connect
    port: int
    sni: str | None = None
    authorities: tuple[str, ...] = ()  # Host header values and :authority, as sent
    earlier: str | None = None  # the provider host an earlier request on this connection used


def provider_of(route: Route, claims: Claims) -> tuple[ProviderAdapter, str] | None:
    """The adapter of the provider `claims` go to, and its host name; None when no name is
    a provider host. Raises DestinationMismatch when a provider host is among names that
    disagree. Every name is routed on the port the proxy connects to: that is where the
    bytes go, whatever port a Host header writes."""
    names: set[str] = set()
    malformed = False
    for host, port in _names(claims):
        if host is None or (port is not None and port != claims.port):
            malformed = True
        if host is not None:
            names.add(host)
    routed = {host: route(host, claims.port) for host in names}
    touched = sorted((h, a) for h, a in routed.items() if a is not None)
    if not touched:
        return None
    compared = {h for h, a in routed.items() if a is not None or not is_ip(h)}
    if len(compared) > 1 or malformed:
        raise DestinationMismatch(
            "the request names more than one destination (connection target, TLS server "
            "name, Host header or :authority disagree)"
        )
    host, adapter = touched[0]
    return adapter, host


def touched(route: Route, claims: Claims) -> ProviderAdapter | None:
    """The adapter of the first provider host among `claims`' names, agreeing or not: whose
    error format a refused request is answered in."""
    for host, _ in _names(claims):
        adapter = route(host, claims.port) if host is not None else None
        if adapter is not None:
            return adapter
    return None


def _names(claims: Claims) -> Iterable[tuple[str | None, int | None]]:
    """Each name with the port it writes (None: none written)."""
    yield _host(claims.target), None
    if claims.sni:
        yield _host(claims.sni), None
    if claims.earlier:
        yield _host(claims.earlier), None
    for authority in claims.authorities:
        yield _split(authority)


def _split(authority: str) -> tuple[str | None, int | None]:
    """'host', 'host:port', '[v6]:port' -> (normalised host, port); (None, None) if malformed."""
    text = authority.strip()
    port_text = ""
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            return None, None
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    elif ":" in text:
        return None, None
    else:
        host = text
    if port_text and (not port_text.isdigit() or not 0 < int(port_text) < 65536):
        return None, None
    return _host(host), int(port_text) if port_text else None


def _host(name: str) -> str | None:
    host = name.strip().lower().rstrip(".").removeprefix("[").removesuffix("]")
    if not host or any(c in host for c in " \t/\\@?#%"):
        return None
    return host


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
