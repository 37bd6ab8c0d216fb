"""Gantt chart of a schedule: one lane per server, one colour per job (PNG, matplotlib Agg).

Lanes from top: classical servers C0..C(c-1) (or one "C shared" lane for
C = infinity, where overlapping bars are drawn translucent), then quantum
computers Q0..Q(q-1); with ``servers`` every server has its lane, idle ones
too. Time axis in seconds. Job colours come from a qualitative palette
ordered so that neighbouring job ids get unlike hues; arrivals are dotted
lines in the job's colour (in the legend).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from hqsched.instances.model import Instance, TaskKind
from hqsched.instances.schedule import SHARED_POOL, Schedule
from hqsched.reports import style


def write_gantt(schedule: Schedule, path: str | Path, instance: Instance | None = None,
                title: str = "", servers: tuple[int | None, int] | None = None) -> None:
    """Draw ``schedule`` to ``path`` (PNG, or PDF / SVG by its suffix); arrivals are marked
    when ``instance`` is given; ``servers``: (C, Q) of the platform (C None = infinity),
    so that idle servers get their lane too."""
    style.save(gantt_figure(schedule, instance, title, servers=servers), path)


def schedule_title(status: str, objective_s: float | None, weighted: bool,
                   bound_s: float | None = None) -> str:
    """A Gantt title: status, the objective with its unit and weighting, and the gap to
    the proven bound when the optimum is not proven."""
    what = "priority-weighted sum of delays" if weighted else "unweighted sum of delays"
    text = f"{status}: {what} {objective_s:,.6g} s" if objective_s is not None else status
    if status != "optimal" and objective_s and bound_s is not None and bound_s > 0:
        text += f" (bound {bound_s:,.6g} s, gap {(objective_s - bound_s) / objective_s:.1%})"
    return text


def job_colours(jobs: list[int]) -> dict[int, Any]:
    """A colour per job: tab10 for up to 10 jobs; else tab20 with its dark shades first
    and then its light ones, so consecutive jobs never get two shades of one hue."""
    if len(jobs) <= 10:
        palette = [colormaps["tab10"](i) for i in range(10)]
    else:
        tab20 = colormaps["tab20"]
        palette = [tab20(i) for i in range(0, 20, 2)] + [tab20(i) for i in range(1, 20, 2)]
    return {j: palette[i % len(palette)] for i, j in enumerate(jobs)}


def _lanes(schedule: Schedule, servers: tuple[int | None, int] | None
           ) -> list[tuple[bool, int]]:
    """(is quantum, server) of every lane: the servers used, and all of them with
    ``servers`` (C None: the one shared classical lane)."""
    lanes = {(t.kind is TaskKind.QUANTUM, t.server) for t in schedule.tasks}
    if servers is not None:
        classical, quantum = servers
        lanes |= {(True, q) for q in range(quantum)}
        lanes |= ({(False, SHARED_POOL)} if classical is None
                  else {(False, c) for c in range(classical)})
    return sorted(lanes)


def gantt_figure(schedule: Schedule, instance: Instance | None = None, title: str = "",
                 ax: Axes | None = None,
                 servers: tuple[int | None, int] | None = None) -> Figure:
    """The Gantt chart of ``schedule`` as a matplotlib Figure (shown inline in a notebook);
    drawn on ``ax`` if given (its figure is returned), else on a new figure.
    ``servers``: (C, Q) of the platform (C None = infinity): idle servers get a lane.
    Fonts: those of every hqsched figure (``hqsched.reports.style``)."""
    with style.figure_style():
        return _draw(schedule, instance, title, ax, servers)


def _draw(schedule: Schedule, instance: Instance | None, title: str, ax: Axes | None,
          servers: tuple[int | None, int] | None) -> Figure:
    """``gantt_figure`` inside the common figure style."""
    lanes = _lanes(schedule, servers)
    row = {lane: i for i, lane in enumerate(lanes)}
    jobs = sorted({t.job_id for t in schedule.tasks})
    colour = job_colours(jobs)
    own = ax is None  # a figure of our own is laid out here; a caller's is left as it is
    if ax is None:
        ax = style.new_figure(1.4 + 0.45 * len(lanes), width_in=11.0).subplots()
        assert isinstance(ax, Axes)
    horizon = max((t.end_s for t in schedule.tasks), default=1.0) or 1.0
    shared = any(t.server == SHARED_POOL for t in schedule.tasks)
    for t in schedule.tasks:
        y = row[(t.kind is TaskKind.QUANTUM, t.server)]
        width = max(t.end_s - t.start_s, 0.0)
        alpha = 0.5 if (shared and t.server == SHARED_POOL) else 0.95
        ax.barh(y, width, left=t.start_s, height=0.7, color=colour[t.job_id], alpha=alpha,
                edgecolor="black", linewidth=0.3)
        # Tiny tasks (ms-long classical iterations) are invisible as bars: tick them.
        if width < 2e-3 * horizon:
            ax.plot([t.start_s, t.start_s], [y - 0.35, y + 0.35], color=colour[t.job_id], lw=1)
    if instance is not None:
        for j in instance.jobs:
            ax.axvline(j.arrival_s, color=colour.get(j.job_id, "grey"), ls=":", lw=0.8)
    ax.set_yticks(range(len(lanes)))
    ax.set_yticklabels([("Q" if q else "C") + ("shared" if s == SHARED_POOL else str(s))
                        for q, s in lanes])
    ax.set_ylim(len(lanes) - 0.5, -0.5)  # first lane on top; idle lanes kept in view
    ax.set_xlim(left=0.0)  # time 0: arrivals at 0 stay visible
    ax.set_xlabel("time (s)")
    ax.set_title(title or "schedule")
    ax.grid(axis="x", alpha=0.3)
    handles: list[Any] = [Patch(color=colour[j], label=f"job {j}") for j in jobs]
    if instance is not None:
        handles.append(Line2D([], [], color="grey", ls=":", lw=1.0,
                              label="job arrival\n(dotted, job colour)"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8,
              frameon=False)
    fig = ax.figure
    while isinstance(fig, SubFigure):  # an Axes of a subfigure: return the whole figure
        fig = fig.figure
    if own:
        fig.tight_layout()
    return fig
