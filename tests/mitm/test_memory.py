from __future__ import annotations

import sys

import pytest

from proxy.mitm.memory import release_free_memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_freed_memory_can_be_handed_back_on_linux() -> None:
    blocks = [bytearray(1 << 20) for _ in range(64)]
    del blocks
    assert release_free_memory() is True
