"""Differential test of docs/platform-features.md: the SimPy model against the kernel.

``tests/test_simpy_model.py`` requires both engines to give bit-identical
per-job records, summaries and schedules on random scenarios of the paper's
platform. This file does the same with the features of issue 17 switched on:
a heterogeneous QC fleet (random groups, qubit limits, speeds or IBM
backends, every routing rule and a user routing), runtime sessions (random
minimum priority, maximum length and idle timeout) and serverless function
instances (random maximum, cold start, cold-start work, keep-alive), each
alone and in every combination. A scenario is one of ``test_simpy_model``'s
random scenarios (both classical modes, every policy, admission, warm-up,
censoring, instance replays with integer times and so many same-instant
events, synthetic and trace workloads) with the features added. A quick
subset (two scenarios per combination) runs in CI, the rest with ``-m slow``.

Also here: the special cases that must change no record on either engine
(every feature off explicitly; sessions no job may open; instances that start
without latency), invariants of the SimPy schedules checked without the kernel
(eligibility, per-QC durations, one task per QC, session reservation),
``test_a_contract_violation_is_caught`` (the SimPy model broken on one rule
of the contract at a time must differ from the kernel: the check can fail),
and byte-identical results directories with ``--engine simpy``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest
from test_simpy_model import POLICY_CYCLE, differences, scenario

from hqsched.instances.model import QCGroup
from hqsched.instances.synthetic import SyntheticWorkload
from hqsched.online import engine, simpy_model
from hqsched.online.config import Lifecycle, Sessions, SimulationConfig
from hqsched.online.policies import Routing, resolve_routing

FEATURES = ("fleet", "sessions", "lifecycle")
#: Every non-empty combination of the features.
COMBINATIONS = [c for n in (1, 2, 3) for c in itertools.combinations(FEATURES, n)]
PER_COMBINATION = 12
N_SCENARIOS = PER_COMBINATION * len(COMBINATIONS)


class PreferSlowForLongTasks(Routing):
    """A user routing reading the task: long tasks go to slow QCs, short ones to fast."""

    name = "test-diff-routing"

    @staticmethod
    def key(qc, task):
        return qc.factor if task.quantum_s < 1.0 else -qc.factor


def time_scale(config: SimulationConfig) -> float:
    """Typical task length of the scenario (s): ~1 for instances and synthetic workloads,
    ~300 for the trace workload."""
    return 1.0 if config.instance is not None or isinstance(config.workload, SyntheticWorkload) \
        else 300.0


def random_fleet(rng: np.random.Generator, config: SimulationConfig) -> dict:
    """1-3 groups of 0-2 QCs with qubit limits (the last group fits every task), plain speeds
    or IBM backends (instances and synthetic workloads: their qubit counts 4, 6, 8 all have
    estimates), and a routing rule."""
    n = int(rng.integers(1, 4))
    backends = config.workload is None or isinstance(config.workload, SyntheticWorkload)
    groups = []
    for g in range(n):
        count = int(rng.integers(0 if g < n - 1 else 1, 3))
        qubits = None if g == n - 1 else int(rng.choice([4, 5, 6, 8]))
        if backends and rng.random() < 0.3:
            backend = str(rng.choice(["ibm_torino", "ibm_brussels", "ibm_nazca"]))
            groups.append(QCGroup(f"g{g}", count, qubits, backend=backend))
        else:
            speed = float(rng.choice([1.0, 0.5, 2.0, 1.37, 0.8]))
            groups.append(QCGroup(f"g{g}", count, qubits, speed=speed))
    routing = str(rng.choice(["fastest", "smallest", "lowest", "test-diff-routing"]))
    return {"groups": tuple(groups), "routing": routing}


def random_sessions(rng: np.random.Generator, scale: float) -> Sessions:
    return Sessions(min_priority=int(rng.choice([1, 2, 4])),
                    max_length_s=float(rng.choice([2.0, 5.0, 20.0, math.inf])) * scale,
                    idle_timeout_s=float(rng.choice([0.5, 1.0, 3.0])) * scale)


def random_lifecycle(rng: np.random.Generator, config: SimulationConfig, scale: float) -> Lifecycle:
    capacity = config.platform.worker_capacity_ops_per_s
    return Lifecycle(max_instances=int(rng.choice([1, 2, 3, 50])),
                     cold_start_s=float(rng.choice([0.0, 0.5, 1.0])) * scale,
                     cold_start_ops=float(rng.choice([0.0, 0.0, 0.5])) * scale * capacity,
                     keep_alive_s=float(rng.choice([0.0, 1.0, 5.0])) * scale)


def feature_scenario(i: int) -> SimulationConfig:
    """Scenario ``i``: ``test_simpy_model.scenario(i)`` with the features of combination
    ``i mod 7`` on (the fleet replaces the identical QCs; function instances need the
    serverless mode; fifo-swap, defined for identical QCs only, becomes fifo)."""
    resolve_routing(PreferSlowForLongTasks)  # registered (the fixture unregisters it)
    features = COMBINATIONS[i % len(COMBINATIONS)]
    base = scenario(i)
    rng = np.random.default_rng(17_000 + i)
    scale = time_scale(base)
    options: dict = {}
    platform = base.platform
    if "fleet" in features:
        fleet = random_fleet(rng, base)
        platform = replace(platform, quantum_computers=1, qc_groups=fleet["groups"])
        options["routing"] = fleet["routing"]
        if base.policy == "fifo-swap":
            options["policy"] = "fifo"
    if "sessions" in features:
        options["sessions"] = random_sessions(rng, scale)
    if "lifecycle" in features:
        options["lifecycle"] = random_lifecycle(rng, base, scale)
        options["classical_mode"] = "serverless"
    return replace(base, platform=platform, **options)


def check(i: int) -> None:
    config = feature_scenario(i)
    seed = i % 5
    features = COMBINATIONS[i % len(COMBINATIONS)]
    kernel, model = engine.simulate(config, seed), simpy_model.simulate(config, seed)
    diff = differences(kernel, model)
    if list(model.summary) != list(kernel.summary):  # the order results files write
        diff.append(f"summary keys: {list(kernel.summary)} != {list(model.summary)}")
    assert not diff, f"scenario {i} {features} ({config.policy}, {config.classical_mode}): {diff}"


QUICK = list(range(2 * len(COMBINATIONS)))


def test_the_scenarios_cover_every_combination_policy_and_routing():
    drawn = [feature_scenario(i) for i in range(N_SCENARIOS)]
    assert {c.policy for c in drawn} >= {p if isinstance(p, str) else p.name
                                         for p in POLICY_CYCLE} - {"fifo-swap"}
    fleets = [c for c in drawn if c.platform.qc_groups]
    assert {c.routing for c in fleets} == {"fastest", "smallest", "lowest", "test-diff-routing"}
    assert any(g.backend for c in fleets for g in c.platform.qc_groups)
    assert any(g.count == 0 for c in fleets for g in c.platform.qc_groups)
    assert {c.classical_mode for c in drawn if c.lifecycle is None} == {"serverless",
                                                                      "dedicated"}
    assert any(c.sessions and math.isinf(c.sessions.max_length_s) for c in drawn)
    assert any(c.lifecycle and c.lifecycle.cold_start_s == 0 for c in drawn)
    quick = [COMBINATIONS[i % len(COMBINATIONS)] for i in QUICK]
    assert set(quick) == set(COMBINATIONS)


@pytest.mark.parametrize("i", QUICK)
def test_features_match_the_kernel_quick(i):
    check(i)


@pytest.mark.slow
@pytest.mark.parametrize("i", [i for i in range(N_SCENARIOS) if i not in QUICK])
def test_features_match_the_kernel_full(i):
    check(i)


def test_the_feature_scenarios_exercise_each_mechanism():
    """The comparison means something only if the scenarios queue by eligibility, hold and
    release sessions, cold-start and reuse instances."""
    totals = dict.fromkeys(("sessions", "session_idle_qc_s", "cold_starts", "instance_wait_s",
                            "avg_quantum_pending", "dropped"), 0.0)
    for i in QUICK:
        summary = simpy_model.simulate(feature_scenario(i), i % 5).summary
        for name in totals:
            value = summary.get(name, 0.0)
            totals[name] += value if math.isfinite(value) else 0.0
    assert all(value > 0 for value in totals.values()), totals


@pytest.mark.parametrize("engine_name", ["simpy", "kernel"])
@pytest.mark.parametrize("i", [0, 1, 2, 3, 5, 8, 13])
def test_features_off_keep_todays_results(engine_name, i):
    """Every feature off, explicitly (``qc_groups = ()``, ``sessions = None``,
    ``lifecycle = None``, any routing name): the same results as the paper's platform."""
    base = scenario(i)
    off = replace(base, routing="smallest", sessions=None, lifecycle=None)
    run = (simpy_model if engine_name == "simpy" else engine).simulate
    assert differences(run(base, 0), run(off, 0)) == []


@pytest.mark.parametrize("engine_name", ["simpy", "kernel"])
@pytest.mark.parametrize("i", [0, 4, 7])
def test_sessions_nobody_may_open_change_no_record(engine_name, i):
    """Sessions on with a minimum priority above every job's: the records and schedule of
    sessions off (only the summary gains the session metrics, all 0)."""
    base = scenario(i)
    on = replace(base, sessions=Sessions(min_priority=10**6))
    run = (simpy_model if engine_name == "simpy" else engine).simulate
    a, b = run(base, 0), run(on, 0)
    assert differences(a, b) == []  # the metrics of sessions off, bit for bit
    assert (b.summary["sessions"], b.summary["avg_quantum_reserved"]) == (0.0, 0.0)


@pytest.mark.parametrize("i", QUICK)
def test_simpy_schedules_keep_the_contract_invariants(i):
    """Independent of the kernel, on the SimPy model's schedules: a quantum task runs only
    on a QC of its qubit count (eligibility) for its reference duration times the QC's
    factor; no QC runs two tasks at once. Sessions without a maximum length: a session
    job's next quantum task that starts less than the idle timeout after the previous one
    ended runs on the same QC, and no other job's task starts on that QC in between."""
    config = replace(feature_scenario(i), record_schedule=True)
    result = simpy_model.simulate(config, i % 5)
    assert result.schedule is not None and result.jobs is not None
    quantum = sorted((t.server, t.start_s, t.end_s, t.job_id, t.index)
                     for t in result.schedule.tasks if t.kind.value == "quantum")
    for (qc, _, end, *_), (qc2, start2, *_) in zip(quantum, quantum[1:]):
        assert qc != qc2 or end <= start2, f"QC {qc} runs two tasks at once at {start2}"
    qubits = dict(zip(result.jobs["job_id"].tolist(), result.jobs["qubits"].tolist()))
    priority = dict(zip(result.jobs["job_id"].tolist(), result.jobs["priority"].tolist()))
    groups = config.platform.qc_groups
    if groups:
        fleet = simpy_model.Fleet(groups, "fastest", simpy_model._estimates(config))
        jobs = {job.job_id: job for job in config.instance.jobs} if config.instance else {}
        for qc, start, end, job_id, k in quantum:
            if job_id in qubits:  # recorded (not a warm-up job)
                assert groups[fleet.group_of[qc]].fits(qubits[job_id]), (qc, job_id)
            if job_id in jobs:
                reference = jobs[job_id].quantum_s[(k - 2) // 2]
                assert end == start + reference * fleet.factor(qc, jobs[job_id].qubits)
    sessions = config.sessions
    if sessions is None or not math.isinf(sessions.max_length_s):
        return
    by_job: dict[int, list] = {}
    for qc, start, end, job_id, _ in sorted(quantum, key=lambda r: r[1]):
        by_job.setdefault(job_id, []).append((qc, start, end))
    for job_id, runs in by_job.items():
        if priority.get(job_id, 0) < sessions.min_priority:
            continue
        for (qc, _, end), (qc_next, start_next, _) in zip(runs, runs[1:]):
            if start_next - end < sessions.idle_timeout_s:
                assert qc_next == qc, (job_id, end, start_next)
                assert not [r for r in quantum if r[0] == qc and r[3] != job_id
                            and end <= r[1] < start_next], (job_id, qc, end, start_next)


def reuse_oldest_instance(monkeypatch):
    """FIFO reuse of idle instances (the contract says LIFO: the most recently freed)."""
    ready = simpy_model.Instances.ready

    def oldest_first(self, task):
        if self.idle:
            self.idle.rotate(-1)  # the oldest freed instance on top
        ready(self, task)
    monkeypatch.setattr(simpy_model.Instances, "ready", oldest_first)


def route_to_the_lowest(monkeypatch):
    """``fastest`` taking the lowest-numbered free QC whatever its speed."""
    monkeypatch.setitem(simpy_model.ROUTINGS, "fastest", lambda qc: (0.0,))


def sessions_without_maximum_length(monkeypatch):
    """A session that ignores its maximum length."""
    end = simpy_model.QuantumComputers.end

    def no_maximum(self, task):
        if self.sessions is not None:
            self.sessions = replace(self.sessions, max_length_s=math.inf)
        end(self, task)
    monkeypatch.setattr(simpy_model.QuantumComputers, "end", no_maximum)


def head_of_line_blocking(monkeypatch):
    """fifo on a fleet idling a QC whose earliest pending task it cannot run."""
    pop = simpy_model.FleetPending.pop

    def blocked(self, draw, now, eligible):
        if self.entries and self.policy.name == "fifo" and not eligible(self.entries[0][1]):
            return None
        return pop(self, draw, now, eligible)
    monkeypatch.setattr(simpy_model.FleetPending, "pop", blocked)


@pytest.mark.parametrize("mutation, i", [
    (reuse_oldest_instance, 4), (route_to_the_lowest, 3),
    (sessions_without_maximum_length, 8), (head_of_line_blocking, 4)])
def test_a_contract_violation_is_caught(monkeypatch, mutation, i):
    """The differential check can fail: the SimPy model broken on one rule of the contract
    (each found to matter in these scenarios) differs from the kernel."""
    config = feature_scenario(i)
    kernel = engine.simulate(config, i % 5)
    assert differences(kernel, simpy_model.simulate(config, i % 5)) == []
    mutation(monkeypatch)
    assert "jobs.completion_s" in differences(kernel, simpy_model.simulate(config, i % 5))


@pytest.mark.parametrize("engine_name", ["simpy", "kernel"])
@pytest.mark.parametrize("i", [0, 2, 4, 13])
def test_instances_that_start_without_latency_change_no_record(engine_name, i):
    """Function instances with no cold-start latency or work and no useful maximum (every
    ready task starts at once, as on the always-warm platform): the records, schedule and
    metrics of lifecycle off; the summary gains the instance metrics."""
    base = replace(scenario(i), classical_mode="serverless")
    on = replace(base, lifecycle=Lifecycle(max_instances=1_000_000, cold_start_s=0.0,
                                           keep_alive_s=float(i)))
    run = (simpy_model if engine_name == "simpy" else engine).simulate
    a, b = run(base, 0), run(on, 0)
    assert differences(a, b) == []
    assert b.summary["instance_wait_s"] == 0.0 and b.summary["cold_starts"] >= 0.0


def test_stored_replications_with_every_feature_are_byte_identical_on_either_engine(tmp_path):
    """``--engine simpy`` with every feature on writes the kernel's result files (the feature
    metrics in the same order), through the streamed-records path and a pool."""
    from conftest import tree_bytes

    from hqsched.experiments.replications import run_replications

    config = feature_scenario(13)
    assert config.platform.qc_groups and config.sessions and config.lifecycle
    for engine_name in ("kernel", "simpy"):
        run_replications(config, [0, 1], tmp_path / engine_name, processes=2, progress=False,
                         engine=engine_name)
    assert tree_bytes(tmp_path / "kernel") == tree_bytes(tmp_path / "simpy")
