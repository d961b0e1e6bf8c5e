"""Policy test cases: a YAML file of requests and the action a policy must take on each.

Each case runs through the same `Pipeline` as the proxy and `pixelgate scan`, offline, with
the real detectors. Cases state the policy's intent: they run with the local fallback
counted as ready, so a `reroute` rule is reported as `reroute` whether or not a model is
installed here (the proxy would answer `fallback.on_unavailable` without one). In
`mode: audit` the action is what enforce would have done, as the audit event records it.
A request the pipeline refuses (over a limit, say) gets `on_error`'s action, rule `on_error`.

A broken cases file is a `CasesError` naming the file, the line and the field, like a broken
policy; the messages name fields, never a prompt or a file's content.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from proxy.errors import PixelGateError, PolicyError
from proxy.model import Action, ImagePart, ImageRequest, TextPart
from proxy.policy import Policy
from proxy.policy.loader import _MESSAGES, _field, _line, _reject_duplicate_keys, _yaml_problem

NonEmpty = Annotated[str, Field(min_length=1)]


class CasesError(PolicyError):
    """A cases file is invalid. The message names the file, the line and the field."""


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class CaseFile(_File):
    name: NonEmpty
    prompt: str | None = None
    images: list[NonEmpty] = []
    fields: dict[NonEmpty, str] = {}
    expect: Action = Field(strict=False)
    rule: NonEmpty | None = None

    @model_validator(mode="after")
    def _sends_something(self) -> CaseFile:
        if self.prompt is None and not self.images and not self.fields:
            raise ValueError("a case needs a `prompt`, `images` or `fields`")
        return self


class CasesFile(_File):
    cases: Annotated[list[CaseFile], Field(min_length=1)]


@dataclass(frozen=True)
class Case:
    """One case, its images read (paths are relative to the cases file)."""

    name: str
    request: ImageRequest
    expect: Action
    rule: str | None


@dataclass(frozen=True)
class Result:
    """What the policy did with a case. `reasons` are the decision's content-free reasons."""

    case: Case
    got: Action
    rule: str
    reasons: tuple[str, ...]
    seconds: float

    @property
    def passed(self) -> bool:
        return self.got is self.case.expect and self.case.rule in (None, self.rule)


def load_cases(path: str | Path) -> tuple[Case, ...]:
    import yaml

    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        problem = getattr(e, "strerror", None) or "not UTF-8 text"
        raise CasesError(name, None, "", f"cannot read the cases file: {problem}") from None
    try:
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError:  # a control character: the reader has no marks
        raise CasesError(name, None, "", "invalid YAML: a character is not allowed") from None
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as e:
        raise CasesError(name, *_yaml_problem(e)) from None
    finally:
        loader.dispose()
    if root is None:
        raise CasesError(name, None, "", "the file is empty; it needs `cases:`, a list")
    try:
        _reject_duplicate_keys(root, (), name, set())
    except PolicyError as e:
        raise CasesError(name, e.line, e.field, e.message) from None
    try:
        spec = CasesFile.model_validate(data)
    except ValidationError as e:
        raise _cases_error(e, root, name) from None
    folder = Path(path).parent
    seen: set[str] = set()
    cases = []
    for i, case in enumerate(spec.cases):
        if case.name in seen:
            where = ("cases", i, "name")
            raise CasesError(name, _line(root, where), _field(where), "duplicate case name")
        seen.add(case.name)
        images = []
        for j, image in enumerate(case.images):
            try:
                data = (folder / image).read_bytes()
            except OSError as e:
                at = ("cases", i, "images", j)
                message = f"cannot read the image: {e.strerror or type(e).__name__}"
                raise CasesError(name, _line(root, at), _field(at), message) from None
            images.append(ImagePart(f"file:{j}", data, Path(image).name))
        prompts = (TextPart("prompt", case.prompt),) if case.prompt is not None else ()
        others = tuple(TextPart(f"field:{k}", v, role="other") for k, v in case.fields.items())
        request = ImageRequest("test", "test", prompts + others, tuple(images))
        cases.append(Case(case.name, request, case.expect, case.rule))
    return tuple(cases)


def _cases_error(error: ValidationError, root: Any, name: str) -> CasesError:
    problems = []
    for err in error.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if p != "[key]")
        on_key = err["type"] == "extra_forbidden"
        problems.append((_line(root, loc, on_key) or 0, _field(loc), _message(err, loc)))
    # On one line, a misspelt key explains the missing one: report it first.
    line, field, message = min(problems, key=lambda p: (p[0], "unknown key" not in p[2]))
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
    return CasesError(name, line or None, field, message)


def _message(err: Any, loc: Sequence[int | str]) -> str:
    kind = err["type"]
    if kind.endswith("_type") and err.get("input", ...) is None:
        return "is empty; give a value or remove the key"
    if kind == "extra_forbidden":
        allowed = list((CasesFile if len(loc) == 1 else CaseFile).model_fields)
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"expected one of {', '.join(allowed)}"
        return f"unknown key '{loc[-1]}'; {hint}"
    if kind == "enum":
        return "must be one of " + ", ".join(a.value for a in Action)
    if kind == "value_error":
        return str(err["ctx"]["error"])
    return _MESSAGES.get(kind, str(err["msg"]))


def run_cases(policy: Policy, cases: Sequence[Case]) -> list[Result]:
    """Every case through one pipeline with the policy's real detectors."""
    import time

    from proxy.detectors import build_detectors
    from proxy.pipeline import Pipeline

    pipeline = Pipeline(policy, build_detectors(policy))
    on_error = Action.ALLOW if policy.on_error == "allow" else Action.BLOCK
    results = []
    for case in cases:
        started = time.perf_counter()
        try:
            decision = pipeline.run(case.request, fallback_ready=True).decision
            got, rule, reasons = decision.action, decision.rule_id, decision.reasons
        except PixelGateError as e:  # as the proxy does: on_error decides
            got, rule, reasons = on_error, "on_error", (str(e),)
        results.append(Result(case, got, rule, reasons, time.perf_counter() - started))
    return results


def write_junit(results: Sequence[Result], suite: str, path: str | Path) -> None:
    """JUnit XML (one testsuite, a testcase per case, a failure element per failed case)."""
    from xml.etree import ElementTree as ET

    failed = [r for r in results if not r.passed]
    root = ET.Element(
        "testsuite",
        name=suite,
        tests=str(len(results)),
        failures=str(len(failed)),
        errors="0",
        skipped="0",
        time=f"{sum(r.seconds for r in results):.3f}",
    )
    for result in results:
        case = ET.SubElement(
            root, "testcase", classname=suite, name=result.case.name, time=f"{result.seconds:.3f}"
        )
        if not result.passed:
            failure = ET.SubElement(case, "failure", message=describe_failure(result))
            failure.text = "\n".join(result.reasons)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def describe_failure(result: Result) -> str:
    rule = f" (rule {result.case.rule})" if result.case.rule else ""
    expected = result.case.expect.value + rule
    return f"expected {expected}, got {result.got.value} (rule {result.rule})"
