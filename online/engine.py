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

    __slots__ = ("job", "priority", "k", "last", "wait_s", "queued_at", "task_start", "server")

    def __init__(self, job: Job) -> None:
        self.job = job
        self.priority = job.priority  # the only attribute a policy may read
        self.k = 0  # index of the current task in the chain
        self.last = 2 * job.iterations + 1  # index of post
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
    """One replication's state; :meth:`run` is the event loop."""

    def __init__(self, config: SimulationConfig, policy) -> None:
        p = config.platform
        self.config = config
        self.policy = policy
        self.dedicated = config.classical_mode == "dedicated"
        self.C = p.classical_workers
        self.S = float(p.worker_capacity_ops_per_s)
        self.max_classical = math.inf if p.max_classical is None else p.max_classical
        self.max_quantum = math.inf if p.max_quantum is None else p.max_quantum
        self.warmup = float(config.warmup_s)
        self.end = float(config.duration_s)
        self.heap: list = []
        self.seq = 0
        # Processor sharing: virtual clock V at time t_v, rate per task, tag heap.
        self.V = 0.0
        self.t_v = 0.0
        self.rate = self.S
        self.ps_heap: list = []
        # Dedicated classical servers and their FIFO queue.
        self.free_servers = list(range(self.C))
        self.classical_queue: deque = deque()
        # Quantum computers.
        self.free_qcs = list(range(p.quantum_computers))
        self.Q = p.quantum_computers
        # Counts whose time averages are reported.
        self.n_classical = 0
        self.n_quantum_service = 0
        self.n_pending = 0
        self.record = config.record_schedule
        self.scheduled: list[ScheduledTask] = []
        self.records: list[tuple] = []
        self.active: dict[int, _ActiveJob] = {}

    # ---- event scheduling -------------------------------------------------
    def _push(self, t: float, rank: int, kind: int, payload) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, rank, self.seq, kind, payload))

    # ---- processor sharing ------------------------------------------------
    def _ps_set_active(self, t: float, delta: int) -> None:
        """Bring V up to ``t`` at the old rate, then change the number of active tasks."""
        self.V += self.rate * (t - self.t_v)
        self.t_v = t
        self.n_classical += delta
        a = self.n_classical
        self.rate = self.S if a <= self.C else self.S * self.C / a

    # ---- task starts --------------------------------------------------------
    def _start_task(self, job: _ActiveJob, t: float) -> None:
        """Start (or queue) task ``job.k`` of ``job`` at time ``t``."""
        k = job.k
        j = job.job
        if k == 0 or k == job.last or k % 2 == 1:
            ops = j.pre_ops if k == 0 else (j.post_ops if k == job.last else j.iteration_ops[(k - 1) >> 1])
            job.task_start = t
            if self.dedicated:
                self.n_classical += 1
                if self.free_servers:
                    self._start_dedicated(job, heapq.heappop(self.free_servers), ops, t)
                else:
                    job.queued_at = t
                    self.classical_queue.append((job, ops))
            else:
                self._ps_set_active(t, +1)
                self.seq += 1
                heapq.heappush(self.ps_heap, (self.V + ops, self.seq, job))
        else:
            if self.free_qcs:
                self._start_quantum(job, heapq.heappop(self.free_qcs), t)
            else:
                job.queued_at = t
                self.policy.push(job)
                self.n_pending += 1

    def _start_dedicated(self, job: _ActiveJob, server: int, ops: float, t: float) -> None:
        job.task_start = t
        job.server = server
        self._push(t + ops / self.S, _COMPLETION, _CLASSICAL_DONE, job)

    def _start_quantum(self, job: _ActiveJob, qc: int, t: float) -> None:
        job.task_start = t
        job.server = qc
        self.n_quantum_service += 1
        self._push(t + job.job.quantum_s[(job.k - 2) >> 1], _COMPLETION, _QUANTUM_DONE, job)

    # ---- task ends --------------------------------------------------------
    def _finish_task(self, job: _ActiveJob, kind: TaskKind, server: int, t: float) -> None:
        """Record the task that just ended and move its job to the next task."""
        if self.record:
            self.scheduled.append(ScheduledTask(job.job.job_id, job.k, kind, server, job.task_start, t))
        if job.k == job.last:
            self._job_done(job, t)
        else:
            job.k += 1
            self._start_task(job, t)

    def _job_done(self, job: _ActiveJob, t: float) -> None:
        del self.active[job.job.job_id]
        if t >= self.warmup:
            j = job.job
            self.records.append((j.job_id, j.arrival_s, t, t - j.arrival_s, j.qubits, j.priority,
                                 j.iterations, job.wait_s, "completed"))

    # ---- main loop ----------------------------------------------------------
    def run(self, jobs: Iterator[Job], seed: int) -> ReplicationResult:
        heap, ps_heap = self.heap, self.ps_heap
        policy = self.policy
        heappop = heapq.heappop
        warmup, end = self.warmup, self.end
        active = self.active
        arrived = dropped = events = 0
        area_c = area_qs = area_qp = 0.0
        last = warmup  # metrics integrate from here

        first = next(jobs, None)
        if first is not None:
            self._push(first.arrival_s, _ARRIVAL, _JOB_ARRIVES, first)
        t = 0.0
        while True:
            t_heap = heap[0][0] if heap else math.inf
            if ps_heap:
                t_ps = self.t_v + (ps_heap[0][0] - self.V) / self.rate
                if t_ps < self.t_v:  # rounding: never step back in time
                    t_ps = self.t_v
            else:
                t_ps = math.inf
            t = t_ps if t_ps <= t_heap else t_heap
            if t >= end:
                break
            events += 1
            if t > last:
                dt = t - last
                area_c += self.n_classical * dt
                area_qs += self.n_quantum_service * dt
                area_qp += self.n_pending * dt
                last = t

            if t_ps <= t_heap:  # processor-sharing completion
                tag, _, job = heappop(ps_heap)
                self.V, self.t_v = tag, t
                self._ps_set_active(t, -1)
                self._finish_task(job, TaskKind.CLASSICAL, SHARED_POOL, t)
                continue

            _, _, _, kind, payload = heappop(heap)
            if kind == _QUANTUM_DONE:
                job = payload
                qc = job.server
                self.n_quantum_service -= 1
                if len(policy):
                    nxt = policy.pop()
                    self.n_pending -= 1
                    nxt.wait_s += t - nxt.queued_at
                    self._start_quantum(nxt, qc, t)
                else:
                    heapq.heappush(self.free_qcs, qc)
                self._finish_task(job, TaskKind.QUANTUM, qc, t)
            elif kind == _CLASSICAL_DONE:
                job = payload
                server = job.server
                self.n_classical -= 1
                if self.classical_queue:
                    nxt, ops = self.classical_queue.popleft()
                    self._start_dedicated(nxt, server, ops, t)
                else:
                    heapq.heappush(self.free_servers, server)
                self._finish_task(job, TaskKind.CLASSICAL, server, t)
            else:  # arrival
                j = payload
                nxt_job = next(jobs, None)
                if nxt_job is not None:
                    if nxt_job.arrival_s < t:
                        raise InputError(f"job {nxt_job.job_id}: arrivals must be in time order")
                    self._push(nxt_job.arrival_s, _ARRIVAL, _JOB_ARRIVES, nxt_job)
                in_window = t >= warmup
                arrived += in_window
                if self.n_classical < self.max_classical and self.n_pending < self.max_quantum:
                    job = _ActiveJob(j)
                    active[j.job_id] = job
                    self._start_task(job, t)
                else:
                    dropped += in_window
                    if in_window:
                        self.records.append((j.job_id, j.arrival_s, math.nan, math.nan, j.qubits,
                                             j.priority, j.iterations, 0.0, "dropped"))
        if not math.isfinite(end):  # an instance run to completion ends at its last event
            end = last
        elif last < end:  # close the integrals at the end of the window
            dt = end - last
            area_c += self.n_classical * dt
            area_qs += self.n_quantum_service * dt
            area_qp += self.n_pending * dt
        return self._result(seed, end, arrived, dropped, events, (area_c, area_qs, area_qp))

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
        schedule = Schedule(tuple(self.scheduled)) if self.record else None
        return ReplicationResult(seed, summary, jobs, schedule)
