"""Soak: the real proxy under a long mixed workload; does it stay correct, bounded and audited?

Starts `pixelgate run` with `policies/default.yaml`, four providers (OpenAI, Stability,
Google, Replicate) pointed at TLS upstreams on loopback (one certificate, all in a process
of their own so they share no GIL with the load generator), and sends a mixed workload
through it from `--concurrency` threads, one httpx.Client each: PartiPrompts prompts, prompts
with a planted email (redact) or card number (block), small PNG edits (clean, and with GPS
metadata: redact), the OpenAI Responses API, Stability v2beta multipart, Gemini
generateContent, Replicate predictions, malformed bodies and body-less GETs.

The first tenth of the requests is the warm-up. Reported: failed requests (transport errors,
5xx none of these kinds may get), answers not as designed (decision header or status),
per-kind decision counts, audit events against requests (each request audited exactly once),
RSS and open file descriptors of the proxy process tree at rest after warm-up and at the end,
throughput and p50/p99 latency after warm-up. Targets: no failed request, every request
audited once, RSS growth under 10 % after warm-up, no fd growth. Exit status 1 on a FAIL.

    .venv/bin/python bench/soak.py [--requests N] [--concurrency C] [--max-seconds S]
                                   [--quick] [--json OUT.json]
Diagnosis: --diagnose measures RSS at rest after gc + malloc_trim(0) in the proxy (memory in
use rather than kept by the allocator), --tracemalloc prints the Python allocations that
grew after warm-up (slows the proxy ~25x: use a few thousand requests), --only KIND,KIND.
"""

from __future__ import annotations

import argparse
import base64
import io
import itertools
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from _upstreams import Upstreams  # noqa: E402
from overhead import Route, load_prompts, pct  # noqa: E402

sys.path.insert(0, str(ROOT / "tests"))
from helpers.e2e import (  # noqa: E402
    PNG_1x1,
    Received,
    Upstream,
    start_proxy,
    stop_proxy,
)

PROVIDERS = ("openai", "stability", "google", "replicate")
BOUNDARY = "pixelgate-soak-7c21"
CARDS = ("4111 1111 1111 1111", "5555-5555-5555-4444", "3782 822463 10005", "6011111111111117")
VERSION = "7762fd07cf82c948538e41f63f77d685e02b063e37e496e96eefd46c929f9bdc"
RSS_TARGET_PCT = 10.0


# --- what the upstreams (bench/_upstreams.py, one TLS server per provider) answer ----------------


def _answer(provider: str, request: Received) -> tuple[int, dict[str, str], bytes]:
    path = request.path.partition("?")[0]
    json_type = {"content-type": "application/json"}
    png64 = base64.b64encode(PNG_1x1).decode()
    if provider == "stability":
        return 200, {"content-type": "image/png", "finish-reason": "SUCCESS", "seed": "7"}, PNG_1x1
    if provider == "google":
        part = {"inlineData": {"mimeType": "image/png", "data": png64}}
        doc: dict[str, Any] = {"candidates": [{"content": {"role": "model", "parts": [part]},
                                               "finishReason": "STOP"}]}  # fmt: skip
        return 200, json_type, json.dumps(doc).encode()
    if provider == "replicate":
        doc = {"id": "soak1", "status": "succeeded", "output": ["https://example.com/o.png"]}
        return (201 if request.method == "POST" else 200), json_type, json.dumps(doc).encode()
    if path.endswith("/models"):
        doc = {"object": "list", "data": []}
    elif path.endswith("/responses"):
        doc = {"id": "resp_1", "object": "response", "status": "completed", "output": []}
    else:
        doc = {"created": 1700000000, "data": [{"b64_json": png64}]}
    return 200, json_type, json.dumps(doc).encode()


# --- the workload ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    provider: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Kind:
    name: str
    weight: int
    decision: str  # the X-PixelGate-Decision the answer must carry
    status: int  # and its status


KINDS = (
    Kind("clean", 34, "allow", 200),
    Kind("redact", 8, "redact", 200),
    Kind("block", 6, "block", 403),
    Kind("edit", 8, "allow", 200),
    Kind("edit_gps", 2, "redact", 200),
    Kind("responses", 8, "allow", 200),
    Kind("stability", 8, "allow", 200),
    Kind("google", 8, "allow", 200),
    Kind("replicate", 8, "allow", 201),
    Kind("malformed", 5, "block", 400),
    Kind("get", 5, "allow", 200),
)
JSON = {"content-type": "application/json"}


def form(fields: list[tuple[str, bytes, str | None]]) -> tuple[dict[str, str], bytes]:
    """A multipart body: (name, value, filename or None); files are PNGs."""
    out = bytearray()
    for name, value, filename in fields:
        out += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"'.encode()
        if filename:
            out += f'; filename="{filename}"\r\nContent-Type: image/png'.encode()
        out += b"\r\n\r\n" + value + b"\r\n"
    out += f"--{BOUNDARY}--\r\n".encode()
    return {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}, bytes(out)


class Workload:
    """Request `i` of the run: a kind from a fixed shuffled schedule, a body made for `i`."""

    def __init__(self, prompts: list[str], only: set[str] | None = None) -> None:
        import numpy as np

        self.prompts = prompts
        kinds = [k for k in KINDS if only is None or k.name in only]
        self.schedule = [k for k in kinds for _ in range(k.weight)]
        random.Random(7).shuffle(self.schedule)
        y, x = np.mgrid[0:96, 0:128]
        self._base = np.stack([x * 1.5 + 40, y * 2 + 60, 180 + 0 * x], axis=-1).astype("uint8")
        from PIL import Image

        exif = Image.Exif()
        gps = exif.get_ifd(0x8825)
        gps[1], gps[2], gps[3], gps[4] = "N", (37.0, 46.0, 30.0), "W", (122.0, 25.0, 10.0)
        self._exif = exif.tobytes()

    def kind(self, i: int) -> Kind:
        return self.schedule[i % len(self.schedule)]

    def png(self, i: int, gps: bool = False) -> bytes:
        """A small gradient, a few pixels set from `i`: a new image for each request."""
        from PIL import Image

        pixels = self._base.copy()
        pixels[0, :8, 0] = list(i.to_bytes(8, "little"))
        out = io.BytesIO()
        extra = {"exif": self._exif} if gps else {}
        Image.fromarray(pixels).save(out, format="PNG", compress_level=1, **extra)
        return out.getvalue()

    def call(self, i: int) -> Call:
        kind, p = self.kind(i).name, self.prompts[i % len(self.prompts)]
        if kind in ("clean", "redact", "block"):
            if kind == "redact":
                p = f"{p}, then email it to guest{i}@example.org"
            elif kind == "block":
                p = f"{p}, charged to card {CARDS[i % len(CARDS)]}"
            body = {"model": "gpt-image-1", "prompt": p, "size": "1024x1024"}
            return Call("openai", "POST", "/v1/images/generations", JSON, json.dumps(body).encode())
        if kind in ("edit", "edit_gps"):
            image = self.png(i, gps=kind == "edit_gps")
            headers, data = form([("model", b"gpt-image-1", None), ("prompt", p.encode(), None),
                                  ("image", image, "photo.png")])  # fmt: skip
            return Call("openai", "POST", "/v1/images/edits", headers, data)
        if kind == "responses":
            body = {"model": "gpt-5", "input": p, "tools": [{"type": "image_generation"}]}
            return Call("openai", "POST", "/v1/responses", JSON, json.dumps(body).encode())
        if kind == "stability":
            headers, data = form([("prompt", p.encode(), None), ("output_format", b"png", None)])
            headers = {**headers, "accept": "image/*"}
            return Call("stability", "POST", "/v2beta/stable-image/generate/core", headers, data)
        if kind == "google":
            body = {"contents": [{"role": "user", "parts": [{"text": p}]}],
                    "generationConfig": {"responseModalities": ["IMAGE"]}}  # fmt: skip
            path = "/v1beta/models/gemini-2.5-flash-image:generateContent"
            return Call("google", "POST", path, JSON, json.dumps(body).encode())
        if kind == "replicate":
            body = {"version": VERSION, "input": {"prompt": p, "num_outputs": 1}}
            return Call("replicate", "POST", "/v1/predictions", JSON, json.dumps(body).encode())
        if kind == "malformed":
            return self.malformed(i, p)
        if i % 2:
            return Call("openai", "GET", "/v1/models", {}, b"")
        return Call("replicate", "GET", f"/v1/predictions/soak{i}", {}, b"")

    def malformed(self, i: int, p: str) -> Call:
        """Bodies no adapter may read: cut JSON, a repeated key, a wrong type, cut multipart."""
        variant = (i // len(self.schedule)) % 4
        if variant == 0:
            body = json.dumps({"model": "gpt-image-1", "prompt": p}).encode()[:-3]
            return Call("openai", "POST", "/v1/images/generations", JSON, body)
        if variant == 1:
            body = b'{"contents": [], "contents": [{"parts": [{"text": "x"}]}]}'
            path = "/v1beta/models/gemini-2.5-flash-image:generateContent"
            return Call("google", "POST", path, JSON, body)
        if variant == 2:
            body = json.dumps({"version": VERSION, "input": {"prompt": 42}}).encode()
            return Call("replicate", "POST", "/v1/predictions", JSON, body)
        headers, data = form([("prompt", p.encode(), None)])
        return Call("stability", "POST", "/v2beta/stable-image/generate/core", headers, data[:-9])


# --- sending -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    kind: str
    provider: str
    status: int  # 0: transport error
    decision: str  # the X-PixelGate-Decision header, "" when absent
    ms: float
    error: str = ""


def send(
    route: Route, ports: dict[str, int], work: Workload, first: int, count: int,
    concurrency: int, deadline: float, on_tick: Any,
) -> tuple[list[Record], float]:  # fmt: skip
    """Requests first..first+count-1 from `concurrency` threads; none starts after `deadline`."""
    counter = itertools.count(first)
    records: list[list[Record]] = [[] for _ in range(concurrency)]
    clients = [route.client() for _ in range(concurrency)]

    broken: list[BaseException] = []

    def worker(w: int) -> None:
        try:
            requests(w)
        except BaseException as e:  # noqa: BLE001 - a bug in this script: re-raised below
            broken.append(e)

    def requests(w: int) -> None:
        client, out = clients[w], records[w]
        while time.monotonic() < deadline:
            i = next(counter)
            if i >= first + count:
                return
            call, kind = work.call(i), work.kind(i).name
            url = f"https://localhost:{ports[call.provider]}{call.path}"
            started = time.perf_counter()
            try:
                r = client.request(call.method, url, headers=call.headers, content=call.body)
                decision = r.headers.get("x-pixelgate-decision", "")
                out.append(Record(kind, call.provider, r.status_code, decision,
                                  (time.perf_counter() - started) * 1000))  # fmt: skip
            except httpx.HTTPError as e:
                ms = (time.perf_counter() - started) * 1000
                out.append(Record(kind, call.provider, 0, "", ms, type(e).__name__))

    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        time.sleep(0.25)
        on_tick(sum(len(r) for r in records))
    elapsed = time.perf_counter() - t0
    for c in clients:
        c.close()
    if broken:
        raise RuntimeError("the load generator failed") from broken[0]
    return [r for rs in records for r in rs], elapsed


# --- the proxy process: memory and file descriptors --------------------------------------------


def tree(pid: int) -> list[psutil.Process]:
    process = psutil.Process(pid)
    return [process, *process.children(recursive=True)]


def tree_rss(pid: int) -> int:
    total = 0
    for p in tree(pid):
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def fd_kinds(pid: int) -> Counter[str]:
    """Open descriptors of the process tree by what they point at (socket, pipe, file...)."""
    kinds: Counter[str] = Counter()
    for p in tree(pid):
        directory = Path(f"/proc/{p.pid}/fd")
        for fd in directory.iterdir() if directory.exists() else ():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            kind = target.split(":", 1)[0] if ":" in target and not target.startswith("/") else ""
            kinds[kind or ("file " + target if target.startswith("/") else target)] += 1
    return kinds


def at_rest(pid: int, limit: float = 20.0, trim: bool = False) -> dict[str, Any]:
    """RSS and descriptors once the connections of the phase before have closed; with `trim`
    after gc + malloc_trim(0) in the proxy (--diagnose): memory still in use, not kept."""
    last, still, end = -1, 0, time.monotonic() + limit
    while time.monotonic() < end and still < 4:
        n = sum(fd_kinds(pid).values())
        still, last = (still + 1, n) if n == last else (0, n)
        time.sleep(0.5)
    if trim:
        os.kill(pid, signal.SIGUSR2)
        time.sleep(3)
    kinds = fd_kinds(pid)
    return {"rss_mib": tree_rss(pid) / 2**20, "rss_by_map": rss_by_map(pid),
            "fds": sum(kinds.values()), "fd_kinds": dict(kinds)}  # fmt: skip


def rss_by_map(pid: int) -> dict[str, float]:
    """Where the proxy's resident memory is, MiB: the main heap (brk), anonymous mappings
    (thread arenas, large mallocs, native pools) and files (code, models)."""
    out: Counter[str] = Counter()
    for m in psutil.Process(pid).memory_maps(grouped=True):
        where = m.path if m.path in ("[heap]", "[anon]", "") else "files"
        out[where or "[anon]"] += m.rss / 2**20
    return {k: round(v, 1) for k, v in out.items()}


# --- optional diagnosis inside the proxy --------------------------------------------------------

# A mitmproxy script loaded into the proxy (`--set scripts=`). SIGUSR1: write a tracemalloc
# snapshot to the next numbered file (tracing starts once the proxy runs: from interpreter
# start, loading spaCy under tracemalloc takes minutes). SIGUSR2: gc, then glibc's
# malloc_trim(0), to tell memory the allocator only keeps from memory still in use.
DIAGNOSE_ADDON = """
import asyncio, ctypes, gc, itertools, os, signal, tracemalloc
_n = itertools.count()
def _dump():
    gc.collect()
    path = os.path.join(os.environ["SOAK_TRACE_DIR"], f"{next(_n)}.snap")
    tracemalloc.take_snapshot().dump(path)
def _trim():
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
def running():
    if os.environ.get("SOAK_TRACEMALLOC"):
        tracemalloc.start(25)
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, _dump)
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR2, _trim)
"""


def trace_snapshot(pid: int, directory: Path, n: int) -> Path:
    """Ask the proxy for snapshot `n` and wait until it is written."""
    path = directory / f"{n}.snap"
    os.kill(pid, signal.SIGUSR1)
    size, end = -1, time.monotonic() + 120
    while time.monotonic() < end:
        if path.exists() and path.stat().st_size == size:
            return path
        size = path.stat().st_size if path.exists() else -1
        time.sleep(1)
    raise RuntimeError("the proxy wrote no tracemalloc snapshot")


def trace_growth(warm: Path, end: Path, top: int = 12) -> list[str]:
    """What grew, by file (where the memory sits) and by full traceback (who asked for it)."""
    import tracemalloc

    skip = [tracemalloc.Filter(False, tracemalloc.__file__)]
    before = tracemalloc.Snapshot.load(str(warm)).filter_traces(skip)
    after = tracemalloc.Snapshot.load(str(end)).filter_traces(skip)
    total = sum(s.size_diff for s in after.compare_to(before, "filename"))
    lines = [f"## tracemalloc: Python allocations after warm-up -> end: {total / 2**20:+.2f} MiB"]
    for stat in after.compare_to(before, "filename")[:top]:
        lines.append(f"{stat.size_diff / 1024:+10.1f} KiB {stat.count_diff:+8d} blocks  "
                     f"{stat.traceback[0].filename}")  # fmt: skip
    lines.append("## largest growth by traceback (innermost 6 frames)")
    for stat in after.compare_to(before, "traceback")[: top // 2]:
        lines.append(f"{stat.size_diff / 1024:+10.1f} KiB {stat.count_diff:+8d} blocks")
        lines += [f"      {frame.filename}:{frame.lineno}" for frame in stat.traceback[-6:]]
    return lines


# --- the run -----------------------------------------------------------------------------------


def policy_yaml(ports: dict[str, int], audit: Path) -> str:
    policy = yaml.safe_load((ROOT / "policies" / "default.yaml").read_text())
    policy["providers"] = {name: {"hosts": [f"localhost:{port}"]} for name, port in ports.items()}
    policy["audit"] = {**(policy.get("audit") or {}), "path": str(audit)}
    return yaml.safe_dump(policy)


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Workload(load_prompts(), set(args.only.split(",")) if args.only else None)
    total, c = args.requests, args.concurrency
    warm = min(max(total // 10, 4 * c), total // 2)
    result: dict[str, Any] = {"requests_planned": total, "warmup": warm, "concurrency": c,
                              "diagnose": args.diagnose}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="pixelgate-soak-") as tmp:
        ups = Upstreams(Path(tmp), PROVIDERS, _answer)
        proxy = None
        try:
            audit, traces = Path(tmp) / "audit.jsonl", Path(tmp) / "traces"
            extra: list[str] = []
            if args.diagnose or args.tracemalloc:
                traces.mkdir()
                (Path(tmp) / "diagnose.py").write_text(DIAGNOSE_ADDON)
                os.environ["SOAK_TRACE_DIR"] = str(traces)
                if args.tracemalloc:
                    os.environ["SOAK_TRACEMALLOC"] = "1"
                extra = ["--set", f"scripts={Path(tmp) / 'diagnose.py'}"]
            up = Upstream(0, ups.cert)
            text = policy_yaml(ups.ports, audit)
            proxy = start_proxy(Path(tmp) / "proxy", text, up, *extra, verbosity="warn")
            pid = proxy.process.pid
            route = Route("pixelgate", pid, proxy.port, proxy.ca, "")
            result["start"] = at_rest(pid, limit=3)
            deadline = time.monotonic() + args.max_seconds
            peak, timeline, done = [0], [], [0]

            def tick(n: int) -> None:
                rss = tree_rss(pid)
                peak[0] = max(peak[0], rss)
                if not timeline or time.monotonic() - timeline[-1][0] >= args.sample_seconds:
                    timeline.append((time.monotonic(), done[0] + n, rss / 2**20))

            records, _ = send(route, ups.ports, work, 0, warm, c, deadline, tick)
            done[0] = len(records)
            result["warm"] = at_rest(pid, trim=args.diagnose)
            snaps = [trace_snapshot(pid, traces, 0)] if args.tracemalloc else []
            # The rest in segments, each ending at rest: a leak keeps growing from one to the
            # next, an allocator's high-water mark does not.
            measured, elapsed, series = [], 0.0, []
            cuts = [warm + (total - warm) * k // args.segments for k in range(args.segments + 1)]
            for first, last in itertools.pairwise(cuts):
                got, took = send(route, ups.ports, work, first, last - first, c, deadline, tick)
                measured += got
                elapsed += took
                done[0] += len(got)
                rest = at_rest(pid, trim=args.diagnose)
                series.append((done[0], round(rest["rss_mib"], 1), rest["fds"]))
            result["end"], result["rest_series"] = rest, series
            if args.tracemalloc:
                snaps.append(trace_snapshot(pid, traces, 1))
                result["tracemalloc"] = trace_growth(*snaps)
            result["peak_rss_mib"] = peak[0] / 2**20
            t_first = timeline[0][0] if timeline else 0.0
            result["rss_timeline"] = [(round(t - t_first, 1), n, round(m, 1))
                                      for t, n, m in timeline]  # fmt: skip
            result["capped"] = time.monotonic() >= deadline
            result["proxy_alive"] = proxy.process.poll() is None
            stop_proxy(proxy)
            log = "".join(f.read_text(errors="replace") for f in (proxy.stdout, proxy.stderr))
            result["proxy_log_errors"] = sum("error" in line.lower() for line in log.splitlines())
            proxy = None
            events = [json.loads(line) for line in audit.read_text().splitlines() if line]
        finally:
            if proxy is not None:
                stop_proxy(proxy)
            ups.stop()
    result.update(tally(records + measured, measured, elapsed, events))
    return result


def tally(
    records: list[Record], measured: list[Record], elapsed: float, events: list[dict[str, Any]]
) -> dict[str, Any]:
    want = {k.name: k for k in KINDS}
    failed = [r for r in records if r.status == 0 or r.status >= 500]
    wrong = [r for r in records if r.status and (r.decision, r.status) !=
             (want[r.kind].decision, want[r.kind].status)]  # fmt: skip
    per_kind: dict[str, Counter[str]] = {}
    for r in records:
        per_kind.setdefault(r.kind, Counter())[f"{r.decision or '-'} {r.status}"] += 1
    answered = Counter((r.provider, r.decision) for r in records if r.decision)
    audited = Counter((e["provider"], e["action"]) for e in events)
    ids = Counter(e["request_id"] for e in events)
    latencies: dict[str, list[float]] = {"all": []}
    for r in measured:
        if r.status:
            latencies["all"].append(r.ms)
            latencies.setdefault(r.kind, []).append(r.ms)
    return {
        "sent": len(records),
        "failed": len(failed),
        "failed_by": dict(Counter(f"{r.kind} {r.status or r.error}" for r in failed)),
        "not_as_designed": len(wrong),
        "not_as_designed_by": dict(
            Counter(f"{r.kind} {r.decision or '-'} {r.status}" for r in wrong)
        ),  # fmt: skip
        "per_kind": {k: dict(v) for k, v in sorted(per_kind.items())},
        "unanswered": dict(Counter(r.provider for r in records if not r.decision)),
        "audit_events": len(events),
        "audit_duplicate_ids": sum(n - 1 for n in ids.values() if n > 1),
        "audit_vs_answers": {
            f"{p} {a}": [audited[(p, a)], answered[(p, a)]]
            for p, a in sorted(set(audited) | set(answered))
        },  # fmt: skip
        "measured_requests": len(measured),
        "measured_seconds": elapsed,
        "rps": len(measured) / elapsed if elapsed else float("nan"),
        "latency_ms": {
            k: {"n": len(v), "p50": pct(v, 50), "p99": pct(v, 99)} for k, v in latencies.items()
        },  # fmt: skip
    }


# --- report ------------------------------------------------------------------------------------


def targets(r: dict[str, Any]) -> list[tuple[str, bool, str]]:
    warm, end = r["warm"], r["end"]
    growth = 100 * (end["rss_mib"] - warm["rss_mib"]) / warm["rss_mib"]
    r["rss_growth_pct"] = growth
    # A request whose answer never arrived is audited with an action the client did not see:
    # per provider, the events beyond the answers must be exactly the unanswered requests.
    excess: Counter[str] = Counter()
    for key, (events, answers) in r["audit_vs_answers"].items():
        excess[key.split()[0]] += events - answers if events >= answers else 10**9
    audit_ok = (r["audit_events"] == r["sent"] and r["audit_duplicate_ids"] == 0
                and excess == Counter(r["unanswered"]))  # fmt: skip
    return [
        ("zero failed requests", r["failed"] == 0, f"{r['failed']} failed"),
        ("every request audited exactly once", audit_ok,
         f"{r['audit_events']} events for {r['sent']} requests, "
         f"{r['audit_duplicate_ids']} duplicate ids"),
        (f"RSS growth after warm-up < {RSS_TARGET_PCT:g}%", growth < RSS_TARGET_PCT,
         f"{warm['rss_mib']:.1f} -> {end['rss_mib']:.1f} MiB ({growth:+.1f}%)"),
        ("no fd growth", end["fds"] <= warm["fds"], f"{warm['fds']} -> {end['fds']}"),
        ("every answer as designed (decision, status)", r["not_as_designed"] == 0,
         f"{r['not_as_designed']} not as designed"),
    ]  # fmt: skip


def report(r: dict[str, Any], checks: list[tuple[str, bool, str]]) -> list[str]:
    lat = r["latency_ms"]
    out = [
        "# PixelGate soak: policies/default.yaml, 4 providers on loopback TLS upstreams "
        f"(own process), {os.cpu_count()} CPUs shared with the load generator",
        f"requests sent {r['sent']} of {r['requests_planned']} (warm-up {r['warmup']}), "
        f"concurrency {r['concurrency']}" + (" -- TIME CAP HIT" if r["capped"] else ""),
        f"failed requests (transport errors, 5xx) {r['failed']} {r['failed_by'] or ''}",
        f"answers not as designed {r['not_as_designed']} {r['not_as_designed_by'] or ''}",
        f"throughput after warm-up {r['rps']:.1f} req/s ({r['measured_requests']} requests in "
        f"{r['measured_seconds']:.1f} s); latency p50 {lat['all']['p50']:.1f} ms, "
        f"p99 {lat['all']['p99']:.1f} ms",
        "",
        f"{'kind':<11}{'expected':>13}{'p50 ms':>9}{'p99 ms':>9}  decisions (header status: count)",
    ]
    for k in KINDS:
        got = r["per_kind"].get(k.name, {})
        l_ = lat.get(k.name, {"p50": float("nan"), "p99": float("nan")})
        cells = ", ".join(f"{key}: {n}" for key, n in sorted(got.items()))
        out.append(f"{k.name:<11}{f'{k.decision} {k.status}':>13}{l_['p50']:>9.1f}"
                   f"{l_['p99']:>9.1f}  {cells}")  # fmt: skip
    out += [
        "",
        f"audit events {r['audit_events']} for {r['sent']} requests; duplicate request ids "
        f"{r['audit_duplicate_ids']}; events / answers by provider and action:",
    ]
    out.append("  " + ", ".join(f"{key} {a}/{b}" for key, (a, b) in r["audit_vs_answers"].items()))
    s, w, e = r["start"], r["warm"], r["end"]
    out += [
        "",
        *(
            ["--diagnose: every at-rest RSS below is after gc + malloc_trim(0) in the proxy"]
            if r["diagnose"]
            else []
        ),  # fmt: skip
        f"proxy RSS (with children), MiB: start {s['rss_mib']:.1f}, "
        f"after warm-up {w['rss_mib']:.1f}, end {e['rss_mib']:.1f}, "
        f"peak under load {r['peak_rss_mib']:.1f}; growth after warm-up "
        f"{r['rss_growth_pct']:+.1f}%",
        "RSS under load (s, requests done, MiB): "
        + " ".join(f"{t}/{n}/{m}" for t, n, m in thin(r["rss_timeline"], 12)),
        f"RSS by mapping at rest, MiB: after warm-up {w['rss_by_map']}, end {e['rss_by_map']}",
        "at rest after each quarter (requests done, RSS MiB, fds): "
        + " ".join(f"{n}/{m}/{f}" for n, m, f in r["rest_series"]),
        f"open fds at rest: start {s['fds']}, after warm-up {w['fds']}, end {e['fds']}",
        f"  after warm-up {w['fd_kinds']}",
        f"  end           {e['fd_kinds']}",
        f"proxy alive at the end {r['proxy_alive']}; proxy log lines with 'error' "
        f"{r['proxy_log_errors']}",
        "",
    ]
    out += [f"{'PASS' if ok else 'FAIL'}  {name}: {detail}" for name, ok, detail in checks]
    return out


def thin(points: list[Any], n: int) -> list[Any]:
    if len(points) <= n:
        return points
    step = (len(points) - 1) / (n - 1)
    return [points[round(k * step)] for k in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=900.0,
        help="stop sending after this long and report what was done",
    )
    parser.add_argument("--only", help="diagnosis: only these kinds (comma-separated)")
    parser.add_argument(
        "--quick", action="store_true", help="2,000 requests at concurrency 16, 300 s at most"
    )
    parser.add_argument("--sample-seconds", type=float, default=5.0, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    parser.add_argument("--segments", type=int, default=4, help=argparse.SUPPRESS)
    parser.add_argument(
        "--diagnose",
        action="store_true",
        help="diagnosis: RSS at rest measured after gc + malloc_trim(0)",
    )
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="diagnosis: trace the proxy's Python allocations (much slower) and "
        "print what grew after warm-up",
    )
    args = parser.parse_args()  # fmt: skip
    if args.quick:
        args.requests, args.concurrency = 2000, 16
        args.max_seconds = min(args.max_seconds, 300.0)
    started = time.perf_counter()
    result = run(args)
    checks = targets(result)
    result["targets"] = {name: ok for name, ok, _ in checks}
    result["run_seconds"] = round(time.perf_counter() - started, 1)
    print("\n".join(report(result, checks)))
    if result.get("tracemalloc"):
        print("\n" + "\n".join(result["tracemalloc"]))
    print(f"\n# run time {result['run_seconds']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str))
    if not all(ok for _, ok, _ in checks):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
