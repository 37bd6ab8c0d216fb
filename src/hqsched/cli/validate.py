"""``hqsched validate``: the simulator against queueing theory (closed forms).

The top-level CLI adds it with ``register``. Exit code 0 when every check
passes, 1 when any fails.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from dataclasses import asdict, fields
from pathlib import Path

from hqsched import provenance
from hqsched.cli.arguments import (
    PROCESSES_HELP,
    SIMULATOR_KERNELS,
    add_progress_options,
    compile_notice,
    processes,
    seeds_for_interval,
)
from hqsched.experiments.replications import EVENT_BUDGET, check_expected_work
from hqsched.files import atomic_write_text
from hqsched.inputs import SEEDS_SYNTAX
from hqsched.validation.queueing import (
    FULL_SEEDS,
    QUICK_SEEDS,
    CheckRecord,
    format_records,
    full_checks,
    quick_checks,
    validate,
)
from hqsched.validation.queueing_features import validate_features

CSV_NAME = "validation.csv"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``validate`` subcommand."""
    p = subparsers.add_parser(
        "validate",
        description="Configure the simulator as textbook queues (M/M/c, M/M/1 under fifo/"
                    "random/lifo, M/G/1 processor sharing, M/M/c/K) and check it against their "
                    "closed forms and Little's law, over independent replications. Exit code 1 "
                    "if any check fails.")
    p.add_argument("--quick", action="store_true",
                   help="a fast subset at moderate sizes (seconds, for CI) instead of all checks "
                        "(a few minutes on 2 cores)")
    p.add_argument("--seeds", type=seeds_for_interval, default=None, metavar="SEEDS",
                   help=f"the replications of each check, at least 2: {SEEDS_SYNTAX} (default "
                        f"n={FULL_SEEDS}; n={QUICK_SEEDS} with --quick; each check offsets "
                        f"them by a base of its own)")
    p.add_argument("--processes", type=processes, default=None, metavar="P",
                   help=PROCESSES_HELP)
    add_progress_options(p)
    p.add_argument("--per-check", action="store_true",
                   help="verdicts at 95%% per check instead of family-wise 95%% (Bonferroni)")
    p.add_argument("--features", action="store_true",
                   help="check issue 17's platform features against queueing theory instead "
                        "(heterogeneous QCs, cold starts, sessions; docs/platform-features.md)")
    p.add_argument("--out", metavar="DIR", default=None,
                   help=f"also write the table as DIR/{CSV_NAME}")
    p.add_argument("--yes", action="store_true",
                   help=f"run even if expected to exceed {EVENT_BUDGET:.0e} events (hours)")
    p.set_defaults(func=run)


def run(ns: argparse.Namespace) -> int:
    if ns.features:
        return _report(ns, validate_features(quick=ns.quick, seeds=ns.seeds,
                                             processes=ns.processes,
                                             bonferroni=not ns.per_check))
    if not ns.yes:
        checks = quick_checks() if ns.quick else full_checks()
        n_seeds = len(ns.seeds) if ns.seeds is not None else QUICK_SEEDS if ns.quick else FULL_SEEDS
        check_expected_work([r.config for c in checks for r in c.runs.values()], n_seeds,
                            "validate --seeds", "use fewer --seeds")
    compile_notice(*SIMULATOR_KERNELS)
    records = validate(quick=ns.quick, seeds=ns.seeds, processes=ns.processes,
                       bonferroni=not ns.per_check, force_progress=ns.progress)
    return _report(ns, records)


def _report(ns: argparse.Namespace, records: list[CheckRecord]) -> int:
    """Print the verdicts (and write them with --out); exit 1 if a check failed."""
    print(format_records(records))
    if ns.out is not None:
        path = write_csv(records, ns.out)
        print(f"table written to {path}")
    sys.stdout.flush()
    return 0 if all(r.passed for r in records) else 1


def write_csv(records: list[CheckRecord], out_dir: str | Path) -> Path:
    """The records as ``out_dir/validation.csv`` (one row each, CheckRecord's fields),
    written atomically, and the run's ``provenance.json`` beside it."""
    out = Path(out_dir)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=[fl.name for fl in fields(CheckRecord)],
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(asdict(r) for r in records)
    path = out / CSV_NAME
    atomic_write_text(path, text.getvalue())
    provenance.bind(out, provenance.record(), resuming=False)  # no traces: textbook queues
    return path

