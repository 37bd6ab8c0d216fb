"""The CP-SAT method (formulation/cpsat.py) against brute force, the B&B and the MILP.

Skipped as a whole when OR-Tools (the ``ortools`` extra) is not installed;
CI installs it through the ``test`` extra.
"""

import math
import random
from dataclasses import replace

import pytest

pytest.importorskip("ortools", reason="CP-SAT tests need OR-Tools: pip install 'hqsched[ortools]'")

from test_formulation_bruteforce import brute_force, random_tiny  # noqa: E402

import hqsched.validation.invariants as invariants  # noqa: E402
from hqsched.formulation import cpsat  # noqa: E402
from hqsched.formulation.checker import check_schedule  # noqa: E402
from hqsched.formulation.options import SolveOptions  # noqa: E402
from hqsched.formulation.problem import OfflineProblem  # noqa: E402
from hqsched.formulation.solve import solve_delays, solve_min_capacity  # noqa: E402
from hqsched.instances.generate import small_instance  # noqa: E402
from hqsched.instances.model import Instance, constant_chain_job  # noqa: E402
from hqsched.validation.gap import GapConfig, study_instance  # noqa: E402


def random_tiny_real(rng: random.Random) -> Instance:
    """Up to 3 jobs and 8 tasks with real durations and arrivals (none on a coarse grid)."""
    jobs, tasks = [], 0
    for i in range(rng.randint(1, 3)):
        n = rng.choice([0, 1]) if tasks + 4 <= 8 else 0
        if tasks + 2 * n + 2 > 8:
            break
        tasks += 2 * n + 2
        jobs.append(constant_chain_job(
            i, rng.uniform(0, 3), 4, rng.choice([1, 2, 5]), rng.uniform(0, 3),
            rng.choice([0.0, rng.uniform(0, 1)]), rng.uniform(0.3, 4), rng.uniform(0, 2), n))
    return Instance(tuple(jobs))


def _draw(rng: random.Random, real: bool):
    inst = random_tiny_real(rng) if real else random_tiny(rng)
    return inst, rng.choice([1, 1, 2, None]), rng.choice([1, 2]), rng.random() < 0.5


def _agree_with_brute_force(cases: int, seed: int, real: bool) -> None:
    rng = random.Random(seed)
    for case in range(cases):
        inst, c, q, weighted = _draw(rng, real)
        res = solve_delays(inst, c, q, 1.0, SolveOptions(weighted=weighted, time_limit_s=20,
                                                         method="cpsat"))
        expected = brute_force(inst, c, q, weighted)
        where = (case, c, q, weighted, inst)
        assert res.status == "optimal", (where, res.message)
        assert res.details["method"] == "cpsat" and res.details["grid_exact"] is not real
        assert check_schedule(inst, res.schedule, c, q, 1.0) == []
        assert res.objective == pytest.approx(expected, rel=1e-6, abs=1e-6), where
        assert res.best_bound <= expected + 1e-6 * max(1.0, expected), where


def test_cpsat_equals_brute_force_on_tiny_instances_on_a_grid():
    _agree_with_brute_force(25, 20261202, real=False)


def test_cpsat_equals_brute_force_on_tiny_instances_with_real_durations():
    """Off-grid: the bracket (rounded-down bound, replayed schedule) closes to 1e-7."""
    _agree_with_brute_force(25, 20261203, real=True)


@pytest.mark.slow
def test_cpsat_equals_brute_force_on_200_tiny_instances():
    _agree_with_brute_force(100, 1, real=False)
    _agree_with_brute_force(100, 2, real=True)


def test_cpsat_equals_bnb_and_milp_on_tiny_instances():
    rng = random.Random(7)
    for case in range(8):
        inst, c, q, weighted = _draw(rng, real=case % 2 == 1)
        c = 1 if case % 3 == 0 else c
        methods = ("cpsat", "milp") + (("bnb",) if c == 1 else ())
        res = {m: solve_delays(inst, c, q, 1.0, SolveOptions(weighted=weighted, time_limit_s=20,
                                                             method=m)) for m in methods}
        assert {r.status for r in res.values()} == {"optimal"}, (case, res)
        objs = [r.objective for r in res.values()]
        assert max(objs) - min(objs) <= 1e-6 * max(1.0, max(objs)), (case, objs)


@pytest.mark.parametrize("step", [0.5, 0.25, 1.0])
def test_coarse_grid_brackets_the_optimum(step):
    """Rounded down: the bound never exceeds the optimum. Rounded up: the replayed
    schedule passes the checker and is no worse than the grid's own objective."""
    rng = random.Random(int(step * 100))
    for case in range(15):
        inst, c, q, weighted = _draw(rng, real=True)
        problem = OfflineProblem(inst, c, q, 1.0)
        optimum = brute_force(inst, c, q, weighted)
        grid = cpsat.Grid(step, False)
        down = cpsat.solve_grid(problem, cpsat.grid_data(problem, grid, "down"), weighted, 10)
        assert down.status == "optimal"
        lower = cpsat._lower_bound_s(problem, weighted, down.bound_steps, step)
        assert lower <= optimum + 1e-9, (case, lower, optimum)
        up_data = cpsat.grid_data(problem, grid, "up")
        up = cpsat.solve_grid(problem, up_data, weighted, 10)
        assert up.schedule is not None
        assert check_schedule(inst, up.schedule, c, q, 1.0) == []
        true_obj = up.schedule.sum_delays_s(inst, weighted)
        arrivals = sum((j.priority if weighted else 1) * j.arrival_s for j in inst.jobs)
        assert optimum - 1e-9 <= true_obj <= up.bound_steps * step - arrivals + 1e-9, case
        # The hint of a true schedule on the rounded-down grid starts no later than floor(s / g).
        hint = cpsat.grid_hint(problem, cpsat.grid_data(problem, grid, "down"), up.schedule)
        starts = {(t.job_id, t.index): t.start_s for t in up.schedule.tasks}
        assert all(h <= math.floor(starts[(t.job_id, t.index)] / step + 1e-9)
                   for h, t in zip(hint, problem.tasks)), case


def test_grid_choice():
    """On-grid instances use their coarsest exact grid; trace instances a fine inexact one."""
    rng = random.Random(3)
    inst = random_tiny(rng)
    assert cpsat.choose_grid(OfflineProblem(inst, 1, 1, 1.0)) == cpsat.Grid(0.5, True) or \
        cpsat.choose_grid(OfflineProblem(inst, 1, 1, 1.0)).exact
    trace = OfflineProblem(small_instance(3, 1, (4, 6), 1, 20.0), 2, 2, 1e9)
    grid = cpsat.choose_grid(trace)
    assert not grid.exact and 1e-9 <= grid.step_s <= 1e-7


def test_auto_uses_cpsat_beyond_one_classical_server_and_bnb_for_one():
    inst = small_instance(4, 2, (4, 6), seed=3, interarrival_s=20)
    two = solve_delays(inst, 2, 2, options=SolveOptions(time_limit_s=30))
    one = solve_delays(inst, 1, 2, options=SolveOptions(time_limit_s=30))
    inf = solve_delays(inst, None, 2, options=SolveOptions(time_limit_s=30))
    milp = solve_delays(inst, 2, 2, options=SolveOptions(time_limit_s=30, method="milp"))
    assert (two.details["method"], one.details["method"], inf.details["method"]) == \
        ("cpsat", "bnb", "cpsat")
    assert two.status == milp.status == inf.status == "optimal"
    assert two.objective == pytest.approx(milp.objective, rel=1e-6)
    assert inf.objective <= two.objective + 1e-9 <= one.objective + 2e-9


def test_warm_start_is_the_incumbent_when_nothing_better_is_found():
    inst = small_instance(3, 1, (4, 6), seed=5, interarrival_s=20)
    first = solve_delays(inst, 2, 1, options=SolveOptions(time_limit_s=20, method="cpsat"))
    again = solve_delays(inst, 2, 1, options=SolveOptions(
        time_limit_s=20, method="cpsat", warm_start=first.schedule, heuristic_incumbent=False))
    assert again.status == "optimal"
    assert again.objective == pytest.approx(first.objective, rel=1e-9)
    assert again.details["incumbent"] in ("warm start", "cpsat")


def test_min_capacity_with_cpsat_agrees_with_the_milp():
    """Bounds just above the longest chain: C = 1 is often infeasible, proven both ways."""
    rng = random.Random(11)
    tried = 0
    for case in range(6):
        inst, _, q, _ = _draw(rng, real=case % 2 == 1)
        problem = OfflineProblem(inst, 1, q, 1.0)
        longest = max(problem.chain_length_s(j) for j in problem.chains)
        for delta in (1.0001 * longest, 1.2 * longest):
            got = {m: solve_min_capacity(inst, "classical", delta, quantum_servers=q,
                                         worker_capacity_ops_per_s=1.0, time_limit_s=20,
                                         method=m) for m in ("cpsat", "milp")}
            assert got["cpsat"].status == got["milp"].status == "optimal", (case, delta, got)
            assert got["cpsat"].objective == got["milp"].objective, (case, delta, got)
            assert got["cpsat"].details["proofs"] == got["milp"].details["proofs"]
            tried += len(got["cpsat"].details["proofs"])
    assert tried >= 3  # the feasibility question was asked, not only the heuristic


def test_feasibility_proves_both_answers():
    """C = 1 cannot meet a bound that C = 2 meets; both answers come from CP-SAT."""
    inst = Instance((constant_chain_job(0, 0.0, 4, 1, 3.3, 0.0, 1.0, 0.0, 0),
                     constant_chain_job(1, 0.0, 4, 1, 3.3, 0.0, 1.0, 0.0, 0)))
    res = solve_min_capacity(inst, "classical", 3.31, quantum_servers=1,
                             worker_capacity_ops_per_s=1.0, time_limit_s=20, method="cpsat")
    assert res.status == "optimal" and res.objective == 2.0
    assert res.details["proofs"][-1] == "C=1: infeasible"


def test_missing_ortools_is_an_error_status(monkeypatch):
    monkeypatch.setattr(cpsat, "available", lambda: False)
    inst = Instance((constant_chain_job(0, 0.0, 4, 1, 1.0, 0.0, 1.0, 0.0, 0),))
    res = solve_delays(inst, 2, 1, 1.0, SolveOptions(method="cpsat"))
    assert res.status == "error" and "ortools" in res.message
    auto = solve_delays(inst, 2, 1, 1.0, SolveOptions())
    assert auto.status == "optimal" and "method" not in auto.details  # the MILP


def test_invariants_hold_with_cpsat(monkeypatch):
    """Every invariant of validation/invariants.py with every solve by CP-SAT (C = 1 too)."""
    monkeypatch.setattr(invariants, "SolveOptions",
                        lambda **kw: SolveOptions(**dict(kw, method="cpsat")))
    for case in invariants.cases(2, seed=0):
        out = invariants.check_case(case, time_limit_s=20.0)
        assert not out.failures, out.failures
        assert out.proven_optimal and out.relaxation_proven


def test_gap_study_gives_the_same_optimum_with_every_method():
    cfg = GapConfig(instances=1, jobs=3, iterations=1, interarrival_s=10.0, time_limit_s=20.0,
                    relax_time_limit_s=20.0, policies=("fifo",))
    rows = {m: study_instance(replace(cfg, method=m), 0)[0] for m in ("cpsat", "milp", "bnb")}
    assert {rows[m]["opt_status"] for m in rows} == {"optimal"}
    for k in ("opt_incumbent_s", "relax_incumbent_s"):
        values = [rows[m][k] for m in rows]
        assert max(values) - min(values) <= 1e-6 * max(1.0, abs(max(values))), (k, rows)


def test_command_line_method_cpsat(tmp_path, capsys, monkeypatch):
    from hqsched import cli
    from hqsched.cli import solve as solve_cli

    inst = tmp_path / "inst.json"
    assert cli.main(["instance", "generate", "--jobs", "3", "--iterations", "1", "--qubits", "4",
                     "--seed", "2", "--interarrival", "20", "-o", str(inst)]) == 0
    objectives = {}
    for method in ("cpsat", "milp"):
        capsys.readouterr()
        assert cli.main(["solve", str(inst), "--classical-workers", "2", "--time-limit", "20",
                         "--method", method]) == 0
        out = capsys.readouterr().out
        assert "status=optimal" in out and (method != "cpsat" or "CP-SAT" in out)
        objectives[method] = float(out.split("objective=")[1].split()[0])
    assert objectives["cpsat"] == pytest.approx(objectives["milp"], rel=1e-5)
    assert cli.main(["solve", str(inst), "--min-capacity", "classical", "--delta-max", "100",
                     "--method", "cpsat", "--time-limit", "20"]) == 0
    monkeypatch.setattr(solve_cli, "cpsat_available", lambda: False)
    capsys.readouterr()
    assert cli.main(["solve", str(inst), "--method", "cpsat"]) == 2
    err = capsys.readouterr().err
    assert "--method cpsat" in err and "ortools" in err and "Traceback" not in err
