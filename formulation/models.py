"""Continuous-time disjunctive MILP of the offline problem (Pyomo).

Sources: MODEL.md "Offline problem (paper Section II-B)"; the multiserver
formulation of the paper, Section II-B, eq. (1)-(2) (activation times, chain
precedence after arrival, at most C classical and Q quantum tasks at once),
written as the classical disjunctive model of parallel identical machine
scheduling with release dates: Balas (1969) "Machine sequencing via
disjunctive graphs", Manne (1960) big-M ordering variables, and the
assignment + sequencing model of parallel machines (e.g. Unlu & Mason
(2010), "Evaluation of mixed integer programming formulations for
non-preemptive parallel machine scheduling problems", Comput. Ind. Eng.
58(4)). Laid out as Pyomo's examples/gdp/jobshop.py and OR-Tools' job-shop
sample are: data -> variables -> constraints -> objective, one named
function per constraint family (``build_model`` calls them in that order):

- data (``model_data``): time windows, the tasks competing for each
  resource's servers, the servers each task may use, the pairs of tasks
  whose order is open and their big-M;
- ``s[p]``: start of task p (s), bounded by its time window
  ``[head_p, deadline_j - tail_p - d_p]`` (release + chain heads; deadlines
  from delta_max or from an incumbent's objective, see solve.py);
- ``y[p,q]`` (binary, p<q, same resource, different jobs, windows that can
  overlap): 1 if p precedes q when they share a server;
- ``x[p,k]`` (binary, only for a resource with >= 2 servers): task p on
  server k; symmetry breaking: the task of rank r in (head, job, index)
  order may only use servers 0..r (relabel servers by first use);
- ``z[p,q]`` in [0,1]: forced to 1 when p and q share a server
  (``z >= x[p,k] + x[q,k] - 1``), only then do the ordering rows bind;
- rows: ``chain`` (precedence, eq. (1)), ``one_server``, ``same_server``,
  ``q_after_p`` / ``p_after_q`` (capacity, eq. (2)) with big-M = the
  largest violation the time windows allow (tight, per pair);
- objective: ``sum_j w_j (s[last_j] + d[last_j] - t_j)`` or none (feasibility).

Optional rows (``ModelOptions``; all valid for every schedule of the
instance, so they never remove an optimum; exercised by the brute-force test):

- ``energy_cuts`` (Eastman, Even & Isaacs 1964; Queyranne 1993): on m
  identical machines any task set S released at r_S satisfies
  ``sum_S d_p C_p >= r_S D + D^2 / (2m) + sum_S d_p^2 / 2`` (D = sum_S d_p);
  S = a resource's tasks of the jobs i..k in arrival order. They lift the
  LP bound, which the big-M rows alone leave near the sum of chain lengths.
- ``interference_cuts`` (resources with ONE server only): for consecutive
  busy tasks a, b of a job, every other task i on that server lies before a,
  between a and b, or after b, and the ones between fill the gap:
  ``s_b >= s_a + d_a + sum_i d_i (prec(i,b) - prec(i,a))`` plus
  ``prec(i,a) <= prec(i,b)``, prec(i,t) being the pair's ordering variable
  (or the constant the windows impose). It charges a job for the long tasks
  (pre) placed inside its iteration phase without big-M.
- ``subset_bounds``: ``sum_{j in G} w_j delta_j >= LB(G)`` for sets G of jobs
  with LB(G) a proven lower bound on the optimum of the sub-instance of G's
  jobs alone (restricting any schedule to G's tasks leaves a feasible
  schedule of the sub-instance, whose objective is G's part of the sum).

A heterogeneous QC fleet (``problem.qc_groups``; docs/platform-features.md
section 4: unrelated machines with eligibility; the assignment + sequencing
model above with machine-dependent durations, as Unlu & Mason (2010) write it
for unrelated parallel machines) changes the model only for quantum tasks
with >= 2 QCs:

- ``x[p,k]`` exists only for QCs k eligible for task p; the duration of p is
  the expression ``sum_k p_{p,g(k)} x[p,k]`` (exact because ``one_server``
  makes one x equal 1) in ``chain`` and in the ordering rows;
- symmetry breaking is per group (its QCs are identical): the task of rank r
  among the busy tasks eligible for group g may use only g's first r + 1 QCs
  (relabel each group's QCs by first use: before it at most r tasks used g);
- an ordering pair exists only for tasks sharing an eligible QC, and its
  big-M takes the task's slowest eligible duration (``dmax``);
- windows, heads and tails use each task's fastest eligible duration
  (``OTask.duration_s``), so they stay valid bounds (a slower QC only ends a
  task later);
- energy rows use the fastest eligible durations on m = the QCs eligible for
  some task of the set: shrinking each task to its fastest duration at the
  same start keeps a schedule feasible on those m QCs, where Queyranne's
  inequality holds for identical machines (it only counts overlap);
- ``interference`` rows need one server, where every duration is fixed.

With ``qc_groups == ()`` the model is the one above, row for row.

Exactness: for the given servers the model is exact for any durations (no
time grid), except that the windows restrict it to schedules with objective
<= the incumbent's (or delays <= delta_max), which never removes an optimum.
With ``classical_servers=None`` (C = infinity) classical tasks get no
resource rows at all. Zero-length tasks occupy no server time and get none.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyomo.environ as pyo

from .options import ModelOptions, SubsetBound
from .problem import OfflineProblem, OTask

Pair = tuple[int, int]


@dataclass
class ModelInfo:
    """What the solver layer needs to read a solution back."""

    multi: dict[str, bool]                    # resource -> has assignment variables
    assign: dict[int, list[int]]              # task pos -> servers it may use
    infeasible_windows: list[str]             # tasks whose window is empty


@dataclass
class ModelData:
    """The data of one model. Tasks are keyed by their position in problem.tasks."""

    d: dict[int, float]                 # duration (s)
    arrival: dict[int, float]           # job id -> arrival t_j (s)
    lo: dict[int, float]                # earliest start (s)
    hi: dict[int, float]                # latest start (s), clamped to >= lo
    empty: list[str]                    # tasks whose window is empty (infeasible deadlines)
    res: dict[int, str]                 # resource, "C" or "Q"
    busy: dict[str, list[OTask]]        # resource -> positive tasks that need one of its servers
    multi: dict[str, bool]              # resource -> has >= 2 servers (assignment variables)
    assign: dict[int, list[int]]        # busy task -> servers it may use
    pairs: list[Pair]                   # busy tasks of different jobs whose order is open
    big_m: dict[Pair, float]            # (p, q) -> largest s_p + d_p - s_q the windows allow
    #: QC fleet with >= 2 QCs: busy quantum task -> {eligible QC: duration (s)}; else empty
    dq: dict[int, dict[int, float]]


# ----------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------

def _windows(problem: OfflineProblem, deadlines_s: dict[int, float]
             ) -> tuple[dict[int, float], dict[int, float], list[str]]:
    """Start windows [lo, hi] of every task and the tasks whose window is empty."""
    tasks = problem.tasks
    lo = {t.pos: t.head_s for t in tasks}
    hi = {t.pos: deadlines_s[t.job_id] - t.tail_s - t.duration_s for t in tasks}
    empty = [f"job {t.job_id} task {t.index}" for t in tasks if hi[t.pos] < lo[t.pos]]
    # An empty window (deadline shorter than the chain) is reported by the
    # caller as infeasible; clamp so that Pyomo still gets valid bounds.
    hi = {p: max(hi[p], lo[p]) for p in hi}
    return lo, hi, empty


def _rank_key(t: OTask) -> tuple[float, int, int]:
    """The (head, job, index) order of the symmetry-breaking rule."""
    return (t.head_s, t.job_id, t.index)


def _allowed_fleet_qcs(problem: OfflineProblem, items: list[OTask],
                       symmetry_breaking: bool) -> dict[int, list[int]]:
    """QC fleet: the eligible QCs of each busy quantum task; with symmetry breaking, in
    each group only its first r + 1 QCs, r = the task's rank among the group's eligible
    tasks (module docstring)."""
    assign: dict[int, list[int]] = {t.pos: [] for t in items}
    first = 0
    for g, group in enumerate(problem.qc_groups):
        fits = [t for t in sorted(items, key=_rank_key)
                if problem.group_durations[t.pos][g] is not None]
        for rank, t in enumerate(fits):
            n = min(group.count, rank + 1) if symmetry_breaking else group.count
            assign[t.pos] += list(range(first, first + n))
        first += group.count
    return assign


def _allowed_servers(problem: OfflineProblem, busy: dict[str, list[OTask]],
                     symmetry_breaking: bool) -> dict[int, list[int]]:
    """Servers each busy task may use: all, or 0..rank in (head, job, index) order."""
    assign: dict[int, list[int]] = {}
    for r, items in busy.items():
        if r == "Q" and problem.fleet:
            assign.update(_allowed_fleet_qcs(problem, items, symmetry_breaking))
            continue
        ordered = sorted(items, key=_rank_key)
        for rank, t in enumerate(ordered):
            cap = problem.servers(r)
            assert cap is not None  # busy lists only resources with a server count
            assign[t.pos] = list(range(min(cap, rank + 1) if symmetry_breaking else cap))
    return assign


def _open_pairs(busy: dict[str, list[OTask]], d: dict[int, float], lo: dict[int, float],
                hi: dict[int, float], eligible: dict[int, set[int]] | None = None
                ) -> tuple[list[Pair], dict[Pair, float]]:
    """Pairs of busy tasks of one resource and different jobs that may run in either
    order, and the big-M of both ordering rows of each. ``d``: the longest duration of
    each task; ``eligible`` (QC fleet): the QCs each quantum task may use (a pair with
    none in common never shares one)."""
    pairs = []
    for items in busy.values():
        for a_i, a in enumerate(items):
            for b in items[a_i + 1:]:
                if a.job_id == b.job_id:
                    continue  # ordered by the chain already
                if eligible and a.pos in eligible and not eligible[a.pos] & eligible[b.pos]:
                    continue
                # Both orders possible only if each window lets it finish after the other starts.
                if hi[a.pos] + d[a.pos] > lo[b.pos] and hi[b.pos] + d[b.pos] > lo[a.pos]:
                    pairs.append((a.pos, b.pos))
    big_m: dict[Pair, float] = {}
    for p, q in pairs:
        big_m[(p, q)] = hi[p] + d[p] - lo[q]   # largest s_p + d_p - s_q the windows allow
        big_m[(q, p)] = hi[q] + d[q] - lo[p]
    return pairs, big_m


#: Seconds to build the model per open pair of tasks (its order binary, server rows and
#: big-M rows dominate): ~9e-5 s measured (pyomo, 2 shared cores); a low estimate, so
#: that only a model that surely cannot be built within a time limit is skipped.
BUILD_S_PER_PAIR = 5e-5


def build_seconds_estimate(problem: OfflineProblem) -> tuple[int, float]:
    """(upper bound on the open pairs, seconds to build the model at least), from task
    counts alone: per resource with servers, pairs of busy tasks of different jobs."""
    pairs = 0
    for r in ("C", "Q"):
        if problem.servers(r) is None:
            continue
        per_job: dict[int, int] = {}
        for t in problem.tasks:
            if t.resource == r and t.duration_s > 0:
                per_job[t.job_id] = per_job.get(t.job_id, 0) + 1
        n = sum(per_job.values())
        pairs += n * (n - 1) // 2 - sum(c * (c - 1) // 2 for c in per_job.values())
    return pairs, pairs * BUILD_S_PER_PAIR


def model_data(problem: OfflineProblem, deadlines_s: dict[int, float],
               symmetry_breaking: bool = True) -> ModelData:
    """Windows, competing tasks, allowed servers and open pairs of the model."""
    tasks = problem.tasks
    d = {t.pos: t.duration_s for t in tasks}
    lo, hi, empty = _windows(problem, deadlines_s)
    busy = {r: [t for t in tasks if t.resource == r and t.duration_s > 0
                and problem.servers(r) is not None] for r in ("C", "Q")}
    multi = {r: (problem.servers(r) or 0) >= 2 for r in ("C", "Q")}
    assign = _allowed_servers(problem, busy, symmetry_breaking)
    dq: dict[int, dict[int, float]] = {}
    if problem.fleet and multi["Q"]:
        dq = {t.pos: {k: problem.duration_on(t.pos, k) for k in problem.eligible_servers(t.pos)}
              for t in busy["Q"]}
        longest = {**d, **{p: max(ds.values()) for p, ds in dq.items()}}
        pairs, big_m = _open_pairs(busy, longest, lo, hi,
                                   {p: set(ds) for p, ds in dq.items()})
    else:
        pairs, big_m = _open_pairs(busy, d, lo, hi)
    res = {t.pos: t.resource for t in tasks}
    arrival = {j.job_id: j.arrival_s for j in problem.instance.jobs}
    return ModelData(d, arrival, lo, hi, empty, res, busy, multi, assign, pairs, big_m, dq)


# ----------------------------------------------------------------------------
# variables
# ----------------------------------------------------------------------------

def _add_variables(m: pyo.ConcreteModel, problem: OfflineProblem, data: ModelData) -> None:
    """Index sets and the variables s (starts), y (orders), x (servers), z (same server)."""
    multi, res = data.multi, data.res
    m.T = pyo.Set(initialize=[t.pos for t in problem.tasks])
    m.P = pyo.Set(initialize=data.pairs, dimen=2)
    m.PM = pyo.Set(initialize=[pq for pq in data.pairs if multi[res[pq[0]]]], dimen=2)
    m.A = pyo.Set(initialize=[(p, k) for p, ks in data.assign.items() if multi[res[p]] for k in ks],
                  dimen=2)
    m.s = pyo.Var(m.T, bounds=lambda m, p: (data.lo[p], data.hi[p]))
    m.y = pyo.Var(m.P, domain=pyo.Binary)
    m.x = pyo.Var(m.A, domain=pyo.Binary)
    m.z = pyo.Var(m.PM, bounds=(0, 1))


# ----------------------------------------------------------------------------
# constraints, one function per family
# ----------------------------------------------------------------------------

def _duration(m: pyo.ConcreteModel, data: ModelData, p: int):
    """Task p's duration: a number, or with a QC fleet the expression
    ``sum_k p_{p,g(k)} x[p,k]`` over its eligible QCs (module docstring)."""
    per_qc = data.dq.get(p)
    if per_qc is None:
        return data.d[p]
    return sum(per_qc[k] * m.x[p, k] for k in data.assign[p])


def _add_chain_rows(m: pyo.ConcreteModel, problem: OfflineProblem, data: ModelData) -> None:
    """``chain``: a task starts after its predecessor ends (eq. (1))."""
    chain_pairs = [(p, q) for c in problem.chains.values() for p, q in zip(c, c[1:])]

    @m.Constraint(chain_pairs)
    def chain(m, p, q):
        return m.s[q] >= m.s[p] + _duration(m, data, p)


def _add_server_rows(m: pyo.ConcreteModel, data: ModelData) -> None:
    """``one_server``: each task of a multi-server resource uses one server;
    ``same_server``: z[p,q] = 1 when p and q use the same one."""
    assign = data.assign

    @m.Constraint([p for p in assign if data.multi[data.res[p]]])
    def one_server(m, p):
        return sum(m.x[p, k] for k in assign[p]) == 1

    same_rows = [(p, q, k) for p, q in m.PM for k in set(assign[p]) & set(assign[q])]

    @m.Constraint(same_rows)
    def same_server(m, p, q, k):
        return m.z[p, q] >= m.x[p, k] + m.x[q, k] - 1


def _add_order_rows(m: pyo.ConcreteModel, data: ModelData) -> None:
    """``q_after_p`` / ``p_after_q``: two tasks on one server do not overlap (eq. (2)),
    big-M disjunction on y[p,q], relaxed by 1 - z[p,q] when they use different servers."""
    big_m = data.big_m

    def apart(m, p, q):
        # 1 - z relaxes the pair when it uses different servers (multi-server resource only).
        return (1 - m.z[p, q]) if (p, q) in m.PM else 0

    @m.Constraint(m.P)
    def q_after_p(m, p, q):
        return m.s[q] >= m.s[p] + _duration(m, data, p) \
            - big_m[(p, q)] * (1 - m.y[p, q] + apart(m, p, q))

    @m.Constraint(m.P)
    def p_after_q(m, p, q):
        return m.s[p] >= m.s[q] + _duration(m, data, q) \
            - big_m[(q, p)] * (m.y[p, q] + apart(m, p, q))


def _energy_sets(problem: OfflineProblem, data: ModelData) -> list[tuple[str, float, tuple[int, ...]]]:
    """(resource, release, tasks) of the energy rows: a resource's tasks of the jobs
    i..k in arrival order, for every i <= k (O(jobs^2) rows)."""
    cut_sets = []
    order = [j.job_id for j in problem.instance.jobs]
    for r, items in data.busy.items():
        if not items:
            continue
        by_job = {j: [t.pos for t in items if t.job_id == j] for j in order}
        for i in range(len(order)):
            members: list[int] = []
            for k in range(i, len(order)):
                members = members + by_job[order[k]]
                if len(members) >= 2 and by_job[order[k]]:
                    cut_sets.append((r, min(data.lo[p] for p in members), tuple(members)))
    return cut_sets


def _add_energy_rows(m: pyo.ConcreteModel, problem: OfflineProblem, data: ModelData,
                     enabled: bool) -> None:
    """``energy``: Queyranne's inequalities (module docstring); declared empty when off."""
    d = data.d
    cut_sets = _energy_sets(problem, data) if enabled else []

    @m.Constraint(range(len(cut_sets)))
    def energy(m, c):
        r, release, members = cut_sets[c]
        servers = problem.servers(r)
        assert servers is not None
        if r == "Q" and problem.fleet:  # the QCs some member may use (module docstring)
            servers = len(set().union(*(problem.eligible_servers(p) for p in members)))
        total = sum(d[p] for p in members)
        rhs = release * total + total ** 2 / (2 * servers) \
            - 0.5 * sum(d[p] ** 2 for p in members)
        return sum(d[p] * m.s[p] for p in members) >= rhs


def _interference_sets(problem: OfflineProblem, data: ModelData, pair_set: set[Pair]
                       ) -> tuple[list[tuple[int, int, tuple[int, ...]]], list[tuple[int, int, int]]]:
    """Gap rows (a, b, other tasks) for consecutive busy tasks a, b of a job on a
    one-server resource, and the (i, a, b) whose two orders are both open."""
    gap_rows, mono_rows = [], []
    for r, items in data.busy.items():
        if problem.servers(r) != 1 or not items:
            continue
        for j, job_chain in problem.chains.items():
            mine = [p for p in job_chain if data.res[p] == r and data.d[p] > 0]
            others = [t.pos for t in items if t.job_id != j]
            for a, b in zip(mine, mine[1:]):
                gap_rows.append((a, b, tuple(others)))
                for i in others:
                    if ((i, a) in pair_set or (a, i) in pair_set) and \
                            ((i, b) in pair_set or (b, i) in pair_set):
                        mono_rows.append((i, a, b))
    return gap_rows, mono_rows


def _add_interference_rows(m: pyo.ConcreteModel, problem: OfflineProblem, data: ModelData,
                           enabled: bool) -> None:
    """``interference`` / ``interference_order`` (module docstring); declared empty when off."""
    d, lo, hi = data.d, data.lo, data.hi
    pair_set = set(data.pairs)

    def prec(i, t):
        """1 iff task i runs before task t on the server: the pair's ordering
        variable, or the constant the windows impose."""
        if (i, t) in pair_set:
            return m.y[i, t]
        if (t, i) in pair_set:
            return 1 - m.y[t, i]
        return 1.0 if hi[i] + d[i] <= lo[t] or (hi[t] + d[t] > lo[i] and lo[i] < lo[t]) else 0.0

    gap_rows, mono_rows = _interference_sets(problem, data, pair_set) if enabled else ([], [])

    @m.Constraint(range(len(gap_rows)))
    def interference(m, c):
        a, b, others = gap_rows[c]
        terms = [(prec(i, a), prec(i, b), d[i]) for i in others]
        return m.s[b] >= m.s[a] + d[a] + sum(di * (pb - pa) for pa, pb, di in terms)

    @m.Constraint(range(len(mono_rows)))
    def interference_order(m, c):
        i, a, b = mono_rows[c]
        return prec(i, a) <= prec(i, b)


def _weighted_delay(m: pyo.ConcreteModel, problem: OfflineProblem, data: ModelData,
                    job_id: int, weighted: bool):
    """w_j (s[last_j] + d[last_j] - t_j): job j's (weighted) delay as an expression."""
    last = problem.chains[job_id][-1]
    weight = problem.tasks[last].weight if weighted else 1
    return weight * (m.s[last] + _duration(m, data, last) - data.arrival[job_id])


def _add_subset_rows(m: pyo.ConcreteModel, problem: OfflineProblem, data: ModelData,
                     subset_bounds: tuple[SubsetBound, ...], weighted: bool) -> None:
    """``subset``: sum_{j in G} w_j delta_j >= LB(G) (module docstring); bounds of job
    sets not all in this instance are skipped."""
    cuts_g = [(tuple(g), lb) for g, lb in subset_bounds if all(j in problem.chains for j in g)]

    @m.Constraint(range(len(cuts_g)))
    def subset(m, c):
        g, lb = cuts_g[c]
        return sum(_weighted_delay(m, problem, data, j, weighted) for j in g) >= lb


# ----------------------------------------------------------------------------
# objective
# ----------------------------------------------------------------------------

def _add_objective(m: pyo.ConcreteModel, problem: OfflineProblem, data: ModelData,
                   objective: str, weighted: bool) -> None:
    """``obj``: the (weighted) sum of delays, or 0 for a feasibility model."""
    if objective == "delays":
        m.obj = pyo.Objective(expr=sum(_weighted_delay(m, problem, data, j, weighted)
                                       for j in problem.chains), sense=pyo.minimize)
    else:
        m.obj = pyo.Objective(expr=0.0 * m.s[0] if len(problem.tasks) else 0.0,
                              sense=pyo.minimize)


def build_model(problem: OfflineProblem, deadlines_s: dict[int, float],
                objective: str = "delays", weighted: bool = False,
                options: ModelOptions | None = None) -> tuple[pyo.ConcreteModel, ModelInfo]:
    """The disjunctive model; ``objective`` is "delays" or "none" (feasibility);
    ``deadlines_s`` the latest completion of each job (s); ``options`` the
    optional rows (None: ``ModelOptions()``)."""
    if objective not in ("delays", "none"):
        raise ValueError(f"objective must be 'delays' or 'none', got {objective!r}")
    if options is None:
        options = ModelOptions()
    data = model_data(problem, deadlines_s, options.symmetry_breaking)
    m = pyo.ConcreteModel(name="hqsched_offline_disjunctive")
    _add_variables(m, problem, data)
    _add_chain_rows(m, problem, data)
    _add_server_rows(m, data)
    _add_order_rows(m, data)
    _add_energy_rows(m, problem, data, options.energy_cuts)
    _add_interference_rows(m, problem, data, options.interference_cuts)
    _add_subset_rows(m, problem, data, options.subset_bounds, weighted)
    _add_objective(m, problem, data, objective, weighted)
    return m, ModelInfo(multi=data.multi, assign=data.assign, infeasible_windows=data.empty)


def set_start(m: pyo.ConcreteModel, info: ModelInfo, problem: OfflineProblem,
              starts_s: list[float], servers: list[int]) -> None:
    """Give every variable the value of a known feasible schedule (a MIP start).

    Servers are relabelled by first use in rank order so the start respects
    the symmetry-breaking rule (a schedule is the same up to server labels).
    """
    for p in m.T:
        m.s[p].set_value(starts_s[p], skip_validation=True)
    label: dict[tuple[str, int], int] = {}
    lab = list(servers)
    for r in ("C", "Q"):
        ranked = sorted((p for p in info.assign if problem.tasks[p].resource == r),
                        key=lambda p: _rank_key(problem.tasks[p]))
        if r == "Q" and problem.fleet:
            _relabel_fleet(problem, ranked, servers, lab)
            continue
        for p in ranked:
            key = (r, servers[p])
            if key not in label:
                label[key] = sum(1 for kk in label if kk[0] == r)
            lab[p] = label[key]
    for (p, k) in m.A:
        m.x[p, k].set_value(1 if lab[p] == k else 0, skip_validation=True)
    for (p, q) in m.P:
        m.y[p, q].set_value(1 if (starts_s[p], p) <= (starts_s[q], q) else 0, skip_validation=True)
    for (p, q) in m.PM:
        m.z[p, q].set_value(1 if lab[p] == lab[q] else 0, skip_validation=True)


def _relabel_fleet(problem: OfflineProblem, ranked: list[int], servers: list[int],
                   lab: list[int]) -> None:
    """QC fleet: relabel each group's QCs by first use in rank order (``lab``, in place),
    so a start respects the per-group symmetry-breaking rule."""
    first = [0] * len(problem.qc_groups)
    for g in range(1, len(first)):
        first[g] = first[g - 1] + problem.qc_groups[g - 1].count
    label: dict[int, int] = {}
    used = [0] * len(first)
    for p in ranked:
        k = servers[p]
        if k not in label:
            g = problem.qc_group_of[k]
            label[k] = first[g] + used[g]
            used[g] += 1
        lab[p] = label[k]
