"""The `pixelgate` command: run the proxy, scan offline, check policies."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from proxy import __version__

if TYPE_CHECKING:
    from proxy.model import Finding
    from proxy.pipeline import Outcome, Pipeline
    from proxy.policy import Policy


# Commands that live in their own modules. Each module has
# `add_commands(commands, policy_commands)`, which adds its parsers (to the top level or under
# `pixelgate policy`) with `set_defaults(handler=FUNCTION)`; FUNCTION(args) returns the exit
# code. Heavy imports stay inside the handlers, so `pixelgate --help` stays instant.
COMMAND_MODULES: tuple[str, ...] = (
    "proxy.ca_cli",
    "proxy.report_cli",
    "proxy.policy_cases_cli",
    "proxy.identity_cli",
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pixelgate", description="Privacy-auditing proxy for cloud AI image APIs."
    )
    parser.add_argument("--version", action="version", version=f"pixelgate {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="start the proxy")
    run.add_argument("--policy", help="policy YAML (default: the bundled default policy)")
    run.add_argument(
        "--identities",
        help="identities YAML: the policy for each user, group or client network "
        "(default: the policy applies to everyone)",
    )
    run.add_argument("--listen-host", default="127.0.0.1", help="address to listen on")
    run.add_argument("--listen-port", type=int, default=8080, help="port (default 8080)")
    run.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a mitmproxy option, e.g. confdir=~/.pixelgate, ssl_insecure=true (repeatable)",
    )

    scan = commands.add_parser(
        "scan", help="inspect a prompt and/or images offline; exit 0 allow, 1 otherwise"
    )
    scan.add_argument("--policy", help="policy YAML (default: the bundled default policy)")
    scan.add_argument("--image", action="append", default=[], metavar="FILE", help="an image")
    scan.add_argument(
        "--redact",
        metavar="OUT",
        help="with one --image: write it as PixelGate would forward it when redacting "
        "(faces pixelated, PII text and codes covered, metadata stripped)",
    )
    scan.add_argument("text", nargs="?", help="prompt text, or - to read standard input")

    fallback = commands.add_parser("fallback", help="the local image model for reroute")
    fallback_commands = fallback.add_subparsers(dest="fallback_command", required=True)
    fcheck = fallback_commands.add_parser(
        "check", help="load the policy's fallback.model, report the device and one image's time"
    )
    fcheck.add_argument("--policy", help="policy YAML (default: the bundled default policy)")
    fserve = fallback_commands.add_parser(
        "serve",
        help="run the policy's fallback.model as an OpenAI-compatible image service for proxies "
        "(bearer token from the variable named by fallback.token_env)",
    )
    fserve.add_argument("--policy", help="policy YAML (default: the bundled default policy)")
    fserve.add_argument("--host", default="127.0.0.1", help="address (default loopback)")
    fserve.add_argument("--port", type=int, default=8600, help="port (default 8600)")

    policy = commands.add_parser("policy", help="policy tools")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True)
    check = policy_commands.add_parser("check", help="validate a policy file")
    check.add_argument("file")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(commands, policy_commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from proxy import logsafe

    logsafe.install()  # libraries' records may quote request content; see proxy/logsafe.py
    args = _parser().parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is not None:  # a command from COMMAND_MODULES
        return int(handler(args))
    if args.command == "run":
        from proxy.runner import run_proxy

        settings = list(args.settings)
        if args.identities:
            settings.append(f"pixelgate_identities={args.identities}")
        return run_proxy(args.policy, args.listen_host, args.listen_port, settings)
    if args.command == "scan":
        if args.redact and len(args.image) != 1:
            print("pixelgate scan: --redact needs exactly one --image", file=sys.stderr)
            return 2
        return _scan(args.policy, args.image, args.text, args.redact)
    if args.command == "fallback":
        if args.fallback_command == "serve":
            return _fallback_serve(args.policy, args.host, args.port)
        return _fallback_check(args.policy)
    return _policy_check(args.file)


def _policy_or_exit(path: str | None) -> Policy:
    from proxy.errors import PolicyError

    try:
        return _load(path)
    except PolicyError as e:
        print(f"pixelgate: {e}", file=sys.stderr)
        raise SystemExit(2) from None


def _fallback_serve(policy_path: str | None, host: str, port: int) -> int:
    import logging
    import os

    from local_fallback.server import serve
    from proxy.fallback import load_fallback

    settings = (policy := _policy_or_exit(policy_path)).fallback
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

    settings = _policy_or_exit(policy_path).fallback
    if not settings.model and not settings.url:
        print(f"fallback: none configured (fallback.model); reroute -> {settings.on_unavailable}")
        return 1
    import os

    from local_fallback.generator import FallbackUnavailable, GenerationRequest
    from local_fallback.loading import load_generator
    from local_fallback.remote import load_remote

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


def _load(path: str | None) -> Policy:
    from proxy.policy import bundled_policy_path, load_policy

    return load_policy(path or str(bundled_policy_path("default")))


def _policy_check(path: str) -> int:
    from proxy.providers import ADAPTERS
    from proxy.providers.routing import Router

    policy = _policy_or_exit(path)
    try:
        Router(ADAPTERS, policy.providers)
    except ValueError as e:
        print(f"pixelgate: {e}", file=sys.stderr)
        return 2
    print(
        f"{path}: OK (mode {policy.mode}, on_error {policy.on_error}, "
        f"{len(policy.rules)} rules, {len(policy.recognizers)} recognizers)"
    )
    return 0


def _scan(
    policy_path: str | None, images: Sequence[str], text: str | None, redact_to: str | None = None
) -> int:
    from proxy.detectors import build_detectors
    from proxy.errors import RequestRejected
    from proxy.model import Action, ImagePart, ImageRequest, TextPart
    from proxy.pipeline import Pipeline

    if text == "-":
        text = sys.stdin.read()
    if not text and not images:
        print(
            "pixelgate scan: give prompt text, - for standard input, or --image FILE",
            file=sys.stderr,
        )
        return 2
    policy = _policy_or_exit(policy_path)
    try:
        parts = tuple(
            ImagePart(f"file:{i}", Path(name).read_bytes(), Path(name).name)
            for i, name in enumerate(images)
        )
    except OSError as e:
        print(f"pixelgate scan: cannot read image: {e.strerror}", file=sys.stderr)
        return 2
    request = ImageRequest("scan", "scan", (TextPart("text", text),) if text else (), parts)
    try:
        pipeline = Pipeline(policy, build_detectors(policy))
        outcome = pipeline.run(request)
        if redact_to:
            Path(redact_to).write_bytes(_redacted(pipeline, outcome))
    except RequestRejected as e:
        print(f"pixelgate scan: {e}", file=sys.stderr)
        return 2
    decision = outcome.decision
    report = {
        "decision": {
            "action": decision.action.value,
            "rule": decision.rule_id,
            "reasons": list(decision.reasons),
        },
        "findings": [_finding_json(f) for f in outcome.findings],
    }
    print(json.dumps(report, indent=2))
    return 0 if decision.action is Action.ALLOW else 1


def _finding_json(finding: Finding) -> dict[str, object]:
    from proxy.model import Source

    where: dict[str, object] = (
        {"start": finding.start, "end": finding.end}
        if finding.source is Source.PROMPT
        else {"image": finding.part, "box": list(finding.box) if finding.box else None}
    )
    return {"entity": finding.entity, "source": finding.source.value, **where,
            "score": round(finding.score, 3)}  # fmt: skip


def _redacted(pipeline: Pipeline, outcome: Outcome) -> bytes:
    """The image as redaction would forward it, whatever the decision: every image finding
    that an acting rule matches is covered, and metadata is stripped."""
    from proxy.images.redact import redact_image
    from proxy.model import Action, Source

    part = outcome.request.images[0]
    if outcome.decision.action is Action.REDACT and outcome.forward is not None:
        return outcome.forward.images[0].data
    acting = [r for r in pipeline.policy.rules if r.action is not Action.ALLOW]
    covered = [
        f for f in outcome.findings
        if f.source is not Source.PROMPT and any(r.matches(f) for r in acting)
    ]  # fmt: skip
    decoded = pipeline.decode_image(part, 0)
    return redact_image(part.data, decoded, covered)


if __name__ == "__main__":
    sys.exit(main())
