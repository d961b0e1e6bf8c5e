"""Scanning many requests at once, for compliance teams and quality measurements:
`pixelgate scan --jsonl FILE` (or `-` for standard input).

Each input line is one JSON object, a request as a client would send it:

    {"id": "any JSON value, echoed", "prompt": "...", "fields": {"negative_prompt": "..."},
     "images": ["photo.jpg"]}

All keys are optional, but a line must send something (`prompt`, `fields` or `images`).
Image paths are relative to the input file's folder (the working directory for stdin).
Each output line is one JSON object, in input order, with these keys (a stable interface:
keys may be added, never renamed or removed):

    line      the input line's number (1-based)
    id        the input's `id`, or null
    action    allow | redact | block | reroute, or null when the line could not be scanned
    rule      the rule that decided, or null
    reasons   the decision's reasons (names of entities and rules, never content)
    findings  [{entity, source, start, end | image, box, score, public}], `public: true`
              only on a name of a well-known public figure or artist
    error     null, or why the line could not be scanned (never its content)

The detectors are built once; a line costs what one request costs in the proxy.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from proxy.engine.pipeline import Outcome, Pipeline
from proxy.errors import RequestRejected
from proxy.model import Finding, ImagePart, ImageRequest, Source, TextPart

MAX_LINE_CHARS = 4 * 1024 * 1024


class LineError(Exception):
    """A line that is not a request: its message names the problem, never the content."""


def finding_json(finding: Finding) -> dict[str, object]:
    where: dict[str, object] = (
        {"start": finding.start, "end": finding.end}
        if finding.source is Source.PROMPT
        else {"image": finding.part, "box": list(finding.box) if finding.box else None}
    )
    public = {"public": True} if finding.public else {}
    return {"entity": finding.entity, "source": finding.source.value, **where,
            "score": round(finding.score, 3), **public}  # fmt: skip


def request_of(line: str, folder: Path) -> tuple[Any, ImageRequest]:
    """(id, request) for one input line; raises LineError."""
    if len(line) > MAX_LINE_CHARS:
        raise LineError(f"line longer than {MAX_LINE_CHARS} characters")
    try:
        item = json.loads(line)
    except ValueError:
        raise LineError("not a JSON object") from None
    if not isinstance(item, dict):
        raise LineError("not a JSON object")
    prompt, fields, images = item.get("prompt"), item.get("fields", {}), item.get("images", [])
    if prompt is not None and not isinstance(prompt, str):
        raise LineError("`prompt` must be a string")
    if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
        raise LineError("`fields` must map names to strings")
    if not isinstance(images, list) or not all(isinstance(i, str) for i in images):
        raise LineError("`images` must be a list of paths")
    if prompt is None and not fields and not images:
        raise LineError("the line sends nothing: give `prompt`, `fields` or `images`")
    texts = [TextPart("prompt", prompt)] if prompt is not None else []
    texts += [TextPart(f"field:{k}", v, role="other") for k, v in fields.items()]
    parts = []
    for index, name in enumerate(images):
        try:
            data = (folder / name).read_bytes()
        except OSError as e:
            raise LineError(f"cannot read image {index + 1}: {e.strerror}") from None
        parts.append(ImagePart(f"file:{index}", data, Path(name).name))
    return item.get("id"), ImageRequest("scan", "scan", tuple(texts), tuple(parts))


def result_json(
    number: int, ident: Any, outcome: Outcome | None, error: str | None
) -> dict[str, object]:
    decision = outcome.decision if outcome is not None else None
    result: dict[str, object] = {
        "line": number,
        "id": ident,
        "action": decision.action.value if decision else None,
        "rule": decision.rule_id if decision else None,
        "reasons": list(decision.reasons) if decision else [],
        "findings": [finding_json(f) for f in outcome.findings] if outcome else [],
    }
    result["error"] = error
    return result


def scan_lines(
    pipeline: Pipeline, lines: Iterable[str], folder: Path
) -> Iterator[dict[str, object]]:
    """One result per non-blank input line, in order."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        ident: Any = None
        try:
            ident, request = request_of(line, folder)
            outcome = pipeline.run(request)
        except (LineError, RequestRejected) as e:
            yield result_json(number, ident, None, str(e))
            continue
        yield result_json(number, ident, outcome, None)
