"""The data model shared by every part: platform, job, task chain, instance.

Units are in the field names: ``_s`` seconds, ``_ops`` operations,
``_ops_per_s`` operations per second. See MODEL.md (bundled in the README).

A job is the chain

    pre (classical) -> [classical iteration -> quantum iteration] x n -> post (classical)

so ``2 n + 2`` tasks, indexed 0 .. 2n+1 in execution order.

Every value a job or platform holds is checked here, once, whatever it came
from (JSON, CSV, TOML, command line, Python): the ranges below are what the
model represents without losing precision or overflowing.
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, overload

import numpy as np

from hqsched.errors import InputError
from hqsched.inputs import (
    MAX_CAPACITY,
    MAX_INT,
    MAX_PRIORITY,
    MAX_SERVERS,
    MAX_TIME_S,
    MIN_CAPACITY,
)

# --------------------------------------------------------------------------
# Representable ranges of the data model (every job and platform field)
# --------------------------------------------------------------------------
# Times (arrival_s, quantum_s) are at most MAX_TIME_S = 1e9 s (31.7 years),
# where the float64 clock still resolves 1.2e-7 s, so a job time computed as
# completion - arrival keeps sub-microsecond precision (an arrival of 1e20 s
# would make every job time 0.0). Priorities are at most MAX_PRIORITY = 1e6,
# so the weighted policy's int64 sums of priorities stay exact.

#: Largest classical work of one task (operations): what a worker of the
#: traces' rate (1e9 ops/s) does in ``MAX_TIME_S``. The duration ops / S also
#: depends on the platform's S (1 to 1e15 ops/s), so it is not bounded here.
MAX_OPS = MAX_TIME_S * 1e9
#: Largest qubit count: a label that selects trace rows, stored in int64
#: record columns; a thousand times any device built so far (a larger value is a typo).
MAX_QUBITS = 1_000_000
#: Most iterations of one job: above the 1.5e9 a trace job reaches at the
#: largest iteration scale (1500 x 1e6); its task index 2n + 1 stays exact in
#: float64 and int64, and a constant chain is stored once (``Repeated``).
MAX_ITERATIONS = 2**31 - 1
#: Largest job id: an int64 column of the kernel and a JSON number, exact in
#: both below 2**53.
MAX_JOB_ID = MAX_INT


class TaskKind(str, Enum):
    CLASSICAL = "classical"
    QUANTUM = "quantum"


@dataclass(frozen=True)
class Task:
    """One task of a job's chain.

    ``work`` is operations for a classical task and seconds for a quantum task.
    """

    job_id: int
    index: int
    kind: TaskKind
    work: float

    def duration_s(self, worker_capacity_ops_per_s: float) -> float:
        """Run time alone on one server (seconds): work/S if classical, work if quantum."""
        if self.kind is TaskKind.CLASSICAL:
            return self.work / worker_capacity_ops_per_s
        return self.work


#: Bounds of a group's speed (relative to the reference QC) and hourly cost.
MIN_SPEED, MAX_SPEED = 1e-6, 1e6
MAX_COST = 1e12


@dataclass(frozen=True)
class QCGroup:
    """``count`` identical QCs. ``qubits``: the largest task they can run (None: any).
    Their speed is ``backend``'s measured estimates when given (an IBM backend name of
    the traces), else ``speed`` (durations divide by it). ``cost_per_hour``: what one
    QC of the group costs the operator per hour (any currency), for the planner."""

    name: str
    count: int = 1
    qubits: int | None = None
    speed: float = 1.0
    backend: str | None = None
    cost_per_hour: float = 1.0

    def __post_init__(self) -> None:
        where = f"QC group {self.name!r}"
        if not isinstance(self.name, str) or not self.name.strip() or "," in self.name \
                or ":" in self.name or "=" in self.name:
            raise InputError(f"QC group: name must be a non-empty word without ',:=', "
                             f"got {self.name!r}")
        require_int_in(where, "count", self.count, 0, MAX_SERVERS)
        if self.qubits is not None:
            require_int_in(where, "qubits", self.qubits, 1, MAX_QUBITS)
        require_number_in(where, "speed", self.speed, MIN_SPEED, MAX_SPEED)
        require_number_in(where, "cost_per_hour", self.cost_per_hour, 0.0, MAX_COST)
        if self.backend is not None and self.speed != 1.0:
            raise InputError(f"{where}: give a backend or a speed, not both "
                             f"(backend={self.backend!r}, speed={self.speed!r})")

    def fits(self, qubits: int) -> bool:
        """Whether a task of ``qubits`` qubits may run on this group's QCs."""
        return self.qubits is None or qubits <= self.qubits


def check_fleet(groups: tuple[QCGroup, ...]) -> None:
    """Group names are unique and the fleet has at least one QC."""
    names = [g.name for g in groups]
    for name in names:
        if names.count(name) > 1:
            raise InputError(f"platform: QC group name {name!r} appears twice")
    if groups and sum(g.count for g in groups) < 1:
        raise InputError("platform: the QC groups hold no QC (every count is 0)")


@dataclass(frozen=True)
class Platform:
    """Capacities of the platform and its admission thresholds.

    ``max_classical`` / ``max_quantum`` are ``C_max`` / ``Q_max``; ``None``
    turns admission control off on that side (every job accepted).
    """

    classical_workers: int = 1
    worker_capacity_ops_per_s: float = 1e9
    quantum_computers: int = 1
    max_classical: int | None = None
    max_quantum: int | None = None
    #: A heterogeneous quantum fleet (``instances/fleet.py``); empty: ``quantum_computers``
    #: identical QCs (the paper's platform). When given, ``quantum_computers`` is the sum of
    #: the groups' counts (leave it at its default or give that sum).
    qc_groups: tuple[QCGroup, ...] = ()

    def __post_init__(self) -> None:
        if self.qc_groups:
            object.__setattr__(self, "qc_groups", tuple(self.qc_groups))
            check_fleet(self.qc_groups)
            total = sum(g.count for g in self.qc_groups)
            if self.quantum_computers not in (1, total):
                raise InputError(f"platform: quantum_computers={self.quantum_computers} differs "
                                 f"from the QC groups' total {total}")
            object.__setattr__(self, "quantum_computers", total)
        require_int_in("platform", "classical_workers", self.classical_workers, 1, MAX_SERVERS)
        require_int_in("platform", "quantum_computers", self.quantum_computers, 1, MAX_SERVERS)
        for name in ("max_classical", "max_quantum"):  # None: admission control off
            if getattr(self, name) is not None:
                require_int_in("platform", name, getattr(self, name), 1, MAX_SERVERS)
        # S >= 1 and <= 1e15: see MIN_CAPACITY / MAX_CAPACITY in hqsched.inputs.
        require_number_in("platform", "worker_capacity_ops_per_s",
                          self.worker_capacity_ops_per_s, MIN_CAPACITY, MAX_CAPACITY)


class Repeated(Sequence[float]):
    """``value`` repeated ``length`` times, in constant memory: a constant chain.

    Behaves as the tuple ``(value,) * length`` (equal to it, same hash, same
    iteration order), so a job of a thousand identical iterations costs two
    small objects instead of two tuples of a thousand entries (8 kB each).
    """

    __slots__ = ("value", "length")

    def __init__(self, value: float, length: int) -> None:
        self.value = value
        self.length = length

    def __len__(self) -> int:
        return self.length

    @overload
    def __getitem__(self, index: int) -> float: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[float, ...]: ...

    def __getitem__(self, index: int | slice) -> float | tuple[float, ...]:
        if isinstance(index, slice):
            return (self.value,) * len(range(*index.indices(self.length)))
        i = operator.index(index)
        if not -self.length <= i < self.length:
            raise IndexError("Repeated index out of range")
        return self.value

    def __iter__(self) -> Iterator[float]:
        return itertools.repeat(self.value, self.length)

    def __reversed__(self) -> Iterator[float]:
        return itertools.repeat(self.value, self.length)

    def __contains__(self, item: object) -> bool:
        return self.length > 0 and item == self.value

    def count(self, item: Any) -> int:
        return self.length if item in self else 0

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Repeated):
            return self.length == other.length and (not self.length or self.value == other.value)
        if isinstance(other, tuple):
            return len(other) == self.length and other.count(self.value) == self.length
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))  # equal to the tuple, so hashed as the tuple

    def __repr__(self) -> str:
        return f"Repeated({self.value!r}, {self.length})"

    def __reduce__(self) -> tuple[type, tuple[float, int]]:
        return Repeated, (self.value, self.length)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.full(self.length, self.value, dtype=dtype if dtype is not None else float)


@dataclass(frozen=True)
class Job:
    """A variational job: arrival, priority, problem size and its task chain.

    ``iteration_ops[k]`` is the classical work of iteration ``k`` (operations)
    and ``quantum_s[k]`` the duration of its quantum task (seconds); both
    have length ``n`` = ``iterations`` (a tuple, or ``Repeated`` for a
    constant chain; a list is stored as a tuple). ``priority`` is a positive
    integer, higher is more important. Every field is checked against the
    module's ranges.
    """

    job_id: int
    arrival_s: float
    qubits: int
    priority: int
    pre_ops: float
    iteration_ops: Sequence[float]
    quantum_s: Sequence[float]
    post_ops: float

    def __post_init__(self) -> None:
        require_int_in("job", "job_id", self.job_id, 0, MAX_JOB_ID)
        where = f"job {self.job_id}"
        require_number_in(where, "arrival_s", self.arrival_s, 0.0, MAX_TIME_S)
        require_int_in(where, "qubits", self.qubits, 1, MAX_QUBITS)
        require_int_in(where, "priority", self.priority, 1, MAX_PRIORITY)
        require_number_in(where, "pre_ops", self.pre_ops, 0.0, MAX_OPS)
        require_number_in(where, "post_ops", self.post_ops, 0.0, MAX_OPS)
        for name in ("iteration_ops", "quantum_s"):
            values = getattr(self, name)
            if isinstance(values, list):
                values = tuple(values)
                object.__setattr__(self, name, values)
            if not isinstance(values, (tuple, Repeated)):
                raise InputError(f"{where}: {name} must be a list of numbers, got {_show(values)}")
        if len(self.iteration_ops) != len(self.quantum_s):
            raise InputError(
                f"{where}: iteration_ops has {len(self.iteration_ops)} values but "
                f"quantum_s has {len(self.quantum_s)}; they must match")
        require_int_in(where, "iterations", len(self.quantum_s), 0, MAX_ITERATIONS)
        _check_series(where, "iteration_ops", self.iteration_ops, 0.0, MAX_OPS)
        _check_series(where, "quantum_s", self.quantum_s, 0.0, MAX_TIME_S, open_low=True)

    @property
    def iterations(self) -> int:
        """Number ``n`` of classical/quantum iteration pairs."""
        return len(self.quantum_s)

    @property
    def task_count(self) -> int:
        return 2 * self.iterations + 2

    def task(self, index: int) -> Task:
        """Task ``index`` of the chain (0 = pre, 2n+1 = post)."""
        n = self.iterations
        if index == 0:
            return Task(self.job_id, 0, TaskKind.CLASSICAL, self.pre_ops)
        if index == 2 * n + 1:
            return Task(self.job_id, index, TaskKind.CLASSICAL, self.post_ops)
        k, is_quantum = divmod(index - 1, 2)
        if is_quantum:
            return Task(self.job_id, index, TaskKind.QUANTUM, self.quantum_s[k])
        return Task(self.job_id, index, TaskKind.CLASSICAL, self.iteration_ops[k])

    def tasks(self) -> Iterator[Task]:
        """The chain in execution order."""
        return (self.task(i) for i in range(self.task_count))

    def classical_ops_total(self) -> float:
        return self.pre_ops + sum(self.iteration_ops) + self.post_ops

    def quantum_s_total(self) -> float:
        return sum(self.quantum_s)


def require_int_in(where: str, name: str, value: object, low: int, high: int) -> int:
    """``value`` itself if it is an ``int`` (not a bool, not a float such as 1.5 or 1.0)
    in ``low``..``high``; else an InputError naming ``where``, ``name`` and the value."""
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    raise InputError(f"{where}: {name} must be an integer from {low} to {high}, "
                     f"got {_show(value)}")


def require_number_in(where: str, name: str, value: object, low: float, high: float,
                      open_low: bool = False) -> float:
    """``value`` itself if it is an ``int`` or ``float`` (not a bool) in [``low``, ``high``]
    (``(low, high]`` if ``open_low``); NaN and infinities are outside every range."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) \
            and (low < value if open_low else low <= value) and value <= high:
        return value
    interval = f"{'(' if open_low else '['}{low:g}, {high:g}]"
    raise InputError(f"{where}: {name} must be a number in {interval}, got {_show(value)}")


def _show(value: object) -> str:
    """``repr(value)`` cut to 60 characters, so a message stays one short line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_series(where: str, name: str, values: Sequence[float], low: float, high: float,
                  open_low: bool = False) -> None:
    """Every value of a chain in range; the error names the first bad index."""
    if not values:
        return
    if values.count(values[0]) == len(values):  # a constant chain: one value to check
        label = name if isinstance(values, Repeated) else f"{name}[0]"
        require_number_in(where, label, values[0], low, high, open_low)
        return
    # Fast path for long chains: all in range iff every value is a number, the
    # sum is finite (NaN propagates through fsum; min and max may skip it) and
    # the minimum and maximum are in range.
    try:
        if all(type(v) in (int, float) for v in values) and math.isfinite(math.fsum(values)):
            least = min(values)
            if (low < least if open_low else low <= least) and max(values) <= high:
                return
    except OverflowError:  # an int too large for a float: found by the loop below
        pass
    for k, v in enumerate(values):
        require_number_in(where, f"{name}[{k}]", v, low, high, open_low)


@dataclass(frozen=True)
class Instance:
    """A finite set of jobs with fully known chains, sorted by arrival.

    The same object feeds the offline solver and the online simulator.
    """

    jobs: tuple[Job, ...]
    name: str = "instance"
    meta: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.meta, dict):
            raise InputError(f"{self.name}: meta must be a dict, got {_show(self.meta)}")
        seen: set[int] = set()
        for job in self.jobs:
            if job.job_id in seen:
                raise InputError(f"{self.name}: job_id {job.job_id} appears more than once")
            seen.add(job.job_id)
        ordered = tuple(sorted(self.jobs, key=lambda j: (j.arrival_s, j.job_id)))
        object.__setattr__(self, "jobs", ordered)

    def __len__(self) -> int:
        return len(self.jobs)

    def job(self, job_id: int) -> Job:
        for j in self.jobs:
            if j.job_id == job_id:
                return j
        raise KeyError(job_id)

    def tasks(self) -> list[Task]:
        return [t for j in self.jobs for t in j.tasks()]


def constant_chain_job(job_id: int, arrival_s: float, qubits: int, priority: int,
                       pre_ops: float, iteration_ops: float, quantum_s: float,
                       post_ops: float, iterations: int) -> Job:
    """A job whose ``iterations`` iterations all have the same classical work and quantum time."""
    require_int_in(f"job {job_id}", "iterations", iterations, 0, MAX_ITERATIONS)
    return Job(job_id, arrival_s, qubits, priority, pre_ops,
               Repeated(iteration_ops, iterations), Repeated(quantum_s, iterations), post_ops)

