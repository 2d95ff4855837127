"""The project's import graph, read from the source: every import, lazy and ``TYPE_CHECKING`` ones too."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("delivery", "mock_webhook", "harness", "loadtests")


def module_files(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def _imported_names(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph(files: Mapping[str, Path]) -> dict[str, set[str]]:
    """module -> the project modules it imports (``from a import b`` counts ``a.b`` when that is a module)."""
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets = set(_imported_names(tree, name, path.name == "__init__.py"))
        graph[name] = {t for t in targets if t in files and t != name}
    return graph


def external_imports(files: Mapping[str, Path]) -> dict[str, set[str]]:
    """module -> top-level names of the non-project modules it imports."""
    out: dict[str, set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        names = _imported_names(tree, name, path.name == "__init__.py")
        out[name] = {n.split(".")[0] for n in names if n and n.split(".")[0] not in PACKAGES}
    return out


def _reachable(graph: Mapping[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph.get(start, ()))
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(graph.get(name, ()))
    return seen


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Each group of modules that import one another, directly or through others."""
    reach = {name: _reachable(graph, name) for name in graph}
    groups = {tuple(sorted({n, *(m for m in reach[n] if n in reach[m])})) for n in graph if n in reach[n]}
    return sorted(list(g) for g in groups)


def closure(graph: Mapping[str, set[str]], start: str) -> set[str]:
    """``start`` and every project module it reaches, parents' ``__init__`` included (Python runs them)."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen or name not in graph:
            continue
        seen.add(name)
        parts = name.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        todo.extend(graph[name])
    return seen
