"""Discrete-event simulator of the hybrid classical-quantum platform (MODEL.md).

A hand-written event loop over a binary heap rather than SimPy: every job is
a strict chain with one active task, so a process view buys nothing, while a
flat loop is several times faster per event (millions of events per run).

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
import heapq
import math
from collections import deque
from typing import Iterator

import numpy as np

from hqsched.instances.model import InputError, Job, TaskKind
from hqsched.instances.schedule import SHARED_POOL, Schedule, ScheduledTask
from hqsched.instances.streams import stream
from hqsched.instances.traces import TraceSet, load_traces
from hqsched.instances.workload import JobSampler, poisson_jobs

from .config import JOB_FIELDS, ReplicationResult, SimulationConfig
from .policies import POLICIES, Uniforms

# Heap ranks: completions before arrivals at the same instant.
_COMPLETION, _ARRIVAL = 0, 1
# Event kinds.
_QUANTUM_DONE, _CLASSICAL_DONE, _JOB_ARRIVES = 0, 1, 2


class _ActiveJob:
    """Run-time state of an accepted job: its chain position and its timings."""

    __slots__ = ("job", "priority", "k", "last", "pre", "its", "qs", "post",
                 "wait_s", "queued_at", "task_start", "server")

    def __init__(self, job: Job) -> None:
        self.job = job
        self.priority = job.priority  # the only attribute a policy may read
        self.k = -1  # index of the current task in the chain; -1 = not started
        self.last = 2 * job.iterations + 1  # index of post
        self.pre, self.its, self.qs, self.post = job.pre_ops, job.iteration_ops, job.quantum_s, job.post_ops
        self.wait_s = 0.0  # time spent pending for a QC
        self.queued_at = 0.0
        self.task_start = 0.0
        self.server = SHARED_POOL


@functools.lru_cache(maxsize=8)
def cached_traces(directory: str | None) -> TraceSet:
    """Traces loaded once per process (replications in a pool share them)."""
    return load_traces(directory)


def job_source(config: SimulationConfig, seed: int) -> Iterator[Job]:
    """The jobs of a run in arrival order: the instance's, or drawn lazily by seed."""
    if config.instance is not None:
        return iter(config.instance.jobs)
    sampler = JobSampler(cached_traces(config.traces_dir), config.workload)
    return poisson_jobs(sampler, stream(seed, "workload"), config.duration_s)


def simulate(config: SimulationConfig, seed: int = 0) -> ReplicationResult:
    """Run one replication; deterministic in ``(config, seed)``."""
    policy_cls = POLICIES.get(config.policy)
    if policy_cls is None:
        raise InputError(f"simulation: unknown policy {config.policy!r} "
                         f"(choose from {sorted(POLICIES)})")
    policy = policy_cls(Uniforms(stream(seed, "policy")))
    return _Run(config, policy).run(job_source(config, seed), seed)


class _Run:
    """One replication: :meth:`run` is the event loop, :meth:`_result` the metrics.

    The loop keeps its state in local variables and inlines the task starts:
    it runs once per event, millions of times per replication.
    """

    def __init__(self, config: SimulationConfig, policy) -> None:
        self.config = config
        self.policy = policy
        self.Q = config.platform.quantum_computers
        self.warmup = float(config.warmup_s)
        self.records: list[tuple] = []  # per-job rows, JOB_FIELDS order
        self.scheduled: list[ScheduledTask] = []
        self.active: dict[int, _ActiveJob] = {}

    def run(self, jobs: Iterator[Job], seed: int) -> ReplicationResult:
        p = self.config.platform
        dedicated = self.config.classical_mode == "dedicated"
        C, S = p.classical_workers, float(p.worker_capacity_ops_per_s)
        max_classical = math.inf if p.max_classical is None else p.max_classical
        max_quantum = math.inf if p.max_quantum is None else p.max_quantum
        warmup, end = self.warmup, float(self.config.duration_s)
        record = self.config.record_schedule
        push, pop = self.policy.push, self.policy.pop
        heap: list = []  # (time, rank, seq, kind, payload)
        heappush, heappop = heapq.heappush, heapq.heappop
        seq = 0
        # Processor sharing: virtual clock V as of time t_v, per-task rate, tag heap.
        V = t_v = 0.0
        rate = S
        ps_heap: list = []  # (tag, seq, job)
        free_servers = list(range(C))  # dedicated mode
        classical_queue: deque = deque()
        free_qcs = list(range(self.Q))
        n_classical = n_quantum_service = n_pending = 0
        active, records, scheduled = self.active, self.records, self.scheduled
        arrived = dropped = events = 0
        area_c = area_qs = area_qp = 0.0
        last = warmup  # the metrics integrate from here

        first = next(jobs, None)
        if first is not None:
            seq += 1
            heappush(heap, (first.arrival_s, _ARRIVAL, seq, _JOB_ARRIVES, first))
        t = 0.0
        while True:
            t_heap = heap[0][0] if heap else math.inf
            if ps_heap:
                t_ps = t_v + (ps_heap[0][0] - V) / rate
                if t_ps < t_v:  # rounding: never step back in time
                    t_ps = t_v
            else:
                t_ps = math.inf
            t = t_ps if t_ps <= t_heap else t_heap
            if t >= end:
                break
            events += 1
            if t > last:
                dt = t - last
                area_c += n_classical * dt
                area_qs += n_quantum_service * dt
                area_qp += n_pending * dt
                last = t

            # 1. Apply the event; ``job`` is the job whose task ended (or that arrived).
            if t_ps <= t_heap:  # processor-sharing completion
                tag, _, job = heappop(ps_heap)
                V, t_v = tag, t
                n_classical -= 1
                rate = S if n_classical <= C else S * C / n_classical
                done_kind, server = TaskKind.CLASSICAL, SHARED_POOL
            else:
                _, _, _, kind, job = heappop(heap)
                if kind == _QUANTUM_DONE:
                    server = job.server
                    done_kind = TaskKind.QUANTUM
                    n_quantum_service -= 1
                    if n_pending:  # the freed QC takes the policy's pick
                        nxt = pop()
                        n_pending -= 1
                        nxt.wait_s += t - nxt.queued_at
                        nxt.task_start, nxt.server = t, server
                        n_quantum_service += 1
                        seq += 1
                        heappush(heap, (t + nxt.qs[(nxt.k - 2) >> 1], _COMPLETION, seq, _QUANTUM_DONE, nxt))
                    else:
                        heappush(free_qcs, server)
                elif kind == _CLASSICAL_DONE:
                    server = job.server
                    done_kind = TaskKind.CLASSICAL
                    n_classical -= 1
                    if classical_queue:
                        nxt, ops = classical_queue.popleft()
                        nxt.task_start, nxt.server = t, server
                        seq += 1
                        heappush(heap, (t + ops / S, _COMPLETION, seq, _CLASSICAL_DONE, nxt))
                    else:
                        heappush(free_servers, server)
                else:  # arrival: admit or drop, then schedule the next arrival
                    j = job
                    nxt_job = next(jobs, None)
                    if nxt_job is not None:
                        if nxt_job.arrival_s < t:
                            raise InputError(f"job {nxt_job.job_id}: arrivals must be in time order")
                        seq += 1
                        heappush(heap, (nxt_job.arrival_s, _ARRIVAL, seq, _JOB_ARRIVES, nxt_job))
                    in_window = t >= warmup
                    arrived += in_window
                    if n_classical >= max_classical or n_pending >= max_quantum:
                        if in_window:
                            dropped += 1
                            records.append((j.job_id, j.arrival_s, math.nan, math.nan, j.qubits,
                                            j.priority, j.iterations, 0.0, "dropped"))
                        continue
                    job = active[j.job_id] = _ActiveJob(j)
                    done_kind = None

            # 2. The job moves on to its next task, or completes.
            k = job.k
            if done_kind is not None and record:
                scheduled.append(ScheduledTask(job.job.job_id, k, done_kind, server, job.task_start, t))
            if k == job.last:
                self._job_done(job, t)
                continue
            k += 1
            job.k = k
            if k & 1 or k == 0:  # classical: pre (0), iteration (odd), post (last, odd)
                ops = job.pre if k == 0 else (job.post if k == job.last else job.its[(k - 1) >> 1])
                job.task_start = t
                n_classical += 1
                if not dedicated:
                    V += rate * (t - t_v)
                    t_v = t
                    rate = S if n_classical <= C else S * C / n_classical
                    job.server = SHARED_POOL
                    seq += 1
                    heappush(ps_heap, (V + ops, seq, job))
                elif free_servers:
                    job.server = heappop(free_servers)
                    seq += 1
                    heappush(heap, (t + ops / S, _COMPLETION, seq, _CLASSICAL_DONE, job))
                else:
                    classical_queue.append((job, ops))
            elif free_qcs:  # quantum, and a QC is idle
                job.task_start, job.server = t, heappop(free_qcs)
                n_quantum_service += 1
                seq += 1
                heappush(heap, (t + job.qs[(k - 2) >> 1], _COMPLETION, seq, _QUANTUM_DONE, job))
            else:  # quantum, all QCs busy: the policy holds it
                job.queued_at = t
                push(job)
                n_pending += 1

        if not math.isfinite(end):  # an instance run to completion ends at its last event
            end = last
        elif last < end:  # close the integrals at the end of the window
            dt = end - last
            area_c += n_classical * dt
            area_qs += n_quantum_service * dt
            area_qp += n_pending * dt
        return self._result(seed, end, arrived, dropped, events, (area_c, area_qs, area_qp))

    def _job_done(self, job: _ActiveJob, t: float) -> None:
        del self.active[job.job.job_id]
        if t >= self.warmup:
            j = job.job
            self.records.append((j.job_id, j.arrival_s, t, t - j.arrival_s, j.qubits, j.priority,
                                 j.iterations, job.wait_s, "completed"))

    def _result(self, seed: int, end: float, arrived: int, dropped: int, events: int,
                areas: tuple[float, float, float]) -> ReplicationResult:
        for job in self.active.values():  # still running at the end: censored
            j = job.job
            self.records.append((j.job_id, j.arrival_s, math.nan, math.nan, j.qubits, j.priority,
                                 j.iterations, job.wait_s, "censored"))
        self.records.sort(key=lambda r: (r[1], r[0]))
        columns = list(zip(*self.records)) if self.records else [()] * len(JOB_FIELDS)
        jobs = {name: np.asarray(col, dtype=object if name == "status" else None)
                for name, col in zip(JOB_FIELDS, columns)}
        jobs["status"] = np.asarray(jobs["status"], dtype=str)
        times = np.asarray([r[3] for r in self.records if r[8] == "completed"], dtype=float)
        window = end - self.warmup
        avg = [a / window if window > 0 else math.nan for a in areas]
        quantiles = np.quantile(times, [0.25, 0.5, 0.75, 0.95, 0.99]) if times.size else [math.nan] * 5
        summary = {
            "arrived": float(arrived),
            "accepted": float(arrived - dropped),
            "dropped": float(dropped),
            "drop_probability": dropped / arrived if arrived else math.nan,
            "completed": float(times.size),
            "censored": float(len(self.active)),
            "job_time_mean_s": float(times.mean()) if times.size else math.nan,
            "job_time_p25_s": float(quantiles[0]),
            "job_time_p50_s": float(quantiles[1]),
            "job_time_p75_s": float(quantiles[2]),
            "job_time_p95_s": float(quantiles[3]),
            "job_time_p99_s": float(quantiles[4]),
            "avg_classical_active": avg[0],
            "avg_quantum_in_service": avg[1],
            "avg_quantum_pending": avg[2],
            "qc_utilization": avg[1] / self.Q,
            "events": float(events),
            "sim_end_s": float(end),
        }
        schedule = Schedule(tuple(self.scheduled)) if self.config.record_schedule else None
        return ReplicationResult(seed, summary, jobs, schedule)
