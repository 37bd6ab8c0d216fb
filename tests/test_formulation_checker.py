"""The independent checker rejects each kind of infeasibility (one test each)."""

import dataclasses

import pytest

from hqsched.formulation.checker import check_schedule
from hqsched.instances.model import Instance, TaskKind, constant_chain_job
from hqsched.instances.schedule import SHARED_POOL, Schedule, ScheduledTask

C, Q = TaskKind.CLASSICAL, TaskKind.QUANTUM


@pytest.fixture
def inst():
    # Two jobs, S = 1: pre 2, it 1, quantum 3, post 1.
    return Instance(tuple(constant_chain_job(i, float(i), 4, 1, 2.0, 1.0, 3.0, 1.0, 1)
                          for i in range(2)))


@pytest.fixture
def good():
    return [ScheduledTask(0, 0, C, 0, 0.0, 2.0), ScheduledTask(0, 1, C, 0, 2.0, 3.0),
            ScheduledTask(0, 2, Q, 0, 3.0, 6.0), ScheduledTask(0, 3, C, 0, 6.0, 7.0),
            ScheduledTask(1, 0, C, 1, 1.0, 3.0), ScheduledTask(1, 1, C, 1, 3.0, 4.0),
            ScheduledTask(1, 2, Q, 0, 6.0, 9.0), ScheduledTask(1, 3, C, 1, 9.0, 10.0)]


def check(inst, tasks, c=2, q=1):
    return check_schedule(inst, Schedule(tuple(tasks)), c, q, 1.0)


def test_feasible_schedule_passes(inst, good):
    assert check(inst, good) == []


def test_missing_task_is_reported(inst, good):
    assert any("not scheduled" in p for p in check(inst, good[:-1]))


def test_task_scheduled_twice_is_reported(inst, good):
    assert any("more than once" in p for p in check(inst, good + [good[0]]))


def test_server_out_of_range_is_reported(inst, good):
    good[2] = dataclasses.replace(good[2], server=1)
    assert any("out of range" in p for p in check(inst, good))


def test_shared_pool_required_when_classical_capacity_is_infinite(inst, good):
    assert any("out of range" in p for p in check(inst, good, c=None))
    relaxed = [dataclasses.replace(t, server=SHARED_POOL) if t.kind is C else t for t in good]
    assert check(inst, relaxed, c=None) == []


def test_wrong_duration_is_reported(inst, good):
    good[3] = dataclasses.replace(good[3], end_s=6.5)
    assert any("duration" in p for p in check(inst, good))


def test_start_before_arrival_is_reported(inst, good):
    tasks = [dataclasses.replace(t, start_s=t.start_s - 0.5, end_s=t.end_s - 0.5)
             if t.job_id == 1 and t.index == 0 else t for t in good]
    assert any("before its arrival" in p for p in check(inst, tasks))


def test_chain_precedence_violation_is_reported(inst, good):
    good[1] = dataclasses.replace(good[1], start_s=1.5, end_s=2.5)
    assert any("before task 0 ends" in p for p in check(inst, good))


def test_overlap_on_a_server_is_reported(inst, good):
    good[6] = dataclasses.replace(good[6], start_s=5.0, end_s=8.0)  # quantum 0 busy until 6
    good[7] = dataclasses.replace(good[7], start_s=8.0, end_s=9.0)
    assert any("overlaps" in p for p in check(inst, good))


def test_wrong_kind_is_reported(inst, good):
    good[2] = dataclasses.replace(good[2], kind=C)
    assert any("kind" in p for p in check(inst, good))
