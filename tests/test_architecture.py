"""Package structure: no import cycles between medganbench's own modules (function-level imports too)."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "medganbench"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _lazy_exports(tree: ast.Module) -> set[int]:
    """ids of the nodes inside a module-level ``__getattr__`` (a package exposing submodules lazily)."""
    ids: set[int] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
            ids.update(id(n) for n in ast.walk(node))
    return ids


def import_graph() -> dict[str, set[str]]:
    """``{module: {package modules it imports}}`` from every ``import``/``from`` anywhere in the file."""
    files = {_module_name(p): p for p in PKG.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        tree = ast.parse(path.read_text(), str(path))
        is_pkg = path.name == "__init__.py"
        lazy = _lazy_exports(tree) if is_pkg else set()
        package = mod if is_pkg else mod.rpartition(".")[0]
        for node in ast.walk(tree):
            if id(node) in lazy:
                continue
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(up + ([base] if base else []))
                for a in node.names:
                    sub = f"{base}.{a.name}"
                    targets.append(sub if sub in files else base)
            for t in targets:
                while t and t not in files:  # "medganbench.x.y.attr" -> the module that holds it
                    t = t.rpartition(".")[0]
                if t and t != mod and t.split(".")[0] == "medganbench":
                    graph[mod].add(t)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
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
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_function_level_imports():
    graph = import_graph()
    assert "medganbench.checkpoint" in graph["medganbench.models.translation_base"]  # imported inside a method


def test_no_import_cycles_in_the_package():
    found = cycles(import_graph())  # no allowance: every edge counts, function-level imports too
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_the_curated_namespace_resolves_every_name_without_tensorflow_or_torch():
    import subprocess
    import sys

    code = ("import sys, medganbench as mgb\n"
            "missing = [n for n in mgb.__all__ if not hasattr(mgb, n)]\n"
            "assert not missing, missing\n"
            "assert callable(mgb.train) and mgb.train.run_training is mgb.run_training\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'torch', 'torchvision')]\n"
            "assert not bad, bad[:5]\n")
    env = {"PYTHONPATH": str(PKG.parent), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
