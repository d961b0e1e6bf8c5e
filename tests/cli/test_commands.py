"""The `pixelgate` command line, run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def pixelgate(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "proxy", *args],
        input=stdin, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_scan_of_a_clean_prompt_allows_with_exit_0() -> None:
    result = pixelgate("scan", "Abraham Lincoln touches his toes while George Washington watches")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["decision"]["action"] == "allow"


def test_scan_reports_findings_without_their_values() -> None:
    text = "Poster for jane.doe@example.org, card 4111 1111 1111 1111"
    result = pixelgate("scan", "-", stdin=text)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["decision"]["action"] == "block"
    by_entity = {f["entity"]: f for f in report["findings"]}
    email = by_entity["EMAIL_ADDRESS"]
    assert text[email["start"] : email["end"]] == "jane.doe@example.org"
    assert set(email) == {"entity", "source", "start", "end", "score"}
    assert "jane.doe" not in result.stdout and "4111" not in result.stdout


def test_scan_without_input_is_a_usage_error() -> None:
    assert pixelgate("scan").returncode == 2


BROKEN = "version: 1\nrules:\n  - {id: r1, entities: [EMAIL_ADDRESS], action: deny}\n"


def test_policy_check_names_file_line_and_field(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN)
    result = pixelgate("policy", "check", str(broken))
    assert result.returncode == 2
    assert f"{broken}:3" in result.stderr and "rules[0].action" in result.stderr


@pytest.mark.parametrize("name", ["default", "audit-only", "strict"])
def test_policy_check_accepts_bundled_policies(name: str) -> None:
    path = Path(__file__).resolve().parents[2] / "policies" / f"{name}.yaml"
    result = pixelgate("policy", "check", str(path))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_policy_check_rejects_an_unknown_provider(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\nproviders: {dalle: {hosts: [x.example]}}\n")
    result = pixelgate("policy", "check", str(policy))
    assert result.returncode == 2 and "unknown provider" in result.stderr


def test_run_with_a_broken_policy_stops_before_listening(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN)
    result = pixelgate("run", "--policy", str(broken), "--listen-port", "0",
                       "--set", f"confdir={tmp_path / 'conf'}")  # fmt: skip
    assert result.returncode == 2
    assert f"{broken}:3" in result.stderr
    assert "listening" not in result.stdout


def test_run_rejects_unknown_mitmproxy_options(tmp_path: Path) -> None:
    result = pixelgate("run", "--listen-port", "0", "--set", "no_such_option=1",
                       "--set", f"confdir={tmp_path / 'conf'}")  # fmt: skip
    assert result.returncode == 2 and "no_such_option" in result.stderr


def test_scan_an_image_reports_boxes_and_writes_the_redacted_image(tmp_path: Path) -> None:
    from helpers.images import astronaut, encode, with_gps
    from PIL import Image

    photo = tmp_path / "photo.jpg"
    photo.write_bytes(with_gps(astronaut()))
    out = tmp_path / "redacted.jpg"
    result = pixelgate("scan", "--image", str(photo), "--redact", str(out))
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    by_entity = {f["entity"]: f for f in report["findings"]}
    assert by_entity["FACE"]["image"] == 0 and len(by_entity["FACE"]["box"]) == 4
    assert by_entity["GPS_LOCATION"]["source"] == "metadata"
    redacted = Image.open(out)
    assert redacted.format == "JPEG" and redacted.size == (512, 512)
    assert len(redacted.getexif()) == 0
    assert encode(redacted) != encode(astronaut())


def test_scan_redact_needs_exactly_one_image(tmp_path: Path) -> None:
    assert pixelgate("scan", "--redact", str(tmp_path / "x.png"), "text").returncode == 2


def test_fallback_check_loads_the_model_and_times_one_image(tmp_path: Path) -> None:
    from helpers.tiny_sd import tiny_pipeline_dir

    policy = tmp_path / "p.yaml"
    policy.write_text(
        f'version: 1\nfallback: {{model: "{tiny_pipeline_dir()}", native_size: 64}}\n'
    )
    result = pixelgate("fallback", "check", "--policy", str(policy))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout and "on cpu" in result.stdout


def test_fallback_check_says_why_a_model_is_unusable(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(f'version: 1\nfallback: {{model: "{tmp_path / "missing"}"}}\n')
    result = pixelgate("fallback", "check", "--policy", str(policy))
    assert result.returncode == 1 and "UNAVAILABLE" in result.stdout and "missing" in result.stdout
