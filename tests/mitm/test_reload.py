"""Following the policy file: what counts as a change, and what a reload keeps."""

from __future__ import annotations

import os
from pathlib import Path

from proxy.engine.gate_set import Parts, build_gate
from proxy.mitm.reload import PolicyFile
from proxy.policy import load_policy_text

POLICY = """version: 1
audit: {{path: {path}}}
rules:
  - {{id: r, entities: [EMAIL_ADDRESS], action: {action}}}
"""


def test_a_change_of_content_is_seen_once(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("a")
    followed = PolicyFile(str(path))
    assert not followed.changed()
    path.write_text("b")
    os.utime(path, ns=(1, 1))  # a different stat even on coarse clocks
    assert followed.changed()
    assert not followed.changed()


def test_rewriting_the_same_bytes_or_deleting_the_file_is_no_change(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("a")
    followed = PolicyFile(str(path))
    path.write_text("a")
    os.utime(path, ns=(2, 2))
    assert not followed.changed()
    path.unlink()
    assert not followed.changed()


def test_a_rebuilt_gate_keeps_the_audit_file_model_and_served_links(tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    first = build_gate(load_policy_text(POLICY.format(path=audit, action="redact"), "a.yaml"))
    link = first.served.put(b"png")
    second = build_gate(
        load_policy_text(POLICY.format(path=audit, action="block"), "a.yaml"), Parts.of((first,))
    )
    assert second.audit is first.audit and second.served.get(link) is not None
    assert second.policy.rules[0].action.value == "block"
    moved = build_gate(
        load_policy_text(POLICY.format(path=tmp_path / "b.jsonl", action="block"), "a.yaml"),
        Parts.of((second,)),
    )
    assert moved.audit is not second.audit
    for gate in (first, moved):
        gate.audit.close()
