"""``hqsched validate``: the simulator against queueing theory (closed forms).

The top-level CLI adds it with ``register``. Exit code 0 when every check
passes, 1 when any fails.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import asdict, fields
from pathlib import Path

from hqsched.cli.arguments import processes, seed_count
from hqsched.validation.queueing import FULL_SEEDS, QUICK_SEEDS, CheckRecord, format_records, validate

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
    p.add_argument("--seeds", type=_at_least_two, default=None, metavar="N",
                   help=f"replications per check (default {FULL_SEEDS}; {QUICK_SEEDS} with --quick)")
    p.add_argument("--processes", type=processes, default=None, metavar="P",
                   help="worker processes (default: all cores; 1 = no pool)")
    p.add_argument("--progress", action="store_true",
                   help="show the progress bar even when stderr is not a terminal")
    p.add_argument("--per-check", action="store_true",
                   help="verdicts at 95%% per check instead of family-wise 95%% (Bonferroni)")
    p.add_argument("--out", metavar="DIR", default=None,
                   help=f"also write the table as DIR/{CSV_NAME}")
    p.set_defaults(func=run)


def run(ns: argparse.Namespace) -> int:
    records = validate(quick=ns.quick, seeds=ns.seeds, processes=ns.processes,
                       bonferroni=not ns.per_check, force_progress=ns.progress)
    print(format_records(records))
    if ns.out is not None:
        path = write_csv(records, ns.out)
        print(f"table written to {path}")
    sys.stdout.flush()
    return 0 if all(r.passed for r in records) else 1


def write_csv(records: list[CheckRecord], out_dir: str | Path) -> Path:
    """The records as ``out_dir/validation.csv`` (one row each, CheckRecord's fields)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / CSV_NAME
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[fl.name for fl in fields(CheckRecord)])
        writer.writeheader()
        writer.writerows(asdict(r) for r in records)
    return path


def _at_least_two(text: str) -> int:
    value = seed_count(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"needs at least 2 seeds for a confidence interval, "
                                         f"got {text!r}")
    return value
