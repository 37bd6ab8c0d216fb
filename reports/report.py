"""The report of a run: figures (matplotlib, Agg), CSV tables and a Markdown page.

It takes the output directory of ``campaign run``, ``plan simulate`` (a
campaign, plus its plan.txt and plan.png), ``simulate`` (read as a campaign
of one point per policy, ``campaign_data.load``) or ``gap`` (its own page,
``gap_report``); every page ends with the provenance of the results and of
the report (``hqsched.provenance``). ``--html`` renders the page with
``hqsched.reports.html`` (no Markdown package).

The figures follow the paper's Section IV and are drawn only when the
campaign varied their axes:

- job execution time box plots per grid point (e.g. per policy), grouped by
  qubits and by priority (Fig. 10) - campaigns of at most 12 points;
- heat maps over resource x load of the drop probability (Q: Fig. 11,
  C: Fig. 12) and of the average classical and quantum tasks (Fig. 13);
- job execution time box plots per resource value at 8 jobs/h, i.e. a 450 s
  mean inter-arrival time (Fig. 14).

Box plots (log time axis for the per-point ones) show the quartiles, whiskers
at 1.5 IQR and outliers as dots, over the completed jobs of all seeds; jobs
still running at the end are censored: left out of the boxes, counted in
the figure's title, the page and the tables. Every mean in the tables and
heat maps carries its 95% t interval across seeds, clipped to the metric's
physical range (``statistics.clip_interval``, marked and explained on the
page). The paper comparison is drawn only for the paper's scenario
(``campaign_data.paper_differences``). Figures share one width and font set
(``hqsched.reports.style``), as PNG, PDF or SVG.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hqsched import provenance
from hqsched.errors import InputError
from hqsched.experiments import statistics as stats
from hqsched.experiments.statistics import format_number
from hqsched.files import atomic_write_text
from hqsched.inputs import read_text_file
from hqsched.instances.traces import load_traces
from hqsched.online.policies import policy_label
from hqsched.progress import bar
from hqsched.reports import campaign_data as rd
from hqsched.reports import style
from hqsched.reports.html import page as html_page
from hqsched.reports.paper import attribution, paper_comparison

RESOURCES = {"quantum-computers": ("Q", "quantum computers Q"),
             "classical-workers": ("C", "classical workers C")}
#: Paper Fig. 14's representative load: 8 jobs/h.
FIG14_INTERARRIVAL_S = 450.0
MAX_BOX_POINTS = 12
HOUR = 3600.0


# --------------------------------------------------------------------------
# The page: a list of blocks rendered as Markdown (and optionally HTML)
# --------------------------------------------------------------------------

@dataclass
class Page:
    """Markdown text built block by block; figures are files beside it."""

    lines: list[str] = field(default_factory=list)

    def h(self, level: int, text: str) -> None:
        self.lines += [f"{'#' * level} {text}", ""]

    def p(self, text: str) -> None:
        self.lines += [text, ""]

    def img(self, file: str, alt: str) -> None:
        self.lines += [f"![{alt}]({file})", ""]

    def table(self, frame: pd.DataFrame) -> None:
        """A GitHub-flavoured Markdown table of already formatted cells."""
        cols = [str(c) for c in frame.columns]
        self.lines.append("| " + " | ".join(cols) + " |")
        self.lines.append("|" + "|".join("---" for _ in cols) + "|")
        for row in frame.itertuples(index=False):
            self.lines.append("| " + " | ".join(str(v) for v in row) + " |")
        self.lines.append("")

    def text(self) -> str:
        return "\n".join(self.lines).rstrip() + "\n"


def ci_text(mean: float, lo: float, hi: float, scale: float = 1.0, metric: str = "") -> str:
    """``mean [lo, hi]`` with short numbers; the CI is n/a with fewer than 2 seeds. The
    interval is clipped to ``metric``'s physical range (``stats.clip_interval``: [0, 1]
    for probabilities, >= 0 otherwise) and then marked ``stats.CLIPPED``."""
    if not math.isfinite(mean):
        return "n/a"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return f"{format_number(mean / scale)} [n/a]"
    lo, hi, clipped = stats.clip_interval(metric, lo, hi)
    return (f"{format_number(mean / scale)} "
            f"[{format_number(lo / scale)}, {format_number(hi / scale)}]"
            + (stats.CLIPPED if clipped else ""))


def _ci_col(frame: pd.DataFrame, metric: str, scale: float = 1.0) -> list[str]:
    return [ci_text(m, lo, hi, scale, metric) for m, lo, hi in
            zip(frame[metric], frame[f"{metric}_ci_low"], frame[f"{metric}_ci_high"])]


# --------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------

def _point_labels(data: rd.CampaignData, keys: Sequence[str]) -> list[str]:
    """Short labels of grid points from the varied parameters only."""
    varied = data.varied()
    if not varied:
        return ["all"] * len(keys)
    return ["\n".join(f"{_short(k)}={_fmt(data.params.loc[key, k])}" for k in varied)
            if len(varied) > 1 else _fmt(data.params.loc[key, varied[0]]) for key in keys]


def _short(name: str) -> str:
    return {"quantum-computers": "Q", "classical-workers": "C", "interarrival": "T",
            "worker-capacity": "S"}.get(name, name)


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def box_by_group(data: rd.CampaignData, by: str, path: Path) -> bool:
    """Write ``job_time_by_group_figure`` to ``path`` if it applies; whether it did."""
    if not _groups_apply(data, by):
        return False
    style.save(job_time_by_group_figure(data, by), path)
    return True


def _groups_apply(data: rd.CampaignData, by: str) -> bool:
    """Whether the jobs have two values of ``by`` or more over 1..MAX_BOX_POINTS points."""
    jobs = data.jobs[data.jobs["status"] == "completed"]
    n_points = sum(k in data.results for k in data.params.index)
    return jobs[by].nunique() >= 2 and 1 <= n_points <= MAX_BOX_POINTS


def job_time_by_group_figure(data: rd.CampaignData, by: str, ax: Axes | None = None) -> Figure:
    """Job time (h, log axis) box plots per grid point, one box per value of ``by``
    ("qubits" or "priority"; paper Fig. 10), on ``ax`` or a new figure. InputError when
    the jobs have one value of ``by`` or the campaign more than MAX_BOX_POINTS points."""
    if not _groups_apply(data, by):
        raise InputError(f"job time by {by}: needs two values of {by} or more and 1 to "
                         f"{MAX_BOX_POINTS} grid points")
    with style.figure_style():
        ax, _ = style.target(ax, 4.4)
        _draw_box_by_group(data, by, ax)
        return style.root_figure(ax)


def _draw_box_by_group(data: rd.CampaignData, by: str, ax: Axes) -> None:
    jobs = data.jobs[data.jobs["status"] == "completed"]
    groups = sorted(jobs[by].unique())
    keys = [k for k in data.params.index if k in data.results]
    labels = _point_labels(data, keys)
    width = 0.8 / len(groups)
    colors = colormaps["viridis"](np.linspace(0.1, 0.9, len(groups)))
    for g, (value, color) in enumerate(zip(groups, colors)):
        sel = jobs[jobs[by] == value]
        series = [sel.loc[sel["point"] == k, "job_time_s"].to_numpy(float) / HOUR for k in keys]
        pos = np.arange(len(keys)) + (g - (len(groups) - 1) / 2) * width
        bp = ax.boxplot(series, positions=pos, widths=width * 0.85, patch_artist=True,
                        flierprops=dict(marker=".", markersize=2, alpha=0.3,
                                        markeredgecolor=color),
                        medianprops=dict(color="black"), manage_ticks=False)
        for patch in bp["boxes"]:
            patch.set_facecolor(color)
            patch.set_alpha(0.8)
        ax.plot([], [], "s", color=color, label=f"{value}")
    ax.set_xticks(np.arange(len(keys)), labels)
    ax.set_xlabel(", ".join(data.varied()) or "campaign")
    # Log scale: LIFO-like tails reach 10x the median and would flatten every box.
    ax.set_yscale("log")
    ax.set_ylabel("job execution time (h, log scale)")
    ax.set_title(f"Job execution time by {by} ({_seeds_text(data)})\n"
                 f"{_censored_text(data, keys)}")
    # Beside the axes: inside, it would hide the tallest boxes.
    ax.legend(title=by, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.grid(axis="y", which="both", alpha=0.25)


def heatmap(data: rd.CampaignData, summary: pd.DataFrame, resource: str, metric: str,
            title: str, path: Path, percent: bool = False) -> bool:
    """Write ``heatmap_figure`` to ``path`` if the campaign is resource x load; whether it
    did."""
    if not _is_plane(data, resource):
        return False
    style.save(heatmap_figure(data, resource, metric, title, percent=percent,
                              summary=summary), path)
    return True


def heatmap_figure(data: rd.CampaignData, resource: str, metric: str, title: str = "",
                   ax: Axes | None = None, percent: bool = False,
                   summary: pd.DataFrame | None = None) -> Figure:
    """Mean of ``metric`` (a column of ``campaign_data.point_summary``, e.g.
    "drop_probability") over ``resource`` (x: "quantum-computers" or
    "classical-workers") x load (y, jobs/h), cells annotated with the 95% CI half-width
    (or the clipped interval where it crosses the metric's range); ``percent``: values
    x 100 (paper Figs. 11-13); ``summary``: ``point_summary(data)`` if already computed.
    On ``ax`` or a new figure; InputError unless the campaign varies exactly
    ``resource`` and the inter-arrival time."""
    if not _is_plane(data, resource):
        raise InputError(f"heat map over {resource} x load: the campaign must vary exactly "
                         f"{resource} and interarrival, it varies {data.varied()}")
    if summary is None:
        summary = rd.point_summary(data)
    ys = summary["interarrival"].nunique()
    with style.figure_style():
        ax, _ = style.target(ax, 0.62 * ys + 2.0)
        _draw_heatmap(data, summary, resource, metric, title or metric, ax, percent)
        return style.root_figure(ax)


def _draw_heatmap(data: rd.CampaignData, summary: pd.DataFrame, resource: str, metric: str,
                  title: str, ax: Axes, percent: bool) -> None:
    frame = summary.assign(load=rd.load_axis(summary["interarrival"]))
    xs = sorted(frame[resource].unique())
    ys = sorted(frame["load"].unique())
    mean = np.full((len(ys), len(xs)), np.nan)
    cells: dict[tuple[int, int], str] = {}
    scale = 100.0 if percent else 1.0
    for _, row in frame.iterrows():
        i, j = ys.index(row["load"]), xs.index(row[resource])
        mean[i, j] = row[metric]
        cells[i, j] = _cell_interval(metric, row[f"{metric}_ci_low"],
                                     row[f"{metric}_ci_high"], scale)
    # Colours from 0 (every metric here is >= 0): a negative colour-bar range means nothing.
    top = float(np.nanmax(mean * scale)) if np.isfinite(mean).any() else 1.0
    im = ax.imshow(mean * scale, origin="lower", aspect="auto", cmap="viridis", vmin=0.0,
                   vmax=top if top > 0 else 1.0)
    cbar = ax.figure.colorbar(im, ax=ax)
    cbar.set_label(("%" if percent else "") + " mean across seeds")
    vmin, vmax = np.nanmin(mean * scale), np.nanmax(mean * scale)
    for i in range(len(ys)):
        for j in range(len(xs)):
            if not math.isfinite(mean[i, j]):
                continue
            v = mean[i, j] * scale
            bright = (v - vmin) / (vmax - vmin) > 0.6 if vmax > vmin else False
            ax.text(j, i, f"{v:.3g}{cells[i, j]}", ha="center", va="center", fontsize=7,
                    color="black" if bright else "white")
    ax.set_xticks(range(len(xs)), [f"{x:g}" for x in xs])
    ax.set_yticks(range(len(ys)), [f"{y:.3g} ({3600 / y:g} s)" for y in ys])
    ax.set_xlabel(RESOURCES[resource][1])
    ax.set_ylabel("load, jobs/h (mean inter-arrival)")
    ax.set_title(f"{title}\n(cells: mean ± 95% CI half-width, {_seeds_text(data)}; "
                 f"{stats.CLIPPED} CI clipped to the metric's range)")


def _cell_interval(metric: str, low: float, high: float, scale: float) -> str:
    """A heat map cell's second line: ``±half-width``, or the interval clipped to the
    metric's range (marked) where the t interval crosses it; empty with one seed."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return ""
    lo, hi, clipped = stats.clip_interval(metric, low, high)
    if clipped:
        return f"\n{lo * scale:.2g}–{hi * scale:.2g}{stats.CLIPPED}"
    return f"\n±{(high - low) / 2 * scale:.2g}"


def box_by_resource(data: rd.CampaignData, resource: str, path: Path) -> float | None:
    """Write ``job_time_by_resource_figure`` to ``path`` if it applies; the load used
    (mean inter-arrival, s), or None."""
    chosen = _fig14_points(data, resource)
    if chosen is None:
        return None
    style.save(job_time_by_resource_figure(data, resource), path)
    return chosen[1]


def _fig14_points(data: rd.CampaignData, resource: str) -> tuple[list[str], float] | None:
    """(points in ``resource`` order, their mean inter-arrival time in s) of paper Fig. 14:
    8 jobs/h when the load varies; None unless the grid is ``resource`` (x load)."""
    others = [k for k in data.varied() if k not in (resource, "interarrival")]
    if resource not in data.varied() or others:
        return None
    params = data.params
    if "interarrival" in data.varied():
        at = params["interarrival"].astype(float)
        if not np.isclose(at, FIG14_INTERARRIVAL_S).any():
            return None
        keys = [k for k in params.index[np.isclose(at, FIG14_INTERARRIVAL_S)]
                if k in data.results]
        interarrival = FIG14_INTERARRIVAL_S
    else:
        keys = [k for k in params.index if k in data.results]
        interarrival = float(data.plan["fixed"].get("interarrival", 600.0))
    return sorted(keys, key=lambda k: params.loc[k, resource]), interarrival


def job_time_by_resource_figure(data: rd.CampaignData, resource: str,
                                ax: Axes | None = None) -> Figure:
    """Job time (h) box plots per value of ``resource`` at 8 jobs/h (paper Fig. 14), on
    ``ax`` or a new figure; InputError unless the campaign varies ``resource`` (and at
    most the load, with 450 s among its inter-arrival times)."""
    chosen = _fig14_points(data, resource)
    if chosen is None:
        raise InputError(f"job time per {resource}: the campaign must vary {resource} (and "
                         f"at most interarrival, including {FIG14_INTERARRIVAL_S:g} s), it "
                         f"varies {data.varied()}")
    keys, interarrival = chosen
    params = data.params
    jobs = data.jobs[data.jobs["status"] == "completed"]
    series = [jobs.loc[jobs["point"] == k, "job_time_s"].to_numpy(float) / HOUR for k in keys]
    with style.figure_style():
        ax, _ = style.target(ax, 4.4)
        ax.boxplot(series, patch_artist=True,
                   boxprops=dict(facecolor=colormaps["viridis"](0.6), alpha=0.8),
                   medianprops=dict(color="black"),
                   flierprops=dict(marker=".", markersize=2, alpha=0.3))
        ax.set_xticks(range(1, len(keys) + 1), [f"{params.loc[k, resource]:g}" for k in keys])
        ax.set_xlabel(RESOURCES[resource][1])
        ax.set_ylabel("job execution time (h)")
        ax.set_title(f"Job execution time at {3600 / interarrival:.3g} jobs/h "
                     f"({interarrival:g} s inter-arrival), {_seeds_text(data)}\n"
                     f"{_censored_text(data, keys)}")
        ax.grid(axis="y", alpha=0.3)
        ax.set_ylim(bottom=0)
        return style.root_figure(ax)


def _is_plane(data: rd.CampaignData, resource: str) -> bool:
    """True when the grid is exactly resource x interarrival (both varied)."""
    return set(data.varied()) == {resource, "interarrival"}


def _seeds_text(data: rd.CampaignData) -> str:
    n = data.runs.groupby("point").size()
    return f"{n.min()} seeds" if n.min() == n.max() else f"{n.min()}-{n.max()} seeds"


def _censored_text(data: rd.CampaignData, keys: Sequence[str]) -> str:
    """How many jobs of the points ``keys`` the box plots leave out: censored ones (still
    running when the simulation ended: their time is unknown, only bounded below)."""
    jobs = data.jobs[data.jobs["point"].isin(list(keys))]
    done = int((jobs["status"] == "completed").sum())
    censored = int((jobs["status"] == "censored").sum())
    return (f"{done:,} completed jobs; {censored:,} censored (still running at the end, "
            f"longest tail) left out")


# --------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------

def build_report(results_dir: str | Path, out_dir: str | Path, notes: Path | None = None,
                 html: bool = False, figure_format: str = "png") -> Path:
    """Write figures, tables (CSV) and ``report.md`` for the output directory of
    ``campaign run``, ``simulate``, ``plan simulate`` or ``gap``; return the page path.
    ``html``: also ``report.html`` (``hqsched.reports.html``: no Markdown package).
    ``figure_format``: png, pdf or svg (``hqsched.reports.style``)."""
    if figure_format not in style.FIGURE_FORMATS:
        raise InputError(f"--figure-format: must be one of {', '.join(style.FIGURE_FORMATS)}, "
                         f"got {figure_format!r}")
    # Read --notes first: a missing or non-UTF-8 file is refused before any work.
    notes_text = read_text_file(notes, "--notes").rstrip() if notes is not None else None
    root, out = Path(results_dir), Path(out_dir)
    if rd.results_kind(root) == "gap":
        from hqsched.reports import gap_report  # loads the solvers (Pyomo): only for gap
        out.mkdir(parents=True, exist_ok=True)
        page, title = gap_report.fill(Page(), root, out, figure_format)
    else:
        data = rd.load(root)
        out.mkdir(parents=True, exist_ok=True)
        page, title = _simulation_page(data, out, figure_format), data.plan.get("name", "report")
        _plan_section(page, root, out, figure_format)
    if notes_text is not None:
        page.lines += [notes_text, ""]
    _provenance_section(page, root)
    md = page.text()
    atomic_write_text(out / "report.md", md)
    if html:
        atomic_write_text(out / "report.html", html_page(md, title))
    return out / "report.md"


def _simulation_page(data: rd.CampaignData, out: Path, fmt: str = "png") -> Page:
    """The page of a campaign (or ``simulate`` output): tables and the figures that apply,
    in the file format ``fmt`` (png, pdf or svg)."""
    summary = rd.point_summary(data)
    atomic_write_text(out / "points.csv", summary.to_csv())
    atomic_write_text(out / "runs.csv", data.runs.to_csv(index=False))
    page = Page()
    _header_section(page, data)
    _summary_section(page, data, summary)
    # A bar of the figures (about a second each with tens of thousands of jobs).
    with bar(_figure_count(data), "drawing figures", "figure", delay=1.0,
             leave=False) as drawn:
        figures = _group_figures(page, data, out, fmt, drawn)
        figures += _plane_figures(page, data, summary, out, fmt, drawn)
    if not figures:
        page.p("No figure applies: the campaign varies no axis of the paper's figures.")
    _paper_section(page, data, summary)
    if any(stats.CLIPPED in line for line in page.lines):
        page.p(stats.CLIPPED_NOTE + ".")
    return page


def _header_section(page: Page, data: rd.CampaignData) -> None:
    plan = data.plan
    what = "Simulation" if plan.get("kind") == "simulate" else "Campaign"
    page.h(1, f"{what} report: {plan.get('name', '?')}")
    if plan.get("description"):
        page.p(plan["description"])
    n_done = len(data.runs)
    source = plan.get("source")
    if source == "<api>":  # a campaign built in code (plan simulate): the command made it
        runs = provenance.read_runs(data.root)
        source = runs[0].get("command", source) if runs else source
    page.p(f"Source `{source}`; results `{data.root}`. "
           f"{len(data.params)} grid point(s) x {len(plan['seeds'])} seed(s): {n_done} units "
           f"done, {data.n_left} left, {data.n_failed} failed. Means are across seeds with "
           f"a 95% Student t interval `[low, high]`; percentiles pool the completed jobs of "
           f"all seeds. Times in hours unless marked s.")
    page.h(2, "Parameters")
    fixed = ", ".join(f"`{k} = {rd.display_value(v)}`" for k, v in plan["fixed"].items())
    grid = ", ".join(f"`{k}` in {[rd.display_value(v) for v in vals]}"
                     for k, vals in plan["grid"].items())
    page.p(f"Fixed: {fixed or 'defaults'}. Grid: {grid or 'none'}. Unlisted options take "
           f"the `hqsched simulate` defaults (the paper's small scenario).")
    _fill_in_note(page, data)


#: Summary-table columns of issue 17's feature metrics: metric -> (label, scale); a QC
#: group's utilisation ``qc_utilization_<group>`` is labelled by its metric name.
FEATURE_COLUMNS = {
    "sessions": ("sessions / seed", 1.0),
    "session_idle_qc_s": ("session idle QC (h)", HOUR),
    "avg_quantum_reserved": ("avg QCs in sessions", 1.0),
    "cold_starts": ("cold starts / seed", 1.0),
    "instance_wait_s": ("instance wait (h, total)", HOUR),
    "warm_instance_s": ("warm instance (h)", HOUR),
    "avg_instances": ("avg instances", 1.0),
}


def _summary_section(page: Page, data: rd.CampaignData, summary: pd.DataFrame) -> None:
    page.h(2, "Summary per grid point")
    cols = {"seeds": summary["seeds"]}
    table = summary[list(data.plan["grid"])].copy() if data.plan["grid"] else pd.DataFrame(
        index=summary.index)
    table = table.map(_fmt).assign(**cols)
    table["drop probability"] = _ci_col(summary, "drop_probability")
    table["job time mean (h)"] = _ci_col(summary, "job_time_mean_s", HOUR)
    table["job time p50 (h)"] = _ci_col(summary, "job_time_p50_s", HOUR)
    table["job time p99 (h)"] = _ci_col(summary, "job_time_p99_s", HOUR)
    table["avg classical tasks"] = _ci_col(summary, "avg_classical_active")
    table["avg quantum tasks"] = _ci_col(summary, "avg_quantum_tasks")
    table["QC utilization"] = _ci_col(summary, "qc_utilization")
    table["censored / seed"] = _ci_col(summary, "censored")
    for metric in rd.feature_metrics(data.runs):  # issue 17's features, when a run has them
        label, scale = FEATURE_COLUMNS.get(
            metric, (f"QC utilization {metric.removeprefix('qc_utilization_')}", 1.0))
        table[label] = _ci_col(summary, rd.summary_column(data, metric), scale)
    if "policy" in table:  # clairvoyant policies are benchmarks: say so where they appear
        table["policy"] = table["policy"].map(lambda name: policy_label(str(name)))
        if table["policy"].str.endswith("(clairvoyant)").any():
            page.p("A *clairvoyant* policy knows each job's remaining quantum work: a "
                   "benchmark for what that knowledge buys, not a deployable policy.")
    page.table(table.reset_index(drop=True))
    page.p("Per-seed percentiles (p50, p99) are averaged across seeds; `avg quantum tasks` "
           "counts tasks in service plus pending (the paper's Fig. 13). Full table: "
           "[points.csv](points.csv); one row per unit: [runs.csv](runs.csv).")


def _figure_count(data: rd.CampaignData) -> int:
    """How many figures the page of ``data`` has (``_group_figures``, ``_plane_figures``)."""
    count = sum(_groups_apply(data, by) for by in ("qubits", "priority"))
    for resource in RESOURCES:
        count += 3 * _is_plane(data, resource) + (_fig14_points(data, resource) is not None)
    return count


def _group_figures(page: Page, data: rd.CampaignData, out: Path, fmt: str,
                   drawn: Any) -> list[str]:
    """Job time by qubits and by priority (paper Fig. 10) with their tables; ``drawn``: the
    figures' bar, ticked per figure."""
    figures: list[str] = []
    for by, fig_no in (("qubits", "10, left"), ("priority", "10, right")):
        name = f"job_time_by_{by}.{fmt}"
        if box_by_group(data, by, out / name):
            drawn.update(1)
            figures.append(name)
            page.h(2, f"Job execution time by {by} (paper Fig. {fig_no})")
            page.img(name, f"job time by {by}")
            page.p(f"Boxes: {_censored_text(data, list(data.results))}.")
            breakdown = rd.group_breakdown(data, by)
            atomic_write_text(out / f"by_{by}.csv", breakdown.to_csv())
            page.table(_breakdown_table(data, breakdown, by))
            page.p(f"Mean: across seeds of the per-seed mean, 95% CI. p25..p99: pooled over "
                   f"seeds. Full table: [by_{by}.csv](by_{by}.csv).")
    return figures


def _plane_figures(page: Page, data: rd.CampaignData, summary: pd.DataFrame, out: Path,
                   fmt: str, drawn: Any) -> list[str]:
    """Heat maps over resource x load (paper Figs. 11-13) and job times per resource at
    8 jobs/h (Fig. 14); ``drawn``: the figures' bar, ticked per figure."""
    figures: list[str] = []
    for resource, (sym, _) in RESOURCES.items():
        if not _is_plane(data, resource):
            continue
        fig_drop = "11" if sym == "Q" else "12"
        # (metric, title, file, in percent, paper figure number)
        specs: list[tuple[str, str, str, bool, str | None]] = [
            ("drop_probability", f"Drop probability (%) over {sym} x load",
             f"drop_{sym}_load.{fmt}", True, fig_drop),
            ("avg_classical_active", f"Average classical tasks over {sym} x load",
             f"classical_tasks_{sym}_load.{fmt}", False, "13, left" if sym == "C" else None),
            ("avg_quantum_tasks", f"Average quantum tasks (in service + pending) over "
             f"{sym} x load", f"quantum_tasks_{sym}_load.{fmt}", False,
             "13, right" if sym == "C" else None)]
        for metric, title, name, pct, paper_fig in specs:
            if heatmap(data, summary, resource, metric, title, out / name, percent=pct):
                drawn.update(1)
                figures.append(name)
                page.h(2, title + (f" (paper Fig. {paper_fig})" if paper_fig else ""))
                page.img(name, title)
    for resource, (sym, _label) in RESOURCES.items():
        name = f"job_time_by_{sym}.{fmt}"
        at = box_by_resource(data, resource, out / name)
        if at is not None:
            drawn.update(1)
            figures.append(name)
            page.h(2, f"Job execution time per {sym} at {3600 / at:.3g} jobs/h"
                      + (" (paper Fig. 14)" if sym == "C" else ""))
            page.img(name, f"job time per {sym}")
            sel = summary[np.isclose(summary["interarrival"].astype(float), at)] \
                if "interarrival" in summary else summary
            sel = sel.sort_values(resource)
            t = pd.DataFrame({sym: sel[resource].to_numpy(),
                              "job time mean (h)": _ci_col(sel, "job_time_mean_s", HOUR),
                              "job time p50 (h)": _ci_col(sel, "job_time_p50_s", HOUR),
                              "job time p99 (h)": _ci_col(sel, "job_time_p99_s", HOUR),
                              "drop probability": _ci_col(sel, "drop_probability")})
            page.table(t)
    return figures


def _paper_section(page: Page, data: rd.CampaignData, summary: pd.DataFrame) -> None:
    """The paper's findings checked, only on the paper's scenario (``rd.paper_differences``):
    elsewhere a verdict would compare unlike things; then one line says why it is left out."""
    comparison = paper_comparison(data, summary)
    if comparison is not None:
        differences = rd.paper_differences(data)
        if differences:
            page.p(f"No comparison with the paper's findings (Section IV): this run is not "
                   f"the paper's scenario ({'; '.join(differences[:4])}).")
        else:
            page.h(2, "Comparison with the paper (Section IV)")
            page.table(comparison)
    for heading, text, table in attribution(data, summary):  # the study `paper` (issue 15)
        page.h(2, heading)
        page.p(text)
        if table is not None:
            page.table(table)


def _plan_section(page: Page, root: Path, out: Path, fmt: str = "png") -> None:
    """For ``plan simulate`` outputs: its answer (plan.txt) and heat map (plan.FMT, the one
    in the report's format ``fmt`` if the plan wrote several)."""
    text = root / "plan.txt"
    if not text.is_file():
        return
    page.h(2, "Capacity plan (hqsched plan simulate)")
    formats = sorted(style.FIGURE_FORMATS, key=lambda f: f != fmt)  # ``fmt`` first
    figure = next((root / f"plan.{f}" for f in formats if (root / f"plan.{f}").is_file()),
                  None)
    if figure is not None:
        shutil.copyfile(figure, out / figure.name)
        page.img(figure.name, "capacity plan heat map")
    page.lines += ["```", text.read_text(encoding="utf-8", errors="replace").rstrip(), "```", ""]
    page.p("Full answer and every candidate: `plan.json` in the results directory.")


def _provenance_section(page: Page, root: Path) -> None:
    """Which code, environment, traces and command made the results, and this report."""
    runs = provenance.read_runs(root)
    if not runs:  # a several-policy simulate output keeps one record per policy directory
        runs = next((r for d in sorted(root.iterdir()) if d.is_dir()
                     for r in [provenance.read_runs(d)] if r), [])
    page.h(2, "Provenance")
    if runs:
        page.p(f"Results made by ({len(runs)} run(s) wrote into `{root}`; the first):")
        page.lines += [*provenance.markdown_lines(runs[0]), ""]
        if any(r.get("mixed") for r in runs):
            page.p("**Mixed results:** a later run resumed this directory with other code or "
                   "traces (`--allow-mixed`); see `provenance.json`.")
    else:
        page.p("The results record no provenance (written by an hqsched before provenance "
               "records).")
    page.p("This report:")
    page.lines += [*provenance.markdown_lines(provenance.record()), ""]


def _breakdown_table(data: rd.CampaignData, b: pd.DataFrame, by: str) -> pd.DataFrame:
    labels = dict(zip(data.params.index, [s.replace("\n", ", ")
                                          for s in _point_labels(data, list(data.params.index))]))
    rows = []
    for key, row in b.iterrows():
        rows.append({"point": labels[key], by: int(row[by]),
                     "completed": int(row["completed"]), "censored": int(row["censored"]),
                     "drop prob.": format_number(row["drop_probability"]),
                     "mean (h)": ci_text(row["job_time_mean_s"], row["job_time_mean_ci_low_s"],
                                         row["job_time_mean_ci_high_s"], HOUR,
                                         "job_time_mean_s"),
                     **{f"p{p} (h)": format_number(row[f"job_time_p{p}_s"] / HOUR)
                        for p in (25, 50, 75, 95, 99)}})
    return pd.DataFrame(rows)


def _fill_in_note(page: Page, data: rd.CampaignData) -> None:
    """Say which qubit counts use the documented fill-in (instances/workload.py)."""
    fills = {rd.display_value(v) for v in
             [data.plan["fixed"].get("fill-in")] + list(data.plan["grid"].get("fill-in", []))
             if v is not None}
    if "interpolate" not in fills:
        return
    traces = load_traces(data.plan["fixed"].get("traces"))
    qsets = [data.plan["fixed"].get("qubits", [4, 6, 8, 10])] + list(
        data.plan["grid"].get("qubits", []))
    qubits = sorted({int(q) for qs in qsets for q in qs})
    no_exec = [q for q in qubits if q not in traces.qubits_with("exec_time")]
    no_ibm = [q for q in qubits if q not in traces.ibm_qubits()]
    page.p(f"**Trace fill-in.** This campaign uses `fill-in = \"interpolate\"`: the traces "
           f"have no quantum iteration times at {no_exec or 'none'} qubits (those borrow the "
           f"relative spread of the nearest measured qubit count), and the IBM estimates "
           f"lack {no_ibm or 'none'} qubits (their target mean is interpolated linearly "
           f"between neighbouring estimates); see `hqsched.instances.workload`. Results at "
           f"these sizes rest on that assumption, not on measurements.")
