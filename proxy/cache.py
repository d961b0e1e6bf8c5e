"""One bounded, thread-safe cache for everything PixelGate keeps for a while: decoded images
and their findings, images served from memory, what a directory said, logins that succeeded.

At most `capacity` keys; a key read or stored becomes the most recent, and storing beyond
the capacity drops the least recent. A key may also expire: after the cache's `ttl`, or the
seconds given when it was stored; expired values are dropped at the next store, so a cache
holds at most `capacity` values, live ones. Nothing here is ever written to disk.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedCache(Generic[K, V]):  # noqa: UP046 - PEP 695 syntax needs Python 3.12
    def __init__(self, capacity: int, ttl: float | None = None) -> None:
        self.capacity = capacity
        self.ttl = ttl  # seconds a key lives unless `put` says otherwise; None: until evicted
        self._lock = threading.Lock()
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> V | None:
        """The value stored for `key`, or None when there is none or it has expired."""
        with self._lock:
            hit = self._entries.get(key)
            if hit is None:
                return None
            if hit[0] <= time.monotonic():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return hit[1]

    def put(self, key: K, value: V, seconds: float | None = None) -> None:
        """Store `value` for `key`, for `seconds` (default: the cache's `ttl`)."""
        lifetime = seconds if seconds is not None else self.ttl
        expiry = time.monotonic() + lifetime if lifetime is not None else float("inf")
        with self._lock:
            now = time.monotonic()
            for old in [k for k, (until, _) in self._entries.items() if until <= now]:
                del self._entries[old]  # expired values are not kept until evicted
            self._entries[key] = (expiry, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
