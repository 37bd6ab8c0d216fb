"""Incumbent heuristics and window bounds of the offline solver (issue 3).

The local search only supplies incumbents; the SRPT bound only narrows the
time windows, so it must never exceed what the other jobs really cost.
"""

import itertools
import random

import pytest

from hqsched.formulation.checker import check_schedule
from hqsched.formulation.options import SolveOptions
from hqsched.formulation.problem import OfflineProblem
from hqsched.formulation.repair import list_schedule, local_search, sequence_of, sgs
from hqsched.formulation.solve import _others_lower_bounds, _srpt_sum, solve_delays
from hqsched.instances.generate import small_instance


def test_srpt_sum_hand_computed():
    # A(0,3) B(1,1) C(1,5): A 0-1, B 1-2, A 2-4, C 4-9 -> 2 + 4 + 9.
    assert _srpt_sum([(0, 3), (1, 1), (1, 5)]) == pytest.approx(15.0)
    assert _srpt_sum([(5, 2)]) == pytest.approx(7.0)
    assert _srpt_sum([]) == 0.0


def test_srpt_sum_is_below_every_nonpreemptive_order():
    rng = random.Random(7)
    for _ in range(50):
        jobs = [(rng.choice([0, 1, 2.5, 4]), rng.choice([0.5, 1, 3])) for _ in range(4)]
        best = float("inf")
        for order in itertools.permutations(jobs):
            t, tot = -1e9, 0.0
            for r, p in order:
                t = max(t, r) + p
                tot += t
            best = min(best, tot)
        assert _srpt_sum(jobs) <= best + 1e-9


def test_sgs_of_a_schedule_sequence_is_never_worse_and_feasible():
    inst = small_instance(6, 3, (4, 6, 8, 10), seed=2, interarrival_s=20)
    p = OfflineProblem(inst, 1, 2, 1e9)
    h = list_schedule(p)
    obj, starts, servers = sgs(p, sequence_of(p, h))
    assert obj <= h.sum_delays_s(inst) + 1e-9


def test_local_search_returns_a_checked_schedule_no_worse_than_its_seed():
    inst = small_instance(6, 3, (4, 6, 8, 10), seed=2, interarrival_s=20)
    for c in (1, 2, None):
        p = OfflineProblem(inst, c, 2, 1e9)
        h = list_schedule(p)
        s = local_search(p, [h], evaluations=2000)
        assert check_schedule(inst, s, c, 2, 1e9) == []
        assert s.sum_delays_s(inst) <= h.sum_delays_s(inst) + 1e-9


def test_window_bound_never_exceeds_the_other_jobs_delays_at_the_optimum():
    inst = small_instance(4, 2, (4, 6), seed=1, interarrival_s=20)
    res = solve_delays(inst, 1, 1, options=SolveOptions(time_limit_s=60))
    assert res.status == "optimal"
    p = OfflineProblem(inst, 1, 1, 1e9)
    done = res.schedule.completion_s()
    delay = {j.job_id: done[j.job_id] - j.arrival_s for j in inst.jobs}
    for j, lb in _others_lower_bounds(p, False).items():
        assert lb <= sum(v for i, v in delay.items() if i != j) + 1e-6
