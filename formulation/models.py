"""Continuous-time disjunctive MILP of the offline problem (Pyomo).

Source: the multiserver formulation of the paper, Section II-B, eq. (1)-(2)
(activation times, chain precedence after arrival, at most C classical and Q
quantum tasks at once), written as the classical disjunctive model of
parallel identical machine scheduling with release dates: Balas (1969)
"Machine sequencing via disjunctive graphs", Manne (1960) big-M ordering
variables, and the assignment + sequencing model of parallel machines
(e.g. Unlu & Mason (2010), "Evaluation of mixed integer programming
formulations for non-preemptive parallel machine scheduling problems",
Comput. Ind. Eng. 58(4)), as in Pyomo's examples/gdp/jobshop.py.

Data -> variables -> constraints -> objective, one named rule per family:

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
- rows: ``chain`` (precedence), ``one_server``, ``same_server``,
  ``q_after_p`` / ``p_after_q`` with big-M = the largest violation the time
  windows allow (tight, per pair);
- objective: ``sum_j w_j (s[last_j] + d[last_j] - t_j)`` or none (feasibility).

Optional rows (all valid for every schedule of the instance, so they never
remove an optimum; exercised by the brute-force test):

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

Exactness: for the given servers the model is exact for any durations (no
time grid), except that the windows restrict it to schedules with objective
<= the incumbent's (or delays <= delta_max), which never removes an optimum.
With ``classical_servers=None`` (C = infinity) classical tasks get no
resource rows at all. Zero-length tasks occupy no server time and get none.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyomo.environ as pyo

from .problem import OfflineProblem


@dataclass
class ModelInfo:
    """What the solver layer needs to read a solution back."""

    multi: dict[str, bool]                    # resource -> has assignment variables
    assign: dict[int, list[int]]              # task pos -> servers it may use
    infeasible_windows: list[str]             # tasks whose window is empty


def build_model(problem: OfflineProblem, deadlines_s: dict[int, float],
                objective: str = "delays", weighted: bool = False,
                symmetry_breaking: bool = True, energy_cuts: bool = True,
                interference_cuts: bool = False,
                subset_bounds: tuple = ()) -> tuple[pyo.ConcreteModel, ModelInfo]:
    """The disjunctive model; ``objective`` is "delays" or "none" (feasibility)."""
    tasks = problem.tasks
    d = {t.pos: t.duration_s for t in tasks}
    lo = {t.pos: t.head_s for t in tasks}
    hi = {t.pos: deadlines_s[t.job_id] - t.tail_s - t.duration_s for t in tasks}
    empty = [f"job {t.job_id} task {t.index}" for t in tasks if hi[t.pos] < lo[t.pos]]
    # An empty window (deadline shorter than the chain) is reported by the
    # caller as infeasible; clamp so that Pyomo still gets valid bounds.
    hi = {p: max(hi[p], lo[p]) for p in hi}

    # --- data: pairs that may compete for a server, and allowed servers
    busy = {r: [t for t in tasks if t.resource == r and t.duration_s > 0
                and problem.servers(r) is not None] for r in ("C", "Q")}
    multi = {r: (problem.servers(r) or 0) >= 2 for r in ("C", "Q")}
    assign: dict[int, list[int]] = {}
    for r, items in busy.items():
        ordered = sorted(items, key=lambda t: (t.head_s, t.job_id, t.index))
        for rank, t in enumerate(ordered):
            cap = problem.servers(r)
            assign[t.pos] = list(range(min(cap, rank + 1) if symmetry_breaking else cap))
    pairs = []
    for items in busy.values():
        for a_i, a in enumerate(items):
            for b in items[a_i + 1:]:
                if a.job_id == b.job_id:
                    continue  # ordered by the chain already
                # Both orders possible only if each window lets it finish after the other starts.
                if hi[a.pos] + d[a.pos] > lo[b.pos] and hi[b.pos] + d[b.pos] > lo[a.pos]:
                    pairs.append((a.pos, b.pos))
    big_m: dict[tuple[int, int], float] = {}
    for p, q in pairs:
        big_m[(p, q)] = hi[p] + d[p] - lo[q]   # largest s_p + d_p - s_q the windows allow
        big_m[(q, p)] = hi[q] + d[q] - lo[p]
    res = {t.pos: t.resource for t in tasks}

    # --- variables
    m = pyo.ConcreteModel(name="hqsched_offline_disjunctive")
    m.T = pyo.Set(initialize=[t.pos for t in tasks])
    m.P = pyo.Set(initialize=pairs, dimen=2)
    m.PM = pyo.Set(initialize=[pq for pq in pairs if multi[res[pq[0]]]], dimen=2)
    m.A = pyo.Set(initialize=[(p, k) for p, ks in assign.items() if multi[res[p]] for k in ks],
                  dimen=2)
    m.s = pyo.Var(m.T, bounds=lambda m, p: (lo[p], hi[p]))
    m.y = pyo.Var(m.P, domain=pyo.Binary)
    m.x = pyo.Var(m.A, domain=pyo.Binary)
    m.z = pyo.Var(m.PM, bounds=(0, 1))

    # --- constraints
    chain_pairs = [(p, q) for c in problem.chains.values() for p, q in zip(c, c[1:])]

    @m.Constraint(chain_pairs)
    def chain(m, p, q):
        return m.s[q] >= m.s[p] + d[p]

    @m.Constraint([p for p in assign if multi[res[p]]])
    def one_server(m, p):
        return sum(m.x[p, k] for k in assign[p]) == 1

    same_rows = [(p, q, k) for p, q in m.PM for k in set(assign[p]) & set(assign[q])]

    @m.Constraint(same_rows)
    def same_server(m, p, q, k):
        return m.z[p, q] >= m.x[p, k] + m.x[q, k] - 1

    def apart(m, p, q):
        # 1 - z relaxes the pair when it uses different servers (multi-server resource only).
        return (1 - m.z[p, q]) if (p, q) in m.PM else 0

    @m.Constraint(m.P)
    def q_after_p(m, p, q):
        return m.s[q] >= m.s[p] + d[p] - big_m[(p, q)] * (1 - m.y[p, q] + apart(m, p, q))

    @m.Constraint(m.P)
    def p_after_q(m, p, q):
        return m.s[p] >= m.s[q] + d[q] - big_m[(q, p)] * (m.y[p, q] + apart(m, p, q))

    # Valid inequalities (Eastman, Even & Isaacs 1964; Queyranne 1993): on m
    # identical machines, any task set S released at r_S satisfies
    # sum_S d_p C_p >= r_S D + D^2 / (2m) + sum_S d_p^2 / 2 (D = sum_S d_p).
    # S = the resource's tasks of jobs i..k in arrival order (O(jobs^2) rows).
    # They lift the LP bound, which big-M rows alone leave near sum of chain lengths.
    cut_sets = []
    if energy_cuts:
        order = [j.job_id for j in problem.instance.jobs]
        for r, items in busy.items():
            if not items:
                continue
            by_job = {j: [t.pos for t in items if t.job_id == j] for j in order}
            for i in range(len(order)):
                members: list[int] = []
                for k in range(i, len(order)):
                    members = members + by_job[order[k]]
                    if len(members) >= 2 and by_job[order[k]]:
                        cut_sets.append((r, min(lo[p] for p in members), tuple(members)))

    @m.Constraint(range(len(cut_sets)))
    def energy(m, c):
        r, release, members = cut_sets[c]
        total = sum(d[p] for p in members)
        rhs = release * total + total ** 2 / (2 * problem.servers(r)) \
            - 0.5 * sum(d[p] ** 2 for p in members)
        return sum(d[p] * m.s[p] for p in members) >= rhs

    # Interference cuts (single-server resources only; see module docstring).
    # prec(i, t) = 1 iff task i runs before task t on the server, written with
    # the ordering variable of the pair or, when the windows fix the order, as
    # a constant. For consecutive busy tasks a, b of one job on a one-server
    # resource, every other task i on it lies before a, between a and b, or
    # after b; those between fill the gap: s_b >= s_a + d_a + sum_i d_i
    # (prec(i, b) - prec(i, a)), and prec(i, a) <= prec(i, b).
    pair_set = set(pairs)

    def prec(i, t):
        if (i, t) in pair_set:
            return m.y[i, t]
        if (t, i) in pair_set:
            return 1 - m.y[t, i]
        return 1.0 if hi[i] + d[i] <= lo[t] or (hi[t] + d[t] > lo[i] and lo[i] < lo[t]) else 0.0

    gap_rows, mono_rows = [], []
    if interference_cuts:
        for r, items in busy.items():
            if problem.servers(r) != 1 or not items:
                continue
            for j, job_chain in problem.chains.items():
                mine = [p for p in job_chain if res[p] == r and d[p] > 0]
                others = [t.pos for t in items if t.job_id != j]
                for a, b in zip(mine, mine[1:]):
                    gap_rows.append((a, b, tuple(others)))
                    for i in others:
                        if ((i, a) in pair_set or (a, i) in pair_set) and \
                                ((i, b) in pair_set or (b, i) in pair_set):
                            mono_rows.append((i, a, b))

    @m.Constraint(range(len(gap_rows)))
    def interference(m, c):
        a, b, others = gap_rows[c]
        terms = [(prec(i, a), prec(i, b), d[i]) for i in others]
        return m.s[b] >= m.s[a] + d[a] + sum(di * (pb - pa) for pa, pb, di in terms)

    @m.Constraint(range(len(mono_rows)))
    def interference_order(m, c):
        i, a, b = mono_rows[c]
        return prec(i, a) <= prec(i, b)

    # Subset cuts: sum_{j in G} w_j delta_j >= LB(G), LB(G) a proven lower
    # bound on the optimum of the sub-instance of the jobs in G (restricting
    # any schedule to G's tasks leaves a feasible schedule of that instance).
    arrival_of = {j.job_id: j.arrival_s for j in problem.instance.jobs}
    cuts_g = [(tuple(g), lb) for g, lb in subset_bounds if all(j in problem.chains for j in g)]

    @m.Constraint(range(len(cuts_g)))
    def subset(m, c):
        g, lb = cuts_g[c]
        return sum((tasks[problem.chains[j][-1]].weight if weighted else 1)
                   * (m.s[problem.chains[j][-1]] + d[problem.chains[j][-1]] - arrival_of[j])
                   for j in g) >= lb

    # --- objective
    if objective == "delays":
        lasts = [c[-1] for c in problem.chains.values()]
        arrival = {j.job_id: j.arrival_s for j in problem.instance.jobs}
        m.obj = pyo.Objective(expr=sum(
            (tasks[p].weight if weighted else 1) * (m.s[p] + d[p] - arrival[tasks[p].job_id])
            for p in lasts), sense=pyo.minimize)
    elif objective == "none":
        m.obj = pyo.Objective(expr=0.0 * m.s[0] if len(tasks) else 0.0, sense=pyo.minimize)
    else:
        raise ValueError(f"objective must be 'delays' or 'none', got {objective!r}")
    return m, ModelInfo(multi=multi, assign=assign, infeasible_windows=empty)


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
                        key=lambda p: (problem.tasks[p].head_s, problem.tasks[p].job_id,
                                       problem.tasks[p].index))
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
