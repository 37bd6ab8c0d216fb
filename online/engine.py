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
from typing import Iterable, Iterator

import numpy as np

from hqsched.instances.model import InputError, Job, TaskKind
from hqsched.instances.schedule import Schedule, ScheduledTask
from hqsched.instances.streams import stream
from hqsched.instances.synthetic import SyntheticWorkload
from hqsched.instances.traces import TraceSet, load_traces
from hqsched.instances.workload import JobSampler, poisson_jobs

from .config import JOB_FIELDS, ReplicationResult, SimulationConfig
from .kernel import ACTIVE, COMPLETED, DROPPED, run_events
from .policies import POLICIES


@functools.lru_cache(maxsize=8)
def cached_traces(directory: str | None) -> TraceSet:
    """Traces loaded once per process (replications in a pool share them)."""
    return load_traces(directory)


def job_source(config: SimulationConfig, seed: int) -> Iterator[Job]:
    """The jobs of a run in arrival order: the instance's, or drawn lazily by seed."""
    if config.instance is not None:
        return iter(config.instance.jobs)
    if isinstance(config.workload, SyntheticWorkload):
        return config.workload.jobs(stream(seed, "workload"), config.duration_s)
    sampler = JobSampler(cached_traces(config.traces_dir), config.workload)
    return poisson_jobs(sampler, stream(seed, "workload"), config.duration_s)


class JobArrays:
    """The jobs of a run as flat arrays, the kernel's input (see ``kernel.run_events``).

    A job whose iterations all repeat one value stores it once (``offset = -1``);
    other chains are concatenated in ``it_flat`` / ``q_flat``.
    """

    def __init__(self, jobs: Iterable[Job]) -> None:
        self.jobs = list(jobs)
        n = len(self.jobs)
        self.arrival = np.empty(n)
        self.pre, self.post = np.empty(n), np.empty(n)
        self.it_const, self.q_const = np.zeros(n), np.zeros(n)
        self.last = np.empty(n, np.int64)
        self.offset = np.full(n, -1, np.int64)
        self.priority = np.empty(n, np.int64)
        it_parts: list[tuple[float, ...]] = []
        q_parts: list[tuple[float, ...]] = []
        flat = 0
        for i, job in enumerate(self.jobs):
            self.arrival[i], self.pre[i], self.post[i] = job.arrival_s, job.pre_ops, job.post_ops
            self.last[i] = 2 * job.iterations + 1
            self.priority[i] = job.priority
            its, qs = job.iteration_ops, job.quantum_s
            if not its:
                continue
            if its.count(its[0]) == len(its) and qs.count(qs[0]) == len(qs):
                self.it_const[i], self.q_const[i] = its[0], qs[0]
            else:
                self.offset[i] = flat
                it_parts.append(its)
                q_parts.append(qs)
                flat += len(its)
        self.it_flat = np.fromiter((x for part in it_parts for x in part), float, flat)
        self.q_flat = np.fromiter((x for part in q_parts for x in part), float, flat)
        if n > 1 and np.any(np.diff(self.arrival) < 0):
            bad = int(np.argmax(np.diff(self.arrival) < 0)) + 1
            raise InputError(f"job {self.jobs[bad].job_id}: arrivals must be in time order")


def simulate(config: SimulationConfig, seed: int = 0) -> ReplicationResult:
    """Run one replication; deterministic in ``(config, seed)``."""
    policy = POLICIES.get(config.policy)
    if policy is None:
        raise InputError(f"simulation: unknown policy {config.policy!r} "
                         f"(choose from {sorted(POLICIES)})")
    jobs = JobArrays(job_source(config, seed))
    p = config.platform
    weights = np.unique(jobs.priority) if len(jobs.jobs) else np.ones(1, np.int64)
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
    for j, job in enumerate(jobs.jobs):  # arrival order = (arrival_s, job_id) order
        code = status[j]
        if code == COMPLETED and completion[j] >= warmup:
            t = float(completion[j])
            records.append((job.job_id, job.arrival_s, t, t - job.arrival_s, job.qubits,
                            job.priority, job.iterations, float(wait[j]), "completed"))
        elif code == DROPPED and job.arrival_s >= warmup:
            records.append((job.job_id, job.arrival_s, math.nan, math.nan, job.qubits,
                            job.priority, job.iterations, 0.0, "dropped"))
        elif code == ACTIVE:  # still running at the end: censored
            records.append((job.job_id, job.arrival_s, math.nan, math.nan, job.qubits,
                            job.priority, job.iterations, float(wait[j]), "censored"))
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
        ids = [job.job_id for job in jobs.jobs]
        schedule = Schedule(tuple(
            ScheduledTask(ids[j], k, kinds[kind], server, start, stop)
            for j, k, kind, server, start, stop in zip(
                log_job.tolist(), log_task.tolist(), log_kind.tolist(), log_server.tolist(),
                log_start.tolist(), log_end.tolist())))
    return ReplicationResult(seed, summary, table, schedule)
