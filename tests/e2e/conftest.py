"""Fixtures for end-to-end tests: a recording TLS upstream on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers.e2e import Upstream, serve_upstream


@pytest.fixture(scope="session")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    up, server = serve_upstream(tmp_path_factory.mktemp("upstream"))
    yield up
    server.shutdown()
