"""Handing freed memory back to the operating system, so a long-running proxy's resident size
follows its live data rather than its busiest minute.

glibc keeps freed heap pages for reuse; after a burst of large bodies and images a process
can look tens of MiB bigger than it is. `malloc_trim(0)` returns those pages. Elsewhere (not
glibc) this does nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import sys
from collections.abc import Callable
from functools import cache

INTERVAL_S = 30.0


@cache
def _trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def release_free_memory() -> bool:
    """Return freed heap pages to the OS; False where the C library cannot."""
    trim = _trim()
    if trim is None:
        return False
    trim(0)
    return True


class Trimmer:
    """A sub-addon that releases free memory every `INTERVAL_S` while the proxy runs (in a
    worker thread: a trim walks the whole heap)."""

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    def running(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._trim_periodically())

    async def _trim_periodically(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(INTERVAL_S)
            await loop.run_in_executor(None, release_free_memory)

    def done(self) -> None:
        if self._task is not None:
            self._task.cancel()
