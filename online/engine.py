"""Discrete-event simulator of the hybrid classical-quantum platform (MODEL.md).

A hand-written event loop rather than SimPy: every job is a strict chain with
one active task, so a process view buys nothing, while a flat loop over
arrays, compiled by numba (``online/kernel.py``), processes millions of
events per second. This module feeds the kernel its arrivals, drains its
records and turns them into the metrics of MODEL.md.

Classical modes
    serverless: processor sharing. With ``A`` active classical tasks each is
        served at ``S * min(1, C / A)`` operations/s. Kept exact in O(log A)
        per event with a *virtual clock* ``V``: the service one task has
        received since time 0 if it had been active throughout. ``V`` grows at
        the per-task rate; a task started at ``V0`` with work ``w`` ends when
        ``V`` reaches ``V0 + w``, so the earliest finishing task is the
        smallest tag in a heap, and its end time is
        ``now + (tag - V) / rate``, recomputed whenever ``A`` changes.
    dedicated: ``C`` non-preemptive servers of rate ``S``; a ready classical
        task waits in a FIFO queue. The lowest-numbered free server is used.
    serverless with a lifecycle (``SimulationConfig.lifecycle``): each task runs
        in a function instance (warm, cold-started or waited for) and shares the
        capacity as above only while it runs (docs/platform-features.md section 3).

Quantum: ``Q`` QCs, lowest-numbered free QC first; otherwise the task joins
the policy's pending queue (``online/policies.py``). With QC groups
(``Platform.qc_groups``) a task runs only on a QC with enough qubits, for its
reference duration times the QC's time factor, on the free eligible QC the
routing chooses (``SimulationConfig.routing``); with runtime sessions
(``SimulationConfig.sessions``) a job holds its QC between iterations.
docs/platform-features.md is the contract of both.

Admission: a job arriving at ``t`` is accepted iff the number of active
classical tasks (serverless: in the pool; dedicated: in service or queued) is
below ``C_max`` and the number of pending quantum tasks is below ``Q_max``.

Events at the same instant run in this order: the processor-sharing
completion (if any) first, then other completions, then arrivals; ties within
a kind in the order they were scheduled. A completing quantum task hands its
QC to the next pending task before its own job moves on.

Metrics cover the window ``[warmup_s, end)``: time averages of the counts,
job times of jobs completing in the window, drops among arrivals in it; jobs
still active at the end are censored. With ``drop_window="run"`` the summary's
arrival and drop counts (and so the drop probability) cover every arrival
from time 0 instead, as the reference simulator's counters do.

Memory is bounded by the jobs in the system, not by the run length (the
kernel's slots, see ``online/kernel.py``; ``ReplicationResult.memory``
reports the slot capacity, the peak number of jobs in the system and the
bytes held). Arrivals are drawn lazily and fed
to the kernel in chunks of ``CHUNK_JOBS``; finished jobs' records leave
the kernel in buffers of ``kernel.RECORD_BUFFER`` rows and go either to the
caller's *sink* (``simulate(config, seed, sink)``: blocks of
``config.JOB_FIELDS`` columns, in the order jobs leave
the system, censored jobs last in arrival order) or, without a sink, into
``ReplicationResult.jobs`` in arrival order. The only term that grows with
the run is the summary's job-time sample: exact percentiles and a mean
summed in arrival order (bit-identical to earlier versions) need every
completed job's time, kept as 16 bytes per completed job (time and arrival
index). A recorded schedule (``record_schedule``) is O(tasks) by request.
Instance and synthetic chains with per-iteration values are held only while
their job is in the current chunk or active; an ``Instance`` itself is
the caller's, in memory already.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Mapping

import numpy as np

from hqsched.errors import InputError
from hqsched.instances.fleet import time_factors
from hqsched.instances.model import Job, TaskKind
from hqsched.instances.schedule import Schedule, ScheduledTask
from hqsched.instances.streams import stream
from hqsched.instances.synthetic import SyntheticWorkload
from hqsched.instances.traces import TraceSet, load_traces
from hqsched.instances.workload import ChainDraw, JobSampler, WorkloadSpec, poisson_draws

from .config import JOB_DTYPES, JOB_FIELDS, Lifecycle, ReplicationResult, SimulationConfig
from .kernel import (
    ACTIVE,
    BAD_KEY,
    COMPLETED,
    DONE,
    DROPPED,
    FLUSH,
    GROW,
    JOB,
    NEED_ARRIVALS,
    OVERFLOW,
    Fleet,
    Kernel,
    Params,
)
from .policies import (
    NO_QUBIT_LIMIT,
    Policy,
    check_policy,
    compiled_key,
    compiled_route,
    resolve_policy,
    resolve_routing,
)

#: Arrivals handed to the kernel per call (bounds the arrival data held at once).
CHUNK_JOBS = 1024
#: Slots allocated at the start (doubled whenever an admission finds none free).
INITIAL_SLOTS = 64

#: Receives blocks of finished jobs' records: JOB_FIELDS -> column, one row per job.
RecordSink = Callable[[Mapping[str, np.ndarray]], None]

#: Record status names by kernel status code.
STATUS_NAMES = np.array(["", "censored", "completed", "dropped"])
assert STATUS_NAMES[ACTIVE] == "censored" and STATUS_NAMES[COMPLETED] == "completed" \
    and STATUS_NAMES[DROPPED] == "dropped"


@functools.lru_cache(maxsize=8)
def cached_traces(directory: str | None) -> TraceSet:
    """Traces loaded once per process (replications in a pool share them)."""
    return load_traces(directory)


@functools.lru_cache(maxsize=32)
def cached_sampler(directory: str | None, spec: WorkloadSpec) -> JobSampler:
    """The rescaled per-qubit profiles of a workload, built once per process, not per seed."""
    return JobSampler(cached_traces(directory), spec)


def simulate(config: SimulationConfig, seed: int = 0, sink: RecordSink | None = None, *,
             chunk_jobs: int = CHUNK_JOBS, initial_slots: int = INITIAL_SLOTS,
             on_time: Callable[[float], None] | None = None) -> ReplicationResult:
    """Run one replication; deterministic in ``(config, seed)``.

    Without ``sink`` the per-job records are returned in ``result.jobs``
    (arrival order). With a sink they are passed to it in blocks as jobs
    leave the system (completed or dropped in the window, then the censored
    ones in arrival order) and ``result.jobs`` is None, so memory stays
    bounded by the active jobs. ``chunk_jobs`` (arrivals per kernel call) and
    ``initial_slots`` change memory use, never results. ``on_time(t)``, if given,
    is called with the simulated time reached (s) each time the kernel asks for the
    next chunk of arrivals (progress within a long replication; it reads, never
    changes, the run).
    """
    policy = config_policy(config)
    if chunk_jobs < 1 or initial_slots < 1:
        raise ValueError("simulate: chunk_jobs and initial_slots must be >= 1")
    weights = priority_levels(config)
    fleet = kernel_fleet(config)
    route = None if fleet is None else compiled_route(resolve_routing(config.routing))
    kernel = Kernel(kernel_params(config, policy), weights, compiled_key(policy),
                    slots=initial_slots, fleet=fleet, route=route)
    chunks = arrival_chunks(config, seed, weights, chunk_jobs)
    rng = stream(seed, "policy")
    out = _Records(sink, weights)
    log_blocks: list[np.ndarray] = []
    peak_bytes = kernel.nbytes
    while True:
        code = kernel.run(rng)
        if code == NEED_ARRIVALS:
            if on_time is not None and len(kernel.state.jobs):
                on_time(float(kernel.state.jobs["arrival"][-1]))  # the chunk's last arrival
            kernel.add_chunk(*next(chunks, (None, (), ())))
        elif code == GROW:
            kernel.grow()
        elif code == OVERFLOW:
            raise InputError(
                f"simulation: a time overflowed float64 after {int(kernel.scalars['events'])} "
                f"events (worker capacity {config.platform.worker_capacity_ops_per_s:g} ops/s; "
                "a capacity, arrival or duration too large to simulate)")
        elif code == BAD_KEY:
            if kernel.scalars["bad_route"]:
                raise InputError(f"--routing {config.routing}: key(qc, task) returned NaN (or "
                                 f"raised) after {int(kernel.scalars['events'])} events (a key "
                                 "must be a number: the free QCs have no order otherwise)")
            raise InputError(f"--policy {policy.source or policy.name}: key(task, now) returned "
                             f"NaN (or raised) after {int(kernel.scalars['events'])} events (a key must be "
                             "a number: the pending tasks have no order otherwise)")
        else:  # FLUSH or DONE: drain the buffers
            out.add(kernel.take_records())
            if config.record_schedule:
                log_blocks.append(kernel.take_log())
            if code == DONE:
                break
            assert code == FLUSH, code
        peak_bytes = max(peak_bytes, kernel.nbytes)
    out.add_censored(kernel.live_slots())
    return _result(config, seed, kernel, out, log_blocks, peak_bytes)


def expected_events(config: SimulationConfig) -> float:
    """About how many events one replication of ``config`` processes: its expected
    arrivals times ``2 n + 3`` events per job of ``n`` iterations (the arrival and the
    end of each of its ``2 n + 2`` tasks), exact for an instance. An upper estimate:
    dropped jobs count one event. Cheap (no simulation): for the expected-work guard."""
    if config.instance is not None:
        return float(sum(2 * job.iterations + 3 for job in config.instance.jobs))
    workload = config.workload
    if isinstance(workload, SyntheticWorkload):
        iterations = workload.mean_iterations()
    else:
        assert workload is not None  # SimulationConfig holds exactly one of them
        sampler = cached_sampler(config.traces_dir, workload)
        scale = workload.iteration_scale  # qubit counts are drawn uniformly: mean of means
        iterations = float(np.mean([np.maximum(1, np.round(p.iterations * scale)).mean()
                                    for p in sampler.profiles.values()]))
    return config.duration_s / workload.interarrival_s * (2 * iterations + 3)


def kernel_params(config: SimulationConfig, policy: Policy) -> Params:
    """The kernel's fixed parameters for ``config`` and its resolved ``policy``."""
    p = config.platform
    return Params.of(
        workers=p.classical_workers, capacity=p.worker_capacity_ops_per_s,
        qcs=p.quantum_computers,
        max_classical=math.inf if p.max_classical is None else p.max_classical,
        max_quantum=math.inf if p.max_quantum is None else p.max_quantum,
        dedicated=config.classical_mode == "dedicated", warmup=config.warmup_s,
        end=config.duration_s, record=config.record_schedule, policy_id=policy.policy_id,
        randomized=policy.randomized, clairvoyant=policy.clairvoyant,
        **lifecycle_params(config.lifecycle), **quantum_params(config))


def quantum_params(config: SimulationConfig) -> dict[str, object]:
    """The kernel's fleet and session fields (docs/platform-features.md sections 1-2); off:
    identical QCs, no sessions, the paper's code path."""
    sessions = config.sessions
    return {"fleet": bool(config.platform.qc_groups), "sessions": sessions is not None,
            "session_min_priority": 0 if sessions is None else sessions.min_priority,
            "session_max_length": 0.0 if sessions is None else sessions.max_length_s,
            "session_idle_timeout": 0.0 if sessions is None else sessions.idle_timeout_s}


def kernel_fleet(config: SimulationConfig) -> Fleet | None:
    """The kernel's view of the platform's QC groups (None: identical QCs): each QC's group
    (numbered group by group), each group's qubit limit and the time factors over the
    workload's qubit counts (``instances/fleet.py``; IBM estimates from the run's traces, or
    the bundled ones for an instance, loaded only if a group names a backend)."""
    groups = config.platform.qc_groups
    if not groups:
        return None
    counts = config.qubit_counts()
    estimates = cached_traces(config.traces_dir).ibm_estimate_s \
        if any(g.backend is not None for g in groups) else None
    qc_group = np.repeat(np.arange(len(groups)), [g.count for g in groups])
    limits = [NO_QUBIT_LIMIT if g.qubits is None else g.qubits for g in groups]
    return Fleet.of(qc_group, np.asarray(limits), np.asarray(counts),
                    time_factors(groups, counts, estimates))


def fleet_metrics(config: SimulationConfig, kernel: Kernel, window: float) -> dict[str, float]:
    """Busy fraction of each QC group over the window: ``qc_utilization_<name>``."""
    area = kernel.state.fleet.area
    return {f"qc_utilization_{g.name}": float(area[i]) / (g.count * window)
            if window > 0 and g.count else math.nan
            for i, g in enumerate(config.platform.qc_groups)}


def session_metrics(st: np.void, window: float) -> dict[str, float]:
    """Runtime-session metrics of the window (docs/platform-features.md section 2): sessions
    opened, QC-seconds reserved with no task running, time-average QCs held."""
    return {"sessions": float(st["sessions"]),
            "session_idle_qc_s": float(st["area_session_idle"]),
            "avg_quantum_reserved": float(st["area_reserved"]) / window
            if window > 0 else math.nan}


def lifecycle_params(life: Lifecycle | None) -> dict[str, object]:
    """The kernel's function-instance fields (docs/platform-features.md section 3); None:
    off, the paper's always-warm classical capacity and code path."""
    if life is None:
        return {"lifecycle": False, "max_instances": 0, "cold_start": 0.0,
                "cold_start_ops": 0.0, "keep_alive": 0.0}
    return {"lifecycle": True, "max_instances": life.max_instances,
            "cold_start": life.cold_start_s, "cold_start_ops": life.cold_start_ops,
            "keep_alive": life.keep_alive_s}


def config_policy(config: SimulationConfig) -> Policy:
    """The policy a config names (a worker process loads a user policy from its source)."""
    policy = resolve_policy(config.policy_source or config.policy)
    check_policy(policy)  # an entry put in POLICIES by hand is checked too
    return policy


def _result(config: SimulationConfig, seed: int, kernel: Kernel, out: _Records,
            log_blocks: list[np.ndarray], peak_bytes: int) -> ReplicationResult:
    """The replication's summary (MODEL.md metrics), records, schedule and memory figures."""
    st = kernel.scalars
    arrived, dropped, events = int(st["arrived"]), int(st["dropped"]), int(st["events"])
    if config.drop_window == "run":  # the reference simulator's counts: warm-up included
        arrived, dropped = int(st["arrivals"]), int(st["dropped_all"])
    end = float(st["end"])
    warmup = float(config.warmup_s)
    times = out.completed_times()
    window = end - warmup
    avg = [float(st[area]) / window if window > 0 else math.nan
           for area in ("area_c", "area_qs", "area_qp")]
    quantiles = np.quantile(times, [0.25, 0.5, 0.75, 0.95, 0.99]) if times.size else [math.nan] * 5
    summary = {
        "arrived": float(arrived),
        "accepted": float(arrived - dropped),
        "dropped": float(dropped),
        "drop_probability": dropped / arrived if arrived else math.nan,
        "completed": float(times.size),
        "censored": float(out.censored),
        "job_time_mean_s": float(times.mean()) if times.size else math.nan,
        "job_time_p25_s": float(quantiles[0]),
        "job_time_p50_s": float(quantiles[1]),
        "job_time_p75_s": float(quantiles[2]),
        "job_time_p95_s": float(quantiles[3]),
        "job_time_p99_s": float(quantiles[4]),
        "avg_classical_active": avg[0],
        "avg_quantum_in_service": avg[1],
        "avg_quantum_pending": avg[2],
        "qc_utilization": avg[1] / config.platform.quantum_computers,
        "events": float(events),
        "sim_end_s": end,
    }
    if config.lifecycle is not None:  # feature metrics only when the feature is on
        summary.update(instance_metrics(st, window))
    if config.platform.qc_groups:
        summary.update(fleet_metrics(config, kernel, window))
    if config.sessions is not None:
        summary.update(session_metrics(st, window))
    schedule = _schedule(np.concatenate(log_blocks)) if config.record_schedule else None
    memory = {"slot_capacity": kernel.capacity, "peak_active_jobs": int(st["peak_active"]),
              "state_bytes": int(peak_bytes), "job_time_bytes": int(out.time_bytes)}
    return ReplicationResult(seed, summary, out.table(), schedule, memory)


def instance_metrics(st: np.void, window: float) -> dict[str, float]:
    """Function-instance metrics of the window (docs/platform-features.md section 3): cold
    starts, total delay ready-to-start (s), instance-seconds alive and their time average."""
    area = float(st["area_inst"])
    return {"cold_starts": float(st["cold_starts"]),
            "instance_wait_s": float(st["instance_wait"]),
            "warm_instance_s": area,
            "avg_instances": area / window if window > 0 else math.nan}


def priority_levels(config: SimulationConfig) -> np.ndarray:
    """The priorities a run may see, ascending (the policy's ``level_weight``).

    A priority that never occurs leaves an empty level, which no policy ever
    picks, so declaring the workload's full set changes no result.
    """
    if config.instance is not None:
        values = [j.priority for j in config.instance.jobs] or [1]
    else:
        assert config.workload is not None  # SimulationConfig holds exactly one of them
        values = list(config.workload.priorities)
    return np.unique(np.asarray(values, dtype=np.int64))


Chunk = tuple[np.ndarray, np.ndarray, np.ndarray]  # jobs (kernel.JOB), it_flat, q_flat


def arrival_chunks(config: SimulationConfig, seed: int, weights: np.ndarray,
                   size: int) -> Iterator[Chunk]:
    """The run's arrivals, ``size`` jobs at a time: the instance's, or drawn lazily by seed
    from the "workload" stream (the same draws, in the same order, whatever ``size``)."""
    levels = {int(w): level for level, w in enumerate(weights.tolist())}
    if config.instance is not None:
        chunks = _job_chunks(iter(config.instance.jobs), levels, size)
    elif isinstance(config.workload, SyntheticWorkload):
        chunks = _job_chunks(config.workload.jobs(stream(seed, "workload"), config.duration_s),
                             levels, size)
    else:
        sampler = cached_sampler(config.traces_dir, config.workload)
        chunks = _draw_chunks(poisson_draws(sampler, stream(seed, "workload"), config.duration_s),
                              levels, size)
    last = (-math.inf, 0)
    for jobs, it_flat, q_flat in chunks:
        arrival = jobs["arrival"]
        late = np.flatnonzero(np.diff(arrival, prepend=last[0]) < 0)
        if late.size:
            raise InputError(f"job {jobs['job_id'][late[0]]}: arrivals must be in time order")
        last = (arrival[-1], jobs["job_id"][-1])
        yield jobs, it_flat, q_flat


def _level(levels: Mapping[int, int], job_id: int, priority: int) -> int:
    try:
        return levels[priority]
    except KeyError:
        raise InputError(f"job {job_id}: priority {priority} is not among the run's "
                         f"priorities {sorted(levels)}") from None


def _draw_chunks(draws: Iterable[tuple[float, int, int, ChainDraw]], levels: Mapping[int, int],
                 size: int) -> Iterator[Chunk]:
    """Trace-workload draws as kernel chunks; job ids count arrivals from 0."""
    empty = np.zeros(0)
    draws = iter(draws)
    for first in itertools.count(0, size):
        rows = [(i, q, _level(levels, i, w), 2 * c.iterations + 1, -1, t, c.pre_ops, c.post_ops,
                 c.iteration_ops, c.quantum_s)
                for i, (t, q, w, c) in enumerate(itertools.islice(draws, size), start=first)]
        if not rows:
            return
        yield np.array(rows, dtype=JOB), empty, empty


def _job_chunks(jobs: Iterator[Job], levels: Mapping[int, int], size: int) -> Iterator[Chunk]:
    """Jobs as kernel chunks. A chain whose iterations all repeat one value stores it
    once (``offset = -1``); others put their values in the chunk's flat arrays."""
    while True:
        rows: list[tuple] = []
        it_flat: list[float] = []
        q_flat: list[float] = []
        for job in itertools.islice(jobs, size):
            its, qs = job.iteration_ops, job.quantum_s
            constant = not its or (its.count(its[0]) == len(its) and qs.count(qs[0]) == len(qs))
            offset = -1 if constant else len(it_flat)
            if not constant:
                it_flat.extend(its)
                q_flat.extend(qs)
            rows.append((job.job_id, job.qubits, _level(levels, job.job_id, job.priority),
                         2 * job.iterations + 1, offset, job.arrival_s, job.pre_ops, job.post_ops,
                         its[0] if its else 0.0, qs[0] if qs else 0.0))
        if not rows:
            return
        yield (np.array(rows, dtype=JOB), np.asarray(it_flat, dtype=float),
               np.asarray(q_flat, dtype=float))


class _Records:
    """Where the kernel's records go: the sink or an in-memory table; keeps the job times.

    Completed jobs' times are kept with their arrival index (16 bytes per
    completed job) so the summary sorts them into arrival order: the mean is
    then summed in the same order as ever, bit for bit.
    """

    def __init__(self, sink: RecordSink | None, weights: np.ndarray) -> None:
        self.sink = sink
        self.weights = weights
        self.blocks: list[dict[str, np.ndarray]] = []  # without a sink: rows + "index"
        self.index: list[np.ndarray] = []
        self.times: list[np.ndarray] = []
        self.time_bytes = 0
        self.censored = 0

    def add(self, rec: np.ndarray) -> None:
        """A block of ``kernel.RECORD`` rows (completed and dropped jobs)."""
        if not rec.size:
            return
        arrival = np.ascontiguousarray(rec["arrival"])
        completion = np.ascontiguousarray(rec["completion"])
        self._emit(rec["index"], rec["job_id"], arrival, completion, completion - arrival,
                   rec["qubits"], rec["priority"], rec["iterations"], rec["wait"],
                   STATUS_NAMES[rec["status"]])
        done = rec["status"] == COMPLETED
        self.index.append(rec["index"][done])
        self.times.append((completion - arrival)[done])
        self.time_bytes += 16 * int(done.sum())

    def add_censored(self, live: np.ndarray) -> None:
        """The jobs still active at the end (``kernel.SLOT`` rows, arrival order)."""
        self.censored = len(live)
        if not live.size:
            return
        nan = np.full(len(live), math.nan)
        self._emit(live["index"], live["job_id"], live["arrival"], nan, nan.copy(), live["qubits"],
                   self.weights[live["level"]], (live["last"] - 1) >> 1, live["wait"],
                   np.full(len(live), "censored"))

    def _emit(self, index, *columns) -> None:
        rows = {name: np.ascontiguousarray(col) for name, col in zip(JOB_FIELDS, columns)}
        if self.sink is not None:
            self.sink(rows)
        else:
            rows["index"] = np.ascontiguousarray(index)
            self.blocks.append(rows)

    def completed_times(self) -> np.ndarray:
        """Job times (s) of the jobs completed in the window, in arrival order."""
        if not self.times:
            return np.zeros(0)
        index, times = np.concatenate(self.index), np.concatenate(self.times)
        return times[np.argsort(index, kind="stable")]

    def table(self) -> dict[str, np.ndarray] | None:
        """Without a sink: every record, in arrival order; with one: None."""
        if self.sink is not None:
            return None
        if not self.blocks:
            return empty_job_table()
        order = np.argsort(np.concatenate([b["index"] for b in self.blocks]), kind="stable")
        return {name: np.concatenate([b[name] for b in self.blocks])[order] for name in JOB_FIELDS}


def empty_job_table() -> dict[str, np.ndarray]:
    """A job table with no rows, typed as ``config.JOB_DTYPES``."""
    return {name: np.zeros(0, dtype=str if dt == "str" else dt) for name, dt in JOB_DTYPES.items()}


def _schedule(log: np.ndarray) -> Schedule:
    kinds = (TaskKind.CLASSICAL, TaskKind.QUANTUM)
    return Schedule(tuple(
        ScheduledTask(job, task, kinds[kind], server, start, stop)
        for job, task, kind, server, start, stop in zip(
            log["job_id"].tolist(), log["task"].tolist(), log["kind"].tolist(),
            log["server"].tolist(), log["start"].tolist(), log["end"].tolist())))
