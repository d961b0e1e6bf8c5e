"""`providers.<name>.passthrough`: endpoints a policy explicitly forwards uninspected."""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType

import pytest

from proxy.engine.audit import AuditWriter
from proxy.engine.gate import Gate
from proxy.errors import PolicyError
from proxy.model import Action
from proxy.policy import load_policy_text
from proxy.providers import ADAPTERS
from proxy.providers.base import WireRequest
from proxy.providers.routing import passes_through

OPENAI = ADAPTERS[0]
PATTERNS = ("/v1/embeddings", "/v1/files*")


@pytest.mark.parametrize(
    ("path", "passes"),
    [
        ("/v1/embeddings", True),
        ("/v1/embeddings?user=x", True),
        ("/v1/files", True),
        ("/v1/files/file-abc/content", True),
        ("/v1/images/generations", False),
        ("/v1/embeddings/../images/generations", False),
        ("/v1/files/../images/edits", False),
        ("/v1/files/./x", False),
        ("/v1//embeddings", False),
        ("/v1/%65mbeddings", False),
        ("/v1/files\\..\\images", False),
        ("/V1/EMBEDDINGS", False),
    ],
)
def test_only_plain_paths_matching_a_pattern_pass_through(path: str, passes: bool) -> None:
    assert passes_through(PATTERNS, path) is passes


@pytest.mark.parametrize(
    "pattern", ["v1/embeddings", "/v1/../x", "/v1/%2e", "/a//b", "/v1/..", "/v1/x y"]
)
def test_a_pattern_that_could_mean_another_path_is_refused(pattern: str) -> None:
    text = f'version: 1\nproviders: {{openai: {{passthrough: ["{pattern}"]}}}}\n'
    with pytest.raises(PolicyError, match="providers.openai.passthrough"):
        load_policy_text(text)


def gate(tmp_path: Path, passthrough: str) -> Gate:
    text = f"""version: 1
audit: {{path: {tmp_path / "audit.jsonl"}}}
providers: {{openai: {{passthrough: {passthrough}}}}}
rules:
  - {{id: contact, entities: [EMAIL_ADDRESS], action: block}}
"""
    policy = load_policy_text(text)
    return Gate(policy, ADAPTERS, [], AuditWriter(policy.audit.path))


def embeddings(path: str = "/v1/embeddings") -> WireRequest:
    body = json.dumps({"model": "text-embedding-3-small", "input": "ann@example.com"}).encode()
    headers = MappingProxyType({"content-type": "application/json"})
    return WireRequest("POST", "api.openai.com", 443, path, headers, body)


def test_a_listed_endpoint_is_forwarded_as_sent_and_audited(tmp_path: Path) -> None:
    verdict = gate(tmp_path, '["/v1/embeddings"]').handle(OPENAI, embeddings())
    assert verdict is not None and verdict.action is Action.ALLOW and verdict.body is None
    event = json.loads((tmp_path / "audit.jsonl").read_text())
    assert (event["operation"], event["rule"], event["action"]) == (
        "passthrough",
        "passthrough",
        "allow",
    )
    assert "providers.openai.passthrough" in event["reasons"][0]


def test_without_the_listing_the_endpoint_stays_refused(tmp_path: Path) -> None:
    verdict = gate(tmp_path, "[]").handle(OPENAI, embeddings())
    assert verdict is not None and verdict.action is Action.BLOCK
    assert verdict.response is not None and verdict.response.status == 403


def test_a_listed_prefix_does_not_open_an_image_endpoint_by_traversal(tmp_path: Path) -> None:
    sneaky = embeddings("/v1/embeddings/../images/generations")
    verdict = gate(tmp_path, '["/v1/embeddings*"]').handle(OPENAI, sneaky)
    assert verdict is not None and verdict.action is Action.BLOCK
