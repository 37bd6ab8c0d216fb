"""Optimal versus online at realistic scale (GitHub issue 16): ``hqsched gap --scale realistic``.

A *window* is the instance of the jobs of the paper's small scenario
(qubits 4-10, priorities 1, 2, 4, quantum times of the fastest IBM backend,
``experiments/studies/small.toml``) that arrive in ``[0, window_s)``, with
their full trace iteration counts (hundreds per job: ~10^5 tasks a day),
starting from an empty platform, every job accepted (admission off, as
every online-versus-offline comparison; MODEL.md). The inter-arrival time
is set so that the offered quantum utilisation is ``load``:
``interarrival = E[n p] / (Q load)``, with E[n p] the mean quantum work of a
job (mean over qubit counts of E[iterations] x E[quantum time], drawn
independently). Window ``k`` at load index ``i`` uses workload seed
``base_seed + k`` (stream "workload"; the same arrivals for every policy).

Per window and mode, the offline optimum is bracketed by LB (best of
formulation.bounds_scale.lower_bound) and UB (formulation.upper_bounds.
upper_bound: clairvoyant list scheduling + local search, checked; in
dedicated mode also the best online schedule if it is better, checked):

- **dedicated** (C dedicated servers): the offline problem itself;
- **serverless** (processor sharing): LB and UB of the C = infinity problem,
  which bounds the serverless optimum from below (MODEL.md); as in gap.py,
  online / UB then compares with the best C = infinity schedule found.

For each policy, ``online / LB`` is how far at most the policy is from the
optimum, ``online / UB`` how far at least; ``UB / LB`` the bracket's width.
Means with 95% t intervals over windows. Randomised policies use policy seed
``base_seed + k``. Resumable: every window is one stored unit of the executor.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hqsched import inputs
from hqsched.errors import InputError
from hqsched.experiments.executor import ExecutorOptions, UnitBatch, run_stored_units
from hqsched.experiments.results_store import ResultStore, TableOutput, run_record
from hqsched.experiments.statistics import t_interval
from hqsched.files import atomic_write_text
from hqsched.formulation.bounds_scale import lower_bound
from hqsched.formulation.checker import check_schedule
from hqsched.formulation.upper_bounds import upper_bound
from hqsched.instances.model import Instance, Platform
from hqsched.instances.streams import stream
from hqsched.instances.traces import load_traces
from hqsched.instances.workload import JobSampler, WorkloadSpec, poisson_jobs
from hqsched.online.instance_runs import record_delays_s, run_instance
from hqsched.online.policies import POLICIES
from hqsched.tables import format_row
from hqsched.validation.gap import stored_rows

MODES = ("dedicated", "serverless")
#: Quantum computers of the paper's small scenario (experiments/studies/small.toml).
REALISTIC_Q = 4
WINDOWS_CSV = "gap_realistic_windows.csv"
SUMMARY_CSV = "gap_realistic_summary.csv"


@dataclass(frozen=True)
class RealisticGapConfig:
    """One study: ``windows`` windows of ``window_s`` seconds at each quantum load."""

    windows: int = 8
    loads: tuple[float, ...] = (0.5, 0.7, 0.9)
    window_s: float = 86400.0
    classical_workers: int = 1
    quantum_computers: int = REALISTIC_Q
    worker_capacity_ops_per_s: float = 1e9
    qubits: tuple[int, ...] = (4, 6, 8, 10)
    priorities: tuple[int, ...] = (1, 2, 4)
    base_seed: int = 0
    weighted: bool = False
    #: local-search budget of each upper bound (s, wall clock; part of the manifest)
    search_time_s: float = 5.0
    policies: tuple[str, ...] = field(default_factory=lambda: tuple(sorted(POLICIES)))

    def __post_init__(self) -> None:
        for name in ("windows", "classical_workers", "quantum_computers"):
            inputs.require_positive_int(getattr(self, name), "gap", name)
        inputs.require_nonnegative_int(self.base_seed, "gap", "base_seed")
        for name in ("window_s", "worker_capacity_ops_per_s", "search_time_s"):
            inputs.require_positive_number(getattr(self, name), "gap", name)
        if not self.loads or any(not 0 < x < 1 for x in self.loads):
            raise InputError(f"gap: --loads must be quantum utilisations in (0, 1), got "
                             f"{list(self.loads)}")
        for p in self.policies:
            if p not in POLICIES:
                raise InputError(f"gap: unknown policy {p!r} (known: {', '.join(sorted(POLICIES))})")

    def manifest(self) -> dict[str, Any]:
        doc = asdict(self)
        doc.pop("windows")  # more windows extend a study, they do not change it
        doc.update(loads=list(self.loads), qubits=list(self.qubits),
                   priorities=list(self.priorities), policies=list(self.policies),
                   study="hqsched.validation.gap_realistic")
        return doc

    def sampler(self, load: float) -> JobSampler:
        """The small scenario's job sampler at the inter-arrival time giving ``load``."""
        traces = load_traces()
        base = JobSampler(traces, WorkloadSpec(1.0, self.qubits, self.priorities))
        mean_work = float(np.mean([p.iterations.mean() * p.quantum_s.mean()
                                   for p in base.profiles.values()]))
        gap = mean_work / (self.quantum_computers * load)
        return JobSampler(traces, WorkloadSpec(gap, self.qubits, self.priorities))

    def window(self, load: float, k: int) -> Instance:
        """Window ``k`` at ``load``: the jobs arriving in [0, window_s), full iterations."""
        jobs = tuple(poisson_jobs(self.sampler(load), stream(self.base_seed + k, "workload"),
                                  self.window_s))
        return Instance(jobs, name=f"small-window-load{load:g}-seed{self.base_seed + k}",
                        meta={"load": load, "seed": self.base_seed + k})


def unit_id(task: tuple[int, int]) -> str:
    i, k = task
    return f"load{i:02d}-window-{k:06d}"


def _online(cfg: RealisticGapConfig, inst: Instance, platform: Platform, policy: str, mode: str,
            seed: int) -> tuple[float, Any]:
    """(sum of (weighted) delays, dedicated schedule or None) of one online run."""
    result = run_instance(inst, platform, policy, mode, seed, record_schedule=(mode == "dedicated"))
    total = record_delays_s(result, len(inst), cfg.weighted)
    if math.isnan(total):
        raise RuntimeError("a window run to completion left a job unfinished")
    return total, result.schedule


def study_window(cfg: RealisticGapConfig, task: tuple[int, int]
                 ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Bound and simulate one window: (summary, one row per policy x mode)."""
    t0 = time.perf_counter()
    i, k = task
    load = cfg.loads[i]
    inst = cfg.window(load, k)
    seed = cfg.base_seed + k
    C, Q, S = cfg.classical_workers, cfg.quantum_computers, cfg.worker_capacity_ops_per_s
    platform = Platform(C, S, Q)
    summary: dict[str, Any] = {"load": load, "window": k, "seed": seed, "jobs": len(inst),
                               "tasks": sum(j.task_count for j in inst.jobs)}
    rows: dict[str, list] = {c: [] for c in ("policy", "mode", "online_s", "lb_s", "ub_s",
                                             "online_over_lb", "online_over_ub")}
    for mode, servers in (("dedicated", C), ("serverless", None)):
        lb = lower_bound(inst, servers, Q, S, cfg.weighted)
        ub = upper_bound(inst, servers, Q, S, cfg.weighted, time_limit_s=cfg.search_time_s)
        ub_value, ub_name = ub.objective, ub.name
        online = {p: _online(cfg, inst, platform, p, mode, seed) for p in cfg.policies}
        if mode == "dedicated":  # an online dedicated schedule is feasible offline (MODEL.md)
            best = min(online, key=lambda p: online[p][0])
            if online[best][0] < ub_value and not check_schedule(inst, online[best][1], C, Q, S):
                ub_value, ub_name = online[best][0], f"online:{best}"
        summary.update({f"{mode}_lb_s": lb.best, f"{mode}_lb_name": lb.best_name,
                        f"{mode}_ub_s": ub_value, f"{mode}_ub_name": ub_name,
                        f"{mode}_ub_over_lb": ub_value / lb.best,
                        f"{mode}_lb_time_s": sum(lb.times_s.values()),
                        f"{mode}_ub_time_s": ub.time_s})
        for name, value in lb.values.items():
            summary[f"{mode}_lb_{name}_s"] = value
        for p, (value, _) in online.items():
            rows["policy"].append(p)
            rows["mode"].append(mode)
            rows["online_s"].append(value)
            rows["lb_s"].append(lb.best)
            rows["ub_s"].append(ub_value)
            rows["online_over_lb"].append(value / lb.best)
            rows["online_over_ub"].append(value / ub_value)
    summary["wall_s"] = time.perf_counter() - t0
    return summary, {c: np.asarray(v) for c, v in rows.items()}


def window_to_table(cfg: RealisticGapConfig, task: tuple[int, int], table: TableOutput
                    ) -> dict[str, Any]:
    """One window as a stored unit: its table written in the worker, its summary returned."""
    summary, rows = study_window(cfg, task)
    table.write(rows)
    return summary


def _tasks(cfg: RealisticGapConfig) -> list[tuple[int, int]]:
    return [(i, k) for k in range(cfg.windows) for i in range(len(cfg.loads))]


def run_study(cfg: RealisticGapConfig, out: str | Path, processes: int | None = None,
              progress: bool = True, *, force_progress: bool = False,
              allow_mixed: bool = False, overwrite: bool = False) -> pd.DataFrame:
    """Run (or resume) the study into ``out``; returns one row per (window, policy, mode).

    As gap.run_study: one writer at a time, finished windows kept, ``allow_mixed``
    resumes a directory made by other code or traces (``hqsched.provenance``),
    ``overwrite`` discards another study's windows instead of refusing them."""
    store = ResultStore(out)
    store.claim(cfg.manifest(), overwrite=overwrite, record=run_record([None]),
                allow_mixed=allow_mixed)
    try:
        options = ExecutorOptions(processes=processes, progress=progress,
                                  force_progress=force_progress)
        run_stored_units(UnitBatch(window_to_table, cfg, _tasks(cfg), "gap realistic", "window"),
                         store, unit_id, _nothing, options)
        frame = load_study(cfg, out)
        if not frame.empty:
            atomic_write_text(Path(out) / WINDOWS_CSV, frame.to_csv(index=False,
                                                                    float_format="%.10g"))
            atomic_write_text(Path(out) / SUMMARY_CSV, summarize(frame).to_csv(
                index=False, float_format="%.6g"))
    finally:
        store.release()
    return frame


def _nothing(task: tuple[int, int], summary: dict[str, Any]) -> None:
    """Nothing to do when a window is done: it is in the store."""


def load_study(cfg: RealisticGapConfig, out: str | Path) -> pd.DataFrame:
    """One row per (window, policy, mode) from the store, window columns repeated."""
    return stored_rows(out, [unit_id(task) for task in _tasks(cfg)])


def _ci(x: Any) -> dict[str, float]:
    mean, lo, hi, n = t_interval(np.asarray(x, dtype=float))
    return {"mean": mean, "ci_low": lo, "ci_high": hi, "n": n}


def summarize(frame: pd.DataFrame) -> pd.DataFrame:
    """Per load, mode and policy: online / LB, online / UB and UB / LB, mean [95% CI]."""
    rows = []
    for (load, mode, policy), g in frame.groupby(["load", "mode", "policy"], sort=True):
        row: dict[str, Any] = {"load": load, "mode": mode, "policy": policy,
                               "windows": g["window"].nunique()}
        for col, x in (("online_over_lb", g["online_over_lb"]),
                       ("online_over_ub", g["online_over_ub"]),
                       ("ub_over_lb", g["ub_s"] / g["lb_s"])):
            row.update({f"{col}_{k}": v for k, v in _ci(x).items() if k != "n"})
        rows.append(row)
    return pd.DataFrame(rows)


_WIDTHS = (5, 10, 11, 4, 23, 23, 23)
_ALIGN = "<<<>>>>"


def format_summary(summary: pd.DataFrame) -> str:
    """The summary as a text table: each ratio as mean [95% CI] over windows."""
    lines = [format_row(["load", "mode", "policy", "n", "online / LB (at most)",
                         "online / UB (at least)", "UB / LB (bracket)"], _WIDTHS, _ALIGN)]
    for r in summary.itertuples(index=False):
        d = r._asdict()
        cells = [f"{d['load']:g}", d["mode"], d["policy"], f"{d['windows']}"]
        for col in ("online_over_lb", "online_over_ub", "ub_over_lb"):
            cells.append(f"{d[col + '_mean']:.3f} [{d[col + '_ci_low']:.3f}, "
                         f"{d[col + '_ci_high']:.3f}]")
        lines.append(format_row(cells, _WIDTHS, _ALIGN))
    return "\n".join(lines)


def parse_loads(value: str, where: str) -> tuple[float, ...]:
    """A comma list of quantum utilisations in (0, 1), e.g. ``0.5,0.7,0.9``."""
    loads = []
    for item in str(value).split(","):
        x = inputs.parse_positive_float(item.strip(), where)
        if not x < 1:
            raise InputError(f"{where}: utilisations must be in (0, 1) (the offline problem of "
                             f"a window is finite there), got {item.strip()!r}")
        loads.append(x)
    return tuple(loads)
