"""The SimPy model (online/simpy_model.py) against the compiled kernel (online/engine.py).

Differential test design: both engines consume the workload stream (the same
arrivals) and the policy stream (one uniform per pick of a randomised policy)
identically, so every per-job record, every summary metric and every recorded
schedule must be bit-identical; no tolerance. The scenarios are drawn from a
seeded generator (``scenario(i)``) and cover both classical modes, every
registered built-in policy plus a dynamic and a clairvoyant user key policy,
admission on and off, warm-up, censoring (runs cut short), instance replays
with many same-instant events (integer times, zero-work tasks) and constant or
per-iteration chains, small synthetic workloads and the trace workload. A quick
subset (one scenario per policy, both modes) runs in CI; the rest (six per policy, 72
in all) with ``-m slow``.
The check can fail: ``test_a_mis_ordered_policy_is_caught`` feeds it runs that
differ only in the policy's order.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import chain_job

from hqsched import Policy
from hqsched.instances.model import Instance, Job, Platform
from hqsched.instances.synthetic import Distribution, SyntheticWorkload
from hqsched.instances.workload import WorkloadSpec
from hqsched.online import engine, simpy_model
from hqsched.online.config import JOB_FIELDS, ReplicationResult, SimulationConfig
from hqsched.online.policies import ARRAY_POLICIES, POLICIES


class LongestWaitTimesPriority(Policy):
    """A dynamic key (recomputed at every pick): priority x time waited, largest first."""

    name = "test-weighted-wait"
    dynamic = True

    @staticmethod
    def key(task, now):
        return -task.priority * (now - task.queued_at)


class FewestIterationsLeft(Policy):
    """A clairvoyant dynamic key: fewest remaining iterations, then least attained service."""

    name = "test-fewest-left"
    clairvoyant = True
    dynamic = True

    @staticmethod
    def key(task, now):
        return task.remaining_iterations + task.attained_s / (1.0 + task.attained_s)


class LongestTaskFirst(Policy):
    """``sqf`` with its key negated: the wrong order on purpose."""

    name = "test-longest-first"

    @staticmethod
    def key(task, now):
        return -task.quantum_s


@pytest.fixture(autouse=True, scope="module")
def restore_policy_registry():
    """The policies this module registers leave the registry (``--policy all``) unchanged."""
    saved = dict(POLICIES)
    yield
    POLICIES.clear()
    POLICIES.update(saved)


# The registry's own policies (not ones other tests may have registered).
BUILT_IN = tuple(name for name, p in POLICIES.items()
                 if type(p).__module__ == "hqsched.online.policies")
# Instances, registered once (a class passed again would be a new policy under a taken name).
POLICY_CYCLE = (*BUILT_IN, LongestWaitTimesPriority(), FewestIterationsLeft())
N_SCENARIOS = 6 * len(POLICY_CYCLE)


def random_instance(rng: np.random.Generator, integer_times: bool) -> Instance:
    """5-25 jobs; integer times give many same-instant events; zero work occurs."""
    jobs: list[Job] = []
    arrival = 0.0
    for job_id in range(int(rng.integers(5, 26))):
        arrival += float(rng.integers(0, 4)) if integer_times else float(rng.exponential(2.0))
        n = int(rng.integers(0, 5))
        priority, qubits = int(rng.choice([1, 2, 4])), int(rng.choice([4, 6, 8]))

        def work() -> float:
            return float(rng.integers(0, 4)) if integer_times else float(rng.exponential(1.5))

        def quantum() -> float:
            return float(rng.integers(1, 4)) if integer_times else float(rng.exponential(2.0)) + 1e-3

        if rng.random() < 0.5:  # a constant chain (stored once by the kernel)
            jobs.append(chain_job(job_id, arrival, work(), work(), n, work(), quantum(),
                                  priority, qubits))
        else:
            jobs.append(Job(job_id, arrival, qubits, priority, work(),
                            [work() for _ in range(n)], [quantum() for _ in range(n)], work()))
    return Instance(tuple(jobs))


def scenario(i: int) -> SimulationConfig:
    """Scenario ``i``: policy ``i mod P``, mode alternating every P, workload kind varying."""
    rng = np.random.default_rng(9000 + i)
    policy = POLICY_CYCLE[i % len(POLICY_CYCLE)]
    mode = ("serverless", "dedicated")[(i // len(POLICY_CYCLE)) % 2]
    kind = (i + i // len(POLICY_CYCLE)) % 3
    admission = rng.random() < 0.5
    limits = (int(rng.integers(1, 6)), int(rng.integers(1, 6))) if admission else (None, None)
    workers, qcs = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    record = bool(rng.random() < 0.5)
    if kind == 0:  # an instance replay, to completion or cut short (censoring)
        capacity = float(rng.choice([1.0, 2.0, 3.0, 1.37, 2.91]))
        inst = random_instance(rng, integer_times=rng.random() < 0.7)
        duration = math.inf if rng.random() < 0.5 else float(rng.integers(5, 40))
        warmup = float(rng.integers(0, 5)) if rng.random() < 0.5 else 0.0
        return SimulationConfig(Platform(workers, capacity, qcs, *limits), policy=policy,
                                classical_mode=mode, duration_s=duration, warmup_s=warmup,
                                instance=inst, record_schedule=record)
    if kind == 1:  # a small synthetic workload, loaded enough to queue
        workload = SyntheticWorkload(
            interarrival_s=float(rng.choice([0.5, 1.0, 2.0])),
            iterations=Distribution.uniform_int(0, 4),
            pre_ops=Distribution.exponential(0.3), iteration_ops=Distribution.exponential(0.2),
            quantum_s=Distribution.exponential(1.0), post_ops=0.0,
            qubits=(4, 6), priorities=(1, 2, 4))
        capacity = float(rng.choice([1.0, 1.37]))
        return SimulationConfig(Platform(workers, capacity, qcs, *limits), policy=policy,
                                classical_mode=mode, duration_s=float(rng.integers(100, 300)),
                                warmup_s=float(rng.integers(0, 50)), workload=workload,
                                record_schedule=record)
    # The paper's trace workload, a few hours, fast arrivals.
    spec = WorkloadSpec(interarrival_s=float(rng.choice([300.0, 600.0])))
    capacity = float(rng.choice([1e9, 7.3e8]))
    return SimulationConfig(Platform(workers, capacity, qcs, *limits), policy=policy,
                            classical_mode=mode, duration_s=float(rng.integers(4, 10)) * 3600,
                            warmup_s=3600.0, workload=spec, record_schedule=record)


def same(x: np.ndarray | float, y: np.ndarray | float) -> bool:
    """Bit-equal values, NaN equal to NaN."""
    a, b = np.asarray(x), np.asarray(y)
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    return a.shape == b.shape and np.array_equal(a.astype(str) if a.dtype.kind == "U" else a,
                                                 b.astype(str) if b.dtype.kind == "U" else b)


def differences(kernel: ReplicationResult, model: ReplicationResult) -> list[str]:
    """What differs between two runs: record columns, summary metrics, schedule."""
    out: list[str] = []
    assert kernel.jobs is not None and model.jobs is not None
    for name in JOB_FIELDS:
        if not same(kernel.jobs[name], model.jobs[name]):
            out.append(f"jobs.{name}")
    out += [f"summary.{k}" for k in kernel.summary
            if k not in model.summary or not same(kernel.summary[k], model.summary[k])
            or type(kernel.summary[k]) is not type(model.summary[k])]  # what JSON writes
    if (kernel.schedule is None) != (model.schedule is None) or (
            kernel.schedule is not None and kernel.schedule != model.schedule):
        out.append("schedule")
    if kernel.memory["peak_active_jobs"] != model.memory["peak_active_jobs"]:
        out.append("memory.peak_active_jobs")
    return out


def check(i: int) -> None:
    config = scenario(i)
    seed = i % 5
    kernel, model = engine.simulate(config, seed), simpy_model.simulate(config, seed)
    diff = differences(kernel, model)
    assert not diff, f"scenario {i} ({config.policy}, {config.classical_mode}): {diff}"
    assert kernel.summary["events"] > 0


QUICK = [p + len(POLICY_CYCLE) * (p % 2) for p in range(len(POLICY_CYCLE))]


def test_the_scenarios_cover_every_built_in_policy_mode_and_workload():
    drawn = [scenario(i) for i in range(N_SCENARIOS)]
    assert set(BUILT_IN) >= set(ARRAY_POLICIES) | {"las", "sqf", "priority", "aging",
                                                    "srpt-oracle"}
    combos = {(c.policy, c.classical_mode) for c in drawn}
    assert len(combos) == 2 * len(POLICY_CYCLE)
    assert {(c.instance is not None, c.workload is not None and isinstance(
        c.workload, SyntheticWorkload)) for c in drawn} == {(True, False), (False, True),
                                                              (False, False)}
    assert any(c.platform.max_quantum is None for c in drawn)
    assert any(c.platform.max_quantum is not None for c in drawn)
    assert any(c.warmup_s > 0 for c in drawn) and any(math.isinf(c.duration_s) for c in drawn)
    assert any(c.record_schedule for c in drawn) and not all(c.record_schedule for c in drawn)
    assert {scenario(i).policy for i in QUICK} == {scenario(i).policy for i in range(N_SCENARIOS)}
    assert {scenario(i).classical_mode for i in QUICK} == {"serverless", "dedicated"}


@pytest.mark.parametrize("i", QUICK)
def test_simpy_model_matches_the_kernel_quick(i):
    check(i)


@pytest.mark.slow
@pytest.mark.parametrize("i", [i for i in range(N_SCENARIOS) if i not in QUICK])
def test_simpy_model_matches_the_kernel_full(i):
    check(i)


def test_the_scenarios_exercise_drops_censoring_and_queues():
    """The differential test means something only if its scenarios drop, censor and queue."""
    totals = {"dropped": 0.0, "censored": 0.0, "avg_quantum_pending": 0.0}
    for i in QUICK:
        summary = simpy_model.simulate(scenario(i), i % 5).summary
        for name in totals:
            totals[name] += summary[name] if math.isfinite(summary[name]) else 0.0
    assert all(value > 0 for value in totals.values()), totals


@pytest.mark.parametrize("simpy_policy, kernel_policy", [
    ("lifo", "fifo"), ("fifo", "fifo-swap"), (LongestTaskFirst(), "sqf")])
def test_a_mis_ordered_policy_is_caught(simpy_policy, kernel_policy):
    """The same runs with the SimPy side given another order: the check must report it."""
    jobs = [chain_job(i, 0.0, 0.0, 0.0, 1, 0.0, q=float(1 + i % 3)) for i in range(6)]
    base = dict(platform=Platform(1, 1.0, 1, None, None), duration_s=math.inf,
                instance=Instance(tuple(jobs)))
    kernel = engine.simulate(SimulationConfig(policy=kernel_policy, **base))
    model = simpy_model.simulate(SimulationConfig(policy=simpy_policy, **base))
    assert "jobs.completion_s" in differences(kernel, model)
    same_policy = simpy_model.simulate(SimulationConfig(policy=kernel_policy, **base))
    assert differences(kernel, same_policy) == []


def test_records_sent_to_a_sink_match_the_kernel_block_for_block():
    """With a sink, the rows leave in the same order (as jobs leave, censored last)."""
    config = scenario(QUICK[1])
    blocks: dict[str, list[dict]] = {"kernel": [], "simpy": []}
    k = engine.simulate(config, 1, blocks["kernel"].append)
    m = simpy_model.simulate(config, 1, blocks["simpy"].append)
    assert k.jobs is None and m.jobs is None
    rows = {side: {name: np.concatenate([b[name] for b in bl]) for name in JOB_FIELDS}
            for side, bl in blocks.items()}
    assert all(same(rows["kernel"][n], rows["simpy"][n]) for n in JOB_FIELDS)


def test_hand_solved_processor_sharing_and_policy_order():
    """Independent of the kernel: two tasks of 1 and 3 ops share one worker (S = 1): the
    first ends at 2 s, the second at 4 s; on one QC, lifo serves the last pending first."""
    jobs = [chain_job(0, 0.0, 1.0, 0.0), chain_job(1, 0.0, 3.0, 0.0)]
    result = simpy_model.simulate(SimulationConfig(
        Platform(1, 1.0, 1, None, None), duration_s=math.inf, instance=Instance(tuple(jobs))))
    assert result.jobs is not None
    assert result.jobs["completion_s"].tolist() == [2.0, 4.0]
    quantum = [chain_job(i, 0.0, 0.0, 0.0, 1, 0.0, q=1.0) for i in range(3)]
    result = simpy_model.simulate(SimulationConfig(
        Platform(1, 1.0, 1, None, None), policy="lifo", duration_s=math.inf,
        instance=Instance(tuple(quantum))))
    assert result.jobs is not None
    assert result.jobs["completion_s"].tolist() == [1.0, 3.0, 2.0]
    assert result.jobs["quantum_wait_s"].tolist() == [0.0, 2.0, 1.0]


@pytest.mark.parametrize("policy, completions", [
    ("sqf", [10.0, 16.0, 11.0, 13.0]), ("priority", [10.0, 13.0, 16.0, 15.0]),
    ("fifo", [10.0, 13.0, 14.0, 16.0])])
def test_hand_solved_key_policy_order(policy, completions):
    """One QC, four jobs at t = 0 without classical work: job 0 runs (10 s), jobs 1-3
    (3, 1, 2 s; priorities 4, 1, 2) wait and are picked by the policy's key."""
    jobs = [chain_job(0, 0.0, 0.0, 0.0, 1, 0.0, q=10.0)] + [
        chain_job(i, 0.0, 0.0, 0.0, 1, 0.0, q=q, priority=w)
        for i, q, w in ((1, 3.0, 4), (2, 1.0, 1), (3, 2.0, 2))]
    result = simpy_model.simulate(SimulationConfig(
        Platform(1, 1.0, 1, None, None), policy=policy, duration_s=math.inf,
        instance=Instance(tuple(jobs))))
    assert result.jobs is not None
    assert result.jobs["completion_s"].tolist() == completions


def test_events_land_on_their_absolute_time():
    """SimPy files an event at ``now + delay``; the model files it at its time itself."""
    env = simpy_model.Environment()
    env.run(until=2.0 ** -53)
    when = 1 + 2.0 ** -52
    assert env.now + (when - env.now) != when  # no delay would give ``when``
    env.run(until=simpy_model.At(env, when, simpy_model.ARRIVAL))
    assert env.now == when


def test_stored_replications_are_byte_identical_on_either_engine(tmp_path):
    """``run_replications(..., engine="simpy")`` (what ``--engine simpy`` runs) writes the
    same result files as the kernel, through the streamed-records path and a pool."""
    from conftest import tree_bytes

    from hqsched.experiments.replications import run_replications

    config = scenario(QUICK[3])
    for engine_name in ("kernel", "simpy"):
        run_replications(config, [0, 1], tmp_path / engine_name, processes=2, progress=False,
                         engine=engine_name)
    assert tree_bytes(tmp_path / "kernel") == tree_bytes(tmp_path / "simpy")


def test_cli_engine_simpy_prints_the_same_table(capsys):
    from hqsched.cli import main

    args = ["simulate", "--policy", "fifo,aging", "--duration", "6h", "--warmup", "1h",
            "--seeds", "0-1", "--processes", "1"]
    outputs = []
    for engine_name in ("kernel", "simpy"):
        assert main([*args, "--engine", engine_name]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] and "aging" in outputs[0]
    with pytest.raises(SystemExit) as refused:
        main([*args, "--engine", "ciw"])
    assert refused.value.code == 2 and "invalid choice: 'ciw'" in capsys.readouterr().err


QUBIT_RANK = {4: 1.0, 6: 0.0}


class QubitTable(Policy):
    """A key numba cannot compile (it reads a global Python dict): a prototype."""

    name = "test-qubit-table"

    @staticmethod
    def key(task, now):
        return QUBIT_RANK[int(task.qubits)]


def test_a_policy_the_kernel_cannot_compile_runs_on_the_simpy_model():
    """Prototyping: any Python key runs on SimPy; the kernel says why it cannot run it."""
    from hqsched.errors import InputError

    config = SimulationConfig(
        Platform(1, 1.0, 1, None, None), policy=QubitTable(), duration_s=math.inf,
        instance=Instance(tuple(chain_job(i, 0.0, 0.0, 0.0, 1, 0.0, q=1.0, qubits=(4, 6)[i % 2])
                                for i in range(4))))
    result = simpy_model.simulate(config)
    assert result.jobs is not None  # job 0 (4 qubits) first, then the 6-qubit jobs 1, 3
    assert result.jobs["completion_s"].tolist() == [1.0, 2.0, 4.0, 3.0]
    with pytest.raises(InputError, match="cannot be compiled by numba"):
        engine.simulate(config)


@pytest.mark.parametrize("name", ARRAY_POLICIES)
def test_pending_sets_pop_what_the_kernels_pop(name):
    """The model's pending sets against the kernel's push/pop functions (``PendingQueue``) on
    random push/pop sequences, uniforms at the ends of [0, 1) included."""
    from types import SimpleNamespace

    from hqsched.online.policies import PendingQueue

    rng = np.random.default_rng(5)
    draws = [0.0, 1.0 - 2.0 ** -53, *rng.random(400).tolist()]
    us = iter(draws * 2)
    priorities = [1, 2, 4, 7]
    kernel = PendingQueue(name, priorities, 512, SimpleNamespace(random=lambda: next(us)))
    model = simpy_model.pending_set(POLICIES[name], priorities)
    model_us = iter(draws * 2)
    env = simpy_model.Environment()
    tasks: list[simpy_model.Task] = []
    for step in range(600):
        if kernel and rng.random() < 0.45:
            u = next(model_us) if POLICIES[name].randomized else 0.0
            assert model.pop(u, float(step)) is tasks[kernel.pop()], step
        else:
            w = int(rng.choice(priorities))
            job = simpy_model.Job(len(tasks), len(tasks), 0.0, 4, w, 0.0, 0.0, [], [], 0.0)
            tasks.append(simpy_model.Task(job, 2, 1.0, env.event()))
            kernel.push(len(tasks) - 1, w)
            model.push(tasks[-1], float(step))
