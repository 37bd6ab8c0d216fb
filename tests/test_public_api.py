"""The public API (``from hqsched import ...``): complete, lazy, and cheap to import."""

from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path

import pytest
from conftest import ROOT, chain_job, run_python

import hqsched

HEAVY = ("numpy", "pandas", "scipy", "numba", "pyomo", "matplotlib", "highspy", "tqdm")


def test_every_public_name_resolves_to_the_object_of_its_home_module():
    for name in hqsched.__all__:
        value = getattr(hqsched, name)
        assert value is not None, name
        home = hqsched._LAZY.get(name)
        if home is not None:
            assert value is getattr(importlib.import_module(home), name)


def test_all_lists_exactly_the_lazy_names_the_version_and_solve():
    assert len(hqsched.__all__) == len(set(hqsched.__all__))
    assert set(hqsched.__all__) == {"__version__", "solve", *hqsched._LAZY}


def test_type_checkers_see_the_same_names_as_the_lazy_table():
    # The TYPE_CHECKING block must import every lazy name from its home module.
    tree = ast.parse(Path(hqsched.__file__).read_text())
    block = next(node for node in tree.body if isinstance(node, ast.If)
                 and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
    seen = {alias.name: node.module for node in block.body if isinstance(node, ast.ImportFrom)
            for alias in node.names}
    assert {n: m for n, m in seen.items() if n in hqsched._LAZY} == hqsched._LAZY


def test_dir_lists_every_public_name_before_it_is_loaded():
    assert set(hqsched.__all__) <= set(dir(hqsched))
    assert "_LAZY" not in dir(hqsched)


def test_an_unknown_name_raises_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        _ = hqsched.no_such_name
    with pytest.raises(ImportError):
        exec("from hqsched import no_such_name", {})


def test_import_hqsched_loads_no_heavy_module_and_no_submodule():
    code = ("import json, sys; import hqsched; "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('hqsched.') "
            f"or m.split('.')[0] in {HEAVY!r})))")
    done = run_python("-c", code, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_a_name_is_imported_only_when_first_used():
    code = ("import json, sys; import hqsched; before = 'hqsched.online.engine' in sys.modules; "
            "hqsched.simulate; print(json.dumps([before, 'hqsched.online.engine' in sys.modules]))")
    done = run_python("-c", code, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [False, True]


def readme_api_snippets() -> list[str]:
    """The Python code blocks of the README's "Python API" section."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Python API", 1)[1].split("\n## ", 1)[0]
    return [block.split("\n", 1)[1] for block in section.split("```")[1::2]
            if block.startswith("python\n")]


def test_the_readme_api_snippets_use_only_the_public_api_and_run(tmp_path):
    snippets = readme_api_snippets()
    assert len(snippets) >= 2
    for code in snippets:
        imports = [line for line in code.splitlines() if line.startswith(("import", "from"))]
        assert all(line.startswith("from hqsched import ") for line in imports), imports
        done = run_python("-c", code, cwd=tmp_path)
        assert done.returncode == 0, f"{code}\n{done.stderr}"


# -- solve: the documented mapping of a platform onto the offline problem --------

def two_jobs(priority_a: int = 1) -> hqsched.Instance:
    # S = 1 op/s: work in seconds. A: pre 2, post 1; B: pre 1, post 1; both at 0.
    return hqsched.Instance((chain_job(0, 0.0, 2.0, 1.0, priority=priority_a),
                             chain_job(1, 0.0, 1.0, 1.0)))


ONE_SERVER = hqsched.Platform(classical_workers=1, worker_capacity_ops_per_s=1.0,
                              quantum_computers=1, max_classical=1, max_quantum=1)


def test_solve_one_server_runs_the_short_job_first():
    result = hqsched.solve(two_jobs(), ONE_SERVER, time_limit_s=30)
    # B then A: delays 2 and 5 (A first: 3 + 4).
    assert result.status == "optimal" and result.objective == pytest.approx(7.0, abs=1e-6)
    assert result.schedule is not None


def test_solve_weighted_runs_the_heavy_job_first():
    result = hqsched.solve(two_jobs(priority_a=3), ONE_SERVER, weighted=True, time_limit_s=30)
    assert result.status == "optimal" and result.objective == pytest.approx(14.0, abs=1e-6)


def test_solve_with_two_servers_or_relaxed_classical_capacity_runs_both_at_once():
    two = hqsched.Platform(classical_workers=2, worker_capacity_ops_per_s=1.0, quantum_computers=1)
    for result in (hqsched.solve(two_jobs(), two, time_limit_s=30),
                   hqsched.solve(two_jobs(), ONE_SERVER, relax_classical=True, time_limit_s=30,
                                 warm_start=False)):
        assert result.status == "optimal" and result.objective == pytest.approx(5.0, abs=1e-6)


def test_solve_reports_a_bad_method_in_its_status():
    result = hqsched.solve(two_jobs(), ONE_SERVER, method="simplex", time_limit_s=30)
    assert result.status == "error" and "simplex" in result.message
