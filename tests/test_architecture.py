"""The package graph: each layer imports only layers below it, and no module cycles.

Every ``import`` statement counts, at module level or inside a function
(a function-level import is still a dependency; it only hides it from a
quick reading). The layers, lowest first, are written in README.md
("Architecture") and in each package's ``__init__`` docstring:

    base (errors, files, tables, compiled)  <  instances  <  online | formulation
    <  experiments  <  planning | validation  <  reports  <  cli

Packages on one rank (online and formulation; planning and validation)
never import each other. The root ``hqsched/__init__.py`` is the public
API facade above everything; below it, modules may read only its
``__version__``.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]

# rank of each layer; equal ranks may not import each other
RANKS: dict[str, int] = {
    "base": 0, "instances": 1, "online": 2, "formulation": 2, "experiments": 3,
    "planning": 4, "validation": 4, "reports": 5, "cli": 6, "api": 7,
}

Graph = Mapping[str, set[str]]  # module -> the hqsched modules it imports


def source_files() -> dict[str, Path]:
    """Every installed ``hqsched`` module, by dotted name, from pyproject's package-dir."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    package_dir: dict[str, str] = config["tool"]["setuptools"]["package-dir"]
    modules: dict[str, Path] = {}
    for package, folder in package_dir.items():
        for path in sorted((ROOT / folder).glob("*.py")):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            modules[name] = path
        if package == "hqsched":  # sub-packages of src/hqsched not listed on their own
            for path in sorted((ROOT / folder).glob("*/*.py")):
                sub = f"hqsched.{path.parent.name}"
                if sub not in package_dir:
                    modules[sub if path.stem == "__init__" else f"{sub}.{path.stem}"] = path
    return modules


def layer_of(module: str) -> str:
    """The layer a dotted ``hqsched`` module name belongs to."""
    parts = module.split(".")
    if parts == ["hqsched"]:
        return "api"
    if parts[1] in RANKS:
        return parts[1]
    if parts[1] == "__main__":
        return "cli"
    return "base"  # hqsched.errors, hqsched.files, hqsched.tables, hqsched.compiled


def imports_of(module: str, path: Path, known: Iterable[str]) -> set[str]:
    """The hqsched modules ``module`` imports anywhere in its file (absolute or relative)."""
    known = set(known)
    package = module if path.stem == "__init__" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import mod` imports the module pkg.mod when it exists
            # (``from hqsched import __version__, progress``: the version and a module)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known
                       or (base, a.name) == ("hqsched", "__version__") else base
                       for a in node.names]
        else:
            continue
        found.update(t for t in targets if t.split(".")[0] == "hqsched")
    found.discard(module)
    return found


def build_graph() -> dict[str, set[str]]:
    files = source_files()
    return {m: imports_of(m, p, files) for m, p in files.items()}


def violations(graph: Graph) -> list[str]:
    """Imports that go up a layer or sideways between two packages of one rank."""
    found = []
    for module, targets in sorted(graph.items()):
        here = layer_of(module)
        for target in sorted(targets):
            if target == "hqsched.__version__":
                continue  # the version string, the one name the facade lends downwards
            there = layer_of(target)
            if there != here and RANKS[there] >= RANKS[here]:
                found.append(f"{module} ({here}) imports {target} ({there})")
    return found


def cycles(graph: Graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def without_facade(graph: Graph) -> dict[str, set[str]]:
    """The graph below the public API facade (its lazy imports point down only)."""
    return {m: t - {"hqsched"} for m, t in graph.items() if m != "hqsched"}


# -- the project's own graph ----------------------------------------------------

def test_every_layer_has_modules():
    layers = {layer_of(m) for m in source_files()}
    assert layers == set(RANKS), f"layers without modules: {set(RANKS) - layers}"


def test_no_module_imports_a_layer_above_it():
    assert violations(build_graph()) == []


def test_the_module_graph_has_no_cycle():
    assert cycles(without_facade(build_graph())) == []


# -- the checks can fail --------------------------------------------------------

def test_an_upward_import_is_reported():
    graph = {"hqsched.planning.simulated": {"hqsched.reports.plan_figure"},
             "hqsched.reports.plan_figure": {"hqsched.planning.sequential"},
             "hqsched.planning.sequential": set()}
    assert violations(graph) == [
        "hqsched.planning.simulated (planning) imports hqsched.reports.plan_figure (reports)"]


def test_a_sideways_import_between_one_rank_is_reported():
    graph = {"hqsched.online.engine": {"hqsched.formulation.checker"},
             "hqsched.formulation.checker": set()}
    assert len(violations(graph)) == 1


def test_a_cycle_is_reported_even_through_a_function_level_import(tmp_path):
    (tmp_path / "a.py").write_text("from hqsched.reports import b\n")
    (tmp_path / "b.py").write_text("def f():\n    from hqsched.reports.a import g\n")
    names = {"hqsched.reports.a", "hqsched.reports.b"}
    graph = {"hqsched.reports.a": imports_of("hqsched.reports.a", tmp_path / "a.py", names),
             "hqsched.reports.b": imports_of("hqsched.reports.b", tmp_path / "b.py", names)}
    assert cycles(graph) == [["hqsched.reports.a", "hqsched.reports.b"]]


def test_relative_imports_resolve_to_their_package(tmp_path):
    (tmp_path / "solve.py").write_text("from .bnb import x\nfrom . import checker\n")
    names = {"hqsched.formulation.bnb", "hqsched.formulation.checker"}
    assert imports_of("hqsched.formulation.solve", tmp_path / "solve.py", names) == names
