"""``hqsched campaign run|status|list``: Monte Carlo campaigns over a parameter grid."""

from __future__ import annotations

import argparse
import sys
import time

from hqsched.cli import interrupt
from hqsched.cli.arguments import (
    PROCESSES_HELP,
    SIMULATOR_KERNELS,
    add_progress_options,
    compile_notice,
    positive_int,
    processes,
)
from hqsched.errors import InputError
from hqsched.experiments import campaign as cmp
from hqsched.experiments.campaign_run import EXECUTORS, import_ray, run_campaign
from hqsched.experiments.executor import check_ray_address
from hqsched.experiments.results_store import FORMATS, require_format
from hqsched.inputs import SEEDS_SYNTAX
from hqsched.provenance import ALLOW_MIXED_HELP

EXAMPLES = """\
examples:
  hqsched campaign run small --out results/small            (bundled study, local processes)
  hqsched campaign run small --seeds 0-19 --out results/small20
  hqsched campaign run studies/big-q.toml --out results/big-q --yes --executor ray --address auto
  hqsched campaign status results/big-q
  hqsched campaign list                                     (bundled studies)
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``campaign`` subcommand and its ``run``, ``status`` and ``list`` actions."""
    p = subparsers.add_parser(
        "campaign",
        description="Run a campaign file (TOML: seeds, [fixed] and [grid] scenario options "
                    "with the names of `hqsched simulate`) as one unit per (grid point, seed), "
                    "saved as each finishes; rerunning resumes.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="campaign_command", metavar="ACTION", required=True)

    r = sub.add_parser("run", help="run (or resume) a campaign",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("campaign", metavar="FILE|NAME",
                   help="campaign TOML file, or the name of a bundled study (small, paper, "
                        "big-q, big-c, ...: see `hqsched campaign list`)")
    r.add_argument("--out", required=True, metavar="DIR",
                   help="output directory; rerunning the same command resumes from it")
    r.add_argument("--seeds", metavar="SEEDS",
                   help=f"override the file's seeds: {SEEDS_SYNTAX}")
    r.add_argument("--executor", choices=EXECUTORS, default="local",
                   help="local processes (default) or ray (pip install 'hqsched[ray]')")
    r.add_argument("--address", metavar="ADDR",
                   help="Ray cluster: auto (a running cluster) or host:port; default: start a "
                        "local Ray instance")
    r.add_argument("--processes", type=processes, metavar="N",
                   help=f"{PROCESSES_HELP}; with ray and no --address, the CPUs of the local "
                        f"Ray instance")
    r.add_argument("--max-units", type=positive_int, default=cmp.DEFAULT_MAX_UNITS, metavar="N",
                   help=f"refuse campaigns of more units unless --yes "
                        f"(default {cmp.DEFAULT_MAX_UNITS})")
    r.add_argument("--yes", action="store_true", help="run even if larger than --max-units")
    r.add_argument("--overwrite", action="store_true",
                   help="discard results of a different campaign in --out")
    r.add_argument("--allow-mixed", action="store_true", help=ALLOW_MIXED_HELP)
    r.add_argument("--format", choices=FORMATS, default=None,
                   help="per-job tables: csv or parquet (pip install 'hqsched[parquet]'); "
                        "default: the campaign file's format, else csv")
    add_progress_options(r)
    r.set_defaults(func=run)

    s = sub.add_parser("status", help="done / left / failed units of an output directory")
    s.add_argument("out", metavar="DIR", help="the campaign's output directory (--out of "
                                             "campaign run)")
    s.set_defaults(func=show_status)

    ls = sub.add_parser("list", help="list the bundled studies")
    ls.set_defaults(func=list_studies)


def run(ns: argparse.Namespace) -> int:
    """Load and check the campaign, refuse oversize grids, run what is left, print counts."""
    campaign = cmp.load_campaign(ns.campaign, seeds=ns.seeds,
                                 max_units=None if ns.yes else ns.max_units)
    if ns.executor == "ray":
        import_ray()  # fail now, with the install hint, not after claiming --out
        if ns.address is not None:  # and before the header: a refusal is one line
            check_ray_address(ns.address)
    elif ns.address is not None:
        raise InputError("--address: only used with --executor ray")
    require_format(ns.format or campaign.fmt)  # parquet without pyarrow: one line, now
    print(f"campaign {campaign.name}: {len(campaign.points)} point(s) x {len(campaign.seeds)} "
          f"seed(s) = {campaign.n_units} units -> {ns.out}", file=sys.stderr)
    interrupt.kept_in(ns.out)
    compile_notice(*SIMULATOR_KERNELS)
    start = time.perf_counter()
    rep = run_campaign(campaign, ns.out, executor=ns.executor, processes=ns.processes,
                       address=ns.address, overwrite=ns.overwrite, force_progress=ns.progress,
                       allow_mixed=ns.allow_mixed, fmt=ns.format)
    wall = time.perf_counter() - start
    print(f"campaign {campaign.name}: {rep.finished} unit(s) run in {wall:.1f} s, "
          f"{rep.skipped} already done, {len(rep.failed)} failed (of {rep.total}); "
          f"results in {ns.out}")
    if rep.failed:
        print(f"failed units are recorded in {ns.out}/{cmp.FAILED_DIR}/ and retried on rerun; "
              f"see `hqsched campaign status {ns.out}`")
        return 1
    return 0


def show_status(ns: argparse.Namespace) -> int:
    """Print done / left / failed counts and the failures; exit 0 only when all are done."""
    st = cmp.status(ns.out)
    plan = cmp.read_plan(ns.out)
    corrupt = f", {len(st.corrupt)} corrupt" if st.corrupt else ""  # as before when none
    print(f"campaign {plan.get('name', '?')} in {ns.out}: {len(st.done)} done, "
          f"{len(st.left)} left, {len(st.failed)} failed{corrupt} (of {st.total})")
    for unit, err in st.failed.items():
        print(f"  failed {unit}: {err}")
    for unit, why in st.corrupt.items():
        print(f"  corrupt {unit}: {why}")
    if st.corrupt:
        print(f"corrupt units are recomputed by rerunning `hqsched campaign run FILE "
              f"--out {ns.out}`")
    return 0 if len(st.done) == st.total else 1


def list_studies(ns: argparse.Namespace) -> int:
    """Print the bundled studies and their descriptions."""
    for name, path in sorted(cmp.bundled_studies().items()):
        c = cmp.load_campaign(str(path))
        print(f"{name:8s} {len(c.points):3d} point(s) x {len(c.seeds)} seeds  {c.description}")
    return 0
