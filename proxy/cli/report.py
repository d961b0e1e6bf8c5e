"""`pixelgate report` and `pixelgate audit-flows`: audit summaries as text and HTML."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from proxy.cli.common import POLICY_HELP, Commands, load_policy_or_default


def add_commands(commands: Commands) -> None:
    report = commands.add_parser(
        "report", help="summarize an audit file (JSON lines) as text, optionally as HTML"
    )
    report.add_argument("audit", metavar="AUDIT.jsonl", help="audit file written by the proxy")
    report.add_argument("--html", metavar="OUT.html", help="also write a self-contained page")
    report.set_defaults(handler=_report)
    flows = commands.add_parser(
        "audit-flows",
        help="replay a mitmproxy flow dump or HAR file through a policy offline and report "
        "what the proxy would decide (nothing is sent)",
    )
    flows.add_argument("file", metavar="FILE", help="`mitmdump -w` dump or .har file")
    flows.add_argument("--policy", help=POLICY_HELP)
    flows.add_argument("--html", metavar="OUT.html", help="also write a self-contained page")
    flows.set_defaults(handler=_audit_flows)


def _report(args: argparse.Namespace) -> int:
    from proxy.offline.report import read_audit_file, summarize

    try:
        events, malformed = read_audit_file(args.audit)
    except OSError as e:
        print(f"pixelgate report: cannot read {args.audit}: {e.strerror}", file=sys.stderr)
        return 2
    return _emit(summarize(events, malformed), args.html, "PixelGate audit report")


def _audit_flows(args: argparse.Namespace) -> int:
    from proxy.errors import CaptureError, PolicyError
    from proxy.offline.replay import replay_file, replay_gate
    from proxy.offline.report import parse_event, summarize

    try:
        policy = load_policy_or_default(args.policy)
        gate = replay_gate(policy)
    except (PolicyError, ValueError) as e:
        print(f"pixelgate audit-flows: {e}", file=sys.stderr)
        return 2
    try:
        replay = replay_file(args.file, gate)
    except CaptureError as e:
        print(f"pixelgate audit-flows: {e}", file=sys.stderr)
        return 2
    import json

    events = [parse_event(json.loads(e.to_json())) for e in replay.events]
    notes = replay.notes(Path(args.file).name, args.policy or "default (bundled)")
    summary = summarize([e for e in events if e is not None], 0, notes)
    return _emit(summary, args.html, "PixelGate flow audit")


def _emit(summary: Any, html_path: str | None, title: str) -> int:
    from proxy.offline.report import format_text
    from proxy.offline.report_html import render_html

    print(format_text(summary), end="")
    if html_path:
        try:
            Path(html_path).write_text(render_html(summary, title), encoding="utf-8")
        except OSError as e:
            print(f"pixelgate: cannot write {html_path}: {e.strerror}", file=sys.stderr)
            return 2
        print(f"HTML report written to {html_path}")
    return 0
