"""`pixelgate fallback check|serve`: the local image model that answers reroutes."""

from __future__ import annotations

import sys
from typing import Any

from proxy.cli.common import POLICY_HELP, Commands, policy_or_exit


def add_commands(commands: Commands) -> None:
    fallback = commands.add_parser("fallback", help="the local image model for reroute")
    fallback_commands = fallback.add_subparsers(dest="fallback_command", required=True)
    check = fallback_commands.add_parser(
        "check", help="load the policy's fallback.model, report the device and one image's time"
    )
    check.add_argument("--policy", help=POLICY_HELP)
    check.set_defaults(handler=lambda args: _fallback_check(args.policy))
    serve = fallback_commands.add_parser(
        "serve",
        help="run the policy's fallback.model as an OpenAI-compatible image service for proxies "
        "(bearer token from the variable named by fallback.token_env)",
    )
    serve.add_argument("--policy", help=POLICY_HELP)
    serve.add_argument("--host", default="127.0.0.1", help="address (default loopback)")
    serve.add_argument("--port", type=int, default=8600, help="port (default 8600)")
    serve.set_defaults(handler=lambda args: _fallback_serve(args.policy, args.host, args.port))


def _fallback_serve(policy_path: str | None, host: str, port: int) -> int:
    import logging
    import os

    from local_fallback.server import serve
    from proxy.engine.fallback import load_fallback

    settings = (policy := policy_or_exit(policy_path)).fallback
    if not settings.model:
        print("pixelgate fallback serve: the policy names no fallback.model", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    model = load_fallback(policy)  # loaded, warmed up and queued, as the proxy does
    if model is None:
        return 1
    print(f"serving {model.model} on {model.device} at http://{host}:{port}/v1", flush=True)
    serve(model, host, port, token=os.environ.get(settings.token_env) or None)
    return 0


def _fallback_check(policy_path: str | None) -> int:
    """Exit 0 when the model loads and makes an image, 1 when it cannot, 2 on a bad policy."""
    import time

    settings = policy_or_exit(policy_path).fallback
    if not settings.model and not settings.url:
        print(f"fallback: none configured (fallback.model); reroute -> {settings.on_unavailable}")
        return 1
    import os

    from local_fallback.generator import GenerationRequest
    from local_fallback.loading import load_generator
    from local_fallback.remote import load_remote
    from proxy.errors import FallbackUnavailable

    try:
        started = time.perf_counter()
        generator: Any = (
            load_remote(settings.url, token=os.environ.get(settings.token_env) or None)
            if settings.url
            else load_generator(
                settings.model or "",
                settings.device,
                steps=settings.steps,
                native_size=settings.native_size,
            )
        )
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        generator.generate(GenerationRequest("a lighthouse at dawn", width=1024, height=1024))
        took = time.perf_counter() - started
    except FallbackUnavailable as e:
        print(f"fallback: UNAVAILABLE: {e}; reroute -> {settings.on_unavailable}")
        return 1
    print(
        f"fallback: OK: {generator.model} on {generator.device} ({generator.dtype}), "
        f"loaded in {loaded:.1f} s, one 1024x1024 image in {took:.2f} s"
    )
    return 0
