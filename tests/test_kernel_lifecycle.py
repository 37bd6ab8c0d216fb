"""Serverless function instances in the compiled kernel (docs/platform-features.md section 3):
cold starts, LIFO warm reuse, keep-alive expiry, the FIFO wait at the maximum and the
metrics, against schedules worked by hand; the always-warm special case bit for bit."""

import math

import numpy as np
import pytest

from hqsched.errors import InputError
from hqsched.instances.model import Instance, Job, Platform
from hqsched.instances.workload import WorkloadSpec
from hqsched.online.config import JOB_FIELDS, Lifecycle, SimulationConfig
from hqsched.online.engine import simulate

INSTANCE_METRICS = ("cold_starts", "instance_wait_s", "warm_instance_s", "avg_instances")


def run(jobs, lifecycle, *, C=1, duration=math.inf, warmup=0.0):
    """One run of ``jobs`` on C workers of 1 op/s and one QC, schedule recorded."""
    config = SimulationConfig(Platform(C, 1.0, 1), instance=Instance(tuple(jobs)),
                              classical_mode="serverless", duration_s=duration, warmup_s=warmup,
                              record_schedule=True, lifecycle=lifecycle)
    return simulate(config, 0)


def completions(result):
    done = result.jobs["status"] == "completed"
    return dict(zip(result.jobs["job_id"][done].tolist(),
                    result.jobs["completion_s"][done].tolist()))


def metrics(result):
    return {name: result.summary[name] for name in INSTANCE_METRICS}


def classical_starts(result):
    """(job, task) -> (start, end) of the classical tasks of the schedule."""
    return {(t.job_id, t.index): (t.start_s, t.end_s) for t in result.schedule.tasks
            if t.kind.value == "classical"}


def one_iteration_job(quantum_s):
    """pre 2 ops, one iteration (1 op, ``quantum_s`` on the QC), post 1 op, at t = 0."""
    return Job(0, 0.0, 4, 1, 2.0, (1.0,), (quantum_s,), 1.0)


def test_cold_start_on_an_empty_pool_then_warm_reuse_within_keep_alive():
    """cold 1 s, +0.5 op: pre ready at 0, starts at 1 with 2.5 ops, ends 3.5; the iteration
    reuses the instance at once (3.5-4.5), QC 4.5-6.5, post at 6.5 is 2 s after the
    release: warm (keep-alive 100 s), 6.5-7.5. One instance alive 0-7.5."""
    life = Lifecycle(max_instances=10, cold_start_s=1.0, cold_start_ops=0.5, keep_alive_s=100.0)
    result = run([one_iteration_job(2.0)], life)
    assert completions(result) == {0: 7.5}
    assert classical_starts(result) == {(0, 0): (1.0, 3.5), (0, 1): (3.5, 4.5), (0, 3): (6.5, 7.5)}
    assert metrics(result) == {"cold_starts": 1.0, "instance_wait_s": 1.0,
                               "warm_instance_s": 7.5, "avg_instances": 1.0}


def test_a_cold_start_without_latency_starts_at_once_with_its_extra_work():
    """cold 0 s, +0.5 op: no ready event; pre 0-2.5, iteration 2.5-3.5, QC 3.5-5.5, post
    5.5-6.5. The cold start still counts; no wait."""
    life = Lifecycle(max_instances=10, cold_start_s=0.0, cold_start_ops=0.5, keep_alive_s=100.0)
    result = run([one_iteration_job(2.0)], life)
    assert completions(result) == {0: 6.5}
    assert classical_starts(result)[(0, 0)] == (0.0, 2.5)
    assert result.summary["events"] == 5.0  # the arrival and four task ends
    assert metrics(result) == {"cold_starts": 1.0, "instance_wait_s": 0.0,
                               "warm_instance_s": 6.5, "avg_instances": 1.0}


def test_a_task_ready_exactly_at_release_plus_keep_alive_finds_the_instance_warm():
    """Released at 4.5, keep-alive 2 s: the post ready at 6.5 = 4.5 + 2 is warm."""
    life = Lifecycle(max_instances=10, cold_start_s=1.0, cold_start_ops=0.5, keep_alive_s=2.0)
    result = run([one_iteration_job(2.0)], life)
    assert completions(result) == {0: 7.5}
    assert metrics(result)["cold_starts"] == 1.0
    assert metrics(result)["warm_instance_s"] == 7.5


def test_a_task_ready_just_after_keep_alive_cold_starts_again():
    """QC 4.5-7.0: the instance released at 4.5 is gone at 6.5; the post cold-starts at 7,
    starts at 8 with 1 + 0.5 ops, ends 9.5. Alive: 0-6.5 and 7-9.5 (9 instance-s)."""
    life = Lifecycle(max_instances=10, cold_start_s=1.0, cold_start_ops=0.5, keep_alive_s=2.0)
    result = run([one_iteration_job(2.5)], life)
    assert completions(result) == {0: 9.5}
    assert classical_starts(result)[(0, 3)] == (8.0, 9.5)
    assert metrics(result) == {"cold_starts": 2.0, "instance_wait_s": 2.0,
                               "warm_instance_s": 9.0, "avg_instances": 9.0 / 9.5}


def test_tasks_wait_in_fifo_order_for_the_only_instance():
    """max 1 instance, cold 1 s. A (pre 2, post 1) at 0 cold-starts: pre 1-3. B (pre 1,
    post 1) at 0.5 waits; at 3 the instance goes to B's pre (3-4) before A moves on, so A's
    post waits: 4-5; B's post 5-6. Waits: 1 + 2.5 + 1 + 1 = 5.5; one instance 0-6."""
    a = Job(0, 0.0, 4, 1, 2.0, (), (), 1.0)
    b = Job(1, 0.5, 4, 1, 1.0, (), (), 1.0)
    life = Lifecycle(max_instances=1, cold_start_s=1.0, cold_start_ops=0.0, keep_alive_s=100.0)
    result = run([a, b], life)
    assert completions(result) == {0: 5.0, 1: 6.0}
    assert classical_starts(result) == {(0, 0): (1.0, 3.0), (1, 0): (3.0, 4.0),
                                        (0, 1): (4.0, 5.0), (1, 1): (5.0, 6.0)}
    assert metrics(result) == {"cold_starts": 1.0, "instance_wait_s": 5.5,
                               "warm_instance_s": 6.0, "avg_instances": 1.0}


def test_reuse_takes_the_most_recently_freed_instance_and_the_other_expires():
    """C=2 (no slowdown), cold 1 s, keep-alive 3 s, window [0, 7). A (pre 1, post 1) at 0:
    cold, 1-2, 2-3, freed at 3; B at 0.5: cold, 1.5-2.5, 2.5-3.5, freed at 3.5. D at 4
    takes the one freed at 3.5 (LIFO): 4-5, 5-6; the one freed at 3 expires at 6. Alive:
    1 on [0, 0.5), 2 on [0.5, 6), 1 on [6, 7): 12.5 instance-s (FIFO reuse: 13.5)."""
    jobs = [Job(0, 0.0, 4, 1, 1.0, (), (), 1.0), Job(1, 0.5, 4, 1, 1.0, (), (), 1.0),
            Job(2, 4.0, 4, 1, 1.0, (), (), 1.0)]
    life = Lifecycle(max_instances=10, cold_start_s=1.0, cold_start_ops=0.0, keep_alive_s=3.0)
    result = run(jobs, life, C=2, duration=7.0)
    assert completions(result) == {0: 3.0, 1: 3.5, 2: 6.0}
    assert metrics(result) == {"cold_starts": 2.0, "instance_wait_s": 2.0,
                               "warm_instance_s": 12.5, "avg_instances": 12.5 / 7.0}


def test_metrics_cover_the_window_only():
    """As the LIFO case with the window [2, 7): the cold starts (ready at 0 and 0.5) and
    their waits are before it; alive 2 on [2, 6), 1 on [6, 7): 9 instance-s."""
    jobs = [Job(0, 0.0, 4, 1, 1.0, (), (), 1.0), Job(1, 0.5, 4, 1, 1.0, (), (), 1.0),
            Job(2, 4.0, 4, 1, 1.0, (), (), 1.0)]
    life = Lifecycle(max_instances=10, cold_start_s=1.0, cold_start_ops=0.0, keep_alive_s=3.0)
    result = run(jobs, life, C=2, duration=7.0, warmup=2.0)
    assert metrics(result) == {"cold_starts": 0.0, "instance_wait_s": 0.0,
                               "warm_instance_s": 9.0, "avg_instances": 9.0 / 5.0}


def test_the_dedicated_mode_refuses_a_lifecycle():
    with pytest.raises(InputError, match="lifecycle"):
        SimulationConfig(Platform(1, 1.0, 1), instance=Instance((one_iteration_job(1.0),)),
                         classical_mode="dedicated", lifecycle=Lifecycle())


def small_scenario(lifecycle, policy="fifo"):
    return SimulationConfig(Platform(1, 1e9, 4, 40, 40), policy=policy, duration_s=86400.0,
                            warmup_s=3600.0, lifecycle=lifecycle,
                            workload=WorkloadSpec(600, (4, 6, 8, 10), (1, 2, 4)))


def same_records(a, b):
    for name in JOB_FIELDS:
        np.testing.assert_array_equal(np.asarray(a.jobs[name]), np.asarray(b.jobs[name]),
                                      err_msg=name)


@pytest.mark.parametrize("policy", ["fifo", "weighted"])
def test_always_warm_lifecycle_is_the_paper_platform_bit_for_bit(policy):
    """Unbounded instances, no cold-start latency or work, keep-alive longer than the run:
    every job record and every summary figure as without a lifecycle; the new metrics
    appear only with it."""
    plain = simulate(small_scenario(None, policy), 3)
    warm = simulate(small_scenario(Lifecycle(1_000_000, 0.0, 0.0, 1e9), policy), 3)
    same_records(plain, warm)
    assert not set(INSTANCE_METRICS) & set(plain.summary)
    assert {k: v for k, v in warm.summary.items() if k not in INSTANCE_METRICS} == plain.summary
    # Never expiring, the instances made in the warm-up serve the whole window.
    assert warm.summary["instance_wait_s"] == 0.0 and warm.summary["avg_instances"] >= 1.0


def test_growing_the_slots_keeps_the_pool_and_the_cold_starts():
    """A run that starts with one slot (every slot-indexed array doubled many times, the
    idle pool ring and the server heap with them) gives the same run as one with many."""
    config = small_scenario(Lifecycle(max_instances=3, cold_start_s=30.0, cold_start_ops=5e9,
                                      keep_alive_s=120.0))
    small = simulate(config, 5, initial_slots=1, chunk_jobs=7)
    large = simulate(config, 5, initial_slots=256)
    same_records(small, large)
    assert small.summary == large.summary
    assert small.summary["cold_starts"] > 0 and small.summary["instance_wait_s"] > 0
    assert small.summary["avg_instances"] <= 3.0
