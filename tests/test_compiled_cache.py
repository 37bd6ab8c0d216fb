"""numba's disk cache never serves a compiled function older than the sources it calls.

numba keys a cached function on its own file only; ``hqsched.compiled``
extends the key to every project file the function depends on. The first test
builds a small package in a temporary directory (a cached caller in ``a.py``
whose machine code includes a callee's callee, a constant and a function
reached through a module, all from other files), runs it in a fresh process
after each edit, and checks the new code is used. A control copy of the
caller without the helper shows numba's own behaviour: after the same edits
it keeps returning its first result.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from numba.core.caching import FunctionCache
from numba.core.dispatcher import Dispatcher

from hqsched.compiled import SourceKeyedCache, dependency_files

ROOT = Path(__file__).resolve().parents[1]
JIT = pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="nothing is compiled")

# outer (a.py) -> inner (b.py, with OFFSET) -> deep (c.py); outer -> d.far via ``d``.
# b.py and c.py do not call the helper: a.py's call keys their cached functions too.
PACKAGE = {
    "__init__.py": "",
    "c.py": "from numba import njit\n\n@njit(cache=True)\ndef deep(x):\n    return x + 1\n",
    "b.py": ("from numba import njit\n\nfrom .c import deep\n\nOFFSET = 10\n\n"
             "@njit(cache=True)\ndef inner(x):\n    return deep(x) * 2\n"),
    "d.py": "from numba import njit\n\n@njit\ndef far(x):\n    return 100\n",
}
CALLER = """from numba import njit

from . import d
from .b import OFFSET, inner
{helper_import}

@njit(cache=True)
def outer(x):
    return inner(x) + OFFSET + d.far(x)

{helper_call}
"""
RUN = """if True:
    import json
    from pkg import a, control
    print(json.dumps({name: [m.outer(1), m.outer.stats.cache_hits[m.outer.signatures[0]]]
                      for name, m in (("keyed", a), ("control", control))}))
"""


def write_package(root: Path) -> None:
    package = root / "pkg"
    package.mkdir()
    for name, text in PACKAGE.items():
        (package / name).write_text(text)
    (package / "a.py").write_text(CALLER.format(
        helper_import="from hqsched.compiled import key_caches_on_sources\n",
        helper_call="key_caches_on_sources(globals())"))
    (package / "control.py").write_text(CALLER.format(helper_import="", helper_call=""))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new))


def fresh_process(root: Path, code: str) -> str:
    """stdout of ``code`` run by a new interpreter that imports packages from ``root`` first
    (no .pyc files: an edit within the same second must be seen)."""
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1",
           "NUMBA_DISABLE_JIT": "0"}
    env.pop("NUMBA_CACHE_DIR", None)  # the cache lives next to the sources
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True,
                         text=True, check=True)
    return out.stdout


def run(root: Path) -> dict[str, list[int]]:
    """{"keyed": [outer(1), cache hits], "control": [...]}."""
    return json.loads(fresh_process(root, RUN))


def test_an_edit_in_any_file_a_cached_function_calls_is_used_by_the_next_process(tmp_path):
    """Every kind of dependency, edited in turn, changes the keyed caller's result at once;
    the control (numba alone) keeps serving the code it compiled first."""
    write_package(tmp_path)
    pkg = tmp_path / "pkg"
    assert run(tmp_path) == {"keyed": [114, 0], "control": [114, 0]}  # (1 + 1) * 2 + 10 + 100
    assert run(tmp_path) == {"keyed": [114, 1], "control": [114, 1]}  # from the disk cache

    edit(pkg / "c.py", "x + 1", "x + 2")  # a callee's callee
    assert run(tmp_path) == {"keyed": [116, 0], "control": [114, 1]}
    edit(pkg / "b.py", "OFFSET = 10", "OFFSET = 20")  # a constant imported from another file
    assert run(tmp_path) == {"keyed": [126, 0], "control": [114, 1]}
    edit(pkg / "d.py", "return 100", "return 300")  # a function reached through its module
    assert run(tmp_path) == {"keyed": [326, 0], "control": [114, 1]}
    assert run(tmp_path)["keyed"] == [326, 1]  # the new code is cached in turn


@pytest.fixture
def pkg_imported(tmp_path, monkeypatch):
    """The package of the first test, importable in this process (its own cache directory)."""
    write_package(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "cache"))
    for name in [m for m in sys.modules if m == "pkg" or m.startswith("pkg.")]:
        monkeypatch.delitem(sys.modules, name)
    yield tmp_path / "pkg"
    for name in [m for m in sys.modules if m == "pkg" or m.startswith("pkg.")]:
        del sys.modules[name]


@JIT
def test_the_key_covers_the_files_a_function_depends_on_and_no_others(pkg_imported):
    (pkg_imported / "unrelated.py").write_text("X = 1\n")
    a = importlib.import_module("pkg.a")
    found = dependency_files([a.outer.py_func], "pkg")
    assert [p.relative_to(pkg_imported).as_posix() for p in found] == \
        ["__init__.py", "a.py", "b.py", "c.py", "d.py"]
    keyed = [a.outer, sys.modules["pkg.b"].inner, sys.modules["pkg.c"].deep]  # callees too
    assert all(isinstance(f._cache, SourceKeyedCache) for f in keyed)
    assert not isinstance(importlib.import_module("pkg.control").outer._cache, SourceKeyedCache)


@JIT
def test_keying_a_function_already_compiled_is_an_error(pkg_imported):
    """Keyed after its first call, a function may already run stale code from the cache."""
    (pkg_imported / "late.py").write_text(
        "from numba import njit\n\nfrom hqsched.compiled import key_caches_on_sources\n\n"
        "@njit(cache=True)\ndef f(x):\n    return x\n\nf(1)\nkey_caches_on_sources(globals())\n")
    with pytest.raises(RuntimeError, match="compiled before key_caches_on_sources"):
        importlib.import_module("pkg.late")


def project_modules_with_cached_functions() -> list[str]:
    """Every hqsched module whose source asks numba for an on-disk cache."""
    packages = [(ROOT / "src" / "hqsched", "hqsched")] + [
        (folder, f"hqsched.{folder.name}") for folder in sorted(ROOT.iterdir())
        if (folder / "__init__.py").is_file() and importlib.util.find_spec(f"hqsched.{folder.name}")]
    names = []
    for folder, package in packages:
        for path in sorted(folder.glob("*.py")):
            if "cache=True" in path.read_text() and path.stem not in ("__init__", "compiled"):
                names.append(f"{package}.{path.stem}")
    return names


@JIT
@pytest.mark.parametrize("module", project_modules_with_cached_functions())
def test_every_cached_numba_function_of_the_project_is_keyed_on_its_sources(module):
    """A module with ``cache=True`` functions ends with ``key_caches_on_sources(globals())``."""
    loaded = importlib.import_module(module)
    cached = [v for v in vars(loaded).values()
              if isinstance(v, Dispatcher) and v.py_func.__module__ == module
              and isinstance(v._cache, FunctionCache)]
    assert cached, f"{module}: no cached numba function found"
    assert [d.__name__ for d in cached if not isinstance(d._cache, SourceKeyedCache)] == []


@pytest.mark.slow
@pytest.mark.parametrize("keyed", [True, False], ids=["keyed", "control-unkeyed"])
def test_editing_a_policy_changes_the_simulation_with_the_cache_warm(tmp_path, keyed):
    """The simulator copied to a temporary package: after FIFO's pop is edited in
    online/policies.py, the next process recompiles the kernel and gets the new result.
    Control: with the cache keying removed from the copy's kernel.py, numba loads the stale
    loop and the edit is silently ignored (what issue 12 measured); a key policy's edit is
    seen either way (its key is never cached)."""
    copy = tmp_path / "hqsched"
    shutil.copytree(ROOT / "src" / "hqsched", copy, ignore=shutil.ignore_patterns("__pycache__"))
    for folder in ROOT.iterdir():
        if (folder / "__init__.py").is_file() and importlib.util.find_spec(f"hqsched.{folder.name}"):
            shutil.copytree(folder, copy / folder.name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__"))
    code = """if True:
        import dataclasses, json, hqsched
        from hqsched.instances.model import Platform
        from hqsched.instances.workload import WorkloadSpec
        from hqsched.online.config import SimulationConfig
        from hqsched.online.engine import simulate
        from hqsched.online.kernel import run_events
        config = SimulationConfig(Platform(1, 1e9, 4, 40, 40), policy="fifo", duration_s=86400.0,
                                  workload=WorkloadSpec(300.0, (4, 6, 8, 10), (1, 2, 4)))
        mean = simulate(config, 1).summary["job_time_mean_s"]
        sqf = simulate(dataclasses.replace(config, policy="sqf"), 1)
        print(json.dumps([hqsched.__file__, mean, sum(run_events.stats.cache_hits.values()),
                          sqf.summary["job_time_mean_s"]]))
    """
    if not keyed:
        edit(copy / "online" / "kernel.py", "\nkey_caches_on_sources(globals())\n", "\n")
    where, fifo, _, sqf = json.loads(fresh_process(tmp_path, code))
    assert Path(where).is_relative_to(tmp_path)  # the copy runs, not the installed package
    assert json.loads(fresh_process(tmp_path, code))[1:] == [fifo, 1, sqf]  # warm cache
    fifo_pop = "    if policy_id == FIFO:\n        return fifo_pop(items, counts, meta, weights, u)"
    newest_first = ("    if policy_id == FIFO:\n        counts[0] -= 1\n"
                    "        return items[0, (meta[0] + counts[0]) % items.shape[1]]")
    edit(copy / "online" / "policies.py", fifo_pop, newest_first)
    _, edited, hits, _ = json.loads(fresh_process(tmp_path, code))
    if keyed:
        assert hits == 0 and edited != fifo
    else:
        assert hits == 1 and edited == fifo  # stale: the old FIFO ran
    # A key policy (its key is a C callback, compiled in each process): longest task first.
    edit(copy / "online" / "policies.py", "        return task.quantum_s\n",
         "        return -task.quantum_s\n")
    assert json.loads(fresh_process(tmp_path, code))[3] != sqf
