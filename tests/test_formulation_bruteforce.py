"""The MILP optimum agrees with an independent exhaustive enumeration on tiny instances.

Enumeration argument. The problem is an RCPSP: unit-demand tasks on two
renewable resources of capacity C and Q, chain precedence, release dates,
and a regular objective (non-decreasing in completion times). For such
problems the *serial schedule-generation scheme* -- take tasks in a
precedence-feasible list order and start each at the earliest time >= its
release and its chain predecessor's end at which its resource has a free
unit during its whole duration, filling earlier holes if they fit -- produces
exactly the set of active schedules when run over all precedence-feasible
lists, and that set contains an optimal schedule for every regular objective
(Kolisch 1996, EJOR 90; Sprecher, Kolisch & Drexl 1995). A schedule with
at most m tasks running at every instant can be assigned to m servers
(interval graphs are perfect), so the capacity profile is all we track.

The enumerator shares no code with hqsched.formulation.
"""

import random

import pytest

from hqsched.formulation.checker import check_schedule
from hqsched.formulation.options import ModelOptions, SolveOptions
from hqsched.formulation.solve import solve_delays
from hqsched.instances.model import Instance, constant_chain_job


def _chain(job):
    # (resource, duration) per task with S = 1.
    out = [("C", job.pre_ops)]
    for w, q in zip(job.iteration_ops, job.quantum_s):
        out += [("C", w), ("Q", q)]
    return out + [("C", job.post_ops)]


def _interleavings(lengths):
    """All precedence-feasible lists of (job, index) for chains of the given lengths."""
    total = sum(lengths)
    def rec(pos, seq):
        if len(seq) == total:
            yield list(seq)
            return
        for j, n in enumerate(lengths):
            if pos[j] < n:
                seq.append((j, pos[j]))
                pos[j] += 1
                yield from rec(pos, seq)
                pos[j] -= 1
                seq.pop()
    yield from rec([0] * len(lengths), [])


def _fits(intervals, start, dur, cap):
    if dur == 0:
        return True
    points = [start] + [s for s, e in intervals if start < s < start + dur]
    return all(sum(1 for s, e in intervals if s <= p < e) < cap for p in points)


def brute_force(inst, c, q, weighted):
    jobs = list(inst.jobs)
    chains = [_chain(j) for j in jobs]
    cap = {"C": c if c is not None else 10 ** 9, "Q": q}
    best = float("inf")
    for order in _interleavings([len(ch) for ch in chains]):
        used = {"C": [], "Q": []}
        end = {}
        for j, k in order:
            res, dur = chains[j][k]
            ready = jobs[j].arrival_s if k == 0 else end[(j, k - 1)]
            candidates = sorted({ready} | {e for _, e in used[res] if e > ready})
            start = next(t for t in candidates if _fits(used[res], t, dur, cap[res]))
            if dur > 0:
                used[res].append((start, start + dur))
            end[(j, k)] = start + dur
        total = sum((jb.priority if weighted else 1) * (end[(j, len(chains[j]) - 1)] - jb.arrival_s)
                    for j, jb in enumerate(jobs))
        best = min(best, total)
    return best


def random_tiny(rng):
    """Up to 3 jobs and at most 8 tasks, small integer-ish durations (many ties)."""
    jobs, tasks = [], 0
    for i in range(rng.randint(1, 3)):
        n = rng.choice([0, 0, 1]) if tasks + 4 <= 8 else 0
        if tasks + 2 * n + 2 > 8:
            break
        tasks += 2 * n + 2
        jobs.append(constant_chain_job(
            i, float(rng.choice([0, 0, 1, 2, 3.5])), 4, rng.choice([1, 2, 5]),
            float(rng.choice([0, 1, 2, 3])), float(rng.choice([0, 0.5, 1])),
            float(rng.choice([1, 2, 4])), float(rng.choice([0, 1, 2])), n))
    return Instance(tuple(jobs))


def test_milp_optimum_equals_brute_force_on_200_random_tiny_instances():
    rng = random.Random(20240603)
    for case in range(200):
        inst = random_tiny(rng)
        c = rng.choice([1, 1, 2, None])
        q = rng.choice([1, 2])
        weighted = rng.random() < 0.5
        res = solve_delays(inst, c, q, 1.0, SolveOptions(weighted=weighted, time_limit_s=20,
                                                         method="milp"))
        expected = brute_force(inst, c, q, weighted)
        assert res.status == "optimal", (case, res.message)
        assert check_schedule(inst, res.schedule, c, q, 1.0) == []
        assert res.objective == pytest.approx(expected, rel=1e-6, abs=1e-6), \
            (case, c, q, weighted, inst)


# The C = 1 options of solve_delays (solve.py docstring), each forced on tiny
# instances with C = 1: subset cuts (sub-instance bounds as rows and windows),
# interference cuts, and both.
@pytest.mark.parametrize("options", [
    {"subset_cuts": True},
    {"model": ModelOptions(interference_cuts=True)},
    {"subset_cuts": True, "model": ModelOptions(interference_cuts=True)},
], ids=["subset", "interference", "both"])
def test_c1_options_agree_with_brute_force(options):
    rng = random.Random(20240917)
    for case in range(60):
        inst = random_tiny(rng)
        q = rng.choice([1, 2])
        weighted = rng.random() < 0.5
        res = solve_delays(inst, 1, q, 1.0, SolveOptions(weighted=weighted, time_limit_s=20,
                                                         **options))
        expected = brute_force(inst, 1, q, weighted)
        assert res.status == "optimal", (case, res.message)
        assert check_schedule(inst, res.schedule, 1, q, 1.0) == []
        assert res.objective == pytest.approx(expected, rel=1e-6, abs=1e-6), \
            (case, q, weighted, inst, options)
