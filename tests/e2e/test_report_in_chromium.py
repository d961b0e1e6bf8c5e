"""The HTML report of a real proxy run, rendered by headless Chromium: the page shows the
numbers that the audit file holds, and the picture is not blank."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import openai
import pytest
from helpers.e2e import Proxy, Upstream, policy_text, start_proxy, stop_proxy
from PIL import Image

pytestmark = pytest.mark.e2e

CARD, EMAIL = "4111 1111 1111 1111", "sam.reyes@example.net"
POLICY = """mode: enforce
on_error: block
rules:
  - {id: no-payment-data, entities: [CREDIT_CARD], action: block}
  - {id: contact-details, entities: [EMAIL_ADDRESS], action: redact}
"""
PROMPTS = [
    "a red fox in the snow", "a lighthouse at dawn", "a bowl of ramen",
    f"a postcard addressed to {EMAIL}", f"a badge for {EMAIL} and ops@example.org",
    f"a receipt showing card {CARD}", f"card {CARD} on a desk",
]  # fmt: skip


@pytest.fixture(scope="module")
def audit_file(tmp_path_factory: pytest.TempPathFactory, upstream: Upstream) -> Iterator[Path]:
    proxy: Proxy = start_proxy(
        tmp_path_factory.mktemp("report"), policy_text(upstream, POLICY), upstream
    )
    try:
        with proxy.openai_client(upstream) as client:
            for prompt in PROMPTS:
                try:
                    client.images.generate(prompt=prompt)
                except openai.PermissionDeniedError:
                    pass  # blocked: 403 in OpenAI's format
    finally:
        stop_proxy(proxy)
    yield proxy.audit


@pytest.fixture(scope="module")
def page(audit_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("page") / "report.html"
    command = [sys.executable, "-m", "proxy", "report", str(audit_file), "--html", str(out)]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    return out


def chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium")
    assert binary, "chromium is installed by `make test` (Debian package chromium)"
    return subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
         "--window-size=1280,2000", *args, page.as_uri()],
        check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


class Tables(HTMLParser):
    """Rows of every table with an id: {table id: [[cell text, ...], ...]}, and KPI values."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.kpis: dict[str, str] = {}
        self._table: str | None = None
        self._kpi: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and a.get("id"):
            self._table = a["id"]
            self.tables[self._table] = []
        elif tag == "div" and (a.get("id") or "").startswith("kpi-"):
            self._kpi = (a["id"] or "")[4:]
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif self._kpi is not None and data.strip():
            self.kpis[self._kpi] = data.strip()
            self._kpi = None

    def counts(self, table: str) -> dict[str, int]:
        return {row[0]: int(row[1]) for row in self.tables[table][1:] if row[1:] and row[1]}


def test_rendered_report_shows_the_counts_in_the_audit_file(
    page: Path, audit_file: Path, tmp_path: Path
) -> None:
    events = [json.loads(line) for line in audit_file.read_text().splitlines() if line]
    assert len(events) == len(PROMPTS)
    entities: Counter[str] = Counter()
    for e in events:
        for found in e["findings"].values():
            entities.update(found)
    dom = chromium(page, tmp_path / "profile", "--dump-dom").stdout
    shown = Tables()
    shown.feed(dom)
    assert shown.kpis["requests"] == str(len(events))
    assert shown.counts("by-action") == Counter(e["action"] for e in events)
    assert shown.counts("by-action") == {"allow": 3, "redact": 2, "block": 2}
    assert shown.counts("by-provider") == Counter(e["provider"] for e in events)
    assert shown.counts("by-rule") == Counter(e["rule"] for e in events)
    assert shown.counts("by-entity") == entities
    timeline = shown.tables["timeline"]
    header, rows = timeline[0], timeline[1:]
    per_action = {
        a: sum(int(r[i]) for r in rows) for i, a in enumerate(header) if 0 < i < len(header) - 1
    }
    assert per_action == shown.counts("by-action")
    for value in (CARD, EMAIL, "red fox", "ramen"):
        assert value not in dom and value not in page.read_text()


def test_rendered_report_screenshot_is_not_blank(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    chromium(page, tmp_path / "profile", f"--screenshot={shot}")
    with Image.open(shot) as image:
        assert image.size == (1280, 2000)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 10
