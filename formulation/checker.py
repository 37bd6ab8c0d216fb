"""Independent feasibility check of a schedule (MODEL.md, "Offline problem" and invariants).

Shares no code with the optimization models on purpose: it re-derives every
duration from the instance and checks the schedule against the problem's
definition, one rule per violation kind:

- every task of every job is scheduled exactly once, and nothing else is;
- each task names its kind correctly and one server index in range
  (``SHARED_POOL`` for classical tasks when ``classical_servers`` is None,
  i.e. C = infinity);
- duration: end - start = work / S (classical) or work (quantum; with a QC
  fleet, work x the time factor of the server's group, ``instances/fleet.py``);
- eligibility (QC fleet): a quantum task's QC belongs to a group with at least
  the job's qubits (QCs numbered group by group, docs/platform-features.md);
- release: the first task starts no earlier than the job's arrival;
- chain precedence: task k+1 starts no earlier than task k ends;
- non-preemption and capacity: tasks on one server never overlap (one
  interval per task is non-preemptive by construction; with every task on one
  server and no overlap per server, at most C / Q run at any instant).

Times are seconds. ``tol`` is an absolute tolerance in seconds, scaled up
by the magnitude of the times compared (relative 1e-12) so that float
rounding of large times is not reported.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping

from hqsched.instances.model import Instance, QCGroup, TaskKind
from hqsched.instances.schedule import SHARED_POOL, Schedule, ScheduledTask

from .problem import OfflineProblem, group_factors


def _slack(tol: float, *values: float) -> float:
    return tol + 1e-12 * max((abs(v) for v in values), default=0.0)


def _qc_rules(instance: Instance, qc_groups: tuple[QCGroup, ...],
              ibm_estimate_s: Mapping[tuple[int, str], float] | None
              ) -> tuple[list[int], dict[tuple[int, int], float]]:
    """With a QC fleet: the group of each QC number (group by group) and the time factor
    of every (group index, qubit count) the instance needs where the group fits."""
    owner = [g for g, group in enumerate(qc_groups) for _ in range(group.count)]
    per_count = group_factors(qc_groups, {j.qubits for j in instance.jobs}, ibm_estimate_s)
    factor = {(g, q): f for q, per_group in per_count.items()
              for g, f in enumerate(per_group) if f is not None}
    return owner, factor


def check_schedule(instance: Instance, schedule: Schedule, classical_servers: int | None,
                   quantum_servers: int, worker_capacity_ops_per_s: float,
                   tol: float = 1e-9, qc_groups: tuple[QCGroup, ...] = (),
                   ibm_estimate_s: Mapping[tuple[int, str], float] | None = None) -> list[str]:
    """Every violation of ``schedule`` on ``instance`` as one readable line; empty = feasible.

    ``qc_groups``: a heterogeneous QC fleet (then ``quantum_servers`` is its QC count);
    ``ibm_estimate_s``: IBM's estimates for backend groups (None: the bundled traces')."""
    problems: list[str] = []
    owner, factor = _qc_rules(instance, tuple(qc_groups), ibm_estimate_s)
    qubits = {j.job_id: j.qubits for j in instance.jobs}
    expected = {(j.job_id, t.index): t for j in instance.jobs for t in j.tasks()}

    # Exactly once.
    seen: dict[tuple[int, int], ScheduledTask] = {}
    for st in schedule.tasks:
        key = (st.job_id, st.index)
        if key not in expected:
            problems.append(f"job {st.job_id} task {st.index}: not a task of the instance")
        elif key in seen:
            problems.append(f"job {st.job_id} task {st.index}: scheduled more than once")
        else:
            seen[key] = st
    for key in expected:
        if key not in seen:
            problems.append(f"job {key[0]} task {key[1]}: not scheduled")

    # Per task: kind, server, finite times, duration.
    for key, st in seen.items():
        task = expected[key]
        name = f"job {key[0]} task {key[1]}"
        if st.kind is not task.kind:
            problems.append(f"{name}: kind {st.kind.value}, expected {task.kind.value}")
        if not (math.isfinite(st.start_s) and math.isfinite(st.end_s)):
            problems.append(f"{name}: non-finite times [{st.start_s}, {st.end_s})")
            continue
        if task.kind is TaskKind.CLASSICAL:
            want = task.work / worker_capacity_ops_per_s
            if classical_servers is None:
                ok_server = st.server == SHARED_POOL
                allowed = f"{SHARED_POOL} (shared pool, C = infinity)"
            else:
                ok_server = isinstance(st.server, int) and 0 <= st.server < classical_servers
                allowed = f"0..{classical_servers - 1}"
        else:
            want = task.work
            ok_server = isinstance(st.server, int) and 0 <= st.server < quantum_servers
            allowed = f"0..{quantum_servers - 1}"
            if owner and ok_server:
                if st.server >= len(owner):
                    ok_server, allowed = False, f"0..{len(owner) - 1} (the fleet's QCs)"
                else:
                    group = qc_groups[owner[st.server]]
                    f = factor.get((owner[st.server], qubits[key[0]]))
                    if f is None:
                        problems.append(f"{name}: QC {st.server} of group {group.name!r} "
                                        f"({group.qubits} qubits) cannot run a "
                                        f"{qubits[key[0]]}-qubit task")
                        continue
                    want = task.work * f
        if not ok_server:
            problems.append(f"{name}: server {st.server} out of range {allowed}")
        got = st.end_s - st.start_s
        if abs(got - want) > _slack(tol, st.start_s, st.end_s):
            problems.append(f"{name}: duration {got!r} s, expected {want!r} s")

    # Release and chain precedence.
    for job in instance.jobs:
        first = seen.get((job.job_id, 0))
        if first is not None and first.start_s < job.arrival_s - _slack(tol, job.arrival_s):
            problems.append(f"job {job.job_id} task 0: starts at {first.start_s!r} s, "
                            f"before its arrival {job.arrival_s!r} s")
        for k in range(1, job.task_count):
            prev, cur = seen.get((job.job_id, k - 1)), seen.get((job.job_id, k))
            if prev is not None and cur is not None and \
                    cur.start_s < prev.end_s - _slack(tol, prev.end_s):
                problems.append(f"job {job.job_id} task {k}: starts at {cur.start_s!r} s, before "
                                f"task {k - 1} ends at {prev.end_s!r} s")

    # No overlap on a server (so capacity holds at every instant). Zero-length
    # tasks occupy no time and cannot overlap anything.
    lanes: dict[tuple[TaskKind, int], list[ScheduledTask]] = defaultdict(list)
    for st in seen.values():
        if st.kind is TaskKind.CLASSICAL and classical_servers is None:
            continue
        if st.end_s > st.start_s:
            lanes[(st.kind, st.server)].append(st)
    for (kind, server), items in lanes.items():
        items.sort(key=lambda t: (t.start_s, t.end_s))
        a = items[0]  # the task reaching furthest right so far
        for b in items[1:]:
            if b.start_s < a.end_s - _slack(tol, a.end_s):
                problems.append(f"{kind.value} server {server}: job {a.job_id} task {a.index} "
                                f"[{a.start_s!r}, {a.end_s!r}) overlaps job {b.job_id} task "
                                f"{b.index} [{b.start_s!r}, {b.end_s!r})")
            if b.end_s > a.end_s:
                a = b
    return problems


def check_problem(problem: OfflineProblem, schedule: Schedule, tol: float = 1e-9) -> list[str]:
    """``check_schedule`` on ``problem``'s instance and platform (its QC fleet included)."""
    return check_schedule(problem.instance, schedule, problem.classical_servers,
                          problem.quantum_servers, problem.worker_capacity_ops_per_s, tol=tol,
                          qc_groups=problem.qc_groups, ibm_estimate_s=problem.ibm_estimate_s)
