"""Running a campaign's units on the executor (local processes or Ray), saved as they finish.

Each unit is a stored unit of ``hqsched.experiments.executor``: the worker
simulates its (scenario, seed), writes the per-job table into the results
directory (a temporary file renamed when complete) and returns the summary,
which the driver writes last, marking the unit complete. A crash or Ctrl-C
loses only the units in flight; a rerun skips finished ones. A unit that
raises is recorded under ``failed/`` with its traceback and the campaign
goes on (a rerun retries it). Ray workers on other machines, which do not
see the directory, send their table back for the driver to write.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hqsched.errors import InputError
from hqsched.experiments.campaign import (
    PLAN_FILE,
    Campaign,
    Task,
    clear_failure,
    record_failure,
    run_unit,
)
from hqsched.experiments.executor import (
    EXECUTORS,
    ExecutorOptions,
    UnitBatch,
    import_ray,
    message,
    run_stored_units,
)
from hqsched.experiments.results_store import ResultStore, run_record
from hqsched.files import atomic_write_text

# EXECUTORS and import_ray are the executor's, named here for the campaign and plan CLIs.
__all__ = ["EXECUTORS", "RunReport", "import_ray", "run_campaign"]


@dataclass
class RunReport:
    """Counts of one ``campaign run`` invocation."""

    total: int
    skipped: int      # already done before this run
    finished: int     # completed in this run
    failed: list[str]  # units that raised in this run


def run_campaign(campaign: Campaign, out: str | Path, *, executor: str = "local",
                 processes: int | None = None, address: str | None = None,
                 overwrite: bool = False, progress: bool = True,
                 force_progress: bool = False,
                 units: Sequence[Task] | None = None, allow_mixed: bool = False,
                 fmt: str | None = None) -> RunReport:
    """Run every unit of ``campaign`` not yet in ``out``; return what happened.

    ``executor``, ``processes``, ``address``, ``progress``, ``force_progress``:
    see ``ExecutorOptions`` (default: a local pool on all cores).
    ``units``: run only these (unit id, point key, seed) of the campaign
    (default: all of ``Campaign.units``). The output directory is still
    bound to the whole campaign's manifest, so a sequential driver (e.g.
    ``hqsched plan simulate``) can run a few seeds of one point at a time and
    a rerun resumes from whatever subset finished. ``allow_mixed``: resume
    ``out`` even if made by other code or traces (``hqsched.provenance``).
    ``fmt``: per-job tables as csv or parquet (default: the campaign's ``format``).
    """
    options = ExecutorOptions(executor, processes, address, progress, force_progress)
    tasks = campaign.units() if units is None else list(units)
    unknown = [u for u, key, _ in tasks if key not in campaign.scenarios]
    if unknown:
        raise InputError(f"units: {unknown[0]!r} is not a point of campaign {campaign.name!r}")
    root = Path(out)
    store = ResultStore(root, fmt or campaign.fmt)
    record = run_record(c.traces_dir for c in campaign.scenarios.values())
    # Locks root: one writer at a time.
    store.claim(campaign.manifest(), overwrite=overwrite, record=record,
                allow_mixed=allow_mixed)
    try:
        return _run_claimed(campaign, root, store, tasks, options, record)
    finally:
        store.release()


def _run_claimed(campaign: Campaign, root: Path, store: ResultStore, tasks: Sequence[Task],
                 options: ExecutorOptions, record: dict[str, Any]) -> RunReport:
    """``run_campaign`` once ``root`` is claimed (and locked) for ``campaign``."""
    plan = {**campaign.plan(), "provenance": record}
    atomic_write_text(root / PLAN_FILE, json.dumps(plan, indent=1) + "\n")

    failed: list[str] = []

    def unit_failed(task: Task, error: str) -> None:
        unit, key, seed = task
        record_failure(root, unit, seed, key, error)
        failed.append(unit)
        message(f"unit {unit} failed: {error.strip().splitlines()[-1]}")

    # The workers get the scenarios of these units once, not one per unit.
    scenarios = {key: campaign.scenarios[key] for _, key, _ in tasks}
    batch = UnitBatch(run_unit, scenarios, tasks, f"campaign {campaign.name}", "run")
    skipped = run_stored_units(batch, store, _unit_id,
                               lambda task, _: clear_failure(root, task[0]), options,
                               on_error=unit_failed)
    return RunReport(total=len(tasks), skipped=len(skipped),
                     finished=len(tasks) - len(skipped) - len(failed), failed=failed)


def _unit_id(task: Task) -> str:
    return task[0]
