"""Exact schedules from approximate solver output, and a list-scheduling heuristic.

Why: HiGHS satisfies constraints only up to its feasibility tolerance
(~1e-6 s in absolute terms here), while classical iteration tasks last
~5e-4 s and the checker is exact to 1e-9 s. So a solver's start times are
never used as they are: :func:`exact_schedule` keeps only the *decisions*
(which server each task uses and in which order tasks use a server) and
recomputes every start as the earliest time allowed by release, chain and
server order (a forward pass, i.e. the semi-active schedule of those
decisions). Starts can only move earlier than the solver's (up to
tolerance), so the objective of the exact schedule is at most the solver's
plus a few tolerances, and it is the objective we report.

:func:`list_schedule` is a greedy dispatcher giving a feasible schedule, used
as the default incumbent and to derive big-M constants and time windows.
"""

from __future__ import annotations

import math
from typing import Sequence

from hqsched.instances.model import TaskKind
from hqsched.instances.schedule import SHARED_POOL, Schedule, ScheduledTask

from .problem import OfflineProblem


def exact_schedule(problem: OfflineProblem, starts_s: Sequence[float],
                   servers: Sequence[int]) -> Schedule:
    """Semi-active schedule with the server choice and per-server order of (starts_s, servers)."""
    tasks = problem.tasks
    # Order key: the solver's start made monotone along each chain, so that
    # one global order agrees with both chain and server orders even if the
    # solver's times violate precedence by a tolerance (this rules out cycles).
    key = [0.0] * len(tasks)
    for chain in problem.chains.values():
        prev = -math.inf
        for p in chain:
            key[p] = max(float(starts_s[p]), prev)
            prev = key[p]
    order = sorted(range(len(tasks)), key=lambda p: (key[p], tasks[p].job_id, tasks[p].index))
    arrival = {j.job_id: j.arrival_s for j in problem.instance.jobs}
    end = [0.0] * len(tasks)
    start = [0.0] * len(tasks)
    lane_free: dict[tuple[str, int], float] = {}
    lane = [0] * len(tasks)
    for p in order:
        t = tasks[p]
        ready = arrival[t.job_id] if t.index == 0 else end[p - 1]  # chain is contiguous
        limit = problem.servers(t.resource)
        if limit is None:
            lane[p], start[p] = SHARED_POOL, ready
        else:
            server = int(servers[p])
            server = min(max(server, 0), limit - 1)
            lane[p] = server
            if t.duration_s > 0:
                start[p] = max(ready, lane_free.get((t.resource, server), -math.inf))
                lane_free[(t.resource, server)] = start[p] + t.duration_s
            else:
                start[p] = ready  # a zero-length task occupies no server time
        end[p] = start[p] + t.duration_s
    return Schedule(tuple(
        ScheduledTask(t.job_id, t.index, TaskKind.CLASSICAL if t.resource == "C" else TaskKind.QUANTUM,
                      lane[t.pos], start[t.pos], end[t.pos]) for t in tasks))


def list_schedule(problem: OfflineProblem, weighted: bool = False) -> Schedule:
    """Best of a few greedy dispatching rules (each task on the earliest-free server)."""
    best, best_obj = None, math.inf
    for rule in ("earliest", "wspt"):
        sched = _dispatch(problem, rule, weighted)
        obj = sched.sum_delays_s(problem.instance, weighted)
        if obj < best_obj:
            best, best_obj = sched, obj
    return best


def _dispatch(problem: OfflineProblem, rule: str, weighted: bool) -> Schedule:
    tasks = problem.tasks
    arrival = {j.job_id: j.arrival_s for j in problem.instance.jobs}
    nxt = {j: 0 for j in problem.chains}
    ready_at = dict(arrival)
    free: dict[str, list[float]] = {r: [-math.inf] * (problem.servers(r) or 0) for r in ("C", "Q")}
    starts, servers = [0.0] * len(tasks), [0] * len(tasks)
    remaining = len(tasks)
    while remaining:
        best = None
        for j, k in nxt.items():
            chain = problem.chains[j]
            if k >= len(chain):
                continue
            t = tasks[chain[k]]
            lanes = free[t.resource]
            if problem.servers(t.resource) is None or t.duration_s == 0:
                srv, est = (SHARED_POOL if problem.servers(t.resource) is None else 0), ready_at[j]
            else:
                srv = min(range(len(lanes)), key=lambda s: lanes[s])
                est = max(ready_at[j], lanes[srv])
            w = t.weight if weighted else 1
            if rule == "earliest":
                score = (est, -w, t.tail_s, j)
            else:  # weighted shortest remaining processing first among what can start soon
                score = (est + (t.duration_s + t.tail_s) / w, est, j)
            if best is None or score < best[0]:
                best = (score, t, srv, est)
        _, t, srv, est = best
        starts[t.pos], servers[t.pos] = est, srv
        if problem.servers(t.resource) is not None and t.duration_s > 0:
            free[t.resource][srv] = est + t.duration_s
        ready_at[t.job_id] = est + t.duration_s
        nxt[t.job_id] += 1
        remaining -= 1
    return exact_schedule(problem, starts, servers)
