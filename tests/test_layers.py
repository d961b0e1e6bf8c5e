"""The shape of the house: the import graph of `proxy` has no circles, and each layer imports
only the layers below it (proxy/README layout: model and errors at the bottom; policy,
providers, images, identity and detectors; the engine, which knows nothing of mitmproxy; the
mitmproxy glue; offline tools; commands). Every import counts, a deferred one inside a
function as much as one at the top of a module; for circles, those made for annotations only
(`if TYPE_CHECKING:`) do not."""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "proxy"

# Bottom to top: a module may import its own layer and those before it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("proxy", "proxy.model", "proxy.errors", "proxy.cache"),
    ("proxy.policy", "proxy.providers", "proxy.images", "proxy.identity", "proxy.detectors"),
    ("proxy.engine",),
    ("proxy.mitm",),
    ("proxy.offline",),
    ("proxy.cli", "proxy.__main__"),
)
# Where mitmproxy may be imported.
MITMPROXY_USERS = ("proxy.mitm", "proxy.offline", "proxy.cli")


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _nodes(tree: ast.AST, typing: bool) -> Iterator[ast.AST]:
    """Every node of `tree`; without `typing`, none under `if TYPE_CHECKING:`."""
    for node in ast.iter_child_nodes(tree):
        test = node.test if isinstance(node, ast.If) else None
        if not typing and test is not None and "TYPE_CHECKING" in ast.unparse(test):
            yield from (n for child in node.orelse for n in (child, *_nodes(child, typing)))
            continue
        yield node
        yield from _nodes(node, typing)


@functools.cache
def _parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


def _imports(name: str, path: Path, typing: bool = True) -> Iterator[str]:
    """Every module `name` imports, anywhere in it; with `typing`, also those imported for
    annotations only (under `if TYPE_CHECKING:`)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in _nodes(_parsed(path), typing):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


@functools.cache
def _graph(typing: bool = True) -> dict[str, set[str]]:
    return {
        name: {m for m in _imports(name, path, typing) if m in MODULES and m != name}
        for name, path in MODULES.items()
    }


def _layer(name: str) -> int:
    best, rank = -1, 0
    for index, members in enumerate(LAYERS):
        for member in members:
            if (name == member or name.startswith(member + ".")) and len(member) >= best:
                best, rank = len(member), index
    return rank


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_package_is_found() -> None:
    assert {"proxy.engine.gate", "proxy.mitm.addon", "proxy.cli.main"} <= set(MODULES)


def test_no_import_circles() -> None:
    # Imports for annotations only run under a type checker, which reads circles fine; and a
    # package's own __init__ importing its modules is no circle of meaning. Nothing else is.
    graph = {
        name: {m for m in deps if not (MODULES[name].name == "__init__.py" and m.startswith(name))}
        for name, deps in _graph(typing=False).items()
    }
    assert _cycles(graph) == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_each_module_imports_only_its_layer_and_below(name: str) -> None:
    above = sorted(m for m in _graph()[name] if _layer(m) > _layer(name))
    assert above == [], f"{name} (layer {_layer(name)}) imports from above: {above}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_mitmproxy_is_imported_only_by_the_glue_and_the_tools_on_top(name: str) -> None:
    uses = any(m.split(".")[0] == "mitmproxy" for m in _imports(name, MODULES[name]))
    assert not uses or name.startswith(MITMPROXY_USERS), f"{name} imports mitmproxy"
