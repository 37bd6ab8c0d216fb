"""Fleet planning by simulation: the cheapest QC fleet (a count per QC group) and C meeting
the targets (issue 17; docs/platform-features.md section 1).

Candidates
    Each candidate QC group ``g`` comes with a count range ``[lo_g, hi_g]`` and a cost per
    QC per hour ``cost_per_hour`` (``QCGroup``); a classical worker costs ``classical_cost``
    per hour. A candidate is a count per group and a C in ``classical_range``; its cost per
    hour is ``sum_g n_g cost_g + C classical_cost``. Candidates with no QC, or with a qubit
    count of the workload that no QC of the candidate can run (eligibility), are not
    candidates at all.

Search (as ``planning.simulated``: no monotonicity assumed)
    Candidates are taken in increasing cost (ties: fewer classical workers, then the
    counts in group order) and each is settled by the sequential test of
    ``planning.sequential.decide`` on common random numbers (every candidate runs the same
    seeds, so it sees the same arrivals and jobs). The first cost level holding a clearly
    feasible candidate ends the search: every candidate of that level is still evaluated
    (the answer is the one of that level with the largest margin on its binding target),
    every dearer one is *dominated* and not run. The answer is then run to the full seed
    budget, and the report lists the runner-up candidates with their metrics.

Pruning: the work-conservation (stability) bound
    Let ``lambda`` be the arrival rate, ``w_Q(F)`` a job's quantum work on fleet ``F`` at
    the fastest eligible group of ``F`` for its qubit count (reference seconds x the
    smallest time factor, ``instances.fleet.time_factors``), ``w_C`` its classical work
    (operations, cold-start work included), ``|F|`` the QCs and ``C S`` the classical
    capacity (ops/s). Every accepted job uses at least ``w_Q(F)`` QC-seconds and ``w_C``
    operations, and the fleet supplies at most ``|F|`` QC-seconds and ``C S`` operations
    per second; admission looks at the system state only, which is independent of the
    arriving job's size (Poisson arrivals see time averages), so accepted jobs have the
    arrivals' mean size. Hence in steady state

        lambda (1 - P_drop) E[w_Q(F)] <= |F|  and  lambda (1 - P_drop) E[w_C] <= C S,

    i.e. ``P_drop >= 1 - 1 / rho`` with ``rho = max(lambda E[w_Q(F)] / |F|,
    lambda E[w_C] / (C S))`` (exact moments over the trace rows: ``offered_load``).

    A run measures one finite window ``T``, not the steady state, so the planner prunes
    on a window bound (``window_bound_drop``) with two corrections that only lower it:
    (1) the window's offered work may fall below its mean: the load is taken
    ``SLACK_SD = 3`` standard deviations low (compound Poisson, ``cv = sqrt(E[w^2] /
    (lambda T)) / E[w]``); (2) jobs accepted in the window may still be in the system at
    its end, their work not done in it: under admission at most ``C_max + Q_max + |F|``
    jobs are in the system at once (an admitted job finds fewer than ``C_max`` and
    ``Q_max`` tasks, and each job holds one task), which is subtracted as a share of the
    window's ``lambda T`` arrivals. A candidate whose window bound exceeds the drop
    target is *pruned* (not run). Without admission control nothing is dropped and a
    load at least 1 after correction (1) has no steady state (job times grow with the
    horizon): pruned too. The steady-state bound is exact; the window corrections make
    pruning a feasible candidate need a work shortfall of more than three standard
    deviations (with the paper's workload over 6.5 days, cv is about 4%).

    No other pruning is used:
    the drop probability is not monotone in C (paper Figs. 12-14), so a sub-fleet of an
    infeasible fleet is not assumed infeasible.

Execution
    Each (candidate, seed) is one unit of a campaign run by
    ``experiments.campaign_run.run_campaign`` on the one executor (local processes or
    Ray) into ``out``: a rerun with the same arguments resumes from the finished units.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from hqsched import provenance
from hqsched.errors import InputError
from hqsched.experiments import campaign as cmp
from hqsched.experiments.executor import ExecutorOptions
from hqsched.experiments.scenario import group_fields, group_spec, make_group
from hqsched.files import atomic_write_text
from hqsched.inputs import MAX_PLAN_CANDIDATES
from hqsched.instances.fleet import time_factors
from hqsched.instances.model import MAX_COST, Platform, QCGroup
from hqsched.instances.traces import is_trace_set_name, load_traces
from hqsched.instances.workload import JobSampler, WorkloadSpec
from hqsched.online.config import SimulationConfig
from hqsched.planning import sequential as ps
from hqsched.planning.simulated import (
    DOMINATED,
    LABELS,
    METRICS,
    Candidate,
    Targets,
    _Runner,
    finite_or_none,
    fmt_interval,
    fmt_value,
    metrics_json,
)
from hqsched.progress import bar as progress_bar
from hqsched.tables import format_table

PRUNED = "pruned (stability bound)"
#: The runner-up candidates shown beside the answer.
RUNNERS_UP = 5


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class GroupChoice:
    """A candidate QC group: its QCs (``group``; its ``count`` is ignored) and the counts
    to consider, ``low`` to ``high`` inclusive (0 allowed: the group may be left out)."""

    group: QCGroup
    low: int
    high: int

    def __post_init__(self) -> None:
        if not 0 <= self.low <= self.high:
            raise InputError(f"QC group {self.group.name!r}: counts must be LO-HI with "
                             f"0 <= LO <= HI, got {self.low}-{self.high}")


@dataclass
class FleetCandidate(Candidate):
    """A fleet (count per group, in the order of the choices) and C; ``quantum`` = its QCs."""

    counts: tuple[int, ...] = ()
    groups: tuple[QCGroup, ...] = ()  # the groups of nonzero count, with their counts
    load: Load = field(default_factory=lambda: Load(math.nan, math.nan))  # its stability bound

    def key(self) -> str:
        return cmp.point_key(fleet_values(self.classical, self.groups))

    def label(self) -> str:
        """``C=2 torino=1 nazca=3``: C and the count of each group the fleet uses."""
        return " ".join([f"C={self.classical}"]
                        + [f"{g.name}={g.count}" for g in self.groups])


@dataclass
class FleetPlan:
    """What ``plan_fleet`` found: every candidate in cost order, the answer, the runners-up."""

    targets: dict[str, float]
    choices: tuple[GroupChoice, ...]
    classical_cost: float
    budget: int
    batch: int
    alpha: float
    candidates: list[FleetCandidate]
    recommended: FleetCandidate | None
    significant: bool

    def runners_up(self, n: int = RUNNERS_UP) -> list[FleetCandidate]:
        """The evaluated candidates closest to the answer: the others of its cost level, then
        the dearest of the cheaper ones (the near misses), at most ``n``."""
        ev = [k for k in self.candidates if k.evaluated and k is not self.recommended]
        if self.recommended is None:
            return sorted(ev, key=lambda k: k.violation(self.targets))[:n]
        same = [k for k in ev if k.cost == self.recommended.cost]
        cheaper = sorted((k for k in ev if k.cost < self.recommended.cost),
                         key=lambda k: -k.cost)
        return (same + cheaper)[:n]

    def to_json(self) -> dict[str, Any]:
        def cand(k: FleetCandidate) -> dict[str, Any]:
            return {"C": k.classical, "counts": dict(zip(self.group_names(), k.counts)),
                    "cost_per_hour": k.cost, "rho": finite_or_none(k.load.rho),
                    "rho_cv": finite_or_none(k.load.cv),
                    "verdict": k.verdict,
                    "seeds_run": len(k.seeds), "seeds_used": k.seeds_used,
                    "metrics": metrics_json(k)}
        rec = self.recommended
        return {"targets": self.targets, "classical_cost": self.classical_cost,
                "groups": [{"spec": group_spec(dataclasses.replace(c.group, count=c.high)),
                            "low": c.low, "high": c.high} for c in self.choices],
                "seed_budget": self.budget, "batch": self.batch, "alpha": self.alpha,
                "recommended": None if rec is None else cand(rec),
                "significant": self.significant,
                "candidates": [cand(k) for k in self.candidates]}

    def group_names(self) -> list[str]:
        return [c.group.name for c in self.choices]


def parse_group_choices(value: Any, where: str) -> tuple[GroupChoice, ...]:
    """Candidate groups ``NAME:LO-HI[:qubits=Q][:backend=B|:speed=X][:cost=C]`` (COUNT may
    be one number: exactly that many), repeated or as a comma list (a TOML list too)."""
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if not isinstance(item, str):
            raise InputError(f"{where}: must be NAME:LO-HI[:...] texts, got {item!r}")
        for text in item.split(","):
            fields = group_fields(text, where, count_range=True)
            count = fields.pop("count")
            low, high = count if isinstance(count, tuple) else (count, count)
            group = make_group({**fields, "count": high}, where)
            out.append(GroupChoice(group, low, high))
    return tuple(out)


def parse_hourly_cost(value: Any, where: str) -> float:
    """A cost per hour: a finite number from 0 to ``MAX_COST`` (any currency)."""
    try:
        x = math.nan if isinstance(value, bool) else float(value)
    except (TypeError, ValueError, OverflowError):
        x = math.nan
    if not 0 <= x <= MAX_COST:
        raise InputError(f"{where}: must be a cost per hour from 0 to {MAX_COST:g}, "
                         f"got {value!r}")
    return x




# --------------------------------------------------------------------------
# Candidates and their load bound
# --------------------------------------------------------------------------

def fleet_values(classical: int, groups: Sequence[QCGroup]) -> dict[str, Any]:
    """Campaign point label of a candidate (option names of ``hqsched simulate``)."""
    return {"classical-workers": classical, "qc-group": [group_spec(g) for g in groups]}


def fleet_config(base: SimulationConfig, classical: int,
                 groups: tuple[QCGroup, ...]) -> SimulationConfig:
    """``base`` with C classical workers and the fleet ``groups`` (everything else kept)."""
    platform = dataclasses.replace(base.platform, classical_workers=classical,
                                   quantum_computers=sum(g.count for g in groups),
                                   qc_groups=groups)
    return dataclasses.replace(base, platform=platform)


@dataclass(frozen=True)
class JobWork:
    """Exact per-job work moments of a stochastic workload.

    ``share[i]``: probability that a job has ``qubits[i]`` qubits; ``quantum_s[i]`` and
    ``quantum_s2[i]``: first and second moments of its quantum work on the reference QC
    (s, s^2); ``classical_ops`` / ``classical_ops2``: moments of a job's classical work over
    all qubit counts (operations); ``tasks``: mean classical tasks per job (``2 n + 2``).
    """

    qubits: tuple[int, ...]
    share: np.ndarray
    quantum_s: np.ndarray
    quantum_s2: np.ndarray
    classical_ops: float
    classical_ops2: float
    tasks: float


def job_work(spec: WorkloadSpec, traces: Any) -> JobWork:
    """Work moments per job, exactly: the five trace rows of a job are drawn independently
    and uniformly (``JobSampler``), so moments of products multiply."""
    sampler = JobSampler(traces, spec)
    rows: list[tuple[float, ...]] = []
    for q in spec.qubits:
        p = sampler.profiles[q]
        n = np.asarray(p.iterations, dtype=float)
        if spec.iteration_scale != 1.0:
            n = np.maximum(1.0, np.round(n * spec.iteration_scale))
        pre, it, post = (np.asarray(a, dtype=float) for a in (p.pre_ops, p.iteration_ops,
                                                               p.post_ops))
        x = np.asarray(p.quantum_s, dtype=float)
        m = {name: (float(a.mean()), float((a * a).mean()))
             for name, a in (("n", n), ("x", x), ("pre", pre), ("it", it), ("post", post))}
        # classical = pre + n it + post, the three terms independent
        c1 = m["pre"][0] + m["n"][0] * m["it"][0] + m["post"][0]
        c2 = (m["pre"][1] + m["n"][1] * m["it"][1] + m["post"][1]
              + 2 * (m["pre"][0] * m["n"][0] * m["it"][0] + m["pre"][0] * m["post"][0]
                     + m["n"][0] * m["it"][0] * m["post"][0]))
        rows.append((m["n"][0] * m["x"][0], m["n"][1] * m["x"][1], c1, c2,
                     2.0 * m["n"][0] + 2.0))
    a = np.asarray(rows)
    share = np.full(len(spec.qubits), 1.0 / len(spec.qubits))
    return JobWork(tuple(spec.qubits), share, a[:, 0], a[:, 1], float(share @ a[:, 2]),
                   float(share @ a[:, 3]), float(share @ a[:, 4]))


class Load(NamedTuple):
    """The work-conservation bound of a candidate: offered load ``rho`` of its binding
    resource (QCs or classical capacity) and ``cv``, the coefficient of variation of one
    measurement window's offered work on it (compound Poisson: ``sqrt(E[w^2] / (lambda
    T)) / E[w]``)."""

    rho: float
    cv: float


def offered_load(work: JobWork, interarrival_s: float, window_s: float,
                 groups: Sequence[QCGroup], factors: np.ndarray, classical: int,
                 capacity_ops_per_s: float, cold_start_ops: float = 0.0) -> Load:
    """The larger of the quantum load at the fastest eligible group and the classical load
    (module docstring); rho = inf if a qubit count has no eligible QC.
    ``factors[g, i]``: time factor of group ``g`` at ``work.qubits[i]``."""
    rate = 1.0 / interarrival_s
    qcs = sum(g.count for g in groups)
    fastest = np.full(len(work.qubits), math.inf)
    for g, group in enumerate(groups):
        if group.count > 0:
            fits = np.asarray([group.fits(q) for q in work.qubits])
            fastest = np.where(fits, np.minimum(fastest, factors[g]), fastest)
    if not np.all(np.isfinite(fastest)) or qcs == 0:
        return Load(math.inf, 0.0)
    jobs = rate * window_s
    w1 = float(work.share @ (work.quantum_s * fastest))
    w2 = float(work.share @ (work.quantum_s2 * fastest ** 2))
    quantum = Load(rate * w1 / qcs, math.sqrt(w2 / jobs) / w1)
    extra = cold_start_ops * work.tasks  # a bound: cold-start work only adds
    ops1 = work.classical_ops + extra
    ops2 = work.classical_ops2 + 2 * extra * work.classical_ops + extra ** 2
    classical_load = Load(rate * ops1 / (classical * capacity_ops_per_s),
                          math.sqrt(ops2 / jobs) / ops1)
    return max(quantum, classical_load)


#: Standard deviations of a window's offered work the pruning allows below its mean.
SLACK_SD = 3.0


def load_bound_drop(rho: float) -> float:
    """The smallest steady-state drop probability at load ``rho``: ``max(0, 1 - 1/rho)``."""
    return 0.0 if rho <= 1.0 else 1.0 - 1.0 / rho


def window_bound_drop(load: Load, backlog_jobs: float, window_jobs: float) -> float:
    """A conservative lower bound on one window's drop fraction: the steady-state bound at
    the load ``SLACK_SD`` standard deviations below its mean, less the jobs that may be
    accepted in the window but still be in the system at its end (``backlog_jobs`` = the
    most jobs admission lets in at once) as a share of the window's arrivals."""
    low = load.rho * max(0.0, 1.0 - SLACK_SD * load.cv)
    return load_bound_drop(low) - backlog_jobs / window_jobs


def enumerate_candidates(choices: Sequence[GroupChoice], classical_range: tuple[int, int],
                         classical_cost: float,
                         qubit_counts: Sequence[int]) -> list[FleetCandidate]:
    """Every fleet of the count ranges with at least one QC able to run each qubit count,
    times every C, in increasing cost (ties: fewer workers, then the counts)."""
    ranges = [range(c.low, c.high + 1) for c in choices]
    n = math.prod(len(r) for r in ranges) * (classical_range[1] - classical_range[0] + 1)
    if n > MAX_PLAN_CANDIDATES:
        raise InputError(f"plan fleet: {n} candidates (count ranges x --classical-range), "
                         f"more than the limit of {MAX_PLAN_CANDIDATES}; narrow the ranges")
    out = []
    for counts in itertools.product(*ranges):
        groups = tuple(dataclasses.replace(c.group, count=k)
                       for c, k in zip(choices, counts) if k > 0)
        if not groups or not all(any(g.fits(q) for g in groups) for q in qubit_counts):
            continue
        fleet_cost = sum(k * c.group.cost_per_hour for c, k in zip(choices, counts))
        for c in range(classical_range[0], classical_range[1] + 1):
            out.append(FleetCandidate(c, sum(counts), fleet_cost + c * classical_cost,
                                      counts=tuple(counts), groups=groups))
    return sorted(out, key=lambda k: (k.cost, k.classical, k.counts))


# --------------------------------------------------------------------------
# The search
# --------------------------------------------------------------------------

@dataclass
class FleetSearch:
    """The planner's inputs besides the scenario and the targets."""

    choices: tuple[GroupChoice, ...]
    classical_range: tuple[int, int] = (1, 6)
    classical_cost: float = 1.0
    seeds: tuple[int, ...] = tuple(range(20))
    batch: int = 5
    alpha: float = 0.05
    prune: bool = True
    executor: ExecutorOptions = field(default_factory=lambda: ExecutorOptions("local", None,
                                                                              None, False))


def check_search(search: FleetSearch, targets: dict[str, float]) -> None:
    """One-line errors for inputs the search cannot use."""
    if not targets:
        raise InputError("plan fleet: give at least one target (--max-drop, "
                         "--max-p95-job-time, --max-mean-job-time)")
    if not search.choices:
        raise InputError("plan fleet: give at least one candidate --qc-group "
                         "NAME:LO-HI[:...]:cost=C")
    names = [c.group.name for c in search.choices]
    if len(set(names)) != len(names):
        raise InputError(f"--qc-group: group names must be distinct, got {', '.join(names)}")
    if len(search.seeds) < 2:
        raise InputError(f"--seeds: the planner needs at least 2 seeds, got "
                         f"{len(search.seeds)}")
    if search.batch < 2:
        raise InputError(f"--batch: must be >= 2 (a t bound needs two seeds), got "
                         f"{search.batch}")
    if not 0 < search.alpha < 1:
        raise InputError(f"--alpha: must be in (0, 1), got {search.alpha}")
    if not 0 <= search.classical_cost <= MAX_COST:
        raise InputError(f"--classical-cost: must be a number from 0 to {MAX_COST:g}, "
                         f"got {search.classical_cost!r}")


def plan_fleet(base: SimulationConfig, targets: Targets, search: FleetSearch, *,
               out: str | Path | None = None, overwrite: bool = False,
               progress: bool = True, force_progress: bool = False,
               allow_mixed: bool = False) -> FleetPlan:
    """The cheapest fleet and C meeting ``targets`` (module docstring). ``base``: a scenario
    with a stochastic workload (its C and quantum platform are replaced per candidate)."""
    tau = targets.as_dict()
    check_search(search, tau)
    cands = candidates_for(base, search)
    _bound_loads(base, search.choices, cands)
    campaign = cmp.campaign_from_scenarios(
        "plan-fleet", [(fleet_values(k.classical, k.groups),
                        fleet_config(base, k.classical, k.groups)) for k in cands],
        search.seeds, description="hqsched plan fleet: one point per (C, fleet)")
    tmp = tempfile.TemporaryDirectory(prefix="hqsched-fleet-") if out is None else None
    root = Path(tmp.name) if tmp is not None else Path(str(out))
    bar = progress_bar(len(cands) * len(search.seeds), "plan fleet", "run",
                       progress=progress, force=force_progress)
    try:
        runner = _Runner(campaign, root, search.executor, overwrite, bar, allow_mixed)
        _search(cands, tau, search, runner, bar, base)
        rec, significant = _answer(cands, tau)
        if rec is not None and len(rec.seeds) < len(search.seeds):
            runner.run([(rec, search.seeds)])
            _settle(rec, tau, search)
            rec, significant = _answer(cands, tau)
    finally:
        bar.close()
        if tmp is not None:
            tmp.cleanup()
    plan = FleetPlan(tau, tuple(search.choices), search.classical_cost, len(search.seeds),
                     search.batch, search.alpha, cands, rec, significant)
    if out is not None:
        write_outputs(plan, Path(out))
    return plan


def candidates_for(base: SimulationConfig, search: FleetSearch) -> list[FleetCandidate]:
    """The candidates of ``search`` for ``base``'s stochastic workload (one-line errors)."""
    if not isinstance(base.workload, WorkloadSpec):
        raise InputError("plan fleet: needs the stochastic workload of the scenario options "
                         "(not --instance): the stability bound uses its mean work")
    cands = enumerate_candidates(search.choices, search.classical_range,
                                 search.classical_cost, base.workload.qubits)
    if not cands:
        raise InputError("--qc-group: no candidate fleet can run every qubit count of the "
                         f"workload ({', '.join(map(str, base.workload.qubits))})")
    return cands


def _bound_loads(base: SimulationConfig, choices: Sequence[GroupChoice],
                 cands: list[FleetCandidate]) -> None:
    """Set every candidate's ``load`` (work-conservation bound) from the exact work moments."""
    from hqsched.online.engine import cached_traces  # the bundled traces, read once
    assert isinstance(base.workload, WorkloadSpec)
    d = base.traces_dir
    traces = (cached_traces if d is None or is_trace_set_name(d) else load_traces)(d)
    work = job_work(base.workload, traces)
    all_groups = [c.group for c in choices]
    factors = time_factors(all_groups, work.qubits, traces.ibm_estimate_s)
    index = {g.name: i for i, g in enumerate(all_groups)}
    cold_ops = base.lifecycle.cold_start_ops if base.lifecycle is not None else 0.0
    window = base.duration_s - base.warmup_s
    for k in cands:
        rows = factors[[index[g.name] for g in k.groups]]
        k.load = offered_load(work, base.workload.interarrival_s, window, k.groups, rows,
                              k.classical, base.platform.worker_capacity_ops_per_s, cold_ops)


def _backlog(base: SimulationConfig, k: FleetCandidate) -> float | None:
    """The most jobs in the system at once under admission control (None: off): an admitted
    job finds fewer than C_max active classical and Q_max pending quantum tasks, and every
    job holds one task, so at most C_max + Q_max + |F| jobs (those in service included)."""
    p: Platform = base.platform
    if p.max_classical is None and p.max_quantum is None:
        return None
    if p.max_classical is None or p.max_quantum is None:
        return math.inf  # one side unbounded: no finite backlog bound
    return p.max_classical + p.max_quantum + k.quantum


def pruned(k: FleetCandidate, tau: dict[str, float], backlog: float | None,
           window_jobs: float) -> bool:
    """Whether the work-conservation bound shows ``k`` misses a target (module docstring)."""
    if backlog is not None:
        return "drop" in tau and window_bound_drop(k.load, backlog, window_jobs) > tau["drop"]
    # No admission control: no steady state when the load exceeds 1; job times grow
    # without bound with the horizon.
    return k.load.rho * max(0.0, 1.0 - SLACK_SD * k.load.cv) >= 1.0


def _settle(k: FleetCandidate, tau: dict[str, float], search: FleetSearch) -> None:
    d = ps.decide({m: k.values[m] for m in tau}, tau, search.batch, len(search.seeds),
                  search.alpha)
    k.verdict, k.seeds_used, k.early = d.verdict, d.seeds_used, d.early


def _search(cands: list[FleetCandidate], tau: dict[str, float], search: FleetSearch,
            runner: _Runner, bar: Any, base: SimulationConfig) -> None:
    """Settle candidates in cost order until the first cost level with a clearly feasible
    one is done; prune by the stability bound; mark the dearer ones dominated."""
    budget = len(search.seeds)
    assert isinstance(base.workload, WorkloadSpec)
    window_jobs = (base.duration_s - base.warmup_s) / base.workload.interarrival_s
    level: float | None = None  # cost of the first clearly feasible candidate
    for k in cands:
        if level is not None and k.cost > level:
            k.verdict = DOMINATED
            bar.update(budget)
            continue
        if search.prune and pruned(k, tau, _backlog(base, k), window_jobs):
            k.verdict = PRUNED
            bar.update(budget)
            continue
        for start in range(0, budget, search.batch):
            runner.run([(k, search.seeds[start:start + search.batch])])
            _settle(k, tau, search)
            if k.verdict in (ps.FEASIBLE, ps.INFEASIBLE) and k.early:
                break
        bar.update(budget - len(k.seeds))
        if k.verdict == ps.FEASIBLE and level is None:
            level = k.cost


def _margin(k: FleetCandidate, tau: dict[str, float]) -> float:
    """The largest mean / target ratio over the targets (smaller: more room)."""
    worst = 0.0
    for m, t in tau.items():
        mean = ps.one_sided_bounds(k.values[m], 0.5)[0]
        worst = max(worst, mean / t if t > 0 else (math.inf if mean > 0 else 0.0))
    return worst


def _answer(cands: list[FleetCandidate],
            tau: dict[str, float]) -> tuple[FleetCandidate | None, bool]:
    """(answer, significant): the clearly feasible candidate of the cheapest level holding
    one, the largest margin first; else the cheapest feasible by point estimate only.
    Significant: clearly feasible and every cheaper candidate clearly infeasible or pruned."""
    clear = [k for k in cands if k.verdict == ps.FEASIBLE]
    if clear:
        level = min(k.cost for k in clear)
        rec = min((k for k in clear if k.cost == level), key=lambda k: _margin(k, tau))
    else:
        loose = [k for k in cands if k.verdict == ps.FEASIBLE_NS]
        if not loose:
            return None, False
        rec = loose[0]
    cheaper = [k for k in cands if k.cost < rec.cost]
    significant = rec.verdict == ps.FEASIBLE and all(
        k.verdict in (ps.INFEASIBLE, PRUNED) for k in cheaper)
    return rec, significant


# --------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------

def format_report(plan: FleetPlan) -> str:
    """The text printed by ``hqsched plan fleet``: the answer, the runners-up, every
    candidate (cost order) with its load bound, verdict and metrics (mean [95% CI])."""
    tau = plan.targets
    targets = ", ".join(f"{LABELS[m].split(' (')[0]} <= {fmt_value(m, v)}"
                        for m, v in tau.items())
    groups = ", ".join(f"{c.group.name} {c.low}-{c.high} at {c.group.cost_per_hour:g}/h"
                       for c in plan.choices)
    lines = [f"targets: {targets}; groups {groups}; classical worker "
             f"{plan.classical_cost:g}/h; seed budget {plan.budget} (batches of {plan.batch}), "
             f"alpha {plan.alpha:g}"]
    rec = plan.recommended
    n_pruned = sum(k.verdict == PRUNED for k in plan.candidates)
    if rec is None:
        lines.append("no candidate meets the targets; widen the count ranges or "
                     "--classical-range, or relax the targets")
    else:
        if plan.significant:
            how = "clearly feasible; every cheaper candidate is clearly infeasible or pruned"
        elif rec.verdict == ps.FEASIBLE:
            how = ("clearly feasible, but some cheaper candidate is uncertain (see the "
                   "table): more seeds would settle it")
        else:
            how = ("UNCERTAIN: meets the targets by point estimate only (not significant at "
                   "the seed budget); more seeds would settle it")
        lines.append(f"recommended: {rec.label()}, cost {rec.cost:g} per hour -- {how}")
    lines.append(f"{len(plan.candidates)} candidate(s): "
                 f"{sum(k.evaluated for k in plan.candidates)} run, {n_pruned} pruned by the "
                 f"stability bound (the window's drop bound from load rho over the target, or "
                 f"rho >= 1 without admission control), "
                 f"{sum(k.verdict == DOMINATED for k in plan.candidates)} dearer than the "
                 f"answer's cost level (not run)")
    shown = ([rec] if rec is not None else []) + plan.runners_up()
    if shown:
        lines += ["", "the answer and its runners-up (mean [95% CI] over seeds):",
                  _table(shown, tau)]
    lines += ["", "every candidate, in cost order:", _table(plan.candidates, tau)]
    return "\n".join(lines)


def _table(cands: Sequence[FleetCandidate], tau: dict[str, float]) -> str:
    order = list(tau) + [m for m in METRICS if m not in tau]
    head = ["fleet", "cost/h", "rho", "verdict", "seeds"] + \
        [LABELS[m].split(" (")[0] for m in order]
    rows = []
    for k in cands:
        rows.append([k.label(), f"{k.cost:g}", f"{k.load.rho:.3g}", k.verdict,
                     str(len(k.seeds)) if k.evaluated else "-"]
                    + [fmt_interval(m, k) if k.evaluated else "-" for m in order])
    return format_table(head, rows)


def write_outputs(plan: FleetPlan, out: Path) -> None:
    """``fleet.json`` (everything, with the provenance of the run) and ``fleet.txt``."""
    out.mkdir(parents=True, exist_ok=True)
    runs = provenance.read_runs(out)
    doc = {**plan.to_json(), "provenance": runs[-1] if runs else None}
    atomic_write_text(out / "fleet.json", json.dumps(doc, indent=1) + "\n")
    atomic_write_text(out / "fleet.txt", format_report(plan) + "\n")
