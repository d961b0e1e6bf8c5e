"""Locally generated images that the proxy itself serves by URL, from memory only.

An OpenAI client that asked for `response_format: url` gets a link on the provider host it
called; fetching it goes through the proxy again, which answers from here. Links are
unguessable, expire, and the store is bounded: nothing is ever written to disk.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict

PATH_PREFIX = "/pixelgate/fallback/"


class ImageStore:
    """PNG bytes by token, for `ttl` seconds, at most `max_images` (oldest evicted first)."""

    def __init__(self, ttl: float = 600.0, max_images: int = 256) -> None:
        self.ttl = ttl
        self.max_images = max_images
        self._items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, png: bytes) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._expire(time.monotonic())
            self._items[token] = (time.monotonic() + self.ttl, png)
            while len(self._items) > self.max_images:
                self._items.popitem(last=False)
        return token

    def get(self, token: str) -> bytes | None:
        with self._lock:
            self._expire(time.monotonic())
            item = self._items.get(token)
        return item[1] if item else None

    def _expire(self, now: float) -> None:
        while self._items and next(iter(self._items.values()))[0] <= now:
            self._items.popitem(last=False)


def url_for(host: str, port: int, token: str) -> str:
    authority = host if port == 443 else f"{host}:{port}"
    return f"https://{authority}{PATH_PREFIX}{token}.png"


def token_of(path: str) -> str | None:
    """The token in a served-image path, or None for any other path."""
    if not path.startswith(PATH_PREFIX):
        return None
    name = path[len(PATH_PREFIX) :].partition("?")[0]
    return name.removesuffix(".png") or None
