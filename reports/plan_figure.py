"""The figure of ``hqsched plan simulate``: heat map of the (C, Q) grid and metric curves.

Top panel: one cell per candidate (x = C classical workers, y = Q quantum
computers), coloured by verdict (feasible / feasible not significant /
infeasible not significant / infeasible / dominated, not evaluated) and
annotated with the mean of its binding metric (the target metric with the
largest mean / target) and the seeds run. The recommended cell has a thick
black frame; a red arrow from one cell to its neighbour marks a significant
worsening of a target metric when that resource is added (paired t-test,
``hqsched.planning.sequential``).

Bottom panels: one per target metric, its mean and 95% t interval against C,
one line per Q evaluated, and the target as a dashed line; points where
adding a classical worker makes the metric significantly worse are circled.
Drop probabilities span decades (0.001 to 0.5), so their axis is logarithmic
(symmetric log: linear below a tenth of the target, so that 0 can be drawn);
intervals are clipped to [0, 1].
"""

from __future__ import annotations

import math
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from hqsched.errors import InputError
from hqsched.experiments.statistics import clip_interval
from hqsched.planning import sequential as ps
from hqsched.planning.simulated import (
    DOMINATED,
    LABELS,
    METRICS,
    NOT_EVALUATED,
    PlanResult,
    fmt_value,
)
from hqsched.reports import style

COLOURS = {
    ps.FEASIBLE: "#1a9850",
    ps.FEASIBLE_NS: "#a6d96a",
    ps.INFEASIBLE_NS: "#fdae61",
    ps.INFEASIBLE: "#d73027",
    DOMINATED: "#d9d9d9",
    NOT_EVALUATED: "#ffffff",
}
SHORT = {"drop": "drop", "p95": "p95", "mean": "mean"}


def write_figure(result: PlanResult, path: str | Path) -> Path:
    """Write ``plan_figure(result)`` to ``path`` (PNG, or PDF / SVG by its suffix) and
    return it."""
    style.save(plan_figure(result), path)
    return Path(path)


def plan_figure(result: PlanResult, ax: Axes | None = None) -> Figure:
    """The figure of ``hqsched plan simulate``: the heat map and one panel of curves per
    target metric, on a new figure; with ``ax``, the heat map only, drawn on it (the
    curves: ``plan_curves_figure``)."""
    with style.figure_style():
        if ax is not None:
            _heat_map(ax, result, *_axes_values(result))
            return style.root_figure(ax)
        return _figure(result)


def plan_curves_figure(result: PlanResult, metric: str, ax: Axes | None = None) -> Figure:
    """Mean and 95% CI of target ``metric`` ("drop", "p95" or "mean") against C, one line
    per Q, with the target; on ``ax`` or a new figure."""
    if metric not in result.targets:
        raise InputError(f"metric: must be one of the plan's targets "
                         f"{', '.join(result.targets)}, got {metric!r}")
    with style.figure_style():
        ax, _ = style.target(ax, 3.0)
        _curves(ax, result, metric, _axes_values(result)[0])
        return style.root_figure(ax)


def _axes_values(result: PlanResult) -> tuple[list[int], list[int]]:
    """The C values and the Q values of the candidates, ascending."""
    return (sorted({k.classical for k in result.candidates}),
            sorted({k.quantum for k in result.candidates}))


def _figure(result: PlanResult) -> Figure:
    tau = result.targets
    cs, qs = _axes_values(result)
    n_metrics = len(tau)
    width = max(style.FIGURE_WIDTH_IN, 1.15 * len(cs) + 2.5)
    heat_h = max(1.6, 0.75 * len(qs) + 1.2)
    fig = style.new_figure(heat_h + 3.0 * n_metrics + 0.6, width_in=width)
    grid = fig.add_gridspec(1 + n_metrics, 1, height_ratios=[heat_h] + [3.0] * n_metrics,
                            hspace=0.55)
    ax = fig.add_subplot(grid[0])
    _heat_map(ax, result, cs, qs)
    for i, m in enumerate(tau):
        _curves(fig.add_subplot(grid[1 + i]), result, m, cs)
    return fig


def _heat_map(ax: Axes, result: PlanResult, cs: list[int], qs: list[int]) -> None:
    tau = result.targets
    for k in result.candidates:
        x, y = k.classical, k.quantum
        ax.add_patch(Rectangle((x - 0.5, y - 0.5), 1, 1, facecolor=COLOURS.get(k.verdict, "w"),
                               edgecolor="white", linewidth=1.5))
        if k.evaluated:
            m = k.binding(tau)
            mean = k.interval(m)[0]
            label = fmt_value(m, mean).replace(" h", "h").replace(" s", "s")
            if len(tau) > 1:
                label = f"{SHORT[m]} {label}"
            ax.text(x, y + 0.1, label, ha="center", va="center", fontsize=8.5)
            ax.text(x, y - 0.25, f"n={len(k.seeds)}", ha="center", va="center", fontsize=7,
                    color="#333333")
        elif k.verdict == DOMINATED:
            ax.text(x, y, "dominated", ha="center", va="center", fontsize=7, color="#555555")
    rec = result.recommended
    if rec is not None:
        ax.add_patch(Rectangle((rec.classical - 0.47, rec.quantum - 0.47), 0.94, 0.94,
                               fill=False, edgecolor="black", linewidth=3))
    for w in result.worse:
        if not w.significant:
            continue
        (c0, q0), (c1, q1) = w.less, w.more
        ax.annotate("", xy=(c0 + 0.75 * (c1 - c0), q0 + 0.75 * (q1 - q0)),
                    xytext=(c0 + 0.25 * (c1 - c0), q0 + 0.25 * (q1 - q0)),
                    arrowprops=dict(arrowstyle="-|>", color="#b2182b", lw=2.2))
    ax.set_xlim(cs[0] - 0.5, cs[-1] + 0.5)
    ax.set_ylim(qs[0] - 0.5, qs[-1] + 0.5)
    ax.set_xticks(cs)
    ax.set_yticks(qs)
    ax.set_xlabel("C (classical workers)")
    ax.set_ylabel("Q (quantum computers)")
    ax.set_aspect("auto")
    targets = ", ".join(f"{SHORT[m]} <= {fmt_value(m, v)}" for m, v in tau.items())
    title = f"targets: {targets}; cost {result.cost.classical:g}C + {result.cost.quantum:g}Q"
    if rec is not None:
        title += f"\nrecommended C={rec.classical}, Q={rec.quantum}" + \
            ("" if result.significant else " (uncertain)")
    else:
        title += "\nno feasible candidate in range"
    ax.set_title(title, fontsize=10)
    used = {k.verdict for k in result.candidates}
    handles = [Patch(facecolor=COLOURS[v], edgecolor="#999999", label=v) for v in COLOURS
               if v in used]
    if any(w.significant for w in result.worse):
        handles.append(Patch(facecolor=to_rgba("#b2182b"), label="significantly worse with +1"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
              frameon=False)


def _curves(ax: Axes, result: PlanResult, metric: str, cs: list[int]) -> None:
    tau = result.targets[metric]
    scale, unit = (1.0, "") if metric == "drop" else (3600.0, " (h)")
    by_q: dict[int, list] = {}
    for k in result.candidates:
        if k.evaluated:
            by_q.setdefault(k.quantum, []).append(k)
    for q, ks in sorted(by_q.items()):
        ks.sort(key=lambda k: k.classical)
        xs, ys, lo, hi = [], [], [], []
        for k in ks:
            mean, a, b, _ = k.interval(metric)
            if not math.isfinite(mean):
                continue
            if math.isfinite(a) and math.isfinite(b):  # within [0, 1] / >= 0
                a, b, _ = clip_interval(METRICS[metric], a, b)
            xs.append(k.classical)
            ys.append(mean / scale)
            lo.append((mean - a) / scale if math.isfinite(a) else 0.0)
            hi.append((b - mean) / scale if math.isfinite(b) else 0.0)
        if xs:
            ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=3, label=f"Q={q}")
    for w in result.worse:
        if w.significant and w.metric == metric and w.more[0] != w.less[0]:
            k = result.by_point()[w.more]
            ax.plot([k.classical], [k.interval(metric)[0] / scale], "o", ms=14, mfc="none",
                    mec="#b2182b", mew=2)
    ax.axhline(tau / scale, color="black", ls="--", lw=1, label="target")
    ax.set_xticks(cs)
    ax.set_xlabel("C (classical workers)")
    ax.set_ylabel(LABELS[metric].split(" (")[0] + unit)
    if metric == "drop":  # small probabilities would be squashed on a linear axis
        ax.set_yscale("symlog", linthresh=max(tau / 10, 1e-6))
        ax.set_ylim(bottom=0.0)  # a probability: nothing below 0 to show
        ax.set_ylabel(f"{LABELS[metric].split(' (')[0]} (log scale,\nlinear below "
                      f"{max(tau / 10, 1e-6):g})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title(f"{LABELS[metric].split(' (')[0]}: mean and 95% CI over seeds "
                 f"(red circle: significantly worse than C-1)", fontsize=9)
