"""Discrete-event simulator of the hybrid classical-quantum platform (MODEL.md).

A hand-written event loop rather than SimPy: every job is a strict chain with
one active task, so a process view buys nothing, while a flat loop over
arrays, compiled by numba (``online/kernel.py``), processes millions of
events per second. This module prepares the kernel's arrays from the jobs
and turns its output into the metrics of MODEL.md.

Classical modes
    serverless: processor sharing. With ``A`` active classical tasks each is
        served at ``S * min(1, C / A)`` operations/s. Kept exact in O(log A)
        per event with a *virtual clock* ``V``: the service one task has
        received since time 0 if it had been active throughout. ``V`` grows at
        the per-task rate; a task started at ``V0`` with work ``w`` ends when
        ``V`` reaches ``V0 + w``, so the earliest finishing task is the
        smallest tag in a heap, and its end time is
        ``now + (tag - V) / rate``, recomputed whenever ``A`` changes.
    dedicated: ``C`` non-preemptive servers of rate ``S``; a ready classical
        task waits in a FIFO queue. The lowest-numbered free server is used.

Quantum: ``Q`` QCs, lowest-numbered free QC first; otherwise the task joins
the policy's pending queue (:mod:`hqsched.online.policies`).

Admission: a job arriving at ``t`` is accepted iff the number of active
classical tasks (serverless: in the pool; dedicated: in service or queued) is
below ``C_max`` and the number of pending quantum tasks is below ``Q_max``.

Events at the same instant run in this order: the processor-sharing
completion (if any) first, then other completions, then arrivals; ties within
a kind in the order they were scheduled. A completing quantum task hands its
QC to the next pending task before its own job moves on.

Metrics cover the window ``[warmup_s, end)``: time averages of the counts,
job times of jobs completing in the window, drops among arrivals in it; jobs
still active at the end are censored.
"""

from __future__ import annotations

import functools
import math
from typing import Iterable

import numpy as np

from hqsched.instances.model import InputError, Job, TaskKind
from hqsched.instances.schedule import Schedule, ScheduledTask
from hqsched.instances.streams import stream
from hqsched.instances.synthetic import SyntheticWorkload
from hqsched.instances.traces import TraceSet, load_traces
from hqsched.instances.workload import ChainDraw, JobSampler, WorkloadSpec, poisson_draws

from .config import JOB_FIELDS, ReplicationResult, SimulationConfig
from .kernel import ACTIVE, COMPLETED, DROPPED, run_events
from .policies import POLICIES


@functools.lru_cache(maxsize=8)
def cached_traces(directory: str | None) -> TraceSet:
    """Traces loaded once per process (replications in a pool share them)."""
    return load_traces(directory)


@functools.lru_cache(maxsize=32)
def cached_sampler(directory: str | None, spec: WorkloadSpec) -> JobSampler:
    """The rescaled per-qubit profiles of a workload, built once per process, not per seed."""
    return JobSampler(cached_traces(directory), spec)


def job_arrays(config: SimulationConfig, seed: int) -> JobArrays:
    """The jobs of a run in arrival order: the instance's, or drawn by seed."""
    if config.instance is not None:
        return JobArrays.from_jobs(config.instance.jobs)
    rng = stream(seed, "workload")
    if isinstance(config.workload, SyntheticWorkload):
        return JobArrays.from_jobs(config.workload.jobs(rng, config.duration_s))
    sampler = cached_sampler(config.traces_dir, config.workload)
    return JobArrays.from_draws(poisson_draws(sampler, rng, config.duration_s))


class JobArrays:
    """The jobs of a run as columns, the kernel's input (see ``kernel.run_events``).

    A job whose iterations all repeat one value stores it once (``offset = -1``);
    other chains are concatenated in ``it_flat`` / ``q_flat``. Trace workloads
    never build per-iteration tuples: memory is a few numbers per job.
    """

    def __init__(self, rows: list[tuple], it_flat: list[float], q_flat: list[float]) -> None:
        """``rows``: (job_id, arrival_s, qubits, priority, iterations, pre_ops, post_ops,
        iteration_ops, quantum_s, offset) per job, in arrival order."""
        columns = list(zip(*rows)) if rows else [()] * 10
        self.job_id = np.asarray(columns[0], dtype=np.int64)
        self.arrival = np.asarray(columns[1], dtype=float)
        self.qubits = np.asarray(columns[2], dtype=np.int64)
        self.priority = np.asarray(columns[3], dtype=np.int64)
        self.iterations = np.asarray(columns[4], dtype=np.int64)
        self.pre, self.post = np.asarray(columns[5], dtype=float), np.asarray(columns[6], dtype=float)
        self.it_const = np.asarray(columns[7], dtype=float)
        self.q_const = np.asarray(columns[8], dtype=float)
        self.offset = np.asarray(columns[9], dtype=np.int64)
        self.last = 2 * self.iterations + 1
        self.it_flat = np.asarray(it_flat, dtype=float)
        self.q_flat = np.asarray(q_flat, dtype=float)
        if len(rows) > 1 and np.any(np.diff(self.arrival) < 0):
            bad = int(np.argmax(np.diff(self.arrival) < 0)) + 1
            raise InputError(f"job {self.job_id[bad]}: arrivals must be in time order")

    @classmethod
    def from_draws(cls, draws: Iterable[tuple[float, int, int, ChainDraw]]) -> JobArrays:
        rows = [(i, t, q, w, c.iterations, c.pre_ops, c.post_ops, c.iteration_ops, c.quantum_s, -1)
                for i, (t, q, w, c) in enumerate(draws)]
        return cls(rows, [], [])

    @classmethod
    def from_jobs(cls, jobs: Iterable[Job]) -> JobArrays:
        rows, it_flat, q_flat = [], [], []
        for job in jobs:
            its, qs = job.iteration_ops, job.quantum_s
            constant = not its or (its.count(its[0]) == len(its) and qs.count(qs[0]) == len(qs))
            offset = -1 if constant else len(it_flat)
            if not constant:
                it_flat.extend(its)
                q_flat.extend(qs)
            rows.append((job.job_id, job.arrival_s, job.qubits, job.priority, job.iterations,
                         job.pre_ops, job.post_ops, its[0] if its else 0.0, qs[0] if qs else 0.0,
                         offset))
        return cls(rows, it_flat, q_flat)

    def __len__(self) -> int:
        return len(self.arrival)


def simulate(config: SimulationConfig, seed: int = 0) -> ReplicationResult:
    """Run one replication; deterministic in ``(config, seed)``."""
    policy = POLICIES.get(config.policy)
    if policy is None:
        raise InputError(f"simulation: unknown policy {config.policy!r} "
                         f"(choose from {sorted(POLICIES)})")
    jobs = job_arrays(config, seed)
    p = config.platform
    weights = np.unique(jobs.priority) if len(jobs) else np.ones(1, np.int64)
    out = run_events(
        jobs.arrival, np.searchsorted(weights, jobs.priority), jobs.pre, jobs.post, jobs.last,
        jobs.it_const, jobs.q_const, jobs.offset, jobs.it_flat, jobs.q_flat,
        p.classical_workers, float(p.worker_capacity_ops_per_s), p.quantum_computers,
        math.inf if p.max_classical is None else float(p.max_classical),
        math.inf if p.max_quantum is None else float(p.max_quantum),
        config.classical_mode == "dedicated", float(config.warmup_s), float(config.duration_s),
        config.record_schedule, policy.policy_id, policy.randomized, weights.astype(np.int64),
        stream(seed, "policy"))
    return _result(config, seed, jobs, *out)


def _result(config: SimulationConfig, seed: int, jobs: JobArrays, status, completion, wait,
            scalars, log_job, log_task, log_kind, log_server, log_start, log_end) -> ReplicationResult:
    arrived, dropped, events, area_c, area_qs, area_qp, end = scalars.tolist()
    warmup = float(config.warmup_s)
    records = []
    ids, arrivals = jobs.job_id.tolist(), jobs.arrival.tolist()
    qubits, priorities, iterations = jobs.qubits.tolist(), jobs.priority.tolist(), jobs.iterations.tolist()
    for j, code in enumerate(status.tolist()):  # arrival order = (arrival_s, job_id) order
        row = (ids[j], arrivals[j], qubits[j], priorities[j], iterations[j])
        if code == COMPLETED and completion[j] >= warmup:
            t = float(completion[j])
            records.append((row[0], row[1], t, t - row[1], *row[2:], float(wait[j]), "completed"))
        elif code == DROPPED and row[1] >= warmup:
            records.append((row[0], row[1], math.nan, math.nan, *row[2:], 0.0, "dropped"))
        elif code == ACTIVE:  # still running at the end: censored
            records.append((row[0], row[1], math.nan, math.nan, *row[2:], float(wait[j]), "censored"))
    columns = list(zip(*records)) if records else [()] * len(JOB_FIELDS)
    table = {name: np.asarray(col) for name, col in zip(JOB_FIELDS, columns)}
    table["status"] = np.asarray(table["status"], dtype=str)
    times = np.asarray([r[3] for r in records if r[8] == "completed"], dtype=float)
    window = end - warmup
    avg = [a / window if window > 0 else math.nan for a in (area_c, area_qs, area_qp)]
    quantiles = np.quantile(times, [0.25, 0.5, 0.75, 0.95, 0.99]) if times.size else [math.nan] * 5
    summary = {
        "arrived": arrived,
        "accepted": arrived - dropped,
        "dropped": dropped,
        "drop_probability": dropped / arrived if arrived else math.nan,
        "completed": float(times.size),
        "censored": float(np.count_nonzero(status == ACTIVE)),
        "job_time_mean_s": float(times.mean()) if times.size else math.nan,
        "job_time_p25_s": float(quantiles[0]),
        "job_time_p50_s": float(quantiles[1]),
        "job_time_p75_s": float(quantiles[2]),
        "job_time_p95_s": float(quantiles[3]),
        "job_time_p99_s": float(quantiles[4]),
        "avg_classical_active": avg[0],
        "avg_quantum_in_service": avg[1],
        "avg_quantum_pending": avg[2],
        "qc_utilization": avg[1] / config.platform.quantum_computers,
        "events": events,
        "sim_end_s": end,
    }
    schedule = None
    if config.record_schedule:
        kinds = (TaskKind.CLASSICAL, TaskKind.QUANTUM)
        schedule = Schedule(tuple(
            ScheduledTask(ids[j], k, kinds[kind], server, start, stop)
            for j, k, kind, server, start, stop in zip(
                log_job.tolist(), log_task.tolist(), log_kind.tolist(), log_server.tolist(),
                log_start.tolist(), log_end.tolist())))
    return ReplicationResult(seed, summary, table, schedule)
