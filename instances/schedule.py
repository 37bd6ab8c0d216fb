"""A schedule: when and where each task of an instance ran.

Both the offline solver and the online simulator (dedicated mode) produce
one; the independent checker in ``hqsched.formulation.checker`` verifies it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hqsched.files import atomic_write_text

from .model import Instance, TaskKind

if TYPE_CHECKING:
    import pandas as pd

#: Columns of a schedule's CSV and DataFrame (``Schedule.write_csv``, ``to_frame``).
COLUMNS = ("job_id", "task", "kind", "server", "start_s", "end_s")

#: Server index of a classical task in serverless (processor-sharing) mode,
#: where a task runs on the shared pool rather than on one server.
SHARED_POOL = -1


@dataclass(frozen=True)
class ScheduledTask:
    """Task ``index`` of job ``job_id`` ran on server ``server`` of ``kind`` over [start_s, end_s)."""

    job_id: int
    index: int
    kind: TaskKind
    server: int
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Schedule:
    tasks: tuple[ScheduledTask, ...]

    def completion_s(self) -> dict[int, float]:
        """Completion time of each job (end of its last scheduled task), seconds."""
        done: dict[int, float] = {}
        for t in self.tasks:
            if t.end_s > done.get(t.job_id, float("-inf")):
                done[t.job_id] = t.end_s
        return done

    def sum_delays_s(self, instance: Instance, weighted: bool = False) -> float:
        """sum_i w_i * (C_i - t_i) over the instance's jobs (w_i = 1 unless weighted)."""
        done = self.completion_s()
        return sum((j.priority if weighted else 1) * (done[j.job_id] - j.arrival_s)
                   for j in instance.jobs)

    def rows(self) -> list[tuple[int, int, str, int, float, float]]:
        """One ``COLUMNS`` tuple per task, by start time (then job, then task index)."""
        return [(t.job_id, t.index, t.kind.value, t.server, t.start_s, t.end_s)
                for t in sorted(self.tasks, key=lambda t: (t.start_s, t.job_id, t.index))]

    def to_frame(self) -> pd.DataFrame:
        """The schedule as a pandas DataFrame: one row per task, the ``COLUMNS`` of the CSV
        (``kind`` "classical" or "quantum"; ``server`` -1 for the shared classical pool;
        times in seconds), in the CSV's order."""
        import pandas as pd  # only here: the data model does not need pandas
        return pd.DataFrame(self.rows(), columns=list(COLUMNS))

    def write_csv(self, path: str | Path) -> None:
        """The schedule as CSV (``COLUMNS``; times with every digit, ``repr``)."""
        lines = [",".join(COLUMNS)]
        lines += [f"{job},{index},{kind},{server},{start!r},{end!r}"
                  for job, index, kind, server, start, end in self.rows()]
        atomic_write_text(path, "\n".join(lines) + "\n")
