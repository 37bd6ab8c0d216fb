"""The simulator configured as textbook queues, against their closed forms.

Each check builds ``SimulationConfig`` s whose
platform and ``SyntheticWorkload`` make the
simulator a classical queue, runs independent replications (one per seed,
``hqsched.online.engine.simulate``), and compares the across-seed mean of
a per-seed estimate with the queue's steady-state value.

Mapping the platform to a queue
    *Quantum queue*: a job is ``pre -> classical iteration -> quantum -> post``
    with zero-work classical tasks (they take zero time), one quantum task of
    mean ``1/mu = 1 s``, admission off unless stated. The QCs are ``c``
    servers, the quantum policy is the queueing discipline, and a job's
    ``quantum_wait_s`` is its waiting time in queue ``Wq``; its job time is
    its response (sojourn) time ``T = Wq + service``.
    *Classical queue*: a job is ``pre -> post`` (0 iterations) with ``post``
    of zero work, one worker of ``S = 1`` op/s in serverless mode: an M/G/1
    processor-sharing queue whose service time in seconds is ``pre_ops``.

Closed forms (``lambda`` arrival rate, ``mu = 1/E[S]``, ``a = lambda/mu``,
``rho = a/c``)
    - M/M/c, Erlang C: ``P(wait) = C(c, a)`` and
      ``E[Wq] = C(c, a) / (c mu - lambda)`` (Erlang 1917; Gross & Harris,
      *Fundamentals of Queueing Theory*, 4th ed., Sec. 2.3), with ``C``
      from the Erlang-B recursion ``B_0 = 1``, ``B_k = a B_{k-1}/(k + a B_{k-1})``,
      ``C = B_c / (1 - rho (1 - B_c))``.
    - M/M/1 under size-blind non-preemptive disciplines: the number in system
      is the same birth-death chain, so ``E[T] = 1/(mu - lambda)`` for all
      (Little). The waiting time ``W`` differs in its second moment:
      FIFO ``E[W^2] = 2 rho / (mu^2 (1 - rho)^2)`` (and ``T ~ Exp(mu - lambda)``),
      random order ``E[W^2] = E[W^2]_FIFO / (1 - rho/2)`` (Kingman 1962, "On
      queues in which customers are served in random order", Proc. Camb.
      Phil. Soc. 58, 79-91), non-preemptive LIFO
      ``E[W^2] = E[W^2]_FIFO / (1 - rho)`` (a job that waits waits for a busy
      period; Riordan 1962, *Stochastic Service Systems*; Kleinrock 1976,
      *Queueing Systems* Vol. II, Sec. 3.3). ``W`` is independent of the
      job's own service, so ``Var T = E[W^2] - E[W]^2 + 1/mu^2`` with
      ``E[W] = rho / (mu - lambda)``; hence Var FIFO < Var random < Var LIFO.
    - M/G/1 processor sharing: ``E[T] = E[S] / (1 - rho)`` whatever the
      service distribution (Kleinrock 1967, "Time-shared systems: a
      theoretical treatment", JACM 14; Harchol-Balter 2013, *Performance
      Modeling and Design of Computer Systems*, Ch. 22).
    - M/M/c/K (``K = c + Q_max``: ``c`` in service, at most ``Q_max``
      pending): ``p_n ∝ a^n / n!`` for ``n <= c``, ``a^c/c! rho^(n-c)`` for
      ``c < n <= K``; by PASTA the drop probability is ``p_K`` (Gross &
      Harris Sec. 2.5).
    - Little's law ``L = lambda W`` (Little 1961) on a hybrid trace run:
      ``L`` = time-average of active classical + quantum in service +
      pending quantum tasks (each accepted job has exactly one of these),
      ``lambda`` = accepted arrivals per second, ``W`` = mean job time.

Estimators and bias
    Runs start empty. Each replication discards a warm-up of
    ``RELAXATIONS`` relaxation times ``tau`` (heavy-traffic M/M/c value
    ``tau = 1 / (c mu (1 - sqrt(rho))^2)``, times ``(1 + scv)/2`` for the
    workload of a general service law), so the initial-state bias is of order
    ``exp(-RELAXATIONS)``. Job averages are over jobs *arriving* in
    ``[warmup, warmup + window)`` — the customer average that the closed
    forms describe; selecting jobs by completion would favour short ones at
    the end — and the run continues another ``RELAXATIONS tau`` so that they
    all finish (any still running is counted in the record's note). The
    window spans at least ``WINDOW_RELAXATIONS`` ``tau`` so that each
    seed's estimate is close to normal, as the t interval assumes.
    A per-seed variance is the sample variance of that seed's jobs; its
    ``O(1/n)`` bias is far below the interval width.

Verdicts
    Across seeds, the Student t interval of the per-seed estimates
    (``hqsched.experiments.statistics.t_interval``). The table shows the 95%
    interval. With ``k`` comparisons at 95% each, a correct simulator would
    fail one with probability up to ``1 - 0.95^k``, so by default a verdict
    uses the Bonferroni interval at level ``1 - 0.05/k`` (family-wise 95%);
    ``bonferroni=False`` uses the plain 95% interval for each.
    "equal" checks pass when that interval contains the theory; "positive"
    checks (orderings: per-seed paired log-ratios of variances, since the
    policies of one seed see the same arrivals and services) pass when the
    one-sided lower bound at that level is above 0 (the theory column then
    shows the exact log-ratio, for information).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from hqsched.experiments.executor import ExecutorOptions, UnitBatch, map_units
from hqsched.experiments.replications import ENGINES, run_one
from hqsched.experiments.statistics import t_interval
from hqsched.instances.model import Platform
from hqsched.instances.synthetic import Distribution, SyntheticWorkload
from hqsched.instances.workload import WorkloadSpec
from hqsched.online.config import ReplicationResult, SimulationConfig
from hqsched.tables import format_table

ALPHA = 0.05
#: Warm-up and drain margin, in relaxation times.
RELAXATIONS = 10.0
#: Shortest measurement window, in relaxation times: shorter windows at high
#: load give right-skewed per-seed estimates (few long busy periods), and the
#: t interval then covers the truth less often than it says.
WINDOW_RELAXATIONS = 100.0
MEAN_SERVICE_S = 1.0  # 1/mu of every synthetic check

# ---------------------------------------------------------------------------
# Closed forms


def erlang_c(c: int, a: float) -> float:
    """Probability of waiting in M/M/c with offered load ``a = lambda/mu`` (< c)."""
    if not 0 <= a < c:
        raise ValueError(f"Erlang C needs 0 <= a < c, got a={a}, c={c}")
    b = 1.0
    for k in range(1, c + 1):  # Erlang B recursion: stable for any c
        b = a * b / (k + a * b)
    rho = a / c
    return b / (1 - rho * (1 - b))


def mmc_mean_wait_s(c: int, lam: float, mu: float) -> float:
    """M/M/c mean waiting time in queue ``E[Wq] = C(c, a) / (c mu - lambda)`` (s)."""
    return erlang_c(c, lam / mu) / (c * mu - lam)


def mm1_response_moments(lam: float, mu: float, discipline: str) -> tuple[float, float]:
    """``(E[T], Var T)`` of the M/M/1 response time under fifo, random or lifo (s, s^2)."""
    rho = lam / mu
    if not 0 <= rho < 1:
        raise ValueError(f"M/M/1 needs rho < 1, got {rho}")
    mean_w = rho / (mu - lam)
    w2_fifo = 2 * rho / (mu * mu * (1 - rho) ** 2)
    factor = {"fifo": 1.0, "random": 1 / (1 - rho / 2), "lifo": 1 / (1 - rho)}[discipline]
    return 1 / (mu - lam), w2_fifo * factor - mean_w ** 2 + 1 / (mu * mu)


def mg1_ps_mean_response_s(lam: float, mean_service_s: float) -> float:
    """M/G/1-PS mean sojourn ``E[S] / (1 - rho)`` (s), insensitive to the law of ``S``."""
    rho = lam * mean_service_s
    if not 0 <= rho < 1:
        raise ValueError(f"M/G/1-PS needs rho < 1, got {rho}")
    return mean_service_s / (1 - rho)


def mmck_blocking(c: int, capacity: int, lam: float, mu: float) -> float:
    """M/M/c/K blocking probability ``p_K`` (``K = capacity >= c``)."""
    a, terms, term = lam / mu, [], 1.0
    for n in range(capacity + 1):
        if n > 0:
            term *= a / min(n, c)  # a^n/n! up to c, then a factor rho = a/c per step
        terms.append(term)
    return terms[-1] / math.fsum(terms)


# ---------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Estimate:
    """Per-seed estimates of one quantity and the value theory gives it."""

    name: str
    parameters: str
    metric: str
    values: tuple[float, ...]
    theory: float
    criterion: str = "equal"  # "equal": theory in CI; "positive": CI above 0
    note: str = ""


@dataclass(frozen=True)
class CheckRecord:
    """One row of the validation table."""

    name: str
    parameters: str
    metric: str
    simulated: float
    ci_low: float  # 95% t interval across seeds
    ci_high: float
    theory: float
    passed: bool
    replications: int
    criterion: str
    verdict_level: float  # confidence of the interval the verdict used
    note: str = ""


def verdict(estimate: Estimate, level: float = 1 - ALPHA) -> CheckRecord:
    """The record of ``estimate``; its verdict uses a t interval at ``level``."""
    mean, low, high, n = t_interval(estimate.values, 1 - ALPHA)
    if estimate.criterion == "equal":
        _, v_low, v_high, _ = t_interval(estimate.values, level)
        passed = bool(v_low <= estimate.theory <= v_high)
    elif estimate.criterion == "positive":  # one-sided: the lower bound at ``level``
        _, v_low, _, _ = t_interval(estimate.values, 1 - 2 * (1 - level))
        passed = bool(v_low > 0)
    else:
        raise ValueError(f"unknown criterion {estimate.criterion!r}")
    return CheckRecord(estimate.name, estimate.parameters, estimate.metric, mean, low, high,
                       estimate.theory, passed, n, estimate.criterion, level, estimate.note)


def finalize(estimates: Sequence[Estimate], bonferroni: bool = True) -> list[CheckRecord]:
    """Verdicts for all estimates; family-wise level 95% with ``bonferroni``."""
    k = len(estimates) if bonferroni else 1
    return [verdict(e, 1 - ALPHA / max(k, 1)) for e in estimates]


# ---------------------------------------------------------------------------
# Replications and per-seed statistics


@dataclass(frozen=True)
class Replication:
    """A configuration and the arrival window its job statistics cover (s)."""

    config: SimulationConfig
    window: tuple[float, float] = (0.0, math.inf)


def job_statistics(result: ReplicationResult, window: tuple[float, float],
                    warmup_s: float) -> dict[str, float]:
    """Per-seed statistics of the jobs arriving in ``window`` plus the run's summary."""
    jobs = result.jobs
    assert jobs is not None, "a run without a record sink keeps its records"
    arrival = np.asarray(jobs["arrival_s"], dtype=float)
    status = jobs["status"]
    inside = (arrival >= window[0]) & (arrival < window[1])
    done = inside & (status == "completed")
    times = np.asarray(jobs["job_time_s"], dtype=float)[done]
    waits = np.asarray(jobs["quantum_wait_s"], dtype=float)[done]
    s = result.summary
    out = {
        "jobs": float(done.sum()),
        "censored": float((inside & (status == "censored")).sum()),
        "time_mean": float(times.mean()) if times.size else math.nan,
        "time_var": float(times.var(ddof=1)) if times.size > 1 else math.nan,
        "wait_mean": float(waits.mean()) if waits.size else math.nan,
        "drop_probability": s["drop_probability"],
    }
    # Little's law terms (the summary's own time averages and job times).
    in_system = s["avg_classical_active"] + s["avg_quantum_in_service"] + s["avg_quantum_pending"]
    span = s["sim_end_s"] - warmup_s
    accepted_rate = s["accepted"] / span if span > 0 else math.nan
    out["little_L"] = in_system
    out["little_lambda_W"] = accepted_rate * s["job_time_mean_s"]
    return out


#: The run's summary metrics are kept per seed under this prefix (``"s:cold_starts"``).
SUMMARY = "s:"


def _run_one(engine: str, task: tuple[Replication, int]) -> dict[str, float]:
    """One replication on ``engine``: ``job_statistics`` plus every summary metric
    under ``SUMMARY``."""
    rep, seed = task
    result = run_one(rep.config, seed, engine=engine)
    stats = job_statistics(result, rep.window, rep.config.warmup_s)
    stats.update({SUMMARY + k: float(v) for k, v in result.summary.items()})
    return stats


def run_replications(tasks: Iterable[tuple[Replication, int]], processes: int | None = None, *,
                     engine: str = "kernel", force_progress: bool = False
                     ) -> dict[tuple[Replication, int], dict[str, float]]:
    """Per-seed statistics of every distinct ``(replication, seed)`` on ``engine``
    (``ENGINES``), units of the executor.

    ``processes``: None = all cores; 1 = in this process. Each task depends
    only on its replication and seed, so results do not depend on it. A
    progress bar on stderr when it is a terminal (always with ``force_progress``).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    # Longest runs first so that the workers finish together.
    order = sorted(dict.fromkeys(tasks), key=lambda t: -t[0].config.duration_s)
    stats = map_units(UnitBatch(_run_one, engine, order, "validate", "rep"),
                      ExecutorOptions(processes=processes, force_progress=force_progress))
    return dict(zip(order, stats))


# ---------------------------------------------------------------------------
# Checks


@dataclass
class Check:
    """Replications (by label) and how their per-seed statistics become estimates."""

    name: str
    parameters: str
    runs: dict[str, Replication]
    estimates: Callable[[dict[str, list[dict[str, float]]]], list[Estimate]] = field(repr=False)

    def seeds(self, replications: Sequence[int]) -> list[int]:
        """The simulator seeds of replications ``0, 1, ...`` of this check.

        Each check has its own block of seeds, keyed by its name and
        parameters: with one shared list every check would see the same
        (rescaled) arrival draws and all would err in the same direction.
        The runs *within* a check share seeds (paired comparisons).
        """
        base = zlib.crc32(f"{self.name}|{self.parameters}".encode()) << 20
        return [base + r for r in replications]


def relaxation_s(rho: float, servers: int = 1, scv: float = 1.0) -> float:
    """Relaxation time (s) of a queue at load ``rho``: ``(1+scv)/2 / (c mu (1 - sqrt rho)^2)``."""
    mu = 1 / MEAN_SERVICE_S
    return max(1.0, (1 + scv) / 2) * max(MEAN_SERVICE_S, 1 / (servers * mu * (1 - math.sqrt(rho)) ** 2))


def synthetic_run(workload: SyntheticWorkload, platform: Platform, policy: str, jobs: int,
                  relax_s: float) -> Replication:
    """Warm-up, a window of ``jobs`` expected arrivals (at least ``WINDOW_RELAXATIONS``
    relaxation times), and a drain margin."""
    warmup = RELAXATIONS * relax_s
    end_window = warmup + max(jobs * workload.interarrival_s, WINDOW_RELAXATIONS * relax_s)
    config = SimulationConfig(platform, policy=policy, classical_mode="serverless",
                              duration_s=end_window + RELAXATIONS * relax_s, warmup_s=warmup,
                              workload=workload)
    return Replication(config, (warmup, end_window))


def seed_values(per_seed: list[dict[str, float]], key: str) -> tuple[float, ...]:
    """Statistic ``key`` of each seed."""
    return tuple(d[key] for d in per_seed)


def censored_note(per_seed: list[dict[str, float]]) -> str:
    """An estimate's note on the window's jobs left unfinished (empty if none)."""
    censored = int(sum(d["censored"] for d in per_seed))
    return f"{censored} job(s) of the window unfinished" if censored else ""


def quantum_platform(servers: int, max_pending: int | None = None) -> Platform:
    return Platform(classical_workers=1, worker_capacity_ops_per_s=1.0, quantum_computers=servers,
                    max_classical=None, max_quantum=max_pending)


def mmc_wait_check(servers: int, rho: float, jobs: int,
                   service: Distribution | None = None) -> Check:
    """M/M/c: mean quantum wait vs Erlang C. ``service`` (default exponential 1 s)
    exists for negative controls: any other law breaks the M/M/c premise."""
    service = service or Distribution.exponential(MEAN_SERVICE_S)
    lam = rho * servers / MEAN_SERVICE_S
    workload = SyntheticWorkload(1 / lam, quantum_s=service)
    run = synthetic_run(workload, quantum_platform(servers), "fifo", jobs, relaxation_s(rho, servers))
    params = f"c={servers} rho={rho:g}" + ("" if service.name == "exponential"
                                            else f" service={service.describe()}")
    theory = mmc_mean_wait_s(servers, lam, 1 / MEAN_SERVICE_S)

    def estimates(by: dict[str, list[dict[str, float]]]) -> list[Estimate]:
        d = by["run"]
        return [Estimate("M/M/c Erlang-C wait", params, "E[Wq] (s)", seed_values(d, "wait_mean"),
                         theory, note=censored_note(d))]

    return Check("M/M/c Erlang-C wait", params, {"run": run}, estimates)


DISCIPLINES = ("fifo", "random", "lifo")


def mm1_disciplines_check(rho: float, jobs: int) -> Check:
    """M/M/1 under fifo, random, lifo: equal mean response, ordered variances."""
    lam, mu = rho / MEAN_SERVICE_S, 1 / MEAN_SERVICE_S
    workload = SyntheticWorkload(1 / lam, quantum_s=Distribution.exponential(MEAN_SERVICE_S))
    relax = relaxation_s(rho)
    runs = {p: synthetic_run(workload, quantum_platform(1), p, jobs, relax) for p in DISCIPLINES}
    params = f"rho={rho:g}"

    def estimates(by: dict[str, list[dict[str, float]]]) -> list[Estimate]:
        out = []
        for p in DISCIPLINES:
            mean, var = mm1_response_moments(lam, mu, p)
            note = censored_note(by[p])
            out.append(Estimate(f"M/M/1 {p} response", params, "E[T] (s)",
                                seed_values(by[p], "time_mean"), mean, note=note))
            out.append(Estimate(f"M/M/1 {p} response", params, "Var T (s^2)",
                                seed_values(by[p], "time_var"), var, note=note))
        for lo, hi in (("fifo", "random"), ("random", "lifo")):
            # Paired by seed, on the log scale: a seed with long busy periods
            # inflates every policy's variance by a similar factor, so the
            # log-ratio is far less skewed than the difference.
            log_ratio = tuple(math.log(b / a) for a, b in zip(seed_values(by[lo], "time_var"),
                                                              seed_values(by[hi], "time_var")))
            exact = math.log(mm1_response_moments(lam, mu, hi)[1] / mm1_response_moments(lam, mu, lo)[1])
            out.append(Estimate(f"M/M/1 Var {lo} < Var {hi}", params, "log Var ratio",
                                log_ratio, exact, criterion="positive"))
        return out

    return Check("M/M/1 disciplines", params, runs, estimates)


def ps_check(rho: float, service: Distribution, jobs: int) -> Check:
    """M/G/1 processor sharing on the classical side: mean sojourn E[S]/(1 - rho)."""
    mean_s = service.mean()  # ops at S = 1 op/s: seconds
    lam = rho / mean_s
    workload = SyntheticWorkload(1 / lam, iterations=0, pre_ops=service, post_ops=0.0)
    platform = Platform(classical_workers=1, worker_capacity_ops_per_s=1.0, quantum_computers=1)
    run = synthetic_run(workload, platform, "fifo", jobs,
                        relaxation_s(rho, 1, service.scv()) * mean_s / MEAN_SERVICE_S)
    params = f"rho={rho:g} S~{service.describe()}"
    theory = mg1_ps_mean_response_s(lam, mean_s)

    def estimates(by: dict[str, list[dict[str, float]]]) -> list[Estimate]:
        d = by["run"]
        return [Estimate("M/G/1-PS response", params, "E[T] (s)", seed_values(d, "time_mean"), theory,
                         note=censored_note(d))]

    return Check("M/G/1-PS response", params, {"run": run}, estimates)


def capacity_of(servers: int, max_pending: int) -> int:
    """``K = c + Q_max``: jobs in service plus the most that may be pending."""
    return servers + max_pending


def mmck_check(servers: int, max_pending: int, rho: float, jobs: int) -> Check:
    """Quantum-only jobs with admission ``Q_max``: drops vs M/M/c/(c + Q_max) blocking."""
    lam = rho * servers / MEAN_SERVICE_S
    workload = SyntheticWorkload(1 / lam, quantum_s=Distribution.exponential(MEAN_SERVICE_S))
    # A queue of at most K jobs relaxes within a few service times; the
    # M/M/c heavy-traffic value (unbounded queue) would overstate it.
    run = synthetic_run(workload, quantum_platform(servers, max_pending), "fifo", jobs,
                        min(relaxation_s(rho, servers), 10.0 * capacity_of(servers, max_pending)))
    capacity = capacity_of(servers, max_pending)
    params = f"c={servers} Q_max={max_pending} (K={capacity}) rho={rho:g}"
    theory = mmck_blocking(servers, capacity, lam, 1 / MEAN_SERVICE_S)

    def estimates(by: dict[str, list[dict[str, float]]]) -> list[Estimate]:
        return [Estimate("M/M/c/K drops", params, "P(drop)", seed_values(by["run"], "drop_probability"),
                         theory)]

    return Check("M/M/c/K drops", params, {"run": run}, estimates)


def little_check(quick: bool = False) -> Check:
    """Little's law on a hybrid trace run.

    Full: the paper's small scenario (Table 2: T = 600 s, C = 1, S = 1e9,
    Q = 4, C_max = Q_max = 40, qubits 4-10, priorities 1, 2, 4; it runs
    saturated, with drops), weighted policy, 2 d warm-up (the pending queue
    takes about a day to fill) and 7 d window. Quick: tenfold fewer
    iterations per job, Q = 2, T = 300 s, 1 d warm-up and 5 d window.
    """
    if quick:
        workload = WorkloadSpec(300.0, qubits=(4, 6), priorities=(1, 2), iteration_scale=0.1)
        platform, warmup, duration = Platform(1, 1e9, 2, 40, 40), 86400.0, 6 * 86400.0
    else:
        workload = WorkloadSpec(600.0, qubits=(4, 6, 8, 10), priorities=(1, 2, 4))
        platform, warmup, duration = Platform(1, 1e9, 4, 40, 40), 2 * 86400.0, 9 * 86400.0
    config = SimulationConfig(platform, policy="weighted", classical_mode="serverless",
                              duration_s=duration, warmup_s=warmup, workload=workload)
    params = "small scenario" + (", iterations x0.1" if quick else "")

    def estimates(by: dict[str, list[dict[str, float]]]) -> list[Estimate]:
        d = by["run"]
        ratio = tuple(x["little_L"] / x["little_lambda_W"] for x in d)
        mean_l = float(np.mean(seed_values(d, "little_L")))
        return [Estimate("Little's law", params, "L / (lambda W)", ratio, 1.0,
                         note=f"L = {mean_l:.4g} jobs")]

    return Check("Little's law", params, {"run": Replication(config)}, estimates)


# ---------------------------------------------------------------------------
# Suites

RHOS = (0.3, 0.6, 0.9)
FULL_JOBS = 20_000  # expected arrivals per seed in the window
QUICK_JOBS = 6_000
FULL_SEEDS = 10
QUICK_SEEDS = 8


def full_checks(jobs: int = FULL_JOBS) -> list[Check]:
    """Every check at rho = 0.3, 0.6, 0.9."""
    checks: list[Check] = []
    for c in (1, 4):
        checks += [mmc_wait_check(c, rho, jobs) for rho in RHOS]
    checks += [mm1_disciplines_check(rho, jobs) for rho in RHOS]
    for service in (Distribution.deterministic(1.0), Distribution.hyperexponential(1.0, 2.0)):
        checks += [ps_check(rho, service, jobs) for rho in RHOS]
    checks += [mmck_check(2, 2, rho, jobs) for rho in RHOS]
    checks.append(little_check(quick=False))
    return checks


def quick_checks(jobs: int = QUICK_JOBS) -> list[Check]:
    """A fast subset at moderate load: one of each kind."""
    return [
        mmc_wait_check(1, 0.6, jobs),
        mmc_wait_check(4, 0.6, jobs),
        mm1_disciplines_check(0.6, jobs),
        ps_check(0.6, Distribution.hyperexponential(1.0, 2.0), jobs),
        mmck_check(2, 2, 0.9, jobs),
        little_check(quick=True),
    ]


def estimate(checks: Sequence[Check], seeds: Sequence[int], processes: int | None = None, *,
             engine: str = "kernel", force_progress: bool = False) -> list[Estimate]:
    """Run replications ``seeds`` (see ``Check.seeds``) of ``checks`` on ``engine``;
    their estimates."""
    tasks = [(rep, s) for c in checks for rep in c.runs.values() for s in c.seeds(seeds)]
    stats = run_replications(tasks, processes, engine=engine, force_progress=force_progress)
    out: list[Estimate] = []
    for check in checks:
        by = {label: [stats[(rep, s)] for s in check.seeds(seeds)] for label, rep in check.runs.items()}
        out += check.estimates(by)
    return out


def run_checks(checks: Sequence[Check], seeds: Sequence[int], processes: int | None = None,
               bonferroni: bool = True, *, force_progress: bool = False) -> list[CheckRecord]:
    """Estimates and verdicts of ``checks`` (see the module doc for the verdict rule)."""
    return finalize(estimate(checks, seeds, processes, force_progress=force_progress), bonferroni)


def replication_list(seeds: int | Sequence[int] | None, default: int) -> list[int]:
    """The replications of a validation run: a count n = 0..n-1, a list, or ``default``
    (a count) if None; at least 2 (an interval needs them)."""
    if seeds is None:
        seeds = default
    replications = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    if len(replications) < 2:
        raise ValueError(f"validation needs at least 2 seeds for an interval, "
                         f"got {len(replications)}")
    return replications


def validate(quick: bool = False, seeds: int | Sequence[int] | None = None,
             processes: int | None = None, bonferroni: bool = True, *,
             force_progress: bool = False) -> list[CheckRecord]:
    """The full suite (a few minutes on 2 cores) or the quick subset (seconds).

    ``seeds``: the replications (a count n = replications 0..n-1, or their list).
    """
    replications = replication_list(seeds, QUICK_SEEDS if quick else FULL_SEEDS)
    checks = quick_checks() if quick else full_checks()
    return run_checks(checks, replications, processes, bonferroni,
                      force_progress=force_progress)


def format_records(records: Sequence[CheckRecord]) -> str:
    """Aligned plain-text table: check, parameters, metric, simulated, 95% CI, theory, verdict."""
    header = ("check", "parameters", "metric", "simulated", "95% CI", "theory", "n", "result")
    rows = []
    for r in records:
        theory = f"{r.theory:.4g}" + (" (>0)" if r.criterion == "positive" else "")
        result = "pass" if r.passed else "FAIL"
        rows.append((r.name, r.parameters, r.metric, f"{r.simulated:.4g}",
                     f"[{r.ci_low:.4g}, {r.ci_high:.4g}]", theory, str(r.replications),
                     result + (f"  ({r.note})" if r.note else "")))
    lines = [format_table(header, rows)]
    failed = sum(not r.passed for r in records)
    level = min((r.verdict_level for r in records), default=1 - ALPHA)
    rule = ("95% per check" if abs(level - (1 - ALPHA)) < 1e-12 else
            f"verdicts use {level:.3%} t intervals: Bonferroni, family-wise 95%")
    lines.append(f"{len(records) - failed}/{len(records)} passed ({rule})")
    return "\n".join(lines)
