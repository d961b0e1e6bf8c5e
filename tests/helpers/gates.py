"""Gates as the proxy builds them, for tests that drive requests through the real pipeline."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from proxy.detectors import build_detectors
from proxy.engine.audit import AuditWriter
from proxy.engine.gate import Gate
from proxy.policy import load_policy
from proxy.providers import ADAPTERS

ROOT = Path(__file__).resolve().parents[2]


def default_gate(audit_dir: Path) -> Gate:
    """The bundled default policy's gate, auditing to a file in `audit_dir`."""
    policy = load_policy(ROOT / "policies" / "default.yaml")
    audit = dataclasses.replace(policy.audit, path=audit_dir / "audit.jsonl")
    policy = dataclasses.replace(policy, audit=audit)
    return Gate(policy, ADAPTERS, build_detectors(policy), AuditWriter(policy.audit.path))
