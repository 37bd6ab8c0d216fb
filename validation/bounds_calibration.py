"""Calibration of the scalable bounds where the optimum is proven (GitHub issue 16).

On instances the exact branch and bound (formulation.bnb, C = 1) proves,
report LB / OPT for formulation.bounds_scale.lower_bound (C = 1, and the
C = infinity bound, which is below the C = 1 optimum too) and UB / OPT for
formulation.upper_bounds.upper_bound, so a reader knows how much to trust
the bracket at scale. Two families:

- ``small``: ``instances.generate.small_instance`` (trace-drawn jobs, 2-3
  iterations, 3-6 jobs, Q = 1 or 2, mean inter-arrival 20 s);
- ``trace-shaped``: few jobs (2-3), a long first task (pre ~10-16 s), many
  short classical iterations (1e-4 to 7e-4 s), long equal quantum tasks
  (~4 s each, the same within a job) and a short post: the structure of the
  paper's jobs with fewer iterations.

``bound_violations`` is the validity check the tests run on any bound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hqsched.formulation.bnb import branch_and_bound
from hqsched.formulation.bounds_scale import lower_bound
from hqsched.formulation.options import BnbOptions
from hqsched.formulation.problem import OfflineProblem
from hqsched.formulation.upper_bounds import upper_bound
from hqsched.instances.generate import small_instance
from hqsched.instances.model import Instance, constant_chain_job
from hqsched.instances.schedule import Schedule

#: S of every calibration instance (ops/s): trace seconds as they are.
CAPACITY = 1e9


@dataclass(frozen=True)
class Case:
    """One calibration instance on C = 1 classical server and ``quantum`` QCs."""

    name: str
    instance: Instance
    quantum: int
    weighted: bool


@dataclass
class Proven:
    """A case with its proven optimum (s) and the checked schedules known for it."""

    case: Case
    optimum: float
    schedules: list[Schedule]


def trace_shaped_instance(seed: int, jobs: int, iterations: int) -> Instance:
    """Few jobs shaped like the traces' (module docstring), Poisson arrivals of mean 6 s."""
    rng = np.random.default_rng([seed, 16])
    t = 0.0
    out = []
    for j in range(jobs):
        t += float(rng.exponential(6.0))
        out.append(constant_chain_job(
            j, t, 4, int(rng.choice([1, 2, 4])), float(rng.uniform(10, 16)) * CAPACITY,
            float(rng.uniform(1e-4, 7e-4)) * CAPACITY, float(rng.choice([3.9, 4.0, 4.3])),
            float(rng.uniform(0.05, 0.08)) * CAPACITY, iterations))
    return Instance(tuple(out), name=f"trace-shaped-{jobs}x{iterations}-seed{seed}")


def cases(count: int, base_seed: int = 0) -> list[Case]:
    """``count`` cases alternating the two families; the shape and Q vary with the seed."""
    out = []
    for k in range(count):
        seed = base_seed + k
        rng = np.random.default_rng([seed, 17])
        quantum = int(rng.integers(1, 3))
        weighted = bool(k % 4 >= 2)
        if k % 2 == 0:
            jobs, iters = int(rng.integers(3, 7)), int(rng.integers(2, 4))
            inst = small_instance(jobs, iters, (4, 6, 8, 10), seed=seed, interarrival_s=20.0,
                                  priorities=(1, 2, 4))
        else:
            jobs, iters = int(rng.integers(2, 4)), int(rng.integers(3, 7))
            inst = trace_shaped_instance(seed, jobs, iters)
        out.append(Case(inst.name, inst, quantum, weighted))
    return out


def prove(case: Case, time_limit_s: float = 10.0) -> Proven | None:
    """The case with its B&B optimum and the B&B's and upper_bound's schedules; None if the
    optimum is not proven within ``time_limit_s``."""
    problem = OfflineProblem(case.instance, 1, case.quantum, CAPACITY)
    res = branch_and_bound(problem, case.weighted, options=BnbOptions(time_limit_s=time_limit_s))
    if res.status != "optimal" or res.schedule is None:
        return None
    ub = upper_bound(case.instance, 1, case.quantum, CAPACITY, case.weighted, time_limit_s=1.0)
    assert ub.schedule is not None
    return Proven(case, res.objective, [res.schedule, ub.schedule])


Bound = Callable[[Case], float]


def scalable_bound(case: Case, classical_servers: int | None = 1) -> float:
    """bounds_scale.lower_bound's best value on the case (C = 1 or C = infinity)."""
    return lower_bound(case.instance, classical_servers, case.quantum, CAPACITY,
                       case.weighted).best


def bound_violations(proven: list[Proven], bound: Bound, rel_tol: float = 1e-9) -> list[str]:
    """Every case where ``bound`` exceeds the proven optimum or the sum of (weighted) delays
    of a checked schedule (beyond ``rel_tol`` relative); empty = valid on these cases."""
    problems = []
    for p in proven:
        value = bound(p.case)
        slack = rel_tol * max(1.0, abs(p.optimum))
        if value > p.optimum + slack:
            problems.append(f"{p.case.name}: bound {value:.9g} > optimum {p.optimum:.9g}")
        for s in p.schedules:
            cost = s.sum_delays_s(p.case.instance, p.case.weighted)
            if value > cost + slack:
                problems.append(f"{p.case.name}: bound {value:.9g} > schedule cost {cost:.9g}")
    return problems


def calibration_rows(proven: list[Proven]) -> list[dict[str, float | str | bool]]:
    """Per proven case: OPT, LB (C = 1), LB (C = infinity), UB and their ratios to OPT."""
    rows: list[dict[str, float | str | bool]] = []
    for p in proven:
        lb1 = lower_bound(p.case.instance, 1, p.case.quantum, CAPACITY, p.case.weighted)
        lbinf = scalable_bound(p.case, None)
        ub = min(s.sum_delays_s(p.case.instance, p.case.weighted) for s in p.schedules[1:])
        rows.append({"case": p.case.name, "family": p.case.name.split("-")[0],
                     "quantum": p.case.quantum, "weighted": p.case.weighted,
                     "opt_s": p.optimum, "lb_s": lb1.best, "lb_name": lb1.best_name,
                     "lb_inf_s": lbinf, "ub_s": ub, "lb_over_opt": lb1.best / p.optimum,
                     "lb_inf_over_opt": lbinf / p.optimum, "ub_over_opt": ub / p.optimum})
    return rows
