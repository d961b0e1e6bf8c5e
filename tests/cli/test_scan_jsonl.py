"""`pixelgate scan --jsonl`: many requests, one result line each, models loaded once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


def scan(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "proxy", "scan", *args],
        input=stdin, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def results(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines()]


def test_one_result_per_line_in_order_with_ids_and_no_content(tmp_path: Path) -> None:
    lines = [
        {"id": 1, "prompt": "a lighthouse at dawn, oil painting"},
        {"id": "two", "prompt": "a birthday card for jane.doe@example.org"},
        {"fields": {"negative_prompt": "card 4111 1111 1111 1111"}, "prompt": "a cat"},
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n")
    result = scan("--jsonl", str(source))
    assert result.returncode == 1, result.stderr  # not every line is allowed
    out = results(result.stdout)
    assert [r["line"] for r in out] == [1, 2, 3]
    assert [r["id"] for r in out] == [1, "two", None]
    assert out[0]["action"] == "allow" and out[0]["findings"] == []
    assert out[1]["action"] != "allow"
    assert {f["entity"] for f in out[1]["findings"]} == {"EMAIL_ADDRESS"}  # type: ignore[index, union-attr]
    assert out[2]["action"] == "block" and out[2]["error"] is None
    assert "jane.doe" not in result.stdout and "4111" not in result.stdout
    assert set(out[0]) == {"line", "id", "action", "rule", "reasons", "findings", "error"}


def test_a_bad_line_is_reported_and_the_rest_still_scanned(tmp_path: Path) -> None:
    text = 'not json at all jane.doe@example.org\n{"prompt": 5}\n{}\n{"prompt": "a red fox"}\n'
    result = scan("--jsonl", "-", stdin=text)
    assert result.returncode == 1
    out = results(result.stdout)
    assert [r["line"] for r in out] == [1, 2, 3, 4]
    assert [r["action"] for r in out] == [None, None, None, "allow"]
    assert all(r["error"] for r in out[:3]) and out[3]["error"] is None
    assert "jane.doe" not in result.stdout + result.stderr


def test_images_are_read_relative_to_the_input_file(tmp_path: Path) -> None:
    Image.new("RGB", (64, 64), "white").save(tmp_path / "plain.png")
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"prompt": "make it blue", "images": ["plain.png"]}) + "\n")
    result = scan("--jsonl", str(source))
    assert result.returncode == 0, result.stderr
    (only,) = results(result.stdout)
    assert only["action"] == "allow" and only["error"] is None
    missing = tmp_path / "missing.jsonl"
    missing.write_text(json.dumps({"images": ["nowhere.png"]}) + "\n")
    (gone,) = results(scan("--jsonl", str(missing)).stdout)
    assert gone["action"] is None and "cannot read image 1" in str(gone["error"])


def test_a_thousand_prompts_under_strict_in_one_run(tmp_path: Path) -> None:
    # How fast is bench/'s to say (bench/scan_speed.py); this is that a long file works.
    source = tmp_path / "many.jsonl"
    lines = (json.dumps({"id": n, "prompt": f"a cat number {n}"}) for n in range(1000))
    source.write_text("\n".join(lines) + "\n")
    result = scan("--jsonl", str(source), "--policy", str(ROOT / "policies" / "strict.yaml"))
    assert result.returncode == 0, result.stderr
    assert [r["id"] for r in results(result.stdout)] == list(range(1000))


def test_jsonl_takes_no_other_input() -> None:
    assert scan("--jsonl", "-", "some text", stdin="").returncode == 2
