"""Campaign results as pandas tables: per run, per grid point (mean, 95% CI), per group.

Statistics reuse ``hqsched.experiments.statistics``: across seeds, a metric's
interval is the Student t interval of its per-seed values; percentiles of job
times pool the completed jobs of all seeds. Times are in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hqsched.errors import InputError
from hqsched.experiments import statistics as stats
from hqsched.experiments.campaign import read_plan, status, unit_id
from hqsched.experiments.results_store import ResultStore
from hqsched.online.config import ReplicationResult

#: Metrics summarised per grid point (summary fields plus derived ones).
POINT_METRICS = (
    "drop_probability", "job_time_mean_s", "job_time_p50_s", "job_time_p95_s",
    "job_time_p99_s", "avg_classical_active", "avg_quantum_in_service",
    "avg_quantum_pending", "avg_quantum_tasks", "qc_utilization", "completed", "censored",
)


@dataclass
class CampaignData:
    """Everything the report draws, loaded from one campaign output directory."""

    root: Path
    plan: dict[str, Any]
    params: pd.DataFrame          # index point key; one column per grid parameter
    runs: pd.DataFrame            # one row per finished unit: point, seed, summary fields
    jobs: pd.DataFrame            # every job record: point, seed, JOB_FIELDS
    results: dict[str, list[ReplicationResult]]  # point key -> finished replications
    n_failed: int
    n_left: int

    @property
    def grid(self) -> dict[str, list[Any]]:
        return self.plan["grid"]

    def varied(self) -> list[str]:
        """Grid parameters with more than one value, in file order."""
        return [k for k, v in self.grid.items() if len(v) > 1]


def display_value(v: Any) -> Any:
    """Grid values as shown: a one-element list (a single policy) as its element."""
    if isinstance(v, list) and len(v) == 1:
        return v[0]
    if isinstance(v, list):
        return ",".join(map(str, v))
    return v


def load(root: str | Path) -> CampaignData:
    """Load every finished unit of ``root`` (unfinished and failed ones are counted, not read)."""
    root = Path(root)
    plan = read_plan(root)
    st = status(root)
    if st.corrupt:  # never report altered numbers
        unit, why = next(iter(st.corrupt.items()))
        raise InputError(f"{root}: unit {unit} is corrupt: {why}; rerun `hqsched campaign "
                         f"run FILE --out {root}` to recompute it ({len(st.corrupt)} corrupt "
                         f"unit(s), see `hqsched campaign status {root}`)")
    done = set(st.done)
    if not done:
        raise InputError(f"{root}: no finished units to report on (see `hqsched campaign "
                         f"status {root}`)")
    store = ResultStore(root)
    params = pd.DataFrame([{"point": p["key"], **{k: display_value(v)
                                                  for k, v in p["values"].items()}}
                           for p in plan["points"]]).set_index("point")
    results: dict[str, list[ReplicationResult]] = {}
    run_rows, job_frames = [], []
    for p in plan["points"]:
        key = p["key"]
        for seed in plan["seeds"]:
            u = unit_id(key, seed)
            if u not in done:
                continue
            summary, jobs = store.load(u)
            results.setdefault(key, []).append(ReplicationResult(seed, summary, jobs))
            run_rows.append({"point": key, "seed": seed, **summary})
            job_frames.append(pd.DataFrame({"point": key, "seed": seed, **jobs}))
    runs = pd.DataFrame(run_rows)
    # The paper's "average quantum tasks": in service plus pending, per seed.
    runs["avg_quantum_tasks"] = runs["avg_quantum_in_service"] + runs["avg_quantum_pending"]
    return CampaignData(root, plan, params, runs, pd.concat(job_frames, ignore_index=True),
                        results, len(st.failed), len(st.left))


def point_summary(data: CampaignData) -> pd.DataFrame:
    """Per grid point: ``<metric>``, ``<metric>_ci_low``, ``<metric>_ci_high`` and ``seeds``."""
    rows = []
    for key, group in data.runs.groupby("point", sort=False):
        row: dict[str, Any] = {"point": key, "seeds": len(group)}
        for m in POINT_METRICS:
            mean, lo, hi, _ = stats.t_interval(group[m].astype(float))
            row.update({m: mean, f"{m}_ci_low": lo, f"{m}_ci_high": hi})
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("point")
    return data.params.join(frame, how="inner")


def group_breakdown(data: CampaignData, by: str) -> pd.DataFrame:
    """Per grid point and value of ``by`` (qubits, priority): counts, mean with CI, percentiles."""
    frames = []
    for key, results in data.results.items():
        b = stats.breakdown(results, by)
        if not b.empty:
            frames.append(b.reset_index().assign(point=key))
    out = pd.concat(frames, ignore_index=True)
    return data.params.join(out.set_index("point"), how="inner")


def load_axis(interarrival_s: pd.Series | np.ndarray) -> np.ndarray:
    """Offered load in jobs per hour from the mean inter-arrival time (s)."""
    return 3600.0 / np.asarray(interarrival_s, dtype=float)
