"""CP-SAT (OR-Tools) constraint programming model of the offline problem.

The model (MODEL.md "Offline problem"; the interval/cumulative formulation
of OR-Tools' job-shop and RCPSP samples): one fixed-size interval per task,
chain precedence ``s_next >= s_p + d_p``, release ``s_first >= t_j``, and per
resource with a finite count m of servers a ``NoOverlap`` (m = 1) or a
``Cumulative`` of unit demands and capacity m (m >= 2). A cumulative profile
of at most m unit tasks is always assignable to m servers (interval graphs
are perfect); ``_assign_servers`` does it greedily by start time. C = infinity
(``classical_servers=None``) drops the classical resource. Zero-length tasks
occupy no server. Objective: ``sum_j w_j C_j``, the completion-time form of
the sum of (weighted) delays ``sum_j w_j (C_j - t_j)``: the two differ by the
constant ``sum_j w_j t_j``, computed with the TRUE arrivals.

Exactness on real durations. CP-SAT needs integers: times are counted in
steps of a grid ``g`` (s), chosen by ``choose_grid``.

- Durations and releases rounded DOWN (``rounding="down"``): any true
  schedule s maps to floor(s / g), which satisfies release, chain and server
  order with the floored durations (floor(a + b) >= floor(a) + floor(b)) and
  ends every job no later than floor(C_j / g). So the grid optimum (or its
  proven bound) times g, minus ``sum_j w_j t_j`` (true arrivals), is a LOWER
  bound on the true optimum.
- Durations and releases rounded UP (``rounding="up"``): a grid schedule
  stays feasible with the true (shorter) durations at the same starts.
- In both cases the solution's decisions (server of each task, order on each
  server) are replayed with the true durations and left-shifted by
  repair.exact_schedule, which is feasible for any decisions; its true
  objective is the UPPER bound reported (and it passes checker.check_schedule).

When every duration and arrival lies on the grid both roundings are the
identity and a proven grid optimum is the optimum; otherwise the result is a
bracket (lower, upper), "optimal" only when it closes to ``rel_gap``.

Determinism: ``NUM_WORKERS`` search workers (the machine's 2 cores:
``SUBSOLVERS``) and a fixed ``random_seed``. With two workers CP-SAT's
parallel search depends on thread timing: run times and unproven brackets
may differ between runs, proven optima do not.

A heterogeneous QC fleet (``problem.qc_groups``; docs/platform-features.md
section 4) is modelled with optional intervals (OR-Tools' flexible job-shop
form): a quantum task has one presence literal per eligible group g with
QCs, exactly one true, and an optional interval of g's duration (rounded as
above) at its start; each group's QCs are identical, so its intervals get a
``NoOverlap`` (one QC) or a ``Cumulative`` of capacity ``count_g``, and
``_assign_servers`` numbers the QCs inside the group. The task's duration in
the chain rows is ``sum_g d_g x_g``. Windows use each task's fastest eligible
(rounded) duration, the horizon its slowest: both stay valid.

ortools is an optional dependency (extra ``ortools``): ``available()`` says
whether it is installed; nothing here imports it at module load.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

from hqsched.instances.schedule import SHARED_POOL, Schedule

from .checker import check_problem
from .problem import OfflineProblem, SolveResult
from .repair import exact_schedule

Rounding = Literal["down", "up"]

#: CP-SAT search workers (threads) and seed: 2 cores on the reference machine.
NUM_WORKERS = 2
RANDOM_SEED = 0

#: The two full-search workers. CP-SAT's default for 2 workers (one LP-based
#: search plus interleaved LNS) spent 5-7 s proving a 2-job, 8-task instance
#: on a 1e-8 s grid and did not prove trace instance 14x3 (C = 2, Q = 2) in
#: 30 s; quick restarts next to the LP search prove them in 0.02 s and 3.4 s
#: (8x3: 2.4 s against 4.5 s).
SUBSOLVERS = ("quick_restart", "default_lp")

#: Grids tried, coarsest first (s). The coarsest one on which the instance lies
#: exactly is used; else ``fine_grid_s``.
GRID_CANDIDATES_S = tuple(10.0 ** -k for k in range(0, 10))

#: Finest grid of off-grid instances (s). Measured on trace instances (C = 2,
#: Q = 2; 8x3, 14x3, 16x3): 1e-6, 1e-7 and 1e-8 s solve equally fast (CP-SAT
#: propagates bounds, the step size hardly matters), while 1e-6 s leaves the
#: rounding bracket above the default relative gap of 1e-7.
FINEST_GRID_S = 1e-9

#: Solution hints: measured off. On trace instance 8x3 (C = 2, Q = 2), a hint
#: from the incumbent kept CP-SAT (2 workers) from proving the optimum in
#: 20 s, which it proves in 3-6 s without; the incumbent still gives the
#: time windows (``deadlines_s``) and the upper bound.
USE_HINT = False

#: Largest horizon in grid steps (CP-SAT domains are int64; keep sums of
#: weighted completions far from overflow).
MAX_STEPS = 2 ** 40


def available() -> bool:
    """True if OR-Tools (the ``ortools`` extra) is installed."""
    try:
        import ortools.sat.python.cp_model  # noqa: F401
    except ImportError:
        return False
    return True


MISSING = "method cpsat needs OR-Tools: pip install 'hqsched[ortools]'"


class Grid(NamedTuple):
    """The time step of a CP-SAT model and whether the instance lies on it."""

    step_s: float
    exact: bool     # every duration and arrival is a multiple of step_s


class GridData(NamedTuple):
    """Durations, releases and deadlines in grid steps (tasks by position)."""

    step_s: float
    duration: list[int]            # with a QC fleet: a quantum task's fastest eligible
    release: dict[int, int]        # job id -> earliest start of its first task
    deadline: dict[int, int]       # job id -> latest completion
    #: QC fleet: quantum task -> {eligible group (with QCs): duration in steps}; else empty
    by_group: dict[int, dict[int, int]] = {}


def _on_grid(x: float, step: float) -> bool:
    """x (s) is a whole number of steps, up to float rounding of x / step (1e-6 of a
    step, plus 1e-14 relative: at most 0.01 step within ``MAX_STEPS``)."""
    k = x / step
    return abs(k - round(k)) <= 1e-6 + 1e-14 * abs(k)


def _group_durations_s(problem: OfflineProblem) -> dict[int, dict[int, float]]:
    """QC fleet: each quantum task's duration (s) per eligible group; else empty."""
    return {p: {g: d for g, d in enumerate(per_group) if d is not None}
            for p, per_group in problem.group_durations.items()}


def _horizon_s(problem: OfflineProblem) -> float:
    """A completion time no schedule needs to exceed: the last arrival plus all work (s)
    (with a QC fleet, each quantum task at its slowest eligible duration)."""
    last = max((j.arrival_s for j in problem.instance.jobs), default=0.0)
    slowest = {p: max(ds.values()) for p, ds in _group_durations_s(problem).items()}
    return last + sum(slowest.get(t.pos, t.duration_s) for t in problem.tasks)


def fine_grid_s(problem: OfflineProblem, rel_gap: float) -> float:
    """The coarsest power of ten whose rounding costs at most a tenth of ``rel_gap``.

    Rounding moves each completion by at most one step per task of the chain
    (per task at most one step lost or gained), so the bracket widens by at
    most ``sum_j w_j n_j`` steps against an objective of at least the
    weighted chain lengths; the unweighted count is used for both (w_j >= 1
    scales both sides alike to first order)."""
    tasks = max(len(problem.tasks), 1)
    floor_s = sum(problem.chain_length_s(j) for j in problem.chains)
    want = 0.1 * max(rel_gap, 1e-9) * max(floor_s, 1e-9) / tasks
    step = 10.0 ** math.floor(math.log10(max(want, FINEST_GRID_S)))
    return min(step, 1e-6)


def choose_grid(problem: OfflineProblem, rel_gap: float = 1e-7) -> Grid:
    """The coarsest candidate grid holding every duration and arrival exactly (and
    the horizon within ``MAX_STEPS``), else ``fine_grid_s`` (inexact)."""
    values = [t.duration_s for t in problem.tasks] + [j.arrival_s for j in problem.instance.jobs]
    values += [d for ds in _group_durations_s(problem).values() for d in ds.values()]
    horizon = _horizon_s(problem)
    for step in GRID_CANDIDATES_S:
        if horizon / step > MAX_STEPS:
            break
        if all(_on_grid(v, step) for v in values):
            return Grid(step, True)
    step = fine_grid_s(problem, rel_gap)
    while horizon / step > MAX_STEPS:
        step *= 10.0
    return Grid(step, False)


def _to_grid(x: float, step: float, rounding: Rounding) -> int:
    """x (s) in grid steps, rounded in the given direction (exact multiples stay exact)."""
    k = x / step
    if _on_grid(x, step):
        return int(round(k))
    return int(math.floor(k)) if rounding == "down" else int(math.ceil(k))


def grid_data(problem: OfflineProblem, grid: Grid, rounding: Rounding,
              deadlines_s: dict[int, float] | None = None) -> GridData:
    """Durations and releases rounded in ``rounding``'s direction; deadlines (s, None:
    the horizon) rounded down in both (module docstring: both stay valid)."""
    step = grid.step_s
    duration = [_to_grid(t.duration_s, step, rounding) for t in problem.tasks]
    release = {j.job_id: _to_grid(j.arrival_s, step, rounding) for j in problem.instance.jobs}
    by_group = {p: {g: _to_grid(d, step, rounding) for g, d in ds.items()}
                for p, ds in _group_durations_s(problem).items()}
    slowest = [max(by_group[p].values()) if p in by_group else d for p, d in enumerate(duration)]
    horizon = max(release.values(), default=0) + sum(slowest)
    deadline = {}
    for j in problem.instance.jobs:
        limit = horizon if deadlines_s is None else min(
            horizon, _to_grid(deadlines_s[j.job_id], step, "down"))
        deadline[j.job_id] = limit
    if not by_group:
        return GridData(step, duration, release, deadline)
    return GridData(step, duration, release, deadline, by_group)


class Built(NamedTuple):
    """A CP-SAT model and its start variables (by task position)."""

    model: Any                  # ortools CpModel
    starts: list[Any]           # IntVar per task
    completion: dict[int, Any]  # job id -> linear expression of its last task's end
    empty: list[str]            # tasks whose window is empty (deadline too tight)
    #: QC fleet: quantum task -> {eligible group: its presence literal}; else empty
    chosen: dict[int, dict[int, Any]] = {}


def _start_vars(model: Any, problem: OfflineProblem, data: GridData) -> tuple[list[Any], list[str]]:
    """One start variable per task, in [release + chain head, deadline - rest of chain]."""
    starts: list[Any] = [None] * len(problem.tasks)
    empty = []
    for job_id, chain in problem.chains.items():
        head = data.release[job_id]
        rest = sum(data.duration[p] for p in chain)
        for p in chain:
            rest -= data.duration[p]
            hi = data.deadline[job_id] - rest - data.duration[p]
            if hi < head:
                t = problem.tasks[p]
                empty.append(f"job {t.job_id} task {t.index}")
                hi = head
            starts[p] = model.new_int_var(head, hi, f"s{p}")
            head += data.duration[p]
    return starts, empty


def build_model(problem: OfflineProblem, data: GridData, weighted: bool,
                objective: bool = True) -> Built:
    """Intervals, chains, release dates, resources and (if ``objective``) the
    weighted completion-time sum; the module docstring gives the maths."""
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    starts, empty = _start_vars(model, problem, data)
    chosen = _add_fleet(model, problem, data, starts) if data.by_group else {}

    def length(p: int) -> Any:
        """Task p's duration in steps (with a QC fleet, of the group chosen)."""
        if p not in chosen:
            return data.duration[p]
        return sum(data.by_group[p][g] * lit for g, lit in chosen[p].items())

    for chain in problem.chains.values():
        for a, b in zip(chain, chain[1:]):
            model.add(starts[b] >= starts[a] + length(a))
    for r in ("C", "Q"):
        cap = problem.servers(r)
        busy = [t.pos for t in problem.tasks if t.resource == r and data.duration[t.pos] > 0]
        if cap is None or len(busy) <= 1 or cap >= len(busy) or (r == "Q" and chosen):
            continue
        intervals = [model.new_fixed_size_interval_var(starts[p], data.duration[p], f"i{p}")
                     for p in busy]
        if cap == 1:
            model.add_no_overlap(intervals)
        else:
            model.add_cumulative(intervals, [1] * len(intervals), cap)
    completion = {j: starts[chain[-1]] + length(chain[-1])
                  for j, chain in problem.chains.items()}
    if objective:
        w = {j.job_id: (j.priority if weighted else 1) for j in problem.instance.jobs}
        model.minimize(sum(w[j] * c for j, c in completion.items()))
    return Built(model, starts, completion, empty, chosen)


def _add_fleet(model: Any, problem: OfflineProblem, data: GridData, starts: list[Any]
               ) -> dict[int, dict[int, Any]]:
    """QC fleet: a presence literal and an optional interval per quantum task and eligible
    group (exactly one chosen), and each group's capacity (module docstring)."""
    chosen: dict[int, dict[int, Any]] = {}
    per_group: dict[int, list[Any]] = {g: [] for g in range(len(problem.qc_groups))}
    for p, ds in data.by_group.items():
        chosen[p] = {g: model.new_bool_var(f"x{p}_{g}") for g in ds}
        model.add_exactly_one(chosen[p].values())
        for g, lit in chosen[p].items():
            if ds[g] > 0:  # a zero-length task occupies no QC
                per_group[g].append(model.new_optional_fixed_size_interval_var(
                    starts[p], ds[g], lit, f"i{p}_{g}"))
    for g, intervals in per_group.items():
        count = problem.qc_groups[g].count
        if len(intervals) <= 1 or count >= len(intervals):
            continue
        if count == 1:
            model.add_no_overlap(intervals)
        else:
            model.add_cumulative(intervals, [1] * len(intervals), count)
    return chosen


def _assign_fleet(problem: OfflineProblem, data: GridData, starts: Sequence[int],
                  groups: dict[int, int], servers: list[int]) -> None:
    """QC fleet: inside each group, its tasks by start time on the QC that freed first
    (``groups``: the group chosen for each quantum task); ``servers`` in place."""
    first = 0
    for g, group in enumerate(problem.qc_groups):
        free = [-math.inf] * group.count
        mine = sorted((p for p, h in groups.items() if h == g), key=lambda p: (starts[p], p))
        for p in mine:
            k = min(range(group.count), key=lambda i: (free[i] > starts[p], free[i], i))
            servers[p] = first + k
            if data.by_group[p][g] > 0:
                free[k] = starts[p] + data.by_group[p][g]
        first += group.count


def _assign_servers(problem: OfflineProblem, data: GridData, starts: Sequence[int],
                    groups: dict[int, int] | None = None) -> list[int]:
    """Server of each task from grid starts: per resource, tasks by start time on
    the server that freed first (valid when at most m overlap at any instant).
    ``groups``: with a QC fleet, the group chosen for each quantum task."""
    servers = [0] * len(problem.tasks)
    if groups is not None:
        _assign_fleet(problem, data, starts, groups, servers)
    for r in ("C", "Q"):
        cap = problem.servers(r)
        if cap is None or (r == "Q" and groups is not None):
            continue
        free = [-math.inf] * cap
        busy = sorted((t.pos for t in problem.tasks if t.resource == r and data.duration[t.pos] > 0),
                      key=lambda p: (starts[p], p))
        for p in busy:
            k = min(range(cap), key=lambda i: (free[i] > starts[p], free[i], i))
            servers[p] = k
            free[k] = starts[p] + data.duration[p]
    return servers


def grid_hint(problem: OfflineProblem, data: GridData, schedule: Schedule) -> list[int]:
    """Grid starts of ``schedule``'s decisions (server and order on it) with the grid
    durations: the forward pass of repair.exact_schedule on the grid (never later
    than floor(start / g) for rounded-down durations)."""
    by_key = {(t.job_id, t.index): t for t in schedule.tasks}
    order = sorted(range(len(problem.tasks)), key=lambda p: (
        by_key[(problem.tasks[p].job_id, problem.tasks[p].index)].start_s, problem.tasks[p].job_id,
        problem.tasks[p].index))
    start = [0] * len(problem.tasks)
    length = list(data.duration)  # with a QC fleet: of the schedule's QC
    for p in data.by_group:
        length[p] = data.by_group[p][problem.qc_group_of[by_key[
            (problem.tasks[p].job_id, problem.tasks[p].index)].server]]
    lane_free: dict[tuple[str, int], int] = {}
    for p in order:
        t = problem.tasks[p]
        ready = data.release[t.job_id] if t.index == 0 else start[p - 1] + length[p - 1]
        server = by_key[(t.job_id, t.index)].server
        if problem.servers(t.resource) is None or server == SHARED_POOL or length[p] == 0:
            start[p] = ready
            continue
        start[p] = max(ready, lane_free.get((t.resource, server), ready))
        lane_free[(t.resource, server)] = start[p] + length[p]
    return start


def _solver(time_limit_s: float) -> Any:
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(float(time_limit_s), 0.01)
    solver.parameters.num_workers = NUM_WORKERS
    solver.parameters.random_seed = RANDOM_SEED
    # CP-SAT's own Ctrl-C handler ends the solve quietly and then leaves SIGINT at its
    # default (the next Ctrl-C kills the process with no message): Python's handler, with
    # hqsched.cli.interrupt, stops the command instead.
    solver.parameters.catch_sigint_signal = False
    for name in SUBSOLVERS:
        solver.parameters.subsolvers.append(name)
    return solver


class GridSolve(NamedTuple):
    """One CP-SAT solve of a grid model, read back."""

    status: str                 # "optimal", "feasible", "infeasible" or "unknown"
    bound_steps: float | None   # proven lower bound on the grid objective (steps)
    schedule: Schedule | None   # the solution's decisions replayed with TRUE durations
    wall_s: float
    n_constraints: int = 0      # constraints of the model


def solve_grid(problem: OfflineProblem, data: GridData, weighted: bool, time_limit_s: float,
               hint: Schedule | None = None, objective: bool = True) -> GridSolve:
    """Solve one grid model; decode its solution into an exact true-duration schedule."""
    from ortools.sat.python import cp_model

    built = build_model(problem, data, weighted, objective)
    if built.empty:
        return GridSolve("infeasible", None, None, 0.0)
    if hint is not None:
        for var, value in zip(built.starts, grid_hint(problem, data, hint)):
            built.model.add_hint(var, value)
    solver = _solver(time_limit_s)
    t0 = time.perf_counter()
    code = solver.solve(built.model)
    wall = time.perf_counter() - t0
    status = {cp_model.OPTIMAL: "optimal", cp_model.FEASIBLE: "feasible",
              cp_model.INFEASIBLE: "infeasible"}.get(code, "unknown")
    schedule = None
    if status in ("optimal", "feasible"):
        grid_starts = [solver.value(v) for v in built.starts]
        groups = {p: next(g for g, lit in lits.items() if solver.boolean_value(lit))
                  for p, lits in built.chosen.items()} if built.chosen else None
        servers = _assign_servers(problem, data, grid_starts, groups)
        schedule = exact_schedule(problem, [s * data.step_s for s in grid_starts], servers)
    bound = None
    if objective and status in ("optimal", "feasible", "unknown"):
        bound = float(solver.best_objective_bound)
    return GridSolve(status, bound, schedule, wall, len(built.model.proto.constraints))


# ----------------------------------------------------------------------------
# sum of (weighted) delays
# ----------------------------------------------------------------------------

#: (objective (s), source, schedule): solve.Incumbent has this shape.
Known = tuple[float, str, Schedule]


def _weights(problem: OfflineProblem, weighted: bool) -> dict[int, int]:
    return {j.job_id: (j.priority if weighted else 1) for j in problem.instance.jobs}


def _lower_bound_s(problem: OfflineProblem, weighted: bool, bound_steps: float | None,
                   step_s: float) -> float:
    """The true lower bound (s) from a rounded-down grid bound: g * bound minus
    sum_j w_j t_j with the TRUE arrivals; never below the chain lengths' sum."""
    w = _weights(problem, weighted)
    chains = sum(w[j] * problem.chain_length_s(j) for j in problem.chains)
    if bound_steps is None:
        return chains
    arrivals = sum(w[j.job_id] * j.arrival_s for j in problem.instance.jobs)
    return max(chains, bound_steps * step_s - arrivals)


def _gap(obj: float, bound: float) -> float:
    return max(0.0, obj - bound) / max(abs(obj), 1e-9)


def solve_delays_cpsat(problem: OfflineProblem, best: Known | None, weighted: bool,
                       time_limit_s: float, rel_gap: float, deadlines_s: dict[int, float] | None,
                       notes: list[str]) -> SolveResult:
    """Minimize the (weighted) sum of delays with CP-SAT on the rounded-down grid.

    ``best``: the best known exact schedule (the incumbent; also the hint if
    ``USE_HINT``); ``deadlines_s``:
    latest completion of each job in any schedule at least as good as ``best``
    (solve._delay_deadlines), or None. The lower bound is the grid bound
    (module docstring); the upper bound the best of ``best`` and the grid
    solution replayed with true durations. "optimal" when the grid is exact and
    CP-SAT proved its optimum, or when the bracket closes to ``rel_gap``.
    """
    t0 = time.perf_counter()
    grid = choose_grid(problem, rel_gap)
    data = grid_data(problem, grid, "down", deadlines_s)
    hint = best[2] if best is not None and USE_HINT else None
    solved = solve_grid(problem, data, weighted, time_limit_s, hint)
    candidates: list[Known] = [best] if best is not None else []
    if solved.schedule is not None:
        candidates.append((solved.schedule.sum_delays_s(problem.instance, weighted), "cpsat",
                           solved.schedule))
    lower = _lower_bound_s(problem, weighted, solved.bound_steps, grid.step_s)
    if solved.status == "infeasible" and best is not None:
        # The windows hold every schedule at least as good as ``best``: none exists.
        lower = best[0]
    details: dict[str, Any] = {"method": "cpsat", "grid_s": grid.step_s, "grid_exact": grid.exact,
                               "cpsat_status": solved.status}
    note = (f"CP-SAT on a {grid.step_s:g} s grid ({'exact' if grid.exact else 'durations rounded down'}"
            f"): {solved.status} in {solved.wall_s:.2f}s, {NUM_WORKERS} workers")
    elapsed = time.perf_counter() - t0
    if not candidates:
        return SolveResult("time_limit_no_incumbent", best_bound=lower, solve_time_s=elapsed,
                           details=details, message="; ".join(notes + [note]))
    obj, source, sched = min(candidates, key=lambda c: c[0])
    bad = check_problem(problem, sched)
    if bad:
        return SolveResult("error", solve_time_s=elapsed, details=details,
                           message=f"internal: {source} schedule fails the checker: {bad[0]}")
    lower = min(lower, obj)
    gap = _gap(obj, lower)
    proven = (grid.exact and solved.status == "optimal") or gap <= max(rel_gap, 1e-9)
    details["incumbent"] = source
    return SolveResult("optimal" if proven else "feasible", objective=obj, best_bound=lower,
                       rel_gap=0.0 if proven and grid.exact else gap, solve_time_s=elapsed,
                       schedule=sched, n_vars=len(problem.tasks), n_binaries=0,
                       n_constraints=solved.n_constraints, details=details,
                       message="; ".join(notes + [note, f"incumbent from {source}"]))


# ----------------------------------------------------------------------------
# feasibility under per-job deadlines (minimal capacity)
# ----------------------------------------------------------------------------

def _meets(problem: OfflineProblem, schedule: Schedule, deadlines_s: dict[int, float]) -> bool:
    done = schedule.completion_s()
    return all(done[j] <= d + 1e-9 * max(1.0, abs(d)) for j, d in deadlines_s.items())


def feasible_at_cpsat(problem: OfflineProblem, deadlines_s: dict[int, float],
                      time_limit_s: float) -> tuple[str, Schedule | None]:
    """Is there a schedule with every job done by its deadline (s)?

    "infeasible" is proven by the rounded-down grid (it admits every true
    schedule); "feasible" by a replayed schedule that meets the deadlines
    (from the rounded-down solution, else from the rounded-up grid, whose
    solutions always meet them). Else "time_limit" (time ran out) or
    "unknown" (only the grid's rounding is in the way).
    Returns (outcome, the schedule when feasible).
    """
    t_end = time.perf_counter() + time_limit_s
    grid = choose_grid(problem)
    down = solve_grid(problem, grid_data(problem, grid, "down", deadlines_s), False,
                      time_limit_s, objective=False)
    if down.status == "infeasible":
        return "infeasible", None
    if down.schedule is not None and _meets(problem, down.schedule, deadlines_s):
        return "feasible", down.schedule
    if down.status == "unknown":
        return "time_limit", None
    left = t_end - time.perf_counter()
    if left <= 0:
        return "time_limit", None
    up = solve_grid(problem, grid_data(problem, grid, "up", deadlines_s), False, left,
                    objective=False)
    if up.schedule is not None and _meets(problem, up.schedule, deadlines_s):
        return "feasible", up.schedule
    return ("time_limit" if up.status == "unknown" else "unknown"), None
