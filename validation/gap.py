"""The optimal-versus-online gap study (GitHub issue 4).

For ``instances`` trace-derived instances (instance ``k`` is
``small_instance(jobs, iterations, qubits, seed=base_seed + k, interarrival_s,
priorities)``) and every quantum policy, with admission off:

- **dedicated mode**: ratio = online sum of delays / offline optimum on
  ``C`` dedicated classical servers and ``Q`` QCs;
- **serverless mode**: ratio = online (processor-sharing) sum of delays /
  the ``C = infinity`` bound (MODEL.md). That bound is below the serverless
  optimum too, so this ratio OVER-states how far a policy is from the best
  serverless schedule.

Randomised policies (``random``, ``weighted``) use policy seed
``base_seed + k`` on instance ``k`` (the simulator's ``"policy"`` stream), so
a study is deterministic.

Each MILP has a time limit (wall clock). The dedicated solve gets the best
online dedicated schedule as MIP start. When an optimum is not proven:

- ``ratio_inc`` = online / incumbent is a LOWER estimate of the true ratio
  (incumbent >= optimum);
- ``ratio_bound`` = online / lower bound is an UPPER estimate (bound <= optimum);
  the dedicated lower bound is max(solver best_bound, C = infinity bound).

When proven, both are the ratio (up to HiGHS's 1e-7 relative gap).

Resumable: every finished instance is one stored unit of the executor
(``hqsched.experiments.executor``) in a ``ResultStore`` under ``out``
(written atomically); a rerun with the same settings skips them. Outputs in ``out``:
``gap_instances.csv`` (one row per instance, policy and mode) and
``gap_summary.csv`` (the table); ``hqsched gap`` adds the box plot
``gap_boxplot.png`` (``hqsched.reports.gap_report.write_boxplot``). With
``overwrite`` a directory holding another study is emptied first (its units
and these files), as ``campaign run --overwrite`` does; without it, it is
refused.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hqsched import inputs
from hqsched.errors import InputError
from hqsched.experiments.executor import ExecutorOptions, UnitBatch, run_stored_units
from hqsched.experiments.results_store import CorruptUnit, ResultStore, TableOutput, run_record
from hqsched.experiments.statistics import t_interval
from hqsched.files import atomic_write_text
from hqsched.formulation.options import SolveOptions
from hqsched.formulation.solve import solve_delays
from hqsched.instances.generate import small_instance
from hqsched.instances.model import Instance, Platform
from hqsched.online.instance_runs import record_delays_s, run_instance
from hqsched.online.policies import POLICIES
from hqsched.tables import format_row

MODES = ("dedicated", "serverless")
#: Most tasks of one study instance (jobs x (2 x iterations + 2)): the study compares
#: with proven optima, found on tens of tasks within seconds; past this the solves
#: only hit their time limits (and the C = infinity MILP takes minutes to build).
MAX_TASKS_PER_INSTANCE = 2000
INSTANCES_CSV = "gap_instances.csv"
SUMMARY_CSV = "gap_summary.csv"


@dataclass(frozen=True)
class GapConfig:
    """One study. Times in seconds; ``worker_capacity_ops_per_s`` is S.

    Default load: Poisson arrivals every 20 s on average against classical
    ``pre`` tasks of ~14 s (traces) on ``C = 1`` worker (classical utilisation
    ~0.7 while jobs arrive) and 3 quantum iterations of ~3-4 s on ``Q = 2``
    QCs: quantum queues form often enough that the policies differ on about
    half of the instances, yet 6 x 3 MILPs stay small. Priorities 1, 2, 4
    are drawn so that ``weighted`` differs from ``random``; the objective is
    the unweighted sum of delays unless ``weighted``.
    """

    instances: int = 200
    jobs: int = 6
    iterations: int = 3
    classical_workers: int = 1
    quantum_computers: int = 2
    worker_capacity_ops_per_s: float = 1e9
    qubits: tuple[int, ...] = (4, 6, 8, 10)
    priorities: tuple[int, ...] = (1, 2, 4)
    interarrival_s: float = 20.0
    base_seed: int = 0
    weighted: bool = False
    #: per-solve wall-clock limits: dedicated solve and C = infinity MILP
    time_limit_s: float = 3.0
    relax_time_limit_s: float = 2.0
    #: dedicated solve method (solve_delays: "auto" = branch and bound when C = 1);
    #: part of the manifest, so a rerun never mixes results of two methods
    method: str = "auto"
    policies: tuple[str, ...] = field(default_factory=lambda: tuple(sorted(POLICIES)))

    def __post_init__(self) -> None:
        """The limits of ``hqsched.inputs`` (the CLI checks them first, naming its options)."""
        for name in ("instances", "jobs", "iterations", "classical_workers", "quantum_computers"):
            inputs.require_positive_int(getattr(self, name), "gap", name)
        inputs.require_nonnegative_int(self.base_seed, "gap", "base_seed")
        for name in ("worker_capacity_ops_per_s", "interarrival_s", "time_limit_s",
                     "relax_time_limit_s"):
            inputs.require_positive_number(getattr(self, name), "gap", name)
        tasks = self.jobs * (2 * self.iterations + 2)
        if (self.instances > inputs.MAX_SEEDS or tasks > MAX_TASKS_PER_INSTANCE
                or self.base_seed + self.instances - 1 > inputs.MAX_INT):
            raise InputError(f"gap: {self.instances} instances of {tasks} tasks from seed "
                             f"{self.base_seed} exceed the limits (instances <= "
                             f"{inputs.MAX_SEEDS}, tasks <= {MAX_TASKS_PER_INSTANCE}, "
                             f"seeds <= {inputs.MAX_INT})")

    def manifest(self) -> dict[str, Any]:
        """What identifies the study's results (time limits included: they change the numbers)."""
        doc = asdict(self)
        doc.pop("instances")  # more instances extend a study, they do not change it
        doc.update(qubits=list(self.qubits), priorities=list(self.priorities),
                   policies=list(self.policies), study="hqsched.validation.gap")
        return doc

    def instance(self, k: int) -> Instance:
        return small_instance(self.jobs, self.iterations, self.qubits, seed=self.base_seed + k,
                              interarrival_s=self.interarrival_s, priorities=self.priorities,
                              worker_capacity_ops_per_s=self.worker_capacity_ops_per_s)


def unit_id(k: int) -> str:
    return f"instance-{k:06d}"


def _sum_delays(cfg: GapConfig, inst: Instance, result) -> float:
    """Sum of (weighted) delays of a run to completion (s)."""
    total = record_delays_s(result, len(inst), cfg.weighted)
    if math.isnan(total):
        raise RuntimeError("an instance run to completion left a job unfinished")
    return total


def _ratio(num: float, den: float | None) -> float:
    return num / den if den is not None and den > 0 else math.nan


def study_instance(cfg: GapConfig, k: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Solve and simulate instance ``k``: (scalar summary, per policy x mode table)."""
    t0 = time.perf_counter()
    inst = cfg.instance(k)
    seed = cfg.base_seed + k
    platform = Platform(cfg.classical_workers, cfg.worker_capacity_ops_per_s,
                        cfg.quantum_computers)
    runs = {(p, m): run_instance(inst, platform, p, m, seed, record_schedule=(m == "dedicated"))
            for p in cfg.policies for m in MODES}
    online = {key: _sum_delays(cfg, inst, r) for key, r in runs.items()}
    # MIP start: the best online dedicated schedule (feasible offline, MODEL.md).
    best_policy = min(cfg.policies, key=lambda p: online[(p, "dedicated")])
    warm = runs[(best_policy, "dedicated")].schedule
    C, Q, S = cfg.classical_workers, cfg.quantum_computers, cfg.worker_capacity_ops_per_s
    ded = solve_delays(inst, C, Q, S, SolveOptions(weighted=cfg.weighted, time_limit_s=cfg.time_limit_s,
                                                   warm_start=warm, method=cfg.method))
    relax = solve_delays(inst, None, Q, S, SolveOptions(weighted=cfg.weighted,
                                                        time_limit_s=cfg.relax_time_limit_s))
    for name, res in (("dedicated", ded), ("C=inf", relax)):
        if res.status not in ("optimal", "feasible"):
            raise RuntimeError(f"instance {k}: {name} solve {res.status}: {res.message}")
    summary = {
        "instance": k, "seed": seed,
        "opt_status": ded.status, "opt_incumbent_s": ded.objective, "opt_bound_s": ded.best_bound,
        "opt_solve_s": ded.solve_time_s,
        "relax_status": relax.status, "relax_incumbent_s": relax.objective,
        "relax_bound_s": relax.best_bound, "relax_solve_s": relax.solve_time_s,
        "best_online_dedicated_s": online[(best_policy, "dedicated")],
        "wall_s": time.perf_counter() - t0,
    }
    rows: dict[str, list] = {c: [] for c in ("policy", "mode", "online_s", "reference_s",
                                             "bound_s", "proven", "ratio_inc", "ratio_bound")}
    # Lower bounds: the relaxation's optimum (or its bound) is <= the dedicated
    # optimum too, so the dedicated bound is the larger of the two (free, and
    # sometimes tighter than a time-limited dedicated solve's bound).
    relax_lb = relax.objective if relax.status == "optimal" else relax.best_bound
    ded_lb = ded.objective if ded.status == "optimal" else max(
        b for b in (ded.best_bound, relax_lb, 0.0) if b is not None)
    summary["opt_lower_bound_s"] = ded_lb
    for (p, m), value in online.items():
        ref = ded if m == "dedicated" else relax
        bound = ded_lb if m == "dedicated" else relax_lb
        rows["policy"].append(p)
        rows["mode"].append(m)
        rows["online_s"].append(value)
        assert ref.objective is not None  # optimal or feasible, checked above
        rows["reference_s"].append(float(ref.objective))
        rows["bound_s"].append(float(bound) if bound is not None else math.nan)
        rows["proven"].append(ref.status == "optimal")
        rows["ratio_inc"].append(_ratio(value, ref.objective))
        rows["ratio_bound"].append(_ratio(value, bound))
    table = {c: np.asarray(v) for c, v in rows.items()}
    return summary, table


def study_to_table(cfg: GapConfig, k: int, table: TableOutput) -> dict[str, Any]:
    """Instance ``k`` as a stored unit of the executor: its per policy x mode table
    written to ``table`` (in the worker), its summary returned."""
    summary, rows = study_instance(cfg, k)
    table.write(rows)
    return summary


def run_study(cfg: GapConfig, out: str | Path, processes: int | None = None,
              progress: bool = True, *, force_progress: bool = False,
              allow_mixed: bool = False, overwrite: bool = False) -> pd.DataFrame:
    """Run (or resume) the study into ``out``; returns the per-instance frame.

    Finished instances are saved as they complete (units of the executor:
    ``processes`` None = all cores, 1 = in this process; ``progress``: a bar
    on stderr when it is a terminal, always with ``force_progress``); the
    CSV and summary are (re)written at the end from everything in ``out``.
    ``allow_mixed``: resume ``out`` even if made by other code or traces
    (``hqsched.provenance``; the instances come from the bundled traces).
    ``overwrite``: discard the results in ``out`` of another study (other settings, or
    other code or traces) instead of refusing them.
    """
    store = ResultStore(out)
    # Locks out until released: one writer at a time.
    store.claim(cfg.manifest(), overwrite=overwrite, record=run_record([None]),
                allow_mixed=allow_mixed)
    try:
        if overwrite:  # the files of the discarded study go too (rewritten at the end)
            for name in (INSTANCES_CSV, SUMMARY_CSV):
                (Path(out) / name).unlink(missing_ok=True)
        options = ExecutorOptions(processes=processes, progress=progress,
                                  force_progress=force_progress)
        run_stored_units(UnitBatch(study_to_table, cfg, range(cfg.instances), "gap", "inst"),
                         store, unit_id, _nothing, options)
        frame = load_study(cfg, out)
        write_outputs(frame, out)
    finally:
        store.release()
    return frame


def _nothing(k: int, summary: dict[str, Any]) -> None:
    """Nothing to do when an instance is done: it is in the store."""


def stored_rows(out: str | Path, units: Iterable[str]) -> pd.DataFrame:
    """The stored tables of ``units``, each row with its unit's summary values as columns;
    absent or corrupt units are left out (they wait for their rerun). One verified read."""
    store = ResultStore(out)
    parts = []
    for unit in units:
        try:
            summary, table = store.load(unit)
        except CorruptUnit:
            continue
        part = pd.DataFrame(table)
        for key, value in summary.items():
            part[key] = value
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def load_study(cfg: GapConfig, out: str | Path) -> pd.DataFrame:
    """One row per (instance, policy, mode) from the store, instance columns repeated."""
    frame = stored_rows(out, [unit_id(k) for k in range(cfg.instances)])
    if frame.empty:
        return frame
    first = ["instance", "seed", "policy", "mode", "online_s", "reference_s", "bound_s",
             "proven", "ratio_inc", "ratio_bound"]
    return frame[first + [c for c in frame.columns if c not in first]]


def summarize(frame: pd.DataFrame) -> pd.DataFrame:
    """Per policy and mode: n, proven, and mean [95% CI] / median / p95 / max of both ratios."""
    rows = []
    # Paired view (same instance, same denominator): how often each policy is
    # the best online one in its mode, ties (within 1e-9 relative) counting for all.
    best = frame.groupby(["mode", "instance"])["online_s"].transform("min")
    is_best = frame["online_s"] <= best * (1 + 1e-9)
    for (mode, policy), g in frame.groupby(["mode", "policy"], sort=True):
        row: dict[str, Any] = {"mode": mode, "policy": policy, "n": len(g),
                               "proven": int(g["proven"].sum()),
                               "best_online": int(is_best[g.index].sum())}
        for col in ("ratio_inc", "ratio_bound"):
            x = g[col].to_numpy(dtype=float)
            mean, lo, hi, _ = t_interval(x)
            row.update({f"{col}_mean": mean, f"{col}_ci_low": lo, f"{col}_ci_high": hi,
                        f"{col}_median": float(np.nanmedian(x)),
                        f"{col}_p95": float(np.nanpercentile(x, 95)),
                        f"{col}_max": float(np.nanmax(x))})
        rows.append(row)
    return pd.DataFrame(rows)


#: The summary table's fixed layout: mode, policy, n, proven, best, then for
#: each ratio (vs incumbent, vs bound) its mean [95% CI], median, p95 and max;
#: one space between columns, two between these three groups.
_WIDTHS = (10, 9, 4, 6, 5) + (23, 6, 6, 6) * 2
_ALIGN = "<<>>>" + "<>>>" * 2
_SEP = (" ",) * 4 + ("  ",) + (" ",) * 3 + ("  ",) + (" ",) * 3


def format_summary(summary: pd.DataFrame) -> str:
    """The summary as a fixed-width text table (ratios: lower estimate | upper estimate).

    ``best``: instances on which the policy's online sum of delays is the
    smallest of all policies in its mode (ties count for every tied policy).
    """
    group = sum(_WIDTHS[5:9]) + 3  # one ratio's four columns and the spaces between them
    head = format_row(["mode", "policy", "n", "proven", "best", "ratio vs incumbent (lower est.)",
                       "ratio vs bound (upper est.)"], _WIDTHS[:5] + (group, 0), _ALIGN,
                      _SEP[:5] + ("  ",))
    sub = format_row([""] * 5 + ["mean [95% CI]", "median", "p95", "max"] * 2, _WIDTHS, _ALIGN,
                     _SEP)
    lines = [head, sub]
    for r in summary.itertuples(index=False):
        d = r._asdict()
        cells = [f"{d[k]}" for k in ("mode", "policy", "n", "proven", "best_online")]
        for col in ("ratio_inc", "ratio_bound"):
            cells.append(f"{d[col + '_mean']:.3f} [{d[col + '_ci_low']:.3f}, "
                         f"{d[col + '_ci_high']:.3f}]")
            cells += [f"{d[f'{col}_{stat}']:.3f}" for stat in ("median", "p95", "max")]
        lines.append(format_row(cells, _WIDTHS, _ALIGN, _SEP))
    return "\n".join(lines)


def write_outputs(frame: pd.DataFrame, out: str | Path) -> None:
    """gap_instances.csv and gap_summary.csv (atomic); the box plot is drawn by
    ``hqsched.reports.gap_report`` (this layer only makes data)."""
    out = Path(out)
    if frame.empty:
        return
    atomic_write_text(out / INSTANCES_CSV, frame.to_csv(index=False, float_format="%.10g"))
    atomic_write_text(out / SUMMARY_CSV, summarize(frame).to_csv(index=False,
                                                                 float_format="%.6g"))
