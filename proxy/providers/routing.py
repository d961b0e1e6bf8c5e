"""Which adapter, if any, speaks for a host. Unknown hosts are not PixelGate's business."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from proxy.providers.base import ProviderAdapter


@dataclass(frozen=True)
class HostPattern:
    """ "host", "host:port", "*.domain" or "*.domain:port"; without a port, any port matches.
    "*-name.domain" matches one label ending in "-name" (Vertex AI's "<region>-aiplatform")."""

    host: str
    port: int | None = None

    @classmethod
    def parse(cls, spec: str) -> HostPattern:
        text = spec.strip().lower().rstrip(".")
        port: int | None = None
        if text.startswith("["):  # [IPv6]:port
            addr, _, rest = text[1:].partition("]")
            if rest:
                port = _port(rest.removeprefix(":"), spec)
            text = addr
        elif text.count(":") == 1:
            text, _, port_text = text.partition(":")
            port = _port(port_text, spec)
        wild = text.removeprefix("*.").removeprefix("*-")
        if not text or " " in text or "/" in text or "*" in wild:
            raise ValueError(f"not a host pattern: {spec!r}")
        return cls(text, port)

    def matches(self, host: str, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        host = host.lower().rstrip(".")
        if self.host.startswith("*."):
            return host.endswith(self.host[1:]) and len(host) > len(self.host) - 1
        if self.host.startswith("*-"):
            prefix = host[: len(host) - len(self.host) + 1]
            return host.endswith(self.host[1:]) and bool(prefix) and "." not in prefix
        return host == self.host


def _port(text: str, spec: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"not a host pattern (bad port): {spec!r}")
    return int(text)


class Router:
    """Maps (host, port) to a provider adapter: its default hosts plus the policy's additions."""

    def __init__(
        self, adapters: Sequence[ProviderAdapter], extra_hosts: Mapping[str, Sequence[str]]
    ) -> None:
        by_name = {a.name: a for a in adapters}
        unknown = sorted(set(extra_hosts) - set(by_name))
        if unknown:
            raise ValueError(
                f"unknown provider {unknown[0]!r} (known: {', '.join(sorted(by_name))})"
            )
        self._table: list[tuple[HostPattern, ProviderAdapter]] = []
        for adapter in adapters:
            specs = [*adapter.default_hosts, *extra_hosts.get(adapter.name, ())]
            self._table.extend((HostPattern.parse(s), adapter) for s in specs)

    def match(self, host: str, port: int) -> ProviderAdapter | None:
        for pattern, adapter in self._table:
            if pattern.matches(host, port):
                return adapter
        return None


def passes_through(patterns: Sequence[str], path: str) -> bool:
    """Whether `path` (its query ignored) is one a policy forwards uninspected. A path that
    a server might resolve to another one ('..', '.', '//', percent-escapes, backslashes)
    never matches: it is inspected, and refused if it is no endpoint PixelGate reads."""
    path = path.split("?", 1)[0].split("#", 1)[0]
    segments = path.split("/")[1:]
    if not path.startswith("/") or "%" in path or "\\" in path:
        return False
    if any(s in (".", "..") for s in segments) or "" in segments[:-1]:
        return False
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns)
