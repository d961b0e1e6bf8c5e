"""The policies shipped in policies/: they load, and they decide what their comments promise."""

from __future__ import annotations

import pytest

from proxy.model import Action, Finding, Source
from proxy.policy import (
    Mode,
    OnError,
    bundled_policy_names,
    bundled_policy_path,
    decide,
    load_policy,
)


def finding(entity: str, score: float, source: Source = Source.PROMPT) -> Finding:
    return Finding(entity, source, score)


def test_names_list_the_shipped_policies() -> None:
    assert bundled_policy_names() == ("audit-only", "default", "strict")


@pytest.mark.parametrize("name", bundled_policy_names())
def test_every_bundled_policy_loads(name: str) -> None:
    policy = load_policy(bundled_policy_path(name))
    assert policy.source.endswith(f"{name}.yaml")
    assert policy.rules


def test_default_policy_enforces_and_fails_closed() -> None:
    policy = load_policy(bundled_policy_path())
    assert policy.mode is Mode.ENFORCE
    assert policy.on_error is OnError.BLOCK
    assert policy.default_action is Action.ALLOW
    # Reroute (faces) without a local model redacts: faces pixelated, as the README says.
    assert policy.fallback.model is None and policy.fallback.on_unavailable is Action.REDACT
    assert [r.action for r in policy.rules if r.id == "faces"] == [Action.REROUTE]
    assert policy.audit.path == "audit.jsonl"


def test_audit_only_mirrors_the_default_rules() -> None:
    default = load_policy(bundled_policy_path("default"))
    audit = load_policy(bundled_policy_path("audit-only"))
    assert audit.mode is Mode.AUDIT
    assert audit.rules == default.rules
    assert audit.redaction == default.redaction and audit.detection == default.detection


# Scores as Presidio reports them (see the comments in default.yaml).
CREATIVE = [
    finding("PERSON", 0.85),  # "Abraham Lincoln"
    finding("LOCATION", 0.85),  # "the Eiffel Tower"
    finding("NRP", 0.85),
    finding("DATE_TIME", 0.85),  # "the year 1999"
    finding("ORGANIZATION", 0.85),
    finding("URL", 0.5),
]


@pytest.mark.parametrize(
    ("findings", "action"),
    [
        pytest.param(CREATIVE, Action.ALLOW, id="creative-prompt"),
        pytest.param([finding("CREDIT_CARD", 1.0)], Action.BLOCK, id="credit-card"),
        pytest.param([finding("IBAN_CODE", 1.0)], Action.BLOCK, id="iban"),
        pytest.param([finding("US_SSN", 0.5)], Action.BLOCK, id="formatted-ssn"),
        pytest.param([finding("US_SSN", 0.4)], Action.BLOCK, id="ssn-with-context"),
        pytest.param([finding("US_SSN", 0.05)], Action.ALLOW, id="bare-nine-digits"),
        pytest.param([finding("US_BANK_NUMBER", 0.05)], Action.ALLOW, id="bare-long-number"),
        pytest.param([finding("US_DRIVER_LICENSE", 0.3)], Action.ALLOW, id="licence-no-context"),
        pytest.param([finding("US_DRIVER_LICENSE", 0.65)], Action.BLOCK, id="licence-context"),
        # One 10-digit phone number in eleven passes the NHS checksum: redact, not block.
        pytest.param([finding("UK_NHS", 1.0)], Action.REDACT, id="nhs"),
        pytest.param([finding("PHONE_NUMBER", 0.4)], Action.REDACT, id="phone"),
        pytest.param([finding("EMAIL_ADDRESS", 1.0)], Action.REDACT, id="email"),
        pytest.param(
            [*CREATIVE, finding("EMAIL_ADDRESS", 1.0), finding("CREDIT_CARD", 1.0)],
            Action.BLOCK,
            id="mixed",
        ),
    ],
)
def test_default_policy_decisions(findings: list[Finding], action: Action) -> None:
    assert decide(load_policy(bundled_policy_path()), findings).action is action


def test_default_policy_redacts_only_the_contact_details() -> None:
    email = finding("EMAIL_ADDRESS", 1.0)
    decision = decide(load_policy(bundled_policy_path()), [*CREATIVE, email])
    assert (decision.action, decision.rule_id, decision.targets) == (
        Action.REDACT,
        "contact-details",
        (email,),
    )


@pytest.mark.parametrize(
    ("findings", "action"),
    [
        pytest.param([finding("PERSON", 0.85)], Action.REDACT, id="person"),
        # A place alone singles no one out; a street address does (contact-details).
        pytest.param([finding("LOCATION", 0.85)], Action.ALLOW, id="location"),
        pytest.param([finding("STREET_ADDRESS", 0.85)], Action.REDACT, id="street-address"),
        pytest.param([finding("DATE_OF_BIRTH", 0.85)], Action.REDACT, id="date-of-birth"),
        pytest.param([finding("DATE_TIME", 0.85)], Action.ALLOW, id="date"),
        # Presidio's 0.3 for any short letter-digit token ("F1") is no licence; context is.
        pytest.param([finding("US_DRIVER_LICENSE", 0.3)], Action.ALLOW, id="licence-no-context"),
        pytest.param([finding("US_DRIVER_LICENSE", 0.65)], Action.BLOCK, id="licence-context"),
        pytest.param([finding("FACE", 0.9, Source.FACE)], Action.BLOCK, id="face-no-fallback"),
    ],
)
def test_strict_policy_decisions(findings: list[Finding], action: Action) -> None:
    policy = load_policy(bundled_policy_path("strict"))
    assert policy.on_error is OnError.BLOCK
    assert decide(policy, findings).action is action
