"""The audit report as one self-contained HTML page: inline CSS and SVG, no script, no
external resource. Every chart has its numbers beside it as text, so the page can be checked
(and read aloud, printed or diffed) without the pictures. Every name is escaped: an audit
file is input, and a damaged one must not inject markup.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from html import escape

from proxy.offline.report import TOP_USERS, Summary

COLOURS = {"allow": "#2e7d32", "redact": "#f9a825", "reroute": "#1565c0", "block": "#c62828"}
OTHER_COLOUR = "#757575"
BAR_COLOUR = "#455a64"
TOP_ENTITIES = 20

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#212121;
 margin:24px auto;max-width:1180px;padding:0 16px;background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;
 border-bottom:1px solid #e0e0e0;padding-bottom:4px}
.sub{color:#616161;margin:0 0 16px}
.kpis{display:flex;gap:12px;flex-wrap:wrap}
.kpi{border:1px solid #e0e0e0;border-radius:6px;padding:10px 14px;flex:1 1 0;min-width:90px}
.kpi .v{font-size:22px;font-weight:600}.kpi .k{color:#616161;font-size:12px}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:0 32px}
table{border-collapse:collapse;width:100%;margin:4px 0}
th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #f0f0f0;vertical-align:middle}
td.n{text-align:right;font-variant-numeric:tabular-nums;width:70px}
thead th{color:#616161;font-weight:600;font-size:12px}
.legend span{display:inline-block;margin-right:14px}
.sw{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px}
.note{color:#616161;font-size:12px}.warn{color:#c62828;font-weight:600}
"""


def render_html(summary: Summary, title: str = "PixelGate audit report") -> str:
    s = summary
    period = f"{_stamp(s.first)} – {_stamp(s.last)} UTC" if s.first and s.last else "no events"
    kpis = [
        ("requests", str(s.requests), "requests"),
        ("malformed lines", str(s.malformed), "malformed"),
        ("p50 total ms", _ms(s.p50_ms), "p50"),
        ("p95 total ms", _ms(s.p95_ms), "p95"),
    ] + [(f"{a}", str(s.by_action[a]), f"action-{a}") for a in s.actions]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="sub">{escape(period)} · content-free: built from audit counts only</p>',
        *(f'<p class="note">{escape(n)}</p>' for n in s.notes),
        '<div class="kpis">',
        *(
            f'<div class="kpi" id="kpi-{escape(key)}"><div class="v">{escape(v)}</div>'
            f'<div class="k">{escape(k)}</div></div>'
            for k, v, key in kpis
        ),
        "</div>",
    ]
    if s.malformed:
        parts.append(
            f'<p class="warn">{s.malformed} line(s) of the file were not audit events '
            "and are not counted.</p>"
        )
    parts += [f"<h2>Decisions over time ({escape(s.bucket or '-')} buckets, UTC)</h2>"]
    parts += [_legend(s), _timeline_svg(s), _timeline_table(s)]
    parts += ['<div class="grid">']
    parts += _section("Decisions by action", "by-action", _ordered(s), _action_colour)
    parts += _section("Per provider", "by-provider", s.by_provider)
    parts += _section("Per rule", "by-rule", s.by_rule)
    entities = dict(list(s.by_entity.items())[:TOP_ENTITIES])
    parts += _section(f"Top entities (findings, top {TOP_ENTITIES})", "by-entity", entities)
    parts += _section("Findings by source", "by-source", s.by_source)
    parts += _section("Errors by code", "by-error", s.by_error)
    parts += _section("By mode", "by-mode", s.by_mode)
    parts += _section("By identities entry", "by-selection", s.by_selection)
    title = f"Users ({s.users}): top {TOP_USERS} by requests not allowed"
    parts += _section(title, "top-users", s.top_users)
    parts += ["</div></body></html>"]
    return "\n".join(parts) + "\n"


def _ordered(s: Summary) -> dict[str, int]:
    return {a: s.by_action[a] for a in s.actions}


def _action_colour(action: str) -> str:
    return COLOURS.get(action, OTHER_COLOUR)


def _section(
    title: str, key: str, counts: Mapping[str, int], colour: Callable[[str], str] | None = None
) -> list[str]:
    """A heading and a table: name, count, and a bar scaled to the largest count."""
    out = [f'<div><h2>{escape(title)}</h2><table id="{key}">']
    out.append("<thead><tr><th>name</th><th>count</th><th></th></tr></thead><tbody>")
    if not counts:
        out.append('<tr><td colspan="3" class="note">none</td></tr>')
    top = max(counts.values(), default=0) or 1
    for name, n in counts.items():
        fill = colour(name) if colour else BAR_COLOUR
        width = round(300 * n / top)
        bar = (
            f'<svg width="300" height="12" role="img" aria-label="{n}">'
            f'<rect width="{width}" height="12" rx="2" fill="{fill}"/></svg>'
        )
        out.append(f'<tr><th>{escape(name)}</th><td class="n">{n}</td><td>{bar}</td></tr>')
    out.append("</tbody></table></div>")
    return out


def _legend(s: Summary) -> str:
    items = "".join(
        f'<span><i class="sw" style="background:{_action_colour(a)}"></i>{escape(a)}</span>'
        for a in s.actions
    )
    return f'<p class="legend">{items}</p>'


def _timeline_svg(s: Summary) -> str:
    """Stacked columns per bucket, actions in severity order from the bottom."""
    width, height, left, bottom, top = 1140, 260, 48, 36, 12
    if not s.timeline:
        return '<p class="note">no events</p>'
    peak = max(b.total for b in s.timeline) or 1
    plot_w, plot_h = width - left - 8, height - bottom - top
    step = plot_w / len(s.timeline)
    bar = max(1.0, step * 0.8)
    out = [
        f'<svg id="timeline-chart" width="{width}" height="{height}" role="img" '
        f'aria-label="decisions over time">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 8}" y2="{top + plot_h}" '
        'stroke="#9e9e9e"/>',
    ]
    for tick in sorted({0, peak // 2, peak}):
        y = top + plot_h - plot_h * tick / peak
        out.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#616161">{tick}</text>'
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - 8}" y2="{y:.1f}" stroke="#eeeeee"/>'
        )
    for i, bucket in enumerate(s.timeline):
        x, y = left + i * step + (step - bar) / 2, float(top + plot_h)
        for action in s.actions:
            n = bucket.actions.get(action, 0)
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            out.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{_action_colour(action)}"><title>{_stamp(bucket.start)} '
                f"{escape(action)}: {n}</title></rect>"
            )
    last = len(s.timeline) - 1
    for i in sorted({0, last // 2, last}):
        x = left + i * step + step / 2
        anchor = "middle" if last == 0 or 0 < i < last else "start" if i == 0 else "end"
        x = left if anchor == "start" else width - 8 if anchor == "end" else x
        out.append(
            f'<text x="{x:.1f}" y="{height - 14}" font-size="11" text-anchor="{anchor}" '
            f'fill="#616161">{_stamp(s.timeline[i].start)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _timeline_table(s: Summary) -> str:
    head = "".join(f"<th>{escape(a)}</th>" for a in s.actions)
    rows = [
        f"<tr><th>{_stamp(b.start)}</th>"
        + "".join(f'<td class="n">{b.actions.get(a, 0)}</td>' for a in s.actions)
        + f'<td class="n">{b.total}</td></tr>'
        for b in s.timeline
        if b.total
    ]
    return (
        f"<details open><summary>the numbers ({len(rows)} of {len(s.timeline)} buckets; "
        "empty ones left out)</summary>"
        f'<table id="timeline"><thead><tr><th>bucket start</th>{head}<th>total</th></tr>'
        f"</thead><tbody>{''.join(rows)}</tbody></table></details>"
    )


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
