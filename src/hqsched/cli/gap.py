"""``hqsched gap`` (optimal-versus-online gap study) and ``hqsched invariants``.

The top-level CLI adds both with ``register``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from hqsched.cli import interrupt
from hqsched.cli.arguments import (
    DURATION_UNITS,
    PROCESSES_HELP,
    SIMULATOR_KERNELS,
    SOLVER_KERNELS,
    add_progress_options,
    argument_type,
    compile_notice,
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
from hqsched.experiments.replications import (
    SOLVE_BUDGET_S,
    check_expected_events,
    check_solve_time,
    expected_scenario_events,
)
from hqsched.inputs import MAX_INT
from hqsched.instances.model import Platform
from hqsched.online.config import SimulationConfig
from hqsched.provenance import ALLOW_MIXED_HELP
from hqsched.validation import invariants
from hqsched.validation.gap import (
    INSTANCES_CSV,
    MAX_TASKS_PER_INSTANCE,
    MODES,
    SUMMARY_CSV,
    GapConfig,
    format_summary,
    run_study,
    summarize,
)
from hqsched.validation.gap_realistic import REALISTIC_Q, parse_loads


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``gap`` and ``invariants`` subcommands."""
    d = GapConfig()
    p = subparsers.add_parser(
        "gap",
        description="For N trace-derived instances (instance k uses seed SEED+k), compare every "
                    "policy's online sum of delays with the offline optimum (dedicated mode) and "
                    "with the C = infinity bound (serverless mode). Resumable: finished "
                    "instances in --out are kept.")
    p.add_argument("--instances", type=seed_count, default=d.instances, metavar="N",
                   help=f"number of instances, seeds SEED .. SEED+N-1 (default {d.instances})")
    p.add_argument("--jobs", type=positive_int, default=d.jobs, metavar="J",
                   help=f"jobs per instance (default {d.jobs})")
    p.add_argument("--iterations", type=positive_int, default=d.iterations, metavar="I",
                   help=f"iterations of every job (default {d.iterations}; jobs x (2 x "
                        f"iterations + 2) tasks <= {MAX_TASKS_PER_INSTANCE})")
    p.add_argument("--classical-workers", type=servers, default=d.classical_workers,
                   metavar="C", help=f"C, classical workers (default {d.classical_workers})")
    p.add_argument("--quantum-computers", type=servers, default=None,
                   metavar="Q", help=f"Q, quantum computers (default {d.quantum_computers}; "
                                     f"{REALISTIC_Q} with --scale realistic)")
    p.add_argument("--qubits", type=int_list, default=d.qubits, metavar="LIST",
                   help="qubit counts drawn uniformly (default 4,6,8,10)")
    p.add_argument("--priorities", type=priority_list, default=d.priorities, metavar="LIST",
                   help="priorities drawn uniformly (default 1,2,4)")
    p.add_argument("--interarrival", type=gap_seconds, default=d.interarrival_s, metavar="T",
                   help=f"mean Poisson inter-arrival time, {DURATION_UNITS} "
                        f"(default {d.interarrival_s:g} s)")
    p.add_argument("--weighted", action="store_true",
                   help="objective: priority-weighted sum of delays (default unweighted)")
    p.add_argument("--time-limit", type=seconds, default=d.time_limit_s, metavar="T",
                   help=f"per-instance dedicated solve limit, {DURATION_UNITS} "
                        f"(default {d.time_limit_s:g} s)")
    p.add_argument("--method", choices=("auto", "milp", "bnb", "cpsat"), default=d.method,
                   help="dedicated solve: auto (branch and bound when C = 1, else CP-SAT if "
                        "installed, else MILP), milp, bnb or cpsat")
    p.add_argument("--relax-time-limit", type=seconds, default=d.relax_time_limit_s,
                   metavar="T", help=f"per-instance C = infinity MILP limit, {DURATION_UNITS} "
                                     f"(default {d.relax_time_limit_s:g} s)")
    p.add_argument("--seed", type=nonnegative_int, default=d.base_seed, metavar="N",
                   help="base seed: instance k and its randomised policies use N + k (default 0)")
    p.add_argument("--processes", type=processes, default=None, metavar="P",
                   help=PROCESSES_HELP)
    add_progress_options(p)
    p.add_argument("--out", required=True, metavar="DIR",
                   help="output directory (per-instance results, summary, box plot); "
                        "rerunning the same command resumes from it")
    p.add_argument("--allow-mixed", action="store_true", help=ALLOW_MIXED_HELP)
    p.add_argument("--overwrite", action="store_true",
                   help="discard the results of a different study (other settings, code or "
                        "traces) in --out instead of refusing them")
    p.add_argument("--scale", choices=("small", "realistic"), default="small",
                   help="small (default): proven optima on --jobs x --iterations instances; "
                        "realistic: 1-day windows of the paper's small scenario with full "
                        "iteration counts, bracketed by scalable lower and upper bounds "
                        "(uses --windows, --loads, --search-time, C, Q, --qubits, "
                        "--priorities, --weighted, --seed)")
    p.add_argument("--windows", type=seed_count, default=8, metavar="N",
                   help="realistic: windows per load, seeds SEED .. SEED+N-1 (default 8)")
    p.add_argument("--loads", type=argument_type(parse_loads, "loads"), default=(0.5, 0.7, 0.9),
                   metavar="LIST", help="realistic: quantum utilisations (default 0.5,0.7,0.9)")
    p.add_argument("--search-time", type=seconds, default=5.0, metavar="T",
                   help=f"realistic: local-search budget of each upper bound, {DURATION_UNITS} "
                        "(default 5 s)")
    p.add_argument("--yes", action="store_true",
                   help=f"run even if its solves may take over {SOLVE_BUDGET_S:.0f} s in all")
    p.set_defaults(func=run_gap)

    q = subparsers.add_parser(
        "invariants",
        description="Online dedicated >= offline optimum, serverless >= C = infinity bound, "
                    "solver and simulator schedules pass the checker. Exit code 1 on a failure.")
    invariants.add_arguments(q)
    add_progress_options(q, with_progress=False)
    q.set_defaults(func=run_invariants)


def run_invariants(ns: argparse.Namespace) -> int:
    """``invariants.run_from_args``, after the compile notice."""
    compile_notice(*SIMULATOR_KERNELS, *SOLVER_KERNELS)
    return invariants.run_from_args(ns)


def check_gap_work(cfg: GapConfig) -> None:
    """Refuse a study whose two solves per instance, each at its time limit, or whose
    simulations (every policy in both modes on every instance) exceed the work budgets."""
    n = cfg.instances
    check_solve_time(n * (cfg.time_limit_s + cfg.relax_time_limit_s),
                     f"--instances {n} x (--time-limit {cfg.time_limit_s:g} s + "
                     f"--relax-time-limit {cfg.relax_time_limit_s:g} s)", "gap",
                     "lower --instances or the time limits")
    runs = len(cfg.policies) * len(MODES)
    per_run = expected_scenario_events(
        SimulationConfig(Platform(cfg.classical_workers, cfg.worker_capacity_ops_per_s,
                                  cfg.quantum_computers), instance=cfg.instance(0)))
    check_expected_events(n * runs * per_run, per_run,
                          f"--instances {n} x {runs} policy and mode runs", "gap",
                          "lower --instances, --jobs or --iterations")


def run_gap(ns: argparse.Namespace) -> int:
    if ns.scale == "realistic":
        return run_gap_realistic(ns)
    if ns.quantum_computers is None:
        ns.quantum_computers = GapConfig().quantum_computers
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
    if not ns.yes:
        check_gap_work(cfg)
    interrupt.kept_in(ns.out, "finished instances")
    compile_notice(*SIMULATOR_KERNELS, *SOLVER_KERNELS)
    t0 = time.perf_counter()
    frame = run_study(cfg, ns.out, processes=ns.processes, force_progress=ns.progress,
                      allow_mixed=ns.allow_mixed, overwrite=ns.overwrite)
    from hqsched.reports.gap_report import BOXPLOT_PNG, write_boxplot  # matplotlib: only here
    if len(frame):
        write_boxplot(frame, Path(ns.out) / BOXPLOT_PNG)
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


def run_gap_realistic(ns: argparse.Namespace) -> int:
    """``hqsched gap --scale realistic``: validation.gap_realistic (issue 16)."""
    from hqsched.validation import gap_realistic as study
    cfg = study.RealisticGapConfig(
        windows=ns.windows, loads=ns.loads, classical_workers=ns.classical_workers,
        quantum_computers=ns.quantum_computers or REALISTIC_Q, qubits=ns.qubits,
        priorities=ns.priorities, base_seed=ns.seed, weighted=ns.weighted, search_time_s=ns.search_time)
    interrupt.kept_in(ns.out, "finished windows")
    compile_notice(*SIMULATOR_KERNELS)
    t0 = time.perf_counter()
    frame = study.run_study(cfg, ns.out, processes=ns.processes, force_progress=ns.progress,
                            allow_mixed=ns.allow_mixed, overwrite=ns.overwrite)
    print(study.format_summary(study.summarize(frame)))
    print(f"\n{frame['window'].nunique()} windows x {len(cfg.loads)} loads of "
          f"{cfg.window_s / 3600:g} h (C={cfg.classical_workers}, Q={cfg.quantum_computers}); "
          f"wall {time.perf_counter() - t0:.1f} s")
    print(f"files: {ns.out}/{study.WINDOWS_CSV}, {ns.out}/{study.SUMMARY_CSV}")
    return 0
