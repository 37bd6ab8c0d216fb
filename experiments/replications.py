"""Independent replications over seeds, in parallel, saved as they finish, resumable.

Each replication depends only on ``(config, seed)`` (MODEL.md: all randomness
from seeded generators), so the results are bit-identical whatever the
process count or the order in which workers finish.

``config`` is a :class:`SimulationConfig`, or any picklable object with
``config_for(seed) -> SimulationConfig`` and ``manifest() -> dict`` (used for
trace-driven replays whose chains are drawn per seed, see
:class:`hqsched.experiments.scenario.SampledReplay`).

With an output directory, each replication streams its per-job records into
its unit's table as jobs leave the system (the process that simulates writes
a temporary file, renamed when the run ends; the driver then writes the
summary that marks the unit complete), so no process holds a replication's
records. The rows of a stored table are in the order jobs left the system
(censored ones last); the results returned read them back lazily, in
arrival order, like an in-memory table.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tqdm import tqdm

from hqsched.experiments.results_store import ResultStore
from hqsched.online.config import JOB_DTYPES, JOB_ORDER, ReplicationResult, SimulationConfig

if TYPE_CHECKING:
    from hqsched.online.engine import RecordSink


class PerSeedScenario(Protocol):
    def config_for(self, seed: int) -> SimulationConfig: ...
    def manifest(self) -> dict[str, Any]: ...


Scenario = SimulationConfig | PerSeedScenario


def unit_id(seed: int) -> str:
    """Stable id of the replication of ``seed`` (file stem under the output dir)."""
    return f"seed-{seed:06d}"


def config_for(scenario: Scenario, seed: int) -> SimulationConfig:
    return scenario if isinstance(scenario, SimulationConfig) else scenario.config_for(seed)


def run_one(scenario: Scenario, seed: int, sink: RecordSink | None = None) -> ReplicationResult:
    """One replication, in this process; records to ``sink`` if given (see ``simulate``)."""
    # Imported here so that this module (and the CLI's --help) loads even
    # while the engine is absent or broken.
    from hqsched.online.engine import simulate
    return simulate(config_for(scenario, seed), seed, sink)


def run_to_store(scenario: Scenario, seed: int, store: ResultStore | None) -> ReplicationResult:
    """One replication; with a store, its records streamed into the unit's table file
    (complete when this returns; the caller writes the summary)."""
    if store is None:
        return run_one(scenario, seed)
    with store.open_table(unit_id(seed), JOB_DTYPES) as table:
        return run_one(scenario, seed, table.write)


# The scenario is sent to each worker once (pool initializer), not with every
# seed: an instance can be large.
_WORKER_SCENARIO: Scenario | None = None
_WORKER_STORE: ResultStore | None = None


def _init_worker(scenario: Scenario, store: ResultStore | None) -> None:
    global _WORKER_SCENARIO, _WORKER_STORE
    _WORKER_SCENARIO, _WORKER_STORE = scenario, store


def _run_in_worker(seed: int) -> ReplicationResult:
    assert _WORKER_SCENARIO is not None
    return run_to_store(_WORKER_SCENARIO, seed, _WORKER_STORE)


def run_replications(config: Scenario, seeds: Iterable[int], out_dir: Path | str | None = None,
                     processes: int | None = None, progress: bool = True, *,
                     fmt: str = "csv", overwrite: bool = False,
                     force_progress: bool = False) -> list[ReplicationResult]:
    """Run one replication per seed; results in the order of ``seeds``.

    ``processes``: None = ``os.cpu_count()``, 1 = in this process (no pool).
    ``out_dir``: each replication is saved there as it runs (records streamed,
    see the module docstring); ones already there (same scenario, see
    :meth:`ResultStore.claim`) are not recomputed. The results' ``jobs`` are
    then read from disk when first used. ``progress``: a tqdm bar on stderr
    when it is a terminal (always with ``force_progress``).
    """
    from hqsched.experiments.scenario import describe  # scenario -> JSON manifest

    seeds = _check_seeds(seeds)
    store = None
    if out_dir is not None:
        store = ResultStore(out_dir, fmt)
        store.claim(describe(config), overwrite=overwrite)

    results: dict[int, ReplicationResult] = {}
    todo = []
    for seed in seeds:
        if store is not None and store.has(unit_id(seed)):
            results[seed] = ReplicationResult(seed=seed, summary=store.load_summary(unit_id(seed)),
                                              jobs=store.lazy_table(unit_id(seed), JOB_ORDER))
        else:
            todo.append(seed)

    disable = not progress or (not force_progress and not sys.stderr.isatty())
    bar = tqdm(total=len(seeds), initial=len(seeds) - len(todo), unit="rep",
               desc="replications", file=sys.stderr, disable=disable)

    def finished(result: ReplicationResult) -> None:
        if store is not None:  # the table is on disk already: the summary completes the unit
            unit = unit_id(result.seed)
            store.save_summary(unit, result.summary, JOB_DTYPES)
            result.jobs = store.lazy_table(unit, JOB_ORDER)
        results[result.seed] = result
        bar.update(1)

    try:
        workers = min(processes or os.cpu_count() or 1, len(todo))
        if workers <= 1:
            for seed in todo:
                finished(run_to_store(config, seed, store))
        elif todo:
            with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker,
                                     initargs=(config, store)) as pool:
                futures = [pool.submit(_run_in_worker, seed) for seed in todo]
                try:
                    for future in as_completed(futures):
                        finished(future.result())
                except BaseException:
                    # Finished work is already on disk; do not wait for the rest.
                    for f in futures:
                        f.cancel()
                    raise
    finally:
        bar.close()
    return [results[s] for s in seeds]


def _check_seeds(seeds: Iterable[int]) -> list[int]:
    out: list[int] = []
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            raise ValueError(f"seeds must be integers >= 0, got {s!r}")
        out.append(int(s))
    if len(set(out)) != len(out):
        raise ValueError("seeds must be distinct")
    return out
