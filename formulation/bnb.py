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
s floored to a grid (step >= 0.02 s, memo table vtab[mask, grid]) is still a
lower bound; the grid costs at most ~|U| * step per level. The node bound is
max(level 1, level 2 with V in place of the U part).

Depth-first, best child (smallest bound) first; a node is pruned when its
bound >= incumbent - 1e-9 * max(1, incumbent), so "optimal" means optimal up
to that relative tolerance. On a time limit the bound returned is the minimum
of the incumbent and of the bounds of all open nodes on the stack.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from numba import njit

from hqsched.instances.schedule import Schedule

from .checker import check_schedule
from .problem import OfflineProblem
from .repair import exact_schedule, list_schedule

INF = 1e300


# ----------------------------------------------------------------------------
# numba kernels. Arrays (J jobs, T = max chain length):
#   dur[J, T], res[J, T] (0 classical, 1 quantum), rem[J, T + 1] (chain from t),
#   ntask[J], arr[J], wt[J], lastc[J] (last positive classical index, -1 none)
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


@njit(cache=True)
def _is_u(k, j, res, dur):
    """Unstarted job whose first task is a positive classical task (a "pre")."""
    return k[j] == 0 and res[j, 0] == 0 and dur[j, 0] > 0


@njit(cache=True)
def _next_classical(j, y, res, dur, lastc):
    """Index of job j's first positive classical task at or after y (> lastc[j] if none)."""
    while y <= lastc[j] and not (res[j, y] == 0 and dur[j, y] > 0):
        y += 1
    return y


@njit(cache=True)
def _gtail(i, t0, e_i, s, res, dur, rem, lastc):
    """Chain length from the first positive classical task y >= t0 of job i whose
    earliest end (e_i - chain after y) is > s; -INF if there is none."""
    for y in range(t0, lastc[i] + 1):
        if res[i, y] == 0 and dur[i, y] > 0 and e_i - rem[i, y + 1] > s:
            return rem[i, y]
    return -INF


@njit(cache=True)
def _a_part(k, s, p, cost, e, dur, res, rem, ntask, arr, wt, lastc):
    """cost + sum over started jobs of w_i (C_i - a_i) when a pre occupies [s, s + p)."""
    tot = cost
    for i in range(k.shape[0]):
        if k[i] >= ntask[i] or _is_u(k, i, res, dur):
            continue
        tot += wt[i] * (max(e[i], s + p + _gtail(i, k[i], e[i], s, res, dur, rem, lastc)) - arr[i])
    return tot


@njit(cache=True)
def _a_cands(k, lo, e, cands, dur, res, rem, ntask, lastc):
    """lo and the earliest ends > lo of the started jobs' classical tasks; returns count."""
    nc = 0
    cands[nc] = lo
    nc += 1
    for i in range(k.shape[0]):
        if k[i] >= ntask[i] or _is_u(k, i, res, dur):
            continue
        for y in range(k[i], lastc[i] + 1):
            if res[i, y] == 0 and dur[i, y] > 0:
                ep = e[i] - rem[i, y + 1]
                if ep > lo:
                    cands[nc] = ep
                    nc += 1
    return nc


@njit(cache=True)
def _u_part(k, skip, s, dur, res, rem, arr, wt, rel, p):
    """Unstarted jobs other than ``skip``, all pres starting >= s: weighted SRPT bound
    of sum w_j (C_j - a_j) (w_min * (SRPT + tails) + (w_j - w_min) * own chain)."""
    wmin = INF
    for j in range(k.shape[0]):
        if j != skip and _is_u(k, j, res, dur):
            wmin = min(wmin, wt[j])
    m = 0
    tot = 0.0
    sumtau = 0.0
    for j in range(k.shape[0]):
        if j == skip or not _is_u(k, j, res, dur):
            continue
        rj = max(arr[j], s)
        rel[m] = rj
        p[m] = dur[j, 0]
        m += 1
        sumtau += rem[j, 1]
        tot += (wt[j] - wmin) * (rj + rem[j, 0]) - wt[j] * arr[j]
    if m == 0:
        return 0.0
    return tot + wmin * (_srpt(rel, p, m) + sumtau)


@njit(cache=True)
def _lower_bound(k, r, fC, fQ, cost, dur, res, rem, ntask, arr, wt, lastc, blevel, vtab, vpar):
    J = k.shape[0]
    nU = 0
    s0 = INF
    pmin = INF
    for j in range(J):
        if k[j] < ntask[j] and _is_u(k, j, res, dur):
            nU += 1
            s0 = min(s0, arr[j])
            pmin = min(pmin, dur[j, 0])
    # own-chain bound of every unfinished job
    e = np.empty(J)
    for j in range(J):
        if k[j] >= ntask[j]:
            e[j] = 0.0
            continue
        t = k[j]
        free = fC if res[j, t] == 0 else fQ[0]
        e[j] = max(r[j], free) + rem[j, t]
    if nU == 0 or blevel == 0:
        tot = cost
        for j in range(J):
            if k[j] < ntask[j]:
                tot += wt[j] * (e[j] - arr[j])
        return tot
    s0 = max(s0, fC)
    T = dur.shape[1]
    cands = np.empty(J * T + 1)
    rel = np.empty(nU)
    p = np.empty(nU)
    mask = 0
    for j in range(J):
        if k[j] < ntask[j] and _is_u(k, j, res, dur):
            mask |= 1 << j
    nc = _a_cands(k, s0, e, cands, dur, res, rem, ntask, lastc)
    best = INF
    for c in range(nc):
        s = cands[c]
        u = _u_part(k, -1, s, dur, res, rem, arr, wt, rel, p)
        if blevel >= 3:
            u = max(u, _vfun(mask, int(math.floor((s - vpar[0]) / vpar[1])), vtab, vpar[0], vpar[1],
                             dur, res, rem, arr, wt, lastc))
        tot = _a_part(k, s, pmin, cost, e, dur, res, rem, ntask, arr, wt, lastc) + u
        if tot < best:
            best = tot
    if blevel >= 2:
        best = max(best, _lookahead(k, fC, cost, e, nU, cands, rel, p,
                                    dur, res, rem, ntask, arr, wt, lastc, blevel, mask, vtab, vpar))
    return best



@njit(cache=True)
def _vfun(mask, g, vtab, origin, delta, dur, res, rem, arr, wt, lastc):
    """Lower bound V_U(s) on sum_{j in U} w_j (C_j - a_j) for the unstarted jobs in
    ``mask`` when every pre starts >= s = origin + g * delta (see the module docstring,
    "sequence relaxation"); memoised in vtab[mask, g] (NaN = not computed)."""
    if mask == 0:
        return 0.0
    G = vtab.shape[1]
    if g >= G:
        g = G - 1  # times beyond the horizon: V is non-decreasing, so this is still a bound
    v0 = vtab[mask, g]
    if v0 == v0:
        return v0
    s = origin + g * delta
    J = arr.shape[0]
    best = INF
    for j1 in range(J):
        if not (mask >> j1) & 1:
            continue
        rest = mask ^ (1 << j1)
        E1 = max(arr[j1], s) + dur[j1, 0]
        own1 = E1 + rem[j1, 1]
        if rest == 0:
            v = wt[j1] * (own1 - arr[j1])
            if v < best:
                best = v
            continue
        pmin2 = INF
        for j in range(J):
            if (rest >> j) & 1:
                pmin2 = min(pmin2, dur[j, 0])
        y = 0
        while True:
            if y == 0:
                S2 = E1
            else:
                S2 = own1 - rem[j1, y + 1]
            c1 = max(own1, S2 + pmin2 + _gtail(j1, 1, own1, S2, res, dur, rem, lastc))
            part = wt[j1] * (c1 - arr[j1])
            if part < best:
                g2 = int(math.floor((S2 - origin) / delta))
                v = part + _vfun(rest, g2, vtab, origin, delta, dur, res, rem, arr, wt, lastc)
                if v < best:
                    best = v
            y = _next_classical(j1, y + 1, res, dur, lastc)
            if y > lastc[j1]:
                break
    vtab[mask, g] = best
    return best


@njit(cache=True)
def _lookahead(k, fC, cost, e, nU, cands, rel, p, dur, res, rem, ntask, arr, wt, lastc,
               blevel, mask, vtab, vpar):
    """Bound by the choice of the first pre j1 (start S1) and the start S2 of the second."""
    J = k.shape[0]
    best = INF
    for j1 in range(J):
        if not _is_u(k, j1, res, dur):
            continue
        p1 = dur[j1, 0]
        tau1 = rem[j1, 1]
        pmin2 = INF
        for j in range(J):
            if j != j1 and _is_u(k, j, res, dur):
                pmin2 = min(pmin2, dur[j, 0])
        lo = max(arr[j1], fC)
        nc = _a_cands(k, lo, e, cands, dur, res, rem, ntask, lastc)
        for c in range(nc):
            S1 = cands[c]
            totA = _a_part(k, S1, p1, cost, e, dur, res, rem, ntask, arr, wt, lastc)
            E1 = S1 + p1
            own1 = E1 + tau1
            if nU == 1:
                v = totA + wt[j1] * (own1 - arr[j1])
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
                    S2 = own1 - rem[j1, y + 1]
                g = _gtail(j1, 1, own1, S2, res, dur, rem, lastc)
                cj1 = max(own1, S2 + pmin2 + g)
                if blevel >= 3:
                    u = _vfun(mask ^ (1 << j1), int(math.floor((S2 - vpar[0]) / vpar[1])), vtab,
                              vpar[0], vpar[1], dur, res, rem, arr, wt, lastc)
                else:
                    u = _u_part(k, j1, S2, dur, res, rem, arr, wt, rel, p)
                v = totA + wt[j1] * (cj1 - arr[j1]) + u
                if v < best:
                    best = v
                y = _next_classical(j1, y + 1, res, dur, lastc)
                if y > lastc[j1]:
                    break
    return best


@njit(cache=True)
def _apply(d, j, st_k, st_r, st_fC, st_fQ, st_cost, dur, res, ntask, arr, wt):
    """Copy node d to d+1 and start job j's next task there; return its start."""
    J = st_k.shape[1]
    Q = st_fQ.shape[1]
    for i in range(J):
        st_k[d + 1, i] = st_k[d, i]
        st_r[d + 1, i] = st_r[d, i]
    for q in range(Q):
        st_fQ[d + 1, q] = st_fQ[d, q]
    st_fC[d + 1] = st_fC[d]
    st_cost[d + 1] = st_cost[d]
    t = st_k[d + 1, j]
    if res[j, t] == 0:
        s = max(st_r[d + 1, j], st_fC[d + 1])
        st_fC[d + 1] = s + dur[j, t]
    else:
        s = max(st_r[d + 1, j], st_fQ[d + 1, 0])
        v = s + dur[j, t]
        q = 0
        while q + 1 < Q and st_fQ[d + 1, q + 1] < v:
            st_fQ[d + 1, q] = st_fQ[d + 1, q + 1]
            q += 1
        st_fQ[d + 1, q] = v
    st_r[d + 1, j] = s + dur[j, t]
    t += 1
    while t < ntask[j] and dur[j, t] == 0.0:
        t += 1
    st_k[d + 1, j] = t
    if t >= ntask[j]:
        st_cost[d + 1] += wt[j] * (st_r[d + 1, j] - arr[j])
    return s


@njit(cache=True)
def _expand(d, st_k, st_r, st_fC, st_fQ, st_cost, ch_job, ch_lb, ch_n, ch_ptr,
            dur, res, rem, ntask, arr, wt, lastc, off, rule, blevel, vtab, vpar):
    """Children of node d (conflict set), each with its bound, best first."""
    J = st_k.shape[1]
    # Per resource: the minimal ect, and the guard (see the module docstring):
    # a resource R may be branched on only if no task of R that is not next in
    # its chain can start before ect_R; guard_R is the earliest such start over
    # jobs whose next task is on the other resource.
    ectC = INF
    ectQ = INF
    guardC = INF
    guardQ = INF
    for j in range(J):
        t = st_k[d, j]
        if t >= ntask[j]:
            continue
        if res[j, t] == 0:
            est = max(st_r[d, j], st_fC[d])
            ectC = min(ectC, est + dur[j, t])
            guardQ = min(guardQ, est + off[1, j, t])
        else:
            est = max(st_r[d, j], st_fQ[d, 0])
            ectQ = min(ectQ, est + dur[j, t])
            guardC = min(guardC, est + off[0, j, t])
    nC = 0
    nQ = 0
    for j in range(J):
        t = st_k[d, j]
        if t >= ntask[j]:
            continue
        if res[j, t] == 0:
            if max(st_r[d, j], st_fC[d]) < ectC:
                nC += 1
        else:
            if max(st_r[d, j], st_fQ[d, 0]) < ectQ:
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
    ect = ectC if R == 0 else ectQ
    free = st_fC[d] if R == 0 else st_fQ[d, 0]
    n = 0
    for j in range(J):
        t = st_k[d, j]
        if t >= ntask[j] or res[j, t] != R:
            continue
        if max(st_r[d, j], free) < ect:
            _apply(d, j, st_k, st_r, st_fC, st_fQ, st_cost, dur, res, ntask, arr, wt)
            lb = _lower_bound(st_k[d + 1], st_r[d + 1], st_fC[d + 1], st_fQ[d + 1], st_cost[d + 1],
                              dur, res, rem, ntask, arr, wt, lastc, blevel, vtab, vpar)
            # insertion, best first
            i = n
            while i > 0 and ch_lb[d, i - 1] > lb:
                ch_lb[d, i] = ch_lb[d, i - 1]
                ch_job[d, i] = ch_job[d, i - 1]
                i -= 1
            ch_lb[d, i] = lb
            ch_job[d, i] = j
            n += 1
    ch_n[d] = n
    ch_ptr[d] = 0


@njit(cache=True)
def _memo_check(d, st_k, st_r, st_fC, st_fQ, st_cost, ntask, bucket, mem_k, mem_t, mem_next, mctl):
    """True if node d is dominated by a stored node; else store it (or replace one it dominates)."""
    J = st_k.shape[1]
    Q = st_fQ.shape[1]
    H = bucket.shape[0]
    h = np.int64(1469598103934665603)
    for j in range(J):
        h = (h ^ np.int64(st_k[d, j])) * np.int64(1099511628211)
    b = np.int64(h & (H - 1))
    e = bucket[b]
    scanned = 0
    while e >= 0 and scanned < mctl[1]:
        scanned += 1
        same = True
        for j in range(J):
            if mem_k[e, j] != st_k[d, j]:
                same = False
                break
        if same:
            le = True   # stored <= new
            ge = True   # new <= stored
            for j in range(J):
                if st_k[d, j] < ntask[j]:
                    a = mem_t[e, j]
                    x = st_r[d, j]
                    if a > x:
                        le = False
                    if x > a:
                        ge = False
            a = mem_t[e, J]
            x = st_fC[d]
            if a > x:
                le = False
            if x > a:
                ge = False
            for q in range(Q):
                a = mem_t[e, J + 1 + q]
                x = st_fQ[d, q]
                if a > x:
                    le = False
                if x > a:
                    ge = False
            a = mem_t[e, J + 1 + Q]
            x = st_cost[d]
            if a > x:
                le = False
            if x > a:
                ge = False
            if le:
                mctl[2] += 1
                return True
            if ge:
                for j in range(J):
                    mem_t[e, j] = st_r[d, j]
                mem_t[e, J] = st_fC[d]
                for q in range(Q):
                    mem_t[e, J + 1 + q] = st_fQ[d, q]
                mem_t[e, J + 1 + Q] = st_cost[d]
                return False
        e = mem_next[e]
    n = mctl[0]
    if n < mem_k.shape[0]:
        for j in range(J):
            mem_k[n, j] = st_k[d, j]
            mem_t[n, j] = st_r[d, j]
        mem_t[n, J] = st_fC[d]
        for q in range(Q):
            mem_t[n, J + 1 + q] = st_fQ[d, q]
        mem_t[n, J + 1 + Q] = st_cost[d]
        mem_next[n] = bucket[b]
        bucket[b] = n
        mctl[0] = n + 1
    return False


@njit(cache=True)
def _search(ctrl, fctl, st_k, st_r, st_fC, st_fQ, st_cost, ch_job, ch_lb, ch_n, ch_ptr,
            path_job, path_task, path_start, best_job, best_task, best_start,
            dur, res, rem, ntask, arr, wt, lastc, off,
            bucket, mem_k, mem_t, mem_next, mctl, vtab, vpar, budget):
    """Resumable depth-first search. ctrl = [depth, nodes, done, leaves, use_memo, rule, bound_level,
    best_len]; fctl = [incumbent, tol]. Returns after ``budget`` node visits or when done."""
    J = st_k.shape[1]
    rule = ctrl[5]
    blevel = ctrl[6]
    visits = 0
    while visits < budget:
        d = ctrl[0]
        if ch_ptr[d] >= ch_n[d]:
            if d == 0:
                ctrl[2] = 1
                return
            ctrl[0] = d - 1
            continue
        c = ch_ptr[d]
        ch_ptr[d] = c + 1
        ub = fctl[0]
        tol = fctl[1] * max(1.0, abs(ub))
        if ch_lb[d, c] >= ub - tol:
            ch_ptr[d] = ch_n[d]  # children are sorted: all the rest are pruned too
            continue
        j = ch_job[d, c]
        t = st_k[d, j]
        s = _apply(d, j, st_k, st_r, st_fC, st_fQ, st_cost, dur, res, ntask, arr, wt)
        path_job[d] = j
        path_task[d] = t
        path_start[d] = s
        visits += 1
        ctrl[1] += 1
        finished = True
        for i in range(J):
            if st_k[d + 1, i] < ntask[i]:
                finished = False
                break
        if finished:
            ctrl[3] += 1
            if st_cost[d + 1] < ub:
                fctl[0] = st_cost[d + 1]
                for x in range(d + 1):
                    best_job[x] = path_job[x]
                    best_task[x] = path_task[x]
                    best_start[x] = path_start[x]
                ctrl[7] = d + 1
            continue
        if ctrl[4] != 0:
            if _memo_check(d + 1, st_k, st_r, st_fC, st_fQ, st_cost, ntask, bucket, mem_k, mem_t,
                           mem_next, mctl):
                continue
        _expand(d + 1, st_k, st_r, st_fC, st_fQ, st_cost, ch_job, ch_lb, ch_n, ch_ptr,
                dur, res, rem, ntask, arr, wt, lastc, off, rule, blevel, vtab, vpar)
        ctrl[0] = d + 1


# ----------------------------------------------------------------------------
# Python driver
# ----------------------------------------------------------------------------

@dataclass
class BnbResult:
    """Outcome of :func:`branch_and_bound`. ``objective`` is recomputed from the
    returned checked ``schedule``; ``bound`` is a proven lower bound (equal to
    the objective when ``status == "optimal"``); ``root_bound`` the root
    node's bound; ``nodes`` the nodes visited; ``time_s`` wall-clock seconds
    (including numba compilation if the cache is cold); ``memo_pruned`` /
    ``memo_size`` the nodes pruned by dominance and the memo entries used."""

    status: str                 # "optimal", "feasible" (time limit), "time_limit_no_incumbent"
    objective: float
    bound: float
    schedule: Schedule | None
    nodes: int
    time_s: float
    root_bound: float
    memo_pruned: int = 0
    memo_size: int = 0


class _Arrays:
    def __init__(self, problem: OfflineProblem, weighted: bool):
        jobs = list(problem.instance.jobs)
        self.jobs = jobs
        J = len(jobs)
        T = max(len(problem.chains[j.job_id]) for j in jobs)
        self.dur = np.zeros((J, T))
        self.res = np.zeros((J, T), dtype=np.int64)
        self.rem = np.zeros((J, T + 1))
        self.ntask = np.zeros(J, dtype=np.int64)
        self.arr = np.zeros(J)
        self.wt = np.zeros(J)
        self.lastc = np.full(J, -1, dtype=np.int64)
        for j, job in enumerate(jobs):
            chain = problem.chains[job.job_id]
            self.ntask[j] = len(chain)
            self.arr[j] = job.arrival_s
            self.wt[j] = float(job.priority) if weighted else 1.0
            for t, pos in enumerate(chain):
                task = problem.tasks[pos]
                self.dur[j, t] = task.duration_s
                self.res[j, t] = 0 if task.resource == "C" else 1
                if task.resource == "C" and task.duration_s > 0:
                    self.lastc[j] = t
            for t in range(len(chain) - 1, -1, -1):
                self.rem[j, t] = self.rem[j, t + 1] + self.dur[j, t]
        # off[R, j, t]: chain time from the start of task t to the start of the
        # first positive task on resource R after t (INF if none)
        self.off = np.full((2, J, T), INF)
        for j in range(J):
            for t in range(int(self.ntask[j])):
                acc = self.dur[j, t]
                for u in range(t + 1, int(self.ntask[j])):
                    if self.dur[j, u] > 0 and self.off[self.res[j, u], j, t] >= INF:
                        self.off[self.res[j, u], j, t] = acc
                    acc += self.dur[j, u]
        self.positive = int(np.sum(self.dur > 0))


def _vtable(a: _Arrays, bound_level: int, max_entries: int = 1 << 22):
    """Memo table of the sequence relaxation V (bound level 3) and its grid
    (origin, step): 2^J masks x grid points over [min arrival - 1, horizon]."""
    J = len(a.jobs)
    if bound_level < 3 or J > 16:
        return np.full((1, 1), np.nan), np.array([0.0, 1.0]), min(bound_level, 2)
    origin = float(a.arr.min()) - 1.0
    horizon = float(a.arr.max()) + float(a.rem[:, 0].sum()) + 1.0
    points = max(1, max_entries >> J)
    step = max(0.02, (horizon - origin) / points)
    G = int(math.ceil((horizon - origin) / step)) + 2
    return np.full((1 << J, G), np.nan), np.array([origin, step]), bound_level


def _root(a: _Arrays, Q: int):
    J = len(a.jobs)
    k = np.zeros(J, dtype=np.int64)
    r = a.arr.copy()
    for j in range(J):  # leading zero-length tasks start at the arrival
        t = 0
        while t < a.ntask[j] and a.dur[j, t] == 0.0:
            t += 1
        k[j] = t  # a job made only of zero-length tasks finishes at its arrival: delay 0
    return k, r, 0.0


def root_lower_bound(problem: OfflineProblem, weighted: bool = False, bound_level: int = 3) -> float:
    """The bound of the root node (a lower bound on the optimum)."""
    _check_problem(problem)
    a = _Arrays(problem, weighted)
    k, r, cost = _root(a, problem.quantum_servers)
    fQ = np.full(problem.quantum_servers, -INF)
    vtab, vpar, bound_level = _vtable(a, bound_level)
    return float(_lower_bound(k, r, -INF, fQ, cost, a.dur, a.res, a.rem, a.ntask, a.arr, a.wt,
                              a.lastc, bound_level, vtab, vpar))


def _check_problem(problem: OfflineProblem) -> None:
    if problem.classical_servers != 1:
        raise ValueError("branch_and_bound handles exactly one classical server (C = 1), "
                         f"got {problem.classical_servers!r}")


def _build_schedule(problem: OfflineProblem, a: _Arrays, n: int, bj, bt, bs) -> Schedule:
    """Exact, checked schedule from the recorded (job, task, start) of positive tasks."""
    starts = [0.0] * len(problem.tasks)
    servers = [0] * len(problem.tasks)
    start_of = {}
    for x in range(n):
        start_of[(int(bj[x]), int(bt[x]))] = float(bs[x])
    for j, job in enumerate(a.jobs):
        chain = problem.chains[job.job_id]
        ready = job.arrival_s
        for t, pos in enumerate(chain):
            s = start_of.get((j, t), ready) if a.dur[j, t] > 0 else ready
            starts[pos] = s
            ready = s + a.dur[j, t]
    # quantum servers: interval-graph colouring by start time
    qfree = [-INF] * problem.quantum_servers
    order = sorted((starts[t.pos], t.pos) for t in problem.tasks
                   if t.resource == "Q" and t.duration_s > 0)
    for s, pos in order:
        m = min(range(len(qfree)), key=lambda i: (qfree[i] > s + 1e-9 * max(1.0, abs(s)), i))
        servers[pos] = m
        qfree[m] = s + problem.tasks[pos].duration_s
    return exact_schedule(problem, starts, servers)


def branch_and_bound(problem: OfflineProblem, weighted: bool = False,
                     incumbent: Schedule | None = None, time_limit_s: float = 60.0,
                     memo: bool = True, memo_entries: int = 1 << 20, rule: int = 1,
                     bound_level: int = 3, rel_tol: float = 1e-9, chunk: int = 1000,
                     heuristic: bool = True) -> BnbResult:
    """Prove the optimum of the sum of (weighted) delays for C = 1 by branch and bound.

    Returns a :class:`BnbResult`: ``status`` "optimal" (objective proven optimal
    up to ``rel_tol``), "feasible" (time limit: the best schedule and the best
    proven bound) or "time_limit_no_incumbent" (no schedule yet: only when
    ``incumbent`` is None and ``heuristic`` is False). Without ``incumbent`` the
    search starts from repair.list_schedule unless ``heuristic`` is False. Every
    returned schedule has passed checker.check_schedule.

    Options (all exact): ``memo`` dominance memo of at most ``memo_entries``
    nodes (~160 bytes each, allocated lazily); ``rule`` 0 = classic
    Giffler-Thompson resource choice, 1 = smaller guarded conflict set;
    ``bound_level`` 0..3 (module docstring; 3 falls back to 2 beyond 16 jobs);
    ``chunk`` nodes per compiled call before the first time check.
    """
    t0 = time.perf_counter()
    _check_problem(problem)
    a = _Arrays(problem, weighted)
    J, Q = len(a.jobs), problem.quantum_servers
    inst = problem.instance
    if incumbent is None and heuristic:
        incumbent = list_schedule(problem, weighted)
    # No incumbent: nothing is pruned until the search reaches its first leaf.
    inc_obj = INF if incumbent is None else incumbent.sum_delays_s(inst, weighted)
    D = a.positive + 1
    st_k = np.zeros((D + 1, J), dtype=np.int64)
    st_r = np.zeros((D + 1, J))
    st_fC = np.zeros(D + 1)
    st_fQ = np.zeros((D + 1, Q))
    st_cost = np.zeros(D + 1)
    k, r, cost = _root(a, Q)
    st_k[0], st_r[0], st_fC[0], st_fQ[0], st_cost[0] = k, r, -INF, -INF, cost
    ch_job = np.zeros((D + 1, J), dtype=np.int64)
    ch_lb = np.zeros((D + 1, J))
    ch_n = np.zeros(D + 1, dtype=np.int64)
    ch_ptr = np.zeros(D + 1, dtype=np.int64)
    path_job = np.zeros(D + 1, dtype=np.int64)
    path_task = np.zeros(D + 1, dtype=np.int64)
    path_start = np.zeros(D + 1)
    best_job = np.zeros(D + 1, dtype=np.int64)
    best_task = np.zeros(D + 1, dtype=np.int64)
    best_start = np.zeros(D + 1)
    E = memo_entries if memo else 1
    H = 1
    while H < 2 * E:
        H *= 2
    bucket = np.full(H, -1, dtype=np.int64)
    mem_k = np.zeros((E, J), dtype=np.int64)
    mem_t = np.zeros((E, J + Q + 2))
    mem_next = np.full(E, -1, dtype=np.int64)
    mctl = np.array([0, 64, 0], dtype=np.int64)
    vtab, vpar, bound_level = _vtable(a, bound_level)
    ctrl = np.array([0, 0, 0, 0, int(memo), int(rule), int(bound_level), 0], dtype=np.int64)
    fctl = np.array([inc_obj, rel_tol])
    root_lb = float(_lower_bound(st_k[0], st_r[0], st_fC[0], st_fQ[0], st_cost[0], a.dur, a.res,
                                 a.rem, a.ntask, a.arr, a.wt, a.lastc, bound_level, vtab, vpar))
    if all(st_k[0, j] >= a.ntask[j] for j in range(J)):
        ctrl[2] = 1
    else:
        _expand(0, st_k, st_r, st_fC, st_fQ, st_cost, ch_job, ch_lb, ch_n, ch_ptr,
                a.dur, a.res, a.rem, a.ntask, a.arr, a.wt, a.lastc, a.off, int(rule), int(bound_level),
                vtab, vpar)
    deadline = t0 + time_limit_s
    while not ctrl[2]:
        t_chunk = time.perf_counter()
        _search(ctrl, fctl, st_k, st_r, st_fC, st_fQ, st_cost, ch_job, ch_lb, ch_n, ch_ptr,
                path_job, path_task, path_start, best_job, best_task, best_start,
                a.dur, a.res, a.rem, a.ntask, a.arr, a.wt, a.lastc, a.off,
                bucket, mem_k, mem_t, mem_next, mctl, vtab, vpar, chunk)
        now = time.perf_counter()
        if now > deadline:
            break
        # keep each compiled call short (~0.1 s) so the time limit is honoured
        chunk = max(100, min(chunk * 2, int(chunk * 0.1 / max(now - t_chunk, 1e-6))))
    ub = float(fctl[0])
    if ctrl[2]:
        bound = ub
        status = "optimal"
    else:
        bound = ub
        for d in range(int(ctrl[0]) + 1):
            for c in range(int(ch_ptr[d]), int(ch_n[d])):
                bound = min(bound, float(ch_lb[d, c]))
        status = "feasible"
    if ctrl[7] > 0:
        sched = _build_schedule(problem, a, int(ctrl[7]), best_job, best_task, best_start)
    elif incumbent is not None:
        sched = incumbent
    else:  # time limit before the first leaf
        return BnbResult("time_limit_no_incumbent", math.inf, bound, None, int(ctrl[1]),
                         time.perf_counter() - t0, root_lb, int(mctl[2]), int(mctl[0]))
    problems = check_schedule(inst, sched, 1, Q, problem.worker_capacity_ops_per_s)
    if problems:
        raise RuntimeError("branch_and_bound built an infeasible schedule: " + "; ".join(problems[:3]))
    obj = sched.sum_delays_s(inst, weighted)
    if obj > inc_obj:  # rebuilding never makes it worse; keep the better of the two
        sched, obj = incumbent, inc_obj
    bound = min(bound, obj)
    return BnbResult(status, obj, bound, sched, int(ctrl[1]), time.perf_counter() - t0, root_lb,
                     int(mctl[2]), int(mctl[0]))
