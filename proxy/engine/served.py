"""Answers that the proxy itself serves by URL, from memory only: locally generated images,
and the job documents that polling APIs (Replicate, FLUX) fetch after a forged answer.

A client that asked for a link gets one on the provider host it called; fetching it goes
through the proxy again, which answers from here. Generated paths are unguessable, everything
expires, and the store is bounded: nothing is ever written to disk.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Protocol

from proxy.cache import BoundedCache
from proxy.providers.base import ProviderAdapter, WireResponse

PATH_PREFIX = "/pixelgate/fallback/"


@dataclass(frozen=True)
class Served:
    content_type: str
    body: bytes


class ImageStore:
    """Bodies by path, for `ttl` seconds, at most `max_items` (least recent evicted first)."""

    def __init__(self, ttl: float = 600.0, max_items: int = 256) -> None:
        self._items: BoundedCache[str, Served] = BoundedCache(max_items, ttl)

    def put(self, body: bytes, content_type: str = "image/png", path: str | None = None) -> str:
        """Store `body` and return the path it is served at: `path` when given (the exact
        path a provider's SDK will poll), else a fresh unguessable one under PATH_PREFIX."""
        if path is None:
            suffix = ".png" if content_type == "image/png" else ""
            path = f"{PATH_PREFIX}{secrets.token_urlsafe(24)}{suffix}"
        self._items.put(path, Served(content_type, body))
        return path

    def get(self, path: str) -> Served | None:
        """What is served at `path` (query string ignored), or None."""
        return self._items.get(path.partition("?")[0])


def url_for(host: str, port: int, path: str) -> str:
    authority = host if port == 443 else f"{host}:{port}"
    return f"https://{authority}{path}"


def is_served_path(path: str) -> bool:
    """A path under our own prefix: answered from the store or as expired, never forwarded."""
    return path.startswith(PATH_PREFIX)


class _Request(Protocol):
    @property
    def method(self) -> str: ...

    @property
    def path(self) -> str: ...


def served_answer(
    store: ImageStore, request: _Request, adapter: ProviderAdapter
) -> WireResponse | None:
    """The answer to a GET for a link or job document the proxy handed out, from memory; a
    link under our own prefix that has expired is gone. None: not ours, forward it."""
    if request.method != "GET":
        return None
    served = store.get(request.path)
    if served is not None:
        headers = (("content-type", served.content_type), ("cache-control", "no-store"))
        return WireResponse(200, headers, served.body)
    if not is_served_path(request.path):
        return None
    expired = adapter.render_error(
        404, "This PixelGate image link has expired", "pixelgate_expired", "not_found"
    )
    return WireResponse(404, (*expired.headers, ("cache-control", "no-store")), expired.body)
