"""The product's modules keep their shape: no import cycle among them, none over 700 lines.

Every ``import`` statement of a module counts, wherever it stands: one deferred into a function
still ties the two modules together (it only hides the cycle until that function runs). An edge
goes to the module imported, or to the package when a name of its ``__init__`` is imported
(``from contest.admin import bp``); importing a submodule does not count as importing its parent
packages.

One kind of edge is left out: a module importing its own parent package when that package is
where Flask's app factory or a blueprint lives (``contest`` with ``create_app``,
``contest.admin`` with its ``bp``). The package imports those modules so that their commands and
routes exist before the factory registers them, and they import the package for the factory or
the blueprint: that is how the app is put together, not a tangle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("contest", "question_bank", "workers")
MAX_LINES = 700


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    path: Path  # the source's file
    line: int


def modules(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, Path]:
    """Dotted module name → file, for every module of ``packages`` under ``root``."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _known(name: str, known: Mapping[str, Path]) -> str | None:
    """``name`` or its nearest enclosing module that is one of ours (None: not ours)."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def imports(name: str, path: Path, known: Mapping[str, Path]) -> list[Edge]:
    """The modules of ours that ``name`` imports, one edge per imported module and statement."""
    is_package = path.name == "__init__.py"
    edges: list[Edge] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = name.split(".") if is_package else name.split(".")[:-1]
                here = here[: len(here) - (node.level - 1)]
                base = ".".join([*here, base] if base else here)
            # A name that is a submodule imports that module; any other is the package's own.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        for target in targets:
            module = _known(target, known)
            if module is not None and module != name:
                edges.append(Edge(name, module, path, node.lineno))
    return edges


def _is_flask_package(path: Path) -> bool:
    """Whether a package's ``__init__`` holds Flask's app factory or creates a blueprint."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "create_app":
            return True
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            func = node.value.func
            if isinstance(func, ast.Name) and func.id == "Blueprint":
                return True
    return False


def import_graph(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, list[Edge]]:
    """Module → its edges, without a module's import of its own Flask parent package."""
    known = modules(root, packages)
    flask_packages = {
        name
        for name, path in known.items()
        if path.name == "__init__.py" and _is_flask_package(path)
    }
    return {
        name: [
            edge
            for edge in imports(name, path, known)
            if not (edge.target in flask_packages and name.startswith(edge.target + "."))
        ]
        for name, path in known.items()
    }


def cycles(graph: Mapping[str, list[Edge]]) -> list[tuple[list[str], list[Edge]]]:
    """Every group of modules that import each other (directly or around), with one cycle
    through it (its edges in order)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(start: str) -> None:
        # Tarjan's strongly connected components, iterative (the graph has hundreds of modules).
        work = [(start, iter(sorted({e.target for e in graph.get(start, [])})))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted({e.target for e in graph.get(child, [])}))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group: set[str] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(group)

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return [(sorted(group), _cycle_in(group, graph)) for group in groups]


def _cycle_in(group: set[str], graph: Mapping[str, list[Edge]]) -> list[Edge]:
    """The shortest way from the group's first module back to itself, inside the group."""
    start = min(group)
    came: dict[str, Edge] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for edge in sorted(graph[node], key=lambda e: (e.target, e.line)):
                if edge.target not in group or edge.target in came:
                    continue
                came[edge.target] = edge
                if edge.target == start:
                    path = [edge]
                    while path[0].source != start:
                        path.insert(0, came[path[0].source])
                    return path
                following.append(edge.target)
        frontier = following
    raise AssertionError(f"no cycle through {start}")


def describe(group: list[str], cycle: list[Edge], root: Path) -> str:
    steps = [f"{edge.path.relative_to(root)}:{edge.line} imports {edge.target}" for edge in cycle]
    text = "\n  ".join(steps)
    if len(group) > len(cycle):
        text += f"\n  (tied together with it: {', '.join(group)})"
    return text


def long_modules(root: Path, packages: Iterable[str] = PACKAGES) -> list[tuple[Path, int]]:
    found = []
    for path in modules(root, packages).values():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            found.append((path.relative_to(root), lines))
    return sorted(found)


def test_no_import_cycle() -> None:
    found = cycles(import_graph(ROOT))
    if found:
        report = "\n".join(f"- {describe(group, cycle, ROOT)}" for group, cycle in found)
        pytest.fail(f"modules that import each other (one cycle of each group):\n{report}")


def test_no_module_over_700_lines() -> None:
    found = long_modules(ROOT)
    if found:
        report = "\n".join(f"- {path}: {lines} lines" for path, lines in found)
        pytest.fail(f"modules over {MAX_LINES} lines (split them along their seams):\n{report}")


def test_the_checks_see_a_hidden_cycle_and_a_long_module(tmp_path: Path) -> None:
    """Both checks on a small tree: a cycle through an import deferred into a function and a
    name of a package's ``__init__`` is found; a blueprint's views importing their package are
    not a cycle; a module one line too long is."""
    files = {
        "app/__init__.py": "from flask import Blueprint\nbp = Blueprint('x', __name__)\n"
        "from app import views\n",
        "app/views.py": "from app import bp\n",
        "app/services/__init__.py": "from app.services.report import build\n",
        "app/services/report.py": "def build():\n    from . import helpers\n",
        "app/services/helpers.py": "from app.services import build\n",
        "app/long.py": "x = 1\n" * (MAX_LINES + 1),
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    found = cycles(import_graph(tmp_path, ("app",)))
    assert [[(edge.source, edge.target) for edge in cycle] for _group, cycle in found] == [
        [
            ("app.services", "app.services.report"),
            ("app.services.report", "app.services.helpers"),
            ("app.services.helpers", "app.services"),
        ]
    ]
    assert "app/services/report.py:2 imports app.services.helpers" in describe(*found[0], tmp_path)
    assert long_modules(tmp_path, ("app",)) == [(Path("app/long.py"), MAX_LINES + 1)]
