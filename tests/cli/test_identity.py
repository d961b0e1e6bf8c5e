"""`pixelgate identities check|which|user-id`."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy.cli.main import main
from proxy.identity.selection import UserIds

FILE = """version: 1
user_ids: {key_env: PG_CLI_KEY}
groups: {legal: [carol]}
select:
  - {name: legal, groups: [legal], policy: strict}
  - {name: lab, networks: [10.20.0.0/16], policy: audit-only}
"""


@pytest.fixture
def identities(tmp_path: Path) -> Path:
    path = tmp_path / "identities.yaml"
    path.write_text(FILE)
    return path


def test_check_loads_the_file_and_every_policy_it_names(
    identities: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["identities", "check", str(identities)]) == 0
    assert "2 entries" in capsys.readouterr().out
    identities.write_text(FILE.replace("policy: strict", "policy: nosuch"))
    assert main(["identities", "check", str(identities)]) == 2
    assert f"{identities}:5: select[0].policy" in capsys.readouterr().err


def test_which_names_the_entry_and_policy(
    identities: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["identities", "which", str(identities), "--user", "Carol"]) == 0
    assert capsys.readouterr().out.startswith("legal: ")
    assert main(["identities", "which", str(identities), "--address", "10.20.1.1"]) == 0
    assert capsys.readouterr().out.startswith("lab: ")
    assert main(["identities", "which", str(identities), "--user", "x"]) == 0
    assert capsys.readouterr().out == "default: the proxy --policy\n"


def test_user_id_is_the_audit_events_id_under_the_key(
    identities: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PG_CLI_KEY", raising=False)
    assert main(["identities", "user-id", "carol", "--file", str(identities)]) == 2
    assert "not set" in capsys.readouterr().err
    monkeypatch.setenv("PG_CLI_KEY", "k")
    assert main(["identities", "user-id", "carol", "--file", str(identities)]) == 0
    assert capsys.readouterr().out.strip() == UserIds(b"k").of("carol")
