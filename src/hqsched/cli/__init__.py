"""The ``hqsched`` command: one subcommand per part (``simulate``, ``solve``, ...).

Layer: the top; it may import every package. Each subcommand lives in a
module of this package whose ``register(subparsers)`` adds its parser. Those
modules import numpy, pandas, Pyomo and numba (seconds of start-up), so a
module is imported only when its command is parsed or its help printed:
``hqsched --help`` and ``hqsched --version`` load argparse and nothing heavy
(``tests/test_startup.py`` checks it).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from hqsched import __version__, progress, provenance
from hqsched.cli import interrupt
from hqsched.errors import InputError

#: The subcommands, in ``hqsched --help`` order: name -> (module whose
#: ``register`` adds it, the one-line help shown in ``hqsched --help``).
COMMANDS: dict[str, tuple[str, str]] = {
    "simulate": ("hqsched.cli.simulate", "simulate the online platform over seeds (Monte Carlo)"),
    "instance": ("hqsched.cli.solve", "build offline instances"),
    "solve": ("hqsched.cli.solve",
              "offline optimum (HiGHS via Pyomo, or branch and bound for C = 1)"),
    "campaign": ("hqsched.cli.campaign",
                 "Monte Carlo campaigns: a grid of scenarios x seeds, resumable"),
    "report": ("hqsched.cli.report",
               "figures (PNG) and a Markdown/HTML summary page of a campaign"),
    "gap": ("hqsched.cli.gap", "optimal-versus-online gap study over many small instances"),
    "invariants": ("hqsched.cli.gap", "check the cross-part invariants on many tiny instances"),
    "plan": ("hqsched.cli.plan",
             "capacity planning: the fewest classical workers and quantum computers"),
    "validate": ("hqsched.cli.validate", "check the simulator against queueing-theory closed forms"),
}

PROG = "hqsched"


class OneLineErrorParser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line, like every other error of the command:
    ``hqsched solve: error: argument --jobs: ... (see hqsched solve --help)``, exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class LazyCommandParser(OneLineErrorParser):
    """Stands in for one subcommand's parser until it is used.

    On its first parse or help, it imports the command's module, lets its
    ``register`` build the real parser, and hands every call over to it.
    """

    def __init__(self, *, command: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.command = command
        self._real: argparse.ArgumentParser | None = None

    def real(self) -> argparse.ArgumentParser:
        """The subcommand's full parser (built on the first call)."""
        if self._real is None:
            host = OneLineErrorParser(prog=PROG)
            subparsers = host.add_subparsers()
            module = importlib.import_module(COMMANDS[self.command][0])
            module.register(subparsers)
            self._real = subparsers.choices[self.command]
        return self._real

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        return self.real().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        return self.real().format_usage()

    def format_help(self) -> str:
        return self.real().format_help()


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser; each subcommand's options are added when it is used."""
    parser = OneLineErrorParser(
        prog=PROG,
        description="Model, optimize and simulate hybrid classical-quantum serverless platforms.")
    parser.add_argument("--version", action="version", version=f"hqsched {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                parser_class=LazyCommandParser)
    for name, (_, help_) in COMMANDS.items():
        sub.add_parser(name, help=help_, command=name)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; bad input becomes ``hqsched: error: <message>`` and exit code 2;
    Ctrl-C ``hqsched <command>: interrupted; <what was kept>`` and exit code 130
    (``hqsched.cli.interrupt``)."""
    with interrupt.exit_promptly(PROG):
        try:  # parsing imports the command's module (numpy, Pyomo, ...): seconds
            ns = build_parser().parse_args(argv)
        except KeyboardInterrupt:
            interrupt.finish()
            return 130
        interrupt.name_command(f"{PROG} {ns.command}")
        # Every output records the command that made it (hqsched.provenance: stdlib only).
        provenance.set_command([PROG, *(sys.argv[1:] if argv is None else argv)])
        quiet, always = getattr(ns, "quiet", False), getattr(ns, "progress", False) is True
        with progress.configured(quiet=quiet, always=always and not quiet):
            return _run(ns)


def _run(ns: argparse.Namespace) -> int:
    """The subcommand's ``func``, its errors turned into one line and an exit code."""
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
        interrupt.finish()
        return 130


if __name__ == "__main__":
    sys.exit(main())
