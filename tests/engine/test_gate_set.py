"""The gates in force: one per policy an identities file names, sharing what can be shared,
chosen per sender, and rebuilt whole when a followed file changes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from proxy.detectors.images import ImageDetectorStage
from proxy.engine.gate import Call
from proxy.engine.gate_set import GateSet, build_gate, build_gates
from proxy.errors import PolicyError
from proxy.identity.selection import Identity
from proxy.mitm.reload import Follower
from proxy.providers.base import WireRequest

POLICY = """version: 1
audit: {{path: {audit}}}
mode: {mode}
rules:
  - {{id: {rule}, entities: [EMAIL_ADDRESS, FACE], action: {action}}}
"""

IDENTITIES = """version: 1
user_ids: {{key_env: PG_GATES_KEY}}
groups: {{legal: [carol]}}
select:
  - {{name: legal, groups: [legal], policy: legal.yaml}}
  - {{name: lab, networks: [10.20.0.0/16], policy: lab.yaml}}
  - {{name: same-file, users: [{same_user}], policy: policy.yaml}}
"""


def files(tmp_path: Path, same_user: str = "zoe") -> tuple[Path, Path]:
    audit = tmp_path / "audit.jsonl"
    for name, mode, rule, action in (
        ("policy.yaml", "enforce", "contact", "redact"),
        ("legal.yaml", "enforce", "legal-block", "block"),
        ("lab.yaml", "audit", "lab", "block"),
    ):
        (tmp_path / name).write_text(
            POLICY.format(audit=audit, mode=mode, rule=rule, action=action)
        )
    identities = tmp_path / "identities.yaml"
    identities.write_text(IDENTITIES.format(same_user=same_user))
    return tmp_path / "policy.yaml", identities


def request(prompt: str) -> WireRequest:
    body = json.dumps({"model": "gpt-image-1", "prompt": prompt}).encode()
    return WireRequest(
        "POST",
        "api.openai.com",
        443,
        "/v1/images/generations",
        {"content-type": "application/json"},
        body,
    )


@pytest.fixture
def gates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GateSet]:
    monkeypatch.setenv("PG_GATES_KEY", "secret")
    policy, identities = files(tmp_path)
    built = build_gates(str(policy), str(identities))
    yield built
    for gate in built.gates:
        gate.audit.close()


def test_one_gate_per_policy_file_sharing_audit_file_and_served_links(gates: GateSet) -> None:
    assert len(gates.gates) == 3  # policy.yaml is named twice: one gate
    assert len({id(g.audit) for g in gates.gates}) == 1  # one writer for the one audit file
    assert len({id(g.served) for g in gates.gates}) == 1


def test_image_detector_engines_are_loaded_once_for_all_policies(gates: GateSet) -> None:
    stages = [
        stage
        for gate in gates.gates
        for stage in gate.pipeline.detectors
        if isinstance(stage, ImageDetectorStage) and stage.name in ("faces", "ocr")
    ]
    assert len(stages) == 2 * len(gates.gates)
    faces = {id(s.inner) for s in stages if s.name == "faces"}
    ocr = {id(getattr(s.inner, "_engine", None)) for s in stages if s.name == "ocr"}
    assert len(faces) == 1 and len(ocr) == 1  # one face detector, one OCR engine


def test_each_sender_is_decided_and_audited_under_their_own_policy(
    gates: GateSet, tmp_path: Path
) -> None:
    plan = [
        (Identity("carol", "192.0.2.1"), "legal", "block", True),
        (Identity("dave", "10.20.0.7"), "lab", "block", False),  # audit mode: not enforced
        (Identity("zoe", None), "same-file", "redact", True),
        (Identity(None, "192.0.2.1"), "default", "redact", True),
    ]
    for who, selection, action, enforced in plan:
        gate, caller = gates.choose(who)
        adapter = gate.route("api.openai.com", 443)
        assert adapter is not None
        verdict = gate.handle(adapter, request("mail me at ann.lee@example.com"), call=Call(caller))
        assert verdict is not None
        assert (verdict.event.selection, verdict.event.action) == (selection, action)
        assert verdict.event.enforced is enforced
        # Audit mode stores nothing but counts: no user id unless the policy asks for it.
        expected = gates.user_ids.of(who.user) if who.user and enforced else None
        assert verdict.event.user == expected
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    assert len(lines) == len(plan)
    for name in ("carol", "dave", "zoe"):
        assert name not in "\n".join(lines)


def test_a_rebuild_keeps_what_did_not_change(gates: GateSet, tmp_path: Path) -> None:
    policy, identities = files(tmp_path, same_user="yann")
    rebuilt = build_gates(str(policy), str(identities), gates)
    assert rebuilt.gates[0].audit is gates.gates[0].audit
    assert rebuilt.gates[0].served is gates.gates[0].served
    assert rebuilt.choose(Identity("yann", None))[1].selection == "same-file"
    unchanged = build_gates(str(policy), str(identities), rebuilt)
    assert unchanged.selector is rebuilt.selector  # and with it the directory's cache
    assert unchanged.gates == rebuilt.gates  # unchanged policies keep their gates
    (tmp_path / "lab.yaml").write_text(
        POLICY.format(audit=tmp_path / "audit.jsonl", mode="audit", rule="lab2", action="block")
    )
    edited = build_gates(str(policy), str(identities), unchanged)
    assert edited.default is unchanged.default
    assert edited.choose(Identity("dave", "10.20.0.7"))[0] not in unchanged.gates


def test_the_follower_watches_every_named_policy_and_keeps_the_last_good_set(
    gates: GateSet, tmp_path: Path
) -> None:
    policy, identities = files(tmp_path)
    assert len(set(gates.files)) == 4 and str(identities) in gates.files
    current = [gates]
    installed: list[GateSet] = []

    def install(new: GateSet) -> None:
        current[0] = new
        installed.append(new)

    def rebuild(previous: GateSet) -> GateSet:
        return build_gates(str(policy), str(identities), previous)

    follower = Follower(lambda: current[0], rebuild, install)

    async def scenario() -> None:
        task = asyncio.create_task(follower.run())
        await asyncio.sleep(0.2)
        (tmp_path / "legal.yaml").write_text("version: 1\nrules: [oops\n")  # broken
        follower.request()
        await asyncio.sleep(0.5)
        assert installed == []  # the last good set stays
        (tmp_path / "legal.yaml").write_text(
            POLICY.format(audit=tmp_path / "audit.jsonl", mode="enforce", rule="r2", action="allow")
        )
        for _ in range(40):
            if installed:
                break
            await asyncio.sleep(0.1)
        task.cancel()

    asyncio.run(scenario())
    assert installed, "a change to a policy the identities file names is followed"
    gate, _ = installed[-1].choose(Identity("carol", None))
    assert gate.policy.rules[0].id == "r2"


def test_set_ups_that_cannot_do_what_was_meant_are_warned_about(
    gates: GateSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    warned = gates.warnings(None, ["regular"])
    assert len(warned) == 1 and "match nobody" in warned[0]
    assert gates.warnings("@users.htpasswd", ["regular"]) == []  # a key is set (fixture)
    assert "Authorization" in gates.warnings("@users", ["reverse:https://api.openai.com"])[0]
    monkeypatch.delenv("PG_GATES_KEY")
    assert any(
        "random per process" in w
        for w in build_gates(str(gates.default.policy.source), None).warnings("@users", ["regular"])
    )


def test_a_policy_named_before_it_exists_is_loaded_when_it_appears(
    gates: GateSet, tmp_path: Path
) -> None:
    policy, identities = files(tmp_path)
    current = [gates]
    follower = Follower(
        lambda: current[0],
        lambda previous: build_gates(str(policy), str(identities), previous),
        lambda new: current.__setitem__(0, new),
    )

    async def scenario() -> None:
        task = asyncio.create_task(follower.run())
        await asyncio.sleep(0.2)
        text = identities.read_text().replace("policy: lab.yaml", "policy: later.yaml")
        identities.write_text(text)  # names a file that is not there yet: the reload fails
        await asyncio.sleep(1.5)
        assert current[0] is gates
        (tmp_path / "later.yaml").write_text(
            POLICY.format(
                audit=tmp_path / "audit.jsonl", mode="enforce", rule="late", action="block"
            )
        )
        for _ in range(40):
            if current[0] is not gates:
                break
            await asyncio.sleep(0.1)
        task.cancel()

    asyncio.run(scenario())
    gate, caller = current[0].choose(Identity("dave", "10.20.0.7"))
    assert caller.selection == "lab" and gate.policy.rules[0].id == "late"


def test_an_audit_mode_policy_records_user_ids_only_when_it_says_so(tmp_path: Path) -> None:
    from proxy.policy import load_policy_text

    for setting, expected in (("", None), ("  user_ids: true\n", "u-")):
        text = f"version: 1\nmode: audit\naudit:\n  path: null\n{setting}"
        gates = GateSet(build_gate(load_policy_text(text)))
        gate, caller = gates.choose(Identity("erin", None))
        adapter = gate.route("api.openai.com", 443)
        assert adapter is not None
        verdict = gate.handle(adapter, request("a lighthouse"), call=Call(caller))
        assert verdict is not None
        assert (verdict.event.user or "")[:2] == (expected or "")


def test_a_failed_build_leaves_no_audit_file_of_its_own_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import proxy.engine.gate_set

    opened: list[object] = []
    real = proxy.engine.gate_set.AuditWriter

    def recording(path: str | None) -> object:
        writer = real(path)
        opened.append(writer)
        return writer

    monkeypatch.setattr(proxy.engine.gate_set, "AuditWriter", recording)
    policy, identities = files(tmp_path)
    (tmp_path / "legal.yaml").write_text(
        POLICY.format(audit=tmp_path / "legal.jsonl", mode="enforce", rule="r", action="block")
    )
    (tmp_path / "lab.yaml").write_text("version: 1\nrules: [oops\n")  # named after legal.yaml
    with pytest.raises(PolicyError):
        build_gates(str(policy), str(identities))
    assert opened and all(w._file is None for w in opened)  # type: ignore[attr-defined]
