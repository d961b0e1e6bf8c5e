"""Which model answers reroutes: a local diffusers folder (queued), a remote service, or none.

Loaded once at start-up (and again on a reload that changes the settings). When a configured
model cannot be used, reroute is degraded to `fallback.on_unavailable`: the proxy still serves,
so this is a warning, not an error (mitmproxy exits on any error logged during start-up), and
`/readyz` answers 503 with the reason that `unavailable_reason` keeps.
"""

from __future__ import annotations

import logging
import os
import threading

from proxy.engine.reroute import ImageModel
from proxy.model import Action
from proxy.policy import FallbackSettings, Policy

log = logging.getLogger("pixelgate")

# Why the last load of each settings gave no model; the loader's own words (local_fallback
# names the folder or URL the operator configured, never a library's message).
_unavailable: dict[FallbackSettings, str] = {}
_lock = threading.Lock()


def unavailable_reason(settings: FallbackSettings) -> str | None:
    """Why the model these settings name could not be loaded; None if it was, or never tried."""
    with _lock:
        return _unavailable.get(settings)


def load_fallback(policy: Policy) -> ImageModel | None:
    """The local model for reroute, loaded (and warmed) at start; None, said as a warning,
    when none is configured or it cannot be used: reroute then means fallback.on_unavailable."""
    fallback = policy.fallback
    if fallback.url:
        model = _load_remote(fallback)
    elif fallback.model:
        model = _load_local(fallback)
    else:
        if any(rule.action is Action.REROUTE for rule in policy.rules):
            log.warning(
                "PixelGate: no local fallback model (fallback.model); reroute is DEGRADED "
                "to fallback.on_unavailable: %s",
                fallback.on_unavailable,
            )
        return None
    if model is not None:
        with _lock:
            _unavailable.pop(fallback, None)
    return model


def _degraded(settings: FallbackSettings, reason: str) -> None:
    with _lock:
        _unavailable[settings] = reason
    # A warning: the proxy serves on, and mitmproxy would exit on an error during start-up.
    log.warning(
        "PixelGate: reroute is DEGRADED to fallback.on_unavailable: %s (%s); /readyz says "
        "not ready until a reload loads the model",
        settings.on_unavailable,
        reason,
    )


def _load_local(fallback: FallbackSettings) -> ImageModel | None:
    assert fallback.model is not None
    from local_fallback.generator import GenerationRequest
    from local_fallback.loading import load_generator
    from proxy.errors import FallbackUnavailable

    try:
        generator = load_generator(
            fallback.model, fallback.device, steps=fallback.steps, native_size=fallback.native_size
        )
    except FallbackUnavailable as e:
        _degraded(fallback, f"the local fallback cannot be used: {e}")
        return None
    try:
        # Warm-up: the first call pays for lazy initialisation; no client should wait for it.
        generator.generate(GenerationRequest("warm-up", width=64, height=64))
    except (FallbackUnavailable, ValueError) as e:
        # Both carry our own words: generate() translates library errors to their type.
        _degraded(fallback, f"the local fallback failed its warm-up: {e}")
        return None
    log.info("PixelGate local fallback: %s on %s, warmed up", generator.model, generator.device)
    from local_fallback.queue import GenerationQueue

    # Batching only pays where one call runs many images in parallel (a GPU); on a CPU it
    # would only add the wait for companions.
    batch = 1 if generator.device == "cpu" else fallback.max_batch
    return GenerationQueue(generator, max_pending=fallback.max_pending, max_batch=batch)


def _load_remote(fallback: FallbackSettings) -> ImageModel | None:
    assert fallback.url is not None
    from local_fallback.remote import load_remote
    from proxy.errors import FallbackUnavailable

    try:
        remote = load_remote(fallback.url, token=os.environ.get(fallback.token_env) or None)
    except FallbackUnavailable as e:
        _degraded(fallback, f"the remote fallback cannot be used: {e}")
        return None
    log.info("PixelGate remote fallback: %s (%s)", remote.model, remote.device)
    return remote
