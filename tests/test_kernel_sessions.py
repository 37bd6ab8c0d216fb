"""The compiled kernel with runtime sessions (docs/platform-features.md section 2): the
reservation, its three end conditions, stale release events, new sessions after a timeout
or the length, hand-computed on tiny instances (C = 2 workers of 1 op/s: classical work
in ops is seconds, and two jobs never slow each other down)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from hqsched.instances.model import Instance, Platform, QCGroup, constant_chain_job
from hqsched.instances.workload import WorkloadSpec
from hqsched.online.config import Sessions, SimulationConfig
from hqsched.online.engine import simulate

#: Jobs of priority >= 2 hold sessions; long limits unless a test sets them.
LONG = Sessions(min_priority=2, max_length_s=1e6, idle_timeout_s=60.0)


def replay(jobs: list, sessions: Sessions | None, qcs: int = 1,
           groups: tuple[QCGroup, ...] = ()) -> Any:
    """An instance run to completion with ``sessions`` (fifo, C = 2, S = 1 op/s)."""
    platform = Platform(2, 1.0, qcs if not groups else 1, qc_groups=groups)
    config = SimulationConfig(platform, duration_s=math.inf, instance=Instance(tuple(jobs)),
                              record_schedule=True, sessions=sessions)
    return simulate(config, 0)


def session_job(job_id: int, arrival: float, iterations: int, it: float, q: float,
                priority: int = 2) -> Any:
    """``iterations`` pairs of ``it`` s classical then ``q`` s quantum; no pre or post work."""
    return constant_chain_job(job_id, arrival, 4, priority, 0.0, it, q, 0.0, iterations)


def quantum_starts(result: Any) -> list[tuple[int, int, float, float]]:
    """(job, QC, start, end) of every quantum task, by job, then start."""
    return sorted((t.job_id, t.server, t.start_s, t.end_s) for t in result.schedule.tasks
                  if t.kind.name == "QUANTUM")


def by_job(result: Any, column: str) -> dict[int, float]:
    return dict(zip(result.jobs["job_id"].tolist(), result.jobs[column].tolist()))


def test_a_session_reserves_its_qc_until_the_jobs_last_quantum_task_ends():
    """Job 0 (session): classical [0, 2], quantum [2, 3] opens the session, classical
    [3, 5], quantum [5, 6] on the held QC, the last one: the session ends at 6. Job 1 (no
    session) is ready for the only QC at 3.5 and waits for the session to end."""
    jobs = [session_job(0, 0.0, 2, 2.0, 1.0), session_job(1, 3.5, 1, 0.0, 1.0, priority=1)]
    result = replay(jobs, LONG)
    assert quantum_starts(result) == [(0, 0, 2.0, 3.0), (0, 0, 5.0, 6.0), (1, 0, 6.0, 7.0)]
    assert by_job(result, "completion_s") == {0: 6.0, 1: 7.0}
    assert by_job(result, "quantum_wait_s") == {0: 0.0, 1: 2.5}
    summary = result.summary
    assert summary["sim_end_s"] == 7.0  # the stale release at 3 + 60 s is no event
    assert summary["events"] == 2 + 6 + 4  # arrivals and task ends only
    assert summary["sessions"] == 1.0
    assert summary["session_idle_qc_s"] == 2.0  # [3, 5]
    assert summary["avg_quantum_reserved"] == pytest.approx(4.0 / 7.0)  # [2, 6]
    assert summary["qc_utilization"] == pytest.approx(3.0 / 7.0)  # busy, not reserved
    without = replay(jobs, None)  # job 1 takes the idle QC at 3.5
    assert quantum_starts(without) == [(0, 0, 2.0, 3.0), (0, 0, 5.0, 6.0), (1, 0, 3.5, 4.5)]
    assert "sessions" not in without.summary and "session_idle_qc_s" not in without.summary


def test_an_idle_timeout_releases_the_qc_and_the_next_task_opens_a_new_session():
    """Timeout 1.5 s: job 0's quantum task ends at 3, its next one is ready at 5: the QC is
    released at 4.5 and job 1 (waiting since 3.5) takes it [4.5, 5.5]; job 0 waits for it
    and opens a second session at 5.5."""
    jobs = [session_job(0, 0.0, 2, 2.0, 1.0), session_job(1, 3.5, 1, 0.0, 1.0, priority=1)]
    result = replay(jobs, Sessions(2, 1e6, 1.5))
    assert quantum_starts(result) == [(0, 0, 2.0, 3.0), (0, 0, 5.5, 6.5), (1, 0, 4.5, 5.5)]
    assert by_job(result, "quantum_wait_s") == {0: 0.5, 1: 1.0}
    summary = result.summary
    assert summary["sessions"] == 2.0
    assert summary["session_idle_qc_s"] == 1.5  # [3, 4.5]
    assert summary["events"] == 2 + 6 + 4 + 1  # the release is an event
    assert summary["avg_quantum_reserved"] == pytest.approx((2.5 + 1.0) / 6.5)


def test_a_next_task_ready_at_the_timeout_instant_follows_the_event_order():
    """Timeout 2 s: the release (scheduled at 3) and the end of job 0's classical task (a
    processor-sharing completion) are both at 5; the completion runs first, so the task
    starts on the held QC and the release is stale."""
    jobs = [session_job(0, 0.0, 2, 2.0, 1.0), session_job(1, 3.5, 1, 0.0, 1.0, priority=1)]
    result = replay(jobs, Sessions(2, 1e6, 2.0))
    assert quantum_starts(result) == [(0, 0, 2.0, 3.0), (0, 0, 5.0, 6.0), (1, 0, 6.0, 7.0)]
    assert result.summary["sessions"] == 1.0
    assert result.summary["events"] == 12


def test_the_maximum_length_releases_the_qc_during_a_classical_step():
    """Length 2.5 s: opened at 2, the session ends at 4.5 while the job computes [3, 5]; its
    next task finds the QC free at 5 and opens a new session (expires 7.5, during [6, 8]);
    the third opens at 8 and ends with the job's last task at 9."""
    result = replay([session_job(0, 0.0, 3, 2.0, 1.0)], Sessions(2, 2.5, 60.0))
    assert quantum_starts(result) == [(0, 0, 2.0, 3.0), (0, 0, 5.0, 6.0), (0, 0, 8.0, 9.0)]
    summary = result.summary
    assert summary["sessions"] == 3.0
    assert summary["session_idle_qc_s"] == 1.5 + 1.5  # [3, 4.5] and [6, 7.5]
    assert summary["events"] == 1 + 8 + 2  # two releases, the stale ones are none


def test_a_task_running_at_the_maximum_length_finishes_and_then_the_session_ends():
    """Length 1.5 s: opened at 1 by a 2 s task, it expires at 2.5 while the task runs: the
    task ends at 3 and the session with it, so job 1 (waiting since 2) takes the QC [3, 3.5];
    job 0's next task (ready at 4) opens a new session."""
    jobs = [session_job(0, 0.0, 2, 1.0, 2.0), session_job(1, 2.0, 1, 0.0, 0.5, priority=1)]
    result = replay(jobs, Sessions(2, 1.5, 60.0))
    assert quantum_starts(result) == [(0, 0, 1.0, 3.0), (0, 0, 4.0, 6.0), (1, 0, 3.0, 3.5)]
    assert result.summary["sessions"] == 2.0
    assert result.summary["session_idle_qc_s"] == 0.0


def test_a_session_on_a_fleet_runs_each_task_at_its_qcs_speed():
    """QC 0 of speed 2 (fastest: chosen), QC 1 of speed 1: both session tasks run on QC 0
    in half their reference time; job 1 (4 qubits, no session) meanwhile takes QC 1."""
    groups = (QCGroup("slow"), QCGroup("fast", speed=2.0))
    jobs = [session_job(0, 0.0, 2, 2.0, 2.0), session_job(1, 3.5, 1, 0.0, 1.0, priority=1)]
    result = replay(jobs, LONG, groups=groups)
    assert quantum_starts(result) == [(0, 1, 2.0, 3.0), (0, 1, 5.0, 6.0), (1, 0, 3.5, 4.5)]


def test_stale_releases_fill_and_grow_the_server_heap():
    """200 iterations under a long timeout leave 199 stale releases pending at once (the
    heap starts with room for 4): the run goes on and none is counted."""
    result = replay([session_job(0, 0.0, 200, 1.0, 1.0)], Sessions(2, 1e6, 1e6))
    assert result.jobs["completion_s"].tolist() == [400.0]
    assert result.summary["events"] == 1 + 402
    assert result.summary["sessions"] == 1.0
    assert result.summary["session_idle_qc_s"] == 199.0


def test_sessions_nobody_uses_change_no_schedule():
    """``min_priority`` above every priority: the sessions code path with no session gives
    the records and summary of a run without sessions (fifo and a key policy)."""
    platform = Platform(1, 1e9, 2, 40, 40)
    workload = WorkloadSpec(interarrival_s=300.0, qubits=(4, 6, 8, 10), priorities=(1, 2, 4),
                            iteration_scale=0.2)
    for policy in ("fifo", "weighted", "sqf"):
        runs = [simulate(SimulationConfig(platform, policy=policy, duration_s=86400.0,
                                          workload=workload, sessions=sessions), 5)
                for sessions in (None, Sessions(min_priority=5))]
        for name, column in runs[0].jobs.items():
            assert np.array_equal(column, runs[1].jobs[name],
                                  equal_nan=column.dtype.kind == "f"), (policy, name)
        extra = {k: runs[1].summary.pop(k) for k in
                 ("sessions", "session_idle_qc_s", "avg_quantum_reserved")}
        assert extra == {"sessions": 0.0, "session_idle_qc_s": 0.0, "avg_quantum_reserved": 0.0}
        assert runs[1].summary == runs[0].summary


def test_sessions_on_a_stochastic_run_reserve_qcs_and_keep_the_counts_consistent():
    platform = Platform(1, 1e9, 2, 40, 40)
    workload = WorkloadSpec(interarrival_s=300.0, qubits=(4, 6, 8, 10), priorities=(1, 2, 4),
                            iteration_scale=0.2)
    config = SimulationConfig(platform, duration_s=86400.0, workload=workload,
                              sessions=Sessions(min_priority=4, idle_timeout_s=30.0))
    summary = simulate(config, 1).summary
    assert summary["sessions"] > 0
    reserved, busy = summary["avg_quantum_reserved"], summary["avg_quantum_in_service"]
    assert 0 < summary["session_idle_qc_s"] / 86400.0 < reserved <= 2.0
    assert busy + summary["session_idle_qc_s"] / 86400.0 <= 2.0 + 1e-9


@pytest.mark.parametrize("policy", ["fifo", "weighted", "sqf"])
def test_every_qc_is_free_busy_or_held_and_none_idles_beside_a_task_it_can_run(
        policy, monkeypatch):
    """Runs cut mid-way (fleet + sessions): free + running + session-idle = Q, the open
    sessions are the live jobs' ones, and no free QC could run a pending task."""
    from hqsched.online import engine

    kernels = []
    result = engine._result
    monkeypatch.setattr(engine, "_result",
                        lambda config, seed, kernel, *rest: (kernels.append(kernel),
                                                             result(config, seed, kernel,
                                                                    *rest))[1])
    groups = (QCGroup("torino", count=1, backend="ibm_torino"),
              QCGroup("small", count=2, qubits=7, speed=0.7))
    workload = WorkloadSpec(interarrival_s=200.0, qubits=(4, 6, 8, 10), priorities=(1, 2, 4),
                            iteration_scale=0.2)
    for duration in (19080.0, 146880.0):
        config = SimulationConfig(Platform(1, 1e9, 1, 40, 40, qc_groups=groups), policy=policy,
                                  duration_s=duration, workload=workload,
                                  sessions=Sessions(2, 600.0, 20.0))
        engine.simulate(config, 2)
        kernel = kernels[-1]
        s, state = kernel.scalars, kernel.state
        assert s["n_free_qcs"] + s["n_service"] + s["n_session_idle"] == 3
        assert int(state.qc_free.sum()) == s["n_free_qcs"]
        assert int((kernel.live_slots()["session_qc"] >= 0).sum()) == s["n_reserved"]
        assert int(state.fleet.busy.sum()) == s["n_service"]
        pending = state.pending.heap["val"][:int(state.pending.counts[0])]
        assert len(pending) == s["n_pending"]
        qubits = state.slots["qubits"][pending]
        for qc in np.flatnonzero(state.qc_free):
            assert not (qubits <= state.fleet.group_qubits[state.fleet.qc_group[qc]]).any()
