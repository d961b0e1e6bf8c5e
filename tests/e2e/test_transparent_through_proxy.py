"""Transparent mode through the real proxy, in a private network namespace.

The client is configured with no proxy at all: an iptables REDIRECT (as on a gateway) hands
its connections to PixelGate, which must still decrypt the provider host, redact and block.
Needs user namespaces (`unshare -rn`) and iptables (the Makefile installs it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

CARD = "4111 1111 1111 1111"
EMAIL = "sam.reyes@example.net"
POLICY = """mode: enforce
on_error: block
rules:
  - {id: no-payment-data, entities: [CREDIT_CARD], action: block}
  - {id: contact-details, entities: [EMAIL_ADDRESS], action: redact}
redaction: {EMAIL_ADDRESS: "an email address"}
"""
TESTS = Path(__file__).resolve().parents[1]


def _namespaces_available() -> bool:
    unshare = shutil.which("unshare")
    return bool(unshare) and subprocess.run([unshare, "-rn", "true"]).returncode == 0


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    # Not skipped when missing: CI machines allow them, and a silent skip would hide a loss.
    assert _namespaces_available(), "user + network namespaces (unshare -rn) are refused here"
    assert shutil.which("iptables"), "iptables is missing: `make pytest` installs it"
    spec = {"policy": POLICY, "prompts": ["a red fox", f"a card for {EMAIL}", f"receipt {CARD}"]}
    workdir = tmp_path_factory.mktemp("transparent")
    done = subprocess.run(
        ["unshare", "-rn", sys.executable, "-m", "helpers.transparent", str(workdir),
         json.dumps(spec)],
        cwd=TESTS, capture_output=True, text=True, timeout=240,
        env={"PATH": "/usr/sbin:/sbin:/usr/bin:/bin", "PYTHONPATH": str(TESTS)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_transparent_mode_forwards_a_clean_request(outcome: dict[str, list[dict]]) -> None:
    clean = outcome["results"][0]
    assert (clean["status"], clean["decision"]) == (200, "allow")
    assert len(clean["upstream_bodies"]) == 1


def test_transparent_mode_redacts_before_the_upstream(outcome: dict[str, list[dict]]) -> None:
    redacted = outcome["results"][1]
    assert (redacted["status"], redacted["decision"]) == (200, "redact")
    (body,) = redacted["upstream_bodies"]
    assert EMAIL not in body and "an email address" in body


def test_transparent_mode_blocks_and_the_upstream_sees_nothing(
    outcome: dict[str, list[dict]],
) -> None:
    blocked = outcome["results"][2]
    assert blocked["decision"] == "block" and blocked["status"] >= 400
    assert blocked["upstream_bodies"] == []


def test_transparent_mode_audits_every_request(outcome: dict[str, list[str]]) -> None:
    assert outcome["events"] == ["allow", "redact", "block"]
