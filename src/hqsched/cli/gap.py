"""``hqsched gap`` (optimal-versus-online gap study) and ``hqsched invariants``.

The top-level CLI adds both with ``register``.
"""

from __future__ import annotations

import argparse
import time

from hqsched.cli.arguments import (
    gap_seconds,
    int_list,
    nonnegative_int,
    positive_int,
    priority_list,
    processes,
    seconds,
    seed_count,
    servers,
)
from hqsched.errors import InputError
from hqsched.inputs import MAX_INT
from hqsched.validation import invariants
from hqsched.validation.gap import (
    BOXPLOT_PNG,
    INSTANCES_CSV,
    MAX_TASKS_PER_INSTANCE,
    SUMMARY_CSV,
    GapConfig,
    format_summary,
    run_study,
    summarize,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``gap`` and ``invariants`` subcommands."""
    d = GapConfig()
    p = subparsers.add_parser(
        "gap",
        description="For N trace-derived instances (instance k uses seed SEED+k), compare every "
                    "policy's online sum of delays with the offline optimum (dedicated mode) and "
                    "with the C = infinity bound (serverless mode). Resumable: finished "
                    "instances in --out are kept.")
    p.add_argument("--instances", type=seed_count, default=d.instances, metavar="N")
    p.add_argument("--jobs", type=positive_int, default=d.jobs, metavar="J")
    p.add_argument("--iterations", type=positive_int, default=d.iterations, metavar="I")
    p.add_argument("--classical-workers", type=servers, default=d.classical_workers,
                   metavar="C")
    p.add_argument("--quantum-computers", type=servers, default=d.quantum_computers,
                   metavar="Q")
    p.add_argument("--qubits", type=int_list, default=d.qubits, metavar="LIST",
                   help="qubit counts drawn uniformly (default 4,6,8,10)")
    p.add_argument("--priorities", type=priority_list, default=d.priorities, metavar="LIST",
                   help="priorities drawn uniformly (default 1,2,4)")
    p.add_argument("--interarrival", type=gap_seconds, default=d.interarrival_s, metavar="S",
                   help=f"mean Poisson inter-arrival time, seconds (default {d.interarrival_s:g})")
    p.add_argument("--weighted", action="store_true",
                   help="objective: priority-weighted sum of delays (default unweighted)")
    p.add_argument("--time-limit", type=seconds, default=d.time_limit_s, metavar="S",
                   help=f"per-instance dedicated solve limit, seconds (default {d.time_limit_s:g})")
    p.add_argument("--method", choices=("auto", "milp", "bnb"), default=d.method,
                   help="dedicated solve: auto (branch and bound when C = 1, else MILP), "
                        "milp or bnb")
    p.add_argument("--relax-time-limit", type=seconds, default=d.relax_time_limit_s,
                   metavar="S", help="per-instance C = infinity MILP limit, seconds "
                                     f"(default {d.relax_time_limit_s:g})")
    p.add_argument("--seed", type=nonnegative_int, default=d.base_seed, metavar="N",
                   help="base seed: instance k and its randomised policies use N + k (default 0)")
    p.add_argument("--processes", type=processes, default=None, metavar="P",
                   help="worker processes over instances (default: all cores; 1 = no pool)")
    p.add_argument("--progress", action="store_true",
                   help="show the progress bar even when stderr is not a terminal")
    p.add_argument("--out", required=True, metavar="DIR")
    p.set_defaults(func=run_gap)

    q = subparsers.add_parser(
        "invariants",
        description="Online dedicated >= offline optimum, serverless >= C = infinity bound, "
                    "solver and simulator schedules pass the checker. Exit code 1 on a failure.")
    invariants.add_arguments(q)
    q.set_defaults(func=invariants.run_from_args)


def run_gap(ns: argparse.Namespace) -> int:
    tasks = ns.jobs * (2 * ns.iterations + 2)
    if tasks > MAX_TASKS_PER_INSTANCE:
        raise InputError(f"--jobs {ns.jobs} x --iterations {ns.iterations}: {tasks} tasks per "
                         f"instance, more than the limit of {MAX_TASKS_PER_INSTANCE} (the study "
                         f"needs proven optima)")
    if ns.seed + ns.instances - 1 > MAX_INT:
        raise InputError(f"--seed: instance seeds SEED + k must stay <= {MAX_INT}, "
                         f"got --seed {ns.seed} with --instances {ns.instances}")
    cfg = GapConfig(instances=ns.instances, jobs=ns.jobs, iterations=ns.iterations,
                    classical_workers=ns.classical_workers,
                    quantum_computers=ns.quantum_computers, qubits=ns.qubits,
                    priorities=ns.priorities, interarrival_s=ns.interarrival,
                    base_seed=ns.seed, weighted=ns.weighted, time_limit_s=ns.time_limit,
                    relax_time_limit_s=ns.relax_time_limit, method=ns.method)
    t0 = time.perf_counter()
    frame = run_study(cfg, ns.out, processes=ns.processes, force_progress=ns.progress)
    wall = time.perf_counter() - t0
    print(format_summary(summarize(frame)))
    n = frame["instance"].nunique()
    per_inst = frame.drop_duplicates("instance")
    print(f"\n{n} instances ({cfg.jobs} jobs x {cfg.iterations} iterations, C={cfg.classical_workers}, "
          f"Q={cfg.quantum_computers}, interarrival {cfg.interarrival_s:g} s); dedicated optimum "
          f"proven on {int((per_inst['opt_status'] == 'optimal').sum())}, C=inf on "
          f"{int((per_inst['relax_status'] == 'optimal').sum())}; wall {wall:.1f} s")
    print(f"files: {ns.out}/{INSTANCES_CSV}, {ns.out}/{SUMMARY_CSV}, {ns.out}/{BOXPLOT_PNG}")
    return 0
