"""The generation queue: one worker thread, bounded, batching compatible text-to-image requests."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast

import numpy as np
import pytest
from helpers.tiny_sd import tiny_pipeline_dir
from PIL import Image

from local_fallback import FallbackUnavailable, GenerationRequest, Generator, load_generator
from local_fallback.queue import GenerationQueue
from proxy.errors import FallbackBusy

NATIVE = 64
SIZES = [(64, 64), (96, 64), (48, 80), (64, 64), (32, 32), (64, 64), (96, 64), (64, 64)]


class _WithoutBatch:
    """The real generator with only `generate` visible: the queue must fall back to it."""

    def __init__(self, inner: Generator) -> None:
        self.model, self.device, self.dtype = inner.model, inner.device, inner.dtype
        self._inner = inner

    def generate(self, request: GenerationRequest) -> list[bytes]:
        return self._inner.generate(request)


class _Fake:
    """Stand-in generator: images are `prompt:i` bytes; records every call; the calls wait for
    `gate` (set by default) and `started` is set when a call begins."""

    model, device, dtype = "fake-model", "cpu", "float32"

    def __init__(self, *, batch: bool = True) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Event()
        self.calls: list[tuple[str, list[GenerationRequest]]] = []
        self.fail_batch: Exception | None = None
        if batch:
            self.generate_batch = self._generate_batch

    def _images(self, request: GenerationRequest) -> list[bytes]:
        if request.n < 1:
            raise ValueError("n must be at least 1")
        return [f"{request.prompt}:{i}".encode() for i in range(request.n)]

    def generate(self, request: GenerationRequest) -> list[bytes]:
        self.calls.append(("generate", [request]))
        self.started.set()
        assert self.gate.wait(10)
        return self._images(request)

    def _generate_batch(self, requests: Sequence[GenerationRequest]) -> list[list[bytes]]:
        self.calls.append(("batch", list(requests)))
        self.started.set()
        assert self.gate.wait(10)
        if self.fail_batch is not None:
            raise self.fail_batch
        return [self._images(r) for r in requests]


def queue_of(generator: Any, **options: Any) -> GenerationQueue:
    return GenerationQueue(cast(Generator, generator), **options)


def decode(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    image.load()
    return image


@pytest.fixture(scope="module")
def generator() -> Generator:
    return load_generator(str(tiny_pipeline_dir()), native_size=NATIVE)


def requests_for_sizes() -> list[GenerationRequest]:
    return [
        GenerationRequest(f"prompt {i}", n=1 + i % 2, width=w, height=h, seed=100 + i)
        for i, (w, h) in enumerate(SIZES)
    ]


def run_concurrently(queue: GenerationQueue, requests: list[GenerationRequest]) -> list[Any]:
    barrier = threading.Barrier(len(requests))

    def call(request: GenerationRequest) -> list[bytes]:
        barrier.wait()
        return queue.generate(request)

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(call, requests))


def test_concurrent_callers_get_their_pngs_equal_to_serial_generation(
    generator: Generator,
) -> None:
    requests = requests_for_sizes()
    queue = queue_of(_WithoutBatch(generator))
    try:
        results = run_concurrently(queue, requests)
    finally:
        queue.close()
    for request, pngs in zip(requests, results, strict=True):
        assert len(pngs) == request.n
        assert all(decode(p).size == (request.width, request.height) for p in pngs)
    assert results == [generator.generate(r) for r in requests]


def test_batched_generation_on_the_tiny_pipeline_matches_serial_within_rounding(
    generator: Generator,
) -> None:
    batching = generator  # Generator.generate_batch: one pipeline call per batch
    requests = requests_for_sizes()
    queue = queue_of(batching, max_batch=4, max_wait_ms=50)
    try:
        results = run_concurrently(queue, requests)
    finally:
        queue.close()
    for request, pngs in zip(requests, results, strict=True):
        serial = generator.generate(request)
        assert len(pngs) == request.n
        for got, want in zip(pngs, serial, strict=True):
            assert decode(got).size == (request.width, request.height)
            # Same seeds, same latents; a batch's float sums may round one level apart.
            diff = np.abs(np.asarray(decode(got), int) - np.asarray(decode(want), int))
            assert diff.max() <= 2


def test_properties_pass_through_to_the_generator() -> None:
    queue = queue_of(_Fake())
    try:
        assert (queue.model, queue.device, queue.dtype) == ("fake-model", "cpu", "float32")
    finally:
        queue.close()


def test_a_full_queue_raises_fallback_busy_at_once_with_retry_after() -> None:
    fake = _Fake(batch=False)
    fake.gate.clear()
    queue = queue_of(fake, max_pending=2)
    try:
        running = queue.submit(GenerationRequest("secret running prompt"))
        assert fake.started.wait(5)
        waiting = queue.submit(GenerationRequest("secret waiting prompt"))
        assert queue.pending == 2
        started = time.monotonic()
        with pytest.raises(FallbackBusy) as busy:
            queue.generate(GenerationRequest("secret third prompt"))
        assert time.monotonic() - started < 1
        assert busy.value.retry_after >= 1
        assert "secret" not in str(busy.value)
        fake.gate.set()
        assert running.result(5) == [b"secret running prompt:0"]
        assert waiting.result(5) == [b"secret waiting prompt:0"]
        assert queue.pending == 0
        # A slot is free again once the results are in.
        assert queue.generate(GenerationRequest("again")) == [b"again:0"]
    finally:
        fake.gate.set()
        queue.close()


def test_retry_after_grows_with_recent_generation_times() -> None:
    fake = _Fake(batch=False)
    queue = queue_of(fake, max_pending=3)
    slow = threading.Event()
    original = fake.generate

    def slow_generate(request: GenerationRequest) -> list[bytes]:
        if request.prompt == "slow":
            slow.wait(1.2)
        return original(request)

    fake.generate = slow_generate  # type: ignore[method-assign]
    try:
        queue.generate(GenerationRequest("slow"))  # about 1.2 s recorded
        fake.gate.clear()
        fake.started.clear()
        futures = [queue.submit(GenerationRequest(f"p{i}")) for i in range(3)]
        assert fake.started.wait(5)
        with pytest.raises(FallbackBusy) as busy:
            queue.submit(GenerationRequest("more"))
        assert busy.value.retry_after >= 2  # 3 pending x ~1.2 s
        fake.gate.set()
        assert [f.result(5) for f in futures] == [[b"p0:0"], [b"p1:0"], [b"p2:0"]]
    finally:
        fake.gate.set()
        queue.close()


def test_compatible_requests_share_one_batch_call_and_others_do_not() -> None:
    fake = _Fake()
    fake.gate.clear()
    queue = queue_of(fake, max_batch=4, max_wait_ms=100, max_pending=32)
    edit = GenerationRequest("edit", width=64, height=64, init_image=b"png")
    try:
        blocker = queue.submit(GenerationRequest("blocker", init_image=b"png"))
        assert fake.started.wait(5)
        # While the worker is busy, these queue up in this order.
        requests = [
            GenerationRequest("a0", width=64, height=64),
            GenerationRequest("b0", width=32, height=32),
            GenerationRequest("a1", n=2, width=64, height=64),
            edit,
            GenerationRequest("a2", width=64, height=64),
            GenerationRequest("b1", n=3, width=32, height=32),
            GenerationRequest("a3", width=64, height=64),
            GenerationRequest("a4", width=64, height=64),
        ]
        futures = [queue.submit(r) for r in requests]
        fake.gate.set()
        assert blocker.result(5) == [b"blocker:0"]
        for request, future in zip(requests, futures, strict=True):
            assert future.result(5) == [f"{request.prompt}:{i}".encode() for i in range(request.n)]
    finally:
        fake.gate.set()
        queue.close()
    prompts = [(kind, [r.prompt for r in batch]) for kind, batch in fake.calls]
    assert prompts == [
        ("generate", ["blocker"]),
        ("batch", ["a0", "a1", "a2"]),  # 1 + 2 + 1 images: full
        ("batch", ["b0", "b1"]),  # 1 + 3 images
        ("generate", ["edit"]),  # image-to-image: never batched
        ("batch", ["a3", "a4"]),
    ]


def test_concurrent_threads_are_batched_within_max_batch() -> None:
    fake = _Fake()
    queue = queue_of(fake, max_batch=4, max_wait_ms=50)
    requests = [
        GenerationRequest(f"p{i}", n=1 + i % 3, width=64 if i % 2 else 32, height=64)
        for i in range(12)
    ]
    try:
        results = run_concurrently(queue, requests)
    finally:
        queue.close()
    for request, pngs in zip(requests, results, strict=True):
        assert pngs == [f"{request.prompt}:{i}".encode() for i in range(request.n)]
    calls = [batch for kind, batch in fake.calls if kind == "batch"]
    assert calls, "concurrent compatible requests were never batched"
    for batch in calls:
        assert len(batch) > 1
        assert sum(r.n for r in batch) <= 4
        assert len({(r.width, r.height) for r in batch}) == 1
    assert sorted(r.prompt for _, batch in fake.calls for r in batch) == sorted(
        r.prompt for r in requests
    )


def _queue_a_batch(
    fake: _Fake, requests: list[GenerationRequest]
) -> tuple[GenerationQueue, list[Future[list[bytes]]]]:
    """Block the worker on an edit, queue `requests` behind it, then let it go."""
    fake.gate.clear()
    queue = queue_of(fake, max_batch=8, max_wait_ms=100)
    queue.submit(GenerationRequest("blocker", init_image=b"png"))
    assert fake.started.wait(5)
    futures = [queue.submit(r) for r in requests]
    fake.gate.set()
    return queue, futures


def test_a_failed_batch_fails_only_its_own_callers() -> None:
    fake = _Fake()
    fake.fail_batch = FallbackUnavailable("generation with fake-model: out of memory")
    other = GenerationRequest("other", width=32, height=32)
    queue, futures = _queue_a_batch(
        fake,
        [
            GenerationRequest("x"),
            GenerationRequest("y"),
            GenerationRequest("edit", init_image=b"i"),
        ],
    )
    try:
        for future in futures[:2]:
            with pytest.raises(FallbackUnavailable, match="out of memory"):
                future.result(5)
        assert futures[0].exception() is not futures[1].exception()  # one copy per caller
        assert futures[2].result(5) == [b"edit:0"]
        fake.fail_batch = None
        assert queue.generate(other) == [b"other:0"]
    finally:
        queue.close()


def test_an_invalid_request_in_a_batch_fails_alone() -> None:
    fake = _Fake()
    queue, futures = _queue_a_batch(
        fake, [GenerationRequest("ok0"), GenerationRequest("bad", n=0), GenerationRequest("ok1")]
    )
    try:
        assert futures[0].result(5) == [b"ok0:0"]
        with pytest.raises(ValueError, match="n must be at least 1"):
            futures[1].result(5)
        assert futures[2].result(5) == [b"ok1:0"]
    finally:
        queue.close()


def test_close_fails_waiting_callers_and_lets_the_running_call_finish() -> None:
    fake = _Fake()
    fake.gate.clear()
    queue = queue_of(fake, max_batch=1)
    running = queue.submit(GenerationRequest("running"))
    assert fake.started.wait(5)
    waiting = [queue.submit(GenerationRequest(f"w{i}")) for i in range(3)]
    closer = threading.Thread(target=queue.close)
    closer.start()
    for future in waiting:
        with pytest.raises(FallbackUnavailable, match="shutting down"):
            future.result(5)
    assert closer.is_alive()  # waits for the running pipeline call
    fake.gate.set()
    closer.join(5)
    assert not closer.is_alive()
    assert running.result(0) == [b"running:0"]
    assert queue.pending == 0
    with pytest.raises(FallbackUnavailable, match="shutting down"):
        queue.generate(GenerationRequest("late"))
    queue.close()  # idempotent
    assert [r.prompt for _, batch in fake.calls for r in batch] == ["running"]
