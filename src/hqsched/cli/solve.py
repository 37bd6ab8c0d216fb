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

from hqsched.cli.arguments import (
    capacity,
    check_instance_size,
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
from hqsched.formulation.options import SolveOptions
from hqsched.formulation.solve import lp_bound, solve_delays, solve_min_capacity
from hqsched.inputs import MAX_INSTANCE_TASKS
from hqsched.instances.generate import small_instance
from hqsched.instances.io import read_instance, write_instance
from hqsched.instances.model import Instance, Platform
from hqsched.instances.schedule import Schedule
from hqsched.online.instance_runs import best_online_schedule

WarmStartProvider = Callable[[Instance, Platform], Schedule | None]


def register(subparsers: argparse._SubParsersAction,
             warm_start_provider: WarmStartProvider | None = best_online_schedule) -> None:
    """Add ``instance generate`` and ``solve`` to a top-level argparse subparsers object."""
    inst = subparsers.add_parser("instance")
    inst_sub = inst.add_subparsers(dest="instance_command", required=True)
    gen = inst_sub.add_parser("generate", help="draw a small instance from the bundled traces")
    gen.add_argument("--jobs", type=positive_int, required=True,
                     help=f"jobs (jobs x (2 x iterations + 2) tasks <= {MAX_INSTANCE_TASKS})")
    gen.add_argument("--iterations", type=nonnegative_int, required=True,
                     help="iterations of every job (trace counts are far too large to solve)")
    gen.add_argument("--qubits", type=int_list, default=(4, 6, 8, 10))
    gen.add_argument("--priorities", type=priority_list, default=(1,))
    gen.add_argument("--seed", type=nonnegative_int, default=0)
    gen.add_argument("--interarrival", type=gap_seconds, required=True,
                     help="mean gap between Poisson arrivals (s)")
    gen.add_argument("--grid", type=gap_seconds, default=None,
                     help="round every duration UP to a multiple of this (s); changes the problem")
    gen.add_argument("--worker-capacity", type=capacity, default=1e9,
                     help="S (ops/s, 1 to 1e15), used only with --grid")
    gen.add_argument("-o", "--output", required=True, help="instance JSON to write")
    gen.set_defaults(func=_generate)

    solve = subparsers.add_parser("solve")
    solve.add_argument("instance", help="instance JSON")
    solve.add_argument("--classical-workers", type=servers, default=1)
    solve.add_argument("--quantum-computers", type=servers, default=1)
    solve.add_argument("--worker-capacity", type=capacity, default=1e9,
                       help="S (ops/s, 1 to 1e15)")
    solve.add_argument("--time-limit", type=seconds, default=60.0,
                       help="seconds")
    solve.add_argument("--weighted", action="store_true", help="weight delays by priority")
    solve.add_argument("--relax-classical", action="store_true",
                       help="C = infinity: lower bound for serverless runs")
    solve.add_argument("--lp-bound", action="store_true", help="also print the LP-relaxation bound")
    solve.add_argument("--method", choices=("auto", "milp", "bnb"), default="auto",
                       help="sum of delays: HiGHS MILP, or the exact branch and bound for one "
                            "classical server (auto: bnb when C = 1)")
    solve.add_argument("--min-capacity", choices=("classical", "quantum"), default=None,
                       help="minimize this capacity subject to every delay <= --delta-max")
    solve.add_argument("--delta-max", type=seconds, default=None,
                       help="delay bound (s) for --min-capacity")
    solve.add_argument("--gantt", default=None,
                       help="write a Gantt chart PNG (.png is appended to a name without "
                            "a suffix)")
    solve.add_argument("--out", default=None, help="write the schedule CSV")
    solve.set_defaults(func=_solve, warm_start_provider=warm_start_provider)


def _generate(args: argparse.Namespace) -> int:
    # InputError and OSError reach the top-level CLI, which prints one line, exit 2.
    output = output_file(args.output, "--output", None, "instance.json")
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
    gantt = output_file(args.gantt, "--gantt", ".png", "gantt.png") if args.gantt else None
    out = output_file(args.out, "--out", None) if args.out else None
    inst = read_instance(args.instance)
    check_instance_size(inst, args.instance)
    if args.min_capacity is not None:
        if args.delta_max is None:
            raise InputError("--min-capacity needs --delta-max (seconds)")
        result = solve_min_capacity(inst, args.min_capacity, args.delta_max, classical,
                                    args.quantum_computers, args.worker_capacity, args.time_limit)
    else:
        result = solve_delays(inst, classical, args.quantum_computers, args.worker_capacity,
                              SolveOptions(weighted=args.weighted, time_limit_s=args.time_limit,
                                           warm_start_provider=args.warm_start_provider,
                                           method=args.method))
    print(result.summary())
    if args.lp_bound and args.min_capacity is None:
        lp = lp_bound(inst, classical, args.quantum_computers, args.worker_capacity,
                      SolveOptions(weighted=args.weighted, time_limit_s=args.time_limit))
        print(f"lp_bound: {lp.summary()}")
    if result.schedule is not None:
        if out is not None:
            result.schedule.write_csv(out)
            print(f"wrote {out}")
        if gantt is not None:
            from hqsched.reports.gantt import write_gantt  # matplotlib: 0.7 s, only for --gantt
            write_gantt(result.schedule, gantt, inst,
                        title=f"{inst.name}: {result.status}, objective {result.objective:.6g}")
            print(f"wrote {gantt}")
    return {"optimal": 0, "feasible": 0}.get(result.status, 1)

