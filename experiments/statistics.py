"""Statistics across replications: t-intervals, pooled percentiles, breakdowns, tables.

Across seeds, a metric's 95% confidence interval is the Student t interval
over its per-seed values, ``mean +- t(0.975, n-1) * sd / sqrt(n)`` (sample sd,
ddof=1); a seed whose value is NaN (e.g. no job completed) is left out and
``n`` counts the rest. With one value the interval is NaN and the table says
so. Pooled percentiles put all seeds' completed jobs together.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from hqsched import tables
from hqsched.files import atomic_write_text
from hqsched.online.config import SUMMARY_FIELDS, ReplicationResult

CONFIDENCE = 0.95
PERCENTILES = (25, 50, 75, 95, 99)


def t_interval(values: Iterable[float],
               confidence: float = CONFIDENCE) -> tuple[float, float, float, int]:
    """(mean, ci_low, ci_high, n) of the finite ``values``; CI is NaN when n < 2."""
    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    n = int(x.size)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(x.mean())
    if n < 2:
        return mean, math.nan, math.nan, n
    half = float(sps.t.ppf(0.5 + confidence / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half, n


def replications_table(results: Sequence[ReplicationResult]) -> pd.DataFrame:
    """One row per seed, the columns of SUMMARY_FIELDS (plus any extra the engine reports)."""
    names = list(SUMMARY_FIELDS) + sorted({k for r in results for k in r.summary}
                                          - set(SUMMARY_FIELDS))
    rows = [{"seed": r.seed, **{k: r.summary.get(k, math.nan) for k in names}} for r in results]
    return pd.DataFrame(rows, columns=["seed", *names])


def summarize(results: Sequence[ReplicationResult]) -> pd.DataFrame:
    """Per summary metric: mean, ci_low, ci_high, n over seeds (index = metric)."""
    table = replications_table(results)
    rows = {m: t_interval(table[m].astype(float)) for m in table.columns if m != "seed"}
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=["mean", "ci_low", "ci_high", "n"])
    return frame.rename_axis("metric")


def jobs_frame(results: Sequence[ReplicationResult]) -> pd.DataFrame:
    """Every job record of every seed in one frame, with a ``seed`` column."""
    frames = []
    for r in results:
        if r.jobs is None:
            raise ValueError(f"seed {r.seed}: no job records in this result (they went to a sink)")
        frames.append(pd.DataFrame({"seed": r.seed, **{k: np.asarray(v) for k, v in r.jobs.items()}}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def pooled_percentiles(results: Sequence[ReplicationResult],
                       percentiles: Sequence[float] = PERCENTILES) -> pd.Series:
    """Percentiles of the execution time (s) of all completed jobs of all seeds."""
    jobs = jobs_frame(results)
    times = jobs.loc[jobs["status"] == "completed", "job_time_s"].to_numpy(float) \
        if len(jobs) else np.empty(0)
    values = np.percentile(times, percentiles) if times.size else [math.nan] * len(percentiles)
    return pd.Series(values, index=[f"p{p:g}" for p in percentiles], name="job_time_s")


def breakdown(results: Sequence[ReplicationResult], by: str) -> pd.DataFrame:
    """Per value of ``by`` ("qubits" or "priority").

    Counts are totals over seeds; ``drop_probability`` is pooled; job time
    mean has a t-interval across seeds (of per-seed means); percentiles are
    pooled over completed jobs.
    """
    jobs = jobs_frame(results)
    if jobs.empty:
        return pd.DataFrame()
    rows = []
    for value, group in jobs.groupby(by, sort=True):
        done = group[group["status"] == "completed"]
        counts = group["status"].value_counts()
        arrived = len(group)
        dropped = int(counts.get("dropped", 0))
        per_seed = done.groupby("seed")["job_time_s"].mean()
        mean, lo, hi, n = t_interval(per_seed.to_numpy(float))
        t = done["job_time_s"].to_numpy(float)
        pct = np.percentile(t, PERCENTILES) if t.size else [math.nan] * len(PERCENTILES)
        rows.append({by: value, "arrived": arrived, "dropped": dropped,
                     "completed": int(counts.get("completed", 0)),
                     "censored": int(counts.get("censored", 0)),
                     "drop_probability": dropped / arrived if arrived else math.nan,
                     "job_time_mean_s": mean, "job_time_mean_ci_low_s": lo,
                     "job_time_mean_ci_high_s": hi, "n_seeds": n,
                     **{f"job_time_p{p}_s": v for p, v in zip(PERCENTILES, pct)}})
    return pd.DataFrame(rows).set_index(by)


#: Seconds per hour: human output gives job times in hours, as reports do (files keep s).
HOUR_S = 3600.0
#: Metrics that are probabilities or fractions, in [0, 1]; every other summary metric
#: (counts, times, time-averaged numbers of tasks) is >= 0.
UNIT_INTERVAL_METRICS = frozenset({"drop_probability", "qc_utilization"})
#: Marks an interval clipped to its metric's range (``clip_interval``).
CLIPPED = "\u2020"
#: What the mark means (printed under a table that has one).
CLIPPED_NOTE = (f"{CLIPPED} interval clipped to the metric's physical range ([0, 1] for "
                f"probabilities and utilisation, >= 0 otherwise): with few seeds the t "
                f"interval is wide and crosses it; run more seeds for a tighter one")


def clip_interval(metric: str, low: float, high: float) -> tuple[float, float, bool]:
    """(low, high, clipped): a t interval cut to ``metric``'s physical range, where the
    symmetric t interval of few, skewed per-seed values can reach past it."""
    top = 1.0 if metric in UNIT_INTERVAL_METRICS or metric.startswith(GROUP_UTILIZATION) \
        else math.inf
    new_low, new_high = max(low, 0.0), min(high, top)
    return new_low, new_high, (new_low, new_high) != (low, high)

#: Rows of the printed table: (label, summary metric, scale, unit).
TABLE_ROWS = (
    ("drop probability", "drop_probability", 1.0, ""),
    ("job time mean", "job_time_mean_s", 1 / HOUR_S, "h"),
    ("job time p50", "job_time_p50_s", 1 / HOUR_S, "h"),
    ("job time p95", "job_time_p95_s", 1 / HOUR_S, "h"),
    ("job time p99", "job_time_p99_s", 1 / HOUR_S, "h"),
    ("avg classical tasks", "avg_classical_active", 1.0, ""),
    ("avg quantum in service", "avg_quantum_in_service", 1.0, ""),
    ("avg quantum pending", "avg_quantum_pending", 1.0, ""),
    ("QC utilization", "qc_utilization", 1.0, ""),
    ("censored jobs", "censored", 1.0, ""),
    ("completed jobs", "completed", 1.0, ""),
    # Issue 17's feature metrics (docs/platform-features.md): in a summary only when the
    # feature is on, so shown only then (QC utilisation per group: ``feature_rows``).
    ("sessions opened", "sessions", 1.0, ""),
    ("session idle QC time", "session_idle_qc_s", 1 / HOUR_S, "h"),
    ("avg QCs reserved by sessions", "avg_quantum_reserved", 1.0, ""),
    ("cold starts", "cold_starts", 1.0, ""),
    ("instance wait, all tasks", "instance_wait_s", 1 / HOUR_S, "h"),
    ("warm instance time", "warm_instance_s", 1 / HOUR_S, "h"),
    ("avg function instances", "avg_instances", 1.0, ""),
)
#: Per-group QC utilisation of a fleet: summary metric ``qc_utilization_<group>``.
GROUP_UTILIZATION = "qc_utilization_"


def table_rows(metrics: Iterable[str]) -> list[tuple[str, str, float, str]]:
    """``TABLE_ROWS`` plus one row per fleet group's utilisation found in ``metrics``."""
    groups = [(f"QC utilization {m.removeprefix(GROUP_UTILIZATION)}", m, 1.0, "")
              for m in metrics if m.startswith(GROUP_UTILIZATION)]
    at = [row[1] for row in TABLE_ROWS].index("qc_utilization") + 1
    return [*TABLE_ROWS[:at], *groups, *TABLE_ROWS[at:]]


def format_table(summary: pd.DataFrame, title: str = "") -> str:
    """Aligned plain-text table: metric, mean, 95% CI across seeds."""
    n_max = int(summary["n"].max()) if len(summary) else 0
    lines = []
    if title:
        lines.append(title)
    header = ("metric", "mean", "95% CI (t, across seeds)", "n")
    body = []
    clipped = False
    for label, metric, scale, unit in table_rows(summary.index):
        if metric not in summary.index:
            continue
        row = summary.loc[metric]
        n = int(row["n"])
        mean = format_number(row["mean"] * scale)
        if n >= 2:
            low, high, cut = clip_interval(metric, row["ci_low"], row["ci_high"])
            clipped |= cut
            ci = f"[{format_number(low * scale)}, {format_number(high * scale)}]" \
                + (CLIPPED if cut else "")
        else:
            ci = "n/a (needs >= 2 seeds)" if n == 1 else "n/a (no value)"
        body.append((f"{label}{' (' + unit + ')' if unit else ''}", mean, ci, str(n)))
    lines.append(tables.format_table(header, body, align="<><>"))
    if n_max == 1:
        lines.append("(one seed: no confidence interval; run more seeds for one)")
    if clipped:
        lines.append(CLIPPED_NOTE)
    return "\n".join(lines)


def format_number(x: float) -> str:
    """Short human-readable number for tables (4 significant digits, thousands separators)."""
    if x is None or not math.isfinite(x):
        return "nan"
    if x == 0 or 1e-3 <= abs(x) < 1e6:
        return f"{x:,.4g}" if abs(x) < 1000 else f"{x:,.0f}"
    return f"{x:.3e}"


def write_stats(out_dir: str | Path, results: Sequence[ReplicationResult]) -> pd.DataFrame:
    """Write summary.csv, replications.csv and the two breakdowns; return the summary."""
    out = Path(out_dir)
    summary = summarize(results)
    atomic_write_text(out / "summary.csv", summary.to_csv(float_format=None))
    atomic_write_text(out / "replications.csv", replications_table(results).to_csv(index=False))
    for by in ("qubits", "priority"):
        atomic_write_text(out / f"by_{by}.csv", breakdown(results, by).to_csv())
    return summary
