"""What stops `pixelgate run` at start-up: each with a message naming the problem and exit
status 2, before any request is served (a degraded reroute model does not stop it: see
tests/e2e/test_degraded_start_through_proxy.py)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path


def run(
    tmp_path: Path, *settings: str, policy: str | None = None
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "proxy", "run", "--listen-port", "0",
               "--set", f"confdir={tmp_path / 'conf'}", *settings]  # fmt: skip
    if policy is not None:
        path = tmp_path / "policy.yaml"
        path.write_text(policy)
        command += ["--policy", str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_a_taken_admin_port_stops_start_up_with_its_address(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        result = run(tmp_path, "--set", f"pixelgate_admin={address}")
    assert result.returncode == 2
    assert f"admin endpoint cannot listen on {address}" in result.stderr
    assert "Error logged during startup" not in result.stderr


def test_an_audit_file_that_cannot_be_opened_stops_start_up(tmp_path: Path) -> None:
    audit = tmp_path / "no-such-dir" / "audit.jsonl"
    policy = f'version: 1\naudit: {{path: "{audit}"}}\n'
    result = run(tmp_path, "--set", "pixelgate_admin=", policy=policy)
    assert result.returncode == 2
    assert f"cannot open audit file {audit}" in result.stderr
