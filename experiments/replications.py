"""Independent replications over seeds, in parallel, saved as they finish, resumable.

Each replication depends only on ``(config, seed)`` (MODEL.md: all randomness
from seeded generators), so the results are bit-identical whatever the
process count or the order in which workers finish. The replications are
units of the one executor (``hqsched.experiments.executor``: processes,
progress bar, Ctrl-C and resume rules).

``config`` is a ``SimulationConfig``, or any picklable object with
``config_for(seed) -> SimulationConfig`` and ``manifest() -> dict`` (used for
trace-driven replays whose chains are drawn per seed, see
``hqsched.experiments.scenario.SampledReplay``).

With an output directory, each replication streams its per-job records into
its unit's table as jobs leave the system (the process that simulates writes
a temporary file, renamed when the run ends; the driver then writes the
summary that marks the unit complete), so no process holds a replication's
records. The rows of a stored table are in the order jobs left the system
(censored ones last); the results returned read them back lazily, in
arrival order, like an in-memory table.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from hqsched.experiments.executor import ExecutorOptions, UnitBatch, map_units, run_stored_units
from hqsched.experiments.results_store import ResultStore, TableOutput
from hqsched.experiments.scenario import describe
from hqsched.online.config import JOB_DTYPES, JOB_ORDER, ReplicationResult, SimulationConfig

if TYPE_CHECKING:
    from hqsched.online.engine import RecordSink


class PerSeedScenario(Protocol):
    def config_for(self, seed: int) -> SimulationConfig: ...
    def manifest(self) -> dict[str, Any]: ...


Scenario: TypeAlias = SimulationConfig | PerSeedScenario


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


def run_to_table(scenario: Scenario, seed: int, table: TableOutput) -> ReplicationResult:
    """One replication, its records streamed into ``table`` as jobs leave the system (a
    stored unit of the executor: the driver writes the summary)."""
    with table.stream(JOB_DTYPES) as sink:
        return run_one(scenario, seed, sink)


def run_replications(config: Scenario, seeds: Iterable[int], out_dir: Path | str | None = None,
                     processes: int | None = None, progress: bool = True, *,
                     fmt: str = "csv", overwrite: bool = False,
                     force_progress: bool = False) -> list[ReplicationResult]:
    """Run one replication per seed; results in the order of ``seeds``.

    ``processes``: None = all cores, 1 = in this process (no pool).
    ``out_dir``: each replication is saved there as it runs (records streamed,
    see the module docstring); ones already there (same scenario, see
    ``ResultStore.claim``) are not recomputed. The results' ``jobs`` are
    then read from disk when first used. Without it, they are in memory.
    ``progress``: a tqdm bar on stderr when it is a terminal (always with
    ``force_progress``).
    """
    seeds = _check_seeds(seeds)
    options = ExecutorOptions(processes=processes, progress=progress,
                              force_progress=force_progress)
    if out_dir is None:
        return map_units(UnitBatch(run_one, config, seeds, "replications", "rep"), options)

    store = ResultStore(out_dir, fmt)
    store.claim(describe(config), overwrite=overwrite)
    results: dict[int, ReplicationResult] = {}

    def stored(seed: int, result: ReplicationResult) -> None:
        result.jobs = store.lazy_table(unit_id(seed), JOB_ORDER)
        results[seed] = result

    skipped = run_stored_units(UnitBatch(run_to_table, config, seeds, "replications", "rep"),
                               store, unit_id, stored, options, summary_of=_summary)
    for seed in skipped:
        stored(seed, ReplicationResult(seed=seed, summary=store.load_summary(unit_id(seed)),
                                       jobs=None))
    return [results[s] for s in seeds]


def _summary(result: ReplicationResult) -> dict[str, float]:
    return result.summary


def _check_seeds(seeds: Iterable[int]) -> list[int]:
    out: list[int] = []
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            raise ValueError(f"seeds must be integers >= 0, got {s!r}")
        out.append(int(s))
    if len(set(out)) != len(out):
        raise ValueError("seeds must be distinct")
    return out
