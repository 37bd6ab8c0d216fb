"""Exact branch and bound for the offline sum of (weighted) delays with ONE classical server.

Scope: ``classical_servers == 1``, any ``quantum_servers >= 1``, weighted or
not (MODEL.md, "Offline problem"). Compiled with numba (``@njit(cache=True)``);
everything also runs as plain Python under ``NUMBA_DISABLE_JIT=1``.

Search (Giffler-Thompson style chronological branching)
-------------------------------------------------------
A node is a partial schedule summarised by: for each job j the index k_j of
its next unscheduled task and its ready time r_j (end of its last scheduled
task, or its arrival), the classical server's free time fC, the sorted free
times fQ of the Q identical quantum computers, and the cost of finished jobs.
A zero-length task occupies no server (as in checker.py / repair.py), so it
is started at its ready time as soon as it becomes next ("auto-advance").

At a node, each unfinished job's next task has earliest start
est_j = max(r_j, earliest free server of its resource) and completion
ect_j = est_j + d_j (d_j > 0). Choose a resource R* and let c* be its next
task of least ect; f the free time of its earliest-free server m*;
K = {next tasks j on R*: est_j < ect_c*}. One child per j in K: j starts at
est_j on m*. R* must satisfy the GUARD: no task of R* that is not next in its
chain can start before ect_c* (its job's next task is on the other resource
and ends no earlier than its ect; so the guard is: for every such job,
est + chain up to its first positive R*-task >= ect_c*). The resource of the
globally least ect always satisfies it (classic Giffler-Thompson, ``rule=0``);
``rule=1`` (default) takes the resource with the smaller conflict set among
those satisfying the guard (fewer children; measured in the benchmark).

Completeness (every feasible schedule S is matched or beaten task by task).
Say S is *compatible* with a node P if every remaining task of job j starts
in S at or after r_j and the remaining tasks of each resource fit on its
servers after their free times. Let a be the remaining positive R*-task with
the smallest start s_a in S (s_a >= f: every server of R* is free only from
>= f).
 - s_a < ect_c*: by the guard a is a next task, and est_a <= s_a < ect_c*,
   so a is in K. Move a to [est_a, est_a + d_a) on m* and swap the rest of
   the two server lanes (m*'s later tasks go to a's server m_a: they start
   >= s_a >= free(m_a); m_a's later tasks go to m*: they start
   >= s_a + d_a >= est_a + d_a).
 - s_a >= ect_c*: every remaining R*-task starts >= ect_c* in S. Move c* to
   [est_c*, ect_c*) on m*; m*'s other tasks start >= ect_c*. c* is in K.
Either way the modified schedule S' is compatible with a child and no task of
S' ends later than in S. By induction over the depth the search reaches a
complete schedule with every completion <= S's, hence cost <= S's for the
(regular) sum of weighted completion times. Ties: K uses a strict '<' and the
case split s_a < ect / s_a >= ect covers ties exactly. Zero-length tasks
started at their ready time are never later than in S either. (Without the
guard, ``rule=1`` misses optima: a task whose predecessor is still
unscheduled may start before ect_c* in S; the random cross-checks found it.)

Dominance memo: two nodes with the same vector k are compared on
(r_j for unfinished j, fC, sorted fQ, cost). If a stored node is <= in every
component, every completion of the new node is a completion of the stored one
(machines matched by rank of free time) with the same times and no larger
cost; the stored node was explored before (same depth, so not an ancestor),
so the new node is pruned. A new node that dominates a stored one replaces it.

Lower bound at a node (valid for weighted costs; ``bound_level``)
----------------------------------------------------------------
cost of finished jobs + sum_j w_j (C_j - a_j) over unfinished jobs, C_j bounded:

Level 0, own chain: C_j >= e_j = est_j + (remaining chain length of j).

U = unstarted jobs whose first task is a positive classical "pre" p_j;
A = the other unfinished jobs. Blocking lemma (one server, non-preemptive):
if a pre occupies [s, s + p), a classical task y of job i either ends <= s or
starts >= s + p. Let y* be i's first remaining classical task whose earliest
end (own chain) is > s. All of i's classical tasks ending <= s precede y*, so
the first one that does not end <= s is y* or earlier, and
C_i >= max(e_i, s + p + (chain length from y*)) =: f_i(s, p)   (_a_part).

Level 1: let s be the start of the first U-pre (s >= s0 = max(fC, min_U a_j)).
A-jobs pay f_i(s, p_min). U-jobs: every pre starts >= s, so with w_min the
smallest U weight, sum_U w_j C_j >= w_min (SRPT sum of pre completions with
releases max(a_j, s), Schrage 1968, + the tails after the pres)
+ sum_U (w_j - w_min)(max(a_j, s) + chain length)   (_u_part).
Minimise over s: between consecutive breakpoints (s0 and the earliest ends of
A-jobs' classical tasks) the total is non-decreasing in s, so the minimum over
the breakpoints is a valid bound.

Level 2 (_lookahead): also minimise over which U job j1 runs the first pre
(at S1 >= max(a_j1, fC), A-jobs pay f_i(S1, p_j1)) and over the start S2 of
the second pre (>= E1 = S1 + p_j1): j1 pays f_j1(S2, p_min of the others),
the other U jobs the level-1 U part from S2. Breakpoints as above; the
candidates for S2 are E1 and the earliest ends of j1's classical tail tasks.

Level 3 (sequence relaxation, _vfun): the U part is replaced by
V_U(s) = min over orders of U's pres and starts (each >= s, >= its arrival,
>= the previous pre's end) of sum_j w_j (C_j - a_j), where each job pays
f_j(start of the next pre, p_min of the jobs after it) (its own chain only if
it is last). Valid: in any completion, each job is blocked at least by the
pre that follows its own. V is computed by recursion over (set, start):
for a fixed order the next start can be taken at its lower bound or at a
breakpoint of the previous job's f, which is what the recursion enumerates.
V_U(s) is non-decreasing in s (the feasible set shrinks), so evaluating it at
s floored to a grid (step >= 0.02 s, memo table SeqTable.tab[mask, grid]) is still a
lower bound; the grid costs at most ~|U| * step per level. The node bound is
max(level 1, level 2 with V in place of the U part).

Depth-first, best child (smallest bound) first; a node is pruned when its
bound >= incumbent - 1e-9 * max(1, incumbent), so "optimal" means optimal up
to that relative tolerance. On a time limit the bound returned is the minimum
of the incumbent and of the bounds of all open nodes on the stack.

Code: the compiled functions take the instance as ``Jobs``, the nodes of the
current path as ``Nodes`` (one row per depth), their children as ``Children``,
the started tasks as ``Decisions``, the memo as ``Memo``, the V table as
``SeqTable`` (all named tuples of arrays) and the search's settings and
counters as one record of the structured dtype ``CONTROL``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np
from numba import njit, objmode

from hqsched.compiled import key_caches_on_sources
from hqsched.instances.schedule import Schedule

from .checker import check_schedule
from .options import BnbOptions
from .problem import OfflineProblem, Status
from .repair import exact_schedule, list_schedule

INF = 1e300
I8, F8 = np.int64, np.float64

# ----------------------------------------------------------------------------
# Compiled state. The jitted functions call only jitted functions of this file;
# key_caches_on_sources (bottom of the file) keys their disk cache on every
# project file they use all the same, so moving a helper elsewhere stays safe.
# ----------------------------------------------------------------------------

#: Control of one search (a one-row array; the compiled code works on its
#: record ``control[0]``). Settings are fixed for the search; the state is
#: carried between the driver's compiled calls (``_search`` returns every
#: ``budget`` nodes, and as soon as it reads the clock past the deadline).
CONTROL = np.dtype([
    # settings
    ("use_memo", np.bool_),     # dominance memo on
    ("rule", I8),               # branching resource: 0 classic Giffler-Thompson, 1 guarded smaller set
    ("bound_level", I8),        # 0..3, module docstring "Lower bound at a node"
    ("rel_tol", F8),            # prune when bound >= incumbent - rel_tol * max(1, |incumbent|)
    ("memo_scan", I8),          # memo entries scanned per hash bucket at most
    # state
    ("depth", I8),              # node whose children are being explored (0 = root)
    ("nodes", I8),              # nodes visited (children applied)
    ("leaves", I8),             # complete schedules reached
    ("done", np.bool_),         # tree exhausted: the incumbent is optimal
    ("incumbent", F8),          # best objective known (s; INF = none)
    ("best_len", I8),           # decisions of the best schedule the search found (0 = none yet)
    ("memo_used", I8),          # memo entries filled
    ("memo_pruned", I8),        # nodes pruned by dominance
    # the clock (``_tick``): the search stops once it reads the clock past the deadline
    ("deadline", F8),           # a time.perf_counter() value (s)
    ("work", I8),               # work counted so far (units of about one inner-loop step)
    ("next_check", I8),         # value of ``work`` at which the clock is read next
    ("stride", I8),             # work units between two reads of the clock
    ("last_check", F8),         # time.perf_counter() at the last read (s)
    ("stopped", np.bool_),      # the clock was read past the deadline
    ("cut", np.bool_),          # an expansion was abandoned at the deadline: the search is over
])

#: Target interval between two reads of the clock inside the search (s): one read
#: (``numba.objmode``) costs ~0.5 us, so reading every ~5 ms costs ~0.01 %, and the
#: deadline is overshot by about one interval. Work is counted inside the bound
#: computations too (``_tick``), so a slow node (~1 s at 300 jobs) cannot delay the read.
CLOCK_INTERVAL_S = 0.005

#: Seconds the root node's bound may run past the deadline (one bound takes ~0.15 s at
#: 300 jobs, bound level 2): the margin a time limit may be overshot by, at most.
ROOT_BOUND_GRACE_S = 0.15

#: Entries scanned per memo bucket before a node is stored without comparison.
MEMO_SCAN = 64


class Jobs(NamedTuple):
    """The instance as arrays (J jobs, T = longest chain). Times in seconds."""

    dur: np.ndarray     # [J, T] task durations
    res: np.ndarray     # [J, T] resource: 0 classical, 1 quantum
    rem: np.ndarray     # [J, T + 1] chain length from task t to the end
    ntask: np.ndarray   # [J] tasks in the chain
    arr: np.ndarray     # [J] arrival
    wt: np.ndarray      # [J] weight (1 when unweighted)
    lastc: np.ndarray   # [J] index of the last positive classical task (-1: none)
    off: np.ndarray     # [2, J, T] chain time from the start of t to the first positive
    #                     task on resource R after t (INF: none); the guard of _expand


class Nodes(NamedTuple):
    """The nodes on the current path, one row per depth d (module docstring "Search")."""

    k: np.ndarray       # [D, J] next unscheduled task of each job
    r: np.ndarray       # [D, J] ready time of each job (s)
    fC: np.ndarray      # [D] free time of the classical server (s)
    fQ: np.ndarray      # [D, Q] free times of the quantum computers, sorted (s)
    cost: np.ndarray    # [D] weighted delays of the finished jobs (s)


class Children(NamedTuple):
    """Children of each node on the path, best bound first."""

    job: np.ndarray     # [D, J] job whose next task the child starts
    lb: np.ndarray      # [D, J] the child's lower bound (s)
    n: np.ndarray       # [D] children of the node
    ptr: np.ndarray     # [D] next child to explore


class Decisions(NamedTuple):
    """Started positive tasks by depth: (job, task index, start in s)."""

    job: np.ndarray
    task: np.ndarray
    start: np.ndarray


class Memo(NamedTuple):
    """Dominance memo: entries chained in hash buckets of the vector k."""

    bucket: np.ndarray  # [H] first entry of each bucket (-1: empty)
    k: np.ndarray       # [E, J] the entry's next-task vector
    t: np.ndarray       # [E, J + Q + 2] its r_j, fC, fQ (Q values), cost
    next: np.ndarray    # [E] next entry in the bucket (-1: end)


class SeqTable(NamedTuple):
    """Memo of the sequence relaxation V (bound level 3): tab[mask, g] is
    V at s = origin + g * step (NaN: not computed yet)."""

    tab: np.ndarray
    origin: float       # s
    step: float         # s


# ----------------------------------------------------------------------------
# Lower bounds (module docstring, "Lower bound at a node")
# ----------------------------------------------------------------------------

@njit(cache=True)
def _srpt(rel, p, m):
    """Preemptive SRPT sum of completion times of m jobs (rel, p) on one machine."""
    order = np.argsort(rel[:m])
    left = np.empty(m)
    for i in range(m):
        left[i] = p[order[i]]
    done = np.zeros(m, dtype=np.bool_)
    t = -INF
    total = 0.0
    nxt = 0
    finished = 0
    while finished < m:
        # the available job with the least remaining work
        best = -1
        for i in range(nxt):
            if not done[i] and (best < 0 or left[i] < left[best]):
                best = i
        if best < 0:
            t = max(t, rel[order[nxt]])
            while nxt < m and rel[order[nxt]] <= t:
                nxt += 1
            continue
        nrel = rel[order[nxt]] if nxt < m else INF
        if t + left[best] <= nrel:
            t += left[best]
            left[best] = 0.0
            done[best] = True
            finished += 1
            total += t
        else:
            left[best] -= nrel - t
            t = nrel
        while nxt < m and rel[order[nxt]] <= t:
            nxt += 1
    return total


# _is_u, _next_classical, _gtail and _grid are inlined by numba (inline="always"):
# called with the ``Jobs`` tuple they would otherwise double the search time (6x3).
@njit(cache=True, inline="always")
def _is_u(k, j, jb):
    """Unstarted job whose first task is a positive classical task (a "pre")."""
    return k[j] == 0 and jb.res[j, 0] == 0 and jb.dur[j, 0] > 0


@njit(cache=True, inline="always")
def _next_classical(j, y, jb):
    """Index of job j's first positive classical task at or after y (> lastc[j] if none)."""
    while y <= jb.lastc[j] and not (jb.res[j, y] == 0 and jb.dur[j, y] > 0):
        y += 1
    return y


@njit(cache=True, inline="always")
def _gtail(i, t0, e_i, s, jb):
    """Chain length from the first positive classical task y >= t0 of job i whose
    earliest end (e_i - chain after y) is > s; -INF if there is none."""
    for y in range(t0, jb.lastc[i] + 1):
        if jb.res[i, y] == 0 and jb.dur[i, y] > 0 and e_i - jb.rem[i, y + 1] > s:
            return jb.rem[i, y]
    return -INF


@njit(cache=True)
def _a_part(k, s, p, cost, e, jb):
    """cost + sum over started jobs of w_i (C_i - a_i) when a pre occupies [s, s + p)."""
    tot = cost
    for i in range(k.shape[0]):
        if k[i] >= jb.ntask[i] or _is_u(k, i, jb):
            continue
        tot += jb.wt[i] * (max(e[i], s + p + _gtail(i, k[i], e[i], s, jb)) - jb.arr[i])
    return tot


@njit(cache=True)
def _a_cands(k, lo, e, cands, jb):
    """lo and the earliest ends > lo of the started jobs' classical tasks; returns count."""
    nc = 0
    cands[nc] = lo
    nc += 1
    for i in range(k.shape[0]):
        if k[i] >= jb.ntask[i] or _is_u(k, i, jb):
            continue
        for y in range(k[i], jb.lastc[i] + 1):
            if jb.res[i, y] == 0 and jb.dur[i, y] > 0:
                ep = e[i] - jb.rem[i, y + 1]
                if ep > lo:
                    cands[nc] = ep
                    nc += 1
    return nc


@njit(cache=True)
def _u_part(k, skip, s, jb, rel, p):
    """Unstarted jobs other than ``skip``, all pres starting >= s: weighted SRPT bound
    of sum w_j (C_j - a_j) (w_min * (SRPT + tails) + (w_j - w_min) * own chain).
    ``rel`` and ``p`` are scratch arrays of at least |U| entries."""
    wmin = INF
    for j in range(k.shape[0]):
        if j != skip and _is_u(k, j, jb):
            wmin = min(wmin, jb.wt[j])
    m = 0
    tot = 0.0
    sumtau = 0.0
    for j in range(k.shape[0]):
        if j == skip or not _is_u(k, j, jb):
            continue
        rj = max(jb.arr[j], s)
        rel[m] = rj
        p[m] = jb.dur[j, 0]
        m += 1
        sumtau += jb.rem[j, 1]
        tot += (jb.wt[j] - wmin) * (rj + jb.rem[j, 0]) - jb.wt[j] * jb.arr[j]
    if m == 0:
        return 0.0
    return tot + wmin * (_srpt(rel, p, m) + sumtau)


@njit(cache=True, inline="always")
def _grid(s, vt):
    """Index of the grid point of the V table at or below time s."""
    return int(math.floor((s - vt.origin) / vt.step))


@njit(cache=True)
def _lower_bound(k, r, fC, fQ, cost, jb, control, vt):
    """Lower bound of the node (k, r, fC, fQ, cost) at the bound level of ``control[0]``;
    the own-chain bound (level 0, always valid) if the deadline stops the computation."""
    ctl = control[0]
    blevel = ctl["bound_level"]
    J = k.shape[0]
    nU = 0
    s0 = INF
    pmin = INF
    for j in range(J):
        if k[j] < jb.ntask[j] and _is_u(k, j, jb):
            nU += 1
            s0 = min(s0, jb.arr[j])
            pmin = min(pmin, jb.dur[j, 0])
    # own-chain bound of every unfinished job
    e = np.empty(J)
    for j in range(J):
        if k[j] >= jb.ntask[j]:
            e[j] = 0.0
            continue
        t = k[j]
        free = fC if jb.res[j, t] == 0 else fQ[0]
        e[j] = max(r[j], free) + jb.rem[j, t]
    own = cost
    for j in range(J):
        if k[j] < jb.ntask[j]:
            own += jb.wt[j] * (e[j] - jb.arr[j])
    if nU == 0 or blevel == 0:
        return own
    s0 = max(s0, fC)
    T = jb.dur.shape[1]
    cands = np.empty(J * T + 1)
    rel = np.empty(nU)
    p = np.empty(nU)
    mask = 0
    for j in range(J):
        if k[j] < jb.ntask[j] and _is_u(k, j, jb):
            mask |= 1 << j
    nc = _a_cands(k, s0, e, cands, jb)
    best = INF
    for c in range(nc):
        if _tick(ctl, J + nU * nU):  # _u_part: O(J) + SRPT O(|U|^2)
            return own
        s = cands[c]
        u = _u_part(k, -1, s, jb, rel, p)
        if blevel >= 3:
            u = max(u, _vfun(mask, _grid(s, vt), vt, jb))
        tot = _a_part(k, s, pmin, cost, e, jb) + u
        if tot < best:
            best = tot
    if blevel >= 2:
        best = max(best, _lookahead(k, fC, cost, e, nU, cands, rel, p, jb, ctl, mask, vt))
        if ctl["stopped"]:  # the lookahead's minimum is over part of its choices only
            return own
    return best


@njit(cache=True, inline="always")
def _vfun(mask, g, vt, jb):
    """Lower bound V_U(s) on sum_{j in U} w_j (C_j - a_j) for the unstarted jobs in
    ``mask`` when every pre starts >= s = origin + g * step (see the module docstring,
    "sequence relaxation"); memoised in vt.tab[mask, g] (NaN = not computed). Inlined:
    most calls find the value in the table."""
    if mask == 0:
        return 0.0
    G = vt.tab.shape[1]
    if g >= G:
        g = G - 1  # times beyond the horizon: V is non-decreasing, so this is still a bound
    v0 = vt.tab[mask, g]
    if v0 == v0:
        return v0
    return _vfun_fill(mask, g, vt, jb)


@njit(cache=True)
def _vfun_fill(mask, g, vt, jb):
    """Compute and store vt.tab[mask, g] (``_vfun``; mask != 0, g < G)."""
    vtab = vt.tab
    s = vt.origin + g * vt.step
    J = jb.arr.shape[0]
    best = INF
    for j1 in range(J):
        if not (mask >> j1) & 1:
            continue
        rest = mask ^ (1 << j1)
        E1 = max(jb.arr[j1], s) + jb.dur[j1, 0]
        own1 = E1 + jb.rem[j1, 1]
        if rest == 0:
            v = jb.wt[j1] * (own1 - jb.arr[j1])
            if v < best:
                best = v
            continue
        pmin2 = INF
        for j in range(J):
            if (rest >> j) & 1:
                pmin2 = min(pmin2, jb.dur[j, 0])
        y = 0
        while True:
            if y == 0:
                S2 = E1
            else:
                S2 = own1 - jb.rem[j1, y + 1]
            c1 = max(own1, S2 + pmin2 + _gtail(j1, 1, own1, S2, jb))
            part = jb.wt[j1] * (c1 - jb.arr[j1])
            if part < best:
                v = part + _vfun(rest, _grid(S2, vt), vt, jb)
                if v < best:
                    best = v
            y = _next_classical(j1, y + 1, jb)
            if y > jb.lastc[j1]:
                break
    vtab[mask, g] = best
    return best


@njit(cache=True)
def _lookahead(k, fC, cost, e, nU, cands, rel, p, jb, ctl, mask, vt):
    """Bound by the choice of the first pre j1 (start S1) and the start S2 of the second.
    ``cands``, ``rel`` and ``p`` are scratch arrays. Returns early (a value that is no
    bound) once the deadline sets ``ctl["stopped"]``."""
    J = k.shape[0]
    blevel = ctl["bound_level"]
    # work of one (S1, S2) pair: _a_part and _gtail O(J), _u_part O(J + |U|^2) below level 3
    pair_work = J if blevel >= 3 else J + nU * nU
    best = INF
    for j1 in range(J):
        if not _is_u(k, j1, jb):
            continue
        p1 = jb.dur[j1, 0]
        tau1 = jb.rem[j1, 1]
        pmin2 = INF
        for j in range(J):
            if j != j1 and _is_u(k, j, jb):
                pmin2 = min(pmin2, jb.dur[j, 0])
        lo = max(jb.arr[j1], fC)
        nc = _a_cands(k, lo, e, cands, jb)
        for c in range(nc):
            if _tick(ctl, pair_work * (1 + jb.lastc[j1])):
                return best
            S1 = cands[c]
            totA = _a_part(k, S1, p1, cost, e, jb)
            E1 = S1 + p1
            own1 = E1 + tau1
            if nU == 1:
                v = totA + jb.wt[j1] * (own1 - jb.arr[j1])
                if v < best:
                    best = v
                continue
            # S2 (start of the second pre) in {E1} and the earliest ends of j1's
            # classical tail tasks: between them the total is non-decreasing.
            y = 0
            while True:
                if y == 0:
                    S2 = E1
                else:
                    S2 = own1 - jb.rem[j1, y + 1]
                g = _gtail(j1, 1, own1, S2, jb)
                cj1 = max(own1, S2 + pmin2 + g)
                if blevel >= 3:
                    u = _vfun(mask ^ (1 << j1), _grid(S2, vt), vt, jb)
                else:
                    u = _u_part(k, j1, S2, jb, rel, p)
                v = totA + jb.wt[j1] * (cj1 - jb.arr[j1]) + u
                if v < best:
                    best = v
                y = _next_classical(j1, y + 1, jb)
                if y > jb.lastc[j1]:
                    break
    return best


# ----------------------------------------------------------------------------
# Search (module docstring, "Search" and "Dominance memo")
# ----------------------------------------------------------------------------

@njit(cache=True)
def _apply(d, j, nd, jb):
    """Copy node d to d+1 and start job j's next task there; return its start (s)."""
    J = nd.k.shape[1]
    Q = nd.fQ.shape[1]
    for i in range(J):
        nd.k[d + 1, i] = nd.k[d, i]
        nd.r[d + 1, i] = nd.r[d, i]
    for q in range(Q):
        nd.fQ[d + 1, q] = nd.fQ[d, q]
    nd.fC[d + 1] = nd.fC[d]
    nd.cost[d + 1] = nd.cost[d]
    t = nd.k[d + 1, j]
    if jb.res[j, t] == 0:
        s = max(nd.r[d + 1, j], nd.fC[d + 1])
        nd.fC[d + 1] = s + jb.dur[j, t]
    else:
        s = max(nd.r[d + 1, j], nd.fQ[d + 1, 0])
        v = s + jb.dur[j, t]
        q = 0
        while q + 1 < Q and nd.fQ[d + 1, q + 1] < v:  # keep fQ sorted
            nd.fQ[d + 1, q] = nd.fQ[d + 1, q + 1]
            q += 1
        nd.fQ[d + 1, q] = v
    nd.r[d + 1, j] = s + jb.dur[j, t]
    t += 1
    while t < jb.ntask[j] and jb.dur[j, t] == 0.0:  # zero-length tasks: auto-advance
        t += 1
    nd.k[d + 1, j] = t
    if t >= jb.ntask[j]:
        nd.cost[d + 1] += jb.wt[j] * (nd.r[d + 1, j] - jb.arr[j])
    return s


@njit(cache=True)
def _branch_resource(d, nd, jb, rule):
    """The resource R* to branch on at node d (0 classical, 1 quantum) and its least ect."""
    J = nd.k.shape[1]
    # Per resource: the minimal ect, and the guard (see the module docstring):
    # a resource R may be branched on only if no task of R that is not next in
    # its chain can start before ect_R; guard_R is the earliest such start over
    # jobs whose next task is on the other resource.
    ectC = INF
    ectQ = INF
    guardC = INF
    guardQ = INF
    for j in range(J):
        t = nd.k[d, j]
        if t >= jb.ntask[j]:
            continue
        if jb.res[j, t] == 0:
            est = max(nd.r[d, j], nd.fC[d])
            ectC = min(ectC, est + jb.dur[j, t])
            guardQ = min(guardQ, est + jb.off[1, j, t])
        else:
            est = max(nd.r[d, j], nd.fQ[d, 0])
            ectQ = min(ectQ, est + jb.dur[j, t])
            guardC = min(guardC, est + jb.off[0, j, t])
    nC = 0
    nQ = 0
    for j in range(J):
        t = nd.k[d, j]
        if t >= jb.ntask[j]:
            continue
        if jb.res[j, t] == 0:
            if max(nd.r[d, j], nd.fC[d]) < ectC:
                nC += 1
        else:
            if max(nd.r[d, j], nd.fQ[d, 0]) < ectQ:
                nQ += 1
    okC = nC > 0 and ectC <= guardC
    okQ = nQ > 0 and ectQ <= guardQ
    if rule == 0 or not (okC and okQ):
        # classic Giffler-Thompson: the resource of the globally earliest completion
        R = 0 if ectC <= ectQ else 1
    else:
        if nC < nQ:
            R = 0
        elif nQ < nC:
            R = 1
        else:
            R = 0 if ectC <= ectQ else 1
    return R, (ectC if R == 0 else ectQ)


@njit(cache=True)
def _expand(d, nd, ch, jb, control, vt):
    """Children of node d (conflict set on the branching resource), each with its bound,
    best first. False if the deadline stopped it: the children are then incomplete."""
    ctl = control[0]
    J = nd.k.shape[1]
    R, ect = _branch_resource(d, nd, jb, ctl["rule"])
    free = nd.fC[d] if R == 0 else nd.fQ[d, 0]
    n = 0
    for j in range(J):
        t = nd.k[d, j]
        if t >= jb.ntask[j] or jb.res[j, t] != R:
            continue
        if max(nd.r[d, j], free) < ect:
            _apply(d, j, nd, jb)
            lb = _lower_bound(nd.k[d + 1], nd.r[d + 1], nd.fC[d + 1], nd.fQ[d + 1], nd.cost[d + 1],
                              jb, control, vt)
            if _tick(ctl, J):
                return False
            # insertion, best first
            i = n
            while i > 0 and ch.lb[d, i - 1] > lb:
                ch.lb[d, i] = ch.lb[d, i - 1]
                ch.job[d, i] = ch.job[d, i - 1]
                i -= 1
            ch.lb[d, i] = lb
            ch.job[d, i] = j
            n += 1
    ch.n[d] = n
    ch.ptr[d] = 0
    return True


@njit(cache=True)
def _memo_store(e, d, nd, memo):
    """Write node d's r, fC, fQ and cost into memo entry e."""
    J = nd.k.shape[1]
    Q = nd.fQ.shape[1]
    for j in range(J):
        memo.t[e, j] = nd.r[d, j]
    memo.t[e, J] = nd.fC[d]
    for q in range(Q):
        memo.t[e, J + 1 + q] = nd.fQ[d, q]
    memo.t[e, J + 1 + Q] = nd.cost[d]


@njit(cache=True)
def _memo_check(d, nd, ntask, memo, ctl):
    """True if node d is dominated by a stored node; else store it (or replace one it dominates)."""
    J = nd.k.shape[1]
    Q = nd.fQ.shape[1]
    H = memo.bucket.shape[0]
    h = np.int64(1469598103934665603)  # FNV-1a of the vector k
    for j in range(J):
        h = (h ^ np.int64(nd.k[d, j])) * np.int64(1099511628211)
    b = np.int64(h & (H - 1))
    e = memo.bucket[b]
    scanned = 0
    scan = ctl["memo_scan"]
    while e >= 0 and scanned < scan:
        scanned += 1
        same = True
        for j in range(J):
            if memo.k[e, j] != nd.k[d, j]:
                same = False
                break
        if same:
            le = True   # stored <= new
            ge = True   # new <= stored
            for j in range(J):
                if nd.k[d, j] < ntask[j]:
                    a = memo.t[e, j]
                    x = nd.r[d, j]
                    if a > x:
                        le = False
                    if x > a:
                        ge = False
            a = memo.t[e, J]
            x = nd.fC[d]
            if a > x:
                le = False
            if x > a:
                ge = False
            for q in range(Q):
                a = memo.t[e, J + 1 + q]
                x = nd.fQ[d, q]
                if a > x:
                    le = False
                if x > a:
                    ge = False
            a = memo.t[e, J + 1 + Q]
            x = nd.cost[d]
            if a > x:
                le = False
            if x > a:
                ge = False
            if le:
                ctl["memo_pruned"] += 1
                return True
            if ge:
                _memo_store(e, d, nd, memo)
                return False
        e = memo.next[e]
    n = ctl["memo_used"]
    if n < memo.k.shape[0]:
        for j in range(J):
            memo.k[n, j] = nd.k[d, j]
        _memo_store(n, d, nd, memo)
        memo.next[n] = memo.bucket[b]
        memo.bucket[b] = n
        ctl["memo_used"] = n + 1
    return False


@njit(cache=True)
def _read_clock(ctl):
    """Read ``time.perf_counter()``: set ``ctl["stopped"]`` once it is past
    ``ctl["deadline"]``, and adapt ``ctl["stride"]`` (work units between reads) so that
    reads come every ~``CLOCK_INTERVAL_S``.

    Why: numba's nopython mode has no clock, and a chunk of nodes can take minutes on a
    large instance (one node expands and bounds up to J children, one bound ~0.2 s at
    300 jobs), so neither the driver's check between chunks nor a check between nodes
    keeps a time limit. The clock is read through ``objmode``; the stride doubles while
    reads come faster than the interval and halves (down to one unit) when they come
    slower. Reading the clock changes no decision of the search: node counts are the
    same unless the deadline is hit."""
    with objmode(now="float64"):
        now = time.perf_counter()
    elapsed = now - ctl["last_check"]
    ctl["last_check"] = now
    if elapsed < 0.5 * CLOCK_INTERVAL_S:
        ctl["stride"] = min(ctl["stride"] * 2, 1 << 40)
    elif elapsed > 2.0 * CLOCK_INTERVAL_S:
        ctl["stride"] = max(ctl["stride"] // 2, 1)
    ctl["next_check"] = ctl["work"] + ctl["stride"]
    if now > ctl["deadline"]:
        ctl["stopped"] = True


@njit(cache=True, inline="always")
def _tick(ctl, work):
    """Count ``work`` units (about one inner-loop step each: an SRPT over |U| jobs
    counts |U|^2) and read the clock when the stride is used up (``_read_clock``).
    True once the deadline has passed. Inlined: a tick is an add and a compare."""
    ctl["work"] += work
    if ctl["work"] >= ctl["next_check"]:
        _read_clock(ctl)
    return ctl["stopped"]


@njit(cache=True)
def _search(control, nd, ch, path, best, memo, jb, vt, budget, deadline):
    """Resumable depth-first search from the record ``control[0]`` (``CONTROL``):
    returns after ``budget`` node visits, when the tree is exhausted (``done``) or
    once the clock is past ``deadline`` (a ``time.perf_counter()`` value, s; read
    inside the node loop and the bound computations, ``_tick``). ``path`` holds the
    decisions of the current path, ``best`` those of the incumbent the search found.
    A node whose expansion the deadline cut short goes back on the stack (its bound
    stays open) and sets ``ctl["cut"]``: the search then never resumes, since the memo
    already holds that node and would prune its second visit."""
    ctl = control[0]
    if ctl["cut"]:
        return
    J = nd.k.shape[1]
    ctl["deadline"] = deadline
    ctl["stopped"] = False
    ctl["next_check"] = ctl["work"]  # read the clock at once: the deadline may be past
    visits = 0
    while visits < budget:
        if _tick(ctl, J):
            return
        d = ctl["depth"]
        if ch.ptr[d] >= ch.n[d]:
            if d == 0:
                ctl["done"] = True
                return
            ctl["depth"] = d - 1
            continue
        c = ch.ptr[d]
        ch.ptr[d] = c + 1
        ub = ctl["incumbent"]
        tol = ctl["rel_tol"] * max(1.0, abs(ub))
        if ch.lb[d, c] >= ub - tol:
            ch.ptr[d] = ch.n[d]  # children are sorted: all the rest are pruned too
            continue
        j = ch.job[d, c]
        t = nd.k[d, j]
        s = _apply(d, j, nd, jb)
        path.job[d] = j
        path.task[d] = t
        path.start[d] = s
        visits += 1
        ctl["nodes"] += 1
        finished = True
        for i in range(J):
            if nd.k[d + 1, i] < jb.ntask[i]:
                finished = False
                break
        if finished:
            ctl["leaves"] += 1
            if nd.cost[d + 1] < ub:
                ctl["incumbent"] = nd.cost[d + 1]
                for x in range(d + 1):
                    best.job[x] = path.job[x]
                    best.task[x] = path.task[x]
                    best.start[x] = path.start[x]
                ctl["best_len"] = d + 1
            continue
        if ctl["use_memo"]:
            if _memo_check(d + 1, nd, jb.ntask, memo, ctl):
                continue
        # Until its expansion is complete the node stays on the stack (its bound open) and
        # the search counts as cut, so a deadline or a Ctrl-C inside leaves a sound state.
        ch.ptr[d] = c
        ctl["cut"] = True
        if not _expand(d + 1, nd, ch, jb, control, vt):
            return
        ch.ptr[d] = c + 1
        ctl["cut"] = False
        ctl["depth"] = d + 1


# ----------------------------------------------------------------------------
# Python driver
# ----------------------------------------------------------------------------

@dataclass
class BnbResult:
    """Outcome of ``branch_and_bound``. ``objective`` is recomputed from the
    returned checked ``schedule``; ``bound`` is a proven lower bound (equal to
    the objective when ``status == "optimal"``); ``root_bound`` the root
    node's bound; ``nodes`` the nodes visited; ``time_s`` wall-clock seconds
    (including numba compilation if the cache is cold); ``memo_pruned`` /
    ``memo_size`` the nodes pruned by dominance and the memo entries used; ``compile_s``
    the seconds spent compiling the kernels (or loading them from the cache) before the
    clock of the time limit started."""

    status: Status              # "optimal", "feasible" (time limit), "time_limit_no_incumbent"
    objective: float
    bound: float
    schedule: Schedule | None
    nodes: int
    time_s: float
    root_bound: float
    memo_pruned: int = 0
    memo_size: int = 0
    compile_s: float = 0.0


def _job_arrays(problem: OfflineProblem, weighted: bool) -> Jobs:
    """The instance in the array form of ``Jobs``, jobs in instance order."""
    jobs = list(problem.instance.jobs)
    J = len(jobs)
    T = max(len(problem.chains[j.job_id]) for j in jobs)
    dur = np.zeros((J, T))
    res = np.zeros((J, T), dtype=I8)
    rem = np.zeros((J, T + 1))
    ntask = np.zeros(J, dtype=I8)
    arr = np.zeros(J)
    wt = np.zeros(J)
    lastc = np.full(J, -1, dtype=I8)
    for j, job in enumerate(jobs):
        chain = problem.chains[job.job_id]
        ntask[j] = len(chain)
        arr[j] = job.arrival_s
        wt[j] = float(job.priority) if weighted else 1.0
        for t, pos in enumerate(chain):
            task = problem.tasks[pos]
            dur[j, t] = task.duration_s
            res[j, t] = 0 if task.resource == "C" else 1
            if task.resource == "C" and task.duration_s > 0:
                lastc[j] = t
        for t in range(len(chain) - 1, -1, -1):
            rem[j, t] = rem[j, t + 1] + dur[j, t]
    off = np.full((2, J, T), INF)
    for j in range(J):
        for t in range(int(ntask[j])):
            acc = dur[j, t]
            for u in range(t + 1, int(ntask[j])):
                if dur[j, u] > 0 and off[res[j, u], j, t] >= INF:
                    off[res[j, u], j, t] = acc
                acc += dur[j, u]
    return Jobs(dur, res, rem, ntask, arr, wt, lastc, off)


def _seq_table(jb: Jobs, bound_level: int, max_entries: int = 1 << 22) -> tuple[SeqTable, int]:
    """Memo table of the sequence relaxation V (bound level 3) and its grid over
    [min arrival - 1, horizon]: 2^J masks x grid points (step >= 0.02 s). Beyond
    16 jobs the table would not fit: level 3 falls back to 2. Returns the table
    and the bound level to use."""
    J = jb.arr.shape[0]
    if bound_level < 3 or J > 16:
        return SeqTable(np.full((1, 1), np.nan), 0.0, 1.0), min(bound_level, 2)
    origin = float(jb.arr.min()) - 1.0
    horizon = float(jb.arr.max()) + float(jb.rem[:, 0].sum()) + 1.0
    points = max(1, max_entries >> J)
    step = max(0.02, (horizon - origin) / points)
    G = int(math.ceil((horizon - origin) / step)) + 2
    return SeqTable(np.full((1 << J, G), np.nan), origin, step), bound_level


def _root(jb: Jobs) -> tuple[np.ndarray, np.ndarray, float]:
    """The root node's k, r and cost: leading zero-length tasks start at the arrival."""
    J = jb.arr.shape[0]
    k = np.zeros(J, dtype=I8)
    r = jb.arr.copy()
    for j in range(J):
        t = 0
        while t < jb.ntask[j] and jb.dur[j, t] == 0.0:
            t += 1
        k[j] = t  # a job made only of zero-length tasks finishes at its arrival: delay 0
    return k, r, 0.0


def root_lower_bound(problem: OfflineProblem, weighted: bool = False, bound_level: int = 3) -> float:
    """The bound of the root node (a lower bound on the optimum, s)."""
    _check_problem(problem)
    jb = _job_arrays(problem, weighted)
    k, r, cost = _root(jb)
    fQ = np.full(problem.quantum_servers, -INF)
    vt, bound_level = _seq_table(jb, bound_level)
    control = _control(BnbOptions(), bound_level, INF, deadline=INF)
    return float(_lower_bound(k, r, -INF, fQ, cost, jb, control, vt))


def _check_problem(problem: OfflineProblem) -> None:
    problem.require_identical_qcs("the branch and bound (method bnb)")
    if problem.classical_servers != 1:
        raise ValueError("branch_and_bound handles exactly one classical server (C = 1), "
                         f"got {problem.classical_servers!r}")


def _search_arrays(jb: Jobs, Q: int, memo_entries: int
                   ) -> tuple[Nodes, Children, Decisions, Decisions, Memo]:
    """Zeroed node stack, children, path and best decisions (one row per depth:
    at most one per positive task, plus the root) and the memo."""
    J = jb.arr.shape[0]
    D = int(np.sum(jb.dur > 0)) + 2
    nd = Nodes(np.zeros((D, J), dtype=I8), np.zeros((D, J)), np.zeros(D), np.zeros((D, Q)),
               np.zeros(D))
    ch = Children(np.zeros((D, J), dtype=I8), np.zeros((D, J)), np.zeros(D, dtype=I8),
                  np.zeros(D, dtype=I8))
    path = Decisions(np.zeros(D, dtype=I8), np.zeros(D, dtype=I8), np.zeros(D))
    best = Decisions(np.zeros(D, dtype=I8), np.zeros(D, dtype=I8), np.zeros(D))
    H = 1
    while H < 2 * memo_entries:
        H *= 2
    memo = Memo(np.full(H, -1, dtype=I8), np.zeros((memo_entries, J), dtype=I8),
                np.zeros((memo_entries, J + Q + 2)), np.full(memo_entries, -1, dtype=I8))
    return nd, ch, path, best, memo


def _control(options: BnbOptions, bound_level: int, incumbent: float,
             deadline: float = INF) -> np.ndarray:
    """A one-row ``CONTROL`` array: the options, the root state and the ``deadline`` (a
    time.perf_counter() value, s)."""
    control = np.zeros(1, dtype=CONTROL)
    ctl = control[0]
    ctl["use_memo"] = options.memo
    ctl["rule"] = options.rule
    ctl["bound_level"] = bound_level
    ctl["rel_tol"] = options.rel_tol
    ctl["memo_scan"] = MEMO_SCAN
    ctl["incumbent"] = incumbent
    ctl["deadline"] = deadline
    ctl["stride"] = 1
    ctl["last_check"] = time.perf_counter()
    return control


def _load_kernels(control: np.ndarray, nd: Nodes, ch: Children, path: Decisions,
                  best: Decisions, memo: Memo, jb: Jobs, vt: SeqTable) -> float:
    """Compile (or load from numba's disk cache) the three kernels the driver calls, for
    the types of these arrays, without running them; returns the seconds it took.

    Why: first-call compilation (~20 s cold, ~0.3 s from the cache) cannot be
    interrupted by any deadline, so the time limit excludes it and the result reports
    it apart (``BnbResult.compile_s``)."""
    if not hasattr(_search, "compile"):  # NUMBA_DISABLE_JIT=1: plain Python functions
        return 0.0
    t = time.perf_counter()
    root = (nd.k[0], nd.r[0], nd.fC[0], nd.fQ[0], nd.cost[0])
    for kernel, args in ((_lower_bound, (*root, jb, control, vt)),
                         (_expand, (0, nd, ch, jb, control, vt)),
                         (_search, (control, nd, ch, path, best, memo, jb, vt, 0, 0.0))):
        kernel.compile(tuple(numba.typeof(a) for a in args))
    return time.perf_counter() - t


def _build_schedule(problem: OfflineProblem, jb: Jobs, best: Decisions, n: int) -> Schedule:
    """Exact, checked schedule from the recorded (job, task, start) of positive tasks."""
    starts = [0.0] * len(problem.tasks)
    servers = [0] * len(problem.tasks)
    start_of = {}
    for x in range(n):
        start_of[(int(best.job[x]), int(best.task[x]))] = float(best.start[x])
    for j, job in enumerate(problem.instance.jobs):
        chain = problem.chains[job.job_id]
        ready = job.arrival_s
        for t, pos in enumerate(chain):
            s = start_of.get((j, t), ready) if jb.dur[j, t] > 0 else ready
            starts[pos] = s
            ready = s + jb.dur[j, t]
    # quantum servers: interval-graph colouring by start time
    qfree = [-INF] * problem.quantum_servers
    order = sorted((starts[t.pos], t.pos) for t in problem.tasks
                   if t.resource == "Q" and t.duration_s > 0)
    for s, pos in order:
        m = min(range(len(qfree)), key=lambda i: (qfree[i] > s + 1e-9 * max(1.0, abs(s)), i))
        servers[pos] = m
        qfree[m] = s + problem.tasks[pos].duration_s
    return exact_schedule(problem, starts, servers)


def _open_bound(ctl, ch: Children, upper: float) -> float:
    """Least bound of the open nodes (unexplored children on the path) and ``upper``."""
    bound = upper
    for d in range(int(ctl["depth"]) + 1):
        for c in range(int(ch.ptr[d]), int(ch.n[d])):
            bound = min(bound, float(ch.lb[d, c]))
    return bound


def branch_and_bound(problem: OfflineProblem, weighted: bool = False,
                     incumbent: Schedule | None = None,
                     options: BnbOptions | None = None) -> BnbResult:
    """Prove the optimum of the sum of (weighted) delays for C = 1 by branch and bound.

    Returns a ``BnbResult``: ``status`` "optimal" (objective proven optimal up
    to ``options.rel_tol``), "feasible" (time limit: the best schedule and the
    best proven bound) or "time_limit_no_incumbent" (no schedule yet: only
    when ``incumbent`` is None and ``options.heuristic`` is False). Without
    ``incumbent`` the search starts from repair.list_schedule unless
    ``options.heuristic`` is False. Every returned schedule has passed
    checker.check_schedule. Options: ``BnbOptions`` (None: the defaults).
    """
    t0 = time.perf_counter()
    if options is None:
        options = BnbOptions()
    _check_problem(problem)
    jb = _job_arrays(problem, weighted)
    Q = problem.quantum_servers
    inst = problem.instance
    if incumbent is None and options.heuristic:
        incumbent = list_schedule(problem, weighted)
    # Every returned schedule is checked. The incumbent is checked first, which also times
    # the check of a schedule the search may build: the search leaves room for it.
    check_s = 0.0
    if incumbent is not None:
        t_check = time.perf_counter()
        _require_feasible(problem, incumbent, "the incumbent given is infeasible")
        check_s = time.perf_counter() - t_check
    # No incumbent: nothing is pruned until the search reaches its first leaf.
    inc_obj = INF if incumbent is None else incumbent.sum_delays_s(inst, weighted)
    vt, bound_level = _seq_table(jb, options.bound_level)
    control = _control(options, bound_level, inc_obj)
    ctl = control[0]
    nd, ch, path, best, memo = _search_arrays(jb, Q, options.memo_entries if options.memo else 1)
    k, r, cost = _root(jb)
    nd.k[0], nd.r[0], nd.fC[0], nd.fQ[0], nd.cost[0] = k, r, -INF, -INF, cost
    compile_s = _load_kernels(control, nd, ch, path, best, memo, jb, vt)
    deadline = t0 + compile_s + options.time_limit_s - check_s
    # The root bound may overrun the deadline by ROOT_BOUND_GRACE_S: when the heuristics
    # used up the time, the result then still carries it, not the weak own-chain bound.
    ctl["deadline"] = max(deadline, time.perf_counter() + ROOT_BOUND_GRACE_S)
    root_lb = float(_lower_bound(nd.k[0], nd.r[0], nd.fC[0], nd.fQ[0], nd.cost[0], jb,
                                 control, vt))
    ctl["deadline"] = deadline
    # Expanding the root bounds every job's child (~1 s at 300 jobs): skipped once the
    # deadline has passed (the heuristics used the time), then the bound is the root's;
    # cut short by the deadline, the same.
    expanded = False
    if np.all(nd.k[0] >= jb.ntask):
        ctl["done"] = True
    elif time.perf_counter() < deadline:
        expanded = _expand(0, nd, ch, jb, control, vt)
    chunk = options.chunk
    interrupted = False
    while expanded and not ctl["done"]:
        t_chunk = time.perf_counter()
        try:
            _search(control, nd, ch, path, best, memo, jb, vt, chunk, deadline)
        except KeyboardInterrupt:  # raised between compiled chunks: the state is whole
            interrupted = True
            break
        now = time.perf_counter()
        if now > deadline:
            break
        # keep each compiled call short (~0.1 s) so the time limit is honoured
        chunk = max(100, min(chunk * 2, int(chunk * 0.1 / max(now - t_chunk, 1e-6))))
    ub = float(ctl["incumbent"])
    status: Status = "optimal" if ctl["done"] else "feasible"
    bound = ub if ctl["done"] else _open_bound(ctl, ch, ub) if expanded else min(root_lb, ub)
    nodes, pruned, used = int(ctl["nodes"]), int(ctl["memo_pruned"]), int(ctl["memo_used"])
    if ctl["best_len"] > 0:
        sched = _build_schedule(problem, jb, best, int(ctl["best_len"]))
    elif incumbent is not None:
        sched = incumbent
    else:  # time limit before the first leaf
        if interrupted:
            raise KeyboardInterrupt
        return BnbResult("time_limit_no_incumbent", math.inf, bound, None, nodes,
                         time.perf_counter() - t0, root_lb, pruned, used, compile_s)
    if sched is not incumbent:
        _require_feasible(problem, sched, "built an infeasible schedule")
    obj = sched.sum_delays_s(inst, weighted)
    if incumbent is not None and obj > inc_obj:  # rebuilding never makes it worse; keep the better
        sched, obj = incumbent, inc_obj
    bound = min(bound, obj)
    result = BnbResult(status, obj, bound, sched, nodes, time.perf_counter() - t0, root_lb,
                       pruned, used, compile_s)
    if interrupted:
        raise SearchInterrupted(result)
    return result


def _require_feasible(problem: OfflineProblem, schedule: Schedule, what: str) -> None:
    """A RuntimeError (a bug, never an input error) unless checker.check_schedule passes."""
    problems = check_schedule(problem.instance, schedule, 1, problem.quantum_servers,
                              problem.worker_capacity_ops_per_s)
    if problems:
        raise RuntimeError(f"branch_and_bound {what}: " + "; ".join(problems[:3]))


class SearchInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``branch_and_bound``: ``result`` is the search so far ("feasible":
    its best checked schedule and proven bound), for the caller to report."""

    def __init__(self, result: BnbResult) -> None:
        super().__init__("branch and bound interrupted")
        self.result = result


key_caches_on_sources(globals())
