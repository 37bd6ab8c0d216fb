"""The figure and report page of a gap study (``hqsched gap --out DIR``).

The study's directory holds ``gap_instances.csv`` (one row per instance,
policy and mode) and ``gap_summary.csv``, written when the run ends
(``hqsched.validation.gap``, which only makes data), and ``gap_boxplot.png``
(``write_boxplot``, called by ``hqsched gap``). The page recomputes the
summary from the per-instance rows (``hqsched.validation.gap.summarize``: the
same numbers), copies the rows beside it and draws the box plot again in the
report's figure format.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from hqsched.errors import InputError
from hqsched.experiments import statistics as stats
from hqsched.reports import style
from hqsched.validation.gap import INSTANCES_CSV, MODES, summarize

#: The box plot ``hqsched gap`` writes beside the study's tables.
BOXPLOT_PNG = "gap_boxplot.png"
#: Box colours: ratio to the incumbent (a lower estimate), to the bound (an upper one).
RATIO_COLOURS = {"ratio_inc": "#4C72B0", "ratio_bound": "#DD8452"}
RATIO_LABELS = {"ratio_inc": "vs incumbent (lower estimate)",
                "ratio_bound": "vs best bound (upper estimate)"}
MODE_TITLES = {"dedicated": "Dedicated: online / offline optimum",
               "serverless": "Serverless: online / C=\u221e bound"}


class PageLike(Protocol):
    """What this module writes on (``hqsched.reports.report.Page``)."""

    def h(self, level: int, text: str) -> None: ...
    def p(self, text: str) -> None: ...
    def img(self, file: str, alt: str) -> None: ...
    def table(self, frame: pd.DataFrame) -> None: ...


def write_boxplot(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``gap_figure(frame)`` to ``path`` (PNG, or PDF / SVG by its suffix)."""
    style.save(gap_figure(frame), path)


def gap_figure(frame: pd.DataFrame, ax: Axes | None = None, mode: str | None = None
               ) -> Figure:
    """Box plots of a gap study's ratios (``frame``: its per-instance rows, as
    ``run_study`` returns or ``gap_instances.csv`` holds): per policy, a box of the
    ratio to the incumbent and one to the bound, a panel per mode (one above the other) on a new figure;
    with ``ax``, the panel of ``mode`` (default: the first mode in ``frame``) on it."""
    modes = [m for m in MODES if (frame["mode"] == m).any()] if len(frame) else []
    if not modes:
        raise InputError("gap figure: the study has no rows (interrupted before any "
                         "instance finished?)")
    with style.figure_style():
        if ax is not None:
            _ratio_panel(ax, frame, mode or modes[0])
            return style.root_figure(ax)
        # Panels one above the other: the common width holds every policy's two boxes.
        fig = style.new_figure(3.3 * len(modes) + 0.35)
        axes = fig.subplots(len(modes), 1, squeeze=False)[:, 0]
        for panel, name in zip(axes, modes):
            _ratio_panel(panel, frame, name)
        handles = [Rectangle((0, 0), 1, 1, color=c, alpha=0.75)
                   for c in RATIO_COLOURS.values()]
        fig.legend(handles, list(RATIO_LABELS.values()), loc="lower center", ncol=2,
                   frameon=False)
        fig.tight_layout(rect=(0, 0.35 / fig.get_figheight(), 1, 1))  # room for the legend
        return fig


def _ratio_panel(ax: Axes, frame: pd.DataFrame, mode: str) -> None:
    """One mode: per policy a box per ratio (mean marked), a dashed line at ratio 1."""
    if mode not in MODES:
        raise InputError(f"mode: must be one of {', '.join(MODES)}, got {mode!r}")
    g = frame[frame["mode"] == mode]
    policies = sorted(frame["policy"].unique())
    data, pos, colours = [], [], []
    for i, p in enumerate(policies):
        gp = g[g["policy"] == p]
        for j, (col, colour) in enumerate(RATIO_COLOURS.items()):
            data.append(gp[col].dropna().to_numpy(dtype=float))
            pos.append(3 * i + j)
            colours.append(colour)
    bp = ax.boxplot(data, positions=pos, widths=0.8, patch_artist=True, showmeans=True,
                    flierprops={"markersize": 3}, medianprops={"color": "black"},
                    meanprops={"marker": "^", "markerfacecolor": "white",
                               "markeredgecolor": "black", "markersize": 5})
    for patch, colour in zip(bp["boxes"], colours):
        patch.set_facecolor(colour)
        patch.set_alpha(0.75)
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_xticks([3 * i + 0.5 for i in range(len(policies))], policies)
    n_inst = g["instance"].nunique()
    proven = int(g.drop_duplicates("instance")["proven"].sum())
    ax.set_title(f"{MODE_TITLES[mode]}\n({n_inst} instances, {proven} proven optimal)")
    ax.set_ylabel("sum of delays ratio")
    ax.grid(axis="y", alpha=0.3)


def fill(page: PageLike, root: Path, out: Path, fmt: str = "png") -> tuple[Any, str]:
    """Write the gap study of ``root`` on ``page`` (its rows copied to ``out``, its box
    plot drawn there in format ``fmt``: png, pdf or svg); return (the page, its title)."""
    rows = root / INSTANCES_CSV
    if not rows.is_file():
        raise InputError(f"{root}: a gap study without {INSTANCES_CSV} (interrupted before "
                         f"its end?); rerun the same `hqsched gap ... --out {root}` to finish it")
    frame = pd.read_csv(rows)
    config = json.loads((root / "config.json").read_text(encoding="utf-8"))
    title = "Gap study: online policies versus the offline optimum"
    page.h(1, title)
    page.p(f"Results `{root}`: {frame['instance'].nunique()} instance(s) of "
           f"{config.get('jobs')} jobs x {config.get('iterations')} iterations, "
           f"C = {config.get('classical_workers')}, Q = {config.get('quantum_computers')}, "
           f"mean inter-arrival {config.get('interarrival_s')} s, "
           f"{'weighted' if config.get('weighted') else 'unweighted'} sum of delays. "
           f"Ratio = online sum of delays / offline reference: the dedicated optimum "
           f"(dedicated mode) or the C = infinity bound (serverless mode, which "
           f"over-states the gap). When an optimum is not proven within the time limit, "
           f"the ratio to the incumbent is a lower estimate and the ratio to the best "
           f"bound an upper one.")
    page.h(2, "Summary per mode and policy")
    table = _summary_table(summarize(frame))
    page.table(table)
    page.p("`best`: instances on which the policy's online sum of delays is the smallest "
           "of all policies in its mode (ties count for each). Means with a 95% Student t "
           f"interval across instances. Every row: [{INSTANCES_CSV}]({INSTANCES_CSV}).")
    if table.map(lambda v: stats.CLIPPED in str(v)).any().any():
        page.p(stats.CLIPPED_NOTE + " (here: instances).")
    shutil.copyfile(rows, out / INSTANCES_CSV)
    if len(frame):
        name = f"{Path(BOXPLOT_PNG).stem}.{fmt}"
        write_boxplot(frame, out / name)
        page.h(2, "Ratios per policy")
        page.img(name, "gap ratios per policy")
    return page, title


def _interval(mean: float, low: float, high: float) -> str:
    """``mean [low, high]``, the interval clipped at 0 (a ratio of sums of delays) and then
    marked ``stats.CLIPPED``."""
    low, high, clipped = stats.clip_interval("ratio", low, high)
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]" + (stats.CLIPPED if clipped else "")


def _summary_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary with formatted cells: ratio mean [95% CI], median, p95, max."""
    table = summary[["mode", "policy", "n", "proven", "best_online"]].rename(
        columns={"best_online": "best"})
    for col, label in (("ratio_inc", "vs incumbent"), ("ratio_bound", "vs bound")):
        table[f"ratio {label}: mean [95% CI]"] = [
            _interval(m, lo, hi) for m, lo, hi in
            zip(summary[f"{col}_mean"], summary[f"{col}_ci_low"], summary[f"{col}_ci_high"])]
        for stat in ("median", "p95", "max"):
            table[f"{stat} ({label})"] = [f"{v:.3f}" for v in summary[f"{col}_{stat}"]]
    return table
