"""Read a policy file into a `Policy`, or fail with the file, the line and the field.

PyYAML alone loses what an operator needs: it keeps the last of two duplicate keys without a
word, and its Python objects carry no line numbers. So the document is composed into nodes
first (lines, duplicate keys), then constructed and validated, and every validation error is
mapped back to the node it came from.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType, NoneType, UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

import proxy
from proxy.errors import PolicyError
from proxy.model import Action, Source
from proxy.policy.fileformat import PolicyFile, RemoteImagesFile
from proxy.policy.schema import (
    AuditSettings,
    CustomRecognizer,
    DetectionSettings,
    FallbackSettings,
    Limits,
    Pattern,
    Policy,
    Redaction,
    RemoteImageSettings,
    Rule,
)

Loc = Sequence[int | str]

_MESSAGES = {
    "missing": "required",
    "string_type": "must be a string",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "too_short": "must not be empty",
    "string_too_short": "must not be empty",
}


def load_policy(path: str | os.PathLike[str]) -> Policy:
    name = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PolicyError(name, None, "", "cannot read the policy: not UTF-8 text") from None
    except OSError as e:
        raise PolicyError(name, None, "", f"cannot read the policy: {e.strerror or e}") from None
    return load_policy_text(text, name)


def load_policy_text(text: str, name: str = "<policy>") -> Policy:
    root, data = _parse(text, name)
    _reject_duplicate_keys(root, (), name, set())
    try:
        spec = PolicyFile.model_validate(data)
    except ValidationError as e:
        raise _policy_error(e, root, name) from None
    seen: set[str] = set()
    for i, rule in enumerate(spec.rules):
        if rule.id in seen:
            loc = ("rules", i, "id")
            raise PolicyError(name, _line(root, loc), _field(loc), "duplicate rule id")
        seen.add(rule.id)
    return _to_policy(spec, name)


def placeholder_for(policy: Policy, entity: str) -> str:
    """The text that replaces a redacted `entity`: its own template, else the default one."""
    return policy.redaction.placeholder(entity)


def _bundled_dir() -> Path | None:
    # An installed wheel carries the policies inside the package (hatch force-include);
    # a source checkout or editable install has them beside it.
    package = Path(proxy.__file__).parent
    for folder in (package / "policies", package.parent / "policies"):
        if folder.is_dir():
            return folder
    return None


def bundled_policy_names() -> tuple[str, ...]:
    folder = _bundled_dir()
    return tuple(sorted(p.stem for p in folder.glob("*.yaml"))) if folder else ()


def bundled_policy_path(name: str = "default") -> Path:
    folder = _bundled_dir()
    path = folder / f"{name}.yaml" if folder else None
    if path is None or name not in bundled_policy_names() or not path.is_file():
        known = ", ".join(bundled_policy_names()) or "none installed"
        raise PolicyError(name, None, "", f"no bundled policy of that name ({known})")
    return path


def _parse(text: str, name: str) -> tuple[yaml.Node, Any]:
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as e:  # a control character: the reader has no marks
        line = text.count("\n", 0, e.position) + 1
        raise PolicyError(
            name, line, "", f"invalid YAML: character #x{e.character:04x} is not allowed"
        ) from None
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as e:
        raise PolicyError(name, *_yaml_problem(e)) from None
    finally:
        loader.dispose()
    if root is None:
        raise PolicyError(name, None, "", "the policy is empty; it needs at least `version: 1`")
    if not isinstance(root, yaml.MappingNode):
        raise PolicyError(
            name, root.start_mark.line + 1, "", "the policy must be a mapping (version: 1, ...)"
        )
    return root, data


def _yaml_problem(e: yaml.MarkedYAMLError) -> tuple[int | None, str, str]:
    mark = e.problem_mark or e.context_mark
    problem, context = e.problem or "", e.context or ""
    if context and e.context_mark and mark and e.context_mark.line != mark.line:
        context = f"{context} on line {e.context_mark.line + 1}"
    if problem.startswith("but ") and context:  # PyYAML splits "expected X, but found Y"
        message = f"{context}, {problem}"
    else:
        message = f"{problem} ({context})" if context else problem
    return (mark.line + 1 if mark else None), "", f"invalid YAML: {message}"


def _reject_duplicate_keys(node: yaml.Node, loc: Loc, name: str, visited: set[int]) -> None:
    if id(node) in visited:  # aliases share nodes; an anchor may even contain itself
        return
    visited.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first_seen: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                line = key.start_mark.line + 1
                if key.value in first_seen:
                    field = _field((*loc, key.value))
                    message = f"duplicate key (first given on line {first_seen[key.value]})"
                    raise PolicyError(name, line, field, message)
                first_seen[key.value] = line
                _reject_duplicate_keys(value, (*loc, key.value), name, visited)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _reject_duplicate_keys(item, (*loc, i), name, visited)


def _policy_error(error: ValidationError, root: yaml.Node, name: str) -> PolicyError:
    problems = []
    for err in error.errors(include_url=False):
        loc = tuple(err["loc"])
        on_key = loc[-1:] == ("[key]",) or err["type"] == "extra_forbidden"
        loc = tuple(p for p in loc if p != "[key]")
        problems.append((_line(root, loc, on_key) or 0, _field(loc), _message(err, loc)))
    line, field, message = min(problems, key=lambda p: p[0])
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
    return PolicyError(name, line or None, field, message)


def _message(err: Any, loc: Loc) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind.endswith("_type") and err.get("input", ...) is None:
        return "is empty; give a value or remove the key"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"expected one of {', '.join(allowed)}"
        return f"unknown key '{loc[-1]}'; {hint}"
    if kind in ("enum", "literal_error"):
        return "must be one of " + re.sub(r"'|\bor\b", "", ctx["expected"]).replace("  ", ", ")
    if kind == "value_error":
        return str(ctx["error"])
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']}"
    return _MESSAGES.get(kind, str(err["msg"]))


def _allowed_keys(loc: Loc) -> list[str]:
    """The keys the file format allows in the mapping at `loc`, for "did you mean"."""
    kind: Any = PolicyFile
    for part in loc:
        kind = _unwrap(kind)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            kind = kind.model_fields[str(part)].annotation
        elif get_origin(kind) in (list, dict):
            kind = get_args(kind)[-1]
    kind = _unwrap(kind)
    return list(kind.model_fields) if isinstance(kind, type) and issubclass(kind, BaseModel) else []


def _unwrap(kind: Any) -> Any:
    while get_origin(kind) in (Annotated, Union, UnionType):
        kind = next(a for a in get_args(kind) if a is not NoneType)
    return kind


def _line(root: yaml.Node, loc: Loc, on_key: bool = False) -> int | None:
    """1-based line of the node at `loc`, or of the deepest mapping or list that exists."""
    node = root
    for i, part in enumerate(loc):
        if isinstance(node, yaml.MappingNode):
            pair = next((kv for kv in node.value if kv[0].value == str(part)), None)
            if pair is None:
                break
            node = pair[0] if on_key and i == len(loc) - 1 else pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
        else:
            break
    return int(node.start_mark.line) + 1


def _field(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out


def _to_policy(spec: PolicyFile, source: str) -> Policy:
    templates = {k: v for k, v in spec.redaction.items() if k != "default"}
    return Policy(
        source=source,
        version=spec.version,
        mode=spec.mode,
        on_error=spec.on_error,
        default_action=spec.default_action,
        providers=MappingProxyType({k: tuple(p.hosts) for k, p in spec.providers.items()}),
        recognizers=tuple(
            CustomRecognizer(
                entity=r.entity,
                patterns=tuple(
                    Pattern(p.name or f"{r.entity} pattern {j + 1}", p.regex, p.score)
                    for j, p in enumerate(r.patterns)
                ),
                deny_list=tuple(r.deny_list),
                deny_list_score=r.score,
                context=tuple(r.context),
            )
            for r in spec.recognizers
        ),
        rules=tuple(
            Rule(
                r.id,
                tuple(dict.fromkeys(r.entities)),
                r.action,
                r.min_score,
                frozenset(r.sources) if r.sources is not None else frozenset(Source),
            )
            for r in spec.rules
        ),
        redaction=Redaction(
            MappingProxyType(templates), spec.redaction.get("default", Redaction.default)
        ),
        audit=AuditSettings(spec.audit.path, spec.audit.fingerprint_key_env),
        fallback=FallbackSettings(
            spec.fallback.model,
            Action(spec.fallback.on_unavailable),
            spec.fallback.steps,
            spec.fallback.native_size,
            spec.fallback.device,
            spec.fallback.url,
            spec.fallback.token_env,
            spec.fallback.max_pending,
            spec.fallback.max_batch,
        ),
        limits=Limits(**spec.limits.model_dump()),
        remote_images=_remote_images(spec.remote_images),
        detection=DetectionSettings(**spec.detection.model_dump()),
    )


def _remote_images(spec: RemoteImagesFile | str) -> RemoteImageSettings:
    if isinstance(spec, str):
        return RemoteImageSettings(action=spec)
    return RemoteImageSettings(
        spec.action, spec.max_bytes, float(spec.timeout_s), tuple(spec.allow_hosts)
    )
