"""Solving the offline problem: HiGHS through Pyomo (appsi interface), or the
branch and bound of ``bnb.py`` when there is one classical server.

Entry points (all return :class:`~hqsched.formulation.problem.SolveResult`):

- :func:`solve_delays` -- minimize sum_i w_i delta_i (w_i = 1 unless
  ``weighted``); ``method`` "auto" proves C = 1 instances by branch and
  bound (far stronger there: 8 jobs x 3 iterations in ~10 s, where the
  MILP ends at a 37% gap) and everything else by the MILP.
  ``status="optimal"``: the returned schedule is optimal for
  the instance up to the relative gap ``mip_rel_gap`` (default 1e-7)
  plus a few feasibility tolerances (~1e-6 s); "feasible": an exact
  schedule (upper bound) and a proven lower bound ``best_bound``.
  ``classical_servers=None`` solves the C = infinity relaxation: its optimum
  (or its ``best_bound``) is a valid LOWER bound on the sum of delays of any
  serverless (processor-sharing) run of the instance.
- :func:`lp_bound` -- the LP relaxation of the same model: a LOWER bound
  (weak for big-M models: close to sum of chain lengths; reported for completeness).
- :func:`solve_min_capacity` -- smallest C (or Q) such that every
  delta_i <= delta_max: feasibility MILPs from the heuristic's capacity
  downward; "optimal" means the answer k has an exact checked schedule meeting
  every bound AND the solver proved k - 1 infeasible (or k = 1).

Warm start: ``warm_start`` (a dedicated-mode Schedule, e.g. from the online
simulator) and the list-scheduling heuristic seed a local search over job
sequences (repair.local_search, serial schedule generation; at most
``local_search_evaluations`` schedules and 20% of the time limit). With one
classical server the search also starts from the best batch schedule
(batches.py: first tasks in batches, 10% of the time limit), which on trace
instances beats single-task moves by far (8x3: 455 -> 424). The best
schedule is handed to HiGHS as a MIP start (appsi ``config.warmstart`` ->
``Highs.setSolution``), and is also kept as the incumbent if the solver
returns nothing better. So a time-limited solve always returns a feasible
schedule unless ``heuristic_incumbent=False`` and no warm start is given.

Time windows: job j must finish by t_j + (UB - LB_j) / w_j, UB the best
objective known and LB_j a lower bound on the other jobs' delays: their
chain lengths, or (unweighted, one server of a resource) the preemptive
single-machine SRPT bound on their first tasks there (Schrage 1968).

Options for one classical server (C = 1), all exact, all off by default
because on the trace instances they did not shorten proofs (measurements in
benchmarks/bench_offline.py --c1-methods; MILP solve times vary a lot with
the model's rows):

- ``subset_cuts``: first bound every sub-instance made of 2..n-1 jobs
  consecutive in arrival order (smallest first, each by this same function
  with its own sub-instances' bounds as cuts, in ``subset_share`` of the time
  limit), then add ``sum_{j in G} w_j delta_j >= LB(G)`` rows (models.py) and
  use the bounds to narrow the time windows (a partition of the other jobs
  into such blocks bounds their delays). Valid because any schedule
  restricted to G is a schedule of G's sub-instance. It lifts the bound where
  the big-M LP cannot see the interference of long pre tasks with the tiny
  iteration tasks of other jobs on the single server (8x3: 286 -> ~341).
- ``interference_cuts``: the gap rows of models.py (one-server resources).

Every schedule returned is rebuilt exactly (repair.exact_schedule) and has
passed checker.check_schedule; otherwise the status is "error".
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable

import pyomo.environ as pyo
from pyomo.contrib.appsi.base import TerminationCondition
from pyomo.contrib.appsi.solvers.highs import Highs

from hqsched.instances.model import Instance, Platform
from hqsched.instances.schedule import SHARED_POOL, Schedule

from .batches import batch_search
from .bnb import branch_and_bound
from .checker import check_schedule
from .models import build_model, set_start
from .problem import OfflineProblem, SolveResult
from .repair import exact_schedule, list_schedule, local_search

WarmStartProvider = Callable[[Instance, Platform], "Schedule | None"]

#: HiGHS options: tight tolerances (tasks as short as 5e-4 s), one thread and a
#: fixed seed for reproducible runs.
HIGHS_OPTIONS = {"mip_feasibility_tolerance": 1e-9, "primal_feasibility_tolerance": 1e-9,
                 "threads": 1, "random_seed": 0, "mip_abs_gap": 1e-7}


def _objective(problem: OfflineProblem, schedule: Schedule, weighted: bool) -> float:
    return schedule.sum_delays_s(problem.instance, weighted)


def _as_vectors(problem: OfflineProblem, schedule: Schedule) -> tuple[list[float], list[int]]:
    by_key = {(t.job_id, t.index): t for t in schedule.tasks}
    starts, servers = [], []
    for t in problem.tasks:
        st = by_key[(t.job_id, t.index)]
        starts.append(st.start_s)
        servers.append(0 if st.server == SHARED_POOL else st.server)
    return starts, servers


def _job_order(schedule: Schedule) -> list[int]:
    """Jobs in the order their first tasks start."""
    first = {}
    for t in schedule.tasks:
        if t.index == 0:
            first[t.job_id] = t.start_s
    return sorted(first, key=lambda j: (first[j], j))


def _srpt_sum(jobs: list[tuple[float, float]]) -> float:
    """Minimum sum of completion times of (release, duration) jobs on one
    preemptive machine: shortest remaining processing time first is optimal
    (Schrage 1968; Baker 1974). A lower bound for the non-preemptive machine."""
    jobs = sorted(jobs)
    t, total, i, heap = -math.inf, 0.0, 0, []
    while i < len(jobs) or heap:
        if not heap:
            t = max(t, jobs[i][0])
        while i < len(jobs) and jobs[i][0] <= t:
            heapq.heappush(heap, jobs[i][1])
            i += 1
        rem = heapq.heappop(heap)
        nxt = jobs[i][0] if i < len(jobs) else math.inf
        if t + rem <= nxt:
            t += rem
            total += t
        else:
            heapq.heappush(heap, rem - (nxt - t))
            t = nxt
    return total


def _others_lower_bounds(problem: OfflineProblem, weighted: bool,
                         subset_lbs: tuple = ()) -> dict[int, float]:
    """Per job j, a lower bound on the other jobs' (weighted) delays: the best of
    :func:`_single_server_lower_bounds` and of a partition of the other jobs
    into arrival-consecutive blocks, each counted by its proven subset bound
    (``subset_lbs``: (job ids, bound) pairs) or its chain lengths."""
    out = _single_server_lower_bounds(problem, weighted)
    if not subset_lbs:
        return out
    order = [j.job_id for j in problem.instance.jobs]
    w = {j.job_id: (j.priority if weighted else 1) for j in problem.instance.jobs}
    blocks: dict[tuple[int, int], float] = {}
    where = {jid: k for k, jid in enumerate(order)}
    for ids, lb in subset_lbs:
        ks = sorted(where[i] for i in ids if i in where)
        if len(ks) == len(ids) and ks and ks[-1] - ks[0] == len(ks) - 1:
            key = (ks[0], ks[-1] + 1)
            blocks[key] = max(blocks.get(key, -math.inf), lb)
    for j in order:
        f = [0.0] * (len(order) + 1)
        for k in range(1, len(order) + 1):
            jid = order[k - 1]
            f[k] = f[k - 1] + (0.0 if jid == j else w[jid] * problem.chain_length_s(jid))
            for (a, b), lb in blocks.items():
                if b == k and not (a <= where[j] < b):
                    f[k] = max(f[k], f[a] + lb)
        out[j] = max(out[j], f[-1])
    return out


def _single_server_lower_bounds(problem: OfflineProblem, weighted: bool) -> dict[int, float]:
    """For each job j, a lower bound on sum_{i != j} w_i delta_i valid in every schedule.

    Always sum_{i != j} w_i L_i (L_i = chain length). Unweighted, for each
    resource with a single server: job i's first task p on it cannot end
    before its completion on a preemptive single machine with releases
    head_p, and delta_i >= C_p + tail_p - t_i; SRPT minimizes sum C_p.
    """
    w = {j.job_id: (j.priority if weighted else 1) for j in problem.instance.jobs}
    arrival = {j.job_id: j.arrival_s for j in problem.instance.jobs}
    lb = {j: problem.chain_length_s(j) for j in problem.chains}
    total = sum(w[j] * lb[j] for j in lb)
    out = {j: total - w[j] * lb[j] for j in lb}
    if weighted:
        return out
    for r in ("C", "Q"):
        if problem.servers(r) != 1:
            continue
        first = {}
        for j, chain in problem.chains.items():
            mine = [p for p in chain if problem.tasks[p].resource == r and problem.tasks[p].duration_s > 0]
            if mine:
                first[j] = problem.tasks[mine[0]]
        for j in lb:
            rest = [i for i in lb if i != j]
            srpt = _srpt_sum([(first[i].head_s, first[i].duration_s) for i in rest if i in first])
            bound = srpt + sum(first[i].tail_s - arrival[i] for i in rest if i in first) \
                + sum(lb[i] for i in rest if i not in first)
            out[j] = max(out[j], bound)
    return out


def _delay_deadlines(problem: OfflineProblem, upper_s: float, weighted: bool,
                     subset_lbs: tuple = ()) -> dict[int, float]:
    """Latest completion of each job in any schedule of objective <= upper_s.

    w_j delta_j <= UB - LB_j, with LB_j a lower bound on the other jobs'
    (weighted) delays (:func:`_others_lower_bounds`). A small slack keeps the
    incumbent inside despite rounding.
    """
    w = {j.job_id: (j.priority if weighted else 1) for j in problem.instance.jobs}
    others = _others_lower_bounds(problem, weighted, subset_lbs)
    ub = upper_s + 1e-6 * max(1.0, abs(upper_s))
    arrival = {j.job_id: j.arrival_s for j in problem.instance.jobs}
    return {j: arrival[j] + (ub - others[j]) / w[j] for j in others}


def _run_highs(m: pyo.ConcreteModel, time_limit_s: float, warm: bool, mip_rel_gap: float,
               extra: dict | None = None):
    opt = Highs()
    opt.config.load_solution = False
    opt.config.time_limit = max(float(time_limit_s), 1e-3)
    opt.config.mip_gap = mip_rel_gap
    opt.config.warmstart = warm
    opt.highs_options = dict(HIGHS_OPTIONS, **(extra or {}))
    t0 = time.perf_counter()
    res = opt.solve(m)
    return opt, res, time.perf_counter() - t0


def _size(m: pyo.ConcreteModel) -> tuple[int, int, int]:
    n_vars = sum(len(v) for v in m.component_objects(pyo.Var, active=True))
    n_bin = sum(1 for v in m.component_data_objects(pyo.Var) if v.is_binary())
    n_con = sum(len(c) for c in m.component_objects(pyo.Constraint, active=True))
    return n_vars, n_bin, n_con


def _solve_by_bnb(problem: OfflineProblem, incumbents: list, weighted: bool,
                  time_limit_s: float, rel_gap: float, notes: list[str], t0: float) -> SolveResult:
    """Prove the optimum for C = 1 with bnb.branch_and_bound from the best incumbent."""
    best = min(incumbents, key=lambda i: i[0]) if incumbents else None
    # The dominance memo costs (2J + Q + 2) * 8 bytes an entry: at most ~256 MB.
    per_entry = 8 * (2 * len(problem.chains) + problem.quantum_servers + 2)
    try:
        r = branch_and_bound(problem, weighted, None if best is None else best[2],
                             time_limit_s=max(time_limit_s - (time.perf_counter() - t0), 0.01),
                             rel_tol=rel_gap, heuristic=False,
                             memo_entries=max(1 << 12, min(1 << 20, (1 << 28) // per_entry)))
    except Exception as exc:  # a checker failure inside is a bug: say so, never "optimal"
        return SolveResult("error", solve_time_s=time.perf_counter() - t0,
                           message=f"branch and bound failed: {type(exc).__name__}: {exc}")
    elapsed = time.perf_counter() - t0
    details = {"method": "bnb", "nodes": r.nodes, "root_bound": r.root_bound}
    if r.schedule is None:
        return SolveResult("time_limit_no_incumbent", best_bound=r.bound, solve_time_s=elapsed,
                           message="; ".join(notes + [
                               f"branch and bound stopped after {elapsed:.2f}s and {r.nodes} "
                               f"nodes without a feasible schedule"]), details=details)
    source = best[1] if best is not None and r.objective >= best[0] - 1e-12 else "branch and bound"
    details["incumbent"] = source
    return SolveResult(r.status, objective=r.objective, best_bound=r.bound,
                       rel_gap=_gap(r.objective, r.bound), solve_time_s=elapsed,
                       schedule=r.schedule, details=details, message="; ".join(notes + [
                           f"incumbent from {source}; branch and bound: {r.nodes} nodes, "
                           f"root bound {r.root_bound:.6g}"]))


def _subset_bounds(instance: Instance, classical_servers: int | None, quantum_servers: int,
                   speed: float, weighted: bool, known: tuple, budget_s: float) -> tuple:
    """Proven lower bounds on the optimum of every sub-instance made of 2..n-1 jobs
    consecutive in arrival order, smallest first, each solved by :func:`solve_delays`
    with the bounds of its own sub-instances as cuts; stops when ``budget_s`` is spent
    (one sub-instance gets at most a quarter of it). Returns ((job ids), bound) pairs."""
    jobs = list(instance.jobs)
    t_end = time.perf_counter() + budget_s
    found: list[tuple[tuple[int, ...], float]] = []
    for k in range(2, len(jobs)):
        for a in range(len(jobs) - k + 1):
            left = t_end - time.perf_counter()
            if left <= 0.05:
                return tuple(found)
            group = jobs[a:a + k]
            ids = {j.job_id for j in group}
            inner = tuple(g for g in tuple(known) + tuple(found) if set(g[0]) < ids)
            r = solve_delays(Instance(tuple(group)), classical_servers, quantum_servers, speed,
                             weighted, time_limit_s=min(left, max(0.25 * budget_s, 0.05)),
                             subset_cuts=False, subset_bounds=inner)
            if r.status in ("optimal", "feasible") and r.best_bound is not None:
                lb = r.best_bound - 1e-9 * max(1.0, abs(r.best_bound))
                found.append((tuple(sorted(ids)), lb))
    return tuple(found)


def _decode(m, info, problem: OfflineProblem, opt) -> Schedule:
    prim = opt.get_primals()
    starts = [prim[m.s[p]] for p in m.T]
    servers = [0] * len(problem.tasks)
    for p, ks in info.assign.items():
        if info.multi[problem.tasks[p].resource]:
            servers[p] = max(ks, key=lambda k: prim[m.x[p, k]])
    return exact_schedule(problem, starts, servers)


def _gap(obj: float | None, bound: float | None) -> float | None:
    if obj is None or bound is None:
        return None
    return max(0.0, obj - bound) / max(abs(obj), 1e-9)


def solve_delays(instance: Instance, classical_servers: int | None, quantum_servers: int,
                 worker_capacity_ops_per_s: float = 1e9, weighted: bool = False,
                 time_limit_s: float = 60.0, warm_start: Schedule | None = None,
                 warm_start_provider: WarmStartProvider | None = None,
                 heuristic_incumbent: bool = True, symmetry_breaking: bool = True,
                 energy_cuts: bool = True, mip_rel_gap: float = 1e-7,
                 local_search_evaluations: int | None = None,
                 interference_cuts: bool = False,
                 subset_bounds: tuple = (), subset_cuts: bool = False,
                 subset_share: float = 0.5, method: str = "auto") -> SolveResult:
    """Minimize the (weighted) sum of delays on C classical and Q quantum servers.

    ``classical_servers=None`` is C = infinity (lower bound for serverless
    runs). ``warm_start_provider(instance, platform)`` is called (finite C only)
    when ``warm_start`` is None. ``method``: "milp" (HiGHS), "bnb" (the exact
    branch and bound of bnb.py, C = 1 only) or "auto": "bnb" when C = 1 and
    no MILP-only option (``interference_cuts``, ``subset_cuts``,
    ``subset_bounds``, ``symmetry_breaking=False``, ``energy_cuts=False``)
    is given, else "milp".
    """
    t0 = time.perf_counter()
    try:
        problem = OfflineProblem(instance, classical_servers, quantum_servers,
                                 worker_capacity_ops_per_s)
    except ValueError as exc:
        return SolveResult("error", message=str(exc))
    milp_only = interference_cuts or subset_cuts or bool(subset_bounds) \
        or not symmetry_breaking or not energy_cuts
    if method == "auto":
        method = "bnb" if classical_servers == 1 and not milp_only else "milp"
    if method not in ("milp", "bnb"):
        return SolveResult("error", message=f"method must be auto, milp or bnb, got {method!r}")
    if method == "bnb" and classical_servers != 1:
        return SolveResult("error", message="method bnb needs exactly one classical server "
                                            f"(got {classical_servers or 'infinity'})")
    notes = []
    if warm_start is None and warm_start_provider is not None and classical_servers is not None:
        try:
            warm_start = warm_start_provider(instance, Platform(
                classical_workers=classical_servers, quantum_computers=quantum_servers,
                worker_capacity_ops_per_s=worker_capacity_ops_per_s))
        except Exception as exc:  # a broken provider must not sink the solve
            notes.append(f"warm start provider failed: {exc}")
            warm_start = None
    heur = list_schedule(problem, weighted)
    incumbents: list[tuple[float, str, Schedule]] = [
        (_objective(problem, heur, weighted), "heuristic", heur)]
    if warm_start is not None:
        if classical_servers is None:  # a dedicated schedule is feasible with C = infinity
            warm_start = Schedule(tuple(
                t if t.kind.value == "quantum" else type(t)(t.job_id, t.index, t.kind, SHARED_POOL,
                                                             t.start_s, t.end_s)
                for t in warm_start.tasks))
        bad = check_schedule(instance, warm_start, classical_servers, quantum_servers,
                             worker_capacity_ops_per_s, tol=1e-7)
        if bad:
            notes.append(f"warm start ignored, infeasible: {bad[0]}")
        else:
            # Rebuild it exactly: same decisions, earliest starts (never worse).
            ws = exact_schedule(problem, *_as_vectors(problem, warm_start))
            incumbents.append((_objective(problem, ws, weighted), "warm start", ws))
    # Improve the best known schedule by local search over job sequences
    # (repair.local_search): at most 20% of the time limit.
    # With C = infinity HiGHS solves at once: the search would only cost time.
    default_evals = 0 if classical_servers is None else min(20000, 300 * len(problem.tasks))
    evals = local_search_evaluations if local_search_evaluations is not None else default_evals
    if evals > 0 and classical_servers == 1:
        # One classical server: batch schedules (batches.py), from arrival order
        # and from the job order of every incumbent; at most 10% of the time limit.
        orders = [[j.job_id for j in instance.jobs]] + [_job_order(i[2]) for i in incumbents]
        bs = batch_search(problem, orders, weighted, evaluations=evals // 5,
                          time_limit_s=0.1 * time_limit_s)
        incumbents.append((_objective(problem, bs, weighted), "heuristic", bs))
    if evals > 0:
        ls = local_search(problem, [i[2] for i in incumbents], weighted, evaluations=evals,
                          time_limit_s=0.2 * time_limit_s)
        incumbents.append((_objective(problem, ls, weighted), "heuristic", ls))
    if not heuristic_incumbent:
        incumbents = [i for i in incumbents if i[1] != "heuristic"]
    if method == "bnb":
        return _solve_by_bnb(problem, incumbents, weighted, time_limit_s, mip_rel_gap, notes, t0)
    # Windows come from the best schedule known (heuristic always counts here:
    # it only bounds where an optimum can lie).
    upper = min([_objective(problem, heur, weighted)] + [i[0] for i in incumbents]
                + ([_objective(problem, ls, weighted)] if evals > 0 else []))
    subset_bounds = tuple(subset_bounds)
    if subset_cuts:
        found = _subset_bounds(instance, classical_servers, quantum_servers,
                               worker_capacity_ops_per_s, weighted, subset_bounds,
                               subset_share * time_limit_s - (time.perf_counter() - t0))
        notes.append(f"subset cuts: {len(found)} arrival-consecutive sub-instances bounded in "
                     f"{time.perf_counter() - t0:.1f}s")
        subset_bounds += found
    deadlines = _delay_deadlines(problem, upper, weighted, subset_bounds)
    m, info = build_model(problem, deadlines, "delays", weighted, symmetry_breaking,
                          energy_cuts, interference_cuts, subset_bounds=subset_bounds)
    n_vars, n_bin, n_con = _size(m)
    best = min(incumbents, key=lambda i: i[0]) if incumbents else None
    if best is not None:
        set_start(m, info, problem, *_as_vectors(problem, best[2]))
    try:
        opt, res, _ = _run_highs(m, time_limit_s - (time.perf_counter() - t0),
                                 best is not None, mip_rel_gap)
    except Exception as exc:
        return SolveResult("error", solve_time_s=time.perf_counter() - t0, n_vars=n_vars,
                           n_binaries=n_bin, n_constraints=n_con,
                           message=f"HiGHS failed: {type(exc).__name__}: {exc}")
    tc = res.termination_condition
    bound = None
    if tc in (TerminationCondition.optimal, TerminationCondition.maxTimeLimit,
              TerminationCondition.maxIterations, TerminationCondition.objectiveLimit):
        bound = res.best_objective_bound
    if res.best_feasible_objective is not None:
        found = _decode(m, info, problem, opt)
        incumbents.append((_objective(problem, found, weighted), "solver", found))
    solver_proved = tc == TerminationCondition.optimal
    elapsed = time.perf_counter() - t0
    sizes = dict(n_vars=n_vars, n_binaries=n_bin, n_constraints=n_con)
    if tc == TerminationCondition.infeasible or tc == TerminationCondition.infeasibleOrUnbounded:
        # Cannot happen when an incumbent exists (the windows contain it).
        return SolveResult("infeasible", solve_time_s=elapsed, message="; ".join(
            notes + [f"HiGHS reports the model {tc.name}"]), **sizes)
    if tc not in (TerminationCondition.optimal, TerminationCondition.maxTimeLimit,
                  TerminationCondition.maxIterations, TerminationCondition.objectiveLimit):
        return SolveResult("error", solve_time_s=elapsed, message="; ".join(
            notes + [f"HiGHS stopped with {tc.name}"]), **sizes)
    if not incumbents:
        return SolveResult("time_limit_no_incumbent", best_bound=bound, solve_time_s=elapsed,
                           message="; ".join(notes + [
                               f"HiGHS stopped ({tc.name}) after {elapsed:.2f}s without a "
                               f"feasible schedule"]), **sizes)
    obj, source, sched = min(incumbents, key=lambda i: i[0])
    bad = check_schedule(instance, sched, classical_servers, quantum_servers,
                         worker_capacity_ops_per_s)
    if bad:
        return SolveResult("error", solve_time_s=elapsed, message=f"internal: {source} schedule "
                           f"fails the checker: {bad[0]}", **sizes)
    if bound is not None:
        bound = min(bound, obj)
    gap = _gap(obj, bound)
    proven = solver_proved or (gap is not None and gap <= max(mip_rel_gap, 1e-9))
    return SolveResult("optimal" if proven else "feasible", objective=obj, best_bound=bound,
                       rel_gap=gap, solve_time_s=elapsed, schedule=sched,
                       message="; ".join(notes + [f"incumbent from {source}; HiGHS {tc.name}"]),
                       details={"incumbent": source}, **sizes)


def lp_bound(instance: Instance, classical_servers: int | None, quantum_servers: int,
             worker_capacity_ops_per_s: float = 1e9, weighted: bool = False,
             time_limit_s: float = 60.0) -> SolveResult:
    """LP relaxation of the disjunctive model: ``best_bound`` is a valid lower bound."""
    t0 = time.perf_counter()
    try:
        problem = OfflineProblem(instance, classical_servers, quantum_servers,
                                 worker_capacity_ops_per_s)
    except ValueError as exc:
        return SolveResult("error", message=str(exc))
    heur = list_schedule(problem, weighted)
    m, _ = build_model(problem, _delay_deadlines(problem, _objective(problem, heur, weighted),
                                                 weighted), "delays", weighted)
    n_vars, n_bin, n_con = _size(m)
    pyo.TransformationFactory("core.relax_integer_vars").apply_to(m)
    try:
        _, res, _ = _run_highs(m, time_limit_s, False, 0.0)
    except Exception as exc:
        return SolveResult("error", message=f"HiGHS failed on the LP: {exc}")
    elapsed = time.perf_counter() - t0
    if res.termination_condition != TerminationCondition.optimal:
        return SolveResult("error", solve_time_s=elapsed, n_vars=n_vars, n_binaries=0,
                           n_constraints=n_con,
                           message=f"LP relaxation: HiGHS {res.termination_condition.name}")
    return SolveResult("optimal", objective=res.best_feasible_objective,
                       best_bound=res.best_feasible_objective, rel_gap=0.0, solve_time_s=elapsed,
                       n_vars=n_vars, n_binaries=0, n_constraints=n_con,
                       message="LP relaxation value (a lower bound on the MILP optimum)")


def solve_min_capacity(instance: Instance, resource: str, delta_max_s: float,
                       classical_servers: int | None = 1, quantum_servers: int = 1,
                       worker_capacity_ops_per_s: float = 1e9,
                       time_limit_s: float = 60.0) -> SolveResult:
    """Smallest number of servers of ``resource`` ("classical"/"quantum") with every delay <= delta_max_s.

    The other resource stays at the given count. ``objective`` = the capacity
    found; ``details["proofs"]`` lists each capacity tried and the outcome.
    """
    t0 = time.perf_counter()
    if resource not in ("classical", "quantum"):
        return SolveResult("error", message=f"resource must be 'classical' or 'quantum', got {resource!r}")
    if not (isinstance(delta_max_s, (int, float)) and math.isfinite(delta_max_s) and delta_max_s > 0):
        return SolveResult("error", message=f"delta_max must be a positive number, got {delta_max_s!r}")

    def problem_at(k: int | None) -> OfflineProblem:
        return OfflineProblem(instance, k if resource == "classical" else classical_servers,
                              k if resource == "quantum" else quantum_servers,
                              worker_capacity_ops_per_s)

    try:
        base = problem_at(1)
    except ValueError as exc:
        return SolveResult("error", message=str(exc))
    code = "C" if resource == "classical" else "Q"
    deadlines = {j.job_id: j.arrival_s + delta_max_s for j in instance.jobs}
    too_long = [j for j in base.chains if base.chain_length_s(j) > delta_max_s * (1 + 1e-12)]
    if too_long:
        j = too_long[0]
        return SolveResult("infeasible", solve_time_s=time.perf_counter() - t0, message=(
            f"job {j}: its chain alone lasts {base.chain_length_s(j):.6g} s > delta_max "
            f"{delta_max_s:g} s, so no capacity meets the bound"))
    busy = sum(1 for t in base.tasks if t.resource == code and t.duration_s > 0)

    def meets(s: Schedule) -> bool:
        done = s.completion_s()
        return all(done[j.job_id] - j.arrival_s <= delta_max_s + 1e-9 * max(1.0, delta_max_s)
                   for j in instance.jobs)

    # Upper end: the heuristic's smallest capacity that meets every bound.
    k_hi, found = None, None
    for k in range(1, max(busy, 1) + 1):
        h = list_schedule(problem_at(k))
        if meets(h):
            k_hi, found = k, h
            break
    if k_hi is None and (resource == "quantum" or classical_servers is not None):
        # With as many servers as tasks no task waits for a server except
        # through the other resource; ask the solver once at that capacity.
        k_hi = max(busy, 1)
    proofs: list[str] = []
    last = (0, 0, 0)
    if found is None:
        r = feasible_at(problem_at(k_hi), deadlines, t0, time_limit_s)
        proofs.append(f"{code}={k_hi}: {r[0]}")
        last = r[2]
        if r[0] != "feasible":
            status = "infeasible" if r[0] == "infeasible" else r[0]
            return SolveResult(status, solve_time_s=time.perf_counter() - t0, n_vars=last[0],
                               n_binaries=last[1], n_constraints=last[2], message=(
                                   f"no schedule meets delta_max={delta_max_s:g} s even with "
                                   f"{code}={k_hi} ({r[0]})"), details={"proofs": proofs})
        found = r[1]
    best_k, status = k_hi, "optimal" if k_hi == 1 else "feasible"
    k = k_hi - 1
    while k >= 1:
        outcome, sched, last = feasible_at(problem_at(k), deadlines, t0, time_limit_s)
        proofs.append(f"{code}={k}: {outcome}")
        if outcome == "feasible":
            best_k, found = k, sched
            status = "optimal" if k == 1 else "feasible"
            k -= 1
            continue
        status = "optimal" if outcome == "infeasible" else "feasible"
        break
    elapsed = time.perf_counter() - t0
    final = problem_at(best_k)
    bad = check_schedule(instance, found, final.classical_servers, final.quantum_servers,
                         worker_capacity_ops_per_s)
    if bad or not meets(found):
        return SolveResult("error", solve_time_s=elapsed, message="internal: capacity schedule "
                           f"fails verification: {bad[:1] or 'delay bound'}")
    lower = best_k if status == "optimal" else None
    return SolveResult(status, objective=float(best_k), best_bound=None if lower is None else float(lower),
                       rel_gap=0.0 if status == "optimal" else None, solve_time_s=elapsed,
                       n_vars=last[0], n_binaries=last[1], n_constraints=last[2], schedule=found,
                       message=f"{code}={best_k} meets delta_max={delta_max_s:g} s; tried: "
                               + ", ".join(proofs or ["heuristic only"]),
                       details={"capacity": best_k, "proofs": proofs})


def feasible_at(problem: OfflineProblem, deadlines: dict[int, float], t0: float,
                time_limit_s: float) -> tuple[str, Schedule | None, tuple[int, int, int]]:
    """Feasibility MILP under per-job deadlines.

    Returns ("feasible"|"infeasible"|"time_limit"|"error", schedule, size)."""
    m, info = build_model(problem, deadlines, "none")
    size = _size(m)
    if info.infeasible_windows:
        return "infeasible", None, size
    left = time_limit_s - (time.perf_counter() - t0)
    if left <= 0:
        return "time_limit", None, size
    try:
        opt, res, _ = _run_highs(m, left, False, 0.0)
    except Exception as exc:
        return f"error ({exc})", None, size
    tc = res.termination_condition
    if res.best_feasible_objective is not None:
        return "feasible", _decode(m, info, problem, opt), size
    if tc in (TerminationCondition.infeasible, TerminationCondition.infeasibleOrUnbounded):
        return "infeasible", None, size
    if tc == TerminationCondition.maxTimeLimit:
        return "time_limit", None, size
    return f"error ({tc.name})", None, size
