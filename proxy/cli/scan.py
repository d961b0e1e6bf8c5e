"""`pixelgate scan`: inspect a prompt and/or images offline, as the proxy would."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from proxy.cli.common import POLICY_HELP, Commands, policy_or_exit

if TYPE_CHECKING:
    from proxy.engine.pipeline import Outcome, Pipeline


def add_commands(commands: Commands) -> None:
    scan = commands.add_parser(
        "scan", help="inspect a prompt and/or images offline; exit 0 allow, 1 otherwise"
    )
    scan.add_argument("--policy", help=POLICY_HELP)
    scan.add_argument("--image", action="append", default=[], metavar="FILE", help="an image")
    scan.add_argument(
        "--redact",
        metavar="OUT",
        help="with one --image: write it as PixelGate would forward it when redacting "
        "(faces pixelated, PII text and codes covered, metadata stripped)",
    )
    scan.add_argument(
        "--jsonl",
        metavar="FILE",
        help="scan many requests: one JSON object per line ({id, prompt, fields, images}), "
        "- for standard input; one JSON result per line on standard output",
    )
    scan.add_argument("text", nargs="?", help="prompt text, or - to read standard input")
    scan.set_defaults(handler=_command)


def _command(args: argparse.Namespace) -> int:
    if args.jsonl is not None:
        if args.text or args.image or args.redact:
            print("pixelgate scan: --jsonl takes no text, --image or --redact", file=sys.stderr)
            return 2
        return _scan_jsonl(args.policy, args.jsonl)
    if args.redact and len(args.image) != 1:
        print("pixelgate scan: --redact needs exactly one --image", file=sys.stderr)
        return 2
    return _scan(args.policy, args.image, args.text, args.redact)


def _scan(
    policy_path: str | None, images: Sequence[str], text: str | None, redact_to: str | None = None
) -> int:
    from proxy.detectors import build_detectors
    from proxy.engine.pipeline import Pipeline
    from proxy.errors import RequestRejected
    from proxy.model import Action, ImagePart, ImageRequest, TextPart
    from proxy.offline.batch import finding_json

    if text == "-":
        text = sys.stdin.read()
    if not text and not images:
        print(
            "pixelgate scan: give prompt text, - for standard input, or --image FILE",
            file=sys.stderr,
        )
        return 2
    policy = policy_or_exit(policy_path)
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
        "findings": [finding_json(f) for f in outcome.findings],
    }
    print(json.dumps(report, indent=2))
    return 0 if decision.action is Action.ALLOW else 1


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


def _scan_jsonl(policy_path: str | None, source: str) -> int:
    """Exit 0 when every line is allowed, 1 when any is not (or could not be scanned), 2 when
    the input cannot be read or the policy is broken."""
    from proxy.detectors import build_detectors
    from proxy.engine.pipeline import Pipeline
    from proxy.offline.batch import scan_lines

    policy = policy_or_exit(policy_path)
    pipeline = Pipeline(policy, build_detectors(policy))
    try:
        stream = sys.stdin if source == "-" else open(source, encoding="utf-8")  # noqa: SIM115
    except OSError as e:
        print(f"pixelgate scan: cannot read {source}: {e.strerror}", file=sys.stderr)
        return 2
    folder = Path.cwd() if source == "-" else Path(source).resolve().parent
    clean = True
    with stream:
        try:
            for result in scan_lines(pipeline, stream, folder):
                clean = clean and result["action"] == "allow"
                sys.stdout.write(json.dumps(result) + "\n")
        except UnicodeDecodeError:
            print("pixelgate scan: the input is not UTF-8 text", file=sys.stderr)
            return 2
    sys.stdout.flush()
    return 0 if clean else 1
