"""Running a campaign's units on an executor (local processes or Ray), saved as they finish.

The driver process alone writes the output directory: workers (processes or
Ray tasks, possibly on other machines) only compute and return, so no shared
file system is needed and a unit's files are written atomically once.
A crash or Ctrl-C loses only units in flight; a rerun skips finished ones.
So a worker returns its unit's per-job records as one in-memory table (the
simulator's own state stays bounded by the active jobs; streaming the
records, as ``hqsched simulate --out`` does, would need a file system shared
with the driver).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from hqsched.errors import InputError
from hqsched.experiments.campaign import (
    PLAN_FILE,
    Campaign,
    UnitOutcome,
    clear_failure,
    record_failure,
    run_unit,
)
from hqsched.experiments.results_store import ResultStore
from hqsched.files import atomic_write_text

EXECUTORS = ("local", "ray")


@dataclass
class RunReport:
    """Counts of one ``campaign run`` invocation."""

    total: int
    skipped: int      # already done before this run
    finished: int     # completed in this run
    failed: list[str]  # units that raised in this run


Task = tuple[str, str, int]  # (unit id, point key, seed)


def run_campaign(campaign: Campaign, out: str | Path, *, executor: str = "local",
                 processes: int | None = None, address: str | None = None,
                 overwrite: bool = False, progress: bool = True,
                 force_progress: bool = False,
                 units: Sequence[Task] | None = None) -> RunReport:
    """Run every unit of ``campaign`` not yet in ``out``; return what happened.

    ``processes``: local pool size (None = all cores, 1 = in this process).
    ``address``: Ray cluster address (``auto``, ``ray://host:10001``); None
    starts a local Ray instance unless one is already initialised.
    ``units``: run only these (unit id, point key, seed) of the campaign
    (default: all of :meth:`Campaign.units`). The output directory is still
    bound to the whole campaign's manifest, so a sequential driver (e.g.
    ``hqsched plan simulate``) can run a few seeds of one point at a time and
    a rerun resumes from whatever subset finished.
    """
    if executor not in EXECUTORS:
        raise InputError(f"--executor: must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    root = Path(out)
    store = ResultStore(root)
    store.claim(campaign.manifest(), overwrite=overwrite)
    atomic_write_text(root / PLAN_FILE, _dumps(campaign.plan()))

    if units is None:
        units = campaign.units()
    else:
        units = list(units)
        unknown = [u for u, key, _ in units if key not in campaign.scenarios]
        if unknown:
            raise InputError(f"units: {unknown[0]!r} is not a point of campaign {campaign.name!r}")
    todo = [u for u in units if not store.has(u[0])]
    disable = not progress or (not force_progress and not sys.stderr.isatty())
    bar = tqdm(total=len(units), initial=len(units) - len(todo), unit="run",
               desc=f"campaign {campaign.name}", file=sys.stderr, disable=disable,
               smoothing=0.05)
    failed: list[str] = []
    seed_of = {u: (key, s) for u, key, s in todo}

    def finished(outcome: UnitOutcome) -> None:
        key, seed = seed_of[outcome.unit]
        if outcome.error is not None:
            record_failure(root, outcome.unit, seed, key, outcome.error)
            failed.append(outcome.unit)
            bar.write(f"unit {outcome.unit} failed: "
                      f"{outcome.error.strip().splitlines()[-1]}", file=sys.stderr)
        else:
            store.save(outcome.unit, outcome.summary, outcome.jobs)
            clear_failure(root, outcome.unit)
        bar.update(1)

    try:
        if todo:
            run = _run_ray if executor == "ray" else _run_local
            for outcome in run(campaign, todo, processes, address):
                finished(outcome)
    finally:
        bar.close()
    return RunReport(total=len(units), skipped=len(units) - len(todo),
                     finished=len(todo) - len(failed), failed=failed)


def _run_local(campaign: Campaign, todo: list[Task], processes: int | None,
               address: str | None) -> Iterator[UnitOutcome]:
    workers = min(processes or os.cpu_count() or 1, len(todo))
    if workers <= 1:
        for unit, key, seed in todo:
            yield run_unit(unit, campaign.scenarios[key], seed)
        return
    # Keep a bounded window of submitted units (2 per worker): a Ctrl-C or
    # crash then abandons little work, and memory does not grow with the grid.
    pending: set = set()
    queue = iter(todo)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        try:
            while True:
                while len(pending) < 2 * workers:
                    task = next(queue, None)
                    if task is None:
                        break
                    unit, key, seed = task
                    pending.add(pool.submit(run_unit, unit, campaign.scenarios[key], seed))
                if not pending:
                    break
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        except BaseException:
            # Finished units are on disk already; do not wait for the rest.
            for future in pending:
                future.cancel()
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def import_ray():
    """The ``ray`` module, or a one-line InputError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise InputError("--executor ray: Ray is not installed; install it with "
                         "pip install 'hqsched[ray]' (or pip install 'ray>=2.9')") from None
    return ray


def _run_ray(campaign: Campaign, todo: list[Task], processes: int | None,
             address: str | None) -> Iterator[UnitOutcome]:
    ray = import_ray()
    started_here = False
    if not ray.is_initialized():
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     **({"num_cpus": processes} if processes and address is None else {}))
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise InputError(f"--address {address}: cannot connect to Ray ({exc})") from None
        started_here = True
    remote_unit = ray.remote(num_cpus=1, max_retries=0)(run_unit)
    pending: list = []
    try:
        # Each scenario is put in the object store once, not once per seed.
        refs = {key: ray.put(cfg) for key, cfg in campaign.scenarios.items()}
        # A bounded window, as for the local pool: ~2 tasks per cluster CPU.
        window = max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
        queue = iter(todo)
        while True:
            while len(pending) < window:
                task = next(queue, None)
                if task is None:
                    break
                unit, key, seed = task
                pending.append(remote_unit.remote(unit, refs[key], seed))
            if not pending:
                break
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                yield ray.get(ref)
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    finally:
        if started_here:
            ray.shutdown()


def _dumps(doc: object) -> str:
    import json
    return json.dumps(doc, indent=1) + "\n"

