"""The policy engine: load a YAML policy, and decide what to do with a request's findings."""

from proxy.policy.decide import acted_entities, acts_on, decide
from proxy.policy.loader import (
    bundled_policy_names,
    bundled_policy_path,
    load_policy,
    load_policy_text,
    placeholder_for,
)
from proxy.policy.schema import (
    ANY_ENTITY,
    DEFAULT_RULE_ID,
    AuditSettings,
    CustomRecognizer,
    DetectionSettings,
    FallbackSettings,
    Limits,
    Mode,
    OnError,
    Pattern,
    Policy,
    Redaction,
    Rule,
)

__all__ = [
    "ANY_ENTITY",
    "DEFAULT_RULE_ID",
    "AuditSettings",
    "CustomRecognizer",
    "DetectionSettings",
    "FallbackSettings",
    "Limits",
    "Mode",
    "OnError",
    "Pattern",
    "Policy",
    "Redaction",
    "Rule",
    "acted_entities",
    "acts_on",
    "bundled_policy_names",
    "bundled_policy_path",
    "decide",
    "load_policy",
    "load_policy_text",
    "placeholder_for",
]
