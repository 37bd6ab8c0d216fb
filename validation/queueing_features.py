"""Queueing checks of the platform features (issue 17; docs/platform-features.md).

The features configured as queues whose stationary behaviour is known
exactly, checked as ``hqsched.validation.queueing`` checks its textbook
queues: independent replications, jobs *arriving* in a window after a
warm-up, Student t intervals across seeds, Bonferroni verdicts
(``queueing.finalize``). Every check uses the quantum-queue or
classical-queue mapping of that module (zero-work classical tasks finish
the instant they are ready in serverless mode).

Heterogeneous QC fleet (section 1)
    QCs of exponential service rates ``mu_1 .. mu_k`` (a group of speed ``s``
    runs the reference ``Exp(1 s)`` task in ``Exp(mean 1/s)``), Poisson
    arrivals of one-iteration jobs, one FIFO queue, and a routing that sends
    a job finding several QCs free to the first free one in a fixed
    *preference order* (``fastest``: by speed; ``smallest``: by qubit
    capacity; ties to the lowest number). A freed QC takes the head of the
    queue. The state (set of busy QCs, queue length) is a CTMC; with the
    queue non-empty every QC is busy (work conserving), so the tail is
    geometric, ``p(all busy, n queued) = p(all busy, 0) r^n`` with
    ``r = lambda / sum mu``, and the ``2^k`` queue-empty states solve a
    finite linear system (``fleet_fcfs_stationary``: exact, no truncation;
    the matrix-geometric solution with a scalar rate, Neuts 1981, *Matrix-
    Geometric Solutions in Stochastic Models*, Ch. 1). For two QCs it is the
    closed form of the heterogeneous M/M/2 whose faster (here: preferred)
    server is used first (Singh 1970, "Two-server Markovian queues with
    balking: heterogeneous vs. homogeneous servers", Operations Research
    18(1):145-159; heterogeneous servers: Gumbel 1960, "Waiting lines with
    heterogeneous servers", Operations Research 8(4):504-511; the rule is Lin &
    Kumar's threshold policy with the smallest threshold, never keeping a job
    waiting while a QC is free: Lin & Kumar 1984, "Optimal control of a
    queueing system with two heterogeneous servers", IEEE TAC 29(8):696-703),
    ``hetero_mm2``::

        p_2  = p_0 lambda^2 (lambda + mu_2) / (mu_1 mu_2 (2 lambda + mu_1 + mu_2))
        p_10 = (lambda p_0 + mu_2 p_2) / (lambda + mu_1)    (preferred QC busy alone)
        p_01 = mu_1 p_2 / (lambda + mu_2)                    (other QC busy alone)
        p_0 + p_10 + p_01 + p_2 / (1 - r) = 1

    giving ``E[N]``, ``E[T] = E[N] / lambda`` (Little), ``E[Wq]`` and the
    utilisation of each QC (``p_10 + p_2/(1-r)``, ``p_01 + p_2/(1-r)``).

Eligibility (section 1)
    A big QC (any qubits) and a small one (5 qubits), tasks of 4 or 8 qubits,
    a freed QC taking the oldest pending task it may run, admission ``Q_max``
    (so the chain is finite): the state is (QCs busy, sizes of the pending
    tasks in order), solved exactly by ``eligible_fleet_stationary``. We know
    of no closed form under fastest or smallest routing.

Serverless keep-alive with cold starts (section 3)
    ``max_instances = 1``, ``C = 1`` worker of ``S`` op/s: one instance runs
    one task at a time at rate ``S``, so the pre tasks of zero-iteration jobs
    (``pre_ops ~ X S``, ``post_ops = 0``) form an M/G/1 FIFO queue of service
    ``X``. An idle instance expires ``T = keep_alive_s`` after its last task;
    the idle period before a busy period is ``Exp(lambda)`` (memoryless), so
    the busy period starts cold with probability ``q = exp(-lambda T)``, and
    its first task then occupies the instance for ``X + D`` with
    ``D = cold_start_s + cold_start_ops / S``. That is the M/G/1 queue in
    which the first customer of a busy period receives exceptional service
    ``X_0`` (Welch 1964, "On a generalized M/G/1 queuing process in which
    the first customer of each busy period receives exceptional service",
    Operations Research 12(5):736-752), with ``E[X_0] = E[X] + q D``::

        P_0 = (1 - rho) / (1 - rho + lambda E[X_0]) = (1 - rho) / (1 + lambda q D)
        P(cold) = q P_0                   (PASTA: arrivals see the time average)
        avg_instances = 1 - q P_0         (time with no instance: P_0 E[(I - T)^+] lambda)
        E[W] = lambda (P_0 E[X_0^2] + (1 - P_0) E[X^2]) / (2 (1 - rho))

    (``E[W]``: mean residual service by customer type over ``1 - rho``;
    equal to Welch's mean wait). The post task (zero work) is ready when the
    pre task ends, so it finds the instance alive and is never cold; as the
    freed instance goes to the queue's head first (docs/platform-features.md),
    the post task waits for the ``N`` pre tasks left behind, ``E[N] = L``
    (departures see what arrivals see, Kleinrock 1975, *Queueing Systems*
    Vol. I, Ch. 5), so a job lasts on average
    ``E[T_job] = (1 + rho) (E[W] + E[X] + P(cold) D)`` and waits for instances
    ``E[T_job] - E[X] - P(cold) cold_start_ops / S``.

Runtime sessions (section 2)
    Every job holds a session (``min_priority = 1``), no maximum length, an
    idle timeout above the classical step ``d``, one QC, ``C`` large enough
    that classical tasks always run at ``S`` (``pre = post = 0``,
    ``iteration_ops = d S``). A job's first quantum task is ready at
    ``arrival + d`` (a shifted Poisson process is Poisson) and the QC is then
    held for ``H = q_1 + sum_{k>=2} (d + q_k)``: the QC is an M/G/1 FIFO queue
    of sessions, and the Pollaczek-Khinchine formula (Kleinrock 1975,
    Vol. I, Ch. 5) gives the mean quantum wait ``E[Wq] = lambda E[H^2] / (2 (1 -
    lambda E[H]))`` (with a session open a job never waits again), the job
    time ``E[T] = d + E[Wq] + E[H]``, the reserved fraction ``lambda E[H]``
    and the reserved-idle rate ``lambda (E[n] - 1) d``. With ``n`` iterations
    of ``Y = q + d``: ``E[H] = E[n] E[Y] - d``, ``Var H = E[n] Var q +
    Var n E[Y]^2`` (Wald). No exact result is known to us for sessions with
    several QCs, timeouts, or without sessions (a queue with feedback whose
    returning jobs are delayed): those get no check here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from hqsched.instances.model import Platform, QCGroup
from hqsched.instances.synthetic import Distribution, SyntheticWorkload
from hqsched.online.config import Lifecycle, Sessions

from .queueing import (
    MEAN_SERVICE_S,
    SUMMARY,
    Check,
    CheckRecord,
    Estimate,
    Replication,
    censored_note,
    estimate,
    finalize,
    relaxation_s,
    replication_list,
    seed_values,
    synthetic_run,
)

# ---------------------------------------------------------------------------
# Theory: a fleet of exponential QCs with a preference order (section 1)


@dataclass(frozen=True)
class FleetQueue:
    """Stationary metrics of an FCFS fleet of exponential servers (s, jobs, fractions)."""

    mean_in_system: float
    mean_response_s: float
    mean_wait_s: float
    p_wait: float  # P(an arrival finds every server busy) = P(wait), by PASTA
    utilization: tuple[float, ...]  # per server, in preference order


def _subset_balance(lam: float, rates: Sequence[float]) -> np.ndarray:
    """Balance equations (rows: states, columns: unknowns) of the queue-empty states.

    State ``S`` (bitmask of busy servers, queue empty; ``full`` = all busy) flows out at
    ``lambda + sum_{j in S} mu_j``; it is entered by an arrival at ``S`` minus its
    preferred idle server, and by a departure from ``S + {j}``. The state ``full`` is also
    entered from ``(full, 1 queued)`` at ``sum mu * r p_full = lambda p_full``, which is
    the same as subtracting ``lambda`` from its outflow.
    """
    k = len(rates)
    full = (1 << k) - 1
    a = np.zeros((full + 1, full + 1))
    for s in range(full + 1):
        a[s, s] -= sum(rates[j] for j in range(k) if s >> j & 1) + (0.0 if s == full else lam)
        if s != full:
            first_idle = next(j for j in range(k) if not s >> j & 1)
            a[s | 1 << first_idle, s] += lam
        for j in range(k):
            if s >> j & 1:
                a[s & ~(1 << j), s] += rates[j]
    return a


def fleet_fcfs_stationary(lam: float, rates: Sequence[float]) -> FleetQueue:
    """Exact stationary metrics of ``k`` exponential servers of ``rates`` (1/s, listed in
    the routing's preference order), Poisson arrivals ``lam`` (1/s), one FIFO queue.

    Queue-empty states by a linear solve, the tail geometric (module docstring).
    """
    k, total = len(rates), float(sum(rates))
    if k < 1 or min(rates) <= 0 or not 0 < lam < total:
        raise ValueError(f"fleet queue needs rates > 0 and 0 < lambda < sum(rates), "
                         f"got lambda={lam}, rates={tuple(rates)}")
    r = lam / total
    full = (1 << k) - 1
    a = _subset_balance(lam, rates)
    weight = np.ones(full + 1)
    weight[full] = 1 / (1 - r)  # p_full stands for the whole geometric tail
    a[-1, :] = weight  # one balance equation is redundant: normalisation instead
    b = np.zeros(full + 1)
    b[-1] = 1.0
    p = np.linalg.solve(a, b)
    busy_count = np.array([bin(s).count("1") for s in range(full + 1)], dtype=float)
    p_all_busy = p[full] / (1 - r)
    queued = float(p[full] * r / (1 - r) ** 2)
    in_system = float(busy_count[:full] @ p[:full]) + k * p_all_busy + queued
    utilization = tuple(float(sum(p[s] for s in range(full) if s >> j & 1)) + p_all_busy
                        for j in range(k))
    return FleetQueue(in_system, in_system / lam, float(queued / lam), float(p_all_busy),
                      utilization)


def hetero_mm2(lam: float, mu_first: float, mu_second: float) -> FleetQueue:
    """The heterogeneous M/M/2, server ``first`` preferred when both are free: the closed
    form of the module docstring (Singh 1970; rates 1/s)."""
    total = mu_first + mu_second
    if min(mu_first, mu_second) <= 0 or not 0 < lam < total:
        raise ValueError(f"M/M/2 needs rates > 0 and 0 < lambda < mu_1 + mu_2, "
                         f"got lambda={lam}, rates=({mu_first}, {mu_second})")
    r = lam / total
    # Relative to p_0 = 1, then normalised.
    p2 = lam * lam * (lam + mu_second) / (mu_first * mu_second * (2 * lam + total))
    p10 = (lam + mu_second * p2) / (lam + mu_first)
    p01 = mu_first * p2 / (lam + mu_second)
    norm = 1 + p10 + p01 + p2 / (1 - r)
    p10, p01, p2 = p10 / norm, p01 / norm, p2 / norm
    all_busy = p2 / (1 - r)
    queued = p2 * r / (1 - r) ** 2
    in_system = p10 + p01 + 2 * all_busy + queued
    return FleetQueue(in_system, in_system / lam, queued / lam, all_busy,
                      (p10 + all_busy, p01 + all_busy))


#: Largest chain ``eligible_fleet_stationary`` builds (about 2^(Q_max + 3) states).
MAX_CHAIN_STATES = 200_000


@dataclass(frozen=True)
class EligibleFleet:
    """Stationary metrics of the two-QC fleet with eligibility (s, fractions)."""

    p_drop: float  # P(an arrival finds Q_max tasks pending), by PASTA
    mean_response_s: float  # of accepted jobs, by Little
    utilization: tuple[float, float]  # (big QC, small QC)


def _eligible_step(state: tuple[int, int, str], small_first: bool, max_pending: int
                   ) -> list[tuple[str, tuple[int, int, str]]]:
    """The moves of state ``(big busy, small busy, pending types in order)`` by event:
    ``"s"``/``"b"`` an arrival of a small/big task, ``"B"``/``"S"`` an end on a QC."""
    big, small, queue = state
    out: list[tuple[str, tuple[int, int, str]]] = []
    if len(queue) < max_pending:  # admitted (else dropped: no move)
        free = [qc for qc, busy in (("S", small), ("B", big)) if not busy]
        if not small_first:
            free.reverse()
        if free:  # a small task takes the preferred free QC
            out.append(("s", (1, small, queue) if free[0] == "B" else (big, 1, queue)))
        else:
            out.append(("s", (big, small, queue + "s")))
        out.append(("b", (big, small, queue + "b") if big else (1, small, queue)))
    if big:  # the big QC takes the oldest pending task of either size
        out.append(("B", (1, small, queue[1:]) if queue else (0, small, queue)))
    if small:  # the small QC takes the oldest pending small task
        i = queue.find("s")
        out.append(("S", (big, 1, queue[:i] + queue[i + 1:]) if i >= 0 else (big, 0, queue)))
    return out


def eligible_fleet_stationary(lam: float, p_small: float, mu_big: float, mu_small: float,
                              small_first: bool, max_pending: int) -> EligibleFleet:
    """Two QCs, a big one (any task) and a small one (small tasks only), Poisson arrivals
    ``lam`` of which a fraction ``p_small`` are small, exponential work at rates ``mu``
    (1/s), FIFO picking among the eligible pending tasks, admission ``Q_max``; a small
    task finding both QCs free goes to the small one iff ``small_first``.

    No closed form is known to us (the product form of FCFS with eligibility, Visschers,
    Adan & Weiss 2012, Queueing Systems 70:269-298, needs assign-longest-idle routing):
    the chain over (QCs busy, pending sizes in order) is finite under ``Q_max`` and is
    solved exactly (sparse global balance, scipy).
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.linalg import spsolve

    rates = {"s": lam * p_small, "b": lam * (1 - p_small), "B": mu_big, "S": mu_small}
    start: tuple[int, int, str] = (0, 0, "")
    index, frontier, edges = {start: 0}, [start], []
    while frontier:  # the states reachable from the empty system
        state = frontier.pop()
        for event, nxt in _eligible_step(state, small_first, max_pending):
            if rates[event] == 0:
                continue
            if nxt not in index:
                if len(index) >= MAX_CHAIN_STATES:
                    raise ValueError(f"eligible fleet chain: more than {MAX_CHAIN_STATES} "
                                     f"states (Q_max={max_pending} is too large)")
                index[nxt] = len(index)
                frontier.append(nxt)
            edges.append((index[nxt], index[state], rates[event]))
    n = len(index)
    rows, cols, vals = (list(x) for x in zip(*edges)) if edges else ([], [], [])
    out_rate = np.zeros(n)
    for _, src, rate in edges:
        out_rate[src] += rate
    rows += list(range(n))
    cols += list(range(n))
    vals += list(-out_rate)
    a = csr_matrix((vals, (rows, cols)), shape=(n, n)).tolil()
    a[n - 1, :] = np.ones(n)  # one balance equation is redundant: normalisation instead
    b = np.zeros(n)
    b[n - 1] = 1.0
    p = spsolve(a.tocsr(), b)
    states = sorted(index, key=index.__getitem__)
    full = sum(p[i] for i, s in enumerate(states) if len(s[2]) >= max_pending)
    in_system = sum(p[i] * (s[0] + s[1] + len(s[2])) for i, s in enumerate(states))
    big = sum(p[i] for i, s in enumerate(states) if s[0])
    small = sum(p[i] for i, s in enumerate(states) if s[1])
    return EligibleFleet(float(full), float(in_system / (lam * (1 - full))),
                         (float(big), float(small)))


# ---------------------------------------------------------------------------
# Theory: one function instance with keep-alive and cold starts (section 3)


@dataclass(frozen=True)
class KeepAliveQueue:
    """Stationary metrics of the single-instance keep-alive queue (s, fractions)."""

    p_idle: float  # P_0: no task in the instance (starting or running)
    p_cold: float  # fraction of arrivals (pre tasks) that cold-start the instance
    avg_instances: float  # time-average live instances
    pre_wait_s: float  # E[W]: a pre task's wait for the instance, its own cold latency excluded
    job_time_s: float  # E[T_job] of a zero-iteration job (pre, then a zero-work post)
    instance_wait_per_job_s: float  # instance_wait_s per job (pre and post, latency included)


def keep_alive_mg1(lam: float, service_s: Distribution, keep_alive_s: float,
                   cold_start_s: float, cold_extra_s: float = 0.0) -> KeepAliveQueue:
    """Welch's (1964) M/G/1 with exceptional first service, as one keep-alive instance
    (module docstring). ``lam`` 1/s; ``service_s`` the law of ``X`` (s);
    ``cold_extra_s = cold_start_ops / S``."""
    m1, m2 = service_s.mean(), service_s.second_moment()
    rho = lam * m1
    if not 0 <= rho < 1 or keep_alive_s < 0 or cold_start_s < 0 or cold_extra_s < 0:
        raise ValueError(f"keep-alive M/G/1 needs rho < 1 and non-negative times, got rho={rho}")
    q = math.exp(-lam * keep_alive_s)  # P(idle period > T), idle ~ Exp(lambda)
    d = cold_start_s + cold_extra_s
    p0 = (1 - rho) / (1 + lam * q * d)
    p_cold = q * p0
    first_excess_m2 = q * (2 * d * m1 + d * d)  # E[X_0^2] - E[X^2]
    wait = lam * (m2 + p0 * first_excess_m2) / (2 * (1 - rho))
    job = (1 + rho) * (wait + m1 + p_cold * d)
    return KeepAliveQueue(p0, p_cold, 1 - p_cold, wait, job, job - m1 - p_cold * cold_extra_s)


# ---------------------------------------------------------------------------
# Theory: sessions on one QC (section 2)


@dataclass(frozen=True)
class SessionQueue:
    """Stationary metrics of one QC held by sessions (s, fractions, QC-seconds per s)."""

    hold_mean_s: float  # E[H]
    hold_second_moment_s2: float  # E[H^2]
    wait_s: float  # E[Wq] (the first quantum task's; later ones wait 0)
    job_time_s: float  # d + E[Wq] + E[H]
    reserved: float  # time-average QCs held = lambda E[H]
    busy: float  # qc_utilization = lambda E[n] E[q]
    reserved_idle_rate: float  # session_idle_qc_s per second = lambda (E[n] - 1) d


def _iteration_law(iterations: Distribution | int) -> Distribution:
    """The iteration count as a law that is >= 1 on every draw (else no session opens)."""
    law = iterations if isinstance(iterations, Distribution) else Distribution.deterministic(iterations)
    low = {"geometric": 1.0, "deterministic": law.mean(),
           "uniform_int": law.param("low") if law.name == "uniform_int" else 0.0}.get(law.name, 0.0)
    if low < 1:
        raise ValueError(f"sessions need at least one iteration per job, got {law.describe()}")
    return law


def session_hold_moments(iterations: Distribution | int, quantum_s: Distribution,
                         step_s: float) -> tuple[float, float]:
    """``(E[H], E[H^2])`` of a session's holding time ``H = n Y - d``, ``Y = q + d`` (Wald)."""
    law = _iteration_law(iterations)
    n1, n_var = law.mean(), law.variance()
    y1, y_var = quantum_s.mean() + step_s, quantum_s.variance()
    hold = n1 * y1 - step_s
    return hold, n1 * y_var + n_var * y1 * y1 + hold * hold


def session_mg1(lam: float, iterations: Distribution | int, quantum_s: Distribution,
                step_s: float) -> SessionQueue:
    """Sessions on one QC as an M/G/1 queue of holding times (Pollaczek-Khinchine);
    ``iterations`` >= 1 always, ``step_s`` the classical step ``d`` (s); module docstring."""
    hold, hold2 = session_hold_moments(iterations, quantum_s, step_s)
    n1 = _iteration_law(iterations).mean()
    rho = lam * hold
    if not 0 <= rho < 1:
        raise ValueError(f"sessions queue needs lambda E[H] < 1, got {rho}")
    wait = lam * hold2 / (2 * (1 - rho))
    return SessionQueue(hold, hold2, wait, step_s + wait + hold, rho, lam * n1 * quantum_s.mean(),
                        lam * (n1 - 1) * step_s)


# ---------------------------------------------------------------------------
# Runs: per-seed statistics with the summary's feature metrics


def estimate_features(checks: Sequence[Check], seeds: Sequence[int], processes: int | None = None,
                      engine: str = "kernel") -> list[Estimate]:
    """Run replications ``seeds`` of ``checks`` on ``engine`` (``ENGINES``); their estimates
    (``queueing.estimate``, which keeps each run's summary metrics under ``SUMMARY``)."""
    return estimate(checks, seeds, processes, engine=engine)


def _summary_values(per_seed: list[dict[str, float]], key: str) -> tuple[float, ...]:
    """Summary metric ``key`` per seed (NaN where the run did not report it: a failing check)."""
    return tuple(d.get(SUMMARY + key, math.nan) for d in per_seed)


def _ratio_values(per_seed: list[dict[str, float]], key: str, per: str) -> tuple[float, ...]:
    return tuple(d.get(SUMMARY + key, math.nan) / d[SUMMARY + per] for d in per_seed)


# ---------------------------------------------------------------------------
# Checks


def _with(rep: Replication, routing: str = "fastest", sessions: Sessions | None = None,
          lifecycle: Lifecycle | None = None) -> Replication:
    """``rep`` with the features given (the window unchanged)."""
    config = replace(rep.config, routing=routing, sessions=sessions, lifecycle=lifecycle)
    return Replication(config, rep.window)


def fleet_platform(speeds: Sequence[float], qubits: Sequence[int | None] | None = None) -> Platform:
    """One QC per speed (groups ``g0, g1, ...`` in that order), C = 1 worker of 1 op/s."""
    caps = list(qubits) if qubits is not None else [None] * len(speeds)
    groups = tuple(QCGroup(f"g{i}", 1, caps[i], speed=float(s)) for i, s in enumerate(speeds))
    return Platform(classical_workers=1, worker_capacity_ops_per_s=1.0, qc_groups=groups)


def preference_order(speeds: Sequence[float], qubits: Sequence[int | None] | None,
                     routing: str) -> list[int]:
    """The QCs (one per group) in the order ``routing`` fills them when several are free
    (docs/platform-features.md: ``fastest`` by factor ``1/speed``, ``smallest`` by
    (qubits, factor), ``lowest`` by number; ties to the lowest number)."""
    caps = [math.inf if q is None else q for q in (qubits or [None] * len(speeds))]
    keys = {"fastest": lambda i: (1 / speeds[i],),
            "smallest": lambda i: (caps[i], 1 / speeds[i]),
            "lowest": lambda i: (0,)}[routing]
    return sorted(range(len(speeds)), key=lambda i: (*keys(i), i))


def fleet_check(speeds: Sequence[float], rho: float, routing: str, jobs: int,
                qubits: Sequence[int | None] | None = None) -> Check:
    """One QC per speed, exponential work (mean 1 s on the reference QC), 4-qubit tasks:
    E[T], E[Wq] and each QC's utilisation against ``fleet_fcfs_stationary``."""
    total = float(sum(speeds))
    lam = rho * total / MEAN_SERVICE_S
    order = preference_order(speeds, qubits, routing)
    theory = fleet_fcfs_stationary(lam, [speeds[i] / MEAN_SERVICE_S for i in order])
    util = {order[j]: u for j, u in enumerate(theory.utilization)}
    workload = SyntheticWorkload(1 / lam, quantum_s=Distribution.exponential(MEAN_SERVICE_S))
    relax = max(relaxation_s(rho) * len(speeds) / total, MEAN_SERVICE_S / min(speeds))
    rep = _with(synthetic_run(workload, fleet_platform(speeds, qubits), "fifo", jobs, relax),
                routing=routing)
    caps = "" if qubits is None else " qubits=" + "/".join(str(q) for q in qubits)
    params = f"speeds={'/'.join(f'{s:g}' for s in speeds)}{caps} {routing} rho={rho:g}"
    name = "Fleet FCFS"

    def estimates(by: dict[str, list[dict[str, float]]]) -> list[Estimate]:
        d = by["run"]
        note = censored_note(d)
        out = [Estimate(name, params, "E[T] (s)", seed_values(d, "time_mean"), theory.mean_response_s,
                        note=note),
               Estimate(name, params, "E[Wq] (s)", seed_values(d, "wait_mean"), theory.mean_wait_s,
                        note=note)]
        out += [Estimate(name, params, f"utilisation g{i}", _summary_values(d, f"qc_utilization_g{i}"),
                         util[i]) for i in range(len(speeds))]
        return out

    return Check(name, params, {"run": rep}, estimates)


def eligible_fleet_check(speeds: tuple[float, float], rho: float, routing: str, jobs: int,
                         max_pending: int = 8) -> Check:
    """A big QC (any qubits) and a small one (5 qubits), tasks of 4 or 8 qubits (half
    each), admission Q_max: P(drop), E[T] and utilisations against
    ``eligible_fleet_stationary``. ``rho``: the offered work over both QCs' rate."""
    big_speed, small_speed = speeds
    lam = rho * (big_speed + small_speed) / MEAN_SERVICE_S
    order = preference_order(speeds, (None, 5), routing)
    theory = eligible_fleet_stationary(lam, 0.5, big_speed / MEAN_SERVICE_S,
                                       small_speed / MEAN_SERVICE_S, order[0] == 1, max_pending)
    workload = SyntheticWorkload(1 / lam, quantum_s=Distribution.exponential(MEAN_SERVICE_S),
                                 qubits=(4, 8))
    platform = Platform(classical_workers=1, worker_capacity_ops_per_s=1.0,
                        max_quantum=max_pending,
                        qc_groups=(QCGroup("g0", 1, None, speed=big_speed),
                                   QCGroup("g1", 1, 5, speed=small_speed)))
    # A queue of at most Q_max tasks relaxes within a few of its service times.
    relax = 10.0 * (max_pending + 2) * MEAN_SERVICE_S / min(speeds)
    rep = _with(synthetic_run(workload, platform, "fifo", jobs, relax), routing=routing)
    params = f"speeds={big_speed:g}/{small_speed:g} qubits=any/5 {routing} rho={rho:g} " \
             f"Q_max={max_pending}"
    name = "Fleet eligibility"

    def estimates(by: dict[str, list[dict[str, float]]]) -> list[Estimate]:
        d = by["run"]
        return [
            Estimate(name, params, "P(drop)", seed_values(d, "drop_probability"), theory.p_drop),
            Estimate(name, params, "E[T] (s)", seed_values(d, "time_mean"), theory.mean_response_s,
                     note=censored_note(d)),
            Estimate(name, params, "utilisation g0", _summary_values(d, "qc_utilization_g0"),
                     theory.utilization[0]),
            Estimate(name, params, "utilisation g1", _summary_values(d, "qc_utilization_g1"),
                     theory.utilization[1]),
        ]

    return Check(name, params, {"run": rep}, estimates)


def cold_start_check(rho: float, keep_alive_s: float, cold_start_s: float, jobs: int,
                     service: Distribution | None = None, cold_start_ops: float = 0.0) -> Check:
    """One instance (``max_instances = 1``), zero-iteration jobs with pre work ``X`` (ops at
    1 op/s: seconds) and zero post work: P(cold), avg_instances, job time and instance wait
    against ``keep_alive_mg1`` (Welch 1964)."""
    service = service or Distribution.exponential(MEAN_SERVICE_S)
    mean_s = service.mean()
    lam = rho / mean_s
    theory = keep_alive_mg1(lam, service, keep_alive_s, cold_start_s, cold_start_ops)
    workload = SyntheticWorkload(1 / lam, iterations=0, pre_ops=service, post_ops=0.0)
    platform = Platform(classical_workers=1, worker_capacity_ops_per_s=1.0, quantum_computers=1)
    relax = relaxation_s(rho, 1, service.scv()) * mean_s / MEAN_SERVICE_S + keep_alive_s
    life = Lifecycle(max_instances=1, cold_start_s=cold_start_s, cold_start_ops=cold_start_ops,
                     keep_alive_s=keep_alive_s)
    rep = _with(synthetic_run(workload, platform, "fifo", jobs, relax), lifecycle=life)
    params = (f"rho={rho:g} X~{service.describe()} keep-alive={keep_alive_s:g}s "
              f"cold={cold_start_s:g}s" + (f"+{cold_start_ops:g}ops" if cold_start_ops else ""))
    name = "Keep-alive cold starts"

    def estimates(by: dict[str, list[dict[str, float]]]) -> list[Estimate]:
        d = by["run"]
        note = censored_note(d)
        return [
            Estimate(name, params, "P(cold)", _ratio_values(d, "cold_starts", "arrived"),
                     theory.p_cold),
            Estimate(name, params, "avg_instances", _summary_values(d, "avg_instances"),
                     theory.avg_instances),
            Estimate(name, params, "E[T_job] (s)", seed_values(d, "time_mean"), theory.job_time_s,
                     note=note),
            Estimate(name, params, "instance wait/job (s)",
                     _ratio_values(d, "instance_wait_s", "arrived"), theory.instance_wait_per_job_s),
        ]

    return Check(name, params, {"run": rep}, estimates)


#: Classical workers of the sessions check: enough that a classical task always runs at S.
SESSION_WORKERS = 10_000


def session_check(rho: float, iterations: Distribution | int, step_s: float, jobs: int) -> Check:
    """Every job in a session on one QC, exponential quantum tasks (mean 1 s), classical
    steps of ``step_s``: quantum wait, job time, reserved and reserved-idle QC time against
    ``session_mg1`` (Pollaczek-Khinchine)."""
    quantum = Distribution.exponential(MEAN_SERVICE_S)
    lam = rho / session_hold_moments(iterations, quantum, step_s)[0]
    theory = session_mg1(lam, iterations, quantum, step_s)
    scv = theory.hold_second_moment_s2 / theory.hold_mean_s ** 2 - 1
    workload = SyntheticWorkload(1 / lam, iterations=iterations, iteration_ops=step_s,
                                 quantum_s=quantum)
    platform = Platform(classical_workers=SESSION_WORKERS, worker_capacity_ops_per_s=1.0,
                        quantum_computers=1)
    relax = relaxation_s(rho, 1, scv) * theory.hold_mean_s / MEAN_SERVICE_S
    sessions = Sessions(min_priority=1, max_length_s=math.inf, idle_timeout_s=100 * step_s + 1)
    rep = _with(synthetic_run(workload, platform, "fifo", jobs, relax), sessions=sessions)
    n = iterations.describe() if isinstance(iterations, Distribution) else str(iterations)
    params = f"rho={rho:g} n={n} d={step_s:g}s"
    name = "Sessions M/G/1"

    def estimates(by: dict[str, list[dict[str, float]]]) -> list[Estimate]:
        d = by["run"]
        note = censored_note(d)
        window = tuple(x[SUMMARY + "sim_end_s"] - rep.config.warmup_s for x in d)
        idle_rate = tuple(x.get(SUMMARY + "session_idle_qc_s", math.nan) / w
                          for x, w in zip(d, window))
        return [
            Estimate(name, params, "E[Wq] (s)", seed_values(d, "wait_mean"), theory.wait_s, note=note),
            Estimate(name, params, "E[T] (s)", seed_values(d, "time_mean"), theory.job_time_s, note=note),
            Estimate(name, params, "avg_quantum_reserved",
                     _summary_values(d, "avg_quantum_reserved"), theory.reserved),
            Estimate(name, params, "qc_utilization", _summary_values(d, "qc_utilization"),
                     theory.busy),
            Estimate(name, params, "reserved idle QC-s/s", idle_rate, theory.reserved_idle_rate),
        ]

    return Check(name, params, {"run": rep}, estimates)


# ---------------------------------------------------------------------------
# Suites

QUICK_JOBS = 20_000
FULL_JOBS = 100_000
QUICK_SEEDS = 8
FULL_SEEDS = 10


def quick_feature_checks(jobs: int = QUICK_JOBS) -> list[Check]:
    """One check of each feature at moderate load. The fleets list the QC that the
    routing prefers second, so that following the numbering instead would fail."""
    return [
        fleet_check((1.0, 2.0), 0.6, "fastest", jobs),
        fleet_check((2.0, 1.0), 0.6, "smallest", jobs, qubits=(10, 5)),
        eligible_fleet_check((2.0, 1.0), 0.8, "smallest", jobs, 6),
        cold_start_check(0.5, 1.0, 0.5, jobs),
        session_check(0.6, 3, 0.5, jobs),
    ]


def full_feature_checks(jobs: int = FULL_JOBS) -> list[Check]:
    """Each feature at several loads and shapes."""
    checks: list[Check] = []
    for rho in (0.3, 0.6, 0.9):
        checks.append(fleet_check((1.0, 3.0), rho, "fastest", jobs))
        checks.append(fleet_check((3.0, 1.0), rho, "smallest", jobs, qubits=(10, 5)))
        checks.append(fleet_check((1.0, 0.5, 2.0), rho, "fastest", jobs))
        checks += [eligible_fleet_check((2.0, 1.0), rho, r, jobs, 8) for r in ("fastest", "smallest")]
        checks.append(cold_start_check(rho, 2.0, 1.0, jobs))
        checks.append(session_check(rho, 3, 0.5, jobs))
    checks.append(fleet_check((0.5, 1.0, 2.0), 0.6, "lowest", jobs))
    checks.append(fleet_check((2.0, 0.5, 1.0), 0.6, "smallest", jobs, qubits=(None, 8, 6)))
    checks.append(cold_start_check(0.6, 0.5, 0.3, jobs, Distribution.deterministic(1.0), 0.4))
    checks.append(cold_start_check(0.6, 1.0, 2.0, jobs, Distribution.hyperexponential(1.0, 2.0)))
    checks.append(session_check(0.6, Distribution.geometric(3.0), 0.2, jobs))
    return checks


def validate_features(quick: bool = False, seeds: int | Sequence[int] | None = None,
                      processes: int | None = None, engine: str = "kernel",
                      bonferroni: bool = True) -> list[CheckRecord]:
    """The feature checks (quick: seconds; full: minutes) with their verdicts
    (``queueing.finalize``); ``seeds``: a count or the replication list."""
    replications = replication_list(seeds, QUICK_SEEDS if quick else FULL_SEEDS)
    checks = quick_feature_checks() if quick else full_feature_checks()
    return finalize(estimate_features(checks, replications, processes, engine), bonferroni)
