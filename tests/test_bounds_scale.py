"""Scalable lower and upper bounds (issue 16): formulation.bounds_scale, formulation.upper_bounds,
validation.bounds_calibration and validation.gap_realistic.

Validity is tested where the optimum is proven (branch and bound, C = 1): the
bound is <= the optimum and <= every checked schedule, and the same test
function catches a deliberately invalid bound. CI runs a fast subset; the
full calibration (>= 300 proven instances) is marked slow.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import chain_job

from hqsched.errors import InputError
from hqsched.formulation import bounds_scale as B
from hqsched.formulation.checker import check_schedule
from hqsched.formulation.upper_bounds import list_schedule, upper_bound
from hqsched.instances.model import Instance
from hqsched.validation import bounds_calibration as cal


def _proven(count: int, base_seed: int = 0, max_tasks: int | None = None,
            time_limit_s: float = 5.0) -> list[cal.Proven]:
    cases = [c for c in cal.cases(count, base_seed)
             if max_tasks is None or sum(j.task_count for j in c.instance.jobs) <= max_tasks]
    out = [cal.prove(c, time_limit_s) for c in cases]
    return [p for p in out if p is not None]


@pytest.fixture(scope="module")
def proven() -> list[cal.Proven]:
    # Cases of <= 30 tasks: proven in ~0.2 s each (a generous limit for a loaded machine).
    return _proven(30, max_tasks=30, time_limit_s=60.0)


def _over_tight(case: cal.Case) -> float:
    return 1.5 * cal.scalable_bound(case)


def _release_counted_twice(case: cal.Case) -> float:
    """Invalid on purpose: adds each job's time before its first quantum task twice."""
    load = B.resource_load(case.instance, "Q", case.quantum, cal.CAPACITY, case.weighted)
    head = load.release - load.arrival
    return cal.scalable_bound(case) + float(np.sum(load.weight * head))


def test_calibration_subset_is_proven_and_mixed(proven: list[cal.Proven]) -> None:
    assert len(proven) >= 15
    assert {p.case.name.split("-")[0] for p in proven} == {"small", "trace"}


def test_bounds_below_optimum_and_every_schedule(proven: list[cal.Proven]) -> None:
    assert cal.bound_violations(proven, cal.scalable_bound) == []
    assert cal.bound_violations(proven, lambda c: cal.scalable_bound(c, None)) == []
    for name in B.BOUNDS:  # each bound on its own, not only the best
        one = (name,)
        assert cal.bound_violations(proven, lambda c, one=one: B.lower_bound(
            c.instance, 1, c.quantum, cal.CAPACITY, c.weighted, one).best) == [], name


@pytest.mark.parametrize("wrong", [_over_tight, _release_counted_twice])
def test_invalid_bound_is_caught(proven: list[cal.Proven], wrong) -> None:
    assert cal.bound_violations(proven, wrong)


def test_upper_bounds_are_checked_and_above_optimum(proven: list[cal.Proven]) -> None:
    for p in proven:
        ub = upper_bound(p.case.instance, 1, p.case.quantum, cal.CAPACITY, p.case.weighted,
                         time_limit_s=0.2)
        assert ub.schedule is not None
        assert check_schedule(p.case.instance, ub.schedule, 1, p.case.quantum, cal.CAPACITY) == []
        assert ub.objective >= p.optimum * (1 - 1e-9)


@pytest.mark.slow
def test_full_calibration_300_proven() -> None:
    proven = _proven(340)
    assert len(proven) >= 300
    assert cal.bound_violations(proven, cal.scalable_bound) == []
    assert cal.bound_violations(proven, lambda c: cal.scalable_bound(c, None)) == []
    assert cal.bound_violations(proven, _over_tight)


# -- hand-checked values -------------------------------------------------------

def _two_jobs() -> Instance:
    # S = 1: classical work = seconds. Job 0: pre 1, 4 x (c 0, q 2), post 1; job 1 the same at t=1.
    return Instance((chain_job(0, 0.0, 1.0, 1.0, 4, 0.0, 2.0), chain_job(1, 1.0, 1.0, 1.0, 4, 0.0, 2.0)))


def test_single_qc_two_jobs_hand_values() -> None:
    inst = _two_jobs()
    load = B.resource_load(inst, "Q", 1, 1.0)
    assert list(load.release) == [1.0, 2.0] and list(load.work) == [8.0, 8.0]
    assert list(load.tail) == [1.0, 1.0]
    # SRPT on one QC: job 0 runs [1, 9), job 1 [9, 17): completions 9 + 17, tails 2, arrivals 1.
    assert B.fast_machine_srpt_completion(load) == pytest.approx(26.0)
    report = B.lower_bound(inst, None, 1, 1.0)
    assert report.values["fast_machine_srpt"] == pytest.approx(26.0 + 2.0 - 1.0)
    # The optimum on one QC is exactly that (no job can do better): 10 + 17.
    ub = upper_bound(inst, None, 1, 1.0)
    assert ub.objective == pytest.approx(27.0)
    assert report.best <= ub.objective + 1e-9


def test_capped_lp_single_job_is_its_chain() -> None:
    inst = Instance((chain_job(0, 5.0, 2.0, 1.0, 10, 0.0, 3.0),))
    load = B.resource_load(inst, "Q", 4, 1.0)
    value = B.capped_lp_completion(load)
    # rate cap 1: C >= r + W = 7 + 30; the grid loses at most one interval (horizon / LP_SLOTS)
    assert 37.0 - 0.1 <= value <= 37.0 + 1e-9
    assert B.mean_busy_time_completion(load) == pytest.approx(7.0 + 30.0 / 8 + 15.0)


def test_lower_bound_rejects_unknown_name() -> None:
    with pytest.raises(InputError, match="unknown bound"):
        B.lower_bound(_two_jobs(), 1, 1, 1.0, bounds=("nope",))


def test_list_schedule_rules_agree_with_their_schedules() -> None:
    inst = cal.trace_shaped_instance(3, 3, 5)
    for rule in ("wsrpt", "static"):
        for c in (1, None):
            ub = list_schedule(inst, c, 2, cal.CAPACITY, True, rule)
            assert ub.schedule is not None
            assert math.isclose(ub.schedule.sum_delays_s(inst, True), ub.objective, rel_tol=1e-9)


# -- the realistic study -------------------------------------------------------

def test_realistic_window_study_one_unit(tmp_path) -> None:
    from hqsched.validation import gap_realistic as study
    cfg = study.RealisticGapConfig(windows=1, loads=(0.6,), window_s=4 * 3600.0,
                                   policies=("fifo", "lifo"), search_time_s=0.5)
    frame = study.run_study(cfg, tmp_path, processes=1, progress=False)
    assert set(frame["mode"]) == {"dedicated", "serverless"} and len(frame) == 4
    assert (frame["online_over_lb"] >= frame["online_over_ub"]).all()
    assert (frame["ub_s"] >= frame["lb_s"]).all()
    summary = study.summarize(frame)
    assert "fifo" in study.format_summary(summary)
    again = study.run_study(cfg, tmp_path, processes=1, progress=False)  # resumes: same rows
    assert again.equals(frame)


def test_parse_loads() -> None:
    from hqsched.validation.gap_realistic import parse_loads
    assert parse_loads("0.5, 0.9", "--loads") == (0.5, 0.9)
    with pytest.raises(InputError, match="--loads"):
        parse_loads("0.5,1.0", "--loads")
