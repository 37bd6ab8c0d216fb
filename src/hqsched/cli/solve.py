"""``hqsched instance generate`` and ``hqsched solve``: the offline part's subcommands.

Each subcommand sets ``func(args) -> int`` (the exit code). The solver takes
``warm_start_provider(instance, platform) -> Schedule | None`` as its first
incumbent; the command plugs in the online simulator's best schedule
(``formulation`` itself never imports ``online``).

Bad input raises ``InputError``; the top-level CLI prints one line naming the
file/option and the value and exits with code 2, no traceback.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from hqsched import progress
from hqsched.cli import interrupt
from hqsched.cli.arguments import (
    DURATION_UNITS,
    SIMULATOR_KERNELS,
    SOLVER_KERNELS,
    add_progress_options,
    capacity,
    check_instance_size,
    compile_notice,
    gap_seconds,
    int_list,
    nonnegative_int,
    output_file,
    positive_int,
    priority_list,
    seconds,
    servers,
)
from hqsched.errors import InputError
from hqsched.experiments.scenario import QC_GROUP_SYNTAX, parse_qc_groups, qc_groups_of
from hqsched.formulation.bnb import SearchInterrupted
from hqsched.formulation.cpsat import MISSING as CPSAT_MISSING
from hqsched.formulation.cpsat import available as cpsat_available
from hqsched.formulation.highs_run import SolveInterrupted, set_cancel_hook
from hqsched.formulation.options import SolveOptions
from hqsched.formulation.problem import SolveResult
from hqsched.formulation.solve import lp_bound, solve_delays, solve_min_capacity
from hqsched.inputs import MAX_INSTANCE_TASKS
from hqsched.instances.fleet import check_eligible, time_factors
from hqsched.instances.generate import small_instance
from hqsched.instances.io import read_instance, write_instance
from hqsched.instances.model import Instance, Platform, QCGroup
from hqsched.instances.schedule import Schedule
from hqsched.instances.traces import load_traces
from hqsched.online.instance_runs import best_online_schedule

WarmStartProvider = Callable[[Instance, Platform], Schedule | None]


def register(subparsers: argparse._SubParsersAction,
             warm_start_provider: WarmStartProvider | None = best_online_schedule) -> None:
    """Add ``instance generate`` and ``solve`` to a top-level argparse subparsers object."""
    inst = subparsers.add_parser("instance", description="Build offline instances (hqsched "
                                 "solve, plan exact, simulate --instance).")
    inst_sub = inst.add_subparsers(dest="instance_command", metavar="ACTION", required=True)
    gen = inst_sub.add_parser("generate", help="draw a small instance from the bundled traces")
    gen.add_argument("--jobs", type=positive_int, required=True, metavar="J",
                     help=f"number of jobs, required (jobs x (2 x iterations + 2) tasks <= "
                          f"{MAX_INSTANCE_TASKS})")
    gen.add_argument("--iterations", type=nonnegative_int, required=True, metavar="I",
                     help="iterations of every job, required (trace counts are far too large "
                          "to solve)")
    gen.add_argument("--qubits", type=int_list, default=(4, 6, 8, 10), metavar="LIST",
                     help="qubit counts drawn uniformly (default 4,6,8,10)")
    gen.add_argument("--priorities", type=priority_list, default=(1, 2, 4), metavar="LIST",
                     help="priorities drawn uniformly (default 1,2,4, as simulate; 1 for "
                          "unweighted instances)")
    gen.add_argument("--seed", type=nonnegative_int, default=0, metavar="N",
                     help="the one seed of the draw (default 0)")
    gen.add_argument("--interarrival", type=gap_seconds, required=True, metavar="T",
                     help=f"mean gap between Poisson arrivals, required: {DURATION_UNITS}")
    gen.add_argument("--grid", type=gap_seconds, default=None, metavar="T",
                     help=f"round every duration UP to a multiple of this ({DURATION_UNITS}); "
                          f"changes the problem (default: no rounding)")
    gen.add_argument("--worker-capacity", type=capacity, default=1e9, metavar="S",
                     help="S (ops/s, 1 to 1e15), used only with --grid (default 1e9)")
    gen.add_argument("--out", metavar="FILE", help="instance JSON to write, required")
    gen.add_argument("-o", "--output", dest="out", help=argparse.SUPPRESS)  # the old spelling
    gen.set_defaults(func=_generate)

    solve = subparsers.add_parser(
        "solve", description="The offline optimum of an instance: minimal sum of delays (or "
                             "minimal capacity under a delay bound), with a proof or a gap.")
    solve.add_argument("instance", help="instance JSON (hqsched instance generate)")
    solve.add_argument("--classical-workers", type=servers, default=1, metavar="C",
                       help="C, classical servers (default 1)")
    solve.add_argument("--quantum-computers", type=servers, default=1, metavar="Q",
                       help="Q, quantum computers (default 1)")
    solve.add_argument("--worker-capacity", type=capacity, default=1e9, metavar="S",
                       help="S (ops/s, 1 to 1e15; default 1e9)")
    solve.add_argument("--qc-group", action="append", default=None, metavar="GROUP",
                       help=f"a heterogeneous QC fleet instead of Q identical QCs: "
                            f"{QC_GROUP_SYNTAX}, repeatable (as simulate; solved by the "
                            f"MILP only, docs/platform-features.md section 4)")
    solve.add_argument("--time-limit", type=seconds, default=60.0, metavar="T",
                       help=f"solver time limit, {DURATION_UNITS} (default 60 s; compiling "
                            f"the kernels on a first run is not counted)")
    solve.add_argument("--weighted", action="store_true", help="weight delays by priority")
    solve.add_argument("--relax-classical", action="store_true",
                       help="C = infinity: lower bound for serverless runs")
    solve.add_argument("--lp-bound", action="store_true", help="also print the LP-relaxation bound")
    solve.add_argument("--method", choices=("auto", "milp", "bnb", "cpsat"), default="auto",
                       help="HiGHS MILP, the exact branch and bound for one classical server, "
                            "or OR-Tools CP-SAT (extra 'ortools'); auto: bnb when C = 1, else "
                            "cpsat if installed, else milp; --min-capacity: cpsat first")
    solve.add_argument("--min-capacity", choices=("classical", "quantum"), default=None,
                       help="minimize this capacity subject to every delay <= --delta-max")
    solve.add_argument("--delta-max", type=seconds, default=None, metavar="T",
                       help=f"delay bound for --min-capacity, {DURATION_UNITS}")
    solve.add_argument("--gantt", default=None, metavar="FILE",
                       help="write a Gantt chart: PNG, or PDF / SVG for a .pdf / .svg name "
                            "(.png is appended to a name without a suffix)")
    solve.add_argument("--out", default=None, metavar="FILE",
                       help="write the schedule CSV (default: none)")
    add_progress_options(solve)
    solve.set_defaults(func=_solve, warm_start_provider=warm_start_provider)


def _generate(args: argparse.Namespace) -> int:
    # InputError and OSError reach the top-level CLI, which prints one line, exit 2.
    if args.out is None:
        raise InputError("instance generate: --out FILE is required (the instance JSON to "
                         "write)")
    output = output_file(args.out, "--out", None, "instance.json")
    tasks = args.jobs * (2 * args.iterations + 2)
    if tasks > MAX_INSTANCE_TASKS:
        raise InputError(f"--jobs {args.jobs} x --iterations {args.iterations}: "
                         f"{tasks} tasks, more than the limit of {MAX_INSTANCE_TASKS} for an "
                         f"offline instance")
    inst = small_instance(args.jobs, args.iterations, args.qubits, args.seed, args.interarrival,
                          args.priorities, args.grid, worker_capacity_ops_per_s=args.worker_capacity)
    write_instance(inst, output)
    print(f"wrote {output}: {len(inst)} jobs, {sum(j.task_count for j in inst.jobs)} tasks")
    return 0


def _solve(args: argparse.Namespace) -> int:
    # Every option is checked before the (long) solve: a bad --gantt must not waste it.
    classical = None if args.relax_classical else args.classical_workers
    if args.method == "bnb" and args.min_capacity is None and classical != 1:
        given = ("--relax-classical" if classical is None
                 else f"--classical-workers {classical}")
        raise InputError(f"--method bnb: the branch and bound solves one classical server, "
                         f"got {given} (use --method milp or auto)")
    if args.method == "cpsat" and not cpsat_available():
        raise InputError(f"--method cpsat: {CPSAT_MISSING}")
    vector = args.gantt and Path(args.gantt).suffix.lower() in (".pdf", ".svg")
    gantt = output_file(args.gantt, "--gantt", Path(args.gantt).suffix.lower() if vector
                        else ".png", "gantt.png") if args.gantt else None
    out = output_file(args.out, "--out", None) if args.out else None
    _fleet_option(args)
    inst = read_instance(args.instance)
    check_instance_size(inst, args.instance)
    if args.qc_groups:
        check_fleet_fits(args.qc_groups, [j.qubits for j in inst.jobs])
    if args.min_capacity is not None and args.delta_max is None:
        raise InputError("--min-capacity needs --delta-max (seconds)")
    _compile_first(inst, args)
    set_cancel_hook(interrupt.handling)  # Ctrl-C in HiGHS: we print its incumbent below
    try:
        with progress.timer(args.time_limit, "solve"):
            result = _run_solver(inst, classical, args)
    except SolveInterrupted as stop:  # Ctrl-C in the MILP: keep its incumbent, if any
        milp = stop.result
        if milp is None or milp.schedule is None:
            interrupt.handling()
        else:
            _keep_incumbent(Incumbent(milp.schedule, milp.objective, milp.best_bound,
                                      milp.message), inst, out, gantt, args, classical)
        raise
    except SearchInterrupted as stop:  # Ctrl-C in the branch and bound: keep its incumbent
        bnb = stop.result
        _keep_incumbent(Incumbent(bnb.schedule, bnb.objective, bnb.bound,
                                  f"{bnb.nodes} nodes, {bnb.time_s:.1f} s"),
                        inst, out, gantt, args, classical)
        raise
    print(result.summary())
    if args.lp_bound and args.min_capacity is None:
        lp = lp_bound(inst, classical, args.quantum_computers, args.worker_capacity,
                      SolveOptions(weighted=args.weighted, time_limit_s=args.time_limit),
                      qc_groups=args.qc_groups)
        print(f"lp_bound: {lp.summary()}")
    if args.min_capacity is None:
        _write_schedule(result.schedule, inst, out, gantt,
                        (result.status, result.objective, args.weighted, result.best_bound),
                        (classical, args.quantum_computers))
    else:  # the objective is a server count; the lanes are those the schedule uses
        _write_schedule(result.schedule, inst, out, gantt,
                        f"{result.status}: fewest {args.min_capacity} servers "
                        f"{result.objective:g}", None)
    return {"optimal": 0, "feasible": 0}.get(result.status, 1)


class Incumbent(NamedTuple):
    """The best schedule an interrupted solve knew: its sum of delays and proven lower
    bound (s; None: unknown), and what the solver says about it."""

    schedule: Schedule | None  # None: none found yet (a B&B stopped before its first)
    objective: float
    bound: float | None
    detail: str


def _keep_incumbent(found: Incumbent, inst: Instance, out: Path | None, gantt: Path | None,
                    args: argparse.Namespace, classical: int | None) -> None:
    """Print and write the best schedule an interrupted solve knew."""
    interrupt.handling()
    bound = "unknown" if found.bound is None else f"{found.bound:.6g} s"
    print(f"interrupted: best schedule so far, sum of delays {found.objective:.6g} s, "
          f"proven lower bound {bound} ({found.detail})")
    _write_schedule(found.schedule, inst, out, gantt,
                    ("interrupted", found.objective, args.weighted, found.bound),
                    (classical, args.quantum_computers))
    interrupt.keep("the best schedule so far is printed above"
                   + (f" and written to {out}" if out is not None else ""))


def _fleet_option(args: argparse.Namespace) -> None:
    """``args.qc_groups``: the QC groups of ``--qc-group`` (empty: identical QCs); with them,
    ``args.quantum_computers`` becomes their total (a different explicit value is refused)."""
    args.qc_groups = qc_groups_of(parse_qc_groups(args.qc_group, "--qc-group"),
                                  "--qc-group") if args.qc_group else ()
    if not args.qc_groups:
        return
    total = sum(g.count for g in args.qc_groups)
    if args.quantum_computers not in (1, total):
        raise InputError(f"--quantum-computers={args.quantum_computers}: differs from the QC "
                         f"groups' total {total} (--qc-group); give one of them")
    if args.min_capacity is not None:
        raise InputError("--min-capacity: searches a count of identical servers; with "
                         "--qc-group use hqsched plan fleet")
    args.quantum_computers = total


def check_fleet_fits(groups: tuple[QCGroup, ...], qubit_counts: list[int]) -> None:
    """Every job fits a group, and every backend group has the bundled traces' estimates
    at the jobs' qubit counts (what the solver will use)."""
    check_eligible(groups, qubit_counts, "--qc-group")
    if any(g.backend is not None for g in groups):
        try:
            time_factors(groups, sorted(set(qubit_counts)), load_traces(None).ibm_estimate_s)
        except InputError as exc:
            raise InputError(f"--qc-group: {exc}") from None


def _run_solver(inst: Instance, classical: int | None, args: argparse.Namespace) -> SolveResult:
    """The solve the options ask for: minimal capacity, or minimal sum of delays."""
    if args.min_capacity is not None:
        return solve_min_capacity(inst, args.min_capacity, args.delta_max, classical,
                                  args.quantum_computers, args.worker_capacity, args.time_limit,
                                  args.method)
    return solve_delays(inst, classical, args.quantum_computers, args.worker_capacity,
                        SolveOptions(weighted=args.weighted, time_limit_s=args.time_limit,
                                     warm_start_provider=args.warm_start_provider,
                                     method=args.method), qc_groups=args.qc_groups)


def _compile_first(inst: Instance, args: argparse.Namespace) -> None:
    """On a cold numba cache, say so and compile the kernels on the instance's first two
    jobs before the timed solve: the reported solve time and the time limit are then the
    solve's own (a first run otherwise counts ~20 s of compiling as solving)."""
    kernels = SOLVER_KERNELS + (SIMULATOR_KERNELS if args.warm_start_provider else ())
    if not compile_notice(*kernels):
        return
    tiny = Instance(inst.jobs[:2], name="compile")
    solve_delays(tiny, 1, args.quantum_computers, args.worker_capacity,
                 SolveOptions(time_limit_s=60.0, warm_start_provider=args.warm_start_provider,
                              method="bnb"))


def _write_schedule(schedule: Schedule | None, inst: Instance, out: Path | None,
                    gantt: Path | None,
                    title: str | tuple[str, float | None, bool, float | None],
                    servers: tuple[int | None, int] | None) -> None:
    """Write ``schedule`` as the --out CSV and the --gantt PNG, if asked; ``title``: the
    text, or the arguments of ``gantt.schedule_title``; ``servers``: (C, Q), every
    server drawn (None: the servers the schedule uses)."""
    if schedule is None:
        return
    if out is not None:
        schedule.write_csv(out)
        print(f"wrote {out}")
    if gantt is not None:
        # matplotlib: 0.7 s, only for --gantt
        from hqsched.reports.gantt import schedule_title, write_gantt
        text = title if isinstance(title, str) else schedule_title(*title)
        write_gantt(schedule, gantt, inst, title=f"{inst.name}: {text}", servers=servers)
        print(f"wrote {gantt}")

