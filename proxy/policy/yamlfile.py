"""Reading an operator's YAML file (policy, identities, test cases) with lines and fields.

PyYAML alone loses what an operator needs: it keeps the last of two duplicate keys without a
word, and its Python objects carry no line numbers. So a document is composed into nodes
first (lines, duplicate keys), then constructed and validated by a pydantic model, and every
validation error is mapped back to the node it came from. Every failure is a `PolicyError`
naming the file, the line and the field; messages never quote a value from the file.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Sequence
from pathlib import Path
from types import NoneType, UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from proxy.errors import PolicyError

Loc = Sequence[int | str]
M = TypeVar("M", bound=BaseModel)

MESSAGES = {
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


def read_text(path: str | os.PathLike[str], what: str) -> str:
    name = os.fspath(path)
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PolicyError(name, None, "", f"cannot read the {what}: not UTF-8 text") from None
    except OSError as e:
        raise PolicyError(name, None, "", f"cannot read the {what}: {e.strerror or e}") from None


def compose(text: str, name: str, empty: str) -> tuple[yaml.Node, Any]:
    """The document's root node and its plain data; `empty` is the message for no document.
    Duplicate keys anywhere are refused."""
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
        raise PolicyError(name, *yaml_problem(e)) from None
    finally:
        loader.dispose()
    if root is None:
        raise PolicyError(name, None, "", empty)
    reject_duplicate_keys(root, (), name, set())
    return root, data


def validate(model: type[M], root: yaml.Node, data: Any, name: str) -> M:
    """`data` as `model`, or a PolicyError at the line of the first problem."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise validation_error(e, root, name, model) from None


def yaml_problem(e: yaml.MarkedYAMLError) -> tuple[int | None, str, str]:
    mark = e.problem_mark or e.context_mark
    problem, context = e.problem or "", e.context or ""
    if context and e.context_mark and mark and e.context_mark.line != mark.line:
        context = f"{context} on line {e.context_mark.line + 1}"
    if problem.startswith("but ") and context:  # PyYAML splits "expected X, but found Y"
        message = f"{context}, {problem}"
    else:
        message = f"{problem} ({context})" if context else problem
    return (mark.line + 1 if mark else None), "", f"invalid YAML: {message}"


def reject_duplicate_keys(node: yaml.Node, loc: Loc, name: str, visited: set[int]) -> None:
    if id(node) in visited:  # aliases share nodes; an anchor may even contain itself
        return
    visited.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first_seen: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                line = key.start_mark.line + 1
                if key.value in first_seen:
                    where = field((*loc, key.value))
                    message = f"duplicate key (first given on line {first_seen[key.value]})"
                    raise PolicyError(name, line, where, message)
                first_seen[key.value] = line
                reject_duplicate_keys(value, (*loc, key.value), name, visited)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            reject_duplicate_keys(item, (*loc, i), name, visited)


def validation_error(
    error: ValidationError, root: yaml.Node, name: str, model: type[BaseModel]
) -> PolicyError:
    """The first problem (by line) of a validation error, with how many more there are. On one
    line, a misspelt key explains a missing one: it is reported first."""
    problems = []
    for err in error.errors(include_url=False):
        loc = tuple(err["loc"])
        on_key = loc[-1:] == ("[key]",) or err["type"] == "extra_forbidden"
        loc = tuple(p for p in loc if p != "[key]")
        problems.append((line(root, loc, on_key) or 0, field(loc), _message(err, loc, model)))
    at, where, message = min(problems, key=lambda p: (p[0], "unknown key" not in p[2]))
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
    return PolicyError(name, at or None, where, message)


def _message(err: Any, loc: Loc, model: type[BaseModel]) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind.endswith("_type") and err.get("input", ...) is None:
        return "is empty; give a value or remove the key"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"expected one of {', '.join(allowed)}"
        return f"unknown key '{loc[-1]}'; {hint}"
    if kind in ("enum", "literal_error"):
        return "must be one of " + re.sub(r"'|\bor\b", "", ctx["expected"]).replace("  ", ", ")
    if kind == "value_error":
        return str(ctx["error"])
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']}"
    return MESSAGES.get(kind, str(err["msg"]))


def _allowed_keys(model: type[BaseModel], loc: Loc) -> list[str]:
    """The keys the file format allows in the mapping at `loc`, for "did you mean"."""
    kind: Any = model
    for part in loc:
        kind = _unwrap(kind)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            kind = kind.model_fields[str(part)].annotation
        elif get_origin(kind) in (list, dict, tuple):
            kind = get_args(kind)[-1]
    kind = _unwrap(kind)
    return list(kind.model_fields) if isinstance(kind, type) and issubclass(kind, BaseModel) else []


def _unwrap(kind: Any) -> Any:
    while get_origin(kind) in (Annotated, Union, UnionType):
        kind = next(a for a in get_args(kind) if a is not NoneType)
    return kind


def line(root: yaml.Node, loc: Loc, on_key: bool = False) -> int | None:
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


def field(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out
