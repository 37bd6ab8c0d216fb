"""``hqsched report``: figures and a summary page from a campaign's output directory."""

from __future__ import annotations

import argparse
from pathlib import Path

from hqsched.cli.arguments import add_progress_options
from hqsched.reports.report import build_report
from hqsched.reports.style import FIGURE_FORMATS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` subcommand."""
    p = subparsers.add_parser(
        "report",
        description="Read the output directory of `hqsched simulate`, `campaign run`, "
                    "`plan simulate` or `gap` (their --out DIR) and write figures, CSV "
                    "tables and report.md (figures whose axes the run did not vary are "
                    "skipped), with the provenance of the results. Every mean has its 95% CI "
                    "across seeds; job times in hours.",
        epilog="examples:\n  hqsched report results/small --out report/small --html\n"
               "  hqsched report results/plan --out report/plan --figure-format pdf",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", metavar="RESULTS_DIR",
                   help="output directory of simulate, campaign run, plan simulate or gap")
    p.add_argument("--out", required=True, metavar="DIR", help="report directory")
    p.add_argument("--notes", metavar="FILE",
                   help="Markdown file appended to the page (e.g. a discussion of the findings)")
    p.add_argument("--html", action="store_true",
                   help="also write report.html (tables, figures and lists as HTML; no extra "
                        "package needed)")
    p.add_argument("--figure-format", choices=FIGURE_FORMATS, default="png",
                   help="file format of the figures: png (default, 150 dpi), or pdf / svg "
                        "(vector, for papers)")
    add_progress_options(p)
    p.set_defaults(func=run)


def run(ns: argparse.Namespace) -> int:
    page = build_report(ns.results, ns.out, notes=Path(ns.notes) if ns.notes else None,
                        html=ns.html, figure_format=ns.figure_format)
    print(f"report written: {page}" + (f" and {page.with_suffix('.html')}" if ns.html else ""))
    return 0
