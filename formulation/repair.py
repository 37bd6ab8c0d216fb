"""Exact schedules from approximate solver output, and a list-scheduling heuristic.

Why: HiGHS satisfies constraints only up to its feasibility tolerance
(~1e-6 s in absolute terms here), while classical iteration tasks last
~5e-4 s and the checker is exact to 1e-9 s. So a solver's start times are
never used as they are: ``exact_schedule`` keeps only the *decisions*
(which server each task uses and in which order tasks use a server) and
recomputes every start as the earliest time allowed by release, chain and
server order (a forward pass, i.e. the semi-active schedule of those
decisions). Starts can only move earlier than the solver's (up to
tolerance), so the objective of the exact schedule is at most the solver's
plus a few tolerances, and it is the objective we report.

``list_schedule`` is a greedy dispatcher giving a feasible schedule;
``local_search`` improves it (serial schedule generation over job
sequences, Kolisch 1996; insertion/swap moves with perturbed restarts, an
iterated greedy in the sense of Ruiz & Stuetzle 2007). The best one is the
default incumbent and MIP start and sets the big-M constants and time windows.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence

from hqsched.instances.model import TaskKind
from hqsched.instances.schedule import SHARED_POOL, Schedule, ScheduledTask

from .problem import OfflineProblem, OTask


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
            lane[p], start[p], duration = SHARED_POOL, ready, t.duration_s
        else:
            server = int(servers[p])
            server = min(max(server, 0), limit - 1)
            if t.duration_s == 0 and p in problem.group_durations:
                server = problem.eligible_servers(p)[0]  # any eligible QC: it takes no time
            lane[p] = server
            duration = problem.duration_on(p, server)  # its QC's, with a fleet
            if duration > 0:
                start[p] = max(ready, lane_free.get((t.resource, server), -math.inf))
                lane_free[(t.resource, server)] = start[p] + duration
            else:
                start[p] = ready  # a zero-length task occupies no server time
        end[p] = start[p] + duration
    return Schedule(tuple(
        ScheduledTask(t.job_id, t.index, TaskKind.CLASSICAL if t.resource == "C" else TaskKind.QUANTUM,
                      lane[t.pos], start[t.pos], end[t.pos]) for t in tasks))


def list_schedule(problem: OfflineProblem, weighted: bool = False) -> Schedule:
    """Best of a few greedy dispatching rules (each task on the earliest-free server)."""
    best: Schedule | None = None
    best_obj = math.inf
    for rule in ("earliest", "wspt"):
        sched = _dispatch(problem, rule, weighted)
        obj = sched.sum_delays_s(problem.instance, weighted)
        if best is None or obj < best_obj:
            best, best_obj = sched, obj
    assert best is not None
    return best


def _dispatch(problem: OfflineProblem, rule: str, weighted: bool) -> Schedule:
    tasks = problem.tasks
    n_servers = {r: problem.servers(r) for r in ("C", "Q")}
    # Next task of every unfinished job (a job leaves the dict when its chain is done:
    # each step scans only these, O(tasks x unfinished jobs) in all).
    nxt = {j: 0 for j, chain in problem.chains.items() if chain}
    ready_at = {j.job_id: j.arrival_s for j in problem.instance.jobs}
    free: dict[str, list[float]] = {r: [-math.inf] * (n_servers[r] or 0) for r in ("C", "Q")}
    starts, servers = [0.0] * len(tasks), [0] * len(tasks)
    remaining = len(tasks)
    while remaining:
        # (score, task, server, start); scores compare within one rule only
        best: tuple[tuple[float, ...], OTask, int, float] | None = None
        for j, k in nxt.items():
            t = tasks[problem.chains[j][k]]
            lanes = free[t.resource]
            if n_servers[t.resource] is None or t.duration_s == 0:
                srv, est = (SHARED_POOL if n_servers[t.resource] is None else 0), ready_at[j]
            elif t.pos in problem.group_durations:  # QC fleet: earliest end, eligible QCs
                srv = min(problem.eligible_servers(t.pos), key=lambda k: (
                    max(ready_at[j], lanes[k]) + problem.duration_on(t.pos, k), k))
                est = max(ready_at[j], lanes[srv])
            else:
                srv = min(range(len(lanes)), key=lanes.__getitem__)
                est = max(ready_at[j], lanes[srv])
            w = t.weight if weighted else 1
            score: tuple[float, ...]
            if rule == "earliest":
                score = (est, -w, t.tail_s, j)
            else:  # weighted shortest remaining processing first among what can start soon
                score = (est + (t.duration_s + t.tail_s) / w, est, j)
            if best is None or score < best[0]:
                best = (score, t, srv, est)
        assert best is not None  # some job has a task left while remaining > 0
        _, t, srv, est = best
        starts[t.pos], servers[t.pos] = est, srv
        d = t.duration_s if srv == SHARED_POOL or t.duration_s == 0 else \
            problem.duration_on(t.pos, srv)
        if n_servers[t.resource] is not None and t.duration_s > 0:
            free[t.resource][srv] = est + d
        ready_at[t.job_id] = est + d
        nxt[t.job_id] += 1
        if nxt[t.job_id] == len(problem.chains[t.job_id]):
            del nxt[t.job_id]
        remaining -= 1
    return exact_schedule(problem, starts, servers)


# --- Improvement heuristic: serial schedule generation + local search ---------
#
# A job sequence (each job id appears once per task of its chain; its k-th
# occurrence stands for its k-th task) is always precedence-feasible. The
# serial schedule-generation scheme (Kolisch 1996, EJOR 90) places the tasks
# in that order, each at the earliest time >= its chain predecessor's end at
# which one server of its resource is free for its whole duration (filling
# earlier holes). Over all sequences it yields every active schedule, so it
# contains an optimum; the local search below (random insertion and swap
# moves, first improvement, restarts from perturbed best; an iterated-greedy
# scheme, Ruiz & Stuetzle 2007, EJOR 177) only looks for a good incumbent.


def sgs(problem: OfflineProblem, sequence: Sequence[int], weighted: bool = False
        ) -> tuple[float, list[float], list[int]]:
    """Serial SGS of a job sequence: (sum of (weighted) delays, starts, servers)."""
    tasks = problem.tasks
    arrival = {j.job_id: j.arrival_s for j in problem.instance.jobs}
    nxt = {j: 0 for j in problem.chains}
    ready = dict(arrival)
    # per resource and server: busy (start, end) intervals sorted by start
    lanes: dict[str, list[list[tuple[float, float]]]] = {
        r: [[] for _ in range(problem.servers(r) or 0)] for r in ("C", "Q")}
    starts, servers = [0.0] * len(tasks), [0] * len(tasks)
    total = 0.0
    for j in sequence:
        chain = problem.chains[j]
        p = chain[nxt[j]]
        nxt[j] += 1
        t = tasks[p]
        d = t.duration_s
        if problem.servers(t.resource) is None or d == 0:
            start, srv = ready[j], (SHARED_POOL if problem.servers(t.resource) is None else 0)
        else:
            start, srv, at = math.inf, 0, 0
            fleet = p in problem.group_durations  # QC fleet: earliest end on an eligible QC
            best_end = math.inf
            for k in (problem.eligible_servers(p) if fleet else range(len(lanes[t.resource]))):
                lane = lanes[t.resource][k]
                if fleet:
                    d = problem.duration_on(p, k)
                cand, i = ready[j], 0
                for i, (s, e) in enumerate(lane):  # noqa: B007 (i is the insertion point after the loop)
                    if e <= cand:
                        continue
                    if s >= cand + d:
                        break
                    cand = e
                else:
                    i = len(lane)
                if (cand + d < best_end) if fleet else (cand < start):
                    start, srv, at, best_end = cand, k, i, cand + d
            d = problem.duration_on(p, srv) if fleet else d
            lane = lanes[t.resource][srv]
            # keep the lane sorted by start
            while at < len(lane) and lane[at][0] < start:
                at += 1
            lane.insert(at, (start, start + d))
        starts[p], servers[p] = start, srv
        ready[j] = start + d
        if nxt[j] == len(chain):
            total += (t.weight if weighted else 1) * (ready[j] - arrival[j])
    return total, starts, servers


def sequence_of(problem: OfflineProblem, schedule: Schedule) -> list[int]:
    """The job sequence that lists a schedule's tasks by start time."""
    return [t.job_id for t in sorted(schedule.tasks, key=lambda t: (t.start_s, t.job_id, t.index))]


def local_search(problem: OfflineProblem, seeds: Sequence[Schedule], weighted: bool = False,
                 evaluations: int = 20000, time_limit_s: float = 10.0, seed: int = 0) -> Schedule:
    """Best schedule found by insertion/swap local search from the seeds (deterministic
    for a given evaluation budget unless the time limit cuts it short)."""
    rng = random.Random(seed)
    t_end = time.perf_counter() + time_limit_s
    pool = []
    for s in seeds:
        seq = sequence_of(problem, s)
        pool.append((sgs(problem, seq, weighted)[0], seq))
    best_obj, best_seq = min(pool, key=lambda x: x[0])
    cur_obj, cur = best_obj, list(best_seq)
    n = len(cur)
    used, stall = 0, 0
    while used < evaluations and n > 1:
        if time.perf_counter() > t_end:  # each evaluation may take ms on large instances
            break
        cand = list(cur)
        if rng.random() < 0.5:
            i, k = rng.randrange(n), rng.randrange(n)
            cand.insert(k, cand.pop(i))
        else:
            i, k = rng.randrange(n), rng.randrange(n)
            cand[i], cand[k] = cand[k], cand[i]
        obj = sgs(problem, cand, weighted)[0]
        used += 1
        if obj <= cur_obj + 1e-12:
            stall = 0 if obj < cur_obj - 1e-9 else stall + 1
            cur_obj, cur = obj, cand
            if obj < best_obj - 1e-9:
                best_obj, best_seq = obj, list(cand)
        else:
            stall += 1
        if stall > 40 * n:  # restart from the best with a random perturbation
            cur = list(best_seq)
            for _ in range(max(2, n // 16)):
                i, k = rng.randrange(n), rng.randrange(n)
                cur.insert(k, cur.pop(i))
            cur_obj, stall = sgs(problem, cur, weighted)[0], 0
    _, starts, servers = sgs(problem, best_seq, weighted)
    return exact_schedule(problem, starts, servers)
