"""The package's floors: no import circle, and the ground floors never import the upper ones.

The import graph is read statically (every ``import`` in every module, function-level and
``TYPE_CHECKING`` imports included), so a lazy import cannot hide a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
TESTS = ROOT / "tests"
GROUND = ("semdistill.channels", "semdistill.data", "semdistill.metrics")
UPPER = ("semdistill.experiments", "semdistill.generative", "semdistill.cli")
#: packages on the "models and training" floor checked here: above GROUND, below UPPER
MODELS = ("semdistill.digital", "semdistill.deploy", "semdistill.models")


def _modules() -> dict[str, Path]:
    out = {}
    for f in (SRC / "semdistill").rglob("*.py"):
        parts = list(f.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = f
    return out


def _imported(tree: ast.AST, package: str) -> list[tuple[str, list[str]]]:
    """(module, names) of every semdistill import in ``tree`` (relative ones resolved)."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names if a.name.startswith("semdistill")]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                head = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(head + ([base] if base else []))
            if base.startswith("semdistill"):
                out.append((base, [a.name for a in node.names]))
    return out


def import_graph() -> dict[str, set[str]]:
    """module → the semdistill modules it imports (``from pkg import mod`` counts as mod)."""
    mods = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, f in mods.items():
        package = m if f.name == "__init__.py" else m.rpartition(".")[0]
        for base, names in _imported(ast.parse(f.read_text()), package):
            targets = [resolve(f"{base}.{n}") for n in names] or [resolve(base)]
            for t in targets:
                t = t if t and t != m else resolve(base)
                if t and t != m:
                    graph[m].add(t)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_has_no_circle():
    assert _cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_planted_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize("ground", GROUND)
def test_ground_floors_import_nothing_from_the_upper_floors(ground):
    upward = [(m, t) for m, targets in import_graph().items()
              if m == ground or m.startswith(ground + ".")
              for t in targets if any(t == u or t.startswith(u + ".") for u in UPPER)]
    assert upward == []


def _imports_from(floor: tuple[str, ...], targets: tuple[str, ...]) -> list[tuple[str, str]]:
    def within(name: str, pkgs: tuple[str, ...]) -> bool:
        return any(name == p or name.startswith(p + ".") for p in pkgs)

    return [(m, t) for m, ts in import_graph().items() if within(m, floor)
            for t in ts if within(t, targets)]


def test_the_models_floor_sits_between_ground_and_upper():
    assert _imports_from(MODELS, UPPER) == []
    assert _imports_from(GROUND, MODELS) == []


def test_no_source_file_is_over_400_lines():
    long = {str(f.relative_to(SRC)): n for f in (SRC / "semdistill").rglob("*.py")
            if (n := len(f.read_text().splitlines())) > 400}
    assert long == {}
