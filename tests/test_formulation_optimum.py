"""Offline solver: hand-solved optima, bounds and statuses (issue 3).

Instances use S = 1 op/s so that classical work equals seconds.
"""

import pytest
from conftest import chain_job

from hqsched.formulation.checker import check_schedule
from hqsched.formulation.options import SolveOptions
from hqsched.formulation.solve import lp_bound, solve_delays, solve_min_capacity
from hqsched.instances.generate import small_instance
from hqsched.instances.model import Instance

job = chain_job  # (job_id, arrival_s, pre, post, iterations, it, q, priority)


def solve(inst, c, q, **kw):
    res = solve_delays(inst, c, q, 1.0, SolveOptions(time_limit_s=30, **kw))
    assert res.schedule is not None
    assert check_schedule(inst, res.schedule, c, q, 1.0) == []
    return res


def test_two_jobs_on_one_classical_server_shortest_job_first_gives_7():
    # A: pre 2, post 1; B: pre 1, post 1; both at 0. B then A: 2 + 5 = 7.
    inst = Instance((job(0, 0.0, 2.0, 1.0), job(1, 0.0, 1.0, 1.0)))
    res = solve(inst, 1, 1)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(7.0, abs=1e-6)


def test_weighted_optimum_runs_the_heavy_job_first():
    # Same jobs, A has priority 3: A then B costs 3*3 + 1*5 = 14 (B first: 17).
    inst = Instance((job(0, 0.0, 2.0, 1.0, priority=3), job(1, 0.0, 1.0, 1.0)))
    res = solve(inst, 1, 1, weighted=True)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(14.0, abs=1e-6)
    assert res.schedule.completion_s()[0] == pytest.approx(3.0)


def test_optimum_idles_the_server_to_wait_for_a_short_urgent_job():
    # A (w=1) at 0: pre 10, post 1. B (w=10) at 1: pre 1, post 1.
    # Waiting for B: B done at 3 (10*2), A done at 14 (14) -> 34; starting A at 0 costs >= 123.
    inst = Instance((job(0, 0.0, 10.0, 1.0), job(1, 1.0, 1.0, 1.0, priority=10)))
    res = solve(inst, 1, 1, weighted=True)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(34.0, abs=1e-6)
    first = min(res.schedule.tasks, key=lambda t: t.start_s)
    assert first.job_id == 1 and first.start_s == pytest.approx(1.0)


def test_quantum_bottleneck_with_two_classical_servers_gives_15():
    # Two identical jobs at 0: pre 1, it 1, quantum 3, post 1; C=2, Q=1 -> 6 + 9.
    inst = Instance(tuple(job(i, 0.0, 1.0, 1.0, iterations=1, it=1.0, q=3.0) for i in range(2)))
    res = solve(inst, 2, 1)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(15.0, abs=1e-6)


def test_classical_relaxation_is_a_lower_bound_on_the_finite_capacity_optimum():
    inst = small_instance(3, 2, (4, 6), seed=3, interarrival_s=10)
    finite = solve_delays(inst, 1, 1, options=SolveOptions(time_limit_s=30))
    relaxed = solve_delays(inst, None, 1, options=SolveOptions(time_limit_s=30))
    assert finite.status == relaxed.status == "optimal"
    assert check_schedule(inst, relaxed.schedule, None, 1, 1e9) == []
    assert relaxed.objective <= finite.objective + 1e-6


def test_lp_bound_is_below_the_optimum():
    inst = small_instance(3, 2, (4, 6), seed=3, interarrival_s=10)
    opt = solve_delays(inst, 1, 1, options=SolveOptions(time_limit_s=30))
    lp = lp_bound(inst, 1, 1)
    assert lp.status == "optimal"
    assert lp.best_bound <= opt.objective + 1e-6


def test_warm_start_is_kept_as_incumbent_when_the_solver_has_no_time():
    inst = small_instance(6, 3, (4, 6, 8, 10), seed=2, interarrival_s=20)
    first = solve_delays(inst, 1, 2, options=SolveOptions(time_limit_s=5))
    res = solve_delays(inst, 1, 2, options=SolveOptions(time_limit_s=0.01, warm_start=first.schedule,
                                                        heuristic_incumbent=False))
    assert res.status in ("feasible", "optimal")
    assert res.objective <= first.objective + 1e-6
    assert check_schedule(inst, res.schedule, 1, 2, 1e9) == []


def test_time_limit_without_incumbent_is_reported_not_raised():
    inst = small_instance(12, 6, (4, 6, 8, 10), seed=4, interarrival_s=5)
    res = solve_delays(inst, 1, 2, options=SolveOptions(time_limit_s=0.001, heuristic_incumbent=False,
                                                        method="milp"))
    assert res.status == "time_limit_no_incumbent"
    assert res.schedule is None and "without a feasible schedule" in res.message


def test_min_capacity_meets_every_bound_and_one_less_is_proven_infeasible():
    # Two jobs at 0 with pre 10, post 1 and delta_max 11: C=1 makes one wait 10 s.
    inst = Instance((job(0, 0.0, 10.0, 1.0), job(1, 0.0, 10.0, 1.0)))
    res = solve_min_capacity(inst, "classical", 11.0, quantum_servers=1,
                             worker_capacity_ops_per_s=1.0)
    assert res.status == "optimal" and res.objective == 2
    assert check_schedule(inst, res.schedule, 2, 1, 1.0) == []
    done = res.schedule.completion_s()
    assert all(done[j.job_id] - j.arrival_s <= 11.0 + 1e-9 for j in inst.jobs)
    assert "C=1: infeasible" in res.details["proofs"]


def test_min_quantum_capacity_on_trace_instance_is_verified():
    inst = small_instance(4, 2, (4, 6), seed=5, interarrival_s=2)
    res = solve_min_capacity(inst, "quantum", 80.0, classical_servers=4, time_limit_s=30)
    assert res.status == "optimal"
    k = int(res.objective)
    assert check_schedule(inst, res.schedule, 4, k, 1e9) == []
    done = res.schedule.completion_s()
    assert all(done[j.job_id] - j.arrival_s <= 80.0 + 1e-6 for j in inst.jobs)
    assert k == 1 or f"Q={k - 1}: infeasible" in res.details["proofs"]


def test_delta_max_shorter_than_a_chain_is_infeasible_with_a_reason():
    inst = Instance((job(0, 0.0, 10.0, 1.0),))
    res = solve_min_capacity(inst, "classical", 5.0, worker_capacity_ops_per_s=1.0)
    assert res.status == "infeasible" and "job 0" in res.message


def test_bad_capacity_is_an_error_status_not_a_traceback():
    inst = Instance((job(0, 0.0, 1.0, 1.0),))
    res = solve_delays(inst, 0, 1)
    assert res.status == "error" and "classical_servers" in res.message
