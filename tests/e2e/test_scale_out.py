"""Scale-out: two `pixelgate run` instances behind HAProxy, sharing one CA and one remote
fallback service (`pixelgate fallback serve`).

Explicit-proxy traffic is CONNECT then TLS, so HAProxy balances it in TCP mode, one backend
server per instance, health-checked on each instance's admin /readyz. Clients trust one CA:
the second instance starts from a copy of the first one's confdir. Every request is audited
exactly once, by whichever instance served it; reroutes are answered by the shared service.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from helpers.e2e import (
    Proxy,
    Upstream,
    free_port,
    openai_sdk,
    policy_text,
    proxied_http,
    start_proxy,
    stop_proxy,
)
from helpers.tiny_sd import tiny_pipeline_dir
from mitmproxy.certs import CertStore
from PIL import Image

pytestmark = pytest.mark.e2e

N = 40
EMAIL = "ingrid.holm@example.no"
TOKEN_ENV = "TEST_SCALE_OUT_TOKEN"
TOKEN = "scale-out-token"
GENERATIONS_SERVED = "POST /v1/images/generations 200"

POLICY = """mode: enforce
on_error: block
default_action: allow
recognizers:
  - {{entity: PROJECT_CODE, patterns: [{{regex: 'PRJ-\\d{{4}}', score: 0.9}}]}}
rules:
  - {{id: contact-details, entities: [EMAIL_ADDRESS], action: redact}}
  - {{id: keep-home, entities: [PROJECT_CODE], action: reroute}}
redaction: {{EMAIL_ADDRESS: "an email address"}}
fallback: {{url: "{url}", token_env: {token_env}, on_unavailable: block}}
"""


def prompt_for(i: int) -> tuple[str, str]:
    """The i-th request's expected decision and prompt: allow, redact and reroute in turn."""
    kind = ("allow", "redact", "reroute")[i % 3]
    if kind == "redact":
        return kind, f"A postcard for {EMAIL}, card {i}"
    if kind == "reroute":
        return kind, f"A poster for project PRJ-{1000 + i}"
    return kind, f"A watercolor lighthouse at dawn, study {i}"


@dataclass
class Answer:
    expected: str
    decision: str
    size: tuple[int, int]


@dataclass
class Cluster:
    instances: list[Proxy]
    admins: list[int]
    balancer_port: int
    service_log: Path
    answers: list[Answer]


@pytest.fixture(scope="module")
def fallback_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """One `pixelgate fallback serve` with a bearer token, shared by every instance."""
    work = tmp_path_factory.mktemp("service")
    policy = work / "service.yaml"
    policy.write_text(
        f'version: 1\nfallback: {{model: "{tiny_pipeline_dir()}", native_size: 64, '
        f"token_env: {TOKEN_ENV}}}\n"
    )
    port = free_port()
    log = work / "service.log"
    env = {**os.environ, TOKEN_ENV: TOKEN, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "proxy", "fallback", "serve", "--policy", str(policy),
         "--port", str(port)],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while "serving" not in log.read_text() and time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        time.sleep(0.2)
    yield f"http://127.0.0.1:{port}", log
    process.terminate()
    process.wait(timeout=20)


def haproxy_config(port: int, instances: list[tuple[int, int]]) -> str:
    """TCP mode (CONNECT is just bytes to HAProxy), one server per (proxy port, admin port)."""
    servers = "\n".join(
        f"  server pixelgate{i} 127.0.0.1:{proxy} check port {admin} inter 1s fall 2 rise 1"
        for i, (proxy, admin) in enumerate(instances)
    )
    return f"""global
  maxconn 256
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend pixelgate
  bind 127.0.0.1:{port}
  default_backend instances
backend instances
  balance roundrobin
  option httpchk GET /readyz
{servers}
"""


def start_haproxy(
    work: Path, port: int, instances: list[tuple[int, int]]
) -> subprocess.Popen[bytes]:
    binary = shutil.which("haproxy")
    assert binary, "haproxy is installed by `make test` (Debian package haproxy)"
    config = work / "haproxy.cfg"
    config.write_text(haproxy_config(port, instances))
    log = work / "haproxy.log"
    process = subprocess.Popen(
        [binary, "-f", str(config), "-db"], stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)  # any answer: it accepts
            break
        except httpx.TransportError:
            time.sleep(0.1)
    return process


def ask(balancer_port: int, ca: Path, upstream: Upstream, i: int) -> Answer:
    """One request on its own connection (and so its own CONNECT), as separate clients do."""
    expected, prompt = prompt_for(i)
    http = proxied_http(f"http://127.0.0.1:{balancer_port}", ca)
    with openai_sdk(upstream, http) as client:
        raw = client.images.with_raw_response.generate(prompt=prompt, size="1024x1024")
    (item,) = raw.parse().data or []
    image = Image.open(io.BytesIO(base64.b64decode(item.b64_json or "")))
    return Answer(expected, raw.headers["x-pixelgate-decision"], image.size)


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory,
    upstream: Upstream,
    fallback_service: tuple[str, Path],
) -> Iterator[Cluster]:
    url, service_log = fallback_service
    text = policy_text(upstream, POLICY.format(url=url, token_env=TOKEN_ENV))
    admins = [free_port(), free_port()]
    instances: list[Proxy] = []
    haproxy: subprocess.Popen[bytes] | None = None
    # One CA for all instances, made once by mitmproxy's own certificate store (as
    # `pixelgate run` would on first start) and copied into each instance's confdir.
    seed = tmp_path_factory.mktemp("ca")
    CertStore.from_store(seed, "mitmproxy", 2048)

    def start(n: int) -> Proxy:
        work = tmp_path_factory.mktemp(f"instance{n}")
        shutil.copytree(seed, work / "confdir")
        return start_proxy(
            work, text, upstream,
            "--set", f"pixelgate_admin=127.0.0.1:{admins[n]}",
            verbosity="info", env={TOKEN_ENV: TOKEN},
        )  # fmt: skip

    try:
        with ThreadPoolExecutor(len(admins)) as pool:
            starting = [pool.submit(start, n) for n in range(len(admins))]
        # Every one that started is stopped below, even when another failed to start.
        instances.extend(f.result() for f in starting if f.exception() is None)
        for f in starting:
            f.result()
        balancer_port = free_port()
        haproxy = start_haproxy(
            tmp_path_factory.mktemp("haproxy"),
            balancer_port,
            [(p.port, admin) for p, admin in zip(instances, admins, strict=True)],
        )
        upstream.clear()
        ca = instances[0].ca
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda i: ask(balancer_port, ca, upstream, i), range(N)))
        yield Cluster(instances, admins, balancer_port, service_log, answers)
    finally:
        if haproxy is not None:
            haproxy.terminate()
            haproxy.wait(timeout=10)
        for instance in instances:
            stop_proxy(instance)


def test_instances_share_one_ca(cluster: Cluster) -> None:
    first, second = cluster.instances
    assert first.ca.read_bytes() == second.ca.read_bytes()
    assert (first.confdir / "mitmproxy-ca.pem").read_bytes() == (
        second.confdir / "mitmproxy-ca.pem"
    ).read_bytes()


def test_each_instance_is_ready_on_its_own_admin_port(cluster: Cluster) -> None:
    # What HAProxy's `option httpchk GET /readyz` checks; a 503 would take it out of rotation.
    for admin in cluster.admins:
        assert httpx.get(f"http://127.0.0.1:{admin}/readyz", timeout=5).status_code == 200


def test_every_request_through_the_balancer_is_answered_per_policy(cluster: Cluster) -> None:
    assert len(cluster.answers) == N
    for answer in cluster.answers:
        assert answer.decision == answer.expected
        # Upstream answers a 1x1 PNG; only the fallback service draws at the asked size.
        assert answer.size == ((1024, 1024) if answer.expected == "reroute" else (1, 1))


def test_both_instances_served_traffic(cluster: Cluster) -> None:
    assert all(instance.events() for instance in cluster.instances)


def test_each_request_is_audited_exactly_once_across_instances(cluster: Cluster) -> None:
    events = [e for instance in cluster.instances for e in instance.events()]
    assert len(events) == N
    assert len({e["request_id"] for e in events}) == N
    actions = sorted(str(e["action"]) for e in events)
    assert actions == sorted(a.expected for a in cluster.answers)


def test_reroutes_went_to_the_shared_service_and_nothing_else_upstream(
    cluster: Cluster, upstream: Upstream
) -> None:
    reroutes = sum(a.expected == "reroute" for a in cluster.answers)
    assert cluster.service_log.read_text().count(GENERATIONS_SERVED) == reroutes
    assert len(upstream.received) == N - reroutes
    bodies = b"".join(r.body for r in upstream.received)
    assert b"PRJ-" not in bodies and EMAIL.encode() not in bodies
    assert bodies.count(b"an email address") == sum(a.expected == "redact" for a in cluster.answers)
