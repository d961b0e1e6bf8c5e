"""`pixelgate policy test`, run as CI runs it: every bundled policy's cases, real detectors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import yaml

from proxy.policy import bundled_policy_names, bundled_policy_path

POLICY = """version: 1
rules:
  - {id: no-cards, entities: [CREDIT_CARD], action: block}
  - {id: contact, entities: [EMAIL_ADDRESS], action: redact}
"""
EMAIL = "lena.okafor@example.net"


def pixelgate(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "proxy", "policy", "test", *args],
        capture_output=True, text=True, timeout=300, cwd=cwd,
    )  # fmt: skip


def write(folder: Path, cases: str) -> tuple[str, str]:
    (folder / "policy.yaml").write_text(POLICY)
    (folder / "cases.yaml").write_text(cases)
    return str(folder / "policy.yaml"), str(folder / "cases.yaml")


@pytest.mark.parametrize("name", bundled_policy_names())
def test_every_bundled_policy_passes_its_bundled_cases(name: str, tmp_path: Path) -> None:
    cases = bundled_policy_path(name).parent / "cases" / f"{name}.yaml"
    count = len(yaml.safe_load(cases.read_text())["cases"])
    result = pixelgate(name, "--junit", str(tmp_path / "junit.xml"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{count} cases, {count} passed, 0 failed" in result.stdout
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    assert (suite.tag, suite.get("tests"), suite.get("failures")) == ("testsuite", str(count), "0")
    assert len(suite.findall("testcase")) == count and not suite.findall(".//failure")


def test_a_failing_case_exits_1_with_a_fail_row_and_a_junit_failure(tmp_path: Path) -> None:
    policy, cases = write(
        tmp_path,
        f"""cases:
  - {{name: clean, prompt: "a red fox", expect: allow}}
  - {{name: email allowed, prompt: "write to {EMAIL}", expect: allow}}
  - {{name: card by the wrong rule, prompt: "card 4111 1111 1111 1111", expect: block,
     rule: contact}}
""",
    )
    result = pixelgate(policy, cases, "--junit", str(tmp_path / "out.xml"))
    assert result.returncode == 1
    rows = {line.split("  ")[0]: line.split() for line in result.stdout.splitlines()}
    assert rows["clean"][-3:] == ["allow", "default", "PASS"]
    assert rows["email allowed"][-3:] == ["redact", "contact", "FAIL"]
    assert rows["card by the wrong rule"][-3:] == ["block", "no-cards", "FAIL"]
    assert "3 cases, 1 passed, 2 failed" in result.stdout
    assert EMAIL not in result.stdout + result.stderr
    suite = ET.parse(tmp_path / "out.xml").getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "2", "0")
    failures = {c.get("name"): c.find("failure") for c in suite.iter("testcase")}
    assert failures["clean"] is None
    failure = failures["card by the wrong rule"]
    assert failure is not None
    assert failure.get("message") == "expected block (rule contact), got block (rule no-cards)"


@pytest.mark.parametrize(
    ("case", "where"),
    [
        ("{name: b, prompt: x, expect: deny}", "cases.yaml:3: cases[1].expect: must be one of"),
        (
            "{name: b, prompt: x, expected: allow}",
            "cases.yaml:3: cases[1].expected: unknown key 'expected'; did you mean 'expect'?",
        ),
        ("{name: b, expect: allow}", "cases.yaml:3: cases[1]: a case needs a `prompt`"),
        ("{name: a, prompt: x, expect: allow}", "cases.yaml:3: cases[1].name: duplicate case"),
        (
            "{name: b, images: [missing.png], expect: allow}",
            "cases.yaml:3: cases[1].images[0]: cannot read the image",
        ),
    ],
)
def test_a_broken_cases_file_exits_2_naming_the_line(tmp_path: Path, case: str, where: str) -> None:
    first = "{name: a, prompt: x, expect: allow}"
    policy, cases = write(tmp_path, f"cases:\n  - {first}\n  - {case}\n")
    result = pixelgate(policy, cases)
    assert result.returncode == 2
    assert where in result.stderr
    assert result.stdout == ""


def test_a_broken_policy_exits_2(tmp_path: Path) -> None:
    _, cases = write(tmp_path, "cases:\n  - {name: a, prompt: x, expect: allow}\n")
    (tmp_path / "policy.yaml").write_text("version: 1\nmode: loud\n")
    result = pixelgate(str(tmp_path / "policy.yaml"), cases)
    assert result.returncode == 2 and "policy.yaml:2: mode: must be one of" in result.stderr
