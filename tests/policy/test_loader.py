"""Loading policies: the brief's full example, and one test per kind of broken file."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

import proxy
from proxy.errors import PolicyError
from proxy.model import Action, Source
from proxy.policy import (
    Mode,
    OnError,
    bundled_policy_path,
    load_policy,
    load_policy_text,
    placeholder_for,
)

FULL = """\
version: 1
mode: enforce
on_error: block
default_action: allow
providers: {openai: {hosts: ["My-Gateway.internal:8443", "*.ai.example.com"]}}
recognizers:
  - {entity: EMPLOYEE_ID, patterns: [{regex: 'EMP-\\d{6}', score: 0.9}]}
  - {entity: PROJECT_CODENAME, deny_list: [Bluebird, Nightjar], context: [project]}
rules:
  - {id: no-payment-data, entities: [CREDIT_CARD, IBAN_CODE, US_SSN], action: block}
  - {id: contact-details, entities: [EMAIL_ADDRESS, PHONE_NUMBER], min_score: 0.5,
     action: redact, sources: [prompt, image_text]}
redaction: {EMAIL_ADDRESS: "an email address", default: "<{entity}>"}
audit: {path: audit.jsonl}
fallback: {model: null, on_unavailable: block}
limits: {max_images: 4}
detection: {min_score: 0.25}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def broken(tmp_path: Path, text: str) -> tuple[Path, PolicyError]:
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    return path, info.value


def assert_names(error: PolicyError, path: Path, line: int | None, field: str) -> None:
    """The message an operator reads starts with file:line: field:."""
    assert (error.path, error.line, error.field) == (str(path), line, field)
    where = f"{path}:{line}" if line is not None else str(path)
    assert str(error).startswith(f"{where}: {field}: " if field else f"{where}: ")


def test_full_example_loads_into_values(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, FULL))
    assert policy.source == str(tmp_path / "policy.yaml")
    assert (policy.mode, policy.on_error, policy.default_action) == (
        Mode.ENFORCE,
        OnError.BLOCK,
        Action.ALLOW,
    )
    assert policy.providers == {"openai": ("my-gateway.internal:8443", "*.ai.example.com")}
    employee, codename = policy.recognizers
    assert employee.patterns[0].regex == r"EMP-\d{6}" and employee.patterns[0].score == 0.9
    assert codename.deny_list == ("Bluebird", "Nightjar") and codename.deny_list_score == 1.0
    payment, contact = policy.rules
    assert payment.sources == frozenset(Source) and payment.min_score == 0.0
    assert contact.sources == {Source.PROMPT, Source.IMAGE_TEXT}
    assert contact.action is Action.REDACT and contact.min_score == 0.5
    assert policy.limits.max_images == 4 and policy.limits.max_prompt_chars == 100_000
    assert policy.detection.min_score == 0.25 and policy.detection.language == "en"
    assert policy.audit.path == "audit.jsonl"
    assert policy.audit.fingerprint_key_env == "PIXELGATE_FINGERPRINT_KEY"
    assert policy.fallback.model is None and policy.fallback.on_unavailable is Action.BLOCK


def test_minimal_policy_gets_defaults() -> None:
    policy = load_policy_text("version: 1\n", "inline")
    assert policy.source == "inline"
    assert (policy.mode, policy.on_error, policy.default_action) == (
        Mode.ENFORCE,
        OnError.BLOCK,
        Action.ALLOW,
    )
    assert policy.rules == () and policy.limits.max_body_bytes == 64 * 1024 * 1024


def test_policy_is_immutable() -> None:
    policy = load_policy_text(FULL, "inline")
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.mode = Mode.AUDIT  # type: ignore[misc]
    with pytest.raises(TypeError):
        policy.providers["evil"] = ("evil.example",)  # type: ignore[index]
    assert isinstance(policy.rules, tuple) and isinstance(policy.rules[0].sources, frozenset)


def test_placeholder_uses_entity_template_then_default() -> None:
    policy = load_policy_text(FULL, "inline")
    assert placeholder_for(policy, "EMAIL_ADDRESS") == "an email address"
    assert placeholder_for(policy, "PHONE_NUMBER") == "<PHONE_NUMBER>"


def test_null_audit_path_means_no_file() -> None:
    assert load_policy_text("version: 1\naudit: {path: null}\n", "x").audit.path is None


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path, error = broken(tmp_path, "version: 1\nmode enforce\nrules: []\n")
    assert_names(error, path, 3, "")
    assert "invalid YAML" in error.message and "line 2" in error.message


def test_duplicate_key(tmp_path: Path) -> None:
    path, error = broken(
        tmp_path,
        """\
        version: 1
        rules:
          - id: a
            entities: [X]
            action: block
            action: allow
        """,
    )
    assert_names(error, path, 6, "rules[0].action")
    assert "duplicate key (first given on line 5)" in error.message


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path, error = broken(tmp_path, "version: 1\nmodes: audit\n")
    assert_names(error, path, 2, "modes")
    assert "unknown key 'modes'; did you mean 'mode'?" in error.message


def test_unknown_rule_key_typo(tmp_path: Path) -> None:
    path, error = broken(
        tmp_path,
        """\
        version: 1
        rules:
          - id: a
            entities: [X]
            action: block
            min_scroe: 0.5
        """,
    )
    assert_names(error, path, 6, "rules[0].min_scroe")
    assert "did you mean 'min_score'?" in error.message


def test_wrong_action(tmp_path: Path) -> None:
    path, error = broken(
        tmp_path,
        """\
        version: 1
        rules:
          - {id: a, entities: [X], action: block}
          - id: b
            entities: [X]
            action: deny
        """,
    )
    assert_names(error, path, 6, "rules[1].action")
    assert error.message == "must be one of allow, redact, reroute, block"


def test_bad_regex(tmp_path: Path) -> None:
    path, error = broken(
        tmp_path,
        """\
        version: 1
        recognizers:
          - entity: EMPLOYEE_ID
            patterns:
              - {regex: 'EMP-(\\d{6}', score: 0.9}
        """,
    )
    assert_names(error, path, 5, "recognizers[0].patterns[0].regex")
    assert "not a valid regular expression" in error.message


def test_score_out_of_range(tmp_path: Path) -> None:
    path, error = broken(
        tmp_path,
        "version: 1\nrules:\n  - id: a\n    entities: [X]\n    action: block\n    min_score: 1.5\n",
    )
    assert_names(error, path, 6, "rules[0].min_score")
    assert error.message == "must be a number between 0 and 1"


def test_missing_rule_id_points_at_the_rule(tmp_path: Path) -> None:
    path, error = broken(tmp_path, "version: 1\nrules:\n  - entities: [X]\n    action: block\n")
    assert_names(error, path, 3, "rules[0].id")
    assert error.message == "required"


def test_duplicate_rule_ids(tmp_path: Path) -> None:
    path, error = broken(
        tmp_path,
        """\
        version: 1
        rules:
          - {id: same, entities: [X], action: block}
          - {id: same, entities: [Y], action: redact}
        """,
    )
    assert_names(error, path, 4, "rules[1].id")
    assert error.message == "duplicate rule id"


def test_version_2(tmp_path: Path) -> None:
    path, error = broken(tmp_path, "# a comment\nversion: 2\n")
    assert_names(error, path, 2, "version")
    assert "reads version 1" in error.message


def test_empty_entities(tmp_path: Path) -> None:
    path, error = broken(tmp_path, "version: 1\nrules:\n  - {id: a, entities: [], action: block}\n")
    assert_names(error, path, 3, "rules[0].entities")
    assert error.message == "must not be empty"


def test_lowercase_entity(tmp_path: Path) -> None:
    path, error = broken(
        tmp_path, "version: 1\nrules:\n  - {id: a, entities: [email], action: block}\n"
    )
    assert_names(error, path, 3, "rules[0].entities[0]")
    assert "upper-case" in error.message


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert_names(info.value, path, None, "")
    assert "cannot read the policy" in info.value.message


def test_non_mapping_document(tmp_path: Path) -> None:
    path, error = broken(tmp_path, "- version: 1\n- mode: audit\n")
    assert_names(error, path, 1, "")
    assert "must be a mapping" in error.message


def test_empty_document(tmp_path: Path) -> None:
    path, error = broken(tmp_path, "# nothing here\n")
    assert_names(error, path, None, "")


def test_redaction_template_may_only_use_entity(tmp_path: Path) -> None:
    path, error = broken(tmp_path, "version: 1\nredaction:\n  default: '{entity.__class__}'\n")
    assert_names(error, path, 3, "redaction.default")


def test_bad_provider_host(tmp_path: Path) -> None:
    path, error = broken(tmp_path, "version: 1\nproviders:\n  openai: {hosts: ['https://x/']}\n")
    assert_names(error, path, 3, "providers.openai.hosts[0]")


def test_deny_list_values_never_appear_in_messages(tmp_path: Path) -> None:
    _, error = broken(
        tmp_path,
        "version: 1\nrecognizers:\n  - {entity: CODENAME, deny_list: [Nightjar, 42]}\n",
    )
    # The message, not str(error): the temp path may contain "42" (pytest-42/...).
    assert "Nightjar" not in str(error) and "42" not in error.message
    assert error.field == "recognizers[0].deny_list[1]"


def test_several_problems_reports_the_first_and_counts_the_rest(tmp_path: Path) -> None:
    path, error = broken(tmp_path, "version: 1\nmode: loud\non_error: maybe\n")
    assert_names(error, path, 2, "mode")
    assert error.message.endswith("(and 1 more problem)")


def test_bundled_policy_prefers_the_package_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "site" / "proxy"
    (package / "policies").mkdir(parents=True)
    (package / "policies" / "default.yaml").write_text("version: 1\n")
    (tmp_path / "site" / "policies").mkdir()
    monkeypatch.setattr(proxy, "__file__", str(package / "__init__.py"))
    assert bundled_policy_path() == package / "policies" / "default.yaml"


def test_unknown_bundled_policy_name_lists_the_known_ones() -> None:
    with pytest.raises(PolicyError, match="default"):
        bundled_policy_path("../pyproject")
