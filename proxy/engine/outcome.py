"""A parsed request's outcome: the pipeline's, with images given by link handled per the
policy's `remote_images`, and redactions of bodies that must not change turned into a
reroute or a block."""

from __future__ import annotations

from dataclasses import replace

from proxy.engine.linked_images import fetch_image
from proxy.engine.pipeline import Outcome, Pipeline
from proxy.model import Action, Decision, ImageRequest
from proxy.policy.schema import RemoteImageSettings


def outcome_of(
    pipeline: Pipeline,
    settings: RemoteImageSettings,
    request: ImageRequest,
    fallback_ready: bool,
    deadline: float,
) -> Outcome:
    """The pipeline's outcome; linked images are refused, skipped or fetched and inspected."""
    linked = sum(i.url is not None for i in request.images)
    if not linked:
        return pipeline.run(request, fallback_ready=fallback_ready, deadline=deadline)
    if settings.action == "block":
        reason = "an image is given by link, which this policy refuses (remote_images: block)"
        return Outcome(request, (), Decision(Action.BLOCK, "remote_images", (reason,)))
    if settings.action == "allow":
        inline = tuple(i for i in request.images if i.url is None)
        outcome = pipeline.run(
            replace(request, images=inline), fallback_ready=fallback_ready, deadline=deadline
        )
        note = "images given by link forwarded uninspected (remote_images: allow)"
        decision = outcome.decision
        return replace(outcome, decision=replace(decision, reasons=(*decision.reasons, note)))
    fetched = tuple(
        replace(i, data=fetch_image(i.url, settings)) if i.url is not None else i
        for i in request.images
    )
    fetched_request = replace(request, images=fetched)
    return pipeline.run(fetched_request, fallback_ready=fallback_ready, deadline=deadline)


def unless_unrewritable(outcome: Outcome, why: str | None, fallback_ready: bool) -> Outcome:
    """A redaction of a body that must not change (a signature covers it) becomes a reroute
    when the local model can answer, else a block; the reason says why."""
    decision = outcome.decision
    if why is None or decision.action is not Action.REDACT:
        return outcome
    action = Action.REROUTE if fallback_ready else Action.BLOCK
    reasons = (*decision.reasons, f"{why}, so redaction becomes {action.value}")
    changed = Decision(action, decision.rule_id, reasons, decision.targets)
    return replace(outcome, decision=changed, forward=None)
