from __future__ import annotations

import pytest

from proxy.engine.redact import redact_request, redact_text
from proxy.errors import CannotRedact
from proxy.model import Finding, ImageRequest, Source, TextPart


def placeholder(entity: str) -> str:
    return f"<{entity}>"


def finding(entity: str, start: int, end: int, score: float = 1.0, part: int = 0) -> Finding:
    return Finding(entity, Source.PROMPT, score, part=part, start=start, end=end)


def test_each_span_is_replaced_by_its_placeholder() -> None:
    text = "mail a@b.co or call 555-0100"
    out = redact_text(
        text, [finding("EMAIL_ADDRESS", 5, 11), finding("PHONE_NUMBER", 20, 28)], placeholder
    )
    assert out == "mail <EMAIL_ADDRESS> or call <PHONE_NUMBER>"


def test_overlapping_spans_merge_under_the_highest_score() -> None:
    text = "x jane.doe@example.org y"
    spans = [finding("URL", 7, 22, 0.5), finding("EMAIL_ADDRESS", 2, 22, 1.0)]
    assert redact_text(text, spans, placeholder) == "x <EMAIL_ADDRESS> y"


def test_only_the_targeted_part_changes() -> None:
    request = ImageRequest("p", "op", (TextPart("a", "keep me"), TextPart("b", "id EMP-1")))
    out = redact_request(request, [finding("EMPLOYEE_ID", 3, 8, part=1)], placeholder)
    assert [p.text for p in out.prompts] == ["keep me", "id <EMPLOYEE_ID>"]
    assert out.prompts[0] is request.prompts[0]


def test_image_findings_cannot_be_redacted_as_text() -> None:
    request = ImageRequest("p", "op", (TextPart("a", "x"),))
    with pytest.raises(CannotRedact):
        redact_request(request, [Finding("FACE", Source.FACE, 0.9, box=(0, 0, 4, 4))], placeholder)
