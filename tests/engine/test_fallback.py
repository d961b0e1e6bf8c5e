"""Loading the reroute model at start-up: a model that cannot be used degrades reroute with a
warning (never an error, which would stop mitmproxy's start-up) and a reason for /readyz."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from helpers.e2e import free_port

from proxy.engine.audit import AuditWriter
from proxy.engine.fallback import load_fallback, unavailable_reason
from proxy.engine.gate import Gate
from proxy.mitm.metrics import Metrics
from proxy.policy import Policy, load_policy_text
from proxy.providers import ADAPTERS

RULES = "rules:\n  - {id: keep-home, entities: [EMAIL_ADDRESS], action: reroute}\n"


def policy(fallback: str) -> Policy:
    return load_policy_text(f"version: 1\n{RULES}fallback: {fallback}\n", "t.yaml")


def degraded_start(
    fallback: str, caplog: pytest.LogCaptureFixture
) -> tuple[Policy, list[logging.LogRecord]]:
    chosen = policy(fallback)
    with caplog.at_level(logging.DEBUG, logger="pixelgate"):
        assert load_fallback(chosen) is None
    return chosen, [r for r in caplog.records if r.name == "pixelgate"]


def test_a_missing_folder_is_a_warning_with_the_reason_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "no-such-model"
    chosen, records = degraded_start(f'{{model: "{missing}"}}', caplog)
    assert [r.levelno for r in records] == [logging.WARNING]
    assert "DEGRADED" in records[0].getMessage() and "no such folder" in records[0].getMessage()
    assert "no such folder" in (unavailable_reason(chosen.fallback) or "")


def test_a_folder_that_is_not_a_pipeline_is_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    chosen, records = degraded_start(f'{{model: "{tmp_path}", on_unavailable: redact}}', caplog)
    assert [r.levelno for r in records] == [logging.WARNING]
    assert "not a diffusers pipeline" in (unavailable_reason(chosen.fallback) or "")


def test_an_unreachable_remote_service_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    chosen, records = degraded_start(f'{{url: "{url}"}}', caplog)
    assert [r.levelno for r in records] == [logging.WARNING]
    assert "unreachable" in (unavailable_reason(chosen.fallback) or "")


def test_readiness_names_the_reason_and_what_reroute_becomes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    chosen, _ = degraded_start(f'{{model: "{tmp_path / "gone"}", on_unavailable: allow}}', caplog)
    metrics = Metrics()
    metrics.attach(Gate(chosen, ADAPTERS, (), AuditWriter(None), None))
    ready, why = metrics.ready()
    assert not ready
    assert why.startswith("reroute is degraded to fallback.on_unavailable: allow")
    assert "no such folder" in why


def test_no_model_configured_is_ready_and_only_warned_about_when_rules_reroute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    chosen, records = degraded_start("{on_unavailable: block}", caplog)
    assert [r.levelno for r in records] == [logging.WARNING]
    assert unavailable_reason(chosen.fallback) is None
    metrics = Metrics()
    metrics.attach(Gate(chosen, ADAPTERS, (), AuditWriter(None), None))
    assert metrics.ready() == (True, "ready")
