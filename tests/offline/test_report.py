"""`pixelgate report`: summaries of audit files, as text and as one self-contained page."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from proxy.cli.main import main
from proxy.engine.audit import AuditEvent
from proxy.offline.report import bucket_width, format_text, percentile, read_events, summarize
from proxy.offline.report_html import render_html


def event(action: str, rule: str, at: str, provider: str = "openai", **extra: object) -> str:
    fields: dict[str, object] = dict(
        request_id="r", mode="enforce", provider=provider, operation="generate",
        action=action, rule=rule, enforced=True, time=at,
    )  # fmt: skip
    return AuditEvent(**{**fields, **extra}).to_json()  # type: ignore[arg-type]


LINES = [
    event("allow", "default", "2026-03-02T09:00:01.000+00:00", timings_ms={"total": 4.0}),
    event("block", "no-payment-data", "2026-03-02T09:00:30.000+00:00",
          findings={"prompt": {"CREDIT_CARD": 1}}, timings_ms={"total": 10.0}),
    event("redact", "contact-details", "2026-03-02T09:02:00.000+00:00", provider="stability",
          findings={"prompt": {"EMAIL_ADDRESS": 2}, "image_text": {"EMAIL_ADDRESS": 1}},
          timings_ms={"total": 30.0}),
    event("block", "on_error", "2026-03-02T09:05:59.000+00:00", provider="stability",
          error="pixelgate_malformed_request", timings_ms={"total": 1.0}),
]  # fmt: skip
BAD = [
    "not json at all",
    "[1, 2, 3]",
    '{"action": "allow"}',
    event("allow", "default", "yesterday"),
    event("allow", "default", "2026-03-02T09:00:00+00:00", findings={"prompt": {"X": "many"}}),
    event("allow", "default", "2026-03-02T09:00:00+00:00", timings_ms={"total": "slow"}),
]


def test_counts_by_action_provider_rule_entity_source_and_error() -> None:
    events, malformed = read_events(LINES)
    s = summarize(events, malformed)
    assert (s.requests, s.malformed) == (4, 0)
    assert s.by_action == {"block": 2, "allow": 1, "redact": 1}
    assert s.actions == ["allow", "redact", "block"]
    assert s.by_provider == {"openai": 2, "stability": 2}
    assert s.by_rule == {"contact-details": 1, "default": 1, "no-payment-data": 1, "on_error": 1}
    assert s.by_entity == {"EMAIL_ADDRESS": 3, "CREDIT_CARD": 1}
    assert s.by_source == {"prompt": 3, "image_text": 1}
    assert s.by_error == {"pixelgate_malformed_request": 1}


def test_malformed_lines_are_counted_and_never_fatal() -> None:
    events, malformed = read_events([*BAD, "", "   ", *LINES, "\x00\xff{"])
    assert (len(events), malformed) == (4, len(BAD) + 1)


def test_percentiles_are_measured_values() -> None:
    s = summarize(read_events(LINES)[0])
    assert (s.p50_ms, s.p95_ms) == (4.0, 30.0)
    assert percentile([], 50) is None
    assert percentile([float(i) for i in range(1, 101)], 95) == 95.0


@pytest.mark.parametrize(
    ("span", "label"),
    [(timedelta(seconds=5), "1 s"), (timedelta(minutes=6), "10 s"), (timedelta(hours=2), "5 min"),
     (timedelta(days=3), "6 h"), (timedelta(days=90), "7 days")],
)  # fmt: skip
def test_bucket_width_follows_the_time_span(span: timedelta, label: str) -> None:
    assert bucket_width(span)[1] == label


def test_timeline_buckets_hold_every_event_by_action() -> None:
    s = summarize(read_events(LINES)[0])
    assert s.bucket == "10 s"
    assert sum(b.total for b in s.timeline) == 4
    assert s.timeline[0].start.isoformat() == "2026-03-02T09:00:00+00:00"
    assert s.timeline[0].actions == {"allow": 1}
    assert s.timeline[-1].actions == {"block": 1}
    assert len(s.timeline) == 36  # 09:00:00 .. 09:05:50, empty buckets kept


def test_html_is_self_contained_and_shows_the_numbers_as_text() -> None:
    page = render_html(summarize(*read_events([*LINES, "garbage"])))
    assert "<script" not in page and not re.search(r"\b(src|href)=|url\(|@import", page)
    rows = dict(re.findall(r'<tr><th>([^<]+)</th><td class="n">(\d+)</td><td><svg', page))
    assert rows["block"] == "2" and rows["stability"] == "2" and rows["EMAIL_ADDRESS"] == "3"
    assert 'id="kpi-malformed"><div class="v">1<' in page
    assert "<svg" in page and 'id="timeline-chart"' in page


def test_html_escapes_names_from_the_file() -> None:
    hostile = event("allow", "<script>alert(1)</script>", "2026-03-02T09:00:00+00:00")
    page = render_html(summarize(*read_events([hostile])))
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_report_command_prints_text_and_writes_html(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    audit = tmp_path / "audit.jsonl"
    audit.write_text("\n".join([*LINES, "{broken"]) + "\n")
    page = tmp_path / "out.html"
    assert main(["report", str(audit), "--html", str(page)]) == 0
    out = capsys.readouterr().out
    assert "requests: 4" in out and "malformed lines (not audit events, skipped): 1" in out
    assert re.search(r"EMAIL_ADDRESS\s+3", out) and re.search(r"p50 4\.0\s+p95 30\.0", out)
    assert page.read_text().startswith("<!DOCTYPE html>")


def test_report_on_an_empty_file_and_a_missing_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty.jsonl").write_text("")
    assert main(["report", str(tmp_path / "empty.jsonl"), "--html", str(tmp_path / "e.html")]) == 0
    assert "requests: 0" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "missing.jsonl")]) == 2


def test_an_event_written_by_the_proxy_round_trips() -> None:
    line = AuditEvent("id", "audit", "openai", "edit", "redact", "r", False).to_json()
    events, malformed = read_events([line])
    assert malformed == 0 and json.loads(line)["time"] and events[0].mode == "audit"


def test_identities_entries_and_pseudonymous_users_are_counted() -> None:
    at = "2026-03-02T09:00:01.000+00:00"
    lines = [
        event("block", "legal-block", at, user="u-aa", selection="legal"),
        event("block", "legal-block", at, user="u-aa", selection="legal"),
        event("redact", "contact", at, user="u-bb", selection="default"),
        event("allow", "default", at, user="u-cc", selection="default"),
        event("allow", "default", at),  # no proxy authentication
    ]
    s = summarize(read_events(lines)[0])
    assert s.by_selection == {"default": 2, "legal": 2}
    assert s.users == 3
    assert s.top_users == {"u-aa": 2, "u-bb": 1}  # allowed requests do not rank a user
    text = format_text(s)
    assert "by identities entry:" in text and "users (3)" in text and "u-aa" in text
    page = render_html(s)
    assert 'id="by-selection"' in page and 'id="top-users"' in page
