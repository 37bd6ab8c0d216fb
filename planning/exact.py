"""Exact capacity planning on a small instance, with the answer checked.

Problem (MODEL.md, "Minimal capacity"): all jobs known in advance, dedicated
servers, every job's delay ``delta_i = completion of its last task - t_i``
at most ``delta_max`` (seconds). Minimise:

- ``classical``: C at a given Q -- ``formulation.solve.solve_min_capacity``;
- ``quantum``: Q at a given C -- the same;
- ``cost``: ``a*C + b*Q`` over ``C in classical_range``, ``Q in quantum_range``.
  Candidate pairs are enumerated in increasing cost order (ties: smaller C,
  then smaller Q) and each gets a feasibility MILP (the one
  ``solve_min_capacity`` uses, ``formulation.solve.feasible_at``); the first
  proven feasible pair is the answer. Feasibility is monotone in each
  resource offline (a schedule on k servers is valid on k + 1), so a pair
  dominated by a proven-infeasible pair (C' >= C, Q' >= Q) is infeasible
  without a solve ("implied"). A pair whose solve hit the time limit is
  "unknown"; if any cheaper pair is unknown the answer is NOT proven optimal
  and the report says so.

Checks on the answer (independent of the solver's claim):
1. the returned schedule passes ``formulation.checker.check_schedule`` at
   the answer's (C, Q) and every job's delay, recomputed from the schedule,
   is <= ``delta_max`` (tolerance 1e-9 relative);
2. one server fewer of the minimised resource is proven infeasible: by the
   solver status of a fresh feasibility solve at C - 1 (or Q - 1); for cost,
   every cheaper pair is proven infeasible (solved or implied).
"""

from __future__ import annotations

import math
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from hqsched import inputs
from hqsched.errors import InputError
from hqsched.formulation.checker import check_schedule
from hqsched.formulation.problem import OfflineProblem
from hqsched.formulation.solve import feasible_at, solve_min_capacity
from hqsched.instances.model import Instance
from hqsched.instances.schedule import Schedule
from hqsched.planning.simulated import Cost
from hqsched.progress import bar, timer

OBJECTIVES = ("classical", "quantum", "cost")


@dataclass
class PairOutcome:
    """One (C, Q) examined: "feasible", "infeasible", "infeasible (implied by C=.., Q=..)", "unknown"."""

    classical: int
    quantum: int
    cost: float
    outcome: str
    solve_time_s: float = 0.0


@dataclass
class ExactPlan:
    """Answer of an exact plan and the evidence for it."""

    objective: str
    delta_max_s: float
    classical: int | None
    quantum: int | None
    proven_optimal: bool
    verified: bool                       # schedule checked and every delay <= delta_max
    max_delay_s: float | None
    schedule: Schedule | None
    message: str
    below: str = ""                      # outcome one server fewer (classical/quantum)
    pairs: list[PairOutcome] = field(default_factory=list)   # cost mode, in cost order
    proofs: list[str] = field(default_factory=list)

    def report(self) -> str:
        lines = [self.message]
        if self.classical is not None:
            lines.append(f"answer: C={self.classical}, Q={self.quantum}; max delay "
                         f"{self.max_delay_s:.6g} s <= delta_max {self.delta_max_s:g} s; "
                         f"schedule {'verified' if self.verified else 'FAILED verification'}; "
                         f"{'proven optimal' if self.proven_optimal else 'NOT proven optimal'}")
        if self.below:
            lines.append(f"one fewer: {self.below}")
        if self.proofs:
            lines.append("solver proofs: " + ", ".join(self.proofs))
        for p in self.pairs:
            lines.append(f"  C={p.classical} Q={p.quantum} cost={p.cost:g}: {p.outcome}"
                         + (f" ({p.solve_time_s:.2f} s)" if p.solve_time_s else ""))
        return "\n".join(lines)


def feasibility(instance: Instance, c: int, q: int, delta_max_s: float,
                worker_capacity_ops_per_s: float,
                time_limit_s: float) -> tuple[str, Schedule | None]:
    """Feasibility MILP at (C, Q): ("feasible"|"infeasible"|"unknown", schedule or None).

    Uses the formulation's own feasibility model (``feasible_at``, the one
    ``solve_min_capacity`` uses) so both answers rest on the same model.
    Time limit (s) per solve; a time limit or solver error is "unknown".
    """
    problem = OfflineProblem(instance, c, q, worker_capacity_ops_per_s)
    deadlines = {j.job_id: j.arrival_s + delta_max_s for j in instance.jobs}
    outcome, schedule, _ = feasible_at(problem, deadlines, time.perf_counter(), time_limit_s)
    if outcome in ("feasible", "infeasible"):
        return outcome, schedule
    return "unknown", None


def verify(instance: Instance, schedule: Schedule, c: int, q: int, delta_max_s: float,
           worker_capacity_ops_per_s: float) -> tuple[bool, float, list[str]]:
    """(ok, max delay in s, problems): independent schedule check plus every delay bound."""
    problems = check_schedule(instance, schedule, c, q, worker_capacity_ops_per_s)
    done = schedule.completion_s()
    delays = [done[j.job_id] - j.arrival_s for j in instance.jobs if j.job_id in done]
    max_delay = max(delays, default=0.0)
    tol = 1e-9 * max(1.0, delta_max_s)
    late = [j.job_id for j in instance.jobs
            if j.job_id not in done or done[j.job_id] - j.arrival_s > delta_max_s + tol]
    if late:
        problems.append(f"job {late[0]}: delay above delta_max {delta_max_s:g} s")
    return not problems, max_delay, problems


NO_WEIGHTS = Cost()  # a*C + b*Q with the default weights (frozen, safe to share)


def plan_exact(instance: Instance, objective: str, delta_max_s: float, *,
               classical: int = 1, quantum: int = 1,
               worker_capacity_ops_per_s: float = 1e9, time_limit_s: float = 60.0,
               cost: Cost = NO_WEIGHTS, classical_range: tuple[int, int] = (1, 6),
               quantum_range: tuple[int, int] = (1, 8), progress: bool = True) -> ExactPlan:
    """Minimise C, Q or a*C + b*Q under ``delta_max_s`` and check the answer (module docstring).

    ``classical``/``quantum``: the fixed count of the resource not minimised.
    ``time_limit_s``: per feasibility solve (classical/quantum: for the whole
    ``solve_min_capacity`` call, as that function defines it).
    ``progress``: on a terminal or in a notebook (``hqsched.progress``), a bar of the
    pairs examined (cost), or of the time spent against the time limit.
    """
    if objective not in OBJECTIVES:
        raise InputError(f"--minimize: must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    if not (math.isfinite(delta_max_s) and delta_max_s > 0):
        raise InputError(f"--delta-max: must be a positive duration, got {delta_max_s!r}")
    inputs.require_positive_int(classical, "plan", "classical")
    inputs.require_positive_int(quantum, "plan", "quantum")
    inputs.require_positive_number(worker_capacity_ops_per_s, "plan", "worker_capacity_ops_per_s")
    inputs.require_positive_number(time_limit_s, "plan", "time_limit_s")
    n_pairs = (classical_range[1] - classical_range[0] + 1) * (quantum_range[1] - quantum_range[0] + 1)
    if objective == "cost" and not 0 < n_pairs <= inputs.MAX_PLAN_CANDIDATES:
        raise InputError(f"plan: {n_pairs} (C, Q) pairs in the ranges, must be 1 to "
                         f"{inputs.MAX_PLAN_CANDIDATES}")
    if objective == "cost":
        return _plan_cost(instance, delta_max_s, worker_capacity_ops_per_s, time_limit_s, cost,
                          classical_range, quantum_range, progress)
    with _timer(time_limit_s, f"minimal {objective} capacity", progress):
        res = solve_min_capacity(instance, objective, delta_max_s, classical, quantum,
                                 worker_capacity_ops_per_s, time_limit_s)
    proofs = list(res.details.get("proofs", []))
    if res.schedule is None or res.objective is None:
        return ExactPlan(objective, delta_max_s, None, None, False, False, None, None,
                         f"no capacity found: {res.status}: {res.message}", proofs=proofs)
    k = int(res.objective)
    c, q = (k, quantum) if objective == "classical" else (classical, k)
    ok, max_delay, problems = verify(instance, res.schedule, c, q, delta_max_s,
                                     worker_capacity_ops_per_s)
    code = "C" if objective == "classical" else "Q"
    if k == 1:
        below, proven = f"{code}=0 is not a platform (k = 1 is the smallest)", True
    else:
        # Re-prove k - 1 with a fresh solve rather than trusting the proof list alone.
        c1, q1 = (k - 1, quantum) if objective == "classical" else (classical, k - 1)
        with _timer(time_limit_s, f"checking {code}={k - 1}", progress):
            outcome, _ = feasibility(instance, c1, q1, delta_max_s, worker_capacity_ops_per_s,
                                     time_limit_s)
        below = f"{code}={k - 1}: {outcome} (fresh feasibility solve)"
        proven = outcome == "infeasible"
    msg = (f"minimal {objective} capacity under delta_max={delta_max_s:g} s: {code}={k} "
           f"(solver status {res.status})")
    if problems:
        msg += "; verification problems: " + "; ".join(problems[:3])
    return ExactPlan(objective, delta_max_s, c, q, proven and ok, ok, max_delay, res.schedule,
                     msg, below=below, proofs=proofs)


def _timer(limit_s: float, desc: str, progress: bool) -> AbstractContextManager[None]:
    """``hqsched.progress.timer`` of a solve with that time limit, or nothing."""
    return timer(limit_s, desc) if progress else nullcontext()


def _plan_cost(instance: Instance, delta_max_s: float, s: float, time_limit_s: float,
               cost: Cost, crange: tuple[int, int], qrange: tuple[int, int],
               progress: bool = True) -> ExactPlan:
    pairs = sorted(((c, q) for c in range(crange[0], crange[1] + 1)
                    for q in range(qrange[0], qrange[1] + 1)),
                   key=lambda p: (cost.of(*p), p))
    # A bar of pairs in cost order; it stops short of the total at the answer.
    with bar(len(pairs), "pairs (C, Q)", "pair", progress=progress, leave=False) as shown:
        return _search_pairs(instance, delta_max_s, s, time_limit_s, cost, pairs, shown)


def _search_pairs(instance: Instance, delta_max_s: float, s: float, time_limit_s: float,
                  cost: Cost, pairs: list[tuple[int, int]], shown: Any) -> ExactPlan:
    """``_plan_cost`` over ``pairs`` (cost order), ticking the bar ``shown`` per pair."""
    crange = (min(c for c, _ in pairs), max(c for c, _ in pairs))
    qrange = (min(q for _, q in pairs), max(q for _, q in pairs))
    seen: list[PairOutcome] = []
    infeasible: list[tuple[int, int]] = []
    for c, q in pairs:
        shown.set_postfix_str(f"C={c}, Q={q}")
        shown.update(1)  # pairs examined, this one included
        dom = next(((c2, q2) for c2, q2 in infeasible if c2 >= c and q2 >= q), None)
        if dom is not None:
            seen.append(PairOutcome(c, q, cost.of(c, q),
                                    f"infeasible (implied by C={dom[0]}, Q={dom[1]})"))
            continue
        t0 = time.perf_counter()
        outcome, schedule = feasibility(instance, c, q, delta_max_s, s, time_limit_s)
        seen.append(PairOutcome(c, q, cost.of(c, q), outcome, time.perf_counter() - t0))
        if outcome == "infeasible":
            infeasible.append((c, q))
        elif outcome == "feasible":
            assert schedule is not None  # feasibility() returns one with "feasible"
            ok, max_delay, problems = verify(instance, schedule, c, q, delta_max_s, s)
            unknown = [p for p in seen[:-1] if p.outcome == "unknown"]
            msg = (f"cheapest (C, Q) under delta_max={delta_max_s:g} s at cost "
                   f"{cost.classical:g}*C + {cost.quantum:g}*Q: C={c}, Q={q} (cost {cost.of(c, q):g})")
            if unknown:
                msg += (f"; NOT proven optimal: {len(unknown)} cheaper pair(s) unknown (time "
                        f"limit), e.g. C={unknown[0].classical}, Q={unknown[0].quantum}")
            if problems:
                msg += "; verification problems: " + "; ".join(problems[:3])
            return ExactPlan("cost", delta_max_s, c, q, ok and not unknown, ok, max_delay,
                             schedule, msg, pairs=seen)
    n_unknown = sum(p.outcome == "unknown" for p in seen)
    return ExactPlan("cost", delta_max_s, None, None, False, False, None, None,
                     f"no (C, Q) in C {crange[0]}-{crange[1]}, Q {qrange[0]}-{qrange[1]} is proven "
                     f"feasible under delta_max={delta_max_s:g} s ({n_unknown} unknown); widen "
                     f"--classical-range/--quantum-range or relax --delta-max", pairs=seen)
