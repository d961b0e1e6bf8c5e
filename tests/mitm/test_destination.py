"""Which provider a request goes to, from every name it gives (proxy.mitm.destination)."""

from __future__ import annotations

import pytest

from proxy.errors import DestinationMismatch
from proxy.mitm.destination import Claims, provider_of, touched
from proxy.providers import ADAPTERS
from proxy.providers.routing import Router

ROUTER = Router(ADAPTERS, {"openai": ["gateway.internal:8443", "10.0.0.5:9000"]})
route = ROUTER.match
OPENAI, GATEWAY = "api.openai.com", "gateway.internal"


@pytest.mark.parametrize(
    ("claims", "provider", "host"),
    [
        (Claims(OPENAI, 443, OPENAI, (OPENAI,)), "openai", OPENAI),
        (Claims("API.OpenAI.com.", 443, None, ("api.openai.com:443",)), "openai", OPENAI),
        # transparent: the destination is an address, the names agree
        (Claims("104.18.1.1", 443, OPENAI, (OPENAI,)), "openai", OPENAI),
        (Claims(GATEWAY, 8443, None, (f"{GATEWAY}:8443",)), "openai", GATEWAY),
        (Claims("10.0.0.5", 9000, None, ()), "openai", "10.0.0.5"),
        (Claims("api.stability.ai", 443, "api.stability.ai", ()), "stability", "api.stability.ai"),
    ],
)  # fmt: skip
def test_agreeing_names_give_the_provider(claims: Claims, provider: str, host: str) -> None:
    found = provider_of(route, claims)
    assert found is not None and (found[0].name, found[1]) == (provider, host)


@pytest.mark.parametrize(
    "claims",
    [
        Claims("example.com", 443, "example.com", ("example.com",)),
        Claims("127.0.0.1", 443, None, ("intranet.local",)),
        Claims("gateway.internal", 9443, None, ("gateway.internal:9443",)),  # another port
    ],
)
def test_names_of_no_provider_give_none(claims: Claims) -> None:
    assert provider_of(route, claims) is None


@pytest.mark.parametrize(
    "claims",
    [
        Claims("evil.example", 443, "api.openai.com", ("api.openai.com",)),
        Claims("api.openai.com", 443, "api.openai.com", ("evil.example",)),
        Claims("api.openai.com", 443, "evil.example", ("api.openai.com",)),
        Claims("api.openai.com", 443, None, ("api.openai.com", "evil.example")),
        Claims("api.openai.com", 443, None, ("api.openai.com:8443",)),  # Host names another port
        Claims("api.openai.com", 443, None, ("api openai com",)),  # malformed
        Claims("10.1.1.1", 443, None, ("api.openai.com",), earlier="api.stability.ai"),
        Claims("api.openai.com", 443, "api.openai.com", ("api.openai.com",), "evil.example"),
    ],
)
def test_a_provider_among_disagreeing_names_is_refused(claims: Claims) -> None:
    with pytest.raises(DestinationMismatch):
        provider_of(route, claims)
    assert touched(route, claims) is not None
