"""``hqsched plan exact|simulate``: the fewest classical workers (C) and quantum computers (Q).

``plan exact INSTANCE``: offline, on a small instance, under a per-job delay
bound (``hqsched.planning.exact``).

``plan simulate``: online, by simulation, on a (C, Q) grid
(``hqsched.planning.simulated``). Workload and platform options have the
names and parsers of ``hqsched simulate`` (``hqsched.experiments.scenario.OPTIONS``),
except that C and Q are searched (``--classical-range``, ``--quantum-range``)
and ``--seeds`` is the seed budget per candidate (the seed syntax of every
command: ``--seeds n=20`` = seeds 0-19; a bare integer is one seed). ``--config
plan.toml`` takes any of these options as keys (``-`` or ``_``); the command
line overrides it.

Exit codes: 0 an answer (printed; "uncertain" is said when it is), 1 no
candidate meets the targets (or, for exact, no proven-optimal verified
answer), 2 bad input (``hqsched: error: ...``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hqsched.cli import interrupt
from hqsched.cli.arguments import (
    QUIET_HELP,
    SIMULATOR_KERNELS,
    add_progress_options,
    check_instance_size,
    compile_notice,
    output_file,
)
from hqsched.errors import InputError
from hqsched.experiments import scenario as scn
from hqsched.experiments.campaign_run import EXECUTORS, import_ray
from hqsched.experiments.executor import ExecutorOptions
from hqsched.experiments.replications import (
    EVENT_BUDGET,
    check_expected_events,
    expected_scenario_events,
)
from hqsched.inputs import (
    MAX_CAPACITY,
    MAX_PLAN_CANDIDATES,
    MAX_SEEDS,
    MAX_SERVERS,
    MIN_CAPACITY,
    SEEDS_SYNTAX,
    bounded_int,
    load_toml,
    parse_choice,
    parse_duration,
    parse_flag,
    parse_int_range,
    parse_positive_float,
    parse_positive_int,
    parse_probability,
    parse_seeds,
    parse_text,
)
from hqsched.instances.io import read_instance
from hqsched.online.config import SimulationConfig
from hqsched.planning.exact import OBJECTIVES, plan_exact
from hqsched.planning.fleet import (
    FleetSearch,
    candidates_for,
    check_search,
    parse_group_choices,
    parse_hourly_cost,
    plan_fleet,
)
from hqsched.planning.fleet import format_report as format_fleet_report
from hqsched.planning.simulated import Cost, Targets, format_report, parse_cost, plan_simulate
from hqsched.provenance import ALLOW_MIXED_HELP
from hqsched.reports.plan_figure import write_figure
from hqsched.reports.style import FIGURE_FORMATS

_SCN = {o.name: o for o in scn.OPTIONS}
#: Options of `hqsched simulate` that plan simulate does not take (C and Q are searched,
#: seeds are a budget with their own syntax, results are always CSV).
_NOT_FOR_PLAN = {"classical-workers": "use --classical-range",
                 "quantum-computers": "use --quantum-range",
                 "format": "plan results are CSV",
                 "qc-group": "a fleet is searched by hqsched plan fleet"}


def _budget(value: Any, where: str) -> tuple[int, ...]:
    """The seed budget: the seed syntax of every command (``SEEDS_SYNTAX``), at least 2
    seeds (a t bound needs two)."""
    return parse_seeds(value, where, min_count=2)


def _alpha(value: Any, where: str) -> float:
    x = parse_probability(value, where)
    if not 0 < x < 1:
        raise InputError(f"{where}: must be in (0, 1), got {value!r}")
    return x


#: plan simulate's own options: name -> (parser, default, help, metavar or None for a flag).
PLAN_OPTIONS: dict[str, tuple[Callable[[Any, str], Any], Any, str, str | None]] = {
    "classical-range": (parse_int_range, (1, 6),
                        "C values to consider, inclusive (default 1-6)", "LO-HI"),
    "quantum-range": (parse_int_range, (1, 8),
                      "Q values to consider, inclusive (default 1-8)", "LO-HI"),
    "max-drop": (parse_probability, None, "target: drop probability <= P", "P"),
    "max-p95-job-time": (parse_duration, None,
                         "target: per-seed 95th percentile job time <= T (6h, 30m, 900)", "T"),
    "max-mean-job-time": (parse_duration, None,
                          "target: per-seed mean job time <= T", "T"),
    "cost": (parse_cost, Cost(),
             "candidate cost a*C + b*Q as \"C=a,Q=b\" (default C=1,Q=1)", "SPEC"),
    "seeds": (_budget, tuple(range(20)),
              f"seed budget per candidate, used in this order, at least 2: {SEEDS_SYNTAX} "
              f"(default n=20)", "SEEDS"),
    "batch": (bounded_int(1, MAX_SEEDS), 5, "seeds per look of the sequential test (default 5, >= 2)", "N"),
    "alpha": (_alpha, 0.05, "error level of the sequential and paired tests (default 0.05)", "A"),
    "full-grid": (parse_flag, False, "evaluate every candidate at the full seed budget "
                  "(heat maps, monotonicity analysis)", None),
    "allow-mixed": (parse_flag, False, ALLOW_MIXED_HELP, None),
    "executor": (parse_choice(EXECUTORS), "local", "local processes (default) or ray", "NAME"),
    "figure-format": (parse_choice(FIGURE_FORMATS), "png",
                      "file format of the heat map plan.FMT in --out: png (default, 150 dpi), "
                      "or pdf / svg (vector, for papers)", "FMT"),
    "address": (parse_text, None,
                "Ray cluster address (auto, host:port); default: a local Ray instance", "ADDR"),
}

#: plan fleet's own options (same shape as PLAN_OPTIONS); its --qc-group takes count ranges.
FLEET_OPTIONS: dict[str, tuple[Callable[[Any, str], Any], Any, str, str | None]] = {
    "qc-group": (parse_group_choices, (),
                 "a candidate QC group NAME:LO-HI[:qubits=Q][:backend=B|:speed=X][:cost=C], "
                 "repeatable, at least one: counts LO to HI are tried (0: the group may be "
                 "left out), cost per QC per hour (default 1)", "GROUP"),
    "classical-range": PLAN_OPTIONS["classical-range"],
    "classical-cost": (parse_hourly_cost, 1.0,
                       "cost of one classical worker per hour, same unit as the groups' "
                       "cost=C (default 1)", "X"),
    **{k: PLAN_OPTIONS[k] for k in ("max-drop", "max-p95-job-time", "max-mean-job-time",
                                    "seeds", "batch", "alpha")},
    "no-prune": (parse_flag, False, "also run the candidates the stability bound proves "
                 "infeasible in steady state (see the module docstring of planning/fleet.py)",
                 None),
    **{k: PLAN_OPTIONS[k] for k in ("allow-mixed", "executor", "address")},
}
#: Scenario options plan fleet does not take.
_NOT_FOR_FLEET = {"classical-workers": "use --classical-range",
                  "quantum-computers": "the fleet is searched: --qc-group NAME:LO-HI",
                  "format": "plan results are CSV"}

EXAMPLES = """\
examples:
  hqsched plan exact inst.json --minimize classical --delta-max 900 --quantum-computers 2
  hqsched plan exact inst.json --minimize cost --cost "C=1,Q=3" --delta-max 15m \\
      --classical-range 1-4 --quantum-range 1-4
  hqsched plan simulate --interarrival 450 --qubits 4,6,8,10 --max-drop 0.05 \\
      --max-p95-job-time 6h --cost "C=1,Q=20" --seeds n=20 --out results/plan
  hqsched plan simulate --config plan.toml --full-grid --out results/plan-grid
  hqsched plan fleet --qc-group torino:0-3:backend=ibm_torino:cost=3 \
      --qc-group nazca:0-3:backend=ibm_nazca:cost=2 --classical-range 1-2 \
      --max-p95-job-time 10h --interarrival 600 --seeds n=10 --out results/fleet
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``plan exact`` and ``plan simulate`` to the top-level subcommands."""
    p = subparsers.add_parser(
        "plan",
        description="Find the cheapest (C, Q) meeting a target: exactly on a small instance "
                    "(offline MILP, checked), or by simulation on a (C, Q) grid.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="plan_command", metavar="ACTION", required=True)

    e = sub.add_parser("exact", help="minimal C, Q or cost under a per-job delay bound (MILP)",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("instance", metavar="INSTANCE", help="instance JSON (hqsched instance generate)")
    e.add_argument("--minimize", default="classical", metavar="WHAT",
                   help="classical (C at the given Q, default), quantum (Q at the given C) or "
                        "cost (a*C + b*Q over the ranges)")
    e.add_argument("--delta-max", required=True, metavar="T",
                   help="every job's delay (completion - arrival) <= T (900, 15m)")
    e.add_argument("--classical-workers", default="1", metavar="C",
                   help="C when minimizing quantum (default 1)")
    e.add_argument("--quantum-computers", default="1", metavar="Q",
                   help="Q when minimizing classical (default 1)")
    e.add_argument("--worker-capacity", default="1e9", metavar="S",
                   help="S, operations/s of one classical worker (default 1e9)")
    e.add_argument("--cost", default="C=1,Q=1", metavar="SPEC",
                   help="with --minimize cost: \"C=a,Q=b\" (default C=1,Q=1)")
    e.add_argument("--classical-range", default="1-6", metavar="LO-HI",
                   help="with --minimize cost: C values (default 1-6)")
    e.add_argument("--quantum-range", default="1-8", metavar="LO-HI",
                   help="with --minimize cost: Q values (default 1-8)")
    e.add_argument("--time-limit", default="60", metavar="T",
                   help="solver time limit per solve (default 60 s)")
    e.add_argument("--out", metavar="FILE", help="write the verified schedule CSV here")
    add_progress_options(e)
    e.set_defaults(func=run_exact)

    s = sub.add_parser("simulate", help="cheapest (C, Q) meeting drop / job-time targets, "
                                        "by simulation",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_own_options(s, PLAN_OPTIONS)
    for o in scn.OPTIONS:
        if o.name in _NOT_FOR_PLAN or o.name in PLAN_OPTIONS:
            continue
        help_ = o.help
        if o.name == "policy":
            help_ = ("quantum scheduling policy, one name (default fifo: a plan sizes the "
                     "platform for one policy, where simulate's default all compares them)")
        scn.add_option(s, o, help_)
    s.add_argument("--quiet", action="store_true", help=QUIET_HELP)
    s.add_argument("--yes", action="store_true",
                   help=f"run even if expected to exceed {EVENT_BUDGET:.0e} events (hours)")
    s.set_defaults(func=run_simulate)
    _register_fleet(sub)


def _add_own_options(parser: argparse.ArgumentParser, options: dict[str, Any]) -> None:
    """``--config`` and a plan command's own options (a None metavar: a flag; ``qc-group``
    may be repeated). Defaults are suppressed so that a ``--config`` file can fill them."""
    parser.add_argument("--config", metavar="FILE",
                        help="TOML file; keys = these option names; the command line "
                             "overrides it")
    for name, (_, _, help_, metavar) in options.items():
        if metavar is None:
            parser.add_argument(f"--{name}", action="store_true", default=argparse.SUPPRESS,
                                help=help_)
        else:
            parser.add_argument(f"--{name}", metavar=metavar, default=argparse.SUPPRESS,
                                help=help_, action="append" if name == "qc-group" else "store")


def _register_fleet(sub: argparse._SubParsersAction) -> None:
    """``plan fleet``: its own options, then the scenario options it takes."""
    f = sub.add_parser("fleet", help="cheapest QC fleet (count per group) and C meeting "
                                     "drop / job-time targets, by simulation",
                       description="Cheapest QC fleet and C meeting the targets: candidates "
                                   "in increasing cost per hour, each settled by a sequential "
                                   "test over common seeds; candidates the work-conservation "
                                   "bound proves infeasible are skipped.",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_own_options(f, FLEET_OPTIONS)
    for o in scn.OPTIONS:
        if o.name not in _NOT_FOR_FLEET and o.name not in FLEET_OPTIONS:
            scn.add_option(f, o, "quantum scheduling policy, one name (default fifo)"
                           if o.name == "policy" else None)
    f.add_argument("--quiet", action="store_true", help=QUIET_HELP)
    f.add_argument("--yes", action="store_true",
                   help=f"run even if expected to exceed {EVENT_BUDGET:.0e} events (hours)")
    f.set_defaults(func=run_fleet)


def check_candidates(crange: tuple[int, int], qrange: tuple[int, int]) -> None:
    """Refuse a (C, Q) grid of more than ``MAX_PLAN_CANDIDATES`` pairs, counted, not listed."""
    n = (crange[1] - crange[0] + 1) * (qrange[1] - qrange[0] + 1)
    if n > MAX_PLAN_CANDIDATES:
        raise InputError(f"--classical-range {crange[0]}-{crange[1]} x --quantum-range "
                         f"{qrange[0]}-{qrange[1]}: {n} (C, Q) candidates, more than the limit "
                         f"of {MAX_PLAN_CANDIDATES}")


# --------------------------------------------------------------------------
# plan exact
# --------------------------------------------------------------------------

def run_exact(ns: argparse.Namespace) -> int:
    if ns.minimize not in OBJECTIVES:
        raise InputError(f"--minimize: must be one of {', '.join(OBJECTIVES)}, "
                         f"got {ns.minimize!r}")
    delta = parse_duration(ns.delta_max, "--delta-max")
    c = parse_positive_int(ns.classical_workers, "--classical-workers", MAX_SERVERS)
    q = parse_positive_int(ns.quantum_computers, "--quantum-computers", MAX_SERVERS)
    s = parse_positive_float(ns.worker_capacity, "--worker-capacity", MIN_CAPACITY, MAX_CAPACITY)
    limit = parse_duration(ns.time_limit, "--time-limit")
    cost = parse_cost(ns.cost, "--cost")
    crange = parse_int_range(ns.classical_range, "--classical-range")
    qrange = parse_int_range(ns.quantum_range, "--quantum-range")
    if ns.minimize == "cost":
        check_candidates(crange, qrange)
    out = output_file(ns.out, "--out", None) if ns.out else None
    inst = read_instance(ns.instance)
    check_instance_size(inst, ns.instance)
    start = time.perf_counter()
    plan = plan_exact(inst, ns.minimize, delta, classical=c, quantum=q,
                      worker_capacity_ops_per_s=s, time_limit_s=limit, cost=cost,
                      classical_range=crange, quantum_range=qrange)
    print(plan.report())
    print(f"({time.perf_counter() - start:.1f} s)")
    if out is not None and plan.schedule is not None:
        plan.schedule.write_csv(out)
        print(f"wrote {out}")
    return 0 if plan.classical is not None and plan.verified and plan.proven_optimal else 1


# --------------------------------------------------------------------------
# plan simulate
# --------------------------------------------------------------------------

def _read_plan_toml(path: str, options: dict[str, Any] = PLAN_OPTIONS,
                    excluded: dict[str, str] = _NOT_FOR_PLAN) -> dict[str, tuple[Any, str]]:
    """Raw values of a plan file: option name -> (value, 'file: key')."""
    p = Path(path)
    doc = load_toml(p, "--config")
    out: dict[str, tuple[Any, str]] = {}
    for key, value in doc.items():
        name = key.replace("_", "-")
        where = f"{path}: {key}"
        if name in excluded and name not in options:
            raise InputError(f"{where}: not a plan option ({excluded[name]})")
        if name not in options and name not in _SCN:
            raise InputError(f"{where}: unknown key {key!r} (known: "
                             f"{', '.join(sorted(set(options) | set(_SCN) - set(excluded)))})")
        if name in out:
            raise InputError(f"{where}: given twice (with '-' and '_')")
        if name in _SCN and name not in options:
            value = _SCN[name].relative_to(p.parent, value)
        out[name] = (value, where)
    return out


def plan_inputs(ns: argparse.Namespace, options: dict[str, Any] = PLAN_OPTIONS,
                excluded: dict[str, str] = _NOT_FOR_PLAN,
                ) -> tuple[SimulationConfig, dict[str, Any], scn.Settings]:
    """(base scenario, plan option values, scenario settings) from the file and the command
    line; ``options``: the command's own options, ``excluded``: scenario options it refuses."""
    raw = _read_plan_toml(ns.config, options, excluded) if getattr(ns, "config", None) else {}
    for name in list(options) + list(_SCN):
        attr = name.replace("-", "_")
        if hasattr(ns, attr):
            raw[name] = (getattr(ns, attr), f"--{name}")
    plan = {name: default for name, (_, default, _, _) in options.items()}
    values = {o.name: o.default for o in scn.OPTIONS}
    values["policy"] = ("fifo",)
    given: dict[str, str] = {"policy": "--policy (plan default fifo)"}
    for name, (value, where) in raw.items():
        if name in options:
            plan[name] = options[name][0](value, where)
        else:
            values[name] = _SCN[name].parse(value, where)
            given[name] = where
    if len(values["policy"]) != 1:
        raise InputError(f"{given['policy']}: plan simulate takes one policy, got "
                         f"{','.join(values['policy'])}")
    settings = scn.Settings(values, given)
    built = scn.build_plan(settings)
    base = next(iter(built.scenarios.values()))
    if not isinstance(base, SimulationConfig):
        raise InputError(f"{given.get('instance', '--instance')}: plan simulate takes a "
                         f"stochastic workload or an instance with full chains, not a CSV "
                         f"without chains")
    if "quantum-range" in plan:
        check_candidates(plan["classical-range"], plan["quantum-range"])
    if plan["batch"] < 2:
        raise InputError(f"--batch: must be >= 2 (a t bound needs two seeds), got {plan['batch']}")
    if plan["address"] is not None and plan["executor"] != "ray":
        raise InputError("--address: only used with --executor ray")
    return base, plan, settings


def check_plan_work(base: SimulationConfig, p: dict[str, Any], n: int) -> None:
    """Refuse a plan expected to exceed the event budget. Runs counted: with --full-grid
    every candidate at every seed; else every candidate's first look (--batch seeds) and
    the recommended point with its 4 neighbours at every seed (the search usually stops
    sooner; an uncertain grid can take up to every candidate at every seed)."""
    seeds = len(p["seeds"])
    if p["full-grid"]:
        runs, what = n * seeds, f"{n} (C, Q) candidate(s) x {seeds} seed(s)"
    else:
        runs = min(n * seeds, n * min(p["batch"], seeds) + min(n, 5) * seeds)
        what = (f"{n} (C, Q) candidate(s) x a first look of {min(p['batch'], seeds)} seed(s), "
                f"{min(n, 5)} at {seeds} seed(s)")
    per_run = expected_scenario_events(base)
    check_expected_events(runs * per_run, per_run, what, "plan simulate",
                          "narrow --classical-range or --quantum-range, use fewer --seeds, "
                          "shorten --duration or raise --interarrival")


def run_simulate(ns: argparse.Namespace) -> int:
    base, p, settings = plan_inputs(ns)
    targets = Targets(p["max-drop"], p["max-p95-job-time"], p["max-mean-job-time"])
    if not targets.as_dict():
        raise InputError("plan simulate: give at least one target: --max-drop, "
                         "--max-p95-job-time or --max-mean-job-time")
    if p["executor"] == "ray":
        import_ray()
    (c0, c1), (q0, q1) = p["classical-range"], p["quantum-range"]
    n = (c1 - c0 + 1) * (q1 - q0 + 1)
    if not ns.yes:
        check_plan_work(base, p, n)
    print(f"plan: {n} candidate(s) C {c0}-{c1} x Q {q0}-{q1}, up to {len(p['seeds'])} seeds "
          f"each, policy {base.policy}" + (f" -> {settings['out']}" if settings["out"] else ""),
          file=sys.stderr)
    interrupt.kept_in(settings["out"] or None, "finished replications")
    compile_notice(*SIMULATOR_KERNELS)
    start = time.perf_counter()
    result = plan_simulate(
        base, targets, classical_range=p["classical-range"], quantum_range=p["quantum-range"],
        cost=p["cost"], seeds=p["seeds"], batch=p["batch"], alpha=p["alpha"],
        full_grid=p["full-grid"], out=settings["out"], executor=p["executor"],
        processes=settings["processes"], address=p["address"], overwrite=settings["overwrite"],
        force_progress=settings["progress"], allow_mixed=p["allow-mixed"])
    figure = f"plan.{p['figure-format']}"
    if settings["out"]:
        write_figure(result, Path(settings["out"]) / figure)
    print(format_report(result))
    runs = sum(len(k.seeds) for k in result.candidates)
    print(f"\n{runs} replication(s) used, {time.perf_counter() - start:.1f} s wall"
          + (f"; results, plan.json, plan.txt and the heat map {figure} in {settings['out']}"
             if settings["out"] else ""))
    return 0 if result.recommended is not None else 1


# --------------------------------------------------------------------------
# plan fleet
# --------------------------------------------------------------------------

def run_fleet(ns: argparse.Namespace) -> int:
    base, p, settings = plan_inputs(ns, FLEET_OPTIONS, _NOT_FOR_FLEET)
    targets = Targets(p["max-drop"], p["max-p95-job-time"], p["max-mean-job-time"])
    if p["executor"] == "ray":
        import_ray()
    search = FleetSearch(p["qc-group"], p["classical-range"], p["classical-cost"],
                         p["seeds"], p["batch"], p["alpha"], prune=not p["no-prune"],
                         executor=ExecutorOptions(p["executor"], settings["processes"],
                                                  p["address"], progress=False))
    check_search(search, targets.as_dict())
    n = len(candidates_for(base, search))
    if not ns.yes:
        check_expected_events(
            min(n, 10) * len(search.seeds) * expected_scenario_events(base),
            expected_scenario_events(base), f"up to {n} candidate fleet(s) x {len(p['seeds'])} "
            f"seed(s) (counted: 10 candidates at the full budget)", "plan fleet",
            "narrow the count ranges, use fewer --seeds, shorten --duration")
    print(f"plan fleet: up to {n} candidate(s), up to {len(p['seeds'])} seeds each, policy "
          f"{base.policy}" + (f" -> {settings['out']}" if settings["out"] else ""),
          file=sys.stderr)
    interrupt.kept_in(settings["out"] or None, "finished replications")
    compile_notice(*SIMULATOR_KERNELS)
    start = time.perf_counter()
    plan = plan_fleet(base, targets, search, out=settings["out"],
                      overwrite=settings["overwrite"], force_progress=settings["progress"],
                      allow_mixed=p["allow-mixed"])
    print(format_fleet_report(plan))
    runs = sum(len(k.seeds) for k in plan.candidates)
    print(f"\n{runs} replication(s) used, {time.perf_counter() - start:.1f} s wall"
          + (f"; results, fleet.json and fleet.txt in {settings['out']}"
             if settings["out"] else ""))
    return 0 if plan.recommended is not None else 1
