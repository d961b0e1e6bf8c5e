"""Which model answers reroutes: a local diffusers folder (queued), a remote service, or none.

Loaded once at start-up; when none can be used, start-up says loudly that reroute is
degraded to `fallback.on_unavailable`, and the proxy runs on.
"""

from __future__ import annotations

import logging
import os

from proxy.model import Action
from proxy.policy import Policy
from proxy.reroute import ImageModel

log = logging.getLogger("pixelgate")


def load_fallback(policy: Policy) -> ImageModel | None:
    """The local model for reroute, loaded (and warmed) at start; None, said loudly, when
    none is configured or it cannot be used: reroute then means fallback.on_unavailable."""
    fallback = policy.fallback
    if fallback.url:
        return _load_remote(fallback.url, fallback.token_env, fallback.on_unavailable)
    if not fallback.model:
        if any(rule.action is Action.REROUTE for rule in policy.rules):
            log.warning(
                "PixelGate: no local fallback model (fallback.model); reroute is DEGRADED "
                "to fallback.on_unavailable: %s",
                fallback.on_unavailable,
            )
        return None
    from local_fallback.generator import FallbackUnavailable, GenerationRequest
    from local_fallback.loading import load_generator

    try:
        generator = load_generator(
            fallback.model, fallback.device, steps=fallback.steps, native_size=fallback.native_size
        )
    except FallbackUnavailable as e:
        log.error(
            "PixelGate: the local fallback cannot be used (%s); reroute is DEGRADED to "
            "fallback.on_unavailable: %s",
            e,
            fallback.on_unavailable,
        )
        return None
    try:
        # Warm-up: the first call pays for lazy initialisation; no client should wait for it.
        generator.generate(GenerationRequest("warm-up", width=64, height=64))
    except (FallbackUnavailable, ValueError) as e:
        log.error("PixelGate: the local fallback failed its warm-up (%s); reroute is DEGRADED", e)
        return None
    log.info("PixelGate local fallback: %s on %s, warmed up", generator.model, generator.device)
    from local_fallback.queue import GenerationQueue

    # Batching only pays where one call runs many images in parallel (a GPU); on a CPU it
    # would only add the wait for companions.
    batch = 1 if generator.device == "cpu" else fallback.max_batch
    return GenerationQueue(generator, max_pending=fallback.max_pending, max_batch=batch)


def _load_remote(url: str, token_env: str, on_unavailable: Action) -> ImageModel | None:
    from local_fallback.generator import FallbackUnavailable
    from local_fallback.remote import load_remote

    try:
        remote = load_remote(url, token=os.environ.get(token_env) or None)
    except FallbackUnavailable as e:
        log.error(
            "PixelGate: the remote fallback cannot be used (%s); reroute is DEGRADED to "
            "fallback.on_unavailable: %s",
            e,
            on_unavailable,
        )
        return None
    log.info("PixelGate remote fallback: %s (%s)", remote.model, remote.device)
    return remote
