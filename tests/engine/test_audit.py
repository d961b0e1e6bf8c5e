from __future__ import annotations

import json
from pathlib import Path

import pytest

from proxy.engine.audit import AuditEvent, AuditWriter, count_findings, fingerprint
from proxy.errors import AuditSinkError
from proxy.model import Finding, ImagePart, ImageRequest, Source, TextPart


def event(**kw: object) -> AuditEvent:
    base = dict(request_id="r1", mode="enforce", provider="openai", operation="images.generate",
                action="allow", rule="default", enforced=True)  # fmt: skip
    return AuditEvent(**{**base, **kw})  # type: ignore[arg-type]


def test_events_are_appended_as_json_lines(tmp_path: Path) -> None:
    writer = AuditWriter(str(tmp_path / "a.jsonl"))
    writer.write(event(request_id="1"))
    writer.write(event(request_id="2"))
    writer.close()
    lines = (tmp_path / "a.jsonl").read_text().splitlines()
    assert [json.loads(line)["request_id"] for line in lines] == ["1", "2"]


def test_findings_are_counted_by_source_and_entity() -> None:
    findings = [
        Finding("EMAIL_ADDRESS", Source.PROMPT, 1.0),
        Finding("EMAIL_ADDRESS", Source.PROMPT, 1.0, part=1),
        Finding("FACE", Source.FACE, 0.9),
    ]
    assert count_findings(findings) == {"face": {"FACE": 1}, "prompt": {"EMAIL_ADDRESS": 2}}


def test_fingerprint_is_keyed_and_shift_proof() -> None:
    a = ImageRequest("p", "o", (TextPart("x", "ab"), TextPart("y", "c")))
    b = ImageRequest("p", "o", (TextPart("x", "a"), TextPart("y", "bc")))
    assert fingerprint(b"k", a) != fingerprint(b"k", b)
    assert fingerprint(b"k", a) != fingerprint(b"other", a)
    with_image = ImageRequest("p", "o", (), (ImagePart("i", b"\x89PNG"),))
    assert fingerprint(b"k", with_image) == fingerprint(b"k", with_image)


def test_a_missing_audit_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(AuditSinkError, match="cannot open audit file"):
        AuditWriter(str(tmp_path / "missing" / "a.jsonl"))


def test_writing_to_a_full_sink_raises(tmp_path: Path) -> None:
    writer = AuditWriter("/dev/full")
    with pytest.raises(AuditSinkError):
        writer.write(event())
