"""The ``hqsched`` command: one subcommand per part (``simulate``, ``solve``, ...)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from hqsched import __version__
from hqsched.errors import InputError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hqsched",
        description="Model, optimize and simulate hybrid classical-quantum serverless platforms.")
    parser.add_argument("--version", action="version", version=f"hqsched {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    from hqsched.cli.campaign import register as register_campaign
    from hqsched.cli.gap import register as register_gap
    from hqsched.cli.plan import register as register_plan
    from hqsched.cli.report import register as register_report
    from hqsched.cli.simulate import register as register_online
    from hqsched.cli.solve import register as register_formulation
    from hqsched.cli.validate import register as register_validate
    from hqsched.online.instance_runs import best_online_schedule

    register_online(sub)
    # The solver's incumbent comes from the online simulator; formulation
    # itself never imports online (data flows one way), so it is plugged here.
    register_formulation(sub, warm_start_provider=best_online_schedule)
    register_campaign(sub)
    register_report(sub)
    register_gap(sub)
    register_plan(sub)
    register_validate(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; bad input becomes ``hqsched: error: <message>`` and exit code 2."""
    parser = build_parser()
    ns = parser.parse_args(argv)
    try:
        return int(ns.func(ns) or 0)
    except InputError as exc:
        # One line, never a traceback: the message already names source, field, value.
        print(f"hqsched: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # Output piped into e.g. `head`: not an error worth a traceback.
        sys.stderr.close()
        return 0
    except OSError as exc:
        # Unwritable --out, full disk, ...: the user's environment, not a bug.
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"hqsched: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hqsched: interrupted (finished replications are saved in --out)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
