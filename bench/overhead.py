"""What PixelGate costs: latency, throughput and memory against plain mitmproxy, in one run.

Four paths to the same TLS upstream on loopback, all measured in this one run on this one
machine: direct, plain mitmproxy (same version as PixelGate's), PixelGate with
`policies/default.yaml`, and the do-it-yourself peer (`bench/diy_presidio.py`: mitmdump +
Presidio on prompts). Two request kinds: prompt-only `POST /v1/images/generations` (JSON,
real PartiPrompts prompts) and `POST /v1/images/edits` (multipart, a 1024x1024 PNG photo and
a prompt).

1. Latency: p50/p99 per path and kind, sequential, keep-alive, after warm-up; added = path
   minus direct.
2. Throughput: requests/s at concurrency 1, 8 and 32 (prompts) and 8 (edits), fixed duration
   per level; CPU use of proxy, load generator and upstream during each level.
3. Memory: RSS of each proxy process (with children) after warm-up, after 5,000 mixed
   requests (9 prompts : 1 edit) and at the end of the run.

The upstream (tests/helpers/e2e.py's ThreadingHTTPServer) runs in its own process so that it
does not share a GIL with the load generator (threads, one httpx.Client each). Absolute
figures depend on the machine; compare the ratios against plain mitmproxy.

    .venv/bin/python bench/overhead.py [--quick] [--json OUT.json] [--profile OUT.txt]
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
import os
import platform
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
from _upstreams import Upstreams  # noqa: E402
from helpers.e2e import (  # noqa: E402
    Upstream,
    start_mitmdump,
    start_proxy,
    stop_proxy,
)

PARTI = Path(__file__).resolve().parents[2] / "shared/data/parti_prompts_dev.tsv"
FALLBACK_PROMPTS = [
    "A watercolor lighthouse on a cliff at dawn",
    "an astronaut riding a horse on the moon, oil painting",
    "a bowl of ramen in the style of Van Gogh",
]
PATHS = ("direct", "mitmproxy", "pixelgate", "diy")
PROXIES = ("mitmproxy", "pixelgate", "diy")
LABEL = {
    "direct": "direct",
    "mitmproxy": "plain mitmproxy",
    "pixelgate": "PixelGate",
    "diy": "DIY peer",
}
BOUNDARY = "pixelgate-bench-3f9a1c"
TIMEOUT = 30.0


@dataclass(frozen=True)
class Settings:
    latency_prompt: int
    latency_edit: int
    level_seconds: float
    mixed_requests: int
    mixed_cap_seconds: float
    levels: tuple[int, ...] = (1, 8, 32)
    edit_level: int = 8


DEFAULT = Settings(latency_prompt=300, latency_edit=100, level_seconds=6.0, mixed_requests=5000,
                   mixed_cap_seconds=100.0)  # fmt: skip
QUICK = Settings(latency_prompt=60, latency_edit=20, level_seconds=2.0, mixed_requests=1000,
                 mixed_cap_seconds=25.0)  # fmt: skip


# --- payloads ---------------------------------------------------------------------------


def load_prompts() -> list[str]:
    if not PARTI.exists():
        return FALLBACK_PROMPTS
    with PARTI.open(newline="") as f:
        return [row["Prompt"] for row in csv.DictReader(f, delimiter="\t") if row["Prompt"]]


def photo_png() -> bytes:
    from PIL import Image
    from skimage import data

    image = Image.fromarray(data.astronaut()).resize((1024, 1024), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


class Payloads:
    """Pre-encoded bodies so the load generator spends as little CPU per request as it can."""

    def __init__(self, prompts: list[str], png: bytes) -> None:
        self.prompts = prompts
        self.png = png
        self.json_headers = {"content-type": "application/json"}
        self.form_headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
        self._generations = [
            json.dumps({"model": "gpt-image-1", "prompt": p, "size": "1024x1024"}).encode()
            for p in prompts
        ]
        b = BOUNDARY.encode()
        self._form_head = (
            b"--" + b + b"\r\n"
            b'Content-Disposition: form-data; name="model"\r\n\r\ngpt-image-1\r\n'
            b"--" + b + b"\r\n"
            b'Content-Disposition: form-data; name="size"\r\n\r\n1024x1024\r\n'
            b"--" + b + b"\r\n"
            b'Content-Disposition: form-data; name="image"; filename="photo.png"\r\n'
            b"Content-Type: image/png\r\n\r\n" + png + b"\r\n"
            b"--" + b + b"\r\n"
            b'Content-Disposition: form-data; name="prompt"\r\n\r\n'
        )
        self._form_tail = b"\r\n--" + b + b"--\r\n"

    def generation(self, i: int) -> bytes:
        return self._generations[i % len(self._generations)]

    def edit(self, i: int) -> bytes:
        prompt = self.prompts[(i * 7) % len(self.prompts)].encode()
        return self._form_head + prompt + self._form_tail


# --- processes, clients, measurements ------------------------------------------------------


@dataclass
class Route:
    name: str
    pid: int | None  # the proxy process; None for direct
    proxy_port: int | None
    cafile: Path
    base: str

    def client(self) -> httpx.Client:
        verify = ssl.create_default_context(cafile=str(self.cafile))
        proxy = f"http://127.0.0.1:{self.proxy_port}" if self.proxy_port else None
        return httpx.Client(proxy=proxy, verify=verify, timeout=TIMEOUT)


def tree_rss(pid: int) -> int:
    process = psutil.Process(pid)
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def tree_cpu(pid: int | None) -> float:
    if pid is None:
        return 0.0
    process = psutil.Process(pid)
    procs = [process, *process.children(recursive=True)]
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


@dataclass
class Tally:
    ok: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        self.ok += other.ok
        self.statuses.update(other.statuses)
        self.errors.update(other.errors)

    @property
    def non200(self) -> int:
        return sum(self.statuses.values())

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    def summary(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "non200": {str(k): v for k, v in self.statuses.items()},
            "errors": dict(self.errors),
        }


Kind = Callable[[httpx.Client, str, int], httpx.Response]


def make_kinds(payloads: Payloads) -> dict[str, Kind]:
    def prompt(client: httpx.Client, base: str, i: int) -> httpx.Response:
        return client.post(
            base + "/v1/images/generations",
            content=payloads.generation(i),
            headers=payloads.json_headers,
        )

    def edit(client: httpx.Client, base: str, i: int) -> httpx.Response:
        return client.post(
            base + "/v1/images/edits", content=payloads.edit(i), headers=payloads.form_headers
        )

    def mixed(client: httpx.Client, base: str, i: int) -> httpx.Response:
        return (edit if i % 10 == 9 else prompt)(client, base, i)

    return {"prompt": prompt, "edit": edit, "mixed": mixed}


def call(kind: Kind, client: httpx.Client, base: str, i: int, tally: Tally) -> bool:
    try:
        response = kind(client, base, i)
    except httpx.HTTPError as e:
        tally.errors[type(e).__name__] += 1
        return False
    if response.status_code == 200:
        tally.ok += 1
        return True
    tally.statuses[response.status_code] += 1
    return False


def machine_pct(before: Any, after: Any) -> dict[str, float]:
    """Busy and steal time of the whole machine, % of all its cores."""
    spent = sum(after) - sum(before)
    idle = (after.idle - before.idle) + (getattr(after, "iowait", 0) - getattr(before, "iowait", 0))
    steal = getattr(after, "steal", 0) - getattr(before, "steal", 0)
    if spent <= 0:
        return {"busy": float("nan"), "steal": float("nan")}
    return {"busy": round(100 * (spent - idle) / spent, 1), "steal": round(100 * steal / spent, 1)}


def pct(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency(path: Route, kind: Kind, n: int, warm: int) -> dict[str, Any]:
    tally, samples = Tally(), []
    with path.client() as client:
        for i in range(warm):
            call(kind, client, path.base, i + 100_000, Tally())
        for i in range(n):
            started = time.perf_counter()
            if call(kind, client, path.base, i, tally):
                samples.append((time.perf_counter() - started) * 1000)
    return {"n": len(samples), "p50": pct(samples, 50), "p99": pct(samples, 99), **tally.summary()}


def load(
    path: Route,
    kind: Kind,
    concurrency: int,
    *,
    seconds: float | None = None,
    total: int | None = None,
    cap_seconds: float = 60.0,
    upstream_pid: int,
    on_tick: Callable[[], None] | None = None,
    profile_to: Path | None = None,
) -> dict[str, Any]:
    """Run `concurrency` threads, one client each, for `seconds` or until `total` requests."""
    counter = itertools.count()
    start, stop = threading.Event(), threading.Event()
    tallies = [Tally() for _ in range(concurrency)]
    window_end = [0.0]
    completed_in_window = [0] * concurrency
    clients = [path.client() for _ in range(concurrency)]
    # Connect (CONNECT + two TLS handshakes through a proxy) before the clock starts.
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda c: call(kind, c, path.base, 0, Tally()), clients))

    def worker(w: int) -> None:
        client, tally = clients[w], tallies[w]
        start.wait()
        while not stop.is_set():
            i = next(counter)
            if total is not None and i >= total:
                return
            call(kind, client, path.base, i, tally)
            if seconds is not None and time.perf_counter() <= window_end[0]:
                completed_in_window[w] += 1

    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(concurrency)]
    for t in threads:
        t.start()
    spy = None
    if profile_to is not None and path.pid is not None and seconds is not None:
        spy = profile_during(path.pid, seconds, profile_to)
    me = psutil.Process()
    machine0 = psutil.cpu_times()
    cpu0 = (tree_cpu(path.pid), sum(me.cpu_times()[:2]), tree_cpu(upstream_pid))
    t0 = time.perf_counter()
    window_end[0] = t0 + (seconds if seconds is not None else cap_seconds)
    start.set()
    deadline = t0 + (seconds if seconds is not None else cap_seconds)
    while time.perf_counter() < deadline and any(t.is_alive() for t in threads):
        time.sleep(0.05)
        if on_tick:
            on_tick()
    elapsed = time.perf_counter() - t0
    cpu1 = (tree_cpu(path.pid), sum(me.cpu_times()[:2]), tree_cpu(upstream_pid))
    machine1 = psutil.cpu_times()
    stop.set()
    for t in threads:
        t.join(TIMEOUT + 5)
    for c in clients:
        c.close()
    if spy is not None:
        try:
            spy.wait(30)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait()
    tally = Tally()
    for t in tallies:
        tally.add(t)
    done = sum(completed_in_window) if seconds is not None else tally.ok + tally.non200
    cpu = [round(100 * (b - a) / elapsed, 1) for a, b in zip(cpu0, cpu1, strict=True)]
    return {
        "concurrency": concurrency,
        "seconds": round(elapsed, 2),
        "requests": done,
        "rps": done / elapsed,
        "cpu_pct": {"proxy": cpu[0], "loadgen": cpu[1], "upstream": cpu[2]},
        "machine_pct": machine_pct(machine0, machine1),
        "capped": total is not None and done < total,
        **tally.summary(),
    }


PROFILED = (("prompt", 32), ("edit", 8))


def profile_file(base: Path, kind: str, concurrency: int) -> Path:
    return base.with_name(f"{base.stem}.{kind}{concurrency}{base.suffix}")


def profile_during(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    spy = Path(sys.executable).parent / "py-spy"
    if not spy.exists():
        print("# --profile: py-spy not installed in this venv; skipped", file=sys.stderr)
        return None
    command = [str(spy), "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))),
               "--rate", "200", "--format", "raw", "--nonblocking", "-o", str(out)]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def summarize_profile(raw: Path, top: int = 12) -> list[str]:
    """Self time by function and share of samples under a few areas, from collapsed stacks."""
    leaf: Counter[str] = Counter()
    area: Counter[str] = Counter()
    total = 0
    markers = {
        "spaCy/Presidio (detect)": ("presidio_analyzer", "spacy", "thinc"),
        "PixelGate gate (proxy/engine/gate.py, in executor)": ("(proxy/engine/gate.py",),
        "  of which the pipeline (detect+decide)": ("(proxy/engine/pipeline.py",),
        "  of which OpenAI body parsing": ("(proxy/providers/",),
        "  of which the audit log": ("(proxy/engine/audit.py",),
        "PixelGate addon hooks (event loop)": ("(proxy/mitm/addon.py",),
        "executor threads idle in queue.get": ("_worker (concurrent/futures/thread.py:81) ",),
        "mitmproxy HTTP/proxy layers": ("mitmproxy/proxy/",),
        "TLS (ssl/OpenSSL)": ("ssl.py", "SSLObject", "_ssl"),
        "asyncio event loop": ("asyncio/",),
    }
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        leaf[frames[-1]] += count
        for name, needles in markers.items():
            if any(n in line for n in needles):
                area[name] += count
    if not total:
        return ["(no samples)"]
    lines = [f"{'area (inclusive)':<40}{'% of samples':>14}"]
    lines += [f"{name:<40}{100 * n / total:>13.1f}%" for name, n in ((k, area[k]) for k in markers)]
    lines.append(f"{'top self-time frames':<86}{'%':>6}")
    for frame, n in leaf.most_common(top):
        lines.append(f"{frame[:86]:<86}{100 * n / total:>5.1f}%")
    return lines


# --- the run --------------------------------------------------------------------------------


def start_all(work: Path, upstream: Upstream) -> tuple[dict[str, Any], dict[str, Route]]:
    policy = yaml.safe_load((ROOT / "policies" / "default.yaml").read_text())
    policy["providers"] = {"openai": {"hosts": [f"localhost:{upstream.port}"]}}
    policy["audit"] = {**(policy.get("audit") or {}), "path": str(work / "pixelgate-audit.jsonl")}
    handles: dict[str, Any] = {}
    starters: dict[str, Callable[[], Any]] = {
        "mitmproxy": lambda: start_mitmdump(work / "mitmproxy", upstream),
        "pixelgate": lambda: start_proxy(
            work / "pixelgate", yaml.safe_dump(policy), upstream, verbosity="warn"
        ),
        "diy": lambda: start_mitmdump(work / "diy", upstream, ROOT / "bench" / "diy_presidio.py"),
    }
    # Start in parallel (spaCy loads take seconds); keep whatever started so it is stopped.
    with ThreadPoolExecutor(3) as pool:
        futures = {name: pool.submit(fn) for name, fn in starters.items()}
        failure: BaseException | None = None
        for name, future in futures.items():
            try:
                handles[name] = future.result()
            except BaseException as e:  # noqa: BLE001 - stop the others, then re-raise
                failure = failure or e
    if failure is not None:
        stop_all(handles)
        raise failure
    base = f"https://localhost:{upstream.port}"
    paths = {"direct": Route("direct", None, None, upstream.cert, base)}
    for name, h in handles.items():
        paths[name] = Route(name, h.process.pid, h.port, h.ca, base)
    return handles, paths


def stop_all(handles: dict[str, Any]) -> None:
    for name, handle in handles.items():
        try:
            if name == "pixelgate":
                stop_proxy(handle)
            else:
                handle.stop()
        except Exception as e:  # noqa: BLE001 - stop the rest regardless
            print(f"# could not stop {name}: {e}", file=sys.stderr)


def run(settings: Settings, profile: Path | None) -> dict[str, Any]:
    kinds = make_kinds(Payloads(load_prompts(), photo_png()))
    results: dict[str, Any] = {"latency": {}, "throughput": {}, "memory": {}}
    with tempfile.TemporaryDirectory(prefix="pixelgate-overhead-") as tmp:
        work = Path(tmp)
        up = Upstreams(work)  # OpenAI Images, in a process of its own
        handles: dict[str, Any] = {}
        try:
            handles, paths = start_all(work, up.upstream())
            upid = up.process.pid
            assert upid is not None
            served: Counter[str] = Counter()

            # Warm-up: connections, TLS, spaCy's caches, lazy imports on both kinds.
            for name in PATHS:
                latency(paths[name], kinds["prompt"], 0, 30)
                latency(paths[name], kinds["edit"], 0, 5)
                served[name] += 35
            for name in PROXIES:
                pid = paths[name].pid
                assert pid is not None
                results["memory"][name] = {"warm_mib": tree_rss(pid) / 2**20}

            # Memory under a mixed load (9 prompts : 1 edit), concurrency 8, fixed count.
            for name in PROXIES:
                pid = paths[name].pid
                assert pid is not None
                peak = [0]

                def sample(pid: int = pid, peak: list[int] = peak) -> None:
                    peak[0] = max(peak[0], tree_rss(pid))

                r = load(paths[name], kinds["mixed"], 8, total=settings.mixed_requests,
                         cap_seconds=settings.mixed_cap_seconds, upstream_pid=upid,
                         on_tick=sample)  # fmt: skip
                served[name] += r["requests"] + 8
                results["memory"][name].update(
                    after_mib=tree_rss(pid) / 2**20,
                    peak_mib=peak[0] / 2**20,
                    mixed_requests=r["requests"],
                    mixed_rps=r["rps"],
                    mixed_capped=r["capped"],
                    mixed_non200=r["non200"],
                    mixed_errors=r["errors"],
                )

            # Latency: sequential, keep-alive.
            for kind, n in (("prompt", settings.latency_prompt), ("edit", settings.latency_edit)):
                for name in PATHS:
                    warm = 20 if kind == "prompt" else 5
                    results["latency"].setdefault(name, {})[kind] = latency(
                        paths[name], kinds[kind], n, warm
                    )
                    served[name] += n + warm

            # Throughput: fixed duration per level.
            plan = [("prompt", c) for c in settings.levels] + [("edit", settings.edit_level)]
            for kind, c in plan:
                for name in PATHS:
                    spy_out = None
                    if profile and name == "pixelgate" and (kind, c) in PROFILED:
                        spy_out = profile_file(profile, kind, c)
                    r = load(paths[name], kinds[kind], c, seconds=settings.level_seconds,
                             upstream_pid=upid, profile_to=spy_out)  # fmt: skip
                    results["throughput"].setdefault(name, {})[f"{kind}@{c}"] = r
                    served[name] += r["requests"] + c

            for name in PROXIES:
                pid = paths[name].pid
                assert pid is not None
                results["memory"][name].update(
                    end_mib=tree_rss(pid) / 2**20, end_requests=served[name]
                )
        finally:
            stop_all(handles)
            up.stop()
    return results


# --- report ---------------------------------------------------------------------------------


def versions() -> dict[str, str]:
    from importlib.metadata import version

    out = {"python": platform.python_version()}
    for package in ("mitmproxy", "presidio_analyzer", "spacy", "httpx"):
        try:
            out[package] = version(package)
        except Exception:  # noqa: BLE001
            out[package] = "?"
    return out


def upstream_verdict(results: dict[str, Any]) -> dict[str, Any]:
    direct = results["throughput"]["direct"]
    d8, d32 = direct["prompt@8"], direct["prompt@32"]
    best_proxy = max(results["throughput"][n][f"prompt@{c}"]["rps"] for n in PROXIES
                     for c in (1, 8, 32))  # fmt: skip
    up_ms = 10 * d32["cpu_pct"]["upstream"] / d32["rps"] if d32["rps"] else float("nan")
    return {
        "upstream_cpu_ms_per_request": up_ms,
        "upstream_ceiling_rps": 1000 / up_ms if up_ms else float("nan"),
        "direct_scales_8_to_32": d32["rps"] >= 1.15 * d8["rps"],
        "upstream_saturated": d32["cpu_pct"]["upstream"] >= 85,
        "loadgen_saturated": d32["cpu_pct"]["loadgen"] >= 85,
        "direct_rps_c8": d8["rps"],
        "direct_rps_c32": d32["rps"],
        "upstream_cpu_pct_c32": d32["cpu_pct"]["upstream"],
        "loadgen_cpu_pct_c32": d32["cpu_pct"]["loadgen"],
        "best_proxy_rps": best_proxy,
        "caps_proxies": best_proxy > 0.5 * d32["rps"],
    }


def report(results: dict[str, Any], settings: Settings, took: float) -> list[str]:
    v = results["meta"]["versions"]
    lat, thr, mem = results["latency"], results["throughput"], results["memory"]
    out = [
        "# PixelGate overhead: direct vs plain mitmproxy vs PixelGate vs DIY Presidio peer",
        f"# {results['meta']['date']}  {results['meta']['platform']}  "
        f"{results['meta']['cpus']} CPUs  Python {v['python']}  mitmproxy {v['mitmproxy']}  "
        f"presidio {v['presidio_analyzer']}  spaCy {v['spacy']}",
        "# policy policies/default.yaml; TLS upstream on loopback (own process); "
        "DIY peer inspects generations only",
        f"# load generator, proxies and upstream share these {results['meta']['cpus']} CPUs: "
        "figures are relative, compare ratios",
        "",
        f"## Latency, ms (sequential, keep-alive, after warm-up; {settings.latency_prompt} "
        f"prompt / {settings.latency_edit} edit requests per path)",
        f"{'path':<16}{'kind':<8}{'p50':>8}{'p99':>8}{'added p50':>11}{'added p99':>11}"
        f"{'p50 vs mitm':>13}{'non200':>8}{'errors':>8}",
    ]
    for kind in ("prompt", "edit"):
        d = lat["direct"][kind]
        m = lat["mitmproxy"][kind]
        for name in PATHS:
            r = lat[name][kind]
            added50 = "–" if name == "direct" else f"{r['p50'] - d['p50']:.2f}"
            added99 = "–" if name == "direct" else f"{r['p99'] - d['p99']:.2f}"
            ratio = "–" if name == "direct" else f"{r['p50'] / m['p50']:.2f}x"
            out.append(
                f"{LABEL[name]:<16}{kind:<8}{r['p50']:>8.2f}{r['p99']:>8.2f}{added50:>11}"
                f"{added99:>11}{ratio:>13}{sum(r['non200'].values()):>8}"
                f"{sum(r['errors'].values()):>8}"
            )
    g, m = lat["pixelgate"], lat["mitmproxy"]
    out.append(
        f"PixelGate's own cost over plain mitmproxy, p50: prompt "
        f"{g['prompt']['p50'] - m['prompt']['p50']:.2f} ms, edit "
        f"{g['edit']['p50'] - m['edit']['p50']:.2f} ms"
    )

    levels = [f"prompt@{c}" for c in settings.levels] + [f"edit@{settings.edit_level}"]
    out += [
        "",
        f"## Throughput, requests/s ({settings.level_seconds:g} s per level, threads with one "
        "httpx.Client each)",
        f"{'path':<16}" + "".join(f"{lvl:>12}" for lvl in levels) + f"{'non200':>8}{'errors':>8}",
    ]
    for name in PATHS:
        row = thr[name]
        non200 = sum(sum(row[lvl]["non200"].values()) for lvl in levels)
        errors = sum(sum(row[lvl]["errors"].values()) for lvl in levels)
        out.append(
            f"{LABEL[name]:<16}"
            + "".join(f"{row[lvl]['rps']:>12.1f}" for lvl in levels)
            + f"{non200:>8}{errors:>8}"
        )
    for name in ("pixelgate", "diy"):
        out.append(
            f"{LABEL[name] + ' % mitm':<16}"
            + "".join(
                f"{100 * thr[name][lvl]['rps'] / thr['mitmproxy'][lvl]['rps']:>11.0f}%"
                for lvl in levels
            )
        )
    out += [
        "",
        "## CPU during each throughput level: proxy / load generator / upstream, % of one core;",
        "## then the whole machine busy (steal), % of all cores",
        f"{'path':<16}" + "".join(f"{lvl:>22}" for lvl in levels),
    ]
    for name in PATHS:
        cells = []
        for lvl in levels:
            c = thr[name][lvl]["cpu_pct"]
            proxy = "-" if name == "direct" else f"{c['proxy']:.0f}"
            m = thr[name][lvl]["machine_pct"]
            cells.append(
                f"{proxy}/{c['loadgen']:.0f}/{c['upstream']:.0f} {m['busy']:.0f}({m['steal']:.0f})"
            )
        out.append(f"{LABEL[name]:<16}" + "".join(f"{cell:>22}" for cell in cells))

    u = results["upstream"]
    out += [
        "",
        "## Does the test upstream (ThreadingHTTPServer) cap throughput?",
        f"direct prompt rps: c8 {u['direct_rps_c8']:.0f}, c32 {u['direct_rps_c32']:.0f}; "
        f"at c32 upstream CPU {u['upstream_cpu_pct_c32']:.0f}%, load generator CPU "
        f"{u['loadgen_cpu_pct_c32']:.0f}% of one core",
    ]
    out.append(
        f"upstream CPU per request {u['upstream_cpu_ms_per_request']:.2f} ms: one core would "
        f"serve about {u['upstream_ceiling_rps']:.0f} rps (it is one Python process, one GIL)"
    )
    if u["upstream_saturated"]:
        out.append("-> the upstream is saturated at direct c32: it caps the direct column")
    elif u["loadgen_saturated"]:
        out.append(
            "-> direct c32 is capped by the load generator (one Python process at one core), "
            "not by the upstream"
        )
    elif not u["direct_scales_8_to_32"]:
        out.append("-> direct does not scale from c8 to c32: the machine's 2 cores are full")
    else:
        out.append("-> direct still scales at c32: neither upstream nor load generator caps it")
    if u["caps_proxies"]:
        out.append(
            f"-> the best proxy figure ({u['best_proxy_rps']:.0f} rps) is over half of direct: "
            "the upstream may cap the proxy figures too"
        )
    else:
        out.append(
            f"-> the best proxy figure ({u['best_proxy_rps']:.0f} rps) is under half of direct: "
            "the upstream does not limit the proxy figures"
        )

    out += [
        "",
        f"## Memory: RSS of the proxy process and its children, MiB (mixed load 9 prompts : "
        f"1 edit, concurrency 8, {settings.mixed_requests} requests)",
        f"{'path':<16}{'warm':>9}{'after mix':>11}{'peak':>9}{'end':>9}{'end reqs':>10}"
        f"{'after vs mitm':>15}{'mix rps':>9}{'non200':>8}{'errors':>8}",
    ]
    base = mem["mitmproxy"]["after_mib"]
    for name in PROXIES:
        r = mem[name]
        note = " (time cap hit)" if r["mixed_capped"] else ""
        out.append(
            f"{LABEL[name]:<16}{r['warm_mib']:>9.1f}{r['after_mib']:>11.1f}{r['peak_mib']:>9.1f}"
            f"{r['end_mib']:>9.1f}{r['end_requests']:>10}{r['after_mib'] / base:>14.2f}x"
            f"{r['mixed_rps']:>9.1f}{sum(r['mixed_non200'].values()):>8}"
            f"{sum(r['mixed_errors'].values()):>8}{note}"
        )
    out += ["", f"# run time {took:.0f} s"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts, ~1-2 minutes")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    parser.add_argument(
        "--profile",
        type=Path,
        help="py-spy PixelGate during its prompt@32 level; collapsed stacks to this file "
        "(perturbs that one figure)",
    )
    args = parser.parse_args()
    settings = QUICK if args.quick else DEFAULT
    started = time.perf_counter()
    results = run(settings, args.profile)
    results["meta"] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "versions": versions(),
        "settings": settings.__dict__ | {"levels": list(settings.levels)},
        "quick": args.quick,
    }
    results["upstream"] = upstream_verdict(results)
    took = time.perf_counter() - started
    results["meta"]["run_seconds"] = round(took, 1)
    lines = report(results, settings, took)
    for kind, c in PROFILED if args.profile else ():
        raw = profile_file(args.profile, kind, c)
        if raw.exists():
            lines += ["", f"## py-spy of PixelGate during {kind}@{c} ({raw}; not idle time)"]
            lines += summarize_profile(raw)
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
