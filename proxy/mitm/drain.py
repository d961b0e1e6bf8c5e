"""Graceful shutdown: stop accepting connections, let requests in flight finish, then stop.

mitmproxy's `master.shutdown()` ends its run at once and `asyncio.run` then cancels every
connection task: a request still being inspected, or waiting for its provider, is cut and its
client sees a reset. `Drain` closes the listening sockets first (open connections stay up),
waits until no request is in flight or the bound has passed, and only then shuts down.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from mitmproxy import http
from mitmproxy.addonmanager import Loader

if TYPE_CHECKING:
    from mitmproxy.optmanager import OptManager

log = logging.getLogger("pixelgate")

DRAIN_OPTION = "pixelgate_drain_timeout"
# After the last answer leaves the response hook it still has to be written to its socket.
_SETTLE_S = 0.5
_POLL_S = 0.05


class InFlight:
    """A mitmproxy addon counting HTTP requests between their headers and their answer (or
    their error): every request counted is eventually uncounted by `response` or `error`."""

    def __init__(self) -> None:
        self._flows: set[str] = set()

    def load(self, loader: Loader) -> None:
        loader.add_option(
            DRAIN_OPTION,
            int,
            30,
            "Seconds a stopping PixelGate (SIGTERM, SIGINT) waits for requests in flight to be "
            "answered before it exits anyway. A second signal stops it at once.",
        )

    @property
    def count(self) -> int:
        return len(self._flows)

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        self._flows.add(flow.id)

    def response(self, flow: http.HTTPFlow) -> None:
        self._flows.discard(flow.id)

    def error(self, flow: http.HTTPFlow) -> None:
        self._flows.discard(flow.id)


class Drain:
    """Stops gracefully on the first `request()`, at once (`shutdown`) on the second."""

    def __init__(
        self, options: OptManager, shutdown: Callable[[], None], inflight: InFlight
    ) -> None:
        self._options = options
        self._shutdown = shutdown
        self._inflight = inflight
        self._task: asyncio.Task[None] | None = None

    def request(self) -> None:
        if self._task is not None:
            count = self._inflight.count
            log.warning("PixelGate stops now: %d request(s) in flight are cut", count)
            self._shutdown()
            return
        self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        bound = float(getattr(self._options, DRAIN_OPTION))
        log.info(
            "PixelGate is stopping: no new connections; %d request(s) in flight get %g s",
            self._inflight.count,
            bound,
        )
        self._options.update(server=False)  # type: ignore[no-untyped-call]  # listeners only
        deadline = time.monotonic() + bound
        while self._inflight.count and time.monotonic() < deadline:
            await asyncio.sleep(_POLL_S)
        if self._inflight.count:
            log.warning(
                "PixelGate stops at the %g s bound: %d request(s) in flight are cut",
                bound,
                self._inflight.count,
            )
        await asyncio.sleep(_SETTLE_S)
        self._shutdown()
