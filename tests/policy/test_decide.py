"""decide() as a table: policy rules x findings -> action, rule id, targets."""

from __future__ import annotations

from dataclasses import replace

import pytest

from proxy.model import Action, Finding, Source
from proxy.policy import DetectionSettings, FallbackSettings, Policy, Rule, decide

ALLOW, REDACT, REROUTE, BLOCK = Action.ALLOW, Action.REDACT, Action.REROUTE, Action.BLOCK


def rule(
    rule_id: str,
    entities: str,
    action: Action,
    min_score: float = 0.0,
    sources: str | None = None,
) -> Rule:
    chosen = frozenset(Source(s) for s in sources.split()) if sources else frozenset(Source)
    return Rule(rule_id, tuple(entities.split()), action, min_score, chosen)


def finding(entity: str, source: str = "prompt", score: float = 1.0) -> Finding:
    return Finding(entity, Source(source), score)


def policy(
    *rules: Rule,
    default: Action = ALLOW,
    on_unavailable: Action = BLOCK,
    detection_min: float = 0.3,
) -> Policy:
    return Policy(
        source="test",
        default_action=default,
        rules=rules,
        fallback=FallbackSettings(None, on_unavailable),
        detection=DetectionSettings(min_score=detection_min),
    )


CC = finding("CREDIT_CARD")
EMAIL = finding("EMAIL_ADDRESS")
PERSON = finding("PERSON", score=0.85)
FACE = finding("FACE", "face", 0.9)
PHONE_IN_IMAGE = finding("PHONE_NUMBER", "image_text", 0.4)
SSN = finding("US_SSN", score=0.5)

BLOCK_CC = rule("no-cards", "CREDIT_CARD", BLOCK)
BLOCK_SSN = rule("no-ids", "US_SSN CREDIT_CARD", BLOCK)
REROUTE_FACE = rule("faces-local", "FACE", REROUTE, sources="face")
REDACT_EMAIL = rule("contacts", "EMAIL_ADDRESS PHONE_NUMBER", REDACT)
ALLOW_PERSON = rule("people-ok", "PERSON", ALLOW)

# (case id, policy, findings, fallback_ready, action, rule id, targets)
CASES = [
    # Each pair of severities: the more severe action wins whatever the file order.
    ("block>reroute", policy(REROUTE_FACE, BLOCK_CC), [FACE, CC], True, BLOCK, "no-cards", [CC]),
    ("block>redact", policy(REDACT_EMAIL, BLOCK_CC), [EMAIL, CC], False, BLOCK, "no-cards", [CC]),
    ("block>allow", policy(ALLOW_PERSON, BLOCK_CC), [PERSON, CC], False, BLOCK, "no-cards", [CC]),
    (
        "reroute>redact",
        policy(REDACT_EMAIL, REROUTE_FACE),
        [EMAIL, FACE],
        True,
        REROUTE,
        "faces-local",
        [FACE],
    ),
    (
        "reroute>allow",
        policy(ALLOW_PERSON, REROUTE_FACE),
        [PERSON, FACE],
        True,
        REROUTE,
        "faces-local",
        [FACE],
    ),
    (
        "redact>allow",
        policy(ALLOW_PERSON, REDACT_EMAIL),
        [PERSON, EMAIL],
        False,
        REDACT,
        "contacts",
        [EMAIL],
    ),
    # Ties: the first rule in file order names the decision; targets gather both rules.
    ("tie-first", policy(BLOCK_CC, BLOCK_SSN), [SSN, CC], False, BLOCK, "no-cards", [CC, SSN]),
    ("tie-order", policy(BLOCK_SSN, BLOCK_CC), [CC], False, BLOCK, "no-ids", [CC]),
    # min_score is inclusive.
    (
        "min-score-equal",
        policy(rule("ssn", "US_SSN", BLOCK, 0.5)),
        [SSN],
        False,
        BLOCK,
        "ssn",
        [SSN],
    ),
    (
        "min-score-below",
        policy(rule("ssn", "US_SSN", BLOCK, 0.51)),
        [SSN],
        False,
        ALLOW,
        "default",
        [SSN],
    ),
    # sources restrict where a rule looks.
    (
        "source-excluded",
        policy(rule("p", "PHONE_NUMBER", REDACT, sources="prompt")),
        [PHONE_IN_IMAGE],
        False,
        ALLOW,
        "default",
        [PHONE_IN_IMAGE],
    ),
    (
        "source-included",
        policy(rule("p", "PHONE_NUMBER", REDACT, sources="prompt image_text")),
        [PHONE_IN_IMAGE],
        False,
        REDACT,
        "p",
        [PHONE_IN_IMAGE],
    ),
    (
        "wildcard",
        policy(rule("all", "*", REDACT)),
        [PERSON, EMAIL],
        False,
        REDACT,
        "all",
        [PERSON, EMAIL],
    ),
    # No rule matches: the default action.
    ("no-findings", policy(BLOCK_CC), [], False, ALLOW, "default", []),
    # The default action covers what no rule claimed, like a last rule would.
    ("unmatched", policy(BLOCK_CC), [PERSON], False, ALLOW, "default", [PERSON]),
    (
        "default-redact",
        policy(BLOCK_CC, default=REDACT),
        [PERSON, EMAIL],
        False,
        REDACT,
        "default",
        [PERSON, EMAIL],
    ),
    ("default-block-empty", policy(default=BLOCK), [], False, BLOCK, "default", []),
    # An unlisted entity beside a listed one still meets the default.
    (
        "default-block-unclaimed",
        policy(ALLOW_PERSON, default=BLOCK),
        [PERSON, EMAIL],
        False,
        BLOCK,
        "default",
        [EMAIL],
    ),
    # Reroute without a ready local model becomes fallback.on_unavailable.
    ("reroute-ready", policy(REROUTE_FACE), [FACE], True, REROUTE, "faces-local", [FACE]),
    ("reroute-unavail-block", policy(REROUTE_FACE), [FACE], False, BLOCK, "faces-local", [FACE]),
    (
        "reroute-unavail-redact",
        policy(REROUTE_FACE, REDACT_EMAIL, on_unavailable=REDACT),
        [FACE, EMAIL],
        False,
        REDACT,
        "faces-local",
        [FACE, EMAIL],
    ),
    (
        "reroute-unavail-allow",
        policy(REROUTE_FACE, on_unavailable=ALLOW),
        [FACE],
        False,
        ALLOW,
        "faces-local",
        [FACE],
    ),
    ("block-not-downgraded", policy(BLOCK_CC), [CC], False, BLOCK, "no-cards", [CC]),
    # detection.min_score drops weak findings before any rule, even a rule with min_score 0.
    (
        "below-detection",
        policy(rule("ssn", "US_SSN", BLOCK), detection_min=0.3),
        [finding("US_SSN", score=0.29)],
        False,
        ALLOW,
        "default",
        [],
    ),
    (
        "at-detection",
        policy(rule("ssn", "US_SSN", BLOCK), detection_min=0.3),
        [finding("US_SSN", score=0.3)],
        False,
        BLOCK,
        "ssn",
        [finding("US_SSN", score=0.3)],
    ),
]


@pytest.mark.parametrize(
    ("the_policy", "findings", "ready", "action", "rule_id", "targets"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_decision_table(
    the_policy: Policy,
    findings: list[Finding],
    ready: bool,
    action: Action,
    rule_id: str,
    targets: list[Finding],
) -> None:
    decision = decide(the_policy, findings, fallback_ready=ready)
    assert (decision.action, decision.rule_id, list(decision.targets)) == (action, rule_id, targets)


def test_reasons_name_rule_entity_and_source_with_counts() -> None:
    two_emails = [EMAIL, finding("EMAIL_ADDRESS", score=0.9), PHONE_IN_IMAGE]
    decision = decide(policy(BLOCK_CC, REDACT_EMAIL), [CC, *two_emails])
    assert decision.reasons == ("rule no-cards: CREDIT_CARD in prompt",)
    decision = decide(policy(REDACT_EMAIL), two_emails)
    assert decision.reasons == (
        "rule contacts: EMAIL_ADDRESS in prompt (x2), PHONE_NUMBER in image_text",
    )


def test_unavailable_reroute_says_so() -> None:
    decision = decide(policy(REROUTE_FACE), [FACE])
    assert decision.reasons[-1] == (
        "rule faces-local requested reroute but the local fallback is unavailable;"
        " fallback.on_unavailable: block"
    )


def test_default_reason_when_nothing_matches() -> None:
    assert decide(policy(BLOCK_CC), []).reasons == ("no rule matched; default_action: allow",)


def test_finding_matched_by_two_rules_is_one_target() -> None:
    decision = decide(policy(BLOCK_CC, BLOCK_SSN), [CC])
    assert decision.targets == (CC,)


def test_decision_ignores_finding_order_for_the_action() -> None:
    the_policy = policy(REDACT_EMAIL, BLOCK_CC, ALLOW_PERSON)
    forward = decide(the_policy, [PERSON, EMAIL, CC])
    backward = decide(the_policy, [CC, EMAIL, PERSON])
    assert (forward.action, forward.rule_id) == (backward.action, backward.rule_id)


def test_policy_detection_threshold_comes_from_the_policy() -> None:
    lenient = replace(
        policy(rule("ssn", "US_SSN", BLOCK)), detection=DetectionSettings(min_score=0)
    )
    assert decide(lenient, [finding("US_SSN", score=0.05)]).action is BLOCK
