"""The paper's qualitative findings (Section IV) checked against a campaign's numbers.

Each row: the finding (paraphrased), what this campaign measured (means
with 95% CIs across seeds), and whether it agrees. Only findings whose axes
the campaign varied are checked.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hqsched.experiments.statistics import format_number
from hqsched.reports import campaign_data as rd

HOUR = 3600.0


def paper_comparison(data: rd.CampaignData, summary: pd.DataFrame) -> pd.DataFrame | None:
    """Rows (finding, ours, agrees) for the axes present; None when none applies."""
    rows: list[dict[str, str]] = []
    if "policy" in data.varied() and len(data.varied()) == 1:
        rows += _policy_rows(data, summary)
    varied = set(data.varied())
    if varied == {"classical-workers", "interarrival"}:
        rows += _resource_rows(summary, "classical-workers", "C")
    if varied == {"quantum-computers", "interarrival"}:
        rows += _resource_rows(summary, "quantum-computers", "Q")
    return pd.DataFrame(rows, columns=["paper", "this campaign", "agrees"]) if rows else None


def _ci(summary: pd.DataFrame, key: str, metric: str, scale: float = 1.0) -> str:
    row = summary.loc[key]
    lo, hi = row[f"{metric}_ci_low"], row[f"{metric}_ci_high"]
    return (f"{format_number(row[metric] / scale)} "
            f"[{format_number(lo / scale)}, {format_number(hi / scale)}]")


def _yes(flag: bool) -> str:
    return "yes" if flag else "**no**"


def _policy_rows(data: rd.CampaignData, summary: pd.DataFrame) -> list[dict[str, str]]:
    key_of = {str(p): k for k, p in summary["policy"].items()}
    sorted_ = [p for p in ("fifo", "lifo") if p in key_of]
    randomised = [p for p in ("random", "weighted") if p in key_of]
    rows = []
    if sorted_ and randomised:
        med = {p: summary.loc[key_of[p], "job_time_p50_s"] for p in key_of}
        tail = {p: summary.loc[key_of[p], "job_time_p99_s"] for p in key_of}
        rows.append({
            "paper": "FIFO and LIFO: lower job times for most jobs (box, median) than Random "
                     "and Weighted",
            "this campaign": "per-seed median (h): " + "; ".join(
                f"{p} {_ci(summary, key_of[p], 'job_time_p50_s', HOUR)}" for p in key_of),
            "agrees": _yes(max(med[p] for p in sorted_) < min(med[p] for p in randomised))})
        rows.append({
            "paper": "FIFO and LIFO: heavier tail (many high outliers); randomised policies "
                     "cut the tail",
            "this campaign": "per-seed p99 (h): " + "; ".join(
                f"{p} {_ci(summary, key_of[p], 'job_time_p99_s', HOUR)}" for p in key_of),
            "agrees": _yes(min(tail[p] for p in sorted_) > max(tail[p] for p in randomised))})
    by_prio = rd.group_breakdown(data, "priority")
    if "weighted" in key_of and by_prio["priority"].nunique() > 1:
        w = by_prio.loc[key_of["weighted"]].sort_values("priority")
        means = w["job_time_mean_s"].to_numpy(float)
        rows.append({
            "paper": "Weighted: higher-priority jobs finish faster (time ordered by priority)",
            "this campaign": "weighted, mean job time (h) by priority: " + "; ".join(
                f"{int(r.priority)}: {format_number(r.job_time_mean_s / HOUR)} "
                f"[{format_number(r.job_time_mean_ci_low_s / HOUR)}, "
                f"{format_number(r.job_time_mean_ci_high_s / HOUR)}]"
                for r in w.itertuples()),
            "agrees": _yes(bool(np.all(np.diff(means) < 0)))})
        blind = [p for p in ("fifo", "lifo", "random") if p in key_of]
        if blind:
            spread, overlap = {}, True
            for p in blind:
                g = by_prio.loc[key_of[p]]
                m = g["job_time_mean_s"].to_numpy(float)
                spread[p] = m.max() / m.min() - 1
                # Same time for every priority = all the CIs share a common value.
                overlap &= bool(g["job_time_mean_ci_low_s"].max()
                                <= g["job_time_mean_ci_high_s"].min())
            rows.append({
                "paper": "FIFO, LIFO, Random: the same job time for every priority",
                "this campaign": "largest relative gap between priority means: " + "; ".join(
                    f"{p} {100 * s:.1f}%" for p, s in spread.items())
                    + (" (95% CIs overlap)" if overlap else " (some 95% CIs are disjoint)"),
                "agrees": _yes(overlap)})
    drops = summary["drop_probability"].to_numpy(float)
    rows.append({
        "paper": "Drop probability similar for all policies, about 15% on average",
        "this campaign": "; ".join(f"{p} {_ci(summary, k, 'drop_probability')}"
                                   for p, k in key_of.items()),
        "agrees": _yes(bool(0.10 <= drops.mean() <= 0.20 and np.ptp(drops) < 0.03))})
    return rows


def _resource_rows(summary: pd.DataFrame, resource: str, sym: str) -> list[dict[str, str]]:
    frame = summary.assign(load=rd.load_axis(summary["interarrival"]))
    rows = []
    argmin, argmax, mono = {}, {}, True
    for load, g in frame.groupby("load"):
        g = g.sort_values(resource)
        d = g["drop_probability"].to_numpy(float)
        r = g[resource].to_numpy()
        argmin[load], argmax[load] = r[np.argmin(d)], r[np.argmax(d)]
        # "Decreasing" up to sampling noise: no rise beyond the CIs' half-widths.
        half = (g["drop_probability_ci_high"] - g["drop_probability_ci_low"]).to_numpy() / 2
        rises = np.diff(d) > np.nan_to_num(half[1:] + half[:-1], nan=0.0)
        mono &= not bool(rises.any())
    where = "; ".join(f"{load:.3g}/h: min at {sym}={argmin[load]:g}, max at "
                      f"{sym}={argmax[load]:g}" for load in sorted(argmin))
    if sym == "Q":
        rows.append({"paper": "Drop probability falls steadily as Q grows, at every load "
                              "(Fig. 11)",
                     "this campaign": where, "agrees": _yes(mono)})
    else:
        first = min(frame[resource])
        last = max(frame[resource])
        nonmono = [load for load in argmin
                   if argmax[load] == first and first < argmin[load] < last]
        rows.append({"paper": "Drop probability worst at C=1, lowest at a small C (2), then "
                              "rising again with more C: non-monotonic (Fig. 12)",
                     "this campaign": where + f" (non-monotonic at {len(nonmono)} of "
                                              f"{len(argmin)} loads)",
                     "agrees": _yes(len(nonmono) >= len(argmin) / 2)})
        trend = []
        for _load, g in frame.groupby("load"):
            g = g.sort_values(resource)
            trend.append((g["avg_classical_active"].iloc[-1] < g["avg_classical_active"].iloc[0],
                          g["avg_quantum_tasks"].iloc[-1] > g["avg_quantum_tasks"].iloc[0]))
        ok = sum(a and b for a, b in trend)
        rows.append({"paper": "More C: fewer classical tasks in the system, more quantum "
                              "tasks (Fig. 13)",
                     "this campaign": f"holds from C={first:g} to C={last:g} at {ok} of "
                                      f"{len(trend)} loads",
                     "agrees": _yes(ok >= len(trend) / 2)})
    return rows
