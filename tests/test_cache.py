"""BoundedCache: the one cache type PixelGate keeps things in for a while."""

from __future__ import annotations

import threading
import time

from proxy.cache import BoundedCache


def test_a_stored_value_is_read_back_until_it_expires() -> None:
    cache: BoundedCache[str, int] = BoundedCache(4, ttl=0.2)
    cache.put("a", 1)
    assert cache.get("a") == 1
    time.sleep(0.25)
    assert cache.get("a") is None
    assert len(cache) == 0  # an expired key read is dropped


def test_seconds_given_at_store_override_the_caches_ttl() -> None:
    cache: BoundedCache[str, int] = BoundedCache(4, ttl=60)
    cache.put("short", 1, seconds=0.1)
    cache.put("long", 2)
    time.sleep(0.15)
    assert cache.get("short") is None and cache.get("long") == 2


def test_without_a_ttl_keys_live_until_evicted() -> None:
    cache: BoundedCache[str, int] = BoundedCache(2)
    cache.put("a", 1)
    assert cache.get("a") == 1


def test_the_least_recently_used_key_is_evicted_beyond_capacity() -> None:
    cache: BoundedCache[str, int] = BoundedCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c")) == (1, 3)


def test_expired_values_are_dropped_at_the_next_store() -> None:
    cache: BoundedCache[int, bytes] = BoundedCache(100, ttl=0.1)
    for n in range(10):
        cache.put(n, b"x" * 1000)
    time.sleep(0.15)
    cache.put(99, b"y")
    assert len(cache) == 1


def test_many_threads_never_exceed_the_capacity() -> None:
    cache: BoundedCache[int, int] = BoundedCache(50, ttl=5)

    def work(offset: int) -> None:
        for n in range(2000):
            cache.put(offset + n, n)
            cache.get(offset + n // 2)

    threads = [threading.Thread(target=work, args=(t * 10_000,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache) <= 50
