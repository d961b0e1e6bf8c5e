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

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from proxy.errors import PixelGateError, PolicyError
from proxy.model import Action, ImagePart, ImageRequest, TextPart
from proxy.policy import Policy, yamlfile

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
    """The cases in `path`, their images read; a CasesError if anything is wrong."""
    name = str(path)
    try:
        text = yamlfile.read_text(path, "cases file")
        root, data = yamlfile.compose(text, name, "the file is empty; it needs `cases:`, a list")
        spec = yamlfile.validate(CasesFile, root, data, name)
    except CasesError:
        raise
    except PolicyError as e:
        raise CasesError(e.path, e.line, e.field, e.message) from None
    folder = Path(path).parent
    seen: set[str] = set()
    cases = []
    for i, case in enumerate(spec.cases):
        if case.name in seen:
            where = ("cases", i, "name")
            line, field = yamlfile.line(root, where), yamlfile.field(where)
            raise CasesError(name, line, field, "duplicate case name")
        seen.add(case.name)
        images = []
        for j, image in enumerate(case.images):
            try:
                data = (folder / image).read_bytes()
            except OSError as e:
                at = ("cases", i, "images", j)
                message = f"cannot read the image: {e.strerror or type(e).__name__}"
                raise CasesError(
                    name, yamlfile.line(root, at), yamlfile.field(at), message
                ) from None
            images.append(ImagePart(f"file:{j}", data, Path(image).name))
        prompts = (TextPart("prompt", case.prompt),) if case.prompt is not None else ()
        others = tuple(TextPart(f"field:{k}", v, role="other") for k, v in case.fields.items())
        request = ImageRequest("test", "test", prompts + others, tuple(images))
        cases.append(Case(case.name, request, case.expect, case.rule))
    return tuple(cases)


def run_cases(policy: Policy, cases: Sequence[Case]) -> list[Result]:
    """Every case through one pipeline with the policy's real detectors."""
    import time

    from proxy.detectors import build_detectors
    from proxy.engine.pipeline import Pipeline

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
