"""Good offline schedules at realistic scale (~10^5 tasks): upper bounds on the optimum.

Every schedule here is feasible for the offline problem (MODEL.md: chains,
release, non-preemptive tasks on C classical servers, or C = infinity, and
Q quantum computers) and is passed through checker.check_schedule before it
is returned, so its sum of (weighted) delays is an upper bound on the
optimum; with bounds_scale.lower_bound it brackets the optimum.

List scheduling (a non-delay dispatcher, compiled with numba): time moves
from event to event (a job arrives, a task ends); when a server is free and
tasks of its resource are ready, the ready task of highest priority starts
at once. Priorities (smaller key first, ties by job index):

- ``"wsrpt"``: clairvoyant, key = remaining quantum work of the job / w_j
  (shortest remaining processing time, weighted; the rule that is optimal
  for the one-machine relaxation of bounds_scale.fast_machine_srpt_bound);
- ``"static"``: key = the job's rank in a given order (used by the local search).

Local search (``improve``): a static job order is a schedule through the
dispatcher; starting from the order of job completions of the best rule
schedule, adjacent jobs of the order are swapped while it lowers the sum of
delays (first improvement, passes until none improves or the time budget
ends). Every evaluation is a full left-shifted replay of the dispatcher, so
the result is always feasible. Times are seconds.
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from hqsched.compiled import key_caches_on_sources
from hqsched.errors import InputError
from hqsched.instances.model import Instance, QCGroup, TaskKind
from hqsched.instances.schedule import SHARED_POOL, Schedule, ScheduledTask

from .bounds_scale import chain_durations
from .checker import check_schedule

RULES = ("wsrpt", "static")
_RULE_CODE = {"wsrpt": 0, "static": 1}
#: Classical servers passed to the compiled code for C = infinity.
_UNLIMITED = -1


class Flat(NamedTuple):
    """The instance as flat arrays: job j's tasks are first[j] .. first[j + 1] - 1."""

    dur: np.ndarray       # [T] durations (s)
    quantum: np.ndarray   # [T] True for a quantum task
    first: np.ndarray     # [J + 1] offset of each job's first task
    arrival: np.ndarray   # [J] (s)
    weight: np.ndarray    # [J] w_j (1 when unweighted)
    qwork: np.ndarray     # [J] total quantum work (s)


def flatten(instance: Instance, worker_capacity_ops_per_s: float, weighted: bool = False) -> Flat:
    """``Flat`` arrays of ``instance`` (jobs in instance order)."""
    durs, quants = [], []
    for job in instance.jobs:
        d, q = chain_durations(job, worker_capacity_ops_per_s)
        durs.append(d)
        quants.append(q)
    first = np.zeros(len(durs) + 1, dtype=np.int64)
    first[1:] = np.cumsum([len(d) for d in durs])
    dur = np.concatenate(durs)
    quantum = np.concatenate(quants)
    qwork = np.array([float(d[q].sum()) for d, q in zip(durs, quants)])
    weight = np.array([float(j.priority) if weighted else 1.0 for j in instance.jobs])
    arrival = np.array([j.arrival_s for j in instance.jobs])
    return Flat(dur, quantum, first, arrival, weight, qwork)


@njit(cache=True)
def _pick(ready, n_ready, key):
    """Position in ready[:n_ready] of the job of least key (ties: lowest job index)."""
    best = 0
    for i in range(1, n_ready):
        a, b = ready[i], ready[best]
        if key[a] < key[b] or (key[a] == key[b] and a < b):
            best = i
    return best


@njit(cache=True)
def _dispatch(fl, classical_servers, quantum_servers, rule, rank, start, server):
    """Non-delay list schedule; fills start[t] and server[t] (SHARED_POOL for C = infinity
    classical tasks) and returns the sum of (weighted) delays. ``rule``: 0 wsrpt, 1 static."""
    J = fl.arrival.shape[0]
    nxt = fl.first[:-1].copy()        # next task of each job
    left = fl.qwork.copy()            # remaining quantum work of each job
    key = np.empty(J)
    q_ready = np.empty(J, dtype=np.int64)
    c_ready = np.empty(J, dtype=np.int64)
    nq = 0
    nc = 0
    q_free = np.ones(quantum_servers, dtype=np.bool_)
    nC = max(classical_servers, 1)
    c_free = np.ones(nC, dtype=np.bool_)
    # events: (time, seq, job, resource 0 = none/pool, 1 classical server, 2 QC, server index)
    heap = [(0.0, 0, 0, 0, 0)]
    heap.pop()
    seq = 0
    for j in range(J):
        heapq.heappush(heap, (fl.arrival[j], seq, j, 0, 0))
        seq += 1
    total = 0.0
    while len(heap) > 0:
        now = heap[0][0]
        while len(heap) > 0 and heap[0][0] == now:
            _, _, j, res, idx = heapq.heappop(heap)
            if res == 1:
                c_free[idx] = True
            elif res == 2:
                q_free[idx] = True
            t = nxt[j]
            if t == fl.first[j + 1]:
                total += fl.weight[j] * (now - fl.arrival[j])
                continue
            if fl.quantum[t]:
                q_ready[nq] = j
                nq += 1
            elif classical_servers == _UNLIMITED or fl.dur[t] == 0.0:
                start[t] = now
                server[t] = SHARED_POOL if classical_servers == _UNLIMITED else 0
                nxt[j] = t + 1
                heapq.heappush(heap, (now + fl.dur[t], seq, j, 0, 0))
                seq += 1
            else:
                c_ready[nc] = j
                nc += 1
        for i in range(J):
            key[i] = left[i] / fl.weight[i] if rule == 0 else rank[i]
        for s in range(quantum_servers):
            if nq == 0:
                break
            if q_free[s]:
                p = _pick(q_ready, nq, key)
                j = q_ready[p]
                q_ready[p] = q_ready[nq - 1]
                nq -= 1
                t = nxt[j]
                start[t] = now
                server[t] = s
                nxt[j] = t + 1
                left[j] -= fl.dur[t]
                q_free[s] = False
                heapq.heappush(heap, (now + fl.dur[t], seq, j, 2, s))
                seq += 1
        for s in range(nC):
            if nc == 0:
                break
            if c_free[s]:
                p = _pick(c_ready, nc, key)
                j = c_ready[p]
                c_ready[p] = c_ready[nc - 1]
                nc -= 1
                t = nxt[j]
                start[t] = now
                server[t] = s
                nxt[j] = t + 1
                c_free[s] = False
                heapq.heappush(heap, (now + fl.dur[t], seq, j, 1, s))
                seq += 1
    return total


@dataclass
class UpperBound:
    """A checked schedule and its sum of (weighted) delays (s); ``name`` says how it was made."""

    objective: float
    name: str
    schedule: Schedule | None
    time_s: float
    evaluations: int = 1


def _run(fl: Flat, classical_servers: int | None, quantum_servers: int, rule: str,
         rank: np.ndarray | None = None) -> tuple[float, np.ndarray, np.ndarray]:
    """(objective, start, server) of one dispatcher run."""
    start = np.zeros(len(fl.dur))
    server = np.zeros(len(fl.dur), dtype=np.int64)
    c = _UNLIMITED if classical_servers is None else classical_servers
    r = np.zeros(len(fl.arrival)) if rank is None else rank.astype(float)
    obj = _dispatch(fl, c, quantum_servers, _RULE_CODE[rule], r, start, server)
    return float(obj), start, server


def to_schedule(instance: Instance, fl: Flat, start: np.ndarray, server: np.ndarray) -> Schedule:
    """The dispatcher's arrays as a ``Schedule`` (end = start + duration)."""
    tasks = []
    for j, job in enumerate(instance.jobs):
        for t in range(int(fl.first[j]), int(fl.first[j + 1])):
            kind = TaskKind.QUANTUM if fl.quantum[t] else TaskKind.CLASSICAL
            s = float(start[t])
            tasks.append(ScheduledTask(job.job_id, t - int(fl.first[j]), kind, int(server[t]), s,
                                       s + float(fl.dur[t])))
    return Schedule(tuple(tasks))


def _checked(instance: Instance, fl: Flat, start: np.ndarray, server: np.ndarray,
             classical_servers: int | None, quantum_servers: int,
             worker_capacity_ops_per_s: float) -> Schedule:
    sched = to_schedule(instance, fl, start, server)
    problems = check_schedule(instance, sched, classical_servers, quantum_servers,
                              worker_capacity_ops_per_s)
    if problems:
        raise RuntimeError("upper_bounds built an infeasible schedule: " + "; ".join(problems[:3]))
    return sched


def list_schedule(instance: Instance, classical_servers: int | None, quantum_servers: int,
                  worker_capacity_ops_per_s: float, weighted: bool = False,
                  rule: str = "wsrpt", check: bool = True) -> UpperBound:
    """One dispatcher run with ``rule`` (``RULES``), checked unless ``check`` is False."""
    t0 = time.perf_counter()
    fl = flatten(instance, worker_capacity_ops_per_s, weighted)
    rank = np.arange(len(fl.arrival), dtype=float)  # "static": instance (arrival) order
    obj, start, server = _run(fl, classical_servers, quantum_servers, rule, rank)
    sched = _checked(instance, fl, start, server, classical_servers, quantum_servers,
                     worker_capacity_ops_per_s) if check else None
    return UpperBound(obj, rule, sched, time.perf_counter() - t0)


def _completion_order(fl: Flat, start: np.ndarray) -> np.ndarray:
    """Jobs ranked by the end of their last task (rank[j] = position of j)."""
    last = fl.first[1:] - 1
    ends = start[last] + fl.dur[last]
    order = np.argsort(ends, kind="stable")
    rank = np.empty(len(order))
    rank[order] = np.arange(len(order))
    return rank


def improve(fl: Flat, classical_servers: int | None, quantum_servers: int, rank: np.ndarray,
            time_limit_s: float, max_passes: int = 20) -> tuple[float, np.ndarray, int]:
    """Adjacent-swap local search on the static order ``rank``: (objective, best rank,
    evaluations). First improvement; stops after a pass without improvement,
    ``max_passes`` passes or ``time_limit_s``."""
    deadline = time.perf_counter() + time_limit_s
    rank = rank.copy()
    order = list(np.argsort(rank, kind="stable"))
    best, _, _ = _run(fl, classical_servers, quantum_servers, "static", rank)
    evals = 1
    for _ in range(max_passes):
        improved = False
        for i in range(len(order) - 1):
            if time.perf_counter() > deadline:
                return best, rank, evals
            a, b = order[i], order[i + 1]
            rank[a], rank[b] = rank[b], rank[a]
            obj, _, _ = _run(fl, classical_servers, quantum_servers, "static", rank)
            evals += 1
            if obj < best - 1e-9 * max(1.0, best):
                best = obj
                order[i], order[i + 1] = b, a
                improved = True
            else:
                rank[a], rank[b] = rank[b], rank[a]
        if not improved:
            break
    return best, rank, evals


def upper_bound(instance: Instance, classical_servers: int | None, quantum_servers: int,
                worker_capacity_ops_per_s: float, weighted: bool = False,
                time_limit_s: float = 30.0, *, qc_groups: tuple[QCGroup, ...] = ()
                ) -> UpperBound:
    """The best checked schedule of the rules and of the local search from the best of them.

    ``time_limit_s`` bounds the local search (the rule runs come first). The dispatcher
    knows identical QCs only: a QC fleet (``qc_groups``) is refused (InputError)."""
    if qc_groups:
        raise InputError("upper bound (list scheduling): a QC fleet (qc_groups) is not "
                         "supported; it schedules identical QCs only")
    t0 = time.perf_counter()
    fl = flatten(instance, worker_capacity_ops_per_s, weighted)
    arrival_rank = np.arange(len(fl.arrival), dtype=float)
    runs = {rule: _run(fl, classical_servers, quantum_servers, rule, arrival_rank)
            for rule in RULES}
    name = min(runs, key=lambda r: runs[r][0])
    obj, start, server = runs[name]
    evals = len(runs)
    left = time_limit_s - (time.perf_counter() - t0)
    if left > 0 and len(fl.arrival) > 1:
        ls_obj, rank, n = improve(fl, classical_servers, quantum_servers,
                                  _completion_order(fl, start), left)
        evals += n
        if ls_obj < obj:
            obj, start, server = _run(fl, classical_servers, quantum_servers, "static", rank)
            name = f"local-search({name})"
    sched = _checked(instance, fl, start, server, classical_servers, quantum_servers,
                     worker_capacity_ops_per_s)
    exact = sched.sum_delays_s(instance, weighted)
    if not math.isclose(exact, obj, rel_tol=1e-9, abs_tol=1e-6):
        raise RuntimeError(f"upper_bound: dispatcher objective {obj!r} != schedule's {exact!r}")
    return UpperBound(exact, name, sched, time.perf_counter() - t0, evals)


key_caches_on_sources(globals())
