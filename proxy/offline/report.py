"""Summaries of audit events: the numbers behind `pixelgate report` and `audit-flows`.

A summary is built only from the fields an audit event carries (counts, names, timings), so
it is content-free by construction. Lines that are not audit events are counted as malformed
and otherwise ignored: a report never fails on a damaged file.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Bucket widths for the timeline, smallest first: the first giving at most MAX_BUCKETS wins.
BUCKET_WIDTHS: tuple[tuple[timedelta, str], ...] = (
    (timedelta(seconds=1), "1 s"),
    (timedelta(seconds=10), "10 s"),
    (timedelta(minutes=1), "1 min"),
    (timedelta(minutes=5), "5 min"),
    (timedelta(minutes=15), "15 min"),
    (timedelta(hours=1), "1 h"),
    (timedelta(hours=6), "6 h"),
    (timedelta(days=1), "1 day"),
    (timedelta(days=7), "7 days"),
    (timedelta(days=30), "30 days"),
)
MAX_BUCKETS = 48
ACTIONS = ("allow", "redact", "reroute", "block")
TOP_USERS = 10


@dataclass(frozen=True)
class Event:
    """The fields of one audit event that a report uses, validated."""

    time: datetime
    provider: str
    action: str
    rule: str
    mode: str
    findings: Mapping[str, Mapping[str, int]]
    error: str | None
    total_ms: float | None
    user: str | None = None  # pseudonymous id
    selection: str | None = None  # the identities entry that chose the policy


@dataclass(frozen=True)
class Bucket:
    start: datetime
    actions: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.actions.values())


@dataclass(frozen=True)
class Summary:
    """Everything a report shows; every number in the text and HTML forms comes from here."""

    requests: int
    malformed: int
    by_action: Mapping[str, int]
    by_provider: Mapping[str, int]
    by_rule: Mapping[str, int]
    by_mode: Mapping[str, int]
    by_entity: Mapping[str, int]
    by_source: Mapping[str, int]
    by_error: Mapping[str, int]
    timeline: tuple[Bucket, ...]
    bucket: str
    first: datetime | None
    last: datetime | None
    p50_ms: float | None
    p95_ms: float | None
    notes: tuple[str, ...] = field(default=())
    by_selection: Mapping[str, int] = field(default_factory=dict)
    users: int = 0  # distinct pseudonymous user ids
    top_users: Mapping[str, int] = field(default_factory=dict)  # most requests not allowed

    @property
    def actions(self) -> list[str]:
        """Known actions in severity order, then any others the file names."""
        others = sorted(a for a in self.by_action if a not in ACTIONS)
        return [a for a in ACTIONS if a in self.by_action] + others


def parse_event(data: Any) -> Event | None:
    """The event in one decoded JSON line, or None when it is not an audit event."""
    if not isinstance(data, dict):
        return None
    names = ("provider", "action", "rule", "time")
    if not all(isinstance(data.get(n), str) and data[n] for n in names):
        return None
    try:
        when = datetime.fromisoformat(data["time"])
    except ValueError:
        return None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    findings = data.get("findings", {})
    if not isinstance(findings, dict) or not all(
        isinstance(v, dict) and all(_count(n) for n in v.values()) for v in findings.values()
    ):
        return None
    error, timings = data.get("error"), data.get("timings_ms", {})
    if error is not None and not isinstance(error, str) or not isinstance(timings, dict):
        return None
    total = timings.get("total")
    if total is not None and not _number(total):
        return None
    mode = data.get("mode")
    user, selection = data.get("user"), data.get("selection")
    return Event(
        when,
        data["provider"],
        data["action"],
        data["rule"],
        mode if isinstance(mode, str) else "unknown",
        findings,
        error,
        float(total) if total is not None else None,
        user if isinstance(user, str) else None,
        selection if isinstance(selection, str) else None,
    )


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _number(value: object) -> bool:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return ok and math.isfinite(float(value))  # type: ignore[arg-type]


def read_events(lines: Iterable[str]) -> tuple[list[Event], int]:
    """The audit events in JSON lines, and how many non-blank lines were not events."""
    events: list[Event] = []
    malformed = 0
    for line in lines:
        if not line.strip():
            continue
        try:
            event = parse_event(json.loads(line))
        except (ValueError, RecursionError):
            event = None
        if event is None:
            malformed += 1
        else:
            events.append(event)
    return events, malformed


def read_audit_file(path: str | Path) -> tuple[list[Event], int]:
    """Like `read_events` over a file; undecodable bytes make their line malformed."""
    with open(path, encoding="utf-8", errors="replace") as f:
        return read_events(f)


def summarize(events: Sequence[Event], malformed: int = 0, notes: Sequence[str] = ()) -> Summary:
    by_entity: Counter[str] = Counter()
    by_source: Counter[str] = Counter()
    for event in events:
        for source, entities in event.findings.items():
            for entity, n in entities.items():
                by_entity[entity] += n
                by_source[source] += n
    totals = sorted(e.total_ms for e in events if e.total_ms is not None)
    times = [e.time for e in events]
    first, last = (min(times), max(times)) if times else (None, None)
    timeline, label = _timeline(events, first, last)
    return Summary(
        requests=len(events),
        malformed=malformed,
        by_action=_ranked(e.action for e in events),
        by_provider=_ranked(e.provider for e in events),
        by_rule=_ranked(e.rule for e in events),
        by_mode=_ranked(e.mode for e in events),
        by_entity=dict(by_entity.most_common()),
        by_source=dict(by_source.most_common()),
        by_error=_ranked(e.error for e in events if e.error),
        timeline=timeline,
        bucket=label,
        first=first,
        last=last,
        p50_ms=percentile(totals, 50),
        p95_ms=percentile(totals, 95),
        notes=tuple(notes),
        by_selection=_ranked(e.selection for e in events if e.selection),
        users=len({e.user for e in events if e.user}),
        top_users=dict(
            list(_ranked(e.user for e in events if e.user and e.action != "allow").items())[
                :TOP_USERS
            ]
        ),
    )


def _ranked(values: Iterable[str]) -> dict[str, int]:
    """Counts, largest first, ties by name: the same file always prints the same report."""
    counts = Counter(values)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile: always a value that was measured."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def bucket_width(span: timedelta) -> tuple[timedelta, str]:
    for width, label in BUCKET_WIDTHS:
        if span < width * MAX_BUCKETS:
            return width, label
    return BUCKET_WIDTHS[-1]


def _timeline(
    events: Sequence[Event], first: datetime | None, last: datetime | None
) -> tuple[tuple[Bucket, ...], str]:
    if first is None or last is None:
        return (), ""
    width, label = bucket_width(last - first)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    start = epoch + width * ((first - epoch) // width)  # buckets on round boundaries
    count = (last - start) // width + 1
    slots: list[Counter[str]] = [Counter() for _ in range(count)]
    for event in events:
        slots[(event.time - start) // width][event.action] += 1
    return tuple(Bucket(start + width * i, dict(c)) for i, c in enumerate(slots)), label


def format_text(summary: Summary) -> str:
    """The plain-text report: one section per breakdown, counts right-aligned."""
    lines = [f"requests: {summary.requests}"]
    if summary.malformed:
        lines.append(f"malformed lines (not audit events, skipped): {summary.malformed}")
    if summary.first and summary.last:
        lines.append(f"from {_stamp(summary.first)} to {_stamp(summary.last)}")
    lines.extend(summary.notes)
    sections: tuple[tuple[str, Mapping[str, int]], ...] = (
        ("decisions by action", {a: summary.by_action[a] for a in summary.actions}),
        ("by mode", summary.by_mode),
        ("by provider", summary.by_provider),
        ("by rule", summary.by_rule),
        ("findings by entity", summary.by_entity),
        ("findings by source", summary.by_source),
        ("errors by code", summary.by_error),
        ("by identities entry", summary.by_selection),
        (f"users ({summary.users}), top {TOP_USERS} by requests not allowed", summary.top_users),
    )
    for title, counts in sections:
        lines += ["", f"{title}:", *_table(counts)]
    if summary.timeline:
        lines += ["", f"over time ({summary.bucket} buckets, UTC):"]
        for bucket in summary.timeline:
            parts = ", ".join(f"{a} {bucket.actions[a]}" for a in summary.actions
                              if bucket.actions.get(a))  # fmt: skip
            lines.append(
                f"  {_stamp(bucket.start)}  {bucket.total:>6}" + (f"  ({parts})" * bool(parts))
            )
    lines += ["", "timings (total, ms):"]
    lines.append(f"  p50 {_ms(summary.p50_ms)}   p95 {_ms(summary.p95_ms)}")
    return "\n".join(lines) + "\n"


def _table(counts: Mapping[str, int]) -> list[str]:
    if not counts:
        return ["  (none)"]
    width = max(len(k) for k in counts)
    return [f"  {name:<{width}}  {n:>6}" for name, n in counts.items()]


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
