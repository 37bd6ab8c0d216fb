"""The report page of a gap study (``hqsched gap --out DIR``): its table and box plot.

The study's directory holds ``gap_instances.csv`` (one row per instance,
policy and mode), ``gap_summary.csv`` and ``gap_boxplot.png``, written when the
run ends (``hqsched.validation.gap``). The page recomputes the summary from
the per-instance rows (``hqsched.validation.gap.summarize``: the same
numbers) and copies the figure and the rows beside it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from hqsched.errors import InputError
from hqsched.experiments import statistics as stats
from hqsched.validation.gap import BOXPLOT_PNG, INSTANCES_CSV, summarize


class PageLike(Protocol):
    """What this module writes on (``hqsched.reports.report.Page``)."""

    def h(self, level: int, text: str) -> None: ...
    def p(self, text: str) -> None: ...
    def img(self, file: str, alt: str) -> None: ...
    def table(self, frame: pd.DataFrame) -> None: ...


def fill(page: PageLike, root: Path, out: Path) -> tuple[Any, str]:
    """Write the gap study of ``root`` on ``page`` (its files copied to ``out``);
    return (the page, its title)."""
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
    if (root / BOXPLOT_PNG).is_file():
        shutil.copyfile(root / BOXPLOT_PNG, out / BOXPLOT_PNG)
        page.h(2, "Ratios per policy")
        page.img(BOXPLOT_PNG, "gap ratios per policy")
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
