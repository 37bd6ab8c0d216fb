"""Solving the offline problem: HiGHS through Pyomo (appsi interface), the
branch and bound of bnb.py when there is one classical server, or OR-Tools
CP-SAT (cpsat.py, optional extra ``ortools``).

Entry points (all return problem.SolveResult; options in options.py):

- ``solve_delays(instance, C, Q, S, SolveOptions(...))`` -- minimize
  sum_i w_i delta_i (w_i = 1 unless ``weighted``). ``method`` "auto"
  proves C = 1 instances by branch and bound (far stronger there than the
  MILP; figures in benchmarks/bench_offline.py and the README) and
  everything else by CP-SAT when installed (benchmarks/bench_cpsat_random.py),
  else by the MILP. ``status="optimal"``: the returned schedule
  is optimal for the instance up to the relative gap ``mip_rel_gap``
  (default 1e-7) plus a few feasibility tolerances (~1e-6 s); "feasible": an
  exact schedule (upper bound) and a proven lower bound ``best_bound``.
  ``classical_servers=None`` solves the C = infinity relaxation: its optimum
  (or its ``best_bound``) is a valid LOWER bound on the sum of delays of any
  serverless (processor-sharing) run of the instance.
- ``lp_bound`` -- the LP relaxation of the same model: a LOWER bound (weak
  for big-M models: close to the sum of chain lengths; reported for completeness).
- ``solve_min_capacity`` -- smallest C (or Q) such that every delta_i <=
  delta_max: feasibility questions (``feasible_at``: CP-SAT first, then the
  MILP) from the heuristic's
  capacity downward; "optimal" means the answer k has an exact checked
  schedule meeting every bound AND the solver proved k - 1 infeasible (or k = 1).

Why (instance, C, Q, S, options) and not (instance, platform, options): a
Platform cannot say C = infinity (the serverless bound) and carries admission
thresholds the offline problem ignores; the four values are exactly
OfflineProblem's. ``hqsched.solve(instance, platform, ...)`` is the
Platform-based call. Everything else (objective weights, limits, method,
heuristics, MILP rows) is one frozen ``SolveOptions``.

``solve_delays`` in sections, one function each: data (``OfflineProblem``,
``_method``) -> incumbents (``_warm_start``, ``_incumbents``) -> branch and
bound (``_solve_by_bnb``) or MILP (``_solve_by_milp``: time windows
``_delay_deadlines`` -> variables, constraints, objective in
models.build_model -> MIP start -> ``_run_highs`` -> status ``_milp_result``).

Warm start: ``warm_start`` (a dedicated-mode Schedule, e.g. from the online
simulator) and the list-scheduling heuristic seed a local search over job
sequences (repair.local_search, serial schedule generation; at most
``local_search_evaluations`` schedules and 20% of the time limit). With one
classical server the search also starts from the best batch schedule
(batches.py: first tasks in batches, 10% of the time limit), which on trace
instances beats single-task moves by far. The best schedule is handed to
HiGHS as a MIP start (appsi ``config.warmstart`` -> ``Highs.setSolution``),
and is also kept as the incumbent if the solver returns nothing better. So a
time-limited solve always returns a feasible schedule unless
``heuristic_incumbent=False`` and no warm start is given.

Time windows: job j must finish by t_j + (UB - LB_j) / w_j, UB the best
objective known and LB_j a lower bound on the other jobs' delays: their
chain lengths, or (unweighted, one server of a resource) the preemptive
single-machine SRPT bound on their first tasks there (Schrage 1968).

Options for one classical server (C = 1), all exact, all off by default
because on the trace instances they did not shorten proofs (measured by
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
  iteration tasks of other jobs on the single server.
- ``model.interference_cuts``: the gap rows of models.py (one-server resources).

Every schedule returned is rebuilt exactly (repair.exact_schedule) and has
passed checker.check_schedule; otherwise the status is "error".

A heterogeneous QC fleet (``qc_groups``; docs/platform-features.md section 4:
unrelated QCs with eligibility) is solved by CP-SAT with optional intervals
per group (cpsat.py; what "auto" picks when OR-Tools is installed) or by the
MILP (models.py module docstring); "bnb" is refused with an ``InputError``
(the branch and bound's bounds assume identical QCs). The
heuristics (list scheduling, local search) put each quantum task on the
eligible QC where it ends first; the C = 1 batch heuristic is skipped.
``solve_platform(instance, platform, options)`` is the Platform-based call
that takes the fleet from ``platform.qc_groups``.

Time limits count the solve only: numba's first-call compilation (or loading
from its cache) is excluded and reported apart (``details["compile_s"]``,
"compile" in ``SolveResult.summary``), and so is the first import of Pyomo and
HiGHS (~1.3 s), which happens only when a MILP or LP runs (``_import_milp``):
``hqsched solve`` with one classical server never loads them.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

from hqsched.instances.model import Instance, Platform, QCGroup
from hqsched.instances.schedule import SHARED_POOL, Schedule

from . import cpsat
from .batches import batch_search
from .bnb import branch_and_bound
from .checker import check_problem, check_schedule
from .highs_run import HighsInterrupted, SolveInterrupted, new_solver
from .options import BnbOptions, ModelOptions, SolveOptions, SubsetBound
from .problem import OfflineProblem, SolveResult, Status
from .repair import exact_schedule, list_schedule, local_search

if TYPE_CHECKING:
    # Imported where the MILP runs, never at module level: Pyomo, HiGHS and the SciPy
    # modules Pyomo then pulls in take ~1.3 s to import, which the branch and bound
    # (and ``hqsched solve`` with C = 1) never needs.
    import pyomo.environ as pyo
    from pyomo.contrib.appsi.solvers.highs import Highs

    from .models import ModelInfo

#: HiGHS options: tight tolerances (tasks as short as 5e-4 s), one thread and a
#: fixed seed for reproducible runs.
HIGHS_OPTIONS = {"mip_feasibility_tolerance": 1e-9, "primal_feasibility_tolerance": 1e-9,
                 "threads": 1, "random_seed": 0, "mip_abs_gap": 1e-7}

#: Names of the HiGHS stops (appsi ``TerminationCondition``) that leave a valid bound
#: (and maybe a schedule) behind.
_BOUNDED_STOPS = ("optimal", "maxTimeLimit", "maxIterations", "objectiveLimit")


class Incumbent(NamedTuple):
    """A known exact schedule and where it came from."""

    objective: float        # its (weighted) sum of delays (s)
    source: str             # "heuristic", "warm start", "solver"
    schedule: Schedule


@dataclass
class _Incumbents:
    """The schedules known before the exact method runs."""

    kept: list[Incumbent]   # candidates for the MIP start / B&B start, in the order found
    upper_s: float          # best objective known, heuristics counted even when not kept (s)


# ----------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------

def _objective(problem: OfflineProblem, schedule: Schedule, weighted: bool) -> float:
    return schedule.sum_delays_s(problem.instance, weighted)


def _as_vectors(problem: OfflineProblem, schedule: Schedule) -> tuple[list[float], list[int]]:
    """Start (s) and server of every task of ``problem`` in ``schedule``."""
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


def _gap(obj: float | None, bound: float | None) -> float | None:
    if obj is None or bound is None:
        return None
    return max(0.0, obj - bound) / max(abs(obj), 1e-9)


def _size(m: pyo.ConcreteModel) -> tuple[int, int, int]:
    """Variables, binaries and rows of a model."""
    import pyomo.environ as pyo
    n_vars = sum(len(v) for v in m.component_objects(pyo.Var, active=True))
    n_bin = sum(1 for v in m.component_data_objects(pyo.Var) if v.is_binary())
    n_con = sum(len(c) for c in m.component_objects(pyo.Constraint, active=True))
    return n_vars, n_bin, n_con


class _Sizes(TypedDict):
    n_vars: int
    n_binaries: int
    n_constraints: int


def _sizes(size: tuple[int, int, int]) -> _Sizes:
    """SolveResult's size fields from (variables, binaries, rows)."""
    return _Sizes(n_vars=size[0], n_binaries=size[1], n_constraints=size[2])


# ----------------------------------------------------------------------------
# time windows (module docstring)
# ----------------------------------------------------------------------------

def _srpt_sum(jobs: list[tuple[float, float]]) -> float:
    """Minimum sum of completion times of (release, duration) jobs on one
    preemptive machine: shortest remaining processing time first is optimal
    (Schrage 1968; Baker 1974). A lower bound for the non-preemptive machine."""
    jobs = sorted(jobs)
    t, total, i = -math.inf, 0.0, 0
    heap: list[float] = []
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
                         subset_lbs: tuple[SubsetBound, ...] = ()) -> dict[int, float]:
    """Per job j, a lower bound on the other jobs' (weighted) delays: the best of
    ``_single_server_lower_bounds`` and of a partition of the other jobs
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
                     subset_lbs: tuple[SubsetBound, ...] = ()) -> dict[int, float]:
    """Latest completion (s) of each job in any schedule of objective <= upper_s.

    w_j delta_j <= UB - LB_j, with LB_j a lower bound on the other jobs'
    (weighted) delays (``_others_lower_bounds``). A small slack keeps the
    incumbent inside despite rounding.
    """
    w = {j.job_id: (j.priority if weighted else 1) for j in problem.instance.jobs}
    others = _others_lower_bounds(problem, weighted, subset_lbs)
    ub = upper_s + 1e-6 * max(1.0, abs(upper_s))
    arrival = {j.job_id: j.arrival_s for j in problem.instance.jobs}
    return {j: arrival[j] + (ub - others[j]) / w[j] for j in others}


# ----------------------------------------------------------------------------
# HiGHS
# ----------------------------------------------------------------------------

def _run_highs(m: pyo.ConcreteModel, time_limit_s: float, warm: bool, mip_rel_gap: float,
               extra: dict | None = None) -> tuple[Highs, Any, float]:
    """Solve ``m`` with HiGHS (MIP start from the variables' values if ``warm``);
    returns the solver, its results and the wall-clock time (s)."""
    opt = new_solver()  # Ctrl-C keeps its incumbent (highs_run.HighsInterrupted)
    opt.config.load_solution = False
    opt.config.time_limit = max(float(time_limit_s), 1e-3)
    opt.config.mip_gap = mip_rel_gap
    opt.config.warmstart = warm
    opt.highs_options = dict(HIGHS_OPTIONS, **(extra or {}))
    t0 = time.perf_counter()
    res = opt.solve(m)
    return opt, res, time.perf_counter() - t0


def _decode(m: pyo.ConcreteModel, info: ModelInfo, problem: OfflineProblem, opt: Highs) -> Schedule:
    """The exact schedule of the solver's solution (starts, and servers where assigned)."""
    prim = opt.get_primals()
    starts = [prim[m.s[p]] for p in m.T]
    servers = [0] * len(problem.tasks)
    for p, ks in info.assign.items():
        if info.multi[problem.tasks[p].resource]:
            servers[p] = max(ks, key=lambda k: prim[m.x[p, k]])
    return exact_schedule(problem, starts, servers)


# ----------------------------------------------------------------------------
# solve_delays, section by section
# ----------------------------------------------------------------------------

def _problem(instance: Instance, classical_servers: int | None, quantum_servers: int,
             worker_capacity_ops_per_s: float, qc_groups: tuple[QCGroup, ...] = (),
             ibm_estimate_s: Mapping[tuple[int, str], float] | None = None
             ) -> OfflineProblem | SolveResult:
    """The solver's data for ``instance``, or an ``error`` result saying why it has none."""
    try:
        return OfflineProblem(instance, classical_servers, quantum_servers,
                              worker_capacity_ops_per_s, qc_groups=tuple(qc_groups),
                              ibm_estimate_s=ibm_estimate_s)
    except ValueError as exc:
        return SolveResult("error", message=str(exc))


def _method(problem: OfflineProblem, options: SolveOptions) -> str | SolveResult:
    """The method of this solve ("bnb", "cpsat" or "milp"), or an error result.

    "auto", by measurement (benchmarks/bench_offline.py, bench_cpsat_random.py):
    the branch and bound for C = 1 (its platform bound wins on trace instances),
    CP-SAT otherwise when OR-Tools is installed, else the MILP; the MILP
    whenever a MILP-only option is set. With a QC fleet "bnb" is refused
    (InputError) and "auto" is CP-SAT when installed, else the MILP, whatever C
    (measured: 5-job fleets, 30 s, C = 2: CP-SAT proved 10 of 10, the MILP 4;
    C = 1: 4 of 6 against 2)."""
    method: str = options.method
    classical_servers = problem.classical_servers
    if method == "bnb":
        problem.require_identical_qcs("solve: method=bnb")
    if method == "auto":
        if options.milp_only():
            method = "milp"
        elif classical_servers == 1 and not problem.fleet:
            method = "bnb"
        else:
            method = "cpsat" if cpsat.available() else "milp"
    if method not in ("milp", "bnb", "cpsat"):
        return SolveResult("error", message=f"method must be auto, milp, bnb or cpsat, got {method!r}")
    if method == "cpsat" and not cpsat.available():
        return SolveResult("error", message=cpsat.MISSING)
    if method == "bnb" and classical_servers != 1:
        return SolveResult("error", message="method bnb needs exactly one classical server "
                                            f"(got {classical_servers or 'infinity'})")
    return method


def _warm_start(problem: OfflineProblem, options: SolveOptions, notes: list[str]
                ) -> Incumbent | None:
    """The caller's warm start (given, or from its provider), checked and rebuilt
    exactly; None if there is none or it is infeasible (said in ``notes``)."""
    instance, C, Q = problem.instance, problem.classical_servers, problem.quantum_servers
    speed = problem.worker_capacity_ops_per_s
    warm = options.warm_start
    if warm is None and options.warm_start_provider is not None and C is not None:
        try:
            warm = options.warm_start_provider(instance, Platform(
                classical_workers=C, quantum_computers=Q, worker_capacity_ops_per_s=speed,
                qc_groups=problem.qc_groups))
        except Exception as exc:  # a broken provider must not sink the solve
            notes.append(f"warm start provider failed: {exc}")
            warm = None
    if warm is None:
        return None
    if C is None:  # a dedicated schedule is feasible with C = infinity
        warm = Schedule(tuple(
            t if t.kind.value == "quantum" else type(t)(t.job_id, t.index, t.kind, SHARED_POOL,
                                                         t.start_s, t.end_s)
            for t in warm.tasks))
    bad = check_problem(problem, warm, tol=1e-7)
    if bad:
        notes.append(f"warm start ignored, infeasible: {bad[0]}")
        return None
    # Rebuild it exactly: same decisions, earliest starts (never worse).
    ws = exact_schedule(problem, *_as_vectors(problem, warm))
    return Incumbent(_objective(problem, ws, options.weighted), "warm start", ws)


def _incumbents(problem: OfflineProblem, warm: Incumbent | None,
                options: SolveOptions) -> _Incumbents:
    """The list heuristic, the warm start, then (finite C) batch schedules (C = 1,
    10% of the time limit) and a local search from all of them (20%)."""
    weighted, limit = options.weighted, options.time_limit_s
    heur = list_schedule(problem, weighted)
    heur_obj = _objective(problem, heur, weighted)
    found = [Incumbent(heur_obj, "heuristic", heur)]
    if warm is not None:
        found.append(warm)
    # With C = infinity HiGHS solves at once: the search would only cost time.
    default_evals = 0 if problem.classical_servers is None else min(20000, 300 * len(problem.tasks))
    evals = (options.local_search_evaluations if options.local_search_evaluations is not None
             else default_evals)
    if evals > 0 and problem.classical_servers == 1 and not problem.fleet:
        # One classical server: batch schedules (batches.py), from arrival order
        # and from the job order of every incumbent.
        orders = ([[j.job_id for j in problem.instance.jobs]]
                  + [_job_order(i.schedule) for i in found])
        bs = batch_search(problem, orders, weighted, evaluations=evals // 5,
                          time_limit_s=0.1 * limit)
        found.append(Incumbent(_objective(problem, bs, weighted), "heuristic", bs))
    local_obj = None
    if evals > 0:
        ls = local_search(problem, [i.schedule for i in found], weighted, evaluations=evals,
                          time_limit_s=0.2 * limit)
        local_obj = _objective(problem, ls, weighted)
        found.append(Incumbent(local_obj, "heuristic", ls))
    if not options.heuristic_incumbent:
        found = [i for i in found if i.source != "heuristic"]
    # The windows come from the best schedule known: the list heuristic and the
    # local search always count there (they only bound where an optimum lies).
    upper = min([heur_obj] + [i.objective for i in found]
                + ([local_obj] if local_obj is not None else []))
    return _Incumbents(found, upper)


def _solve_by_bnb(problem: OfflineProblem, incumbents: list[Incumbent], weighted: bool,
                  time_limit_s: float, rel_gap: float, notes: list[str], t0: float) -> SolveResult:
    """Prove the optimum for C = 1 with bnb.branch_and_bound from the best incumbent."""
    best = min(incumbents, key=lambda i: i.objective) if incumbents else None
    # The dominance memo costs (2J + Q + 2) * 8 bytes an entry: at most ~256 MB.
    per_entry = 8 * (2 * len(problem.chains) + problem.quantum_servers + 2)
    options = BnbOptions(time_limit_s=max(time_limit_s - (time.perf_counter() - t0), 0.01),
                         rel_tol=rel_gap, heuristic=False,
                         memo_entries=max(1 << 12, min(1 << 20, (1 << 28) // per_entry)))
    try:
        r = branch_and_bound(problem, weighted, None if best is None else best.schedule, options)
    except Exception as exc:  # a checker failure inside is a bug: say so, never "optimal"
        return SolveResult("error", solve_time_s=time.perf_counter() - t0,
                           message=f"branch and bound failed: {type(exc).__name__}: {exc}")
    elapsed = time.perf_counter() - t0
    details: dict[str, Any] = {"method": "bnb", "nodes": r.nodes, "root_bound": r.root_bound}
    if r.schedule is None:
        return SolveResult("time_limit_no_incumbent", best_bound=r.bound, solve_time_s=elapsed,
                           message="; ".join(notes + [
                               f"branch and bound stopped after {elapsed:.2f}s and {r.nodes} "
                               f"nodes without a feasible schedule"]), details=details)
    source = (best.source if best is not None and r.objective >= best.objective - 1e-12
              else "branch and bound")
    details["incumbent"] = source
    return SolveResult(r.status, objective=r.objective, best_bound=r.bound,
                       rel_gap=_gap(r.objective, r.bound), solve_time_s=elapsed,
                       schedule=r.schedule, details=details, message="; ".join(notes + [
                           f"incumbent from {source}; branch and bound: {r.nodes} nodes, "
                           f"root bound {r.root_bound:.6g}"]))


def _subset_bounds(problem: OfflineProblem, weighted: bool, known: tuple[SubsetBound, ...],
                   budget_s: float) -> tuple[SubsetBound, ...]:
    """Proven lower bounds on the optimum of every sub-instance made of 2..n-1 jobs
    consecutive in arrival order, smallest first, each solved by ``solve_delays``
    with the bounds of its own sub-instances as cuts; stops when ``budget_s`` is spent
    (one sub-instance gets at most a quarter of it). Returns ((job ids), bound) pairs."""
    jobs = list(problem.instance.jobs)
    t_end = time.perf_counter() + budget_s
    found: list[SubsetBound] = []
    for k in range(2, len(jobs)):
        for a in range(len(jobs) - k + 1):
            left = t_end - time.perf_counter()
            if left <= 0.05:
                return tuple(found)
            group = jobs[a:a + k]
            ids = {j.job_id for j in group}
            inner = tuple(g for g in tuple(known) + tuple(found) if set(g[0]) < ids)
            r = solve_delays(Instance(tuple(group)), problem.classical_servers,
                             problem.quantum_servers, problem.worker_capacity_ops_per_s,
                             SolveOptions(weighted=weighted,
                                          time_limit_s=min(left, max(0.25 * budget_s, 0.05)),
                                          model=ModelOptions(subset_bounds=inner)),
                             qc_groups=problem.qc_groups, ibm_estimate_s=problem.ibm_estimate_s)
            if r.status in ("optimal", "feasible") and r.best_bound is not None:
                lb = r.best_bound - 1e-9 * max(1.0, abs(r.best_bound))
                found.append((tuple(sorted(ids)), lb))
    return tuple(found)


def _milp_result(problem: OfflineProblem, res: Any, candidates: list[Incumbent],
                 options: SolveOptions, notes: list[str], size: tuple[int, int, int],
                 t0: float) -> SolveResult:
    """Status of a MILP solve from HiGHS's termination and the best checked candidate."""
    from pyomo.contrib.appsi.base import TerminationCondition
    tc = res.termination_condition
    elapsed = time.perf_counter() - t0
    sizes = _sizes(size)
    if tc in (TerminationCondition.infeasible, TerminationCondition.infeasibleOrUnbounded):
        # Cannot happen when an incumbent exists (the windows contain it).
        return SolveResult("infeasible", solve_time_s=elapsed, message="; ".join(
            notes + [f"HiGHS reports the model {tc.name}"]), **sizes)
    if tc.name not in _BOUNDED_STOPS:
        return SolveResult("error", solve_time_s=elapsed, message="; ".join(
            notes + [f"HiGHS stopped with {tc.name}"]), **sizes)
    bound = res.best_objective_bound
    if not candidates:
        return SolveResult("time_limit_no_incumbent", best_bound=bound, solve_time_s=elapsed,
                           message="; ".join(notes + [
                               f"HiGHS stopped ({tc.name}) after {elapsed:.2f}s without a "
                               f"feasible schedule"]), **sizes)
    obj, source, sched = min(candidates, key=lambda i: i.objective)
    bad = check_problem(problem, sched)
    if bad:
        return SolveResult("error", solve_time_s=elapsed, message=f"internal: {source} schedule "
                           f"fails the checker: {bad[0]}", **sizes)
    if bound is not None:
        bound = min(bound, obj)
    gap = _gap(obj, bound)
    proven = tc == TerminationCondition.optimal or (
        gap is not None and gap <= max(options.mip_rel_gap, 1e-9))
    return SolveResult("optimal" if proven else "feasible", objective=obj, best_bound=bound,
                       rel_gap=gap, solve_time_s=elapsed, schedule=sched,
                       message="; ".join(notes + [f"incumbent from {source}; HiGHS {tc.name}"]),
                       details={"incumbent": source}, **sizes)


def _best_known(problem: OfflineProblem, kept: list[Incumbent], notes: list[str],
                t0: float) -> SolveResult:
    """The best heuristic schedule as a "feasible" result (no bound), when no model could
    be solved within the time limit."""
    elapsed = time.perf_counter() - t0
    if not kept:
        return SolveResult("time_limit_no_incumbent", solve_time_s=elapsed,
                           message="; ".join(notes + [f"stopped after {elapsed:.2f}s without "
                                                      "a feasible schedule"]))
    best = min(kept, key=lambda i: i.objective)
    return SolveResult("feasible", objective=best.objective, solve_time_s=elapsed,
                       schedule=best.schedule, details={"incumbent": best.source},
                       message="; ".join(notes + [f"incumbent from {best.source}"]))


def _unbuildable(problem: OfflineProblem, what: str, left_s: float) -> str | None:
    """Why the model of ``problem`` (``what``: "MILP" or "LP") is not built with ``left_s``
    seconds left, or None to build it. Pyomo cannot be interrupted, so a model whose build
    alone would outlast the time limit (models.build_seconds_estimate) is never started."""
    from .models import build_seconds_estimate
    pairs, build_s = build_seconds_estimate(problem)
    if build_s <= left_s:
        return None
    return (f"{what} not built: about {build_s:.2g}s or more for {pairs} task pairs, "
            f"{max(left_s, 0.0):.1f}s left of the time limit")


def _solve_by_milp(problem: OfflineProblem, known: _Incumbents, options: SolveOptions,
                   notes: list[str], t0: float) -> SolveResult:
    """Time windows -> model (models.build_model) -> MIP start -> HiGHS -> status."""
    from .models import build_model, set_start
    weighted = options.weighted
    subset_bounds = tuple(options.model.subset_bounds)
    if options.subset_cuts:
        found = _subset_bounds(problem, weighted, subset_bounds,
                               options.subset_share * options.time_limit_s
                               - (time.perf_counter() - t0))
        notes.append(f"subset cuts: {len(found)} arrival-consecutive sub-instances bounded in "
                     f"{time.perf_counter() - t0:.1f}s")
        subset_bounds += found
    too_big = _unbuildable(problem, "MILP", options.time_limit_s - (time.perf_counter() - t0))
    if too_big is not None:
        return _best_known(problem, known.kept, notes + [too_big], t0)
    deadlines = _delay_deadlines(problem, known.upper_s, weighted, subset_bounds)
    m, info = build_model(problem, deadlines, "delays", weighted,
                          replace(options.model, subset_bounds=subset_bounds))
    size = _size(m)
    best = min(known.kept, key=lambda i: i.objective) if known.kept else None
    if best is not None:
        set_start(m, info, problem, *_as_vectors(problem, best.schedule))
    try:
        opt, res, _ = _run_highs(m, options.time_limit_s - (time.perf_counter() - t0),
                                 best is not None, options.mip_rel_gap)
    except HighsInterrupted as stop:  # Ctrl-C: hand the best schedule so far to the caller
        raise _interrupted(problem, stop, known.kept, m, info, weighted, size, t0) from None
    except Exception as exc:
        return SolveResult("error", solve_time_s=time.perf_counter() - t0,
                           message=f"HiGHS failed: {type(exc).__name__}: {exc}", **_sizes(size))
    candidates = list(known.kept)
    if res.best_feasible_objective is not None:
        found_s = _decode(m, info, problem, opt)
        candidates.append(Incumbent(_objective(problem, found_s, weighted), "solver", found_s))
    return _milp_result(problem, res, candidates, options, notes, size, t0)


def _interrupted(problem: OfflineProblem, stop: HighsInterrupted, kept: list[Incumbent],
                 m: pyo.ConcreteModel, info: ModelInfo, weighted: bool,
                 size: tuple[int, int, int], t0: float) -> SolveInterrupted:
    """``SolveInterrupted`` with the best checked schedule of the solver's incumbent and
    the ``kept`` ones (the MIP start among them), and HiGHS's bound."""
    candidates = list(kept)
    if stop.has_solution:
        found = _decode(m, info, problem, stop.solver)
        candidates.append(Incumbent(_objective(problem, found, weighted), "solver", found))
    candidates = [c for c in candidates if not check_problem(problem, c.schedule)]
    if not candidates:
        return SolveInterrupted(None)
    obj, source, sched = min(candidates, key=lambda i: i.objective)
    bound = None if stop.bound is None else min(stop.bound, obj)
    return SolveInterrupted(SolveResult(
        "feasible", objective=obj, best_bound=bound, rel_gap=_gap(obj, bound),
        solve_time_s=time.perf_counter() - t0, schedule=sched,
        message=f"interrupted after {stop.wall_s:.1f}s of HiGHS; incumbent from {source}",
        details={"incumbent": source}, **_sizes(size)))


def _solve_by_cpsat(problem: OfflineProblem, known: _Incumbents, options: SolveOptions,
                    notes: list[str], t0: float) -> SolveResult:
    """CP-SAT (cpsat.py) from the best incumbent, inside the incumbent's time windows."""
    best = min(known.kept, key=lambda i: i.objective) if known.kept else None
    deadlines = _delay_deadlines(problem, known.upper_s, options.weighted)
    res = cpsat.solve_delays_cpsat(problem, best, options.weighted,
                                   options.time_limit_s - (time.perf_counter() - t0),
                                   options.mip_rel_gap, deadlines, notes)
    return res


def solve_delays(instance: Instance, classical_servers: int | None, quantum_servers: int,
                 worker_capacity_ops_per_s: float = 1e9,
                 options: SolveOptions | None = None, *, qc_groups: tuple[QCGroup, ...] = (),
                 ibm_estimate_s: Mapping[tuple[int, str], float] | None = None) -> SolveResult:
    """Minimize the (weighted) sum of delays on C classical and Q quantum servers.

    ``classical_servers=None`` is C = infinity (lower bound for serverless
    runs); ``worker_capacity_ops_per_s`` is S. ``options``: a
    ``SolveOptions`` (None: the defaults; its ``method`` says when the branch
    and bound runs). ``qc_groups``: a heterogeneous QC fleet (then
    ``quantum_servers`` is its QC count; MILP only), ``ibm_estimate_s`` the
    estimates of its backend groups (None: the bundled traces'). The module
    docstring gives the sections and the meaning of each status.
    """
    t0 = time.perf_counter()
    options = options if options is not None else SolveOptions()
    problem = _problem(instance, classical_servers, quantum_servers, worker_capacity_ops_per_s,
                       qc_groups, ibm_estimate_s)
    if isinstance(problem, SolveResult):
        return problem
    method = _method(problem, options)
    if isinstance(method, SolveResult):
        return method
    notes: list[str] = []
    if method == "milp":  # an import is no part of the solve: outside the time limit
        t0 += _import_milp()
    if method == "cpsat" and options.local_search_evaluations is None:
        # A short local search (10 per task, not 300): the full one (20% of the
        # limit) delayed CP-SAT on random instances (bench_cpsat_random.py, C = 2, 3:
        # median 2.2 s against 0.1 s), none left trace instance 14x3 (C = 2)
        # unproven in 60 s for want of tight windows (proven in 5.8 s with 10 per task).
        options = replace(options, local_search_evaluations=10 * len(problem.tasks))
    with _compile_clock() as compiled:
        known = _incumbents(problem, _warm_start(problem, options, notes), options)
        # The time limit excludes numba's first-call compilation (the warm start's
        # simulator, the branch and bound's kernels), reported apart as compile_s.
        t_limit = t0 + compiled()
        if method == "bnb":
            result = _solve_by_bnb(problem, known.kept, options.weighted, options.time_limit_s,
                                   options.mip_rel_gap, notes, t_limit)
        elif method == "cpsat":
            result = _solve_by_cpsat(problem, known, options, notes, t_limit)
        else:
            result = _solve_by_milp(problem, known, options, notes, t_limit)
    result.solve_time_s = time.perf_counter() - t0
    result.details["compile_s"] = compiled()
    return result


def solve_platform(instance: Instance, platform: Platform, options: SolveOptions | None = None,
                   *, relax_classical: bool = False,
                   ibm_estimate_s: Mapping[tuple[int, str], float] | None = None) -> SolveResult:
    """``solve_delays`` on ``platform``: its C, S and QCs, a heterogeneous QC fleet
    included (``platform.qc_groups``; ``ibm_estimate_s`` for its backend groups, None:
    the bundled traces'). ``relax_classical``: C = infinity. Admission thresholds are
    ignored (the offline problem schedules every job)."""
    return solve_delays(instance, None if relax_classical else platform.classical_workers,
                        platform.quantum_computers, platform.worker_capacity_ops_per_s, options,
                        qc_groups=platform.qc_groups, ibm_estimate_s=ibm_estimate_s)


def _import_milp() -> float:
    """Import Pyomo, HiGHS and models.py (~1.3 s with the SciPy modules Pyomo pulls in;
    instant once loaded); returns the seconds it took, which no time limit counts."""
    start = time.perf_counter()
    import pyomo.environ  # noqa: F401
    from pyomo.contrib.appsi.solvers.highs import Highs  # noqa: F401

    from . import models  # noqa: F401
    return time.perf_counter() - start


@contextmanager
def _compile_clock() -> Iterator[Callable[[], float]]:
    """A function giving the seconds numba has spent so far in the block compiling
    kernels or loading them from its disk cache (it holds its compiler lock for both)."""
    from numba.core import event
    listener = event.TimingListener()
    with event.install_listener("numba:compiler_lock", listener):
        yield lambda: listener.duration if listener.done else 0.0


# ----------------------------------------------------------------------------
# LP bound
# ----------------------------------------------------------------------------

def lp_bound(instance: Instance, classical_servers: int | None, quantum_servers: int,
             worker_capacity_ops_per_s: float = 1e9,
             options: SolveOptions | None = None, *, qc_groups: tuple[QCGroup, ...] = (),
             ibm_estimate_s: Mapping[tuple[int, str], float] | None = None) -> SolveResult:
    """LP relaxation of the disjunctive model: ``best_bound`` is a valid lower bound.

    Uses ``options.weighted``, ``options.time_limit_s`` and ``options.model``;
    ``qc_groups`` / ``ibm_estimate_s``: a QC fleet, as in ``solve_delays`` (the LP
    of the fleet model relaxes it, so it stays a lower bound).
    """
    _import_milp()  # before the time limit starts
    t0 = time.perf_counter()
    options = options if options is not None else SolveOptions()
    weighted = options.weighted
    problem = _problem(instance, classical_servers, quantum_servers, worker_capacity_ops_per_s,
                       qc_groups, ibm_estimate_s)
    if isinstance(problem, SolveResult):
        return problem
    too_big = _unbuildable(problem, "LP", options.time_limit_s - (time.perf_counter() - t0))
    if too_big is not None:
        return SolveResult("time_limit_no_incumbent", solve_time_s=time.perf_counter() - t0,
                           message=too_big)
    import pyomo.environ as pyo
    from pyomo.contrib.appsi.base import TerminationCondition

    from .models import build_model
    heur = list_schedule(problem, weighted)
    m, _ = build_model(problem, _delay_deadlines(problem, _objective(problem, heur, weighted),
                                                 weighted), "delays", weighted, options.model)
    n_vars, _, n_con = _size(m)
    pyo.TransformationFactory("core.relax_integer_vars").apply_to(m)
    try:
        _, res, _ = _run_highs(m, options.time_limit_s, False, 0.0)
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


# ----------------------------------------------------------------------------
# minimal capacity
# ----------------------------------------------------------------------------

@dataclass(frozen=True)
class _CapacityQuestion:
    """Smallest count of ``resource``'s servers with every delay <= ``delta_max_s``."""

    instance: Instance
    resource: str                   # "classical" or "quantum"
    delta_max_s: float
    classical_servers: int | None   # the fixed count when the other resource varies
    quantum_servers: int
    speed: float                    # S, ops/s
    method: str = "auto"            # feasible_at's method

    @property
    def code(self) -> str:
        return "C" if self.resource == "classical" else "Q"

    def problem_at(self, k: int | None) -> OfflineProblem:
        """The problem with k servers of the resource asked about (None: C = infinity)."""
        if self.resource == "classical":
            return OfflineProblem(self.instance, k, self.quantum_servers, self.speed)
        if k is None:
            raise ValueError("the quantum capacity is always finite")
        return OfflineProblem(self.instance, self.classical_servers, k, self.speed)

    def deadlines(self) -> dict[int, float]:
        return {j.job_id: j.arrival_s + self.delta_max_s for j in self.instance.jobs}

    def meets(self, s: Schedule) -> bool:
        """Every job of ``s`` finishes within delta_max of its arrival."""
        done = s.completion_s()
        return all(done[j.job_id] - j.arrival_s <= self.delta_max_s + 1e-9 * max(1.0, self.delta_max_s)
                   for j in self.instance.jobs)


#: SolveResult status of a failed feasibility solve (feasible_at's outcome).
_CAPACITY_STATUS: dict[str, Status] = {"infeasible": "infeasible",
                                       "time_limit": "time_limit_no_incumbent"}


def _heuristic_capacity(q: _CapacityQuestion, busy: int) -> tuple[int | None, Schedule | None]:
    """The list heuristic's smallest capacity meeting every bound (and its schedule);
    else (the most servers worth trying, None), or (None, None) for C = infinity."""
    for k in range(1, max(busy, 1) + 1):
        h = list_schedule(q.problem_at(k))
        if q.meets(h):
            return k, h
    if q.resource == "quantum" or q.classical_servers is not None:
        # With as many servers as tasks no task waits for a server except
        # through the other resource; ask the solver once at that capacity.
        return max(busy, 1), None
    return None, None


def _descend(q: _CapacityQuestion, k_hi: int, found: Schedule, proofs: list[str],
             last: tuple[int, int, int], t0: float, time_limit_s: float
             ) -> tuple[int, Schedule, str, tuple[int, int, int]]:
    """Try k_hi - 1, k_hi - 2, ... until a capacity is infeasible (or unproven),
    appending each outcome to ``proofs``: the smallest feasible capacity, its
    schedule, "optimal" or "feasible", and the last model's size."""
    best_k, status = k_hi, "optimal" if k_hi == 1 else "feasible"
    k = k_hi - 1
    while k >= 1:
        outcome, sched, last = feasible_at(q.problem_at(k), q.deadlines(), t0, time_limit_s,
                                           q.method)
        proofs.append(f"{q.code}={k}: {outcome}")
        if outcome == "feasible" and sched is not None:
            best_k, found = k, sched
            status = "optimal" if k == 1 else "feasible"
            k -= 1
            continue
        status = "optimal" if outcome == "infeasible" else "feasible"
        break
    return best_k, found, status, last


def solve_min_capacity(instance: Instance, resource: str, delta_max_s: float,
                       classical_servers: int | None = 1, quantum_servers: int = 1,
                       worker_capacity_ops_per_s: float = 1e9,
                       time_limit_s: float = 60.0, method: str = "auto") -> SolveResult:
    """Smallest number of servers of ``resource`` ("classical"/"quantum") with every delay <= delta_max_s.

    The other resource stays at the given count. ``objective`` = the capacity
    found; ``details["proofs"]`` lists each capacity tried and the outcome.
    ``time_limit_s`` bounds the whole call. ``method``: how ``feasible_at``
    answers each capacity ("auto", "cpsat", "milp"; "bnb" means "milp").
    """
    _import_milp()  # before the time limit starts
    t0 = time.perf_counter()
    if resource not in ("classical", "quantum"):
        return SolveResult("error", message=f"resource must be 'classical' or 'quantum', got {resource!r}")
    if not (isinstance(delta_max_s, (int, float)) and math.isfinite(delta_max_s) and delta_max_s > 0):
        return SolveResult("error", message=f"delta_max must be a positive number, got {delta_max_s!r}")
    if method not in ("auto", "milp", "bnb", "cpsat"):
        return SolveResult("error", message=f"method must be auto, milp, bnb or cpsat, got {method!r}")
    if method == "cpsat" and not cpsat.available():
        return SolveResult("error", message=cpsat.MISSING)
    q = _CapacityQuestion(instance, resource, delta_max_s, classical_servers, quantum_servers,
                          worker_capacity_ops_per_s, method)
    try:
        base = q.problem_at(1)
    except ValueError as exc:
        return SolveResult("error", message=str(exc))
    too_long = [j for j in base.chains if base.chain_length_s(j) > delta_max_s * (1 + 1e-12)]
    if too_long:
        j = too_long[0]
        return SolveResult("infeasible", solve_time_s=time.perf_counter() - t0, message=(
            f"job {j}: its chain alone lasts {base.chain_length_s(j):.6g} s > delta_max "
            f"{delta_max_s:g} s, so no capacity meets the bound"))
    busy = sum(1 for t in base.tasks if t.resource == q.code and t.duration_s > 0)
    k_hi, found = _heuristic_capacity(q, busy)
    proofs: list[str] = []
    last = (0, 0, 0)
    if found is None:
        outcome, found, last = feasible_at(q.problem_at(k_hi), q.deadlines(), t0, time_limit_s,
                                           q.method)
        proofs.append(f"{q.code}={k_hi}: {outcome}")
        if outcome != "feasible" or found is None:
            return SolveResult(_CAPACITY_STATUS.get(outcome, "error"),
                               solve_time_s=time.perf_counter() - t0, **_sizes(last), message=(
                                   f"no schedule meets delta_max={delta_max_s:g} s even with "
                                   f"{q.code}={k_hi} ({outcome})"), details={"proofs": proofs})
    assert k_hi is not None  # found is a schedule at k_hi
    best_k, found, status, last = _descend(q, k_hi, found, proofs, last, t0, time_limit_s)
    return _capacity_result(q, best_k, found, status, proofs, last, t0)


def _capacity_result(q: _CapacityQuestion, best_k: int, found: Schedule, status: str,
                     proofs: list[str], last: tuple[int, int, int], t0: float) -> SolveResult:
    """Verify the capacity's schedule independently and report it."""
    elapsed = time.perf_counter() - t0
    final = q.problem_at(best_k)
    bad = check_schedule(q.instance, found, final.classical_servers, final.quantum_servers,
                         q.speed)
    if bad or not q.meets(found):
        return SolveResult("error", solve_time_s=elapsed, message="internal: capacity schedule "
                           f"fails verification: {bad[:1] or 'delay bound'}")
    lower = best_k if status == "optimal" else None
    return SolveResult("optimal" if status == "optimal" else "feasible", objective=float(best_k),
                       best_bound=None if lower is None else float(lower),
                       rel_gap=0.0 if status == "optimal" else None, solve_time_s=elapsed,
                       schedule=found, **_sizes(last),
                       message=f"{q.code}={best_k} meets delta_max={q.delta_max_s:g} s; tried: "
                               + ", ".join(proofs or ["heuristic only"]),
                       details={"capacity": best_k, "proofs": proofs})


def feasible_at(problem: OfflineProblem, deadlines: dict[int, float], t0: float,
                time_limit_s: float, method: str = "auto"
                ) -> tuple[str, Schedule | None, tuple[int, int, int]]:
    """Feasibility under per-job deadlines (s), within ``time_limit_s`` counted from
    ``t0`` (a time.perf_counter() value): CP-SAT (cpsat.feasible_at_cpsat) for
    "cpsat", and first for "auto" when installed (it proves these questions
    fastest: benchmarks/bench_cpsat_random.py), then the MILP with the time left
    if CP-SAT left the question open; the MILP alone otherwise.

    Returns ("feasible"|"infeasible"|"time_limit"|"unknown"|"error (...)", schedule,
    model size)."""
    if method == "cpsat" or (method == "auto" and cpsat.available()):
        left = time_limit_s - (time.perf_counter() - t0)
        if left <= 0:
            return "time_limit", None, (0, 0, 0)
        outcome, sched = cpsat.feasible_at_cpsat(problem, deadlines, left)
        if outcome in ("feasible", "infeasible") or method == "cpsat":
            return outcome, sched, (len(problem.tasks), 0, 0)
    from pyomo.contrib.appsi.base import TerminationCondition

    from .models import build_model, build_seconds_estimate
    if build_seconds_estimate(problem)[1] > time_limit_s - (time.perf_counter() - t0):
        return "time_limit", None, (0, 0, 0)  # the model could not even be built in time
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
