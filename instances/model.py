"""The data model shared by every part: platform, job, task chain, instance.

Units are in the field names: ``_s`` seconds, ``_ops`` operations,
``_ops_per_s`` operations per second. See MODEL.md (bundled in the README).

A job is the chain

    pre (classical) -> [classical iteration -> quantum iteration] x n -> post (classical)

so ``2 n + 2`` tasks, indexed 0 .. 2n+1 in execution order.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum

from hqsched.errors import InputError
from hqsched.inputs import require_nonnegative_int, require_positive_int, require_positive_number


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

    def __post_init__(self) -> None:
        require_positive_int(self.classical_workers, "platform", "classical_workers")
        require_positive_int(self.quantum_computers, "platform", "quantum_computers")
        require_positive_number(self.worker_capacity_ops_per_s, "platform",
                                "worker_capacity_ops_per_s")
        for name in ("max_classical", "max_quantum"):
            value = getattr(self, name)
            if value is not None:
                require_positive_int(value, "platform", name)


@dataclass(frozen=True)
class Job:
    """A variational job: arrival, priority, problem size and its task chain.

    ``iteration_ops[k]`` is the classical work of iteration ``k`` (operations)
    and ``quantum_s[k]`` the duration of its quantum task (seconds); both
    have length ``n`` = ``iterations``. ``priority`` is a positive
    integer, higher is more important.
    """

    job_id: int
    arrival_s: float
    qubits: int
    priority: int
    pre_ops: float
    iteration_ops: tuple[float, ...]
    quantum_s: tuple[float, ...]
    post_ops: float

    def __post_init__(self) -> None:
        where = f"job {self.job_id}"
        if len(self.iteration_ops) != len(self.quantum_s):
            raise InputError(
                f"{where}: iteration_ops has {len(self.iteration_ops)} values but "
                f"quantum_s has {len(self.quantum_s)}; they must match")
        _check_number(where, "arrival_s", self.arrival_s, allow_zero=True)
        _check_number(where, "pre_ops", self.pre_ops, allow_zero=True)
        _check_number(where, "post_ops", self.post_ops, allow_zero=True)
        require_positive_int(self.priority, where, "priority")
        require_positive_int(self.qubits, where, "qubits")
        _check_series(where, "iteration_ops", self.iteration_ops, allow_zero=True)
        _check_series(where, "quantum_s", self.quantum_s, allow_zero=False)

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


def _check_number(where: str, name: str, value: object, *, allow_zero: bool) -> None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
            and (value >= 0 if allow_zero else value > 0):
        return
    need = "a finite number >= 0" if allow_zero else "a finite number > 0"
    raise InputError(f"{where}: {name} must be {need}, got {value!r}")


def _check_series(where: str, name: str, values: tuple[float, ...], *, allow_zero: bool) -> None:
    # Fast path for long chains: every value is finite and in range iff the
    # minimum is in range and the sum is finite (NaN and inf propagate).
    if not values:
        return
    if values.count(values[0]) == len(values):  # a constant chain: one value to check
        _check_number(where, f"{name}[0]", values[0], allow_zero=allow_zero)
        return
    try:
        low, total = min(values), math.fsum(values)
        if math.isfinite(total) and (low >= 0 if allow_zero else low > 0):
            return
    except TypeError:
        pass
    for k, v in enumerate(values):
        _check_number(where, f"{name}[{k}]", v, allow_zero=allow_zero)


@dataclass(frozen=True)
class Instance:
    """A finite set of jobs with fully known chains, sorted by arrival.

    The same object feeds the offline solver and the online simulator.
    """

    jobs: tuple[Job, ...]
    name: str = "instance"
    meta: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        ids = [j.job_id for j in self.jobs]
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise InputError(f"{self.name}: job_id {dup} appears more than once")
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
    require_nonnegative_int(iterations, f"job {job_id}", "iterations")
    return Job(job_id, arrival_s, qubits, priority, pre_ops,
               (iteration_ops,) * iterations, (quantum_s,) * iterations, post_ops)

