"""How long one hostile request can hold the proxy's event loop: PixelGate against plain
mitmproxy, in the same run, through the real proxies.

A probe sends a tiny plain-HTTP request through the proxy to a loopback server (no provider,
so nothing is inspected: only the event loop is measured) every 5 ms, on one keep-alive
connection, while adversarial requests go to the provider upstream: prompts built to make
patterns backtrack (IPv6-like, email-like, digit runs), a JSON body of a million short
strings and a multipart body of many parts. The figure is the probe's worst latency during
each case, next to its median at rest: everything above that median is time the event loop
(or the GIL) was held. Usage: python bench/loop_hold.py [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
from _upstreams import Upstreams  # noqa: E402
from helpers.e2e import Upstream, start_mitmdump, start_proxy, stop_proxy  # noqa: E402

PROBE_EVERY_S = 0.005
PATH = "/v1/images/generations"


def cases(quick: bool) -> dict[str, Callable[[], list[tuple[str, bytes]]]]:
    """Each case: the (content type, body) of the requests sent together."""

    def prompts(text: str, n: int) -> list[tuple[str, bytes]]:
        return [("application/json", json.dumps({"prompt": text}).encode())] * n

    strings = 200_000 if quick else 1_000_000
    parts = 2_000 if quick else 20_000
    boundary = "b0undary"
    multipart = (
        "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\nx\r\n'
            for i in range(parts)
        )
        + f"--{boundary}--\r\n"
    ).encode()
    return {
        "IPv6-like prompt 8 KiB x3": lambda: prompts(("1:2:3:4:5:6:7:8 " * 512)[:8192], 3),
        "email-like prompt 8 KiB x3": lambda: prompts("a." * 4095 + "@", 3),
        "digit runs 64 KiB x2": lambda: prompts(("4539 1488 0343 646 " * 3500)[:65536], 2),
        "dotted words 64 KiB x2": lambda: prompts(("ab.cd-" * 11000)[:65536], 2),
        f"JSON of {strings:,} short strings": lambda: [
            ("application/json", json.dumps({"prompt": "a cat", "x": ["ab"] * strings}).encode())
        ],
        f"multipart of {parts:,} parts": lambda: [
            (f"multipart/form-data; boundary={boundary}", multipart)
        ],
    }


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else Nagle + delayed ACK add 40 ms to every probe

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


class Probe:
    """Tiny requests through the proxy every 5 ms; latencies in ms."""

    def __init__(self, proxy_port: int, target_port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", proxy_port), timeout=120)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.request = (
            f"GET http://127.0.0.1:{target_port}/ HTTP/1.1\r\nHost: 127.0.0.1:{target_port}\r\n\r\n"
        ).encode()
        self.latencies: list[float] = []
        self._stop = threading.Event()

    def once(self) -> float:
        started = time.perf_counter()
        self.sock.sendall(self.request)
        data = b""
        while not data.endswith(b"ok"):
            data += self.sock.recv(4096)
        return (time.perf_counter() - started) * 1000

    def run(self) -> None:
        while not self._stop.is_set():
            self.latencies.append(self.once())
            time.sleep(PROBE_EVERY_S)

    def during(self, work: Callable[[], Any]) -> tuple[list[float], Any]:
        self.latencies, self._stop = [], threading.Event()
        thread = threading.Thread(target=self.run)
        thread.start()
        time.sleep(0.1)
        try:
            result = work()
        finally:
            time.sleep(0.1)
            self._stop.set()
            thread.join()
        return self.latencies, result


def send_all(client: httpx.Client, url: str, requests: list[tuple[str, bytes]]) -> list[int]:
    statuses: list[int] = [0] * len(requests)

    def one(i: int) -> None:
        kind, body = requests[i]
        statuses[i] = client.post(url, content=body, headers={"content-type": kind}).status_code

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def measure(
    name: str, port: int, ca: Path, upstream: Upstream, target: int, quick: bool
) -> dict[str, Any]:
    probe = Probe(port, target)
    rest = [probe.once() for _ in range(100)]
    url = f"https://localhost:{upstream.port}{PATH}"
    out: dict[str, Any] = {"rest_p50_ms": statistics.median(rest), "cases": {}}
    with httpx.Client(proxy=f"http://127.0.0.1:{port}", verify=str(ca), timeout=300) as client:
        for case, build in cases(quick).items():
            requests = build()
            started = time.perf_counter()
            latencies, statuses = probe.during(lambda r=requests: send_all(client, url, r))
            out["cases"][case] = {
                "worst_probe_ms": max(latencies),
                "probes": len(latencies),
                "case_s": time.perf_counter() - started,
                "statuses": sorted(set(statuses)),
            }
            print(f"  {name:<10} {case:<32} worst probe {max(latencies):8.1f} ms", flush=True)
    probe.sock.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="loop-hold-"))
    upstreams = Upstreams(work)
    upstream = Upstream(upstreams.ports["openai"], upstreams.cert)
    target = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=target.serve_forever, daemon=True).start()
    target_port = int(target.server_address[1])
    policy = yaml.safe_load((ROOT / "policies" / "default.yaml").read_text())
    policy["providers"] = {"openai": {"hosts": [f"localhost:{upstream.port}"]}}
    policy["audit"] = {"path": str(work / "audit.jsonl")}
    results: dict[str, Any] = {}
    pixelgate = start_proxy(work / "pixelgate", yaml.safe_dump(policy), upstream, verbosity="warn")
    try:
        results["pixelgate"] = measure(
            "pixelgate", pixelgate.port, pixelgate.ca, upstream, target_port, args.quick
        )
    finally:
        stop_proxy(pixelgate)
    plain = start_mitmdump(work / "mitmproxy", upstream)
    try:
        results["mitmproxy"] = measure(
            "mitmproxy", plain.port, plain.ca, upstream, target_port, args.quick
        )
    finally:
        plain.process.terminate()
        plain.process.wait(20)
    upstreams.stop()
    print()
    print(f"{'case':<34}{'PixelGate worst':>16}{'mitmproxy worst':>17}{'PixelGate answer':>18}")
    for case, row in results["pixelgate"]["cases"].items():
        base = results["mitmproxy"]["cases"][case]
        print(
            f"{case:<34}{row['worst_probe_ms']:>13.1f} ms{base['worst_probe_ms']:>14.1f} ms"
            f"{'/'.join(map(str, row['statuses'])):>18}"
        )
    worst = max(r["worst_probe_ms"] for r in results["pixelgate"]["cases"].values())
    rest = results["pixelgate"]["rest_p50_ms"]
    print(f"\nworst event-loop hold (PixelGate): {worst - rest:.1f} ms above the probe's "
          f"{rest:.2f} ms median at rest")  # fmt: skip
    results["worst_hold_ms"] = worst - rest
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
