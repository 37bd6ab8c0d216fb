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

import functools
import math
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeAlias

from hqsched.errors import InputError
from hqsched.experiments.executor import (
    ExecutorOptions,
    UnitBatch,
    default_processes,
    map_units,
    run_stored_units,
)
from hqsched.experiments.results_store import ResultStore, TableOutput, run_record
from hqsched.experiments.scenario import SampledReplay, describe
from hqsched.online.config import JOB_DTYPES, JOB_ORDER, ReplicationResult, SimulationConfig
from hqsched.progress import bar as progress_bar
from hqsched.progress import shown as progress_shown

if TYPE_CHECKING:
    from hqsched.online.engine import RecordSink


class PerSeedScenario(Protocol):
    def config_for(self, seed: int) -> SimulationConfig: ...
    def manifest(self) -> dict[str, Any]: ...


Scenario: TypeAlias = SimulationConfig | PerSeedScenario


#: Refuse (without --yes) a run expected to process more events than this in all: about
#: 100 s of one core at the small scenario's ~1e7 events/s, hours when the system is
#: overloaded (each event then costs more, and memory grows with the queue).
EVENT_BUDGET = 1e9

#: Refuse (without --yes) a study whose offline solves, each stopped at its time limit,
#: would take more than this in all (s of one core: a day). A worst case: tiny solves
#: usually end far sooner, so only absurd counts or limits reach it.
SOLVE_BUDGET_S = 86400.0

#: What ``check_expected_work`` suggests by default (the options of ``simulate``).
SIMULATION_ADVICE = "shorten the duration, raise the interarrival"


def check_expected_work(scenarios: Iterable[Scenario], n_seeds: int, where: str,
                        advice: str = SIMULATION_ADVICE) -> None:
    """A one-line InputError if replicating every scenario over ``n_seeds`` seeds is
    expected to exceed ``EVENT_BUDGET`` events (``engine.expected_events`` per
    replication; a trace replay drawn per seed counts its file's rows, ``replay_events``).
    ``advice`` names the options that shrink the run."""
    per = [expected_scenario_events(s) for s in scenarios]
    check_expected_events(sum(per) * n_seeds, max(per, default=0.0),
                          f"{len(per)} scenario(s) x {n_seeds} seed(s)", where, advice)


def expected_scenario_events(scenario: Scenario) -> float:
    """``engine.expected_events`` of one replication of ``scenario``."""
    from hqsched.online.engine import expected_events  # numba loads only when running
    if isinstance(scenario, SimulationConfig):
        return expected_events(scenario)
    if isinstance(scenario, SampledReplay):
        return replay_events(scenario)
    return 0.0  # another per-seed scenario: nothing known before its first seed


def replay_events(replay: SampledReplay) -> float:
    """Expected events of one replication of a job CSV whose chains are drawn per seed:
    its rows times the events of one job of the replay's workload (``expected_events``
    of a run lasting one mean interarrival)."""
    from hqsched.online.engine import expected_events
    one_job = SimulationConfig(**{**replay.options, "duration_s": replay.spec.interarrival_s,
                                  "warmup_s": 0.0},
                               workload=replay.spec, traces_dir=replay.traces_dir)
    return _data_rows(replay.path) * expected_events(one_job)


@functools.lru_cache(maxsize=4)
def _data_rows(path: str) -> int:
    """Non-blank lines of a CSV after its header, counted without parsing (one pass,
    ~0.5 s a million rows); cached: every policy of a run replays the same file."""
    from hqsched.inputs import not_utf8, open_text_file
    try:
        with open_text_file(path, "--instance") as fh:
            rows = sum(1 for line in fh if line.strip())
    except UnicodeDecodeError:
        raise not_utf8(f"--instance {path}", path) from None
    return max(rows - 1, 0)


def check_expected_events(events: float, per_run: float, runs: str, where: str,
                          advice: str) -> None:
    """A one-line InputError if ``events`` (``per_run`` at most per replication, over
    ``runs``) exceed ``EVENT_BUDGET``; ``advice`` names the options that shrink the run."""
    if events > EVENT_BUDGET:
        raise InputError(
            f"{where}: about {events:.2g} events expected (up to {per_run:.2g} per replication, "
            f"{runs}), over the {EVENT_BUDGET:.0e} budget (hours of work); {advice}, "
            "or pass --yes to run it anyway")


def check_solve_time(worst_s: float, solves: str, where: str, advice: str) -> None:
    """A one-line InputError if ``solves`` (described), each stopped at its time limit, add
    up to ``worst_s`` seconds over ``SOLVE_BUDGET_S``; ``advice`` names the options."""
    if worst_s > SOLVE_BUDGET_S:
        raise InputError(
            f"{where}: {solves} take up to {worst_s:.2g} s at their time limits, over the "
            f"{SOLVE_BUDGET_S:.0f} s budget (a day of one core); {advice}, "
            "or pass --yes to run it anyway")


def unit_id(seed: int) -> str:
    """Stable id of the replication of ``seed`` (file stem under the output dir)."""
    return f"seed-{seed:06d}"


def config_for(scenario: Scenario, seed: int) -> SimulationConfig:
    return scenario if isinstance(scenario, SimulationConfig) else scenario.config_for(seed)


#: The simulators: ``kernel`` (online/engine.py, compiled) or ``simpy`` (online/simpy_model.py,
#: the readable SimPy model: identical results, 50-250x slower; for prototyping a policy).
ENGINES = ("kernel", "simpy")


class Replicate(NamedTuple):
    """The context of a batch of replications: the scenario, whether each replication
    shows its own bar of simulated time (only when they run in the driver process), and
    the simulator (``ENGINES``)."""

    scenario: Scenario
    time_bar: bool = False
    engine: str = "kernel"


def run_one(scenario: Scenario, seed: int, sink: RecordSink | None = None,
            time_bar: bool = False, engine: str = "kernel") -> ReplicationResult:
    """One replication, in this process; records to ``sink`` if given (see ``simulate``).
    ``time_bar``: a tqdm bar on stderr of the simulated hours (a long replication
    otherwise shows 0/1 until it ends); it appears after 1 s and leaves no line.
    ``engine``: ``ENGINES`` (the SimPy model shows no time bar)."""
    # Imported here so that this module (and the CLI's --help) loads even
    # while the engine is absent or broken.
    from hqsched.online.engine import simulate
    config = config_for(scenario, seed)
    if engine == "simpy":
        from hqsched.online.simpy_model import simulate as simulate_on_simpy
        return simulate_on_simpy(config, seed, sink)
    if not (time_bar and math.isfinite(config.duration_s)):
        return simulate(config, seed, sink)
    with progress_bar(round(config.duration_s / 3600, 1), f"seed {seed}", "h simulated",
                      force=True, leave=False, delay=1.0, position=1) as bar:
        def on_time(t: float) -> None:
            bar.update(round(min(t, config.duration_s) / 3600, 1) - bar.n)
        result = simulate(config, seed, sink, on_time=on_time)
        on_time(config.duration_s)  # the run is over: the whole window was simulated
        return result


def _replicate(work: Replicate, seed: int) -> ReplicationResult:
    """One unit of ``map_units``: a replication in memory."""
    return run_one(work.scenario, seed, time_bar=work.time_bar, engine=work.engine)


def run_to_table(work: Replicate, seed: int, table: TableOutput) -> ReplicationResult:
    """One replication, its records streamed into ``table`` as jobs leave the system (a
    stored unit of the executor: the driver writes the summary)."""
    with table.stream(JOB_DTYPES) as sink:
        return run_one(work.scenario, seed, sink, time_bar=work.time_bar, engine=work.engine)


def run_replications(config: Scenario, seeds: Iterable[int], out_dir: Path | str | None = None,
                     processes: int | None = None, progress: bool = True, *,
                     fmt: str = "csv", overwrite: bool = False,
                     force_progress: bool = False,
                     allow_mixed: bool = False,
                     engine: str = "kernel") -> list[ReplicationResult]:
    """Run one replication per seed; results in the order of ``seeds``.

    ``processes``: None = all cores, 1 = in this process (no pool).
    ``out_dir``: each replication is saved there as it runs (records streamed,
    see the module docstring); ones already there (same scenario, see
    ``ResultStore.claim``) are not recomputed. The results' ``jobs`` are
    then read from disk when first used. Without it, they are in memory.
    ``progress``: a bar on stderr when it is a terminal or in a notebook
    (always with ``force_progress``; see ``hqsched.progress``).
    ``allow_mixed``: resume ``out_dir`` even if made by other code or traces
    (``hqsched.provenance``).
    ``engine``: the simulator, ``ENGINES`` (the same results from either).
    """
    seeds = _check_seeds(seeds)
    options = ExecutorOptions(processes=processes, progress=progress,
                              force_progress=force_progress)
    # A bar of simulated time per replication only where it cannot garble the executor's:
    # replications run one after another in this process.
    in_driver = min(processes or default_processes(), len(seeds)) <= 1
    work = Replicate(config, in_driver and progress_shown(progress, force_progress), engine)
    if out_dir is None:
        return map_units(UnitBatch(_replicate, work, seeds, "replications", "rep"), options)

    store = ResultStore(out_dir, fmt)
    record = run_record([getattr(config, "traces_dir", None)])
    # Locks out_dir until released.
    store.claim(describe(config), overwrite=overwrite, record=record, allow_mixed=allow_mixed)
    try:
        return _run_claimed(work, seeds, store, options)
    finally:
        store.release()


def _run_claimed(work: Replicate, seeds: list[int], store: ResultStore,
                 options: ExecutorOptions) -> list[ReplicationResult]:
    """``run_replications`` into ``store``, claimed (and locked) for ``work.scenario``."""
    results: dict[int, ReplicationResult] = {}

    def stored(seed: int, result: ReplicationResult) -> None:
        result.jobs = store.lazy_table(unit_id(seed), JOB_ORDER)
        results[seed] = result

    skipped = run_stored_units(UnitBatch(run_to_table, work, seeds, "replications", "rep"),
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
