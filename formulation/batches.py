"""Batch schedules for one classical server: a heuristic incumbent for C = 1.

Why: on trace instances a job's first classical task (pre-processing, ~14 s)
is four orders of magnitude longer than its classical iterations (~1e-4 s).
On a single classical server a pre-processing task that starts while
another job still has iterations to run blocks that job for ~14 s, once per
remaining iteration. Good schedules therefore run the first tasks in
*batches*: a batch's first tasks back to back (each job's next classical
task squeezed in as soon as it is ready), then the server serves only the
batch's remaining tasks until they are all done, then the next batch. Which
jobs to batch together, and in which order, is what matters; the local
search over single-task sequences in ``repair.py`` rarely finds such
coordinated moves (figures: benchmarks/bench_offline.py and the README).

A candidate is an order of the jobs and a set of batch breaks.
``batch_schedule`` turns it into a schedule by simulation:

- a job's first task starts when the server is free and the job has arrived,
  after every other classical task that is already ready at that moment
  (they are short: running them first costs the waiting jobs little and
  saves their owners a blocking);
- after a batch's last first task, the server runs the remaining classical
  tasks of the started jobs in order of readiness, idling when none is ready,
  until every started job has completed;
- quantum tasks run first-come first-served on the earliest free QC.

``batch_search`` improves (order, breaks) by first-improvement local
search (flip a break, swap two jobs, move one job), restarting from the best
with a random perturbation. It is deterministic for a given evaluation
budget. The schedule it returns is feasible for the instance; it says
nothing about optimality (the MILP's bound does).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence

from hqsched.instances.schedule import Schedule

from .problem import OfflineProblem
from .repair import exact_schedule


def batch_schedule(problem: OfflineProblem, order: Sequence[int], breaks: Sequence[bool],
                   weighted: bool = False) -> tuple[float, list[float], list[int]]:
    """(sum of (weighted) delays in s, task starts in s, task servers) of one candidate.

    ``order``: job ids; ``breaks[i]``: a batch ends after ``order[i]``
    (the last job always ends one). Needs ``problem.classical_servers == 1``.
    """
    tasks, chains = problem.tasks, problem.chains
    arrival = {j.job_id: j.arrival_s for j in problem.instance.jobs}
    n_qc = problem.quantum_servers
    qc_free = [-math.inf] * n_qc
    starts, servers = [0.0] * len(tasks), [0] * len(tasks)
    nxt = {j: 0 for j in chains}
    ready = dict(arrival)
    started: list[int] = []  # jobs whose first task ran and that are not complete
    server_free = -math.inf
    total = 0.0

    def advance(j: int) -> None:
        """Job j's next task is classical and ready: run it, then its quantum task if any."""
        nonlocal server_free, total
        chain = chains[j]
        p = chain[nxt[j]]
        s = max(server_free, ready[j])
        starts[p], servers[p] = s, 0
        server_free = end = s + tasks[p].duration_s
        nxt[j] += 1
        if nxt[j] < len(chain) and tasks[chain[nxt[j]]].resource == "Q":
            q = chain[nxt[j]]
            k = min(range(n_qc), key=lambda i: qc_free[i])
            qs = max(end, qc_free[k])
            starts[q], servers[q] = qs, k
            qc_free[k] = end = qs + tasks[q].duration_s
            nxt[j] += 1
        ready[j] = end
        if nxt[j] == len(chain):
            started.remove(j)
            total += (tasks[p].weight if weighted else 1) * (end - arrival[j])

    def serve_ready(until: float) -> None:
        """Run the started jobs' classical tasks that are ready by ``until`` (or by the server)."""
        while True:
            horizon = max(until, server_free)
            due = [j for j in started if ready[j] <= horizon]
            if not due:
                return
            advance(min(due, key=lambda j: (ready[j], j)))

    last = len(order) - 1
    for i, j in enumerate(order):
        serve_ready(arrival[j])
        started.append(j)
        advance(j)  # its first task (on the server)
        if i == last or breaks[i]:
            while started:
                advance(min(started, key=lambda j: (ready[j], j)))
    return total, starts, servers


def batch_search(problem: OfflineProblem, seed_orders: Sequence[Sequence[int]],
                 weighted: bool = False, evaluations: int = 4000, time_limit_s: float = 5.0,
                 seed: int = 0) -> Schedule:
    """Best batch schedule found from the seed orders (each tried with every job a
    batch, with one batch, and with batches of two and three)."""
    if problem.classical_servers != 1:
        raise ValueError("batch schedules are for one classical server")
    problem.require_identical_qcs("the batch heuristic")
    rng = random.Random(seed)
    t_end = time.perf_counter() + time_limit_s
    n = len(problem.chains)
    used = 0

    def cost(order: list[int], breaks: list[bool]) -> float:
        nonlocal used
        used += 1
        return batch_schedule(problem, order, breaks, weighted)[0]

    best = None
    for order in seed_orders:
        for size in (1, 2, 3, n):
            breaks = [(i + 1) % size == 0 for i in range(n)]
            c = cost(list(order), breaks)
            if best is None or c < best[0]:
                best = (c, list(order), breaks)
    assert best is not None
    cur = best
    stall = 0
    while used < evaluations and n > 1 and time.perf_counter() < t_end:
        order, breaks = list(cur[1]), list(cur[2])
        move = rng.random()
        if move < 0.4:
            i = rng.randrange(n - 1)
            breaks[i] = not breaks[i]
        elif move < 0.7:
            i, k = rng.randrange(n), rng.randrange(n)
            order[i], order[k] = order[k], order[i]
        else:
            i, k = rng.randrange(n), rng.randrange(n)
            order.insert(k, order.pop(i))
        c = cost(order, breaks)
        if c <= cur[0] + 1e-12:
            stall = 0 if c < cur[0] - 1e-9 else stall + 1
            cur = (c, order, breaks)
            if c < best[0] - 1e-9:
                best = cur
        else:
            stall += 1
        if stall > 20 * n:  # restart from the best, perturbed
            order, breaks = list(best[1]), list(best[2])
            for _ in range(2):
                i, k = rng.randrange(n), rng.randrange(n)
                order.insert(k, order.pop(i))
                breaks[rng.randrange(n - 1)] ^= True
            cur, stall = (cost(order, breaks), order, breaks), 0
    _, starts, servers = batch_schedule(problem, best[1], best[2], weighted)
    return exact_schedule(problem, starts, servers)
