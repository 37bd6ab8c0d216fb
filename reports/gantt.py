"""Gantt chart of a schedule: one lane per server, one colour per job (PNG, matplotlib Agg).

Lanes from top: classical servers C0..C(c-1) (or one "C shared" lane for
C = infinity, where overlapping bars are drawn translucent), then quantum
computers Q0..Q(q-1). Time axis in seconds.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from hqsched.instances.model import Instance, TaskKind
from hqsched.instances.schedule import SHARED_POOL, Schedule


def write_gantt(schedule: Schedule, path: str | Path, instance: Instance | None = None,
                title: str = "") -> None:
    """Draw ``schedule`` to ``path`` (PNG); arrivals are marked when ``instance`` is given."""
    lanes = sorted({(t.kind is TaskKind.QUANTUM, t.server) for t in schedule.tasks})
    row = {lane: i for i, lane in enumerate(lanes)}
    jobs = sorted({t.job_id for t in schedule.tasks})
    cmap = colormaps["tab20" if len(jobs) > 10 else "tab10"]
    colour = {j: cmap(i % cmap.N) for i, j in enumerate(jobs)}
    fig = Figure(figsize=(12, 1.2 + 0.55 * len(lanes)), dpi=110)
    ax = fig.subplots()
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
    ax.invert_yaxis()
    ax.set_xlabel("time (s)")
    ax.set_title(title or "schedule (dotted: job arrivals)")
    ax.grid(axis="x", alpha=0.3)
    handles = [Patch(color=colour[j], label=f"job {j}") for j in jobs]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8,
              frameon=False)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
