"""A reroute model that cannot be used at start-up degrades reroute; it does not stop the proxy.

For each way the model can be unusable (a missing folder, a folder that is not a working
diffusers pipeline, a pipeline whose warm-up fails, a remote service that does not answer),
the real `pixelgate run` keeps serving: /healthz says 200, /readyz 503 with the reason, and a
request the policy would reroute gets `fallback.on_unavailable`'s answer, audited once.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers.e2e import (
    Proxy,
    Upstream,
    admin_get,
    free_port,
    policy_text,
    start_proxy,
    stop_proxy,
)
from helpers.tiny_sd import tiny_pipeline_dir

pytestmark = pytest.mark.e2e

EMAIL = "oskar.vinter@example.net"


def missing_folder(tmp: Path) -> str:
    return f'model: "{tmp / "no-such-model"}"'


def broken_pipeline(tmp: Path) -> str:
    # A real pipeline folder whose UNet weights are not weights: diffusers fails to load it.
    folder = shutil.copytree(tiny_pipeline_dir(), tmp / "broken-sd")
    for weights in (folder / "unet").glob("*.safetensors"):
        weights.write_bytes(b"not a safetensors file")
    return f'model: "{folder}", native_size: 64'


def failing_warm_up(tmp: Path) -> str:
    # Loads, but its tokenizer pads prompts past what the text encoder takes: generation fails.
    folder = shutil.copytree(tiny_pipeline_dir(), tmp / "cold-sd")
    config = folder / "tokenizer" / "tokenizer_config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "model_max_length": 200}))
    return f'model: "{folder}", native_size: 64'


def unreachable_remote(tmp: Path) -> str:
    return f'url: "http://127.0.0.1:{free_port()}"'


@dataclass(frozen=True)
class Case:
    fallback: Callable[[Path], str]
    on_unavailable: str
    reason: str  # in /readyz's answer and the start-up warning


CASES = {
    "missing-folder": Case(missing_folder, "block", "no such folder"),
    "broken-pipeline": Case(broken_pipeline, "redact", "as a diffusers pipeline on cpu failed"),
    "failing-warm-up": Case(failing_warm_up, "block", "failed its warm-up"),
    "unreachable-remote": Case(unreachable_remote, "block", "unreachable"),
}


def start_degraded(tmp: Path, upstream: Upstream, case: Case, admin: int) -> Proxy:
    policy = f"""mode: enforce
rules:
  - {{id: keep-home, entities: [EMAIL_ADDRESS], action: reroute}}
fallback: {{{case.fallback(tmp)}, device: cpu, on_unavailable: {case.on_unavailable}}}
"""
    return start_proxy(
        tmp / "proxy", policy_text(upstream, policy), upstream,
        "--set", f"pixelgate_admin=127.0.0.1:{admin}",
        env={"CI": "true"},  # transformers' loggers reach the root logger in CI: as there
    )  # fmt: skip


@pytest.mark.parametrize("name", CASES)
def test_a_degraded_start_serves_says_why_and_answers_per_on_unavailable(
    name: str, tmp_path: Path, upstream: Upstream
) -> None:
    case = CASES[name]
    admin = free_port()
    proxy = start_degraded(tmp_path, upstream, case, admin)
    try:
        upstream.clear()
        assert admin_get(admin, "/healthz")[0] == 200
        status, why = admin_get(admin, "/readyz")
        assert status == 503
        assert f"reroute is degraded to fallback.on_unavailable: {case.on_unavailable}" in why
        assert case.reason in why
        with proxy.http_client() as http:
            answer = http.post(
                f"https://localhost:{upstream.port}/v1/images/generations",
                json={"prompt": f"A postcard addressed to {EMAIL}", "size": "1024x1024"},
            )
        assert answer.headers["x-pixelgate-decision"] == case.on_unavailable
        if case.on_unavailable == "block":
            assert answer.status_code == 403
            assert "local fallback is unavailable" in answer.json()["error"]["message"]
            assert upstream.received == []
        else:  # redact: forwarded with the address covered
            assert answer.status_code == 200
            (sent,) = upstream.received
            assert EMAIL not in sent.body.decode()
        (event,) = proxy.events()
        assert (event["action"], event["rule"]) == (case.on_unavailable, "keep-home")
        assert any("local fallback is unavailable" in r for r in event["reasons"])
        assert proxy.process.poll() is None  # still serving after it all
    finally:
        stop_proxy(proxy)
    output = proxy.stdout.read_text() + proxy.stderr.read_text()
    assert "Error logged during startup" not in output
    assert "reroute is DEGRADED" in output and case.reason in output
