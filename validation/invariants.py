"""Cross-part invariants (MODEL.md, "What must hold between the parts") on many tiny instances.

For one *case* (an instance, ``C``, ``Q``, ``S`` and the objective), with
admission off (every job accepted), ``check_case`` verifies:

``solver_schedule_checked``
    the solver's schedule for ``C`` classical servers passes
    ``check_schedule``, its reported
    objective equals the schedule's own sum of delays, and its ``best_bound``
    (a LOWER bound) does not exceed it;
``relaxation_schedule_checked``
    the same for the ``C = infinity`` relaxation (classical tasks on the
    shared pool);
``relaxation_below_optimum``
    the ``C = infinity`` lower bound is <= the dedicated incumbent (an UPPER
    bound on the dedicated optimum): removing capacity limits never hurts;
``dedicated_schedule_checked``
    every policy's dedicated-mode simulator schedule passes the checker and
    ends each job exactly when the simulator's per-job record says;
``dedicated_ge_optimum``
    every policy's dedicated sum of delays is >= the offline optimum (the
    online schedule is feasible offline). The comparison is against the
    solver's *lower* bound: the optimum when proven, else ``best_bound``
    (weaker but still valid). Solves here get NO online warm start, so the
    solver's value is independent of the runs it is compared with;
``serverless_ge_relaxation``
    every policy's serverless (processor-sharing) sum of delays is >= the
    ``C = infinity`` lower bound (a shared task never runs faster than S).

Instances are tiny (2-4 jobs, 0-2 iterations): random ones with integer
durations on a coarse grid, zero-work classical tasks and tied arrival times
(ties are where event-order bugs hide), and trace-derived ones from
``small_instance``.

Run ``python -m hqsched.validation.invariants --instances 300``; exit code 1
if any invariant fails (each failure printed with its instance as JSON).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hqsched import inputs
from hqsched.errors import InputError
from hqsched.experiments.executor import ExecutorOptions, UnitBatch, map_units
from hqsched.experiments.replications import SOLVE_BUDGET_S, check_solve_time
from hqsched.formulation.checker import check_schedule
from hqsched.formulation.options import SolveOptions
from hqsched.formulation.solve import solve_delays
from hqsched.instances.generate import small_instance
from hqsched.instances.io import instance_to_dict
from hqsched.instances.model import Instance, Job, Platform
from hqsched.instances.schedule import Schedule
from hqsched.online.instance_runs import record_delays_s, run_instance
from hqsched.online.policies import POLICIES
from hqsched.tables import format_row

#: Every invariant, in report order.
INVARIANTS = ("solver_schedule_checked", "relaxation_schedule_checked", "relaxation_below_optimum",
              "dedicated_schedule_checked", "dedicated_ge_optimum", "serverless_ge_relaxation")

#: Absolute + relative slack (seconds, fraction) when comparing sums of delays:
#: HiGHS stops at mip_rel_gap 1e-7 / mip_abs_gap 1e-7 and its feasibility
#: tolerances are ~1e-9 s per task; 1e-6 covers both with room, and is far
#: below any real violation (durations here are >= 0.25 s or trace-sized).
ABS_TOL_S = 1e-6
REL_TOL = 1e-6


@dataclass(frozen=True)
class Case:
    """One instance and the platform/objective it is checked on."""

    instance: Instance
    classical_servers: int
    quantum_servers: int
    worker_capacity_ops_per_s: float
    weighted: bool
    origin: str  # "random-<seed>" or "trace-<seed>": how to rebuild it

    def describe(self) -> str:
        return (f"{self.origin}: C={self.classical_servers} Q={self.quantum_servers} "
                f"S={self.worker_capacity_ops_per_s:g} weighted={self.weighted}")


@dataclass
class CaseOutcome:
    """Per invariant: number of comparisons made and failure messages."""

    origin: str
    checks: Counter = field(default_factory=Counter)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (invariant, message)
    proven_optimal: bool = False
    relaxation_proven: bool = False
    seconds: float = 0.0
    instance_json: str = ""

    def fail(self, invariant: str, message: str) -> None:
        self.failures.append((invariant, message))


# --------------------------------------------------------------------- instances
def random_tiny_case(seed: int) -> Case:
    """A random 2-4 job, 0-2 iteration case with ties; deterministic in ``seed``.

    ``S = 1`` so a classical task's work (operations) is its duration (s).
    Durations are multiples of 0.25 s from a few values (ties between
    completions), classical work is 0 with probability ~1/4, and arrivals
    come from {0, 1, 2, 4} s (frequent equal arrivals).
    """
    rng = np.random.default_rng([seed, 4242])
    n_jobs = int(rng.integers(2, 5))
    classical = (0.0, 0.0, 0.25, 1.0, 2.0, 3.0, 5.0)
    quantum = (0.25, 1.0, 2.0, 3.0, 4.0)  # quantum times must be > 0 (model.Job)
    # Cap the chain work so the MILP stays well under a second: at most 6
    # iterations over the whole instance.
    budget = 6
    jobs = []
    for j in range(n_jobs):
        n = int(rng.integers(0, min(2, budget) + 1))
        budget -= n
        jobs.append(Job(
            job_id=j, arrival_s=float(rng.choice((0.0, 0.0, 1.0, 2.0, 4.0))),
            qubits=int(rng.choice((4, 6, 8, 10))), priority=int(rng.choice((1, 2, 4))),
            pre_ops=float(rng.choice(classical)),
            iteration_ops=tuple(float(rng.choice(classical)) for _ in range(n)),
            quantum_s=tuple(float(rng.choice(quantum)) for _ in range(n)),
            post_ops=float(rng.choice(classical))))
    return Case(Instance(tuple(jobs), name=f"random-{seed}"),
                classical_servers=int(rng.integers(1, 3)), quantum_servers=int(rng.integers(1, 3)),
                worker_capacity_ops_per_s=1.0, weighted=bool(rng.integers(0, 2)),
                origin=f"random-{seed}")


def trace_case(seed: int) -> Case:
    """A trace-derived case from ``small_instance`` (2-3 jobs, 1-2 iterations, S = 1e9 ops/s).

    Interarrival 10 s against ~14 s classical ``pre`` tasks: jobs overlap, so
    the queues and the policies matter.
    """
    rng = np.random.default_rng([seed, 777])
    jobs, iterations = [(2, 2), (3, 1), (3, 2), (4, 1)][int(rng.integers(0, 4))]
    inst = small_instance(jobs, iterations, (4, 6, 8, 10), seed=seed, interarrival_s=10.0,
                          priorities=(1, 2, 4))
    return Case(inst, classical_servers=int(rng.integers(1, 3)),
                quantum_servers=int(rng.integers(1, 3)), worker_capacity_ops_per_s=1e9,
                weighted=bool(rng.integers(0, 2)), origin=f"trace-{seed}")


def case_from_origin(origin: str) -> Case:
    """Rebuild a case from its ``origin`` tag (to reproduce a reported failure)."""
    kind, seed = origin.rsplit("-", 1)
    return (random_tiny_case if kind == "random" else trace_case)(int(seed))


def cases(n: int, seed: int = 0) -> list[Case]:
    """``n`` cases: three random tiny ones for each trace-derived one (ties matter most)."""
    return [trace_case(seed + k) if k % 4 == 3 else random_tiny_case(seed + k) for k in range(n)]


# --------------------------------------------------------------------- checks
def _tol(value: float) -> float:
    return ABS_TOL_S + REL_TOL * abs(value)


def _simulate(case: Case, policy: str, mode: str, seed: int):
    platform = Platform(case.classical_servers, case.worker_capacity_ops_per_s,
                        case.quantum_servers)
    return run_instance(case.instance, platform, policy, mode, seed)


def _record_delays(case: Case, result) -> float:
    """Sum of (weighted) delays from the simulator's per-job records (s); NaN if any job is missing."""
    return record_delays_s(result, len(case.instance), case.weighted)


def _check_solve(case: Case, out: CaseOutcome, name: str, res, c: int | None) -> float | None:
    """Check one SolveResult; returns its LOWER bound on the optimum (s), or None if unusable."""
    out.checks[name] += 1
    if res.status not in ("optimal", "feasible") or res.schedule is None:
        out.fail(name, f"solver status {res.status}: {res.message}")
        return None
    bad = check_schedule(case.instance, res.schedule, c, case.quantum_servers,
                         case.worker_capacity_ops_per_s)
    if bad:
        out.fail(name, f"checker rejects the solver schedule: {bad[0]} (+{len(bad) - 1} more)")
    own = res.schedule.sum_delays_s(case.instance, case.weighted)
    if abs(own - res.objective) > _tol(own):
        out.fail(name, f"objective {res.objective!r} != schedule's sum of delays {own!r}")
    if res.best_bound is not None and res.best_bound > res.objective + _tol(res.objective):
        out.fail(name, f"best_bound {res.best_bound!r} > objective {res.objective!r}")
    if res.status == "optimal":
        return res.objective
    return res.best_bound


def check_case(case: Case, time_limit_s: float = 20.0, policy_seed: int = 0) -> CaseOutcome:
    """Every invariant on ``case``; randomised policies use ``policy_seed``."""
    t0 = time.perf_counter()
    out = CaseOutcome(case.origin, instance_json=json.dumps(instance_to_dict(case.instance)))
    inst, C, Q, S, w = (case.instance, case.classical_servers, case.quantum_servers,
                        case.worker_capacity_ops_per_s, case.weighted)
    # No warm start from the simulator: the optimum must not be derived from
    # the runs it bounds (the list heuristic is the only incumbent).
    options = SolveOptions(weighted=w, time_limit_s=time_limit_s)
    ded = solve_delays(inst, C, Q, S, options)
    relax = solve_delays(inst, None, Q, S, options)
    opt_lb = _check_solve(case, out, "solver_schedule_checked", ded, C)
    inf_lb = _check_solve(case, out, "relaxation_schedule_checked", relax, None)
    out.proven_optimal = ded.status == "optimal"
    out.relaxation_proven = relax.status == "optimal"
    if inf_lb is not None and ded.objective is not None:
        out.checks["relaxation_below_optimum"] += 1
        if inf_lb > ded.objective + _tol(ded.objective):
            out.fail("relaxation_below_optimum", f"C=inf bound {inf_lb!r} > dedicated "
                                                 f"incumbent {ded.objective!r}")

    for policy in sorted(POLICIES):
        run = _simulate(case, policy, "dedicated", policy_seed)
        sched: Schedule = run.schedule
        out.checks["dedicated_schedule_checked"] += 1
        bad = check_schedule(inst, sched, C, Q, S)
        recorded = _record_delays(case, run)
        own = sched.sum_delays_s(inst, w) if not bad else math.nan
        if bad:
            out.fail("dedicated_schedule_checked",
                     f"{policy}: checker rejects the dedicated schedule: {bad[0]} "
                     f"(+{len(bad) - 1} more)")
        elif not abs(own - recorded) <= _tol(own):
            out.fail("dedicated_schedule_checked", f"{policy}: schedule's sum of delays {own!r} "
                                                   f"!= simulator records' {recorded!r}")
        if opt_lb is not None:
            out.checks["dedicated_ge_optimum"] += 1
            if not recorded >= opt_lb - _tol(opt_lb):
                out.fail("dedicated_ge_optimum", f"{policy}: online {recorded!r} < offline "
                                                 f"{'optimum' if out.proven_optimal else 'bound'} "
                                                 f"{opt_lb!r}")
        ps = _record_delays(case, _simulate(case, policy, "serverless", policy_seed))
        if inf_lb is not None:
            out.checks["serverless_ge_relaxation"] += 1
            if not ps >= inf_lb - _tol(inf_lb):
                out.fail("serverless_ge_relaxation", f"{policy}: serverless {ps!r} < C=inf "
                                                     f"bound {inf_lb!r}")
    out.seconds = time.perf_counter() - t0
    return out


# --------------------------------------------------------------------- driver
_WIDTHS = (30, 7, 7)  # the report's columns: invariant, checks, failed


@dataclass
class InvariantReport:
    """Totals over a run: comparisons and failures per invariant."""

    cases: int = 0
    checks: Counter = field(default_factory=Counter)
    failed: Counter = field(default_factory=Counter)
    proven_optimal: int = 0
    relaxation_proven: int = 0
    failures: list[CaseOutcome] = field(default_factory=list)
    wall_s: float = 0.0
    max_case_s: float = 0.0

    def add(self, out: CaseOutcome) -> None:
        self.cases += 1
        self.checks.update(out.checks)
        self.failed.update(name for name, _ in out.failures)
        self.proven_optimal += out.proven_optimal
        self.relaxation_proven += out.relaxation_proven
        self.max_case_s = max(self.max_case_s, out.seconds)
        if out.failures:
            self.failures.append(out)

    @property
    def ok(self) -> bool:
        return not self.failures

    def format(self) -> str:
        """Totals, then one row per invariant (fixed widths: name, checks, failed)."""
        lines = [f"{self.cases} instances in {self.wall_s:.1f} s wall (slowest {self.max_case_s:.2f} s); "
                 f"dedicated optimum proven on {self.proven_optimal}, C=inf relaxation on "
                 f"{self.relaxation_proven}",
                 format_row(["invariant", "checks", "failed"], _WIDTHS, "<>>", " ")]
        for name in INVARIANTS:
            lines.append(format_row([name, str(self.checks[name]), str(self.failed[name])],
                                    _WIDTHS, "<>>", " "))
        for out in self.failures:
            for name, msg in out.failures:
                lines.append(f"FAIL {out.origin} [{name}] {msg}")
            lines.append(f"     instance: {out.instance_json}")
        lines.append("all invariants hold" if self.ok else f"{len(self.failures)} instance(s) fail")
        return "\n".join(lines)


def _check_one(time_limit_s: float, case: Case) -> CaseOutcome:
    return check_case(case, time_limit_s)


def run_invariants(n: int, seed: int = 0, processes: int | None = None,
                   time_limit_s: float = 20.0, progress: bool = False, *,
                   force_progress: bool = False) -> InvariantReport:
    """Check every invariant on ``cases(n, seed)``, each case a unit of the executor
    (``processes`` None = all cores, 1 = in this process; ``progress``: a bar on
    stderr when it is a terminal, always with ``force_progress``)."""
    inputs.require_positive_int(n, "invariants", "instances")
    inputs.require_nonnegative_int(seed, "invariants", "seed")
    inputs.require_positive_number(time_limit_s, "invariants", "time_limit_s")
    if n > inputs.MAX_SEEDS or seed + n - 1 > inputs.MAX_INT:
        raise InputError(f"invariants: instances must be at most {inputs.MAX_SEEDS} and seed + "
                         f"instances - 1 at most {inputs.MAX_INT}, got {n} from seed {seed}")
    t0 = time.perf_counter()
    report = InvariantReport()
    batch = UnitBatch(_check_one, time_limit_s, cases(n, seed), "invariants", "inst")
    # In case order, whatever the order they finish in: the report reads the same.
    for out in map_units(batch, ExecutorOptions(processes=processes, progress=progress,
                                                force_progress=force_progress)):
        report.add(out)
    report.wall_s = time.perf_counter() - t0
    return report


def _argument(parse: Callable[[Any, str], Any]) -> Callable[[str], Any]:
    """An argparse ``type=`` from a parser of ``hqsched.inputs`` (argparse names the option)."""
    def convert(text: str) -> Any:
        try:
            return parse(text, "")
        except InputError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix(": ")) from None
    return convert


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the invariants run (shared by ``python -m`` and the hqsched CLI)."""
    p.add_argument("--instances", type=_argument(inputs.bounded_int(1, inputs.MAX_SEEDS)),
                   default=300, metavar="N",
                   help=f"number of tiny instances (default 300, at most {inputs.MAX_SEEDS})")
    p.add_argument("--seed", type=_argument(inputs.parse_nonnegative_int), default=0,
                   help="instance k uses seed SEED + k (default 0)")
    p.add_argument("--processes", type=_argument(inputs.bounded_int(1, inputs.MAX_PROCESSES)),
                   default=None, metavar="P", help=inputs.PROCESSES_HELP)
    p.add_argument("--time-limit", type=_argument(inputs.parse_duration),
                   default=20.0, metavar="T",
                   help="per-solve time limit: 20, 20s, 1m (default 20 s; tiny solves take "
                        "< 1 s)")
    p.add_argument("--progress", action="store_true",
                   help="show the progress bar even when stderr is not a terminal")
    p.add_argument("--yes", action="store_true",
                   help=f"run even if its solves may take over {SOLVE_BUDGET_S:.0f} s in all")


def run_from_args(ns: argparse.Namespace) -> int:
    """Run and print the report; 0 if every invariant holds, 1 otherwise."""
    if not ns.yes:  # two solves per instance (the simulations of tiny instances are cheap)
        check_solve_time(2 * ns.instances * ns.time_limit,
                         f"--instances {ns.instances} x 2 solves of --time-limit {ns.time_limit:g} s",
                         "invariants", "lower --instances or --time-limit (tiny solves take < 1 s)")
    report = run_invariants(ns.instances, ns.seed, ns.processes, ns.time_limit,
                            progress=True, force_progress=ns.progress)
    print(report.format())
    return 0 if report.ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hqsched.validation.invariants",
                                description=__doc__.split("\n\n")[0])
    add_arguments(p)
    return run_from_args(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
