"""The real proxy's admin endpoint: metrics that match the audit log, health and readiness,
and no request content in what it serves, before and after a hot reload."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator

import openai
import pytest
from helpers.e2e import (
    Proxy,
    Upstream,
    admin_get,
    four_actions_policy,
    free_port,
    policy_text,
    start_proxy,
    stop_proxy,
)
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.e2e

EMAIL = "ines.marlow@example.org"
CARD = "4111 1111 1111 1111"
PHONE = "+1 415 555 0100"
CLEAN = "A watercolor lighthouse on a cliff at dawn"
PROMPTS = {
    "allow": CLEAN,
    "redact": f"a greeting card for {EMAIL}",
    "block": f"a receipt showing card {CARD}",
    "reroute": f"a poster with the number {PHONE}",
}
# Not the digits alone: a timing's decimals may contain any of them.
PLANTED = (EMAIL, CARD, PHONE, "lighthouse", "greeting card", "ines.", "marlow", "example.org")
LABELS = ("provider", "operation", "action", "rule", "mode")


@pytest.fixture(scope="module")
def admin_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def proxy(
    tmp_path_factory: pytest.TempPathFactory, upstream: Upstream, admin_port: int
) -> Iterator[Proxy]:
    text = policy_text(upstream, four_actions_policy())
    workdir = tmp_path_factory.mktemp("metrics")
    handle = start_proxy(
        workdir, text, upstream, "--set", f"pixelgate_admin=127.0.0.1:{admin_port}"
    )
    yield handle
    stop_proxy(handle)


@pytest.fixture(scope="module")
def workload(proxy: Proxy, upstream: Upstream) -> dict[str, str]:
    """One request per action, twice, through the official SDK: {action: decision header}."""
    seen: dict[str, str] = {}
    with proxy.openai_client(upstream) as client:
        for _ in range(2):
            for action, prompt in PROMPTS.items():
                seen[action] = decide(client, prompt)
    return seen


def decide(client: openai.OpenAI, prompt: str) -> str:
    try:
        raw = client.images.with_raw_response.generate(prompt=prompt, size="256x256")
    except openai.APIStatusError as e:
        return e.response.headers.get("x-pixelgate-decision", str(e.status_code))
    return raw.headers["x-pixelgate-decision"]


def samples(port: int, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    status, text = admin_get(port, "/metrics")
    assert status == 200
    found: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def audited(proxy: Proxy) -> Counter[tuple[tuple[str, str], ...]]:
    return Counter(
        tuple(sorted((k, str(e[k])) for k in LABELS)) for e in proxy.events() if "provider" in e
    )


def test_the_workload_meets_every_action(workload: dict[str, str]) -> None:
    assert workload == {action: action for action in PROMPTS}


def test_request_counters_equal_the_audit_events(
    proxy: Proxy, admin_port: int, workload: dict[str, str]
) -> None:
    counted = samples(admin_port, "pixelgate_requests_total")
    assert counted == {labels: float(n) for labels, n in audited(proxy).items()}
    assert sum(counted.values()) == 2 * len(PROMPTS)


def test_histograms_count_every_request(
    proxy: Proxy, admin_port: int, workload: dict[str, str]
) -> None:
    events = proxy.events()
    inspection = samples(admin_port, "pixelgate_inspection_seconds_count")
    assert inspection[(("stage", "total"),)] == len(events)
    assert inspection[(("stage", "text_pii"),)] == sum(
        "text_pii" in e["timings_ms"] for e in events
    )  # type: ignore[operator]
    rerouted = sum(e["action"] == "reroute" for e in events)
    assert samples(admin_port, "pixelgate_fallback_generation_seconds_count") == {(): rerouted}
    assert rerouted == 2


def test_findings_are_counted_by_entity_and_source(
    proxy: Proxy, admin_port: int, workload: dict[str, str]
) -> None:
    expected: Counter[tuple[tuple[str, str], ...]] = Counter()
    for e in proxy.events():
        for source, counts in e["findings"].items():  # type: ignore[attr-defined]
            for entity, n in counts.items():
                expected[(("entity", entity), ("source", source))] += n
    assert samples(admin_port, "pixelgate_findings_total") == {
        k: float(v) for k, v in expected.items()
    }
    assert (("entity", "EMAIL_ADDRESS"), ("source", "prompt")) in expected


def test_health_and_readiness_with_the_warm_local_model(
    admin_port: int, workload: dict[str, str]
) -> None:
    assert admin_get(admin_port, "/healthz")[0] == 200
    assert admin_get(admin_port, "/readyz") == (200, "ready\n")
    assert samples(admin_port, "pixelgate_ready") == {(): 1.0}
    assert samples(admin_port, "pixelgate_policy_info") == {
        (("mode", "enforce"), ("version", "1")): 1.0
    }


def test_no_planted_value_in_the_metrics(admin_port: int, workload: dict[str, str]) -> None:
    text = admin_get(admin_port, "/metrics")[1].lower()
    for value in PLANTED:
        assert value.lower() not in text, value


def test_counters_survive_a_hot_reload(
    proxy: Proxy, upstream: Upstream, admin_port: int, workload: dict[str, str]
) -> None:
    before = sum(samples(admin_port, "pixelgate_requests_total").values())
    policy = proxy.workdir / "policy.yaml"
    policy.write_text(
        policy_text(upstream, four_actions_policy().replace("mode: enforce", "mode: audit"))
    )
    os.utime(policy)
    audit_mode = (("mode", "audit"), ("version", "1"))
    deadline = time.monotonic() + 60
    while audit_mode not in samples(admin_port, "pixelgate_policy_info"):
        assert time.monotonic() < deadline, "the reload never showed in pixelgate_policy_info"
        time.sleep(0.3)
    with proxy.openai_client(upstream) as client:
        client.images.generate(prompt=PROMPTS["redact"], size="256x256")
    counted = samples(admin_port, "pixelgate_requests_total")
    assert sum(counted.values()) == before + 1
    assert counted == {labels: float(n) for labels, n in audited(proxy).items()}
    assert admin_get(admin_port, "/readyz")[0] == 200
