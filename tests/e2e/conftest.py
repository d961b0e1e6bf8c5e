"""Fixtures for end-to-end tests: a recording TLS upstream on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from helpers.e2e import Proxy, Upstream, serve_upstream


@pytest.fixture(scope="session")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    up, server = serve_upstream(tmp_path_factory.mktemp("upstream"))
    yield up
    server.shutdown()


@pytest.fixture
def client(proxy: Proxy, upstream: Upstream) -> Iterator[openai.OpenAI]:
    """The official SDK through the module's `proxy` fixture, with an empty upstream record."""
    upstream.clear()
    with proxy.openai_client(upstream) as c:
        yield c
