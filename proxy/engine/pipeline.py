"""Inspect a parsed request and decide what to do with it.

The pipeline owns no I/O: detectors do CPU work, the policy decides, redaction rewrites.
A redaction is verified by inspecting its result; if anything the policy redacts is still
found there, the request is blocked instead of forwarded.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from proxy.detectors.base import Detector
from proxy.detectors.images import ImageDecoder, ImageDetectorStage
from proxy.engine.redact import redact_request
from proxy.errors import CannotRedact, InspectionTimeout, RequestTooLarge
from proxy.images.model import DecodedImage
from proxy.model import Action, Decision, Finding, ImagePart, ImageRequest
from proxy.policy import Policy, decide, placeholder_for


@dataclass(frozen=True)
class Outcome:
    """Everything the proxy needs to act and audit; `forward` is the request to send on."""

    request: ImageRequest
    findings: tuple[Finding, ...]
    decision: Decision
    forward: ImageRequest | None = None
    timings_ms: Mapping[str, float] = field(default_factory=dict)


_REDACTION_PASSES = 3


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 3)


class Pipeline:
    """Detectors + policy. Shared by the proxy, `pixelgate scan` and offline replay."""

    def __init__(self, policy: Policy, detectors: Sequence[Detector]) -> None:
        self.policy = policy
        self.detectors = tuple(detectors)
        decoders = [d.decoder for d in self.detectors if isinstance(d, ImageDetectorStage)]
        self._decoder = decoders[0] if decoders else ImageDecoder(policy.limits)

    def decode_image(self, part: ImagePart, index: int) -> DecodedImage:
        return self._decoder.decode(part, index)

    def check_limits(self, request: ImageRequest) -> None:
        limits = self.policy.limits
        for part in request.prompts:
            if len(part.text) > limits.max_prompt_chars:
                raise RequestTooLarge(
                    f"a text field exceeds the policy limit of {limits.max_prompt_chars} characters"
                )
        if len(request.images) > limits.max_images:
            # How many the client sent is not said: the reason goes to the audit.
            raise RequestTooLarge(f"more images than the policy limit of {limits.max_images}")

    def detect(
        self,
        request: ImageRequest,
        timings: dict[str, float],
        *,
        until_blocked: bool = False,
        deadline: float | None = None,
    ) -> list[Finding]:
        """Run the detectors in order (cheap first). With `until_blocked`, stop once the
        findings so far already block: later, costlier detectors cannot change that.
        Past `deadline` (time.monotonic()), InspectionTimeout instead of the next detector."""
        findings: list[Finding] = []
        floor = self.policy.detection.min_score  # below it a finding is noise, not evidence
        for detector in self.detectors:
            if deadline is not None and time.monotonic() > deadline:
                raise InspectionTimeout(
                    "inspection exceeded the policy's limit of "
                    f"{self.policy.limits.inspection_timeout_s:g} s"
                )
            started = time.perf_counter()
            found = [f for f in detector.detect(request) if f.score >= floor]
            timings[detector.name] = timings.get(detector.name, 0.0) + _ms(started)
            findings.extend(found)
            if until_blocked and found:
                if decide(self.policy, findings).action is Action.BLOCK:
                    break
        return findings

    def run(
        self, request: ImageRequest, *, fallback_ready: bool = False, deadline: float | None = None
    ) -> Outcome:
        """`fallback_ready`: a local model can answer this request in the form the client
        asked for; without one, a reroute becomes `fallback.on_unavailable`. `deadline`
        (time.monotonic()) bounds detection, redaction passes included."""
        self.check_limits(request)
        timings: dict[str, float] = {}
        findings = self.detect(request, timings, until_blocked=True, deadline=deadline)
        decision = decide(self.policy, findings, fallback_ready=fallback_ready)
        forward: ImageRequest | None = request
        if decision.action is Action.REDACT:
            forward, decision = self._redact(request, decision, timings, deadline)
        elif decision.action in (Action.BLOCK, Action.REROUTE):
            forward = None
        return Outcome(request, tuple(findings), decision, forward, timings)

    def _redact(
        self,
        request: ImageRequest,
        decision: Decision,
        timings: dict[str, float],
        deadline: float | None,
    ) -> tuple[ImageRequest | None, Decision]:
        def placeholder(entity: str) -> str:
            return placeholder_for(self.policy, entity)

        # Replacing text changes the context around it, so a second look can find what the
        # first missed; redact again, a bounded number of times, before giving up and blocking.
        current, targets = request, decision.targets
        for _ in range(_REDACTION_PASSES):
            try:
                current = redact_request(current, targets, placeholder, self.decode_image)
            except CannotRedact as e:
                return None, _blocked(decision, f"redaction impossible: {e}")
            found = self.detect(current, timings, deadline=deadline)
            recheck = decide(self.policy, found, fallback_ready=False)
            if recheck.action is Action.ALLOW or not recheck.targets:
                return current, decision
            if recheck.action is not Action.REDACT:
                return None, _blocked(decision, *recheck.reasons)
            targets = recheck.targets
        return None, _blocked(decision, "redaction left data that the policy redacts")


def _blocked(decision: Decision, *reasons: str) -> Decision:
    return Decision(Action.BLOCK, decision.rule_id, (*decision.reasons, *reasons), decision.targets)
