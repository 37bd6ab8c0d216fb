"""The C = 1 branch and bound (formulation/bnb.py) is exact, its bounds are valid,
and every schedule it returns passes the independent checker."""

import os
import random
import subprocess
import sys

import pytest
from test_formulation_bruteforce import brute_force, random_tiny

from hqsched.formulation.bnb import branch_and_bound, root_lower_bound
from hqsched.formulation.checker import check_schedule
from hqsched.formulation.cpsat import available as cpsat_available
from hqsched.formulation.options import BnbOptions, SolveOptions
from hqsched.formulation.problem import OfflineProblem
from hqsched.formulation.solve import solve_delays
from hqsched.instances.generate import small_instance
from hqsched.instances.model import Instance, Job, constant_chain_job

#: MILP optima (solve_delays, status optimal, HiGHS) of the trace instances
#: small_instance(n, its, (4, 6, 8, 10), seed=1, interarrival_s=20), C = 1, Q = 2,
#: unweighted, measured once (the 5x3 MILP takes ~20-50 s, too long for CI).
MILP_OPTIMA = {(4, 3): 192.07815385692726, (5, 3): 226.28769526360844,
               (6, 2): 271.0028892647086}


def _medium(rng):
    """2-4 jobs of up to 2 iterations (up to 24 tasks, beyond brute force), many ties."""
    jobs, t = [], 0.0
    for i in range(rng.randint(2, 4)):
        t += rng.choice([0, 0, 1, 3, 6])
        jobs.append(constant_chain_job(
            i, t, 4, rng.choice([1, 2, 5]), float(rng.choice([0, 2, 6, 10])),
            float(rng.choice([0, 0.01, 0.5])), float(rng.choice([1, 2, 3, 4])),
            float(rng.choice([0, 0.1, 1])), rng.choice([0, 1, 2])))
    return Instance(tuple(jobs))


def test_bnb_equals_brute_force_on_200_random_tiny_instances():
    """Rule: on tiny instances (<= 8 tasks), C = 1, Q in {1, 2}, weighted or not,
    the B&B proves the brute-force optimum and returns a checked schedule."""
    rng = random.Random(20240603)
    for case in range(200):
        inst = random_tiny(rng)
        q = rng.choice([1, 2])
        weighted = rng.random() < 0.5
        res = branch_and_bound(OfflineProblem(inst, 1, q, 1.0), weighted,
                               options=BnbOptions(time_limit_s=30))
        expected = brute_force(inst, 1, q, weighted)
        assert res.status == "optimal", case
        assert check_schedule(inst, res.schedule, 1, q, 1.0) == []
        assert res.schedule.sum_delays_s(inst, weighted) == pytest.approx(res.objective, abs=1e-9)
        assert res.objective == pytest.approx(expected, rel=1e-6, abs=1e-6), (case, q, weighted, inst)


def test_bnb_equals_milp_on_random_tiny_instances():
    """Rule: the B&B optimum equals the MILP's proven optimum (C = 1, Q in {1, 2})."""
    rng = random.Random(777)
    for case in range(40):
        inst = random_tiny(rng)
        q = rng.choice([1, 2])
        weighted = rng.random() < 0.5
        milp = solve_delays(inst, 1, q, 1.0, SolveOptions(weighted=weighted, time_limit_s=20,
                                                          method="milp"))
        assert milp.status == "optimal"
        res = branch_and_bound(OfflineProblem(inst, 1, q, 1.0), weighted,
                               options=BnbOptions(time_limit_s=30))
        assert res.status == "optimal"
        assert res.objective == pytest.approx(milp.objective, rel=1e-6, abs=1e-6), (case, inst)


@pytest.mark.parametrize("size", sorted(MILP_OPTIMA))
def test_bnb_equals_milp_optimum_on_trace_instances(size):
    """Rule: on the trace instances the MILP proves (4x3, 5x3, 6x2; C = 1, Q = 2),
    the B&B proves the same optimum, with a checked schedule."""
    jobs, its = size
    inst = small_instance(jobs, its, (4, 6, 8, 10), seed=1, interarrival_s=20)
    res = branch_and_bound(OfflineProblem(inst, 1, 2, 1e9), False, options=BnbOptions(time_limit_s=60))
    assert res.status == "optimal"
    assert check_schedule(inst, res.schedule, 1, 2, 1e9) == []
    assert res.objective == pytest.approx(MILP_OPTIMA[size], rel=1e-7)


def test_pruned_search_equals_plain_enumeration_beyond_brute_force():
    """Rule: every bound level, the dominance memo and both branching rules only
    prune; on instances of up to 24 tasks (Q in 1..3, weighted or not) they give
    the optimum of the plain enumeration (own-chain bound, no memo, rule 0), and
    every root bound is <= that optimum."""
    rng = random.Random(11)
    for case in range(60):
        inst = _medium(rng)
        q = rng.choice([1, 2, 3])
        weighted = rng.random() < 0.5
        p = OfflineProblem(inst, 1, q, 1.0)
        ref = branch_and_bound(p, weighted, options=BnbOptions(time_limit_s=60, bound_level=0,
                                                               memo=False, rule=0))
        assert ref.status == "optimal"
        for level in (1, 2, 3):
            assert root_lower_bound(p, weighted, level) <= ref.objective + 1e-9, (case, level, inst)
        for kw in ({}, {"rule": 0}, {"memo": False}, {"bound_level": 1}, {"bound_level": 2}):
            res = branch_and_bound(p, weighted, options=BnbOptions(time_limit_s=60, **kw))
            assert res.status == "optimal"
            assert res.objective == pytest.approx(ref.objective, rel=1e-9, abs=1e-9), (case, kw, inst)


def test_root_bound_never_exceeds_the_optimum():
    """Rule: the root lower bound (every level) is <= the brute-force optimum."""
    rng = random.Random(5)
    for case in range(150):
        inst = random_tiny(rng)
        q = rng.choice([1, 2])
        weighted = rng.random() < 0.5
        opt = brute_force(inst, 1, q, weighted)
        p = OfflineProblem(inst, 1, q, 1.0)
        for level in (0, 1, 2, 3):
            assert root_lower_bound(p, weighted, level) <= opt + 1e-9, (case, level, inst)


def test_rule1_guard_keeps_tasks_whose_predecessor_is_unscheduled():
    """Rule: choosing the resource with the smaller conflict set is only allowed when
    no non-next task of it can start earlier (regression: without the guard the
    search returned 23.01 here instead of the optimum 17.04, the value of the plain
    enumeration; 14 tasks are too many for the brute force in CI)."""
    inst = Instance((
        Job(0, 3.0, 4, 2, 2.0, (), (), 0.0),
        Job(1, 3.0, 4, 1, 0.0, (0.01,), (3.0,), 1.0),
        Job(2, 6.0, 4, 5, 0.0, (0.0, 0.0), (4.0, 4.0), 0.0),
        Job(3, 7.0, 4, 5, 2.0, (), (), 1.0)))
    p = OfflineProblem(inst, 1, 1, 1.0)
    ref = branch_and_bound(p, False, options=BnbOptions(bound_level=0, memo=False, rule=0))
    res = branch_and_bound(p, False, options=BnbOptions(rule=1))
    assert ref.objective == pytest.approx(17.04)
    assert res.objective == pytest.approx(ref.objective)


def test_time_limited_run_returns_checked_schedule_and_valid_bound():
    """Rule: a run stopped by its time limit returns status "feasible", a schedule
    passing the checker, and root bound <= bound <= objective."""
    inst = small_instance(10, 3, (4, 6, 8, 10), seed=1, interarrival_s=20)
    p = OfflineProblem(inst, 1, 2, 1e9)
    res = branch_and_bound(p, False, options=BnbOptions(time_limit_s=0.5))
    assert res.status == "feasible"
    assert check_schedule(inst, res.schedule, 1, 2, 1e9) == []
    assert res.root_bound <= res.bound + 1e-9
    assert res.bound <= res.objective + 1e-9
    assert res.objective == pytest.approx(res.schedule.sum_delays_s(inst), abs=1e-9)


def test_only_one_classical_server():
    """Rule: C != 1 is refused with a clear error (the method needs one server)."""
    inst = small_instance(2, 1, (4,), seed=1, interarrival_s=20)
    with pytest.raises(ValueError, match="one classical server"):
        branch_and_bound(OfflineProblem(inst, 2, 1, 1e9))


def test_runs_as_plain_python_without_jit():
    """Rule: with NUMBA_DISABLE_JIT=1 the same code runs as Python and gives the same optimum."""
    code = ("import random, sys; sys.path.insert(0, 'tests');"
            "from test_formulation_bruteforce import random_tiny;"
            "from hqsched.formulation.problem import OfflineProblem;"
            "from hqsched.formulation.bnb import branch_and_bound;"
            "rng = random.Random(3);"
            "print([round(branch_and_bound(OfflineProblem(random_tiny(rng), 1, 2, 1.0), True)"
            ".objective, 9) for _ in range(5)])")
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    rng = random.Random(3)
    expected = [round(branch_and_bound(OfflineProblem(random_tiny(rng), 1, 2, 1.0), True).objective, 9)
                for _ in range(5)]
    assert out.stdout.strip() == str(expected)


def test_time_limit_before_the_first_leaf_without_incumbent_is_reported():
    """Rule: with no incumbent and no time to reach a leaf, the status says so and no
    schedule is returned (never a wrong "optimal")."""
    inst = small_instance(10, 3, (4, 6, 8, 10), seed=1, interarrival_s=20)
    res = branch_and_bound(OfflineProblem(inst, 1, 2, 1e9),
                           options=BnbOptions(time_limit_s=0.0, heuristic=False, chunk=1))
    assert res.status == "time_limit_no_incumbent" and res.schedule is None
    assert res.bound >= res.root_bound - 1e-9


def test_solve_delays_uses_bnb_for_one_classical_server_and_milp_otherwise():
    """Rule: method "auto" proves C = 1 instances by branch and bound and others by the
    MILP; both give the same optimum; "bnb" with C = 2 is an error status."""
    inst = small_instance(4, 2, (4, 6), seed=3, interarrival_s=20)
    auto = solve_delays(inst, 1, 2, options=SolveOptions(time_limit_s=30))
    milp = solve_delays(inst, 1, 2, options=SolveOptions(time_limit_s=30, method="milp"))
    assert auto.details["method"] == "bnb" and "method" not in milp.details
    assert auto.status == milp.status == "optimal"
    assert auto.objective == pytest.approx(milp.objective, rel=1e-6)
    assert "method=bnb nodes=" in auto.summary()
    # C = 2: CP-SAT when OR-Tools is installed (tests/test_cpsat.py), else the MILP.
    assert solve_delays(inst, 2, 2, options=SolveOptions(time_limit_s=30)).details.get("method") \
        == ("cpsat" if cpsat_available() else None)
    bad = solve_delays(inst, 2, 2, options=SolveOptions(method="bnb"))
    assert bad.status == "error" and "one classical server" in bad.message
