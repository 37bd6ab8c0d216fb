"""Capacity planning by simulation: the cheapest (C, Q) on a grid that meets the targets.

Candidates are the pairs ``C in classical_range`` x ``Q in quantum_range``
(inclusive), with cost ``a*C + b*Q`` (``--cost "C=a,Q=b"``). Targets are any
subset of: drop probability <= P, p95 job time <= T, mean job time <= T
(per-seed replication values; statistics in ``hqsched.planning.sequential``).

Search (no monotonicity assumed)
    The paper (Section IV-B, Figs. 12-14) shows that the drop probability is
    NOT monotone in C (processor sharing makes more jobs linger in the
    classical pool, which trips the admission threshold), so no bisection:
    candidates are evaluated in increasing cost order (ties: smaller C, then
    smaller Q) with the sequential test of ``plan_stats.decide``. The
    first candidate shown *clearly feasible* is the cheapest: every cheaper
    one was evaluated, and if all of those were *clearly infeasible* the
    answer is significant; cheaper candidates with an uncertain verdict are
    listed. Candidates costing more than the best clearly feasible one are
    *dominated* and not evaluated. The recommended point and its neighbours
    (C+-1, Q+-1 within range) are then run to the full seed budget for the
    printed table. ``full_grid`` evaluates every candidate at the full budget
    (heat maps, monotonicity analysis); verdicts use the same sequential rule.

Common random numbers
    Every candidate runs the same seeds; the engine draws arrivals and jobs
    from a stream derived from the seed alone (policy choices from another),
    so two candidates with one seed see identical work. Differences between
    neighbours are therefore compared per seed (paired t-test) to detect
    regions where adding a resource makes a target metric significantly WORSE.

Execution
    Each (C, Q, seed) is one unit of a campaign (``hqsched.experiments.campaign``),
    run with ``hqsched.experiments.campaign_run.run_campaign`` on the one executor
    (``hqsched.experiments.executor``: local processes or Ray, records written by
    the workers) into ``out``; a rerun with the same arguments loads finished
    units. Without ``out`` a temporary directory is used.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hqsched import provenance
from hqsched.errors import InputError
from hqsched.experiments import campaign as cmp
from hqsched.experiments.campaign_run import run_campaign
from hqsched.experiments.executor import ExecutorOptions
from hqsched.experiments.statistics import t_interval
from hqsched.files import atomic_write_text
from hqsched.inputs import MAX_COST_WEIGHT, MAX_PLAN_CANDIDATES
from hqsched.online.config import SimulationConfig
from hqsched.planning import sequential as ps
from hqsched.progress import bar as progress_bar
from hqsched.tables import format_table

#: Target metric short name -> replication summary field.
METRICS: dict[str, str] = {"drop": "drop_probability", "p95": "job_time_p95_s",
                           "mean": "job_time_mean_s"}
LABELS: dict[str, str] = {"drop": "drop probability", "p95": "p95 job time (s)",
                          "mean": "mean job time (s)"}
DOMINATED = "dominated (not evaluated)"
NOT_EVALUATED = "not evaluated"


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Targets:
    """Upper limits; None = no target on that metric. Times in seconds."""

    max_drop: float | None = None
    max_p95_job_time_s: float | None = None
    max_mean_job_time_s: float | None = None

    def as_dict(self) -> dict[str, float]:
        """Metric short name -> target, only the targets given (at least one)."""
        out = {"drop": self.max_drop, "p95": self.max_p95_job_time_s,
               "mean": self.max_mean_job_time_s}
        return {k: float(v) for k, v in out.items() if v is not None}


@dataclass(frozen=True)
class Cost:
    """Cost of a candidate: ``classical * C + quantum * Q`` (any units)."""

    classical: float = 1.0
    quantum: float = 1.0

    def of(self, c: int, q: int) -> float:
        return self.classical * c + self.quantum * q


def parse_cost(text: str, where: str = "--cost") -> Cost:
    """``"C=1,Q=20"`` (either term may be omitted, weight 1 then); weights >= 0, not both 0."""
    weights = {"C": 1.0, "Q": 1.0}
    seen = set()
    for part in str(text).replace(" ", "").split(","):
        m = re.fullmatch(r"([CQcq])=([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)", part)
        if not m or m.group(1).upper() in seen:
            raise InputError(f"{where}: must look like C=1,Q=20 (non-negative weights), "
                             f"got {text!r}")
        seen.add(m.group(1).upper())
        weights[m.group(1).upper()] = float(m.group(2))
        if not weights[m.group(1).upper()] <= MAX_COST_WEIGHT:  # 1e400 parses as inf
            raise InputError(f"{where}: weights must be at most {MAX_COST_WEIGHT:g}, "
                             f"got {text!r}")
    if weights["C"] == 0 and weights["Q"] == 0:
        raise InputError(f"{where}: the weights must not both be 0, got {text!r}")
    return Cost(weights["C"], weights["Q"])


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------

@dataclass
class Candidate:
    """One (C, Q) and what is known about it."""

    classical: int
    quantum: int
    cost: float
    verdict: str = NOT_EVALUATED
    seeds_used: int = 0        # seeds at which the sequential test decided
    early: bool = False        # decided before the seed budget
    neighbour: bool = False    # run to the full budget as a neighbour of the answer
    seeds: list[int] = field(default_factory=list)          # seeds run, in order
    values: dict[str, list[float]] = field(default_factory=dict)  # metric -> per-seed values

    @property
    def point(self) -> tuple[int, int]:
        return (self.classical, self.quantum)

    @property
    def evaluated(self) -> bool:
        return bool(self.seeds)

    def key(self) -> str:
        """Its campaign point key (a fleet candidate of ``planning.fleet`` has its own)."""
        return cmp.point_key(point_values(*self.point))

    def interval(self, metric: str) -> tuple[float, float, float, int]:
        """Mean and two-sided 95% t interval over the seeds run (``online.stats.t_interval``)."""
        return t_interval(self.values.get(metric, []))

    def violation(self, targets: dict[str, float]) -> float:
        """Normalised violation ``max_m max(0, mean_m / tau_m - 1)``; 0 = meets every target."""
        worst = 0.0
        for m, tau in targets.items():
            mean = ps.one_sided_bounds(self.values[m], 0.5)[0]
            worst = max(worst, (mean - tau) / tau if tau > 0 else (math.inf if mean > 0 else 0.0))
        return worst

    def binding(self, targets: dict[str, float]) -> str:
        """The target metric closest to (or furthest over) its target: largest mean / target."""
        def ratio(m: str) -> float:
            mean = ps.one_sided_bounds(self.values.get(m, []), 0.5)[0]
            return mean / targets[m] if targets[m] > 0 else mean
        return max(targets, key=ratio)


@dataclass
class PlanResult:
    """Everything a plan found: candidates (cost order), the answer and the worsening pairs."""

    targets: dict[str, float]
    cost: Cost
    budget: int
    batch: int
    alpha: float
    candidates: list[Candidate]
    recommended: Candidate | None       # cheapest clearly feasible, else cheapest feasible (ns)
    significant: bool                   # recommended is clearly feasible and all cheaper clearly infeasible
    uncertain_cheaper: list[Candidate]  # cheaper candidates with a not-significant verdict
    worse: list[ps.PairedWorse]         # paired tests, Bonferroni-flagged
    out: Path | None = None

    def by_point(self) -> dict[tuple[int, int], Candidate]:
        return {c.point: c for c in self.candidates}

    def closest(self) -> Candidate | None:
        """The evaluated candidate with the smallest normalised violation (ties: cheaper)."""
        ev = [c for c in self.candidates if c.evaluated]
        return min(ev, key=lambda c: (c.violation(self.targets), c.cost)) if ev else None

    @property
    def feasible_found(self) -> bool:
        return self.recommended is not None

    def neighbours(self) -> list[Candidate]:
        if self.recommended is None:
            return []
        c, q = self.recommended.point
        pts = [(c - 1, q), (c + 1, q), (c, q - 1), (c, q + 1)]
        index = self.by_point()
        return [index[p] for p in pts if p in index]

    def to_json(self) -> dict[str, Any]:
        def cand(c: Candidate) -> dict[str, Any]:
            return {"C": c.classical, "Q": c.quantum, "cost": c.cost, "verdict": c.verdict,
                    "seeds_run": len(c.seeds), "seeds_used": c.seeds_used, "early": c.early,
                    "neighbour": c.neighbour, "metrics": metrics_json(c)}
        rec = self.recommended
        return {"targets": self.targets, "cost": dataclasses.asdict(self.cost),
                "seed_budget": self.budget, "batch": self.batch, "alpha": self.alpha,
                "recommended": None if rec is None else {"C": rec.classical, "Q": rec.quantum,
                                                         "verdict": rec.verdict},
                "significant": self.significant,
                "candidates": [cand(c) for c in self.candidates],
                "worse_with_more": [{**dataclasses.asdict(w)} for w in self.worse]}


def finite_or_none(x: float) -> float | None:
    return None if not math.isfinite(x) else x


def metrics_json(c: Candidate) -> dict[str, dict[str, Any]]:
    """A candidate's measured metrics as JSON: mean and interval (None where not finite)."""
    metrics = {}
    for m in METRICS:
        if m in c.values:
            mean, lo, hi, n = c.interval(m)
            metrics[m] = {"mean": finite_or_none(mean), "ci_low": finite_or_none(lo),
                          "ci_high": finite_or_none(hi), "n": n}
    return metrics


# --------------------------------------------------------------------------
# The search
# --------------------------------------------------------------------------

def candidate_config(base: SimulationConfig, c: int, q: int) -> SimulationConfig:
    """``base`` with C classical workers and Q quantum computers (everything else unchanged)."""
    return dataclasses.replace(base, platform=dataclasses.replace(
        base.platform, classical_workers=c, quantum_computers=q))


def point_values(c: int, q: int) -> dict[str, int]:
    """Campaign point label of a candidate (option names of ``hqsched simulate``)."""
    return {"classical-workers": c, "quantum-computers": q}


class _Runner:
    """Runs (candidate, seeds) units through the campaign runner and reads their summaries."""

    def __init__(self, campaign: cmp.Campaign, root: Path, options: ExecutorOptions,
                 overwrite: bool, bar: Any, allow_mixed: bool = False) -> None:
        self.campaign, self.root, self.options = campaign, root, options
        self.overwrite = overwrite
        self.allow_mixed = allow_mixed  # resume a --out made by other code or traces
        self.bar = bar  # the search's one progress bar, in replications

    def run(self, todo: list[tuple[Candidate, Sequence[int]]]) -> None:
        """Make sure every (candidate, seed) has run, then record its per-seed values."""
        units = []
        for cand, seeds in todo:
            key = cand.key()
            units += [(cmp.unit_id(key, s), key, s) for s in seeds]
        o = self.options
        report = run_campaign(self.campaign, self.root, executor=o.executor,
                              processes=o.processes, address=o.address, progress=o.progress,
                              force_progress=o.force_progress, units=units,
                              overwrite=self.overwrite, allow_mixed=self.allow_mixed)
        self.bar.update(sum(s not in cand.seeds for cand, seeds in todo for s in seeds))
        self.overwrite = False  # discard a foreign directory once, not our own results
        if report.failed:
            raise RuntimeError(f"{len(report.failed)} simulation(s) failed, first "
                               f"{report.failed[0]}; tracebacks in {self.root}/{cmp.FAILED_DIR}/")
        for cand, seeds in todo:
            key = cand.key()
            for s in seeds:
                if s in cand.seeds:
                    continue
                summary = cmp.unit_summary(self.root, cmp.unit_id(key, s))
                assert summary is not None, "run_campaign ran every unit or reported a failure"
                cand.seeds.append(s)
                for m, name in METRICS.items():
                    cand.values.setdefault(m, []).append(float(summary[name]))


def plan_simulate(base: SimulationConfig, targets: Targets, *,
                  classical_range: tuple[int, int] = (1, 6),
                  quantum_range: tuple[int, int] = (1, 8),
                  cost: Cost = Cost(), seeds: Sequence[int] = tuple(range(20)),
                  batch: int = 5, alpha: float = 0.05, full_grid: bool = False,
                  out: str | Path | None = None, executor: str = "local",
                  processes: int | None = None, address: str | None = None,
                  overwrite: bool = False, progress: bool = True,
                  force_progress: bool = False, allow_mixed: bool = False) -> PlanResult:
    """Search the (C, Q) grid for the cheapest candidate meeting ``targets`` (module docstring).

    ``base``: the scenario (its C and Q are replaced per candidate).
    ``seeds``: the seed budget per candidate, used in this order.
    ``batch``: seeds per look of the sequential test (>= 2).
    ``alpha``: error level of the sequential test per candidate and of the
    family of paired monotonicity tests.
    ``progress``: one bar of replications with ETA when stderr is a terminal or
    in a notebook (always with ``force_progress``; ``hqsched.progress``).
    ``allow_mixed``: resume ``out`` even if made by other code or traces.
    """
    tau = targets.as_dict()
    if not tau:
        raise InputError("plan: give at least one target (--max-drop, --max-p95-job-time, "
                         "--max-mean-job-time)")
    seeds = tuple(seeds)
    if len(seeds) < 2:
        raise InputError(f"--seeds: the planner needs at least 2 seeds, got {len(seeds)}")
    if batch < 2:
        raise InputError(f"--batch: must be >= 2 (a t bound needs two seeds), got {batch}")
    if not 0 < alpha < 1:
        raise InputError(f"--alpha: must be in (0, 1), got {alpha}")
    n_candidates = ((classical_range[1] - classical_range[0] + 1)
                    * (quantum_range[1] - quantum_range[0] + 1))
    if n_candidates > MAX_PLAN_CANDIDATES:
        raise InputError(f"plan: {n_candidates} (C, Q) candidates, more than the limit of "
                         f"{MAX_PLAN_CANDIDATES}")
    cands = sorted((Candidate(c, q, cost.of(c, q))
                    for c in range(classical_range[0], classical_range[1] + 1)
                    for q in range(quantum_range[0], quantum_range[1] + 1)),
                   key=lambda k: (k.cost, k.classical, k.quantum))
    campaign = cmp.campaign_from_scenarios(
        "plan", [(point_values(*k.point), candidate_config(base, *k.point)) for k in cands],
        seeds, description="hqsched plan simulate: one point per (C, Q)")
    tmp = None
    if out is None:
        tmp = tempfile.TemporaryDirectory(prefix="hqsched-plan-")
        root = Path(tmp.name)
    else:
        root = Path(out)
    budget = len(seeds)
    # Many short runs (a batch of seeds each): one bar for the whole search, over the
    # most replications it may run (a candidate settled early or dominated is credited
    # its unused seeds), instead of one bar per batch.
    bar = progress_bar(len(cands) * budget, "plan", "run", progress=progress,
                       force=force_progress)
    try:
        options = ExecutorOptions(executor, processes, address, progress=False)
        runner = _Runner(campaign, root, options, overwrite, bar, allow_mixed)

        def settle(k: Candidate) -> None:
            d = ps.decide({m: k.values[m] for m in tau}, tau, batch, budget, alpha)
            k.verdict, k.seeds_used, k.early = d.verdict, d.seeds_used, d.early

        if full_grid:
            runner.run([(k, seeds) for k in cands])
            for k in cands:
                settle(k)
        else:
            best: Candidate | None = None
            for k in cands:
                if best is not None and k.cost > best.cost:
                    k.verdict = DOMINATED
                    bar.update(budget)
                    continue
                for start in range(0, budget, batch):
                    runner.run([(k, seeds[start:start + batch])])
                    settle(k)
                    if k.verdict in (ps.FEASIBLE, ps.INFEASIBLE) and k.early:
                        break
                bar.update(budget - len(k.seeds))
                if k.verdict == ps.FEASIBLE and best is None:
                    best = k

        recommended, significant, uncertain = _answer(cands)
        if recommended is not None:
            # The answer and its neighbours at the full budget, for the printed table.
            pts = {recommended.point, *[(recommended.classical + dc, recommended.quantum + dq)
                                        for dc, dq in ((-1, 0), (1, 0), (0, -1), (0, 1))]}
            extra = [k for k in cands if k.point in pts and len(k.seeds) < budget]
            if extra:
                bar.total += sum(budget - len(k.seeds) for k in extra)
                runner.run([(k, seeds) for k in extra])
            for k in cands:
                if k.point in pts and k is not recommended:
                    k.neighbour = True
                    settle(k)
            settle(recommended)
            recommended, significant, uncertain = _answer(cands)
        worse = _worsening(cands, tau, alpha)
    finally:
        bar.close()
        if tmp is not None:
            tmp.cleanup()
    result = PlanResult(tau, cost, len(seeds), batch, alpha, cands, recommended, significant,
                        uncertain, worse, None if out is None else Path(out))
    if out is not None:
        write_outputs(result, Path(out))
    return result


def _answer(cands: list[Candidate]) -> tuple[Candidate | None, bool, list[Candidate]]:
    """(recommended, significant, cheaper uncertain candidates) from verdicts in cost order.

    Recommended: the cheapest clearly feasible candidate; if there is none,
    the cheapest "feasible (not significant)". Significant when it is clearly
    feasible and every cheaper candidate is clearly infeasible.
    """
    clear = next((k for k in cands if k.verdict == ps.FEASIBLE), None)
    rec = clear or next((k for k in cands if k.verdict == ps.FEASIBLE_NS), None)
    if rec is None:
        return None, False, [k for k in cands if k.verdict in (ps.INFEASIBLE_NS,)]
    cheaper = [k for k in cands if k.cost < rec.cost
               or (k.cost == rec.cost and (k.classical, k.quantum) < rec.point)]
    uncertain = [k for k in cheaper if k.verdict != ps.INFEASIBLE]
    return rec, rec.verdict == ps.FEASIBLE and not uncertain, uncertain


def _worsening(cands: list[Candidate], tau: dict[str, float],
               alpha: float) -> list[ps.PairedWorse]:
    """Paired tests of every target metric between evaluated neighbours (C, Q) -> (C+1, Q), (C, Q+1)."""
    index = {k.point: k for k in cands if k.evaluated}
    tests = []
    for (c, q), k in sorted(index.items()):
        for more in ((c + 1, q), (c, q + 1)):
            if more not in index:
                continue
            other = index[more]
            for m in tau:
                t = ps.paired_worse(m, (c, q), more, k.values[m], other.values[m])
                if t is not None:
                    tests.append(t)
    return ps.bonferroni(tests, alpha)


# --------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------

def fmt_value(metric: str, x: float) -> str:
    """Drop probability as 0.0123, times in a readable unit (s, h)."""
    if not math.isfinite(x):
        return "n/a"
    if metric == "drop":
        return f"{x:.4f}"
    return f"{x / 3600:.2f} h" if abs(x) >= 3600 else f"{x:.1f} s"


def fmt_interval(metric: str, k: Candidate) -> str:
    mean, lo, hi, n = k.interval(metric)
    if n == 0:
        return "n/a"
    if n < 2:
        return f"{fmt_value(metric, mean)} [n/a]"
    return f"{fmt_value(metric, mean)} [{fmt_value(metric, lo)}, {fmt_value(metric, hi)}]"


def format_report(result: PlanResult) -> str:
    """The text printed by ``hqsched plan simulate``: answer, table with CIs, worsening pairs."""
    tau = result.targets
    lines = []
    targets = ", ".join(f"{LABELS[m].split(' (')[0]} <= {fmt_value(m, v)}" for m, v in tau.items())
    lines.append(f"targets: {targets}; cost {result.cost.classical:g}*C + "
                 f"{result.cost.quantum:g}*Q; seed budget {result.budget} (batches of "
                 f"{result.batch}), alpha {result.alpha:g}")
    rec = result.recommended
    if rec is not None:
        cheaper = [k for k in result.candidates if k.cost < rec.cost]
        if result.significant and not cheaper:
            why = "clearly feasible, and no candidate in range is cheaper"
        elif result.significant:
            why = ("clearly feasible; every cheaper candidate is clearly infeasible, so it is "
                   "the cheapest")
        elif rec.verdict == ps.FEASIBLE:
            why = ("clearly feasible, but cheaper candidates are uncertain: "
                   + ", ".join(f"(C={k.classical}, Q={k.quantum}) {k.verdict}"
                               for k in result.uncertain_cheaper))
        else:
            why = ("UNCERTAIN: meets the targets by point estimate only (not significant at "
                   "the seed budget); more seeds would settle it")
        lines.append(f"recommended: C={rec.classical}, Q={rec.quantum} (cost {rec.cost:g}) -- "
                     f"{why}")
    else:
        close = result.closest()
        lines.append("no candidate in the allowed range meets the targets.")
        if close is not None:
            parts = ", ".join(f"{LABELS[m].split(' (')[0]} {fmt_interval(m, close)}"
                              for m in tau)
            lines.append(f"closest: C={close.classical}, Q={close.quantum} (cost {close.cost:g}, "
                         f"{close.verdict}, normalised violation "
                         f"{100 * close.violation(tau):.1f}%): {parts} over "
                         f"{len(close.seeds)} seed(s); widen --classical-range/--quantum-range "
                         f"or relax the targets")
    lines.append("")
    shown = ([rec, *result.neighbours()] if rec is not None else [])
    if shown:
        lines.append("the recommended point and its neighbours (mean [95% CI] over seeds):")
        lines.append(_table(shown, tau))
        lines.append("")
    lines.append("all candidates, in cost order (metrics over the seeds run):")
    lines.append(_table(result.candidates, tau))
    if any(k.neighbour for k in result.candidates):
        lines.append("* a neighbour of the recommended point (one C or Q more or less): run "
                     "at the full seed budget whatever its verdict, to show the margin")
    bad = [w for w in result.worse if w.significant]
    lines.append("")
    if bad:
        lines.append("non-monotone: adding a resource makes a metric significantly WORSE "
                     "(paired t-test over common seeds, Bonferroni over "
                     f"{len(result.worse)} tests at alpha {result.alpha:g}):")
        for w in bad:
            res = "C" if w.more[0] != w.less[0] else "Q"
            lines.append(f"  {LABELS[w.metric].split(' (')[0]}: (C={w.less[0]}, Q={w.less[1]}) -> "
                         f"(C={w.more[0]}, Q={w.more[1]}) [+1 {res}]: "
                         f"{_signed(w.metric, w.mean_diff)} "
                         f"[{_signed(w.metric, w.ci_low)}, {_signed(w.metric, w.ci_high)}], "
                         f"p={w.p_value:.2g}, n={w.n}")
    else:
        lines.append(f"no significant worsening when adding a resource among "
                     f"{len(result.worse)} paired test(s) of evaluated neighbours")
    return "\n".join(lines)


def _signed(metric: str, x: float) -> str:
    return ("+" if x >= 0 else "-") + fmt_value(metric, abs(x))


def _table(cands: Sequence[Candidate], tau: dict[str, float]) -> str:
    order = list(tau) + [m for m in METRICS if m not in tau]
    head = ["C", "Q", "cost", "verdict", "seeds"] + [LABELS[m].split(" (")[0] for m in order]
    rows = []
    for k in cands:
        seeds = (f"{len(k.seeds)}" + (f" (decided at {k.seeds_used})"
                                      if k.seeds_used and k.seeds_used < len(k.seeds) else "")
                 if k.evaluated else "-")
        rows.append([str(k.classical), str(k.quantum), f"{k.cost:g}",
                     k.verdict + (" *" if k.neighbour else ""), seeds]
                    + [fmt_interval(m, k) if k.evaluated else "-" for m in order])
    return format_table(head, rows)


def write_outputs(result: PlanResult, out: Path) -> None:
    """``plan.json`` (everything) and ``plan.txt`` (the report); the heat map
    ``plan.png`` is drawn by ``hqsched.reports.plan_figure.write_figure``."""
    out.mkdir(parents=True, exist_ok=True)
    # The record of the run that wrote the units (hqsched.provenance), for the answer too.
    runs = provenance.read_runs(out)
    doc = {**result.to_json(), "provenance": runs[-1] if runs else None}
    atomic_write_text(out / "plan.json", json.dumps(doc, indent=1) + "\n")
    atomic_write_text(out / "plan.txt", format_report(result) + "\n")
