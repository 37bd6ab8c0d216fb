"""The online simulator against hand-computed schedules (MODEL.md, "Online dynamics")."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from hqsched.errors import InputError
from hqsched.instances.model import Instance, Job, Platform, TaskKind, constant_chain_job
from hqsched.instances.workload import WorkloadSpec
from hqsched.online.config import SimulationConfig
from hqsched.online.engine import simulate
from hqsched.online.policies import ARRAY_POLICIES, POLICIES, PendingQueue


def run(jobs, *, C=1, S=1.0, Q=1, mode="serverless", policy="fifo", max_c=None, max_q=None,
        warmup=0.0, duration=math.inf, seed=0):
    platform = Platform(C, S, Q, max_c, max_q)
    config = SimulationConfig(platform, policy=policy, classical_mode=mode, duration_s=duration,
                              warmup_s=warmup, instance=Instance(tuple(jobs)), record_schedule=True)
    return simulate(config, seed)


def completions(result):
    done = result.jobs["status"] == "completed"
    return dict(zip(result.jobs["job_id"][done].tolist(), result.jobs["completion_s"][done].tolist()))


def quantum_job(job_id, arrival, seconds, priority=1):
    """A job that is one quantum task between two instantaneous classical tasks."""
    return constant_chain_job(job_id, arrival, 4, priority, 0.0, 0.0, seconds, 0.0, iterations=1)


def test_two_classical_tasks_share_one_worker_and_finish_at_analytic_times():
    """A (2 ops, t=0) runs alone for 1 s, then shares rate 1/2 with B (2 ops, t=1):
    A ends at 1 + 1/(1/2) = 3; B has 1 op left and ends at 3 + 1 = 4."""
    a = Job(0, 0.0, 4, 1, 2.0, (), (), 0.0)
    b = Job(1, 1.0, 4, 1, 2.0, (), (), 0.0)
    assert completions(run([a, b])) == {0: 3.0, 1: 4.0}


def test_processor_sharing_rate_is_full_speed_while_tasks_do_not_exceed_workers():
    """With C=2 workers, two tasks each run at S: no slowdown."""
    a = Job(0, 0.0, 4, 1, 2.0, (), (), 0.0)
    b = Job(1, 1.0, 4, 1, 2.0, (), (), 0.0)
    assert completions(run([a, b], C=2)) == {0: 2.0, 1: 3.0}


TWO_JOBS = [Job(0, 0.0, 4, 1, 1.0, (1.0,), (2.0,), 1.0), Job(1, 0.5, 4, 1, 1.0, (1.0,), (2.0,), 1.0)]


def test_tiny_instance_exact_completions_in_dedicated_mode():
    """C=1 FIFO server, Q=1, worked by hand:
    server: J0 pre 0-1, J1 pre 1-2, J0 it 2-3, J1 it 3-4, J0 post 5-6, J1 post 7-8;
    QC: J0 3-5, J1 5-7 (J1 waits 1 s for the QC)."""
    result = run(TWO_JOBS, mode="dedicated")
    assert completions(result) == {0: 6.0, 1: 8.0}
    waits = dict(zip(result.jobs["job_id"].tolist(), result.jobs["quantum_wait_s"].tolist()))
    assert waits == {0: 0.0, 1: 1.0}
    log = sorted((t.start_s, t.job_id, t.index, t.kind.value, t.server, t.end_s)
                 for t in result.schedule.tasks)
    assert log == [(0.0, 0, 0, "classical", 0, 1.0), (1.0, 1, 0, "classical", 0, 2.0),
                   (2.0, 0, 1, "classical", 0, 3.0), (3.0, 0, 2, "quantum", 0, 5.0),
                   (3.0, 1, 1, "classical", 0, 4.0), (5.0, 0, 3, "classical", 0, 6.0),
                   (5.0, 1, 2, "quantum", 0, 7.0), (7.0, 1, 3, "classical", 0, 8.0)]


def test_tiny_instance_exact_completions_in_serverless_mode():
    """C=1 shared worker, Q=1: J0 pre ends 1.5 (shares from 0.5), J1 pre 2.5, J0 it 3.5,
    J1 it 4.0; J0 quantum 3.5-5.5, J1 quantum 5.5-7.5; posts alone: 6.5 and 8.5."""
    result = run(TWO_JOBS, mode="serverless")
    assert completions(result) == pytest.approx({0: 6.5, 1: 8.5}, abs=1e-12)
    waits = dict(zip(result.jobs["job_id"].tolist(), result.jobs["quantum_wait_s"].tolist()))
    assert waits == pytest.approx({0: 0.0, 1: 1.5}, abs=1e-12)


@pytest.mark.parametrize("policy,order", [("fifo", [1, 2, 3]), ("lifo", [3, 2, 1])])
def test_pending_quantum_tasks_are_served_in_policy_order(policy, order):
    """Job 0 holds the only QC for 1 s while jobs 1, 2, 3 queue in that order."""
    jobs = [quantum_job(i, 0.1 * i, 1.0) for i in range(4)]
    result = run(jobs, policy=policy)
    starts = sorted((t.start_s, t.job_id) for t in result.schedule.tasks if t.kind is TaskKind.QUANTUM)
    assert [j for _, j in starts] == [0] + order
    assert [s for s, _ in starts] == [0.0, 1.0, 2.0, 3.0]


def first_pick_counts(policy_name, priorities, trials, seed=12345):
    """How often each of the pending tasks (job i has priority priorities[i]) is picked first."""
    rng = np.random.default_rng(seed)
    counts = np.zeros(len(priorities))
    for _ in range(trials):
        queue = PendingQueue(policy_name, priorities, len(priorities), rng)
        for i, w in enumerate(priorities):
            queue.push(i, w)
        counts[queue.pop()] += 1
    return counts


def test_random_policy_picks_each_pending_task_with_probability_one_over_n():
    counts = first_pick_counts("random", [1, 1, 2, 4, 1], 20000)
    assert stats.chisquare(counts).pvalue > 0.001


def test_weighted_policy_picks_with_probability_proportional_to_priority():
    priorities = [1, 2, 4, 4, 1, 2]
    counts = first_pick_counts("weighted", priorities, 20000)
    expected = np.asarray(priorities) / sum(priorities) * counts.sum()
    assert stats.chisquare(counts, expected).pvalue > 0.001


def test_weighted_policy_is_not_uniform():
    """The same test must reject uniform choice, or it could not fail."""
    counts = first_pick_counts("weighted", [1, 4], 5000)
    assert stats.chisquare(counts).pvalue < 1e-6


@pytest.mark.parametrize("name", ARRAY_POLICIES)
def test_policies_return_every_pushed_task_exactly_once(name):
    queue = PendingQueue(name, [1, 2, 3], 50, np.random.default_rng(0))
    for i in range(50):
        queue.push(i, 1 + i % 3)
    out = [queue.pop() for _ in range(50)]
    assert sorted(out) == list(range(50)) and len(queue) == 0


def test_fifo_ring_buffer_keeps_order_across_wraparound():
    """Pushes and pops interleaved past the buffer's capacity still come out in order."""
    queue = PendingQueue("fifo", [1], 3, np.random.default_rng(0))
    out = []
    for i in range(10):
        queue.push(i, 1)
        if i % 2:
            out += [queue.pop(), queue.pop()]
    assert out == list(range(10))


def test_admission_drops_when_pending_quantum_tasks_reach_q_max():
    """Q=1, Q_max=2: at t=1 and t=2 the pending count is 0 and 1 (< 2): accepted;
    at t=3 and t=4 it is 2: dropped."""
    jobs = [quantum_job(i, float(i), 10.0) for i in range(5)]
    result = run(jobs, max_q=2)
    status = dict(zip(result.jobs["job_id"].tolist(), result.jobs["status"].tolist()))
    assert status == {0: "completed", 1: "completed", 2: "completed", 3: "dropped", 4: "dropped"}
    assert result.summary["drop_probability"] == pytest.approx(2 / 5)


def test_admission_drops_when_active_classical_tasks_reach_c_max():
    """C_max=2: tasks of 10 ops at rate <= 1 are still active at t=1 and t=2."""
    jobs = [Job(i, float(i), 4, 1, 10.0, (), (), 0.0) for i in range(4)]
    result = run(jobs, max_c=2)
    status = dict(zip(result.jobs["job_id"].tolist(), result.jobs["status"].tolist()))
    assert status == {0: "completed", 1: "completed", 2: "dropped", 3: "dropped"}


def test_dedicated_mode_counts_queued_classical_tasks_as_active_for_admission():
    jobs = [Job(i, float(i), 4, 1, 10.0, (), (), 0.0) for i in range(3)]
    result = run(jobs, mode="dedicated", max_c=2)
    assert result.jobs["status"].tolist() == ["completed", "completed", "dropped"]


def test_warmup_excludes_earlier_arrivals_from_drop_counts_and_clips_time_averages():
    """Window [5, 20): job 0 (t=0) is not an arrival of the window but its completion
    at 10 is; the QC is busy 5 of the 15 window seconds."""
    jobs = [quantum_job(0, 0.0, 10.0), quantum_job(1, 12.0, 2.0)]
    result = run(jobs, warmup=5.0, duration=20.0)
    assert result.summary["arrived"] == 1
    assert result.summary["completed"] == 2
    assert result.summary["avg_quantum_in_service"] == pytest.approx((5.0 + 2.0) / 15.0)


def test_jobs_completing_before_warmup_are_not_reported():
    jobs = [quantum_job(0, 0.0, 1.0), quantum_job(1, 6.0, 1.0)]
    result = run(jobs, warmup=5.0, duration=20.0)
    assert result.jobs["job_id"].tolist() == [1]


def test_jobs_running_at_the_end_are_censored_not_ignored():
    jobs = [quantum_job(0, 0.0, 100.0), quantum_job(1, 1.0, 1.0)]
    result = run(jobs, Q=2, duration=50.0)
    assert result.summary["censored"] == 1
    assert dict(zip(result.jobs["job_id"].tolist(), result.jobs["status"].tolist())) == {
        0: "censored", 1: "completed"}


def test_unknown_policy_is_refused_by_name():
    with pytest.raises(InputError, match="unknown policy 'sjf'"):
        run([quantum_job(0, 0.0, 1.0)], policy="sjf")


def test_warmup_longer_than_run_is_refused():
    with pytest.raises(InputError, match="warm-up"):
        SimulationConfig(Platform(), duration_s=10.0, warmup_s=20.0,
                         workload=WorkloadSpec(600.0))


job_strategy = st.builds(
    lambda i, t, w, pre, it, q, post, n: constant_chain_job(i, t, 4, w, pre, it, q, post, n),
    st.just(0), st.floats(0, 50), st.sampled_from([1, 2, 4]), st.floats(0, 5), st.floats(0, 2),
    st.floats(0.1, 5), st.floats(0, 5), st.integers(0, 3))


@settings(max_examples=60, deadline=None)
@given(st.lists(job_strategy, min_size=1, max_size=6), st.sampled_from(sorted(POLICIES)),
       st.sampled_from(["serverless", "dedicated"]), st.integers(1, 2), st.integers(1, 2))
def test_every_job_takes_at_least_its_work_at_full_speed(jobs, policy, mode, C, Q):
    jobs = [Job(i, j.arrival_s, j.qubits, j.priority, j.pre_ops, j.iteration_ops, j.quantum_s,
                j.post_ops) for i, j in enumerate(jobs)]
    result = run(jobs, C=C, Q=Q, mode=mode, policy=policy)
    assert (result.jobs["status"] == "completed").all()
    by_id = {j.job_id: j for j in jobs}
    for job_id, time_s in zip(result.jobs["job_id"], result.jobs["job_time_s"]):
        job = by_id[int(job_id)]
        assert time_s >= job.classical_ops_total() / 1.0 + job.quantum_s_total() - 1e-9


@settings(max_examples=40, deadline=None)
@given(st.lists(job_strategy, min_size=1, max_size=5), st.sampled_from(["serverless", "dedicated"]))
def test_with_ample_capacity_every_job_takes_exactly_its_work(jobs, mode):
    jobs = [Job(i, j.arrival_s, j.qubits, j.priority, j.pre_ops, j.iteration_ops, j.quantum_s,
                j.post_ops) for i, j in enumerate(jobs)]
    result = run(jobs, C=len(jobs), Q=len(jobs), mode=mode)
    by_id = {j.job_id: j for j in jobs}
    for job_id, time_s in zip(result.jobs["job_id"], result.jobs["job_time_s"]):
        job = by_id[int(job_id)]
        assert time_s == pytest.approx(job.classical_ops_total() + job.quantum_s_total(),
                                       rel=1e-9, abs=1e-9)


def test_littles_law_holds_on_a_long_run():
    """L = lambda W: time-average jobs in system (each accepted job has exactly one
    task classical, in quantum service or pending) vs accepted rate x mean job time."""
    workload = WorkloadSpec(300.0, qubits=(4, 6), priorities=(1, 2), iteration_scale=0.1)
    config = SimulationConfig(Platform(1, 1e9, 2, 40, 40), policy="random", duration_s=30 * 86400,
                              warmup_s=86400, workload=workload)
    s = simulate(config, 3).summary
    L = s["avg_classical_active"] + s["avg_quantum_in_service"] + s["avg_quantum_pending"]
    window = s["sim_end_s"] - 86400
    lam_W = s["accepted"] / window * s["job_time_mean_s"]
    assert s["completed"] > 2000
    assert L == pytest.approx(lam_W, rel=0.03)


def test_same_seed_gives_identical_results_and_different_seeds_differ():
    workload = WorkloadSpec(600.0, priorities=(1, 2, 4), iteration_scale=0.1)
    config = SimulationConfig(Platform(1, 1e9, 4, 40, 40), policy="weighted", duration_s=86400,
                              workload=workload)
    a, b, c = simulate(config, 7), simulate(config, 7), simulate(config, 8)
    assert a.summary == b.summary
    assert all(np.array_equal(a.jobs[k], b.jobs[k], equal_nan=a.jobs[k].dtype.kind == "f")
               for k in a.jobs)
    assert a.summary != c.summary


def test_kernel_gives_identical_results_compiled_and_as_plain_python():
    """One implementation: the numba-compiled loop and the same code run by the
    interpreter (NUMBA_DISABLE_JIT=1) agree bit for bit, summaries and records, also
    when the run stops and resumes for small arrival chunks and slot growth."""
    import json
    import os
    import subprocess
    import sys

    script = """if True:
        import json
        from hqsched.instances.model import Platform
        from hqsched.instances.workload import WorkloadSpec
        from hqsched.online.config import SimulationConfig
        from hqsched.online.engine import simulate
        w = WorkloadSpec(300, priorities=(1, 2, 4), iteration_scale=0.05)
        out = {}
        for policy, mode, kw in (("weighted", "serverless", {}),
                                 ("fifo", "dedicated", {"chunk_jobs": 5, "initial_slots": 1})):
            c = SimulationConfig(Platform(2, 1e9, 2, 10, 10), policy=policy, classical_mode=mode,
                                 duration_s=43200, workload=w)
            r = simulate(c, 4, **kw)
            out[policy] = {"summary": {k: repr(v) for k, v in r.summary.items()},
                           "jobs": {k: repr(v.tolist()) for k, v in r.jobs.items()}}
        print(json.dumps(out))
    """
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                           env={**os.environ, "NUMBA_DISABLE_JIT": flag}).stdout
            for flag in ("0", "1")]
    assert json.loads(runs[0]) == json.loads(runs[1])
    for policy in ("weighted", "fifo"):
        assert float(json.loads(runs[0])[policy]["summary"]["events"]) > 1000


def test_the_compiled_loop_is_built_once_for_every_kind_of_run():
    """The kernel's Params and State have fixed types whatever the configuration (an
    integer capacity, no admission limit, a recorded schedule, an instance run to
    completion): numba compiles (or loads) run_events once, never a second version."""
    from hqsched.online.kernel import run_events

    if not hasattr(run_events, "signatures"):
        pytest.skip("NUMBA_DISABLE_JIT=1: nothing is compiled")
    workload = WorkloadSpec(600.0, priorities=(1, 2), iteration_scale=0.05)
    for platform, mode in ((Platform(2, 10**9, 2, 10, 10), "serverless"),
                           (Platform(1, 1e9, 1, None, None), "dedicated")):
        simulate(SimulationConfig(platform, policy="weighted", classical_mode=mode,
                                  duration_s=7200, workload=workload, record_schedule=True), 0)
    run(TWO_JOBS, mode="dedicated", policy="lifo")
    # A run with a QC fleet or sessions uses its own version (last argument not None).
    assert len([sig for sig in run_events.signatures if str(sig[-1]) == "none"]) == 1
