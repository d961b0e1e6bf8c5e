"""Added latency of a prompt-only image request: direct vs plain mitmproxy vs PixelGate.

All three run in this one process's run, against the same TLS upstream on loopback, with
real prompts from PartiPrompts. Prints p50/p99 per path and PixelGate's cost relative to
plain mitmproxy. Figures are machine-dependent; the ratios are what to compare.

    .venv/bin/python bench/latency.py [--requests 300] [--policy policies/default.yaml]
"""

from __future__ import annotations

import argparse
import csv
import platform
import ssl
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from helpers.e2e import serve_upstream, start_mitmdump, start_proxy, stop_proxy  # noqa: E402

PARTI = ROOT.parent / "shared" / "data" / "parti_prompts_dev.tsv"
FALLBACK_PROMPTS = [
    "A watercolor lighthouse on a cliff at dawn",
    "an astronaut riding a horse on the moon, oil painting",
    "a bowl of ramen in the style of Van Gogh",
]


def prompts(limit: int) -> list[str]:
    if not PARTI.exists():
        return FALLBACK_PROMPTS
    with PARTI.open(newline="") as f:
        rows = [row["Prompt"] for row in csv.DictReader(f, delimiter="\t")]
    return rows[:limit]


def measure(client: httpx.Client, url: str, texts: list[str], n: int) -> list[float]:
    for text in texts[:20]:  # warm-up: connections, TLS, spaCy caches
        client.post(url, json={"prompt": text}).raise_for_status()
    samples = []
    for i in range(n):
        started = time.perf_counter()
        client.post(
            url, json={"prompt": texts[i % len(texts)], "size": "1024x1024"}
        ).raise_for_status()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def pct(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--policy", default=str(ROOT / "policies" / "default.yaml"))
    args = parser.parse_args()
    texts = prompts(1000)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        upstream, server = serve_upstream(work)
        url = f"https://localhost:{upstream.port}/v1/images/generations"
        policy = yaml.safe_load(Path(args.policy).read_text())
        policy["providers"] = {"openai": {"hosts": [f"localhost:{upstream.port}"]}}
        policy["audit"] = {**policy.get("audit", {}), "path": "audit.jsonl"}
        gate = start_proxy(work / "pixelgate", yaml.safe_dump(policy), upstream, verbosity="warn")
        plain = start_mitmdump(work / "mitmdump", upstream)
        try:
            direct_ctx = ssl.create_default_context(cafile=str(upstream.cert))
            results = {}
            with httpx.Client(verify=direct_ctx) as c:
                results["direct"] = measure(c, url, texts, args.requests)
            with plain.http_client() as c:
                results["mitmproxy"] = measure(c, url, texts, args.requests)
            with gate.http_client() as c:
                results["pixelgate"] = measure(c, url, texts, args.requests)
        finally:
            plain.stop()
            stop_proxy(gate)
            server.shutdown()
    print(
        f"# PixelGate latency, prompt-only POST /v1/images/generations ({args.requests} requests)"
    )
    print(f"# {datetime.now(UTC):%Y-%m-%d} {platform.machine()} {platform.python_version()}, "
          f"policy {Path(args.policy).name}, sequential, keep-alive")  # fmt: skip
    print(f"{'path':<12}{'p50 ms':>10}{'p99 ms':>10}{'added p50':>12}{'added p99':>12}")
    base50, base99 = pct(results["direct"], 50), pct(results["direct"], 99)
    for name, samples in results.items():
        p50, p99 = pct(samples, 50), pct(samples, 99)
        print(f"{name:<12}{p50:>10.2f}{p99:>10.2f}{p50 - base50:>12.2f}{p99 - base99:>12.2f}")
    m50, g50 = pct(results["mitmproxy"], 50), pct(results["pixelgate"], 50)
    print(f"pixelgate p50 / mitmproxy p50 = {g50 / m50:.2f}x; "
          f"PixelGate's own cost over mitmproxy: {g50 - m50:.2f} ms p50")  # fmt: skip


if __name__ == "__main__":
    main()
