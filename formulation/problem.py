"""The offline problem's data in solver form, and the one result type.

An ``OfflineProblem`` flattens an instance into tasks with durations in
seconds (classical: work / S; quantum: work), the resource each needs
(``"C"`` classical, ``"Q"`` quantum) and the chain heads and tails used to
derive time windows. ``classical_servers=None`` means C = infinity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from hqsched.errors import InputError
from hqsched.instances.model import Instance, TaskKind
from hqsched.instances.schedule import Schedule

Status = Literal["optimal", "feasible", "infeasible", "time_limit_no_incumbent", "error"]


@dataclass(frozen=True)
class OTask:
    """One task in solver form. Times in seconds."""

    pos: int            # position in OfflineProblem.tasks
    job_id: int
    index: int          # position in the job's chain
    resource: str       # "C" or "Q"
    duration_s: float
    head_s: float       # earliest start: arrival + durations of the chain before it
    tail_s: float       # durations of the chain after it (excluded)
    weight: int         # priority of its job


@dataclass
class OfflineProblem:
    instance: Instance
    classical_servers: int | None
    quantum_servers: int
    worker_capacity_ops_per_s: float
    tasks: list[OTask] = field(default_factory=list)
    #: positions of each job's tasks in chain order
    chains: dict[int, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.classical_servers is not None and (
                isinstance(self.classical_servers, bool) or not isinstance(self.classical_servers, int)
                or self.classical_servers <= 0):
            raise InputError(f"classical_servers must be a positive integer or None (infinity), "
                             f"got {self.classical_servers!r}")
        if isinstance(self.quantum_servers, bool) or not isinstance(self.quantum_servers, int) \
                or self.quantum_servers <= 0:
            raise InputError(f"quantum_servers must be a positive integer, got {self.quantum_servers!r}")
        if not (isinstance(self.worker_capacity_ops_per_s, (int, float))
                and 0 < self.worker_capacity_ops_per_s < float("inf")):
            raise InputError(f"worker_capacity_ops_per_s must be a positive number, "
                             f"got {self.worker_capacity_ops_per_s!r}")
        for job in self.instance.jobs:
            durs = [t.duration_s(self.worker_capacity_ops_per_s) for t in job.tasks()]
            total = sum(durs)
            head = job.arrival_s
            self.chains[job.job_id] = []
            for t, d in zip(job.tasks(), durs):
                pos = len(self.tasks)
                total -= d
                self.tasks.append(OTask(pos, job.job_id, t.index,
                                        "C" if t.kind is TaskKind.CLASSICAL else "Q",
                                        d, head, max(total, 0.0), job.priority))
                self.chains[job.job_id].append(pos)
                head += d

    def servers(self, resource: str) -> int | None:
        """Server count of a resource; None = unlimited."""
        return self.classical_servers if resource == "C" else self.quantum_servers

    def chain_length_s(self, job_id: int) -> float:
        """Delay of the job if it never waited: the sum of its durations (a lower bound)."""
        return sum(self.tasks[p].duration_s for p in self.chains[job_id])


@dataclass
class SolveResult:
    """Outcome of one offline solve.

    ``objective`` is the objective of the returned *exact* ``schedule``
    (recomputed from it, not the solver's float), ``best_bound`` the solver's
    proven lower bound, ``rel_gap`` = (objective - best_bound) / max(|objective|, 1e-9).
    For a minimal-capacity solve, ``objective`` is the capacity found and
    ``best_bound`` the largest capacity proven infeasible plus one.
    Sizes count the last model solved.
    """

    status: Status
    objective: float | None = None
    best_bound: float | None = None
    rel_gap: float | None = None
    solve_time_s: float = 0.0
    n_vars: int = 0
    n_binaries: int = 0
    n_constraints: int = 0
    schedule: Schedule | None = None
    message: str = ""
    #: extra figures (capacity found, per-capacity proofs, incumbent source, ...)
    details: dict = field(default_factory=dict)

    def summary(self) -> str:
        def f(x: float | None) -> str:
            return "-" if x is None else f"{x:.6g}"
        gap = "-" if self.rel_gap is None else f"{100 * self.rel_gap:.4g}%"
        size = (f"method=bnb nodes={self.details['nodes']}" if self.details.get("method") == "bnb"
                else f"vars={self.n_vars} binaries={self.n_binaries} constraints={self.n_constraints}")
        # numba's first-call compilation is outside the time limit: said apart
        compiled = self.details.get("compile_s", 0.0)
        time_s = f"{self.solve_time_s:.2f}s" + (f" (compile {compiled:.2f}s)" if compiled >= 0.005
                                                else "")
        return (f"status={self.status} objective={f(self.objective)} best_bound={f(self.best_bound)} "
                f"gap={gap} time={time_s} {size}"
                + (f"\n{self.message}" if self.message else ""))
