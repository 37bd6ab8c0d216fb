"""The compiled kernel with a heterogeneous QC fleet (docs/platform-features.md section 1):
eligibility, per-QC durations, routing, picking among eligible tasks, and the special case
of one unlimited group of speed 1, which must give today's schedules bit for bit."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from hqsched import Routing
from hqsched.errors import InputError
from hqsched.instances.fleet import time_factors
from hqsched.instances.model import Instance, Platform, QCGroup, constant_chain_job
from hqsched.instances.workload import WorkloadSpec
from hqsched.online.config import SimulationConfig
from hqsched.online.engine import cached_traces, simulate
from hqsched.online.policies import Policy

SMALL = WorkloadSpec(interarrival_s=300.0, qubits=(4, 6, 8, 10), priorities=(1, 2, 4),
                     iteration_scale=0.2)


def stochastic(groups: tuple[QCGroup, ...], policy: str | Any = "fifo", qcs: int = 2,
               **options: Any) -> SimulationConfig:
    """A short small-scenario run (C = 1, S = 1e9 ops/s) on ``groups`` (or ``qcs`` identical
    QCs), admission limits 40/40, schedule recorded."""
    platform = Platform(1, 1e9, qcs if not groups else 1, 40, 40, qc_groups=groups)
    return SimulationConfig(platform, policy=policy, duration_s=86400.0, workload=SMALL,
                            record_schedule=True, **options)


def replay(jobs: list, groups: tuple[QCGroup, ...], policy: str = "fifo",
           **options: Any) -> Any:
    """An instance run to completion on ``groups`` (C = 2 workers of 1 op/s)."""
    config = SimulationConfig(Platform(2, 1.0, qc_groups=groups), policy=policy,
                              duration_s=math.inf, instance=Instance(tuple(jobs)),
                              record_schedule=True, **options)
    return simulate(config, 0)


def quantum_tasks(result: Any) -> list[Any]:
    """The schedule's quantum tasks (``ScheduledTask``), in the order they ended."""
    return [t for t in result.schedule.tasks if t.kind.name == "QUANTUM"]


def one_quantum_job(job_id: int, arrival: float, qubits: int, seconds: float) -> Any:
    """A job of one quantum task between two instantaneous classical tasks."""
    return constant_chain_job(job_id, arrival, qubits, 1, 0.0, 0.0, seconds, 0.0, 1)


class ReverseAge(Policy):
    """A dynamic key policy (scanned at every pick): the longest waiting task first."""

    name = "test-fleet-longest-wait"
    dynamic = True

    @staticmethod
    def key(task: Any, now: float) -> float:
        return task.queued_at - now


LONGEST_WAIT = ReverseAge()  # one object: a second one under the same name is refused

@pytest.mark.parametrize("policy", ["fifo", "lifo", "sqf", "priority", LONGEST_WAIT])
def test_one_unlimited_group_of_speed_one_gives_todays_schedule(policy):
    """Array (fifo, lifo), KEYED (sqf, priority) and SCANNED policies: same records,
    summary and schedule as two identical QCs."""
    plain = simulate(stochastic((), policy), 3)
    fleet = simulate(stochastic((QCGroup("all", count=2),), policy), 3)
    assert plain.summary["avg_quantum_pending"] > 0.01  # the policy had choices to make
    for name, column in plain.jobs.items():
        assert np.array_equal(column, fleet.jobs[name], equal_nan=column.dtype.kind == "f"), name
    assert fleet.summary.pop("qc_utilization_all") == plain.summary["qc_utilization"]
    assert fleet.summary == plain.summary
    assert fleet.schedule == plain.schedule


def test_a_10_qubit_task_never_runs_on_a_7_qubit_qc():
    groups = (QCGroup("small", count=2, qubits=7), QCGroup("big", count=1, qubits=10))
    result = simulate(stochastic(groups), 1)
    qubits = dict(zip(result.jobs["job_id"].tolist(), result.jobs["qubits"].tolist()))
    servers: dict[int, set[int]] = {4: set(), 6: set(), 8: set(), 10: set()}
    for task in quantum_tasks(result):
        servers[qubits[task.job_id]].add(task.server)
    assert servers[8] == servers[10] == {2}  # QCs 0 and 1 are the 7-qubit group
    assert servers[4] >= {0, 1} and servers[6] >= {0, 1}
    summary = result.summary
    assert 0 < summary["qc_utilization_small"] < 1 and 0 < summary["qc_utilization_big"] <= 1
    assert summary["qc_utilization"] == pytest.approx(
        (2 * summary["qc_utilization_small"] + summary["qc_utilization_big"]) / 3)


def test_durations_are_the_reference_times_the_qcs_factor():
    """Plain speeds (2 and 0.5) and an IBM backend group (factor from the traces): nine
    one-task jobs of 4 or 8 qubits and known durations share three QCs."""
    groups = (QCGroup("fast", count=1, speed=2.0), QCGroup("slow", count=1, speed=0.5),
              QCGroup("torino", count=1, backend="ibm_torino"))
    jobs = [one_quantum_job(i, 0.1 * i, (4, 8)[i % 2], 1.0 + i) for i in range(9)]
    result = replay(jobs, groups)
    torino = time_factors(groups, [4, 8], cached_traces(None).ibm_estimate_s)[2]
    assert torino.max() > 1.0  # the backend is not the fastest at some qubit count
    tasks = quantum_tasks(result)
    assert {t.server for t in tasks} == {0, 1, 2} and len(tasks) == 9
    for task in tasks:
        qubits = jobs[task.job_id].qubits
        factor = (0.5, 2.0, torino[(4, 8).index(qubits)])[task.server]
        assert task.end_s - task.start_s == pytest.approx((1.0 + task.job_id) * factor,
                                                          rel=1e-12)


class Slowest(Routing):
    name = "test-kernel-slowest"

    @staticmethod
    def key(qc: Any, task: Any) -> float:
        return -qc.factor


class HighestNumber(Routing):
    name = "test-highest-number"

    @staticmethod
    def key(qc: Any, task: Any) -> float:
        return -float(qc.number)


@pytest.mark.parametrize("routing, server, seconds", [
    ("fastest", 2, 1.0), ("smallest", 1, 8.0), ("lowest", 0, 4.0),
    (Slowest, 1, 8.0), (HighestNumber, 2, 1.0)])
def test_routing_rules_choose_the_free_qc(routing, server, seconds):
    """QC 0: 20 qubits, speed 1; QC 1: 8 qubits, speed 0.5; QC 2: any size, speed 4. A
    4-qubit task of 4 reference seconds, every QC free."""
    groups = (QCGroup("a", qubits=20), QCGroup("b", qubits=8, speed=0.5),
              QCGroup("c", speed=4.0))
    result = replay([one_quantum_job(0, 0.0, 4, 4.0)], groups, routing=routing)
    (task,) = quantum_tasks(result)
    assert (task.server, task.start_s, task.end_s) == (server, 0.0, seconds)
    assert result.jobs["completion_s"].tolist() == [seconds]


def test_smallest_breaks_a_qubit_tie_by_speed_and_fastest_by_number():
    groups = (QCGroup("a", qubits=8), QCGroup("b", qubits=8, speed=2.0),
              QCGroup("c", qubits=8, speed=2.0))
    for routing in ("smallest", "fastest"):
        (task,) = quantum_tasks(replay([one_quantum_job(0, 0.0, 4, 4.0)], groups,
                                       routing=routing))
        assert (task.server, task.end_s) == (1, 2.0)


@pytest.mark.parametrize("policy", ["fifo", "lifo", "random", "weighted", "sqf", LONGEST_WAIT])
def test_a_freed_qc_takes_only_a_task_it_can_run(policy):
    """QC 0 runs 4 qubits, QC 1 any. Jobs 0 (4 qubits) and 1 (8) take QCs 0 and 1 for 10 s;
    job 2 (8 qubits, t = 1) and job 3 (4 qubits, t = 2) wait. At 10, QC 0 (its end was
    scheduled first) cannot run job 2: it takes job 3, and QC 1 then takes job 2."""
    groups = (QCGroup("small", qubits=4), QCGroup("big"))
    jobs = [one_quantum_job(0, 0.0, 4, 10.0), one_quantum_job(1, 0.0, 8, 10.0),
            one_quantum_job(2, 1.0, 8, 5.0), one_quantum_job(3, 2.0, 4, 5.0)]
    result = replay(jobs, groups, policy=policy)
    placed = {t.job_id: (t.server, t.start_s) for t in quantum_tasks(result)}
    assert placed == {0: (0, 0.0), 1: (1, 0.0), 2: (1, 10.0), 3: (0, 10.0)}
    assert result.jobs["quantum_wait_s"].tolist() == [0.0, 0.0, 9.0, 8.0]
    assert result.summary["qc_utilization_small"] == result.summary["qc_utilization_big"] == 1.0


def test_a_qc_with_no_eligible_pending_task_stays_free():
    """QC 0 (4 qubits) ends at 1 while an 8-qubit task waits for QC 1: QC 0 idles, and a
    4-qubit task arriving at 2 starts on it at once."""
    groups = (QCGroup("small", qubits=4), QCGroup("big"))
    jobs = [one_quantum_job(0, 0.0, 4, 1.0), one_quantum_job(1, 0.0, 8, 10.0),
            one_quantum_job(2, 0.5, 8, 1.0), one_quantum_job(3, 2.0, 4, 1.0)]
    placed = {t.job_id: (t.server, t.start_s) for t in quantum_tasks(replay(jobs, groups))}
    assert placed == {0: (0, 0.0), 1: (1, 0.0), 2: (1, 10.0), 3: (0, 2.0)}


def test_fleet_inputs_a_run_cannot_use_are_refused_on_one_line():
    groups = (QCGroup("small", count=2, qubits=7),)
    with pytest.raises(InputError, match=r"^workload: no QC group can run a 8-qubit task") as e:
        stochastic(groups)
    assert "\n" not in str(e.value)
    jobs = (one_quantum_job(0, 0.0, 9, 1.0),)
    with pytest.raises(InputError, match=r"^instance: no QC group can run a 9-qubit task"):
        SimulationConfig(Platform(qc_groups=groups), instance=Instance(jobs))
    with pytest.raises(InputError, match=r"^--policy fifo-swap: defined for identical QCs") as e:
        stochastic((QCGroup("all", count=2),), "fifo-swap")
    assert "\n" not in str(e.value)
    with pytest.raises(InputError, match=r"^--routing: unknown routing 'quickest'"):
        stochastic((QCGroup("all", count=2),), routing="quickest")
    plain = stochastic((), routing="smallest")  # identical QCs: any routing, same rule
    assert plain.routing == "smallest"


def test_a_nan_routing_key_stops_the_run_with_an_error():
    class Broken(Routing):
        name = "test-nan-routing"

        @staticmethod
        def key(qc: Any, task: Any) -> float:
            return math.nan

    with pytest.raises(InputError, match=r"--routing test-nan-routing: key\(qc, task\) "
                                         r"returned NaN"):
        replay([one_quantum_job(0, 0.0, 4, 1.0)], (QCGroup("a", count=2),), routing=Broken)


def test_per_group_metrics_only_with_a_fleet():
    summary = simulate(stochastic(()), 0).summary
    assert not [key for key in summary if key.startswith("qc_utilization_")]
