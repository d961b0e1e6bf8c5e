"""Metrics from audit events, and the admin endpoint that serves them."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType

import pytest
from helpers.e2e import free_port
from mitmproxy import exceptions
from mitmproxy.test import taddons
from prometheus_client.parser import text_string_to_metric_families

from proxy.detectors import build_detectors
from proxy.engine.audit import AuditEvent, AuditWriter
from proxy.engine.gate import Gate
from proxy.mitm.admin import Admin, AdminServer, parse_address
from proxy.mitm.metrics import Metrics
from proxy.mitm.metrics_vocabulary import OTHER
from proxy.policy import load_policy_text
from proxy.providers import ADAPTERS
from proxy.providers.base import WireRequest

EMAIL = "planted.value@example.org"
POLICY = """version: 1
mode: enforce
on_error: block
rules:
  - {id: no-payment-data, entities: [CREDIT_CARD], action: block}
  - {id: contact-details, entities: [EMAIL_ADDRESS], action: redact}
"""


def event(**changes: object) -> AuditEvent:
    fields: dict[str, object] = {
        "request_id": "r1",
        "mode": "enforce",
        "provider": "openai",
        "operation": "images.generate",
        "action": "redact",
        "rule": "default",
        "enforced": True,
        "findings": {"prompt": {"EMAIL_ADDRESS": 2}},
        "timings_ms": {"text_pii": 3.0, "total": 5.0},
    }
    fields.update(changes)
    return AuditEvent(**fields)  # type: ignore[arg-type]


def samples(metrics: Metrics, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """{sorted labels: value} of every sample named `name` in the exposition text."""
    text = exposition(metrics)
    found: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def exposition(metrics: Metrics) -> str:
    from prometheus_client import generate_latest

    return generate_latest(metrics.registry).decode()


def gate(policy_text: str = POLICY, detectors: bool = False) -> Gate:
    policy = load_policy_text(policy_text, "t.yaml")
    found = build_detectors(policy) if detectors else ()
    return Gate(policy, ADAPTERS, found, AuditWriter(None))


def generation(prompt: str) -> WireRequest:
    headers = MappingProxyType({"content-type": "application/json"})
    body = json.dumps({"prompt": prompt}).encode()
    return WireRequest("POST", "api.openai.com", 443, "/v1/images/generations", headers, body)


def test_an_event_counts_one_request_under_its_labels() -> None:
    metrics = Metrics()
    metrics.observe(event())
    metrics.observe(event(action="block", rule="default"))
    assert samples(metrics, "pixelgate_requests_total") == {
        (
            ("action", action),
            ("mode", "enforce"),
            ("operation", "images.generate"),
            ("provider", "openai"),
            ("rule", "default"),
        ): 1.0
        for action in ("redact", "block")
    }


def test_requests_are_counted_by_identities_entry_and_never_by_user() -> None:
    metrics = Metrics()
    metrics.observe(event(user="u-1", selection="legal", action="block"))
    metrics.observe(event(user="u-2", selection="legal", action="block"))
    metrics.observe(event())  # no identities: not in this series
    for i in range(100):  # bounded: entries beyond the cap count as other
        metrics.observe(event(selection=f"entry-{i}"))
    found = samples(metrics, "pixelgate_selection_requests_total")
    assert found[(("action", "block"), ("selection", "legal"))] == 2.0
    assert len(found) <= 66 and (("action", "redact"), ("selection", OTHER)) in found
    assert "u-1" not in exposition(metrics)


def test_findings_are_counted_by_entity_and_source() -> None:
    metrics = Metrics()
    metrics.observe(event(findings={"prompt": {"EMAIL_ADDRESS": 2}, "face": {"FACE": 1}}))
    assert samples(metrics, "pixelgate_findings_total") == {
        (("entity", "EMAIL_ADDRESS"), ("source", "prompt")): 2.0,
        (("entity", "FACE"), ("source", "face")): 1.0,
    }


def test_errors_are_counted_by_code() -> None:
    metrics = Metrics()
    metrics.observe(event(error="pixelgate_inspection_timeout", action="block"))
    metrics.observe(event())
    assert samples(metrics, "pixelgate_errors_total") == {
        (("code", "pixelgate_inspection_timeout"),): 1.0
    }


def test_each_timing_is_one_observation_of_its_stage() -> None:
    metrics = Metrics()
    metrics.observe(event(timings_ms={"text_pii": 3.0, "total": 5.0}))
    metrics.observe(event(timings_ms={"total": 1.0}))
    counts = samples(metrics, "pixelgate_inspection_seconds_count")
    sums = samples(metrics, "pixelgate_inspection_seconds_sum")
    assert counts[(("stage", "total"),)] == 2.0
    assert sums[(("stage", "total"),)] == pytest.approx(0.006)


def test_the_fallback_timing_feeds_the_generation_histogram_not_inspection() -> None:
    metrics = Metrics()
    metrics.observe(event(action="reroute", timings_ms={"fallback": 1500.0, "total": 1600.0}))
    assert samples(metrics, "pixelgate_fallback_generation_seconds_sum") == {(): 1.5}
    assert (("stage", "fallback"),) not in samples(metrics, "pixelgate_inspection_seconds_count")


def test_values_outside_their_vocabulary_are_counted_as_other() -> None:
    metrics = Metrics()
    metrics.observe(
        event(
            provider="acme",
            operation="images.generate/../x",
            action="shred",
            rule="made-up",
            mode="yolo",
            error="teapot",
            findings={"elsewhere": {"lower case entity": 1}},
            timings_ms={"Stage With Spaces": 1.0},
        )
    )
    assert samples(metrics, "pixelgate_requests_total") == {
        tuple((k, OTHER) for k in ("action", "mode", "operation", "provider", "rule")): 1.0
    }
    assert samples(metrics, "pixelgate_findings_total") == {
        (("entity", OTHER), ("source", OTHER)): 1.0
    }
    assert samples(metrics, "pixelgate_errors_total") == {(("code", OTHER),): 1.0}
    assert (("stage", OTHER),) in samples(metrics, "pixelgate_inspection_seconds_count")


def test_label_sets_stay_bounded_whatever_the_events_say() -> None:
    metrics = Metrics()
    for i in range(3000):
        metrics.observe(
            event(
                operation=f"op{i}",
                rule=f"rule-{i}",
                error=f"code_{i}",
                findings={"prompt": {f"ENTITY_{i}": 1}},
                timings_ms={f"stage_{i}": 1.0},
            )
        )
    assert len(samples(metrics, "pixelgate_requests_total")) == 1
    assert len(samples(metrics, "pixelgate_errors_total")) == 1
    assert len(samples(metrics, "pixelgate_findings_total")) <= 257
    assert len(samples(metrics, "pixelgate_inspection_seconds_count")) <= 33


def test_a_planted_value_never_reaches_the_exposition() -> None:
    metrics = Metrics()
    metrics.attach(gate())
    metrics.observe(
        event(
            reasons=(f"rule contact-details: {EMAIL}",),
            operation=EMAIL,
            rule=EMAIL,
            provider=EMAIL,
            error=EMAIL,
            fingerprint=EMAIL,
            findings={EMAIL: {EMAIL: 1}},
            timings_ms={EMAIL: 1.0},
        )
    )
    text = exposition(metrics)
    assert EMAIL not in text and "planted" not in text and "example.org" not in text


def test_a_gate_reports_its_written_events_to_attached_metrics() -> None:
    metrics = Metrics()
    g = gate(detectors=True)
    metrics.attach(g)
    g.handle(ADAPTERS[0], generation(f"a card for {EMAIL}"))
    g.handle(ADAPTERS[0], generation("a red fox"))
    requests = samples(metrics, "pixelgate_requests_total")
    assert {dict(k)["action"]: v for k, v in requests.items()} == {"redact": 1.0, "allow": 1.0}
    assert {dict(k)["rule"] for k in requests} == {"contact-details", "default"}
    assert samples(metrics, "pixelgate_inspection_seconds_count")[(("stage", "total"),)] == 2.0
    assert EMAIL not in exposition(metrics)


def test_policy_info_names_the_policy_in_force_only() -> None:
    metrics = Metrics()
    metrics.attach(gate())
    metrics.attach(gate(POLICY.replace("mode: enforce", "mode: audit")))
    assert samples(metrics, "pixelgate_policy_info") == {(("mode", "audit"), ("version", "1")): 1.0}


def test_ready_once_a_gate_is_attached() -> None:
    metrics = Metrics()
    assert samples(metrics, "pixelgate_ready") == {(): 0.0}
    assert not metrics.ready()[0]
    metrics.attach(gate())
    assert samples(metrics, "pixelgate_ready") == {(): 1.0}


def test_not_ready_when_the_configured_fallback_model_is_missing(tmp_path: Path) -> None:
    metrics = Metrics()
    policy = POLICY + f'fallback: {{model: "{tmp_path / "no-such-model"}"}}\n'
    metrics.attach(gate(policy))  # a gate without a loaded model, as load_fallback leaves it
    ready, why = metrics.ready()
    assert not ready and "fallback" in why


def test_queue_depth_reads_the_fallback_queue() -> None:
    class Queue:
        model, device, pending = "m", "cpu", 3

        def generate(self, request: object) -> list[bytes]:
            return []

    metrics = Metrics()
    g = gate()
    g.fallback = Queue()
    metrics.attach(g)
    assert samples(metrics, "pixelgate_fallback_queue_depth") == {(): 3.0}


@pytest.mark.parametrize(
    ("text", "address"),
    [("127.0.0.1:9464", ("127.0.0.1", 9464)), ("[::1]:80", ("::1", 80))],
)
def test_admin_addresses_parse(text: str, address: tuple[str, int]) -> None:
    assert parse_address(text) == address


@pytest.mark.parametrize("text", ["9464", "localhost", ":9464", "host:0", "host:http"])
def test_bad_admin_addresses_are_refused_by_name(text: str) -> None:
    with pytest.raises(ValueError, match="pixelgate_admin"):
        parse_address(text)


@pytest.fixture
def server() -> Iterator[tuple[Metrics, str]]:
    metrics = Metrics()
    admin = AdminServer(metrics, "127.0.0.1", 0)
    yield metrics, f"http://127.0.0.1:{admin.port}"
    admin.close()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_admin_server_serves_health_readiness_and_metrics(server: tuple[Metrics, str]) -> None:
    metrics, base = server
    assert get(base + "/healthz")[0] == 200
    assert get(base + "/readyz")[0] == 503
    metrics.attach(gate())
    metrics.observe(event())
    assert get(base + "/readyz")[0] == 200
    status, text = get(base + "/metrics")
    assert status == 200 and "pixelgate_requests_total{" in text
    assert get(base + "/anything-else")[0] == 404


def test_the_admin_option_starts_and_stops_the_server() -> None:
    admin = Admin()
    with taddons.context(admin) as tctx:
        port = free_port()
        tctx.configure(admin, pixelgate_admin=f"127.0.0.1:{port}")
        assert get(f"http://127.0.0.1:{port}/healthz")[0] == 200
        tctx.configure(admin, pixelgate_admin="")
        assert admin.server is None
        with pytest.raises(urllib.error.URLError):
            get(f"http://127.0.0.1:{port}/healthz")


def test_a_taken_admin_port_stops_start_up_with_a_clear_message() -> None:
    admin = Admin()
    with socket.socket() as taken, taddons.context(admin) as tctx:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(exceptions.OptionsError, match="pixelgate_admin"):
            tctx.configure(admin, pixelgate_admin=f"127.0.0.1:{port}")
