from __future__ import annotations

import pytest

from proxy.providers import ADAPTERS
from proxy.providers.routing import HostPattern, Router


@pytest.mark.parametrize(
    ("pattern", "host", "port", "matches"),
    [
        ("api.openai.com", "api.openai.com", 443, True),
        ("api.openai.com", "API.OpenAI.com.", 443, True),
        ("api.openai.com", "api.openai.com", 8443, True),
        ("api.openai.com", "evil-api.openai.com", 443, False),
        ("*.openai.azure.com", "myres.openai.azure.com", 443, True),
        ("*.openai.azure.com", "openai.azure.com", 443, False),
        ("*.openai.azure.com", "myres.openai.azure.com.evil.com", 443, False),
        ("gateway.internal:8443", "gateway.internal", 8443, True),
        ("gateway.internal:8443", "gateway.internal", 443, False),
        ("[::1]:8443", "::1", 8443, True),
        ("*-aiplatform.googleapis.com", "europe-west4-aiplatform.googleapis.com", 443, True),
        ("*-aiplatform.googleapis.com", "aiplatform.googleapis.com", 443, False),
        ("*-aiplatform.googleapis.com", "x.evil-aiplatform.googleapis.com", 443, False),
        ("*-aiplatform.googleapis.com", "us-aiplatform.googleapis.com.evil.com", 443, False),
    ],
)
def test_host_pattern_matching(pattern: str, host: str, port: int, matches: bool) -> None:
    assert HostPattern.parse(pattern).matches(host, port) is matches


@pytest.mark.parametrize("bad", ["", "host:0", "host:99999", "a/b", "bad*host", "h:x"])
def test_malformed_host_patterns_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError):
        HostPattern.parse(bad)


def test_openai_and_azure_hosts_route_to_openai_by_default() -> None:
    router = Router(ADAPTERS, {})
    assert router.match("api.openai.com", 443).name == "openai"  # type: ignore[union-attr]
    assert router.match("contoso.openai.azure.com", 443).name == "openai"  # type: ignore[union-attr]
    assert router.match("example.com", 443) is None


def test_policy_hosts_extend_an_adapter() -> None:
    router = Router(ADAPTERS, {"openai": ["my-gateway.internal:8443"]})
    assert router.match("my-gateway.internal", 8443) is not None
    assert router.match("my-gateway.internal", 443) is None


def test_unknown_provider_in_policy_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown provider 'dalle'"):
        Router(ADAPTERS, {"dalle": ["x.example"]})
