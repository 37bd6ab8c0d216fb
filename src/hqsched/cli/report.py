"""``hqsched report``: figures and a summary page from a campaign's output directory."""

from __future__ import annotations

import argparse
from pathlib import Path

from hqsched.reports.report import build_report


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` subcommand."""
    p = subparsers.add_parser(
        "report",
        description="Read a campaign output directory (hqsched campaign run ... --out DIR) and "
                    "write PNG figures, CSV tables and report.md (figures whose axes the "
                    "campaign did not vary are skipped). Every mean has its 95%% CI across "
                    "seeds.",
        epilog="example:\n  hqsched report results/small --out report/small",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", metavar="RESULTS_DIR", help="campaign output directory")
    p.add_argument("--out", required=True, metavar="DIR", help="report directory")
    p.add_argument("--notes", metavar="FILE",
                   help="Markdown file appended to the page (e.g. a discussion of the findings)")
    p.add_argument("--html", action="store_true", help="also write report.html (needs the "
                   "`markdown` package; otherwise a plain HTML wrapper)")
    p.set_defaults(func=run)


def run(ns: argparse.Namespace) -> int:
    page = build_report(ns.results, ns.out, notes=Path(ns.notes) if ns.notes else None,
                        html=ns.html)
    print(f"report written: {page}")
    return 0
