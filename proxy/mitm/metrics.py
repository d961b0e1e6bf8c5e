"""Prometheus metrics, updated from audit events: counts, names and timings, never content.

Every label value comes from a closed vocabulary: provider and operation names the adapters
define, actions and modes from their enums, rule ids from the policies loaded, entity names
from the recognizers, sources from their enum, error codes from PixelGate's own errors, and
stages from the detectors' names. A value outside its vocabulary is counted as "other", so no
request can add a series, and no string taken from a request can reach the exposition.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from proxy.engine.audit import AuditEvent
from proxy.engine.fallback import unavailable_reason
from proxy.mitm.metrics_vocabulary import (
    ERROR_CODES,
    GATE_RULES,
    KNOWN_OPERATIONS,
    Vocabulary,
)
from proxy.model import Action, Source
from proxy.policy.schema import Mode

if TYPE_CHECKING:
    from proxy.engine.gate import Gate

log = logging.getLogger("pixelgate")

# The timing a rerouted request spends waiting for and running the local model (see Gate).
FALLBACK_STAGE = "fallback"
TOTAL_STAGE = "total"

_ENTITY = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
_STAGE = re.compile(r"[a-z][a-z0-9_]{0,31}")
# Rule ids and entity names are bounded by the policies loaded; these caps bound them even
# over many hot reloads.
_MAX_RULES = 256
_MAX_ENTITIES = 256
_MAX_SELECTIONS = 64  # identities entries (names are the operator's, checked on load)
_GENERATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)


class Metrics:
    """PixelGate's metrics in a registry of their own (not prometheus_client's global one).

    `observe` takes each audit event the gates write; `attach` hooks a gate up and makes it the
    one the gauges describe. One object lives as long as the process, across hot reloads. It
    never raises into a request: a failure to count is logged by type and dropped.
    """

    def __init__(self) -> None:
        from proxy.detectors import IMAGE_ENTITIES
        from proxy.providers import ADAPTERS

        self.registry = CollectorRegistry(auto_describe=True)
        self._lock = threading.Lock()
        self._gates: tuple[Gate, ...] = ()
        self._providers = Vocabulary(a.name for a in ADAPTERS)
        self._operations = Vocabulary(KNOWN_OPERATIONS)
        self._actions = Vocabulary(a.value for a in Action)
        self._modes = Vocabulary(m.value for m in Mode)
        self._rules = Vocabulary(GATE_RULES, _MAX_RULES)
        self._entities = Vocabulary(IMAGE_ENTITIES, _MAX_ENTITIES)
        self._sources = Vocabulary(s.value for s in Source)
        self._errors = Vocabulary(ERROR_CODES)
        self._stages = Vocabulary({TOTAL_STAGE}, 32)
        self._selections = Vocabulary({"default"}, _MAX_SELECTIONS)
        r = self.registry
        self.requests = Counter(
            "pixelgate_requests",
            "Provider requests decided, by provider, operation, action, rule and mode.",
            ("provider", "operation", "action", "rule", "mode"),
            registry=r,
        )
        self.selections = Counter(
            "pixelgate_selection_requests",
            "Requests of authenticated or placed senders, by identities entry and action.",
            ("selection", "action"),
            registry=r,
        )
        self.findings = Counter(
            "pixelgate_findings",
            "Personal data found, by entity type and where in the request.",
            ("entity", "source"),
            registry=r,
        )
        self.errors = Counter(
            "pixelgate_errors",
            "Requests PixelGate could not handle, by error code.",
            ("code",),
            registry=r,
        )
        self.inspection = Histogram(
            "pixelgate_inspection_seconds",
            "Time per request in each detector, and in total (stage=total).",
            ("stage",),
            registry=r,
        )
        self.generation = Histogram(
            "pixelgate_fallback_generation_seconds",
            "Time a rerouted request waited for and ran on the local model.",
            buckets=_GENERATION_BUCKETS,
            registry=r,
        )
        queue = Gauge(
            "pixelgate_fallback_queue_depth",
            "Rerouted requests waiting for or running on the local model.",
            registry=r,
        )
        queue.set_function(self._queue_depth)
        self.policy_info = Gauge(
            "pixelgate_policy_info",
            "The policy in force: 1 for its format version and mode.",
            ("version", "mode"),
            registry=r,
        )
        ready = Gauge("pixelgate_ready", "1 when PixelGate is ready for traffic.", registry=r)
        ready.set_function(lambda: 1.0 if self.ready()[0] else 0.0)

    def attach(self, gate: Gate, *others: Gate) -> None:
        """Count what the gates audit, and describe them from now on (they are the ones in
        force; `gate`, the default policy's, gives the policy info)."""
        gates = (gate, *others)
        with self._lock:
            for each in gates:
                self._rules.learn(rule.id for rule in each.policy.rules)
                self._entities.learn(e for e in _policy_entities(each) if _ENTITY.fullmatch(e))
                self._stages.learn(
                    d.name for d in each.pipeline.detectors if _STAGE.fullmatch(d.name)
                )
            self._gates = gates
            policy = gate.policy
            self.policy_info.clear()
            self.policy_info.labels(str(policy.version), self._modes.label(policy.mode)).set(1)
        for each in gates:
            if self.observe not in each.observers:
                each.observers.append(self.observe)

    def ready(self) -> tuple[bool, str]:
        """(ready, why): gates are in force and, for every policy that names a local model,
        the model was loaded and warmed up (one that could not be means reroute is degraded)."""
        if not self._gates:
            return False, "no policy loaded yet"
        for gate in self._gates:
            settings = gate.policy.fallback
            if (settings.model or settings.url) and gate.fallback is None:
                why = unavailable_reason(settings) or "the fallback model is not available"
                return False, (
                    f"reroute is degraded to fallback.on_unavailable: {settings.on_unavailable}"
                    f" ({why})"
                )
        return True, "ready"

    def observe(self, event: AuditEvent) -> None:
        try:
            self._observe(event)
        except Exception as e:  # noqa: BLE001 - counting must never fail a request
            log.error("PixelGate could not update metrics: %s", type(e).__name__)

    def _observe(self, event: AuditEvent) -> None:
        with self._lock:
            labels = (
                self._providers.label(event.provider),
                self._operations.label(event.operation),
                self._actions.label(event.action),
                self._rules.label(event.rule),
                self._modes.label(event.mode),
            )
            # Entity names are the recognizers' (never a request's): learnt up to the cap.
            self._entities.learn(
                e for counts in event.findings.values() for e in counts if _ENTITY.fullmatch(e)
            )
            findings = [
                (self._entities.label(entity), self._sources.label(source), n)
                for source, counts in event.findings.items()
                for entity, n in counts.items()
            ]
            error = self._errors.label(event.error) if event.error is not None else None
            if event.selection is not None:
                self._selections.learn((event.selection,))
            selection = self._selections.label(event.selection) if event.selection else None
            stages = [
                (self._stages.label(stage), ms)
                for stage, ms in event.timings_ms.items()
                if stage != FALLBACK_STAGE
            ]
        self.requests.labels(*labels).inc()
        if selection is not None:
            self.selections.labels(selection, labels[2]).inc()
        for entity, source, n in findings:
            if n > 0:
                self.findings.labels(entity, source).inc(n)
        if error is not None:
            self.errors.labels(error).inc()
        for stage, ms in stages:
            self.inspection.labels(stage).observe(max(ms, 0.0) / 1000.0)
        generating = event.timings_ms.get(FALLBACK_STAGE)
        if generating is not None:
            self.generation.observe(max(generating, 0.0) / 1000.0)

    def _queue_depth(self) -> float:
        models = {id(g.fallback): g.fallback for g in self._gates if g.fallback is not None}
        pending = (getattr(model, "pending", 0) for model in models.values())
        return float(sum(n for n in pending if isinstance(n, int)))


def _policy_entities(gate: Gate) -> Iterable[str]:
    """Entity names the policy names: its rules' and its recognizers'."""
    policy = gate.policy
    yield from (r.entity for r in policy.recognizers)
    yield from (e for rule in policy.rules for e in rule.entities)
