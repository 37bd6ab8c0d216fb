"""``hqsched --help`` and ``--version`` start fast: they import nothing heavy.

A behavioural check, not a timing: building the parser (and printing the
help or the version) must not import numpy, pandas, Pyomo, numba, SciPy,
Matplotlib, HiGHS or Ray, which cost seconds. Each check runs in a fresh
interpreter, since this test process has imported them already.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from hqsched import cli

HEAVY = ("numpy", "pandas", "pyomo", "numba", "scipy", "matplotlib", "highspy", "ray")


def heavy_modules_after(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter; the heavy top-level packages it imported."""
    probe = (f"{code}\nimport json, sys\n"
             f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_building_the_parser_imports_no_heavy_module():
    assert heavy_modules_after("import hqsched.cli; hqsched.cli.build_parser()") == []


@pytest.mark.parametrize("option", ["--help", "--version"])
def test_help_and_version_import_no_heavy_module(option):
    code = ("import contextlib, io, hqsched.cli\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n"
            f"        hqsched.cli.main([{option!r}])\n"
            "    except SystemExit:\n"
            "        pass")
    assert heavy_modules_after(code) == []


def test_the_probe_sees_a_heavy_import():
    # The check above can fail: a module that imports numpy is reported.
    assert heavy_modules_after("import numpy") == ["numpy"]


def subcommand_parsers() -> dict[str, cli.LazyCommandParser]:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_help_lists_every_command_of_the_registry():
    text = cli.build_parser().format_help()
    for name, (_, help_) in cli.COMMANDS.items():
        assert name in text and help_.split()[0] in text


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_each_command_module_registers_its_command(name):
    # The registry names the module; its register() must add a parser of that name.
    real = subcommand_parsers()[name].real()
    assert real.prog == f"hqsched {name}"
    assert real.format_help() == subcommand_parsers()[name].format_help()


def test_a_subcommand_parses_its_options_once_loaded():
    ns = cli.build_parser().parse_args(
        ["instance", "generate", "--jobs", "3", "--iterations", "2", "--interarrival", "5",
         "-o", "x.json"])
    assert (ns.command, ns.jobs, ns.iterations, ns.interarrival) == ("instance", 3, 2, 5.0)
    assert callable(ns.func)
