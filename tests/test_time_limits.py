"""Time limits and work limits that hold (issue 13): the branch and bound's deadline inside
its bound computations, the LP bound's build-time guard, the expected-work guard's
estimates, and Ray workers that end with their driver.

No timed assertions: each test checks what a deadline leaves behind (a valid bound, a
clean status), never how fast it came.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from hqsched.errors import InputError
from hqsched.formulation import bnb
from hqsched.formulation.options import BnbOptions, SolveOptions
from hqsched.formulation.problem import OfflineProblem
from hqsched.instances.generate import small_instance


def _problem(jobs: int, iterations: int = 2, classical: int | None = 1, seed: int = 1):
    inst = small_instance(jobs, iterations, (4, 6, 8, 10), seed=seed, interarrival_s=10.0)
    return inst, OfflineProblem(inst, classical, 1, 1e9)


def _root_state(problem: OfflineProblem, deadline: float):
    """The arrays of a search at its root, its control's deadline set to ``deadline``."""
    jb = bnb._job_arrays(problem, False)
    vt, level = bnb._seq_table(jb, 3)
    control = bnb._control(BnbOptions(), level, bnb.INF, deadline=deadline)
    nd, ch, path, best, memo = bnb._search_arrays(jb, problem.quantum_servers, 1 << 12)
    k, r, cost = bnb._root(jb)
    nd.k[0], nd.r[0], nd.fC[0], nd.fQ[0], nd.cost[0] = k, r, -bnb.INF, -bnb.INF, cost
    return jb, vt, control, nd, ch


def test_a_bound_the_deadline_stops_is_the_own_chain_bound():
    """Past its deadline, a bound computation returns at once with the level-0 bound
    (valid); without a deadline it computes the full bound, which is at least that."""
    _, problem = _problem(40)
    for deadline, expected_level in ((time.perf_counter() - 1.0, 0), (bnb.INF, 2)):
        jb, vt, control, nd, _ = _root_state(problem, deadline)
        lb = bnb._lower_bound(nd.k[0], nd.r[0], nd.fC[0], nd.fQ[0], nd.cost[0], jb, control, vt)
        assert lb == pytest.approx(bnb.root_lower_bound(problem, False, expected_level))
        assert bool(control[0]["stopped"]) == (expected_level == 0)
    assert bnb.root_lower_bound(problem, False, 2) > bnb.root_lower_bound(problem, False, 0)


def test_an_expansion_past_its_deadline_reports_itself_incomplete():
    _, problem = _problem(40)
    jb, vt, control, _, ch = _root_state(problem, time.perf_counter() - 1.0)
    nd = _root_state(problem, bnb.INF)[3]
    assert not bnb._expand(0, nd, ch, jb, control, vt)
    control[0]["deadline"] = bnb.INF
    control[0]["stopped"] = False
    assert bnb._expand(0, nd, ch, jb, control, vt) and ch.n[0] > 0


def test_every_deadline_leaves_a_valid_bound_and_a_checked_schedule():
    """Wherever the deadline falls (between nodes, inside an expansion, inside a bound),
    the bound returned is a lower bound on the proven optimum and the schedule is
    feasible and no better than it."""
    _, problem = _problem(6)
    full = bnb.branch_and_bound(problem, options=BnbOptions(time_limit_s=300))
    assert full.status == "optimal"
    opt = full.objective
    statuses = set()
    for limit_s in (0.0, 1e-4, 3e-4, 1e-3, 2e-3, 5e-3, 0.01, 0.02, 0.05):
        r = bnb.branch_and_bound(problem, options=BnbOptions(time_limit_s=limit_s))
        statuses.add(r.status)
        assert r.bound <= opt + 1e-9 * max(1.0, opt), limit_s
        assert r.objective >= opt - 1e-9 * max(1.0, opt), limit_s
        assert r.schedule is not None and r.compile_s >= 0.0
        if r.status == "optimal":
            assert r.objective == pytest.approx(opt) and r.nodes == full.nodes
    assert "feasible" in statuses  # the deadline was hit at least once


def test_solve_reports_compile_time_apart():
    from hqsched.formulation.solve import solve_delays

    inst, _ = _problem(5)
    r = solve_delays(inst, 1, 1, 1e9, SolveOptions(time_limit_s=30))
    assert r.status == "optimal" and r.details["compile_s"] >= 0.0
    assert r.details["compile_s"] <= r.solve_time_s
    assert ("(compile " in r.summary()) == (r.details["compile_s"] >= 0.005)


def test_lp_bound_is_not_built_when_its_build_would_outlast_the_time_limit():
    from hqsched.formulation.solve import lp_bound

    inst, _ = _problem(80, classical=2)
    r = lp_bound(inst, 2, 1, 1e9, SolveOptions(time_limit_s=0.5))
    assert r.status == "time_limit_no_incumbent" and r.best_bound is None
    assert r.message.startswith("LP not built: about") and "task pairs" in r.message
    small = lp_bound(_problem(3)[0], 2, 1, 1e9, SolveOptions(time_limit_s=30))
    assert small.status == "optimal" and small.best_bound is not None


# --- the expected-work guard ------------------------------------------------------------

def test_the_solve_budget_refuses_past_a_day_and_names_the_options():
    from hqsched.experiments.replications import SOLVE_BUDGET_S, check_solve_time

    check_solve_time(SOLVE_BUDGET_S, "--instances 1", "gap", "lower --instances")
    with pytest.raises(InputError, match=r"^gap: --instances 9 take up to .* lower --instances, "
                                         r"or pass --yes to run it anyway$"):
        check_solve_time(SOLVE_BUDGET_S + 1, "--instances 9", "gap", "lower --instances")


def test_a_sampled_replay_counts_its_rows_times_the_events_of_one_job(tmp_path):
    """The work of a CSV whose chains are drawn per seed: rows x (2 n + 3), n the workload's
    mean iterations, as ``expected_events`` counts a stochastic run of the same jobs."""
    from hqsched.experiments import scenario as scn
    from hqsched.experiments.replications import replay_events
    from hqsched.online.config import SimulationConfig
    from hqsched.online.engine import expected_events

    path = tmp_path / "rows.csv"
    path.write_text("arrival_s,qubits,priority\n" + "".join(f"{i},4,1\n\n" for i in range(37)))
    values = {o.name: o.default for o in scn.OPTIONS}
    values.update(instance=str(path), policy="fifo")
    replay = next(iter(scn.build_plan(scn.Settings(values, {})).scenarios.values()))
    assert isinstance(replay, scn.SampledReplay)
    hundred_jobs = 100 * replay.spec.interarrival_s  # a stochastic run of 100 arrivals
    stochastic = SimulationConfig(**{**replay.options, "duration_s": hundred_jobs,
                                     "warmup_s": 0.0},
                                  workload=replay.spec, traces_dir=replay.traces_dir)
    per_job = expected_events(stochastic) / 100
    assert per_job > 3
    assert replay_events(replay) == pytest.approx(37 * per_job)


# --- Ray workers end with their driver ----------------------------------------------------

RAY_WORKER = """\
import sys, time
import hqsched.experiments.executor as ex
ex.PARENT_POLL_S = 0.1
ex._ray_call(lambda context, task: time.sleep(120), None, None, int(sys.argv[1]))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals a process by pid")
def test_a_ray_task_ends_its_worker_when_the_driver_dies(tmp_path):
    """``_ray_call`` given the driver's pid (a Ray instance on the driver's machine) ends
    its worker process once that pid is gone, even by kill -9 and whoever the worker's
    parent is (a Ray worker's parent is its raylet, not the driver)."""
    driver = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    script = tmp_path / "worker.py"
    script.write_text(RAY_WORKER)
    worker = subprocess.Popen([sys.executable, str(script), str(driver.pid)])
    try:
        time.sleep(1.0)
        assert worker.poll() is None, "the worker ended while its driver was alive"
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        assert worker.wait(timeout=60) == 1
    finally:
        for proc in (driver, worker):
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
