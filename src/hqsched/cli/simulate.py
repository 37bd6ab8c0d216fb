"""``hqsched simulate``: run replications of a scenario and print the summary table."""

from __future__ import annotations

import argparse
import sys

from hqsched.cli import interrupt
from hqsched.cli.arguments import SIMULATOR_KERNELS, add_progress_options, compile_notice
from hqsched.experiments import scenario
from hqsched.experiments import statistics as stats
from hqsched.experiments.replications import (
    ENGINES,
    EVENT_BUDGET,
    check_expected_work,
    run_replications,
)
from hqsched.online.policies import policy_label
from hqsched.provenance import ALLOW_MIXED_HELP

EXAMPLES = """\
examples:
  hqsched simulate --seeds 0-3 --out results/small          (the paper's small scenario)
  hqsched simulate --policy weighted --interarrival 10m --duration 2d --warmup 6h --seeds n=20
  hqsched simulate --config scenario.toml --out results/x   (TOML keys = option names)
  hqsched simulate --instance jobs.csv --no-admission --policy fifo
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``simulate`` subcommand."""
    p = subparsers.add_parser(
        "simulate",
        description="Simulate the hybrid classical-quantum serverless platform: independent "
                    "replications over seeds, mean and 95% CI across seeds. Defaults are the "
                    "paper's small scenario (Table 2).",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    scenario.add_arguments(p)
    p.add_argument("--yes", action="store_true",
                   help=f"run even if expected to exceed {EVENT_BUDGET:.0e} events (hours)")
    add_progress_options(p, with_progress=False)  # --progress is a scenario option
    p.add_argument("--allow-mixed", action="store_true", help=ALLOW_MIXED_HELP)
    p.add_argument("--engine", choices=ENGINES, default="kernel",
                   help="simulator: kernel (compiled, default) or simpy (the readable SimPy model "
                        "of online/simpy_model.py: the same results, 50-250x slower; to prototype "
                        "a policy or check the kernel)")
    p.set_defaults(func=run)


def run(ns: argparse.Namespace) -> int:
    """Build the plan (every input checked first), run each policy, print its table."""
    plan = scenario.build_plan(scenario.settings_from_namespace(ns))
    if not ns.yes:
        check_expected_work(plan.scenarios.values(), len(plan.seeds), "simulate")
    interrupt.kept_in(plan.out, "finished replications")
    compile_notice(*SIMULATOR_KERNELS)
    for policy, scen in plan.scenarios.items():
        out_dir = plan.out_dir(policy)
        results = run_replications(scen, plan.seeds, out_dir, processes=plan.processes,
                                   fmt=plan.fmt, overwrite=plan.overwrite,
                                   force_progress=plan.force_progress,
                                   allow_mixed=ns.allow_mixed, engine=ns.engine)
        summary = (stats.write_stats(out_dir, results) if out_dir is not None
                   else stats.summarize(results))
        title = (f"policy {policy_label(policy)}: {len(plan.seeds)} seed(s)"
                 + (f", results in {out_dir}" if out_dir is not None else ""))
        print(stats.format_table(summary, title=title))
        pooled = stats.pooled_percentiles(results)
        print("pooled job time over all seeds' completed jobs (h): "
              + "  ".join(f"{k} {stats.format_number(v / stats.HOUR_S)}"
                          for k, v in pooled.items()))
        print()
        sys.stdout.flush()
    return 0
