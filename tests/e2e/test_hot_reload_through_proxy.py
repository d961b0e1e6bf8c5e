"""The real proxy follows its policy file: a new policy takes effect without a restart, and a
broken one keeps the last good policy in force and says so."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator

import openai
import pytest
from helpers.e2e import Proxy, Upstream, policy_text, start_proxy, stop_proxy

pytestmark = pytest.mark.e2e

EMAIL = "oskar.lind@example.se"


def rules(action: str) -> str:
    return f"rules:\n  - {{id: contact, entities: [EMAIL_ADDRESS], action: {action}}}\n"


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, upstream: Upstream) -> Iterator[Proxy]:
    handle = start_proxy(
        tmp_path_factory.mktemp("reload"), policy_text(upstream, rules("redact")), upstream
    )
    yield handle
    stop_proxy(handle)


def decision(client: openai.OpenAI) -> str:
    try:
        raw = client.images.with_raw_response.generate(prompt=f"a note to {EMAIL}")
    except openai.PermissionDeniedError as e:
        return e.response.headers["x-pixelgate-decision"]
    return raw.headers["x-pixelgate-decision"]


def eventually(check: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.3)
    return False


def rewrite(proxy: Proxy, upstream: Upstream, text: str) -> None:
    path = proxy.workdir / "policy.yaml"
    path.write_text(text)
    os.utime(path)


def test_a_changed_policy_file_takes_effect_and_a_broken_one_is_refused(
    proxy: Proxy, upstream: Upstream, client: openai.OpenAI
) -> None:
    assert decision(client) == "redact"
    rewrite(proxy, upstream, policy_text(upstream, rules("block")))
    assert eventually(lambda: decision(client) == "block")

    rewrite(proxy, upstream, policy_text(upstream, rules("explode")))
    assert eventually(lambda: "kept the last good policy" in proxy.stdout.read_text())
    log = proxy.stdout.read_text()
    assert "policy.yaml:" in log and "rules[0].action" in log
    assert decision(client) == "block"
    assert proxy.process.poll() is None


def test_sighup_reloads_at_once(proxy: Proxy, upstream: Upstream, client: openai.OpenAI) -> None:
    path = proxy.workdir / "policy.yaml"
    path.write_text(policy_text(upstream, rules("allow")))
    proxy.process.send_signal(signal.SIGHUP)
    assert eventually(lambda: decision(client) == "allow", seconds=15)
    assert EMAIL not in proxy.stdout.read_text() + proxy.stderr.read_text()
