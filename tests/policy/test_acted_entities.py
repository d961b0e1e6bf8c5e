from __future__ import annotations

import pytest

from proxy.policy import acted_entities, load_policy_text

HEAD = "version: 1\naudit: {path: null}\n"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("rules:\n  - {id: a, entities: [EMAIL_ADDRESS], action: redact}\n"
         "  - {id: b, entities: [PERSON], action: allow}\n", {"EMAIL_ADDRESS"}),
        ("rules:\n  - {id: a, entities: ['*'], action: block}\n", None),
        ("default_action: redact\nrules:\n  - {id: a, entities: [X_ID], action: allow}\n", None),
        ("rules:\n  - {id: a, entities: ['*'], action: allow}\n", set()),
        ("", set()),
    ],
    ids=["only-acting-rules", "wildcard", "default-not-allow", "wildcard-allow", "no-rules"],
)  # fmt: skip
def test_acted_entities(body: str, expected: set[str] | None) -> None:
    result = acted_entities(load_policy_text(HEAD + body, "t.yaml"))
    assert result == (None if expected is None else frozenset(expected))
