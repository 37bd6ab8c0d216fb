"""Lower bounds on the offline sum of (weighted) delays that scale to ~10^5 tasks.

The exact methods (bnb.py, the MILP of models.py) stop at a few dozen tasks;
a realistic instance (hundreds of jobs, each a chain of hundreds of ~4 s
quantum tasks) needs relaxations whose size does not grow with the number
of tasks. Every bound here relaxes one resource R (the Q quantum computers,
or for C = 1 the one classical server) to a *load* per job j:

    release r_j  = a_j + chain before j's first positive task on R,
    work    W_j  = total duration of j's tasks on R (s at rate 1),
    tail    q_j  = chain after j's last positive task on R.

In any feasible schedule (MODEL.md "Offline problem": chains, release,
non-preemptive tasks on m identical servers of R) job j's R-work is done in
[r_j, C^R_j] at rate <= 1 (its tasks form a chain, so at most one runs at a
time), the R-work of all jobs at total rate <= m, and j completes at
C_j >= C^R_j + q_j. Forgetting the other resource, the chain gaps and
non-preemption gives the *preemptive m-machine relaxation with rate caps*
(P | r_j, pmtn | sum w_j C_j; each job on one machine at a time), whose
bounds below are therefore valid for the offline problem with C = 1
dedicated servers and with C = infinity, and so (MODEL.md) for every
dedicated or serverless online run of the instance:

- ``critical_path_completion``: no waiting at all;
- ``fast_machine_srpt_completion``: one machine of speed m with preemption,
  solved by SRPT (Schrage 1968);
- ``mean_busy_time_completion``: the mean-busy-time relaxation on a speed-m
  machine, solved by preemptive WSPT (Goemans et al. 2002), plus W_j / 2;
- ``capped_lp_completion``: the interval-indexed mean-busy-time LP that keeps
  the rate cap 1 per job (Dyer & Wolsey 1990; Hall, Schulz, Shmoys & Wein
  1997), solved by HiGHS.

``lower_bound`` evaluates them on the quantum load and, for C = 1, on the
classical load (one server), and reports the largest (the best) with the
value of each. Times are seconds.

A heterogeneous QC fleet (``qc_groups``; docs/platform-features.md section 4:
task k of job j lasts p_jkg = d_jk f[g, q_j] on group g, eligible if q_j fits)
keeps every bound valid with two changes. (1) Each quantum task counts with
its *fastest eligible* duration d*_jk = d_jk f*(q_j), f*(q) = min over the
eligible groups (with QCs) of f[g, q]: releases, tails and critical paths can
only be shorter than in any schedule. (2) Measured in these units, a QC of
group g running task k of job j does its work at rate d*_jk / p_jkg =
f*(q_j) / f[g, q_j] <= 1, so a job still works at rate <= 1 (the cap), and all
QCs together at rate <= m_eff = sum over QCs of s_g, s_g = max over the
instance's qubit counts q that g can run of f*(q) / f[g, q] (the fleet's
total speed, <= the QC count). The relaxations above only use these two
rates, and hold for a real m; so they hold with m = m_eff.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from hqsched.errors import InputError
from hqsched.instances.model import Instance, Job, QCGroup

from .problem import fleet_factors

#: Longest interval of the capped LP (s): its grid underestimates each job's mean busy
#: time by at most one interval (``capped_lp_completion``).
LP_SLOT_S = 30.0
#: Intervals of the capped LP on a short horizon (shorter ones than LP_SLOT_S).
LP_SLOTS = 4000
#: Most (job, interval) columns of the capped LP (~10 s for HiGHS on one core).
LP_MAX_COLUMNS = 1_000_000


class Load(NamedTuple):
    """The work of every job on one resource R (arrays over the jobs with positive R-work)."""

    job_id: np.ndarray    # the jobs' ids
    arrival: np.ndarray   # a_j (s)
    weight: np.ndarray    # w_j (1 when unweighted)
    release: np.ndarray   # r_j: earliest start of j's first R-task (s)
    work: np.ndarray      # W_j: total duration of j's R-tasks (s)
    tail: np.ndarray      # q_j: chain after j's last R-task (s)
    servers: float        # m: servers of R (a QC fleet: its total speed m_eff)
    tasks: tuple[np.ndarray, ...]  # durations of j's positive R-tasks in chain order (s)


def chain_durations(job: Job, worker_capacity_ops_per_s: float,
                    quantum_factor: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(durations in s, is_quantum) of the job's chain in order: pre, (c, q) x n, post.
    ``quantum_factor``: quantum durations times it (a QC fleet's fastest eligible factor)."""
    n = job.iterations
    d = np.empty(2 * n + 2)
    d[0] = job.pre_ops / worker_capacity_ops_per_s
    d[1:2 * n + 1:2] = np.asarray(job.iteration_ops, dtype=float) / worker_capacity_ops_per_s
    d[2:2 * n + 2:2] = np.asarray(job.quantum_s, dtype=float)
    if quantum_factor is not None:
        d[2:2 * n + 2:2] *= quantum_factor
    d[-1] = job.post_ops / worker_capacity_ops_per_s
    quantum = np.zeros(2 * n + 2, dtype=bool)
    quantum[2:2 * n + 2:2] = True
    return d, quantum


class FleetRates(NamedTuple):
    """A QC fleet seen by the bounds (module docstring)."""

    fastest: dict[int, float]   # f*(q): the fastest eligible time factor per qubit count
    total_speed: float          # m_eff: the QCs' summed rates, in fastest-duration units


def fleet_rates(instance: Instance, qc_groups: tuple[QCGroup, ...],
                ibm_estimate_s: Mapping[tuple[int, str], float] | None = None) -> FleetRates:
    """f*(q) and m_eff of ``qc_groups`` for ``instance``'s qubit counts (module docstring)."""
    factor = fleet_factors(qc_groups, {job.qubits for job in instance.jobs}, ibm_estimate_s)
    fastest = {q: min(f for f in per_group if f is not None) for q, per_group in factor.items()}
    total = 0.0
    for g, group in enumerate(qc_groups):
        rates = [fastest[q] / f for q, per_group in factor.items()
                 if (f := per_group[g]) is not None]
        total += group.count * max(rates, default=0.0)
    return FleetRates(fastest, total)


def resource_load(instance: Instance, resource: str, servers: float,
                  worker_capacity_ops_per_s: float, weighted: bool = False,
                  first_only: bool = False, fleet: FleetRates | None = None) -> Load:
    """The ``Load`` of ``resource`` ("Q" quantum, "C" classical) on ``servers`` servers.

    ``first_only``: only each job's first positive task on the resource (for
    the classical server, the ``pre``), the rest of the chain being its tail:
    a relaxation too (the other tasks of the resource are dropped), which
    charges the blocking of the one classical server by the long ``pre``
    tasks with the whole chain behind them, as bnb.py's level-1 bound. Jobs
    without positive work on the resource are left out (``lower_bound`` adds
    their critical paths). ``fleet``: a QC fleet's rates (quantum tasks at their
    fastest eligible durations; ``servers`` should then be its total speed)."""
    if resource not in ("Q", "C"):
        raise InputError(f"resource must be 'Q' or 'C', got {resource!r}")
    rows = []
    tasks = []
    for job in instance.jobs:
        d, quantum = chain_durations(job, worker_capacity_ops_per_s,
                                     None if fleet is None else fleet.fastest[job.qubits])
        on = (quantum if resource == "Q" else ~quantum) & (d > 0)
        if not on.any():
            continue
        idx = np.flatnonzero(on)
        first, last = int(idx[0]), int(idx[-1])
        if first_only:
            on[first + 1:] = False
            last = first
        rows.append((job.job_id, job.arrival_s, float(job.priority) if weighted else 1.0,
                     job.arrival_s + float(d[:first].sum()), float(d[on].sum()),
                     float(d[last + 1:].sum())))
        tasks.append(d[on])
    cols = np.array(rows, dtype=float).reshape(-1, 6).T
    return Load(cols[0].astype(np.int64), cols[1], cols[2], cols[3], cols[4], cols[5], servers,
                tuple(tasks))


# ----------------------------------------------------------------------------
# The bounds. Each returns a lower bound on sum_j w_j C^R_j (s) over the load's jobs.
# ----------------------------------------------------------------------------

def critical_path_completion(load: Load) -> float:
    """sum_j w_j (r_j + W_j): every job alone (it runs its R-work at rate <= 1 from r_j).

    Validity: in any schedule j's R-tasks are a chain starting at or after
    r_j, so C^R_j >= r_j + W_j."""
    return float(np.sum(load.weight * (load.release + load.work)))


def _srpt_completions(release: np.ndarray, work: np.ndarray, speed: float) -> np.ndarray:
    """Completion times of preemptive SRPT on one machine of ``speed`` (Schrage 1968)."""
    order = np.argsort(release, kind="stable")
    done = np.empty(len(work))
    heap: list[tuple[float, int]] = []  # (remaining work, job)
    t = -math.inf
    i = 0
    n = len(work)
    while i < n or heap:
        if not heap:
            t = max(t, float(release[order[i]]))
        while i < n and release[order[i]] <= t:
            heapq.heappush(heap, (float(work[order[i]]), int(order[i])))
            i += 1
        left, j = heapq.heappop(heap)
        nxt = float(release[order[i]]) if i < n else math.inf
        if t + left / speed <= nxt:
            t += left / speed
            done[j] = t
        else:
            heapq.heappush(heap, (left - (nxt - t) * speed, j))
            t = nxt
    return done


def fast_machine_srpt_completion(load: Load) -> float:
    """w_min sum_j C^SRPT_j + sum_j (w_j - w_min)(r_j + W_j), SRPT on one machine of speed m.

    Validity (Chekuri, Motwani, Natarajan & Stein 2001, SIAM J. Comput. 31:
    the speed-m single machine relaxation): R-work processed at total rate
    <= m at every instant is a preemptive schedule on one machine of speed m
    with the same completions C^R_j; SRPT minimises sum_j C_j there
    (1 | r_j, pmtn | sum C_j, Schrage 1968). For weights, sum w_j C_j =
    w_min sum C_j + sum (w_j - w_min) C_j and each C_j >= r_j + W_j
    (``critical_path_completion``), as in bnb.py's level-1 bound."""
    if len(load.work) == 0:
        return 0.0
    c = _srpt_completions(load.release, load.work, float(load.servers))
    w_min = float(load.weight.min())
    return float(w_min * c.sum() + np.sum((load.weight - w_min) * (load.release + load.work)))


def _wspt_busy_moments(load: Load) -> np.ndarray:
    """sum over j's pieces of (work x mid-time) in the preemptive WSPT schedule on one
    machine of speed m: the highest w_j / W_j available job runs (ties: lowest index)."""
    m = float(load.servers)
    order = np.argsort(load.release, kind="stable")
    moment = np.zeros(len(load.work))
    heap: list[tuple[float, int, float]] = []  # (-ratio, job, remaining work)
    t = -math.inf
    i = 0
    n = len(load.work)
    while i < n or heap:
        if not heap:
            t = max(t, float(load.release[order[i]]))
        while i < n and load.release[order[i]] <= t:
            j = int(order[i])
            heapq.heappush(heap, (-load.weight[j] / load.work[j], j, float(load.work[j])))
            i += 1
        neg, j, left = heapq.heappop(heap)
        nxt = float(load.release[order[i]]) if i < n else math.inf
        run = min(left / m, nxt - t)  # wall time of this piece
        moment[j] += run * m * (t + run / 2)
        t += run
        if left - run * m > 1e-12 * max(1.0, float(load.work[j])):
            heapq.heappush(heap, (neg, j, left - run * m))
    return moment


def mean_busy_time_completion(load: Load) -> float:
    """sum_j w_j (M_j + W_j / 2) with M_j the mean busy times of preemptive WSPT on speed m.

    Validity: let x_j(t) <= 1 be j's R-rate in a feasible schedule and
    M_j = (1 / W_j) int t x_j(t) dt its mean busy time. The mass W_j lies in
    (-inf, C^R_j] with density <= 1, so M_j <= C^R_j - W_j / 2. The rates
    sum to <= m: a preemptive schedule on one machine of speed m, on which
    min sum w_j M_j is attained by preemptive WSPT (highest w_j / W_j first;
    Goemans, Queyranne, Schulz, Skutella & Wang 2002, SIAM J. Discrete
    Math. 15, "Single machine scheduling with release dates", Thm. on LP_R)."""
    if len(load.work) == 0:
        return 0.0
    moments = _wspt_busy_moments(load)
    return float(np.sum(load.weight / load.work * moments + load.weight * load.work / 2))


def _lp_slots(load: Load, slot_s: float) -> np.ndarray:
    """Interval boundaries of the capped LP: a regular grid from min r_j, every release
    added, up to a horizon by which a work-conserving capped schedule has finished."""
    r0 = float(load.release.min())
    # After max r_j the greedy capped schedule runs at rate m while >= m jobs are left,
    # then every remaining job at rate 1: done within sum W / m + max W.
    horizon = float(load.release.max() + load.work.sum() / load.servers + load.work.max()) + 1.0
    # ~LP_SLOTS intervals on a short horizon (fine enough for seconds-long tasks), at most
    # slot_s long on a long one (then more intervals, one column per job and interval).
    step = min(slot_s, (horizon - r0) / LP_SLOTS)
    # Long horizons with many jobs (a week of windows): longer intervals, so that the LP
    # keeps at most ~LP_MAX_COLUMNS columns (any grid gives a valid bound, only looser).
    step = max(step, (horizon - r0) * len(load.work) / LP_MAX_COLUMNS)
    grid = r0 + step * np.arange(int(math.ceil((horizon - r0) / step)) + 1)
    return np.unique(np.concatenate([grid, load.release]))


class Segments(NamedTuple):
    """Each job's R-tasks cut into consecutive segments (arrays over all segments)."""

    job: np.ndarray       # the segment's job (index into the load)
    work: np.ndarray      # its work (s)
    release: np.ndarray   # r_j + work of the job's earlier segments (s)
    last: np.ndarray      # True for the job's last segment


def _segments(load: Load, per_job: int) -> Segments:
    """Cut each job's R-task chain into at most ``per_job`` segments of about equal work,
    at task boundaries."""
    job, work, release, last = [], [], [], []
    for j, d in enumerate(load.tasks):
        cum = np.cumsum(d)
        k = min(per_job, len(d))
        # segment s ends at the first task whose cumulative work reaches s/k of the total
        ends = np.unique(np.searchsorted(cum, cum[-1] * np.arange(1, k + 1) / k - 1e-9 * cum[-1]))
        ends[-1] = len(d) - 1
        before = 0.0
        prev = -1
        for e in ends:
            w = float(cum[e] - (cum[prev] if prev >= 0 else 0.0))
            job.append(j)
            work.append(w)
            release.append(float(load.release[j]) + before)
            last.append(False)
            before += w
            prev = int(e)
        last[-1] = True
    return Segments(np.array(job), np.array(work), np.array(release), np.array(last))


def capped_lp_completion(load: Load, slot_s: float = LP_SLOT_S, segments: int = 1) -> float:
    """Optimum of the interval-indexed mean-busy-time LP with rate cap 1 (``segments`` = 1),
    or of its chained-segment form, plus sum w_j W_jlast / 2.

    Each job's R-tasks are cut into at most ``segments`` consecutive segments
    g (``_segments``; one segment = the whole job) of work W_g and release
    r_g = r_j + work of the earlier segments (rate <= 1). LP: intervals
    I_k = [b_k, e_k) (``_lp_slots``); x_gk = work of g in I_k,
    0 <= x_gk <= |I_k and [r_g, inf)|, sum_k x_gk = W_g,
    sum_g x_gk <= m |I_k|; for consecutive segments g, h of a job
    (1/W_h) sum_k e_k x_hk - (1/W_g) sum_k max(b_k, r_g) x_gk >= (W_g + W_h)/2;
    minimise sum_j (w_j / W_g) sum_k max(b_k, r_g) x_gk over each job's last g.

    Validity: a feasible schedule gives x_gk = int over I_k of x_g(t) dt
    (the rate of g), which meets the bounds, the work and capacity rows.
    With M_g = (1/W_g) int t x_g(t) dt the segment's mean busy time, its
    mass lies in [r_g, C_g] with density <= 1, so M_g <= C_g - W_g / 2, and
    h's mass lies after C_g, so M_h >= C_g + W_h / 2: M_h - M_g >= (W_g +
    W_h) / 2. Since max(b_k, r_g) <= t < e_k on I_k, the LP's two estimates
    bracket M (lower with b_k, upper with e_k), so the precedence rows hold
    and the objective is <= sum_j w_j M_jlast <= sum_j w_j (C^R_j - W_jlast
    / 2). Interval-indexed LP of Dyer & Wolsey (1990) and Hall, Schulz,
    Shmoys & Wein (1997, Math. Oper. Res. 22) in the mean-busy-time form of
    Goemans et al. (2002); against the speed-m relaxation it keeps the cap
    (no job on two machines at once), and the segments charge a job for
    being interrupted (a single segment charges only part of a pause).
    The grid costs at most one interval length per job (and per precedence
    row). Measured on a 1-day window at load 0.8 (97 jobs): 1 segment with
    30 s intervals 307.3k s in 7 s; 2 segments with 60 s intervals 306.1k s
    in 12 s; 4 segments 303.9k s in 57 s: the grid loses more than the
    segments gain, so ``lower_bound`` uses one segment."""
    from scipy.optimize import linprog
    from scipy.sparse import csr_matrix, vstack

    if len(load.work) == 0:
        return 0.0
    seg = _segments(load, segments)
    G = len(seg.work)
    b = _lp_slots(load, slot_s)
    starts, ends = b[:-1], b[1:]
    K = len(starts)
    # One column per (segment, interval) with the interval ending after its release.
    first = np.searchsorted(ends, seg.release, side="right")
    g_of = np.repeat(np.arange(G), K - first)
    slot = np.concatenate([np.arange(f, K) for f in first])
    begin = np.maximum(starts[slot], seg.release[g_of])
    cap = ends[slot] - begin
    n = len(g_of)
    cols = np.arange(n)
    weight = load.weight[seg.job]
    cost = np.where(seg.last[g_of], weight[g_of] / seg.work[g_of], 0.0) * begin
    a_eq = csr_matrix((np.ones(n), (g_of, cols)), shape=(G, n))
    a_ub = [csr_matrix((np.ones(n), (slot, cols)), shape=(K, n))]
    b_ub = [load.servers * (ends - starts)]
    # precedence rows (as <= 0 after negation): for g followed by h = g + 1 of the same job
    pairs = np.flatnonzero(~seg.last)
    if len(pairs):
        row_of = np.full(G, -1)
        row_of[pairs] = np.arange(len(pairs))      # g's row, as the earlier segment
        row_h = np.full(G, -1)
        row_h[pairs + 1] = np.arange(len(pairs))   # h's row, as the later segment
        early = row_of[g_of] >= 0
        late = row_h[g_of] >= 0
        rows = np.concatenate([row_of[g_of][early], row_h[g_of][late]])
        cidx = np.concatenate([cols[early], cols[late]])
        vals = np.concatenate([begin[early] / seg.work[g_of][early],
                               -ends[slot][late] / seg.work[g_of][late]])
        a_ub.append(csr_matrix((vals, (rows, cidx)), shape=(len(pairs), n)))
        b_ub.append(-(seg.work[pairs] + seg.work[pairs + 1]) / 2)
    res = linprog(cost, A_ub=vstack(a_ub).tocsr(), b_ub=np.concatenate(b_ub), A_eq=a_eq,
                  b_eq=seg.work, bounds=np.column_stack([np.zeros(n), cap]), method="highs")
    if res.status != 0:
        raise RuntimeError(f"capped_lp_completion: HiGHS returned status {res.status}: {res.message}")
    # HiGHS's optimum is exact up to its tolerances (~1e-7 relative): take 1e-6 off, to be safe.
    lp = float(res.fun) - 1e-6 * abs(float(res.fun))
    return lp + float(np.sum(weight[seg.last] * seg.work[seg.last] / 2))


# ----------------------------------------------------------------------------
# The reported bound
# ----------------------------------------------------------------------------

#: name -> function of a Load giving a lower bound on sum_j w_j C^R_j.
BOUNDS = {
    "critical_path": critical_path_completion,
    "fast_machine_srpt": fast_machine_srpt_completion,
    "mean_busy_time": mean_busy_time_completion,
    "capped_lp": capped_lp_completion,
}


@dataclass
class BoundReport:
    """Every bound on the sum of (weighted) delays (s) and the best (largest) one."""

    best: float
    best_name: str
    values: dict[str, float] = field(default_factory=dict)
    times_s: dict[str, float] = field(default_factory=dict)


def lower_bound(instance: Instance, classical_servers: int | None, quantum_servers: int,
                worker_capacity_ops_per_s: float, weighted: bool = False,
                bounds: tuple[str, ...] = tuple(BOUNDS), *,
                qc_groups: tuple[QCGroup, ...] = (),
                ibm_estimate_s: Mapping[tuple[int, str], float] | None = None) -> BoundReport:
    """Every bound of ``bounds`` on the sum of (weighted) delays, and the best.

    Each bound of the quantum load (``quantum_servers`` QCs) and, when
    ``classical_servers`` is an integer, of the classical load on that many
    servers, becomes a delay bound by adding sum_j w_j (q_j - a_j) over the
    load's jobs and the critical path of the jobs without work on the
    resource. ``classical_servers=None`` (C = infinity) bounds the serverless
    optimum and every serverless run (MODEL.md). Entries are named
    ``"<bound>"`` (quantum), ``"classical_<bound>"`` (every classical task)
    and ``"pre_<bound>"`` (the first classical task of each job, the rest
    of its chain as tail). With one server the capped LP is the
    mean-busy-time LP that preemptive WSPT solves exactly (Goemans et al.
    2002), so it is skipped (it only adds grid loss and time).

    ``qc_groups``: a heterogeneous QC fleet (``quantum_servers`` is then ignored):
    fastest eligible durations and the fleet's total speed (module docstring);
    ``ibm_estimate_s`` for its backend groups (None: the bundled traces').
    """
    if not bounds:
        raise InputError(f"bounds: name at least one of {', '.join(BOUNDS)}")
    for name in bounds:
        if name not in BOUNDS:
            raise InputError(f"bounds: unknown bound {name!r} (known: {', '.join(BOUNDS)})")
    fleet = fleet_rates(instance, tuple(qc_groups), ibm_estimate_s) if qc_groups else None
    m_q = quantum_servers if fleet is None else fleet.total_speed
    loads = {"": resource_load(instance, "Q", m_q, worker_capacity_ops_per_s,
                               weighted, fleet=fleet)}
    if classical_servers is not None:
        loads["classical_"] = resource_load(instance, "C", classical_servers,
                                            worker_capacity_ops_per_s, weighted, fleet=fleet)
        loads["pre_"] = resource_load(instance, "C", classical_servers,
                                      worker_capacity_ops_per_s, weighted, first_only=True,
                                      fleet=fleet)
    report = BoundReport(0.0, "none")
    for prefix, load in loads.items():
        base = _absent_jobs_delay(instance, load, worker_capacity_ops_per_s, weighted, fleet)
        base += float(np.sum(load.weight * (load.tail - load.arrival)))
        for name in bounds:
            if prefix and name == "critical_path":
                continue  # the same critical paths as the quantum load's
            if name == "capped_lp" and load.servers == 1 and "mean_busy_time" in bounds:
                continue  # m = 1: the cap is the machine's speed, mean_busy_time solves the LP
            t0 = time.perf_counter()
            value = BOUNDS[name](load) + base
            report.times_s[prefix + name] = time.perf_counter() - t0
            report.values[prefix + name] = value
    report.best_name = max(report.values, key=lambda k: report.values[k])
    report.best = report.values[report.best_name]
    return report


def _absent_jobs_delay(instance: Instance, load: Load, worker_capacity_ops_per_s: float,
                       weighted: bool, fleet: FleetRates | None = None) -> float:
    """Critical-path delays of the jobs with no positive work on the load's resource."""
    if len(load.work) == len(instance.jobs):
        return 0.0
    total = 0.0
    present = set(load.job_id.tolist())
    for job in instance.jobs:
        if job.job_id not in present:
            d, _ = chain_durations(job, worker_capacity_ops_per_s,
                                   None if fleet is None else fleet.fastest[job.qubits])
            total += (job.priority if weighted else 1) * float(d.sum())
    return total
