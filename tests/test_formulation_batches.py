"""Batch schedules for one classical server (formulation/batches.py, issue 3).

They only supply incumbents, so the rules are: the simulated schedule is
the one described (exact hand values), it is feasible, its reported cost is
its real cost, and the search never returns worse than its seeds.
Instances use S = 1 op/s so that classical work equals seconds.
"""

import random

import pytest

from hqsched.formulation.batches import batch_schedule, batch_search
from hqsched.formulation.checker import check_schedule
from hqsched.formulation.problem import OfflineProblem
from hqsched.formulation.repair import exact_schedule
from hqsched.instances.generate import small_instance
from hqsched.instances.model import Instance, constant_chain_job


def two_long_jobs() -> OfflineProblem:
    """A and B at 0: pre 10 s, one iteration (classical 1 s, quantum 2 s), post 1 s; C = Q = 1."""
    jobs = tuple(constant_chain_job(i, 0.0, 4, 1, 10.0, 1.0, 2.0, 1.0, 1) for i in (0, 1))
    return OfflineProblem(Instance(jobs), 1, 1, 1.0)


def test_one_job_per_batch_finishes_each_job_before_the_next_pre_starts():
    """A: 0-10 pre, 10-11, 11-13 quantum, 13-14 post; B the same from 14: 14 + 28 = 42."""
    total, starts, _ = batch_schedule(two_long_jobs(), [0, 1], [True, True])
    assert total == pytest.approx(42.0)
    assert starts[4] == pytest.approx(14.0)  # B's pre


def test_one_batch_starts_the_next_pre_while_the_first_job_waits_for_its_quantum_task():
    """A's iteration runs at 10 and its quantum task at 11-13, but B's pre takes the
    server at 11, so A's post waits until 21: A ends at 22, B at 26; 48 in all."""
    total, starts, _ = batch_schedule(two_long_jobs(), [0, 1], [False, True])
    assert total == pytest.approx(48.0)
    assert starts[4] == pytest.approx(11.0)
    assert starts[3] == pytest.approx(21.0)  # A's post


@pytest.mark.parametrize("seed", range(6))
def test_batch_schedules_are_feasible_and_cost_what_they_report(seed):
    """Any order and breaks give a schedule that passes the checker, whose sum of
    (weighted) delays is the simulated cost."""
    rng = random.Random(seed)
    inst = small_instance(5, 2, (4, 6, 8), seed=seed, interarrival_s=15, priorities=(1, 3))
    for q in (1, 2):
        p = OfflineProblem(inst, 1, q, 1e9)
        order = [j.job_id for j in inst.jobs]
        rng.shuffle(order)
        breaks = [rng.random() < 0.5 for _ in order]
        for weighted in (False, True):
            total, starts, servers = batch_schedule(p, order, breaks, weighted)
            sched = exact_schedule(p, starts, servers)
            assert check_schedule(inst, sched, 1, q, 1e9) == []
            assert sched.sum_delays_s(inst, weighted) == pytest.approx(total, abs=1e-9)


def test_search_is_never_worse_than_its_seed_order_in_one_batch_per_job():
    inst = small_instance(6, 3, (4, 6, 8, 10), seed=2, interarrival_s=20)
    p = OfflineProblem(inst, 1, 2, 1e9)
    order = [j.job_id for j in inst.jobs]
    seed_cost = batch_schedule(p, order, [True] * len(order))[0]
    found = batch_search(p, [order], evaluations=500)
    assert check_schedule(inst, found, 1, 2, 1e9) == []
    assert found.sum_delays_s(inst) <= seed_cost + 1e-9


def test_search_refuses_more_than_one_classical_server():
    inst = small_instance(3, 1, (4,), seed=0, interarrival_s=20)
    with pytest.raises(ValueError, match="one classical server"):
        batch_search(OfflineProblem(inst, 2, 1, 1e9), [[0, 1, 2]])
