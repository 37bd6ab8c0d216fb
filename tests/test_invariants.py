"""Cross-part invariants (MODEL.md) on random tiny instances: online vs offline, checker.

Fast part (CI): hypothesis-generated instances plus a seeded sweep of 40
cases from ``hqsched.validation.invariants`` (~70 instances, ~35 s CPU; a loaded 2-core
machine doubles the wall time). The 300-case sweep is ``slow``.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hqsched.instances.model import Instance, Job
from hqsched.validation.invariants import (
    INVARIANTS,
    Case,
    case_from_origin,
    cases,
    check_case,
    random_tiny_case,
    run_invariants,
)

# Durations on a 0.25 s grid from few values: equal completion times are common.
CLASSICAL = st.sampled_from([0.0, 0.0, 0.25, 1.0, 2.0, 3.0])
QUANTUM = st.sampled_from([0.25, 1.0, 2.0, 3.0])
ARRIVAL = st.sampled_from([0.0, 0.0, 1.0, 2.5])


@st.composite
def tiny_cases(draw) -> Case:
    n_jobs = draw(st.integers(2, 4))
    budget = 5  # total iterations: keeps every MILP well under a second
    jobs = []
    for j in range(n_jobs):
        n = draw(st.integers(0, min(2, budget)))
        budget -= n
        jobs.append(Job(j, draw(ARRIVAL), 4, draw(st.sampled_from([1, 2, 4])), draw(CLASSICAL),
                        tuple(draw(CLASSICAL) for _ in range(n)),
                        tuple(draw(QUANTUM) for _ in range(n)), draw(CLASSICAL)))
    return Case(Instance(tuple(jobs), name="hypothesis"), draw(st.integers(1, 2)),
                draw(st.integers(1, 2)), 1.0, draw(st.booleans()), origin="hypothesis")


def _assert_holds(out) -> None:
    assert not out.failures, "\n".join(f"[{n}] {m}" for n, m in out.failures) + \
        f"\ninstance: {out.instance_json}"


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(tiny_cases())
def test_invariants_hold_on_hypothesis_instances(case):
    out = check_case(case, time_limit_s=30.0)
    _assert_holds(out)
    # Tiny instances solve to proven optimality: the comparisons are against the optimum.
    assert out.proven_optimal and out.relaxation_proven


def test_all_arrivals_tied_and_zero_work_classical_tasks():
    # Every job at t=0 with zero-work pre/post: the same-instant event order decides everything.
    jobs = tuple(Job(j, 0.0, 4, p, 0.0, (0.0, 1.0), (2.0, 2.0), 0.0)
                 for j, p in enumerate([1, 4, 2]))
    for c, q in [(1, 1), (1, 2), (2, 1)]:
        _assert_holds(check_case(Case(Instance(jobs), c, q, 1.0, True, "tied")))


def test_every_invariant_is_exercised_by_the_seeded_sweep():
    report = run_invariants(40, seed=0)
    assert report.ok, report.format()
    # Each case checks every invariant once (solver ones) or once per policy.
    assert report.cases == 40
    for name in INVARIANTS:
        assert report.checks[name] >= 40, name
    assert report.proven_optimal == 40


def test_cases_are_deterministic_and_rebuildable():
    a, b = cases(8, seed=5), cases(8, seed=5)
    assert [c.instance for c in a] == [c.instance for c in b]
    for c in a:
        again = case_from_origin(c.origin)
        assert again.instance == c.instance and again.classical_servers == c.classical_servers
    # The generator produces ties and zero-work classical tasks, the point of the sweep.
    tiny = [random_tiny_case(s).instance for s in range(40)]
    assert any(len({j.arrival_s for j in i.jobs}) < len(i.jobs) for i in tiny)
    assert any(j.pre_ops == 0 or j.post_ops == 0 or 0 in j.iteration_ops
               for i in tiny for j in i.jobs)


def test_a_violation_is_caught(monkeypatch):
    # A solver that over-states its lower bound must trip dedicated_ge_optimum
    # and the bound <= objective check: the harness is not vacuous.
    import dataclasses

    import hqsched.validation.invariants as inv
    real = inv.solve_delays

    def inflated(instance, c, *args, **kwargs):
        res = real(instance, c, *args, **kwargs)
        if c is None:
            return res
        return dataclasses.replace(res, status="feasible", best_bound=10 * res.objective)

    monkeypatch.setattr(inv, "solve_delays", inflated)
    out = check_case(random_tiny_case(1))
    failed = {name for name, _ in out.failures}
    assert {"dedicated_ge_optimum", "solver_schedule_checked"} <= failed
    report = inv.InvariantReport()
    report.add(out)
    assert not report.ok and "FAIL random-1 [dedicated_ge_optimum]" in report.format()


@pytest.mark.slow
def test_invariants_hold_on_300_instances():
    report = run_invariants(300, seed=0, processes=2)
    assert report.ok, report.format()
    assert report.cases == 300
