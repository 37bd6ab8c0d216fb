"""Hand-computed acceptance tests of docs/platform-features.md (issue 17), on both engines.

Every scenario is small enough to solve by hand; the expected values are
written in the test and derived in its docstring, never read from an engine.
Each test runs on the SimPy model (``online/simpy_model.py``, the readable
specification) and on the compiled kernel (``online/engine.py``). Unless said
otherwise: ``S = 1`` op/s (classical work in ops is seconds), ``C = 10``
workers (so up to 10 classical tasks each run at full speed), no admission
limit, run to completion (the window ends at the last event).
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from conftest import chain_job

from hqsched.instances.model import Instance, Job, Platform, QCGroup
from hqsched.instances.traces import load_traces
from hqsched.online import engine, simpy_model
from hqsched.online.config import (
    JOB_FIELDS,
    Lifecycle,
    ReplicationResult,
    Sessions,
    SimulationConfig,
)
from hqsched.online.policies import Routing, resolve_routing

#: Every test runs on both engines.
ENGINES = ("simpy", "kernel")


def simulate(engine_name: str, config: SimulationConfig) -> ReplicationResult:
    result = (simpy_model if engine_name == "simpy" else engine).simulate(config, 0)
    assert result.jobs is not None
    return result


def config(jobs: list[Job], qcs: int = 1, groups: tuple[QCGroup, ...] = (), **options) -> SimulationConfig:
    platform = Platform(10, 1.0, qcs, None, None, qc_groups=groups)
    return SimulationConfig(platform, duration_s=math.inf, instance=Instance(tuple(jobs)),
                            record_schedule=True, **options)


def completions(result: ReplicationResult) -> list[float]:
    assert result.jobs is not None
    return result.jobs["completion_s"].tolist()


def waits(result: ReplicationResult) -> list[float]:
    assert result.jobs is not None
    return result.jobs["quantum_wait_s"].tolist()


def quantum_runs(result: ReplicationResult) -> list[tuple[int, int, int, float, float]]:
    """(job, task, QC, start, end) of every quantum task, by start then job."""
    assert result.schedule is not None
    return sorted((t.job_id, t.index, t.server, t.start_s, t.end_s) for t in result.schedule.tasks
                  if t.kind.value == "quantum")


def quantum_job(job_id: int, q: float, qubits: int = 4, arrival: float = 0.0,
                priority: int = 1) -> Job:
    """One quantum task of ``q`` reference seconds, no classical work."""
    return chain_job(job_id, arrival, 0.0, 0.0, 1, 0.0, q=q, priority=priority, qubits=qubits)


# ---------------------------------------------------------------------------
# 1. A heterogeneous quantum fleet


@pytest.mark.parametrize("engine_name", ENGINES)
def test_a_10_qubit_task_never_runs_on_a_7_qubit_qc(engine_name):
    """QCs 0, 1: 7 qubits; QC 2: 10 qubits. Four 10-qubit jobs of 1 s at t = 0 all wait for
    QC 2 (done at 1, 2, 3, 4) although QCs 0 and 1 stay free; a 4-qubit job runs on QC 0."""
    groups = (QCGroup("small", 2, 7), QCGroup("big", 1, 10))
    jobs = [quantum_job(i, 1.0, qubits=10) for i in range(4)] + [quantum_job(4, 1.0)]
    result = simulate(engine_name, config(jobs, groups=groups))
    assert completions(result) == [1.0, 2.0, 3.0, 4.0, 1.0]
    assert waits(result) == [0.0, 1.0, 2.0, 3.0, 0.0]
    runs = quantum_runs(result)
    assert [qc for job, _, qc, _, _ in runs if job < 4] == [2, 2, 2, 2]
    assert [qc for job, _, qc, _, _ in runs if job == 4] == [0]
    summary = result.summary
    assert summary["qc_utilization_small"] == 1.0 / (2 * 4.0)
    assert summary["qc_utilization_big"] == 1.0
    assert summary["qc_utilization"] == 5.0 / (3 * 4.0)


@pytest.mark.parametrize("engine_name", ENGINES)
def test_a_freed_qc_picks_only_among_the_tasks_it_may_run(engine_name):
    """QC 0: 7 qubits, QC 1: 10. At t = 0: job 0 (4 qubits, 3 s) takes QC 0 (equal factors:
    the lowest number), job 1 (10 qubits, 5 s) QC 1; job 2 (10 qubits) and job 3 (4 qubits)
    wait, 1 s each. At 3 QC 0 frees: fifo's earliest pending is job 2, which QC 0 cannot
    run, so it takes job 3 (3-4); at 5 QC 1 takes job 2 (5-6)."""
    groups = (QCGroup("small", 1, 7), QCGroup("big", 1, 10))
    jobs = [quantum_job(0, 3.0), quantum_job(1, 5.0, qubits=10), quantum_job(2, 1.0, qubits=10),
            quantum_job(3, 1.0)]
    result = simulate(engine_name, config(jobs, groups=groups))
    assert completions(result) == [3.0, 5.0, 6.0, 4.0]
    assert waits(result) == [0.0, 0.0, 5.0, 3.0]
    assert [(job, qc) for job, _, qc, _, _ in quantum_runs(result)] == [
        (0, 0), (1, 1), (2, 1), (3, 0)]


@pytest.mark.parametrize("engine_name", ENGINES)
def test_durations_scale_by_each_group_speed(engine_name):
    """Speeds 2 and 0.5 (factors 0.5 and 2): two 4-s jobs at t = 0; ``fastest`` puts job 0
    on the fast QC (2 s), job 1 on the slow one (8 s)."""
    groups = (QCGroup("slow", 1, speed=0.5), QCGroup("fast", 1, speed=2.0))
    result = simulate(engine_name, config([quantum_job(0, 4.0), quantum_job(1, 4.0)],
                                          groups=groups))
    assert completions(result) == [2.0, 8.0]
    assert [(job, qc) for job, _, qc, _, _ in quantum_runs(result)] == [(0, 1), (1, 0)]


@pytest.mark.parametrize("engine_name", ENGINES)
def test_backend_groups_run_at_ibm_measured_speeds(engine_name):
    """ibm_job_estimate.csv at 4 qubits: brussels 3.943 s (the fastest: the reference),
    torino 6.621 s. With ``lowest`` routing a 10-s task on the torino QC (QC 0) lasts
    10 x 6.621 / 3.943 s; on the brussels QC (QC 1) 10 s."""
    estimates = load_traces().ibm_estimate_s
    factor = estimates[(4, "ibm_torino")] / estimates[(4, "ibm_brussels")]
    assert factor == pytest.approx(6.62146348835684 / 3.942829668406166)
    groups = (QCGroup("torino", 1, backend="ibm_torino"),
              QCGroup("brussels", 1, backend="ibm_brussels"))
    result = simulate(engine_name, config([quantum_job(0, 10.0), quantum_job(1, 10.0)],
                                          groups=groups, routing="lowest"))
    assert completions(result) == [10.0 * factor, 10.0]


@pytest.mark.parametrize("routing, qc, completion", [
    ("fastest", 1, 1.0), ("smallest", 2, 8.0), ("lowest", 0, 4.0)])
@pytest.mark.parametrize("engine_name", ENGINES)
def test_routing_rules_choose_the_free_qc(engine_name, routing, qc, completion):
    """QC 0: 20 qubits, speed 1; QC 1: 20 qubits, speed 4; QC 2: 8 qubits, speed 0.5. A
    4-qubit task of 4 s: ``fastest`` takes QC 1 (1 s), ``smallest`` QC 2 (the fewest qubits:
    8 s), ``lowest`` QC 0 (4 s)."""
    groups = (QCGroup("a", 1, 20), QCGroup("b", 1, 20, speed=4.0), QCGroup("c", 1, 8, speed=0.5))
    result = simulate(engine_name, config([quantum_job(0, 4.0)], groups=groups, routing=routing))
    assert completions(result) == [completion]
    assert quantum_runs(result)[0][2] == qc


@pytest.mark.parametrize("engine_name", ENGINES)
def test_smallest_keeps_the_large_qc_for_the_large_task(engine_name):
    """QC 0: 27 qubits, QC 1: 7. Job 0 (4 qubits, 2 s) then job 1 (20 qubits, 2 s) at
    t = 0: ``smallest`` puts job 0 on QC 1, so job 1 runs at once (both done at 2);
    ``fastest`` (equal factors: the lowest number) puts job 0 on QC 0 and job 1 waits."""
    groups = (QCGroup("big", 1, 27), QCGroup("small", 1, 7))
    jobs = [quantum_job(0, 2.0), quantum_job(1, 2.0, qubits=20)]
    assert completions(simulate(engine_name, config(jobs, groups=groups,
                                                    routing="smallest"))) == [2.0, 2.0]
    assert completions(simulate(engine_name, config(jobs, groups=groups,
                                                    routing="fastest"))) == [2.0, 4.0]


@pytest.mark.parametrize("engine_name", ENGINES)
def test_smallest_breaks_a_qubit_tie_by_speed(engine_name):
    """Two 8-qubit groups, speeds 1 and 2: ``smallest`` takes the faster, QC 1 (4 s: 2 s)."""
    groups = (QCGroup("a", 1, 8), QCGroup("b", 1, 8, speed=2.0))
    result = simulate(engine_name, config([quantum_job(0, 4.0)], groups=groups,
                                          routing="smallest"))
    assert completions(result) == [2.0] and quantum_runs(result)[0][2] == 1


@pytest.mark.parametrize("engine_name", ENGINES)
def test_random_draws_only_when_an_eligible_task_is_pending(engine_name):
    """``random`` on QC 0 (7 qubits) and QC 1 (10), seed 0, whose policy stream starts
    u = 0.890, 0.557, 0.801, 0.957, 0.059. At 0: job 0 (4 qubits, 2 s) takes QC 0, job 1
    (10 qubits, 5 s) QC 1; jobs 2, 4 (4 qubits) and 3, 5, 6 (10 qubits), 1 s each, wait.
    At 2, QC 0 picks among its eligible [2, 4] with u1: int(0.890 x 2) = 1, job 4 (2-3); at
    3 job 2 (u2; 3-4). At 4 QC 0 finds no eligible task: no draw. At 5 QC 1 draws u3 among
    [3, 5, 6]: job 6 (5-6); at 6 u4 among [3, 5]: job 5 (6-7); job 3 last (7-8). (A draw at
    4 would shift them: u4 then u5 = 0.059 would pick job 6, then job 3.)"""
    groups = (QCGroup("small", 1, 7), QCGroup("big", 1, 10))
    jobs = [quantum_job(0, 2.0), quantum_job(1, 5.0, qubits=10), quantum_job(2, 1.0),
            quantum_job(3, 1.0, qubits=10), quantum_job(4, 1.0),
            quantum_job(5, 1.0, qubits=10), quantum_job(6, 1.0, qubits=10)]
    result = simulate(engine_name, config(jobs, groups=groups, policy="random"))
    assert completions(result) == [2.0, 5.0, 4.0, 8.0, 3.0, 7.0, 6.0]


class SlowestFree(Routing):
    """A user routing: the free eligible QC that runs the task slowest."""

    name = "test-slowest"

    @staticmethod
    def key(qc, task):
        return -qc.factor


class LargestTaskOnHighest(Routing):
    """A user routing reading both views: tasks of more than 4 qubits prefer high QC
    numbers, the others low ones."""

    name = "test-by-size"

    @staticmethod
    def key(qc, task):
        return -qc.number if task.qubits > 4 else qc.number


@pytest.mark.parametrize("engine_name", ENGINES)
def test_a_user_routing_class_orders_the_free_qcs(engine_name):
    """Fleet of the routing test above. ``-factor`` prefers QC 2 (factor 2: 8 s). By size:
    a 6-qubit job takes the highest-numbered eligible free QC (QC 2, 8 qubits: 2 x 4 s),
    a 4-qubit job the lowest (QC 0: 4 s)."""
    groups = (QCGroup("a", 1, 20), QCGroup("b", 1, 20, speed=4.0), QCGroup("c", 1, 8, speed=0.5))
    resolve_routing(SlowestFree)
    resolve_routing(LargestTaskOnHighest)
    result = simulate(engine_name, config([quantum_job(0, 4.0)], groups=groups,
                                          routing="test-slowest"))
    assert completions(result) == [8.0] and quantum_runs(result)[0][2] == 2
    result = simulate(engine_name, config([quantum_job(0, 4.0, qubits=6), quantum_job(1, 4.0)],
                                          groups=groups, routing="test-by-size"))
    assert completions(result) == [8.0, 4.0]
    assert [qc for _, _, qc, _, _ in quantum_runs(result)] == [2, 0]


@pytest.mark.parametrize("policy", ["fifo", "lifo", "sqf", "priority"])
@pytest.mark.parametrize("engine_name", ENGINES)
def test_one_group_of_speed_1_is_the_identical_qc_platform(engine_name, policy):
    """Contract, section 1 "Special case": a single unlimited group of speed 1 gives the
    schedules of ``qc_groups = ()`` for fifo, lifo and key policies."""
    jobs = [chain_job(i, 0.3 * i, 0.5 * (i % 3), 0.2, 2, 0.7 * (i % 2), q=1.0 + (i * 7) % 5,
                      priority=1 + i % 3) for i in range(12)]
    plain = simulate(engine_name, config(jobs, qcs=2, policy=policy))
    fleet = simulate(engine_name, config(jobs, groups=(QCGroup("all", 2),), policy=policy))
    assert fleet.schedule == plain.schedule
    assert all((fleet.jobs[name] == plain.jobs[name]).all() for name in JOB_FIELDS
               if name not in ("completion_s", "job_time_s"))
    assert completions(fleet) == completions(plain)


# ---------------------------------------------------------------------------
# 2. Runtime sessions


def session_jobs(iteration_ops: list[float], quantum_s: list[float]) -> list[Job]:
    """Job 0 (priority 2, session): pre 0, the given iterations, post 0, at t = 0. Job 1
    (priority 1, no session): one quantum task of 1 s, arriving at 1.5."""
    return [Job(0, 0.0, 4, 2, 0.0, iteration_ops, quantum_s, 0.0),
            quantum_job(1, 1.0, arrival=1.5)]


def sessions(max_length_s: float = 100.0, idle_timeout_s: float = 10.0) -> Sessions:
    return Sessions(min_priority=2, max_length_s=max_length_s, idle_timeout_s=idle_timeout_s)


@pytest.mark.parametrize("engine_name", ENGINES)
def test_a_session_reserves_its_qc_until_the_job_ends(engine_name):
    """One QC. Job 0: classical 0-1, quantum 1-3 (the session opens at 1), classical 3-4,
    quantum 4-6 at once (no queueing), post: done at 6, when the session ends (its last
    quantum task). Job 1, pending from 1.5, is not given the reserved QC at 3: it runs 6-7.
    Metrics: 1 session; reserved 1-6 (5 QC-s over a 7-s window), idle 3-4 (1 QC-s)."""
    result = simulate(engine_name, config(session_jobs([1.0, 1.0], [2.0, 2.0]),
                                          sessions=sessions()))
    assert completions(result) == [6.0, 7.0]
    assert waits(result) == [0.0, 4.5]
    assert [(job, start) for job, _, _, start, _ in quantum_runs(result)] == [
        (0, 1.0), (0, 4.0), (1, 6.0)]
    s = result.summary
    assert (s["sessions"], s["session_idle_qc_s"], s["avg_quantum_reserved"]) == (1.0, 1.0, 5 / 7)


@pytest.mark.parametrize("engine_name", ENGINES)
def test_without_sessions_the_waiting_job_takes_the_qc_between_iterations(engine_name):
    """The same jobs, sessions off: job 1 takes the QC at 3 (3-4); job 0's second quantum
    task, ready at 4 (its classical end runs before job 1's end at the same instant), waits
    for it and runs 4-6 (wait 0). No session metrics in the summary."""
    result = simulate(engine_name, config(session_jobs([1.0, 1.0], [2.0, 2.0])))
    assert completions(result) == [6.0, 4.0]
    assert waits(result) == [0.0, 1.5]
    assert "sessions" not in result.summary


@pytest.mark.parametrize("engine_name", ENGINES)
def test_a_session_ends_at_its_idle_timeout(engine_name):
    """Idle timeout 2 s. Job 0: quantum 1-3 (session opened at 1), classical 3-8: the QC is
    released at 3 + 2 = 5 and job 1 (pending since 1.5) runs 5-6. Job 0's next quantum task,
    ready at 8, finds the QC free and opens a second session (8-10). Reserved 1-5 and 8-10
    (6 QC-s over 10 s), idle 3-5 (2 QC-s)."""
    result = simulate(engine_name, config(session_jobs([1.0, 5.0], [2.0, 2.0]),
                                          sessions=sessions(idle_timeout_s=2.0)))
    assert completions(result) == [10.0, 6.0]
    assert waits(result) == [0.0, 3.5]
    s = result.summary
    assert (s["sessions"], s["session_idle_qc_s"], s["avg_quantum_reserved"]) == (2.0, 2.0, 0.6)


@pytest.mark.parametrize("engine_name", ENGINES)
def test_a_session_at_its_maximum_length_during_a_quantum_task_ends_with_the_task(engine_name):
    """Maximum length 4 s. Opened at 1 (quantum 1-3), classical 3-4, quantum 4-6 is running
    at 1 + 4 = 5: it finishes, and the session ends at 6; job 1 runs 6-7. Job 0's third
    quantum task, ready at 7 (its classical end comes before job 1's end at 7), waits and
    runs 7-9 in a new session. Reserved 1-6 and 7-9 (7 QC-s over 9 s), idle 3-4."""
    result = simulate(engine_name, config(session_jobs([1.0] * 3, [2.0] * 3),
                                          sessions=sessions(max_length_s=4.0)))
    assert completions(result) == [9.0, 7.0]
    assert waits(result) == [0.0, 4.5]
    s = result.summary
    assert (s["sessions"], s["session_idle_qc_s"], s["avg_quantum_reserved"]) == (2.0, 1.0, 7 / 9)


@pytest.mark.parametrize("engine_name", ENGINES)
def test_a_session_at_its_maximum_length_during_a_classical_step_frees_the_qc_then(engine_name):
    """Maximum length 2.5 s: opened at 1, quantum 1-3, classical 3-6; the QC is released at
    3.5, job 1 runs 3.5-4.5; job 0's next quantum task runs 6-8 in a new session. Reserved
    1-3.5 and 6-8 (4.5 QC-s over 8 s), idle 3-3.5."""
    result = simulate(engine_name, config(session_jobs([1.0, 3.0], [2.0, 2.0]),
                                          sessions=sessions(max_length_s=2.5)))
    assert completions(result) == [8.0, 4.5]
    assert waits(result) == [0.0, 2.0]
    s = result.summary
    assert (s["sessions"], s["session_idle_qc_s"], s["avg_quantum_reserved"]) == (2.0, 0.5, 4.5 / 8)


@pytest.mark.parametrize("mode, completion", [("serverless", [7.0, 8.0]),
                                              ("dedicated", [8.0, 6.0])])
@pytest.mark.parametrize("engine_name", ENGINES)
def test_a_next_task_ready_at_the_timeout_instant_follows_the_event_order(engine_name, mode,
                                                                         completion):
    """Idle timeout 2 s; job 0's quantum task ends at 3 and its classical step (2 ops) ends at
    5, the release instant. Serverless: the processor-sharing completion runs first, so the
    next quantum task starts on the session (5-7) and job 1 runs 7-8. Dedicated: the
    worker's end was scheduled after the release (both at 3), so the release runs first:
    job 1 takes the QC (5-6) and job 0's task waits for it (6-8)."""
    result = simulate(engine_name, config(session_jobs([1.0, 2.0], [2.0, 2.0]),
                                          sessions=sessions(idle_timeout_s=2.0),
                                          classical_mode=mode))
    assert completions(result) == completion


@pytest.mark.parametrize("engine_name", ENGINES)
def test_session_metrics_cover_the_window_only(engine_name):
    """The idle-timeout scenario with a 2-s warm-up: the session opened at 1 is not counted,
    the one opened at 8 is; held 2-5 and 8-10 (5 QC-s over the 8-s window), idle 3-5."""
    result = simulate(engine_name, config(session_jobs([1.0, 5.0], [2.0, 2.0]), warmup_s=2.0,
                                          sessions=sessions(idle_timeout_s=2.0)))
    assert completions(result) == [10.0, 6.0]
    s = result.summary
    assert (s["sessions"], s["session_idle_qc_s"], s["avg_quantum_reserved"]) == (1.0, 2.0,
                                                                                 5 / 8)


@pytest.mark.parametrize("engine_name", ENGINES)
def test_only_jobs_at_the_minimum_priority_open_sessions(engine_name):
    """``min_priority = 3`` and job 0 has priority 2: no session, as sessions off."""
    result = simulate(engine_name, config(session_jobs([1.0, 1.0], [2.0, 2.0]),
                                          sessions=replace(sessions(), min_priority=3)))
    assert completions(result) == [6.0, 4.0]
    assert (result.summary["sessions"], result.summary["avg_quantum_reserved"]) == (0.0, 0.0)


# ---------------------------------------------------------------------------
# 3. Serverless function instances (cold starts)


def classical_job(job_id: int, arrival: float, pre: float, post: float) -> Job:
    return chain_job(job_id, arrival, pre, post)


@pytest.mark.parametrize("engine_name", ENGINES)
def test_a_cold_start_on_an_empty_pool_then_warm_reuse(engine_name):
    """Cold start 0.5 s, keep-alive 3 s. Job 0 at 0: ``pre`` (1 op) cold-starts an instance,
    runs 0.5-1.5; ``post`` (1 op) reuses it warm, 1.5-2.5. One cold start, 0.5 s of waiting,
    one instance alive over the whole 2.5-s window."""
    life = Lifecycle(max_instances=2, cold_start_s=0.5, keep_alive_s=3.0)
    result = simulate(engine_name, config([classical_job(0, 0.0, 1.0, 1.0)], lifecycle=life))
    assert completions(result) == [2.5]
    s = result.summary
    assert (s["cold_starts"], s["instance_wait_s"], s["warm_instance_s"], s["avg_instances"]) \
        == (1.0, 0.5, 2.5, 1.0)
    assert [(t.start_s, t.end_s) for t in result.schedule.tasks] == [(0.5, 1.5), (1.5, 2.5)]


@pytest.mark.parametrize("arrival, completion, cold, warm_s", [
    (5.5, 7.5, 1.0, 7.5),  # at exactly 2.5 + 3 the instance is still there: warm
    (6.0, 8.5, 2.0, 5.5 + 2.5)])  # gone at 5.5: a second cold start at 6, alive 6-8.5
@pytest.mark.parametrize("engine_name", ENGINES)
def test_an_idle_instance_expires_after_its_keep_alive(engine_name, arrival, completion, cold,
                                                       warm_s):
    """As above, job 0's instance is idle from 2.5, kept warm until 2.5 + 3 = 5.5. Job 1
    (``pre`` and ``post`` 1 op) arriving at 5.5 still finds it; at 6 it is gone."""
    life = Lifecycle(max_instances=2, cold_start_s=0.5, keep_alive_s=3.0)
    jobs = [classical_job(0, 0.0, 1.0, 1.0), classical_job(1, arrival, 1.0, 1.0)]
    result = simulate(engine_name, config(jobs, lifecycle=life))
    assert completions(result) == [2.5, completion]
    s = result.summary
    assert (s["cold_starts"], s["warm_instance_s"]) == (cold, warm_s)
    assert s["avg_instances"] == warm_s / completion


@pytest.mark.parametrize("engine_name", ENGINES)
def test_at_max_instances_ready_tasks_wait_in_fifo_order(engine_name):
    """One instance at most, cold start 0.5 s. Jobs 0-2 at t = 0, ``pre`` and ``post`` 1 op.
    Job 0's pre cold-starts (0.5-1.5); jobs 1, 2 queue. Each end hands the instance to the
    queue's head before the ended job moves on: pre 1 1.5-2.5, pre 2 2.5-3.5, then the posts
    in the order they became ready: 3.5-4.5, 4.5-5.5, 5.5-6.5. Waits: 0.5 + 1.5 + 2.5 for
    the pres, 2 each for the posts (10.5 s); one instance alive 0-6.5; one task running
    0.5-6.5 (6 of 6.5 s)."""
    life = Lifecycle(max_instances=1, cold_start_s=0.5, keep_alive_s=3.0)
    jobs = [classical_job(i, 0.0, 1.0, 1.0) for i in range(3)]
    result = simulate(engine_name, config(jobs, lifecycle=life))
    assert completions(result) == [4.5, 5.5, 6.5]
    s = result.summary
    assert (s["cold_starts"], s["instance_wait_s"], s["warm_instance_s"]) == (1.0, 10.5, 6.5)
    assert s["avg_classical_active"] == 6.0 / 6.5


@pytest.mark.parametrize("engine_name", ENGINES)
def test_instance_metrics_cover_the_window_only(engine_name):
    """The FIFO scenario above with a 2-s warm-up: the cold start (ready at 0) is not counted;
    of the waits only those of tasks ready from 2 on: the posts ready at 2.5 and 3.5 (2 s
    each); one instance alive over the window 2-6.5 (4.5 instance-s)."""
    life = Lifecycle(max_instances=1, cold_start_s=0.5, keep_alive_s=3.0)
    jobs = [classical_job(i, 0.0, 1.0, 1.0) for i in range(3)]
    result = simulate(engine_name, config(jobs, lifecycle=life, warmup_s=2.0))
    assert completions(result) == [4.5, 5.5, 6.5]
    s = result.summary
    assert (s["cold_starts"], s["instance_wait_s"], s["warm_instance_s"], s["avg_instances"]) \
        == (0.0, 4.0, 4.5, 1.0)


@pytest.mark.parametrize("engine_name", ENGINES)
def test_cold_start_work_is_added_to_the_first_task(engine_name):
    """Cold start 0.5 s and 2 ops: ``pre`` (1 op) runs 0.5-3.5 with 3 ops; ``post`` warm."""
    life = Lifecycle(max_instances=1, cold_start_s=0.5, cold_start_ops=2.0, keep_alive_s=3.0)
    result = simulate(engine_name, config([classical_job(0, 0.0, 1.0, 1.0)], lifecycle=life))
    assert completions(result) == [4.5]


@pytest.mark.parametrize("engine_name", ENGINES)
def test_warm_reuse_takes_the_most_recently_freed_instance(engine_name):
    """Cold starts take 0 s, keep-alive 3 s. Jobs 0 and 1 at t = 0 (``pre`` 1 and 2 ops,
    ``post`` 0) cold-start instances A and B, idle from 1 and 2. Job 2 at 2.5 (``pre`` 1 op)
    takes B (the most recently freed), idle again from 3.5; A expires at 4, B at 6.5. Job 3
    at 10 cold-starts a third instance. Alive: A 0-4, B 0-6.5, C 10-10: 10.5 instance-s
    (FIFO reuse would give 11.5)."""
    life = Lifecycle(max_instances=10, cold_start_s=0.0, keep_alive_s=3.0)
    jobs = [classical_job(0, 0.0, 1.0, 0.0), classical_job(1, 0.0, 2.0, 0.0),
            classical_job(2, 2.5, 1.0, 0.0), classical_job(3, 10.0, 0.0, 0.0)]
    result = simulate(engine_name, config(jobs, lifecycle=life))
    assert completions(result) == [1.0, 2.0, 3.5, 10.0]
    s = result.summary
    assert (s["cold_starts"], s["warm_instance_s"], s["instance_wait_s"]) == (3.0, 10.5, 0.0)


@pytest.mark.parametrize("engine_name", ENGINES)
def test_tasks_waiting_for_an_instance_do_not_count_for_admission(engine_name):
    """``C_max = 1``; one instance, cold start 2 s. Job 0 (``pre`` 1 op, ``post`` 0) at 0
    is starting until 2, so job 1 arriving at 1 is admitted (0 active classical tasks) and
    queues for the instance; job 2 at 2.5 (job 0 running 2-3) is dropped. At 3 the instance
    goes to job 1's pre (3-4), then job 0's post and job 1's post (0 ops) at 4."""
    life = Lifecycle(max_instances=1, cold_start_s=2.0, keep_alive_s=3.0)
    jobs = [classical_job(0, 0.0, 1.0, 0.0), classical_job(1, 1.0, 1.0, 0.0),
            classical_job(2, 2.5, 1.0, 0.0)]
    base = config(jobs, lifecycle=life)
    cfg = replace(base, platform=replace(base.platform, max_classical=1))
    result = simulate(engine_name, cfg)
    assert result.jobs["status"].tolist() == ["completed", "completed", "dropped"]
    assert completions(result)[:2] == [4.0, 4.0]


# ---------------------------------------------------------------------------
# Features off, and refused combinations


def test_the_feature_metrics_appear_only_when_the_feature_is_on():
    jobs = [quantum_job(0, 1.0)]
    for engine_name in ("simpy", "kernel"):
        summary = simulate(engine_name, config(jobs)).summary
        assert not {"sessions", "cold_starts", "warm_instance_s"} & set(summary)
        assert not [k for k in summary if k.startswith("qc_utilization_")]


def test_refused_combinations_in_the_simpy_model():
    from hqsched.errors import InputError

    groups = (QCGroup("small", 1, 7),)
    with pytest.raises(InputError, match="no QC group can run a 10-qubit task"):
        simpy_model.simulate(config([quantum_job(0, 1.0, qubits=10)], groups=groups))
    with pytest.raises(InputError, match="fifo-swap"):
        simpy_model.simulate(config([quantum_job(0, 1.0)], groups=groups, policy="fifo-swap"))
    with pytest.raises(InputError, match="lifecycle"):
        simpy_model.simulate(config([quantum_job(0, 1.0)], lifecycle=Lifecycle(),
                                    classical_mode="dedicated"))
