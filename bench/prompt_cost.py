"""What inspecting one prompt costs, in process: `Gate.handle` on every PartiPrompts prompt.

The gate is built as the proxy builds it (policies/default.yaml, `build_detectors`, the
OpenAI adapter, an audit file in a temporary folder), and each prompt is sent as an OpenAI
`POST /v1/images/generations` JSON body. After a warm-up round, every prompt is handled
`--rounds` times in a shuffled order per round; a prompt's cost is the median of its
rounds, and the figures are the median and p90 of those over all prompts (plus the mean,
which is what throughput sees). Presidio's `AnalyzerEngine.analyze` calls are counted too:
the number per prompt says how many times each text is read, and the prompts that reached
Presidio at all get their own median.

The machine is noisy: compare two versions by running them alternately on the same
machine (e.g. `PYTHONPATH=/path/to/other/checkout` for the other one), not against a
figure from another day.

    .venv/bin/python bench/prompt_cost.py [--rounds 15] [--prompts N] [--json OUT.json]
                                          [--profile OUT.txt]
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import gc
import io
import json
import os
import platform
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import proxy
from proxy.detectors import build_detectors
from proxy.detectors.text_pii import TextPiiDetector
from proxy.engine.audit import AuditWriter
from proxy.engine.gate import Gate
from proxy.policy import bundled_policy_path, load_policy
from proxy.providers import ADAPTERS
from proxy.providers.base import WireRequest

ROOT = Path(__file__).resolve().parent.parent
PARTI = ROOT.parent / "shared/data/parti_prompts_dev.tsv"
OPENAI = ADAPTERS[0]
HEADERS = MappingProxyType({"content-type": "application/json"})


def parti_prompts(limit: int | None) -> list[str]:
    with PARTI.open(newline="") as f:
        rows = [row["Prompt"] for row in csv.DictReader(f, delimiter="\t")]
    return rows[:limit] if limit else rows


def wire(prompt: str) -> WireRequest:
    body = json.dumps({"prompt": prompt, "size": "1024x1024"}).encode()
    return WireRequest("POST", "api.openai.com", 443, "/v1/images/generations", HEADERS, body)


def build(folder: Path) -> tuple[Gate, Counter[str]]:
    """The default policy's gate, with its Presidio engine counting `analyze` calls."""
    policy = load_policy(str(bundled_policy_path("default")))
    gate = Gate(policy, ADAPTERS, build_detectors(policy), AuditWriter(str(folder / "a.jsonl")))
    calls: Counter[str] = Counter()
    text = next(d for d in gate.pipeline.detectors if isinstance(d, TextPiiDetector))
    engine = text.analyzer._engine
    analyze = engine.analyze

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls["analyze"] += 1
        return analyze(*args, **kwargs)

    engine.analyze = counted  # type: ignore[method-assign]
    return gate, calls


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(gate: Gate, requests: list[WireRequest], rounds: int, seed: int) -> list[float]:
    """Per request, the median milliseconds of `rounds` calls of `Gate.handle`."""
    order = list(range(len(requests)))
    samples: list[list[float]] = [[] for _ in requests]
    rng = random.Random(seed)
    gc.collect()
    for _ in range(rounds):
        rng.shuffle(order)
        for i in order:
            started = time.perf_counter()
            gate.handle(OPENAI, requests[i])
            samples[i].append((time.perf_counter() - started) * 1000)
    return [statistics.median(s) for s in samples]


def profile(gate: Gate, requests: list[WireRequest], out: Path) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(3):
        for request in requests:
            gate.handle(OPENAI, request)
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).sort_stats("tottime")
    stats.print_stats(40)
    stats.sort_stats("cumulative").print_stats(60)
    out.write_text(text.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed calls per prompt")
    parser.add_argument("--prompts", type=int, default=None, help="limit PartiPrompts (all: 816)")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--profile", type=Path, default=None, help="cProfile stats, 3 rounds")
    args = parser.parse_args()
    prompts = parti_prompts(args.prompts)
    requests = [wire(p) for p in prompts]
    with tempfile.TemporaryDirectory() as tmp:
        gate, calls = build(Path(tmp))
        actions: Counter[str] = Counter()
        analysed = []  # prompts Presidio was asked to analyse (the others were prefiltered)
        for i, request in enumerate(requests):  # warm-up
            before = calls["analyze"]
            verdict = gate.handle(OPENAI, request)
            actions[verdict.action.value if verdict else "none"] += 1
            if calls["analyze"] > before:
                analysed.append(i)
        per_call = calls["analyze"] / len(requests)
        if args.profile:
            profile(gate, requests, args.profile)
        costs = measure(gate, requests, args.rounds, args.seed)
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.platform()} {platform.machine()} py{platform.python_version()}",
        "code": os.path.dirname(os.path.dirname(proxy.__file__)),
        "prompts": len(prompts),
        "rounds": args.rounds,
        "median_ms": round(statistics.median(costs), 4),
        "p90_ms": round(pct(costs, 0.9), 4),
        "mean_ms": round(statistics.fmean(costs), 4),
        "analyze_calls_per_prompt": round(per_call, 3),
        "analysed_prompts": len(analysed),
        "analysed_median_ms": round(statistics.median(costs[i] for i in analysed), 4)
        if analysed
        else None,
        "actions": dict(actions),
        "analysed": analysed,  # indices into the prompts
        "per_prompt_ms": [round(c, 4) for c in costs],
    }
    print("# PixelGate prompt cost: Gate.handle per PartiPrompts prompt, policies/default.yaml")
    print(f"# {result['date']}  {result['machine']}  code {result['code']}")
    print(f"prompts {len(prompts)}  rounds {args.rounds}  actions {dict(actions)}")
    print(f"median {result['median_ms']:.4f} ms  p90 {result['p90_ms']:.4f} ms  "
          f"mean {result['mean_ms']:.4f} ms  analyze calls/prompt {per_call:.3f}")  # fmt: skip
    print(f"prompts that reached Presidio: {len(analysed)}, median "
          f"{result['analysed_median_ms']} ms")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
