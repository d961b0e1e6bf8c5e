"""A bounded queue in front of one `Generator`: one worker thread runs the model, callers wait.

Rerouted requests arrive on many threads (or from an event loop through `submit`, which returns
a Future that `asyncio.wrap_future` can await). One worker thread owns the generator, so the
pipeline is never entered twice at once. When the generator has a `generate_batch` method the
worker batches: it takes the oldest request and, for at most `max_wait_ms`, gathers others that
can share one pipeline call (text-to-image at the same width and height; the generator's step
count is the same for all of them) until they add up to `max_batch` images. A GPU makes several
images in one call almost as fast as one; on CPU batching gains little but stays correct.

The queue is bounded: beyond `max_pending` requests waiting or running, `FallbackBusy` is raised
at once with a `retry_after` estimate, for the proxy to answer 503 with Retry-After. Nothing here
logs, and no message contains a prompt or an image.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from local_fallback.generator import GenerationRequest, Generator
from proxy.errors import FallbackBusy, FallbackUnavailable

# How many recent pipeline calls the Retry-After estimate averages over.
_HISTORY = 32

BatchCall = Callable[[Sequence[GenerationRequest]], list[list[bytes]]]


@dataclass
class _Item:
    request: GenerationRequest
    future: Future[list[bytes]] = field(default_factory=Future)


class GenerationQueue:
    """Serialises and batches generation for one generator; `generate` is thread-safe."""

    def __init__(
        self,
        generator: Generator,
        *,
        max_pending: int = 16,
        max_batch: int = 4,
        max_wait_ms: float = 20.0,
    ) -> None:
        if max_pending < 1 or max_batch < 1 or max_wait_ms < 0:
            raise ValueError("max_pending and max_batch must be at least 1, max_wait_ms >= 0")
        self._generator = generator
        self._max_pending = max_pending
        self._max_batch = max_batch
        self._max_wait = max_wait_ms / 1000.0
        self._batch: BatchCall | None = getattr(generator, "generate_batch", None)
        self._cond = threading.Condition()
        self._waiting: deque[_Item] = deque()  # guarded by _cond
        self._active = 0  # requests waiting or running; guarded by _cond
        self._closed = False  # guarded by _cond
        self._seconds_per_request: deque[float] = deque(maxlen=_HISTORY)  # guarded by _cond
        self._worker = threading.Thread(
            target=self._run, name="pixelgate-fallback-generator", daemon=True
        )
        self._worker.start()

    @property
    def model(self) -> str:
        return self._generator.model

    @property
    def device(self) -> str:
        return self._generator.device

    @property
    def dtype(self) -> str:
        return self._generator.dtype

    @property
    def pending(self) -> int:
        """Requests waiting or running now."""
        with self._cond:
            return self._active

    def submit(self, request: GenerationRequest) -> Future[list[bytes]]:
        """Enqueue `request`; the Future resolves to its PNGs or to the generator's error
        (ValueError, FallbackUnavailable). Raises FallbackBusy at once when the queue is full
        and FallbackUnavailable when the queue is closed."""
        item = _Item(request)
        with self._cond:
            if self._closed:
                raise FallbackUnavailable("local generation is shutting down")
            if self._active >= self._max_pending:
                raise FallbackBusy(self._retry_after())
            self._active += 1
            self._waiting.append(item)
            self._cond.notify_all()
        return item.future

    def generate(self, request: GenerationRequest) -> list[bytes]:
        """Block the calling thread until `request` is generated; errors as `Generator.generate`,
        plus FallbackBusy (queue full) and FallbackUnavailable("shutting down")."""
        return self.submit(request).result()

    def close(self) -> None:
        """Stop the worker. Waiting callers get FallbackUnavailable at once; a pipeline call
        already running finishes and delivers its results. Idempotent."""
        with self._cond:
            self._closed = True
            dropped = list(self._waiting)
            self._waiting.clear()
            self._active -= len(dropped)
            self._cond.notify_all()
        for item in dropped:
            item.future.set_exception(FallbackUnavailable("local generation is shutting down"))
        if threading.current_thread() is not self._worker:
            self._worker.join()

    # -- worker ---------------------------------------------------------------------------------

    def _retry_after(self) -> int:
        """Seconds for the queue to drain from recent per-request times (caller holds _cond)."""
        if not self._seconds_per_request:
            return 1
        mean = sum(self._seconds_per_request) / len(self._seconds_per_request)
        return max(1, math.ceil(mean * self._active))

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            started = time.monotonic()
            outcomes = self._execute([item.request for item in batch])
            elapsed = time.monotonic() - started
            with self._cond:
                self._seconds_per_request.append(elapsed / len(batch))
                self._active -= len(batch)
            # Results are set after the slot is freed, so a caller may resubmit at once.
            for item, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    item.future.set_exception(outcome)
                else:
                    item.future.set_result(outcome)

    def _next_batch(self) -> list[_Item] | None:
        """The oldest waiting request and, when batching, compatible ones that arrive in time.
        None when closed."""
        with self._cond:
            while not self._waiting and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            first = self._waiting.popleft()
            batch = [first]
            if self._batch is None or not _batchable(first.request):
                return batch
            images = first.request.n
            deadline = time.monotonic() + self._max_wait
            while images < self._max_batch:
                for item in list(self._waiting):
                    if _compatible(first.request, item.request) and (
                        images + item.request.n <= self._max_batch
                    ):
                        self._waiting.remove(item)
                        batch.append(item)
                        images += item.request.n
                left = deadline - time.monotonic()
                if images >= self._max_batch or left <= 0 or self._closed:
                    break
                self._cond.wait(left)
            return batch

    def _execute(self, requests: list[GenerationRequest]) -> list[list[bytes] | BaseException]:
        """Run one pipeline call for `requests` (one per request without batching): each
        request's PNGs or the error of the call it was part of."""
        outcomes: list[list[bytes] | BaseException]
        if len(requests) == 1 or self._batch is None:
            outcomes = [self._single(r) for r in requests]
        else:
            try:
                results = self._batch(requests)
                if len(results) != len(requests):
                    raise FallbackUnavailable("local generation returned a wrong batch")
                outcomes = list(results)
            except ValueError:
                # One invalid request must not fail its neighbours: validation happens before
                # the pipeline runs, so retrying one by one costs nothing and isolates it.
                outcomes = [self._single(r) for r in requests]
            except Exception as e:
                # Each caller raises its own copy: a shared exception's traceback would be
                # rewritten by every thread that raises it.
                outcomes = [_copy_error(e) for _ in requests]
        return outcomes

    def _single(self, request: GenerationRequest) -> list[bytes] | BaseException:
        try:
            return self._generator.generate(request)
        except Exception as e:
            return e


def _copy_error(error: Exception) -> Exception:
    try:
        copied = copy.copy(error)
    except Exception:
        return error
    return copied if isinstance(copied, Exception) else error


def _batchable(request: GenerationRequest) -> bool:
    return request.init_image is None


def _compatible(first: GenerationRequest, other: GenerationRequest) -> bool:
    """Can share one text-to-image pipeline call with `first` (steps are the generator's own)."""
    return other.init_image is None and other.width == first.width and other.height == first.height
