"""The offline problem's data in solver form, and the one result type.

An ``OfflineProblem`` flattens an instance into tasks with durations in
seconds (classical: work / S; quantum: work), the resource each needs
(``"C"`` classical, ``"Q"`` quantum) and the chain heads and tails used to
derive time windows. ``classical_servers=None`` means C = infinity.

A heterogeneous quantum fleet (``qc_groups``, docs/platform-features.md
sections 1 and 4) makes the QCs unrelated machines with eligibility: task
``k`` of job ``i`` lasts ``p_ikg = duration_ik x factor[g, q_i]`` on a QC of
group ``g`` and may run there only if ``q_i <= qubits_g``. QCs are numbered
group by group (``qc_group_of``); ``duration_on(pos, server)`` is a task's
duration on a server. A quantum task's ``OTask.duration_s`` is then its
*fastest eligible* duration ``min_g p_ikg``: every derived quantity that reads
it (heads, tails, chain lengths, windows) is a lower bound, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from hqsched.errors import InputError
from hqsched.instances.fleet import check_eligible, time_factors
from hqsched.instances.model import Instance, QCGroup, TaskKind
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


def fleet_estimates(groups: tuple[QCGroup, ...],
                    ibm_estimate_s: Mapping[tuple[int, str], float] | None
                    ) -> Mapping[tuple[int, str], float] | None:
    """``ibm_estimate_s``, or (None) the bundled traces' when a group names a backend."""
    if ibm_estimate_s is None and any(g.backend is not None for g in groups):
        from hqsched.instances.traces import load_traces
        return load_traces().ibm_estimate_s
    return ibm_estimate_s


def group_factors(groups: tuple[QCGroup, ...], qubit_counts: Iterable[int],
                  ibm_estimate_s: Mapping[tuple[int, str], float] | None = None
                  ) -> dict[int, tuple[float | None, ...]]:
    """Per qubit count, each group's time factor (``instances/fleet.py: time_factors``),
    None where the group cannot run that count or holds no QC. ``ibm_estimate_s``
    None: the bundled traces' (``fleet_estimates``)."""
    estimates = fleet_estimates(groups, ibm_estimate_s)
    ibm = None if estimates is None else dict(estimates)
    # Only where the group may run the count: a backend needs no estimate elsewhere.
    return {q: tuple(float(time_factors([group], [q], ibm)[0, 0])
                     if group.count > 0 and group.fits(q) else None for group in groups)
            for q in sorted(set(qubit_counts))}


def fleet_factors(groups: tuple[QCGroup, ...], qubit_counts: Iterable[int],
                  ibm_estimate_s: Mapping[tuple[int, str], float] | None = None
                  ) -> dict[int, tuple[float | None, ...]]:
    """``group_factors``, refusing (InputError) a count no group can run."""
    counts = sorted(set(qubit_counts))
    check_eligible(groups, counts, "offline problem")
    return group_factors(groups, counts, ibm_estimate_s)


@dataclass
class OfflineProblem:
    instance: Instance
    classical_servers: int | None
    quantum_servers: int
    worker_capacity_ops_per_s: float
    tasks: list[OTask] = field(default_factory=list)
    #: positions of each job's tasks in chain order
    chains: dict[int, list[int]] = field(default_factory=dict)
    #: a heterogeneous QC fleet (module docstring); (): ``quantum_servers`` identical QCs
    qc_groups: tuple[QCGroup, ...] = ()
    #: IBM's estimates (s per (qubits, backend)) for groups given a backend; None: the
    #: default bundled traces' (``instances.traces.load_traces``), read once by
    #: ``__post_init__`` only if a group names a backend
    ibm_estimate_s: Mapping[tuple[int, str], float] | None = None
    #: with a fleet: the group of each QC (QC numbers group by group)
    qc_group_of: tuple[int, ...] = ()
    #: with a fleet: each quantum task's duration (s) per group, None where not eligible
    group_durations: dict[int, tuple[float | None, ...]] = field(default_factory=dict)

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
        factor = self._fleet_factors()
        for job in self.instance.jobs:
            durs = [t.duration_s(self.worker_capacity_ops_per_s) for t in job.tasks()]
            if factor is not None:  # a quantum task's fastest eligible duration
                durs = [d if t.kind is TaskKind.CLASSICAL else min(
                    d * f for f in factor[job.qubits] if f is not None)
                    for t, d in zip(job.tasks(), durs)]
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
                if factor is not None and t.kind is TaskKind.QUANTUM:
                    base = t.duration_s(self.worker_capacity_ops_per_s)
                    self.group_durations[pos] = tuple(None if f is None else base * f
                                                      for f in factor[job.qubits])
                head += d

    def _fleet_factors(self) -> dict[int, tuple[float | None, ...]] | None:
        """With a fleet: per qubit count of the instance, each group's time factor (None
        where the group cannot run it or holds no QC); sets ``qc_group_of``. Else None."""
        if not self.qc_groups:
            return None
        self.qc_groups = tuple(self.qc_groups)
        total = sum(g.count for g in self.qc_groups)
        if self.quantum_servers != total:
            raise InputError(f"quantum_servers={self.quantum_servers} differs from the QC "
                             f"groups' total {total}")
        self.qc_group_of = tuple(g for g, group in enumerate(self.qc_groups)
                                 for _ in range(group.count))
        # Read once: the checker and the subset bounds' subproblems reuse them.
        self.ibm_estimate_s = fleet_estimates(self.qc_groups, self.ibm_estimate_s)
        return fleet_factors(self.qc_groups, {job.qubits for job in self.instance.jobs},
                             self.ibm_estimate_s)

    @property
    def fleet(self) -> bool:
        """Whether the QCs form a heterogeneous fleet (``qc_groups`` given)."""
        return bool(self.qc_groups)

    def duration_on(self, pos: int, server: int) -> float:
        """Duration (s) of task ``pos`` on server ``server`` of its resource (inf where a
        quantum task is not eligible); ``duration_s`` without a fleet or for classical tasks."""
        per_group = self.group_durations.get(pos)
        if per_group is None:
            return self.tasks[pos].duration_s
        d = per_group[self.qc_group_of[server]]
        return float("inf") if d is None else d

    def eligible_servers(self, pos: int) -> list[int]:
        """The QCs a quantum task may use (every QC without a fleet); for classical tasks
        every server (an empty list with C = infinity)."""
        per_group = self.group_durations.get(pos)
        if per_group is None:
            return list(range(self.servers(self.tasks[pos].resource) or 0))
        return [k for k, g in enumerate(self.qc_group_of) if per_group[g] is not None]

    def require_identical_qcs(self, what: str) -> None:
        """Refuse a QC fleet (one-line InputError) in a method built for identical QCs."""
        if self.fleet:
            raise InputError(f"{what} supports identical QCs only; a QC fleet (qc_groups) "
                             f"needs method milp, cpsat or auto")

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
