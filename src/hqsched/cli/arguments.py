"""argparse value types shared by every subcommand: the parsers of ``hqsched.inputs``.

argparse prefixes the option's name, so each error reads
``argument --jobs: must be a positive integer, got '0'``: the same rule and
wording as the TOML keys of a scenario or campaign file.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from hqsched import inputs, progress
from hqsched.errors import InputError

if TYPE_CHECKING:  # annotations only: the data model loads numpy
    from hqsched.instances.model import Instance

T = TypeVar("T")


def argument_type(parse: Callable[[Any, str], T], name: str) -> Callable[[str], T]:
    """An argparse ``type=`` from a ``parse(value, where)`` of ``hqsched.inputs``.

    argparse names the option itself, so the ``<where>: `` prefix is dropped.
    """
    def convert(text: str) -> T:
        try:
            return parse(text, "")
        except InputError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix(": ")) from None
    convert.__name__ = name  # argparse shows it in "invalid <name> value" messages
    return convert


positive_int = argument_type(inputs.parse_positive_int, "positive_int")
nonnegative_int = argument_type(inputs.parse_nonnegative_int, "nonnegative_int")
positive_float = argument_type(inputs.parse_positive_float, "positive_float")
int_list = argument_type(lambda v, w: inputs.parse_int_list(v, w, distinct=False), "int_list")
#: Worker processes: 1..inputs.MAX_PROCESSES.
processes = argument_type(inputs.bounded_int(1, inputs.MAX_PROCESSES), "processes")
#: C, Q and admission thresholds: 1..inputs.MAX_SERVERS.
servers = argument_type(inputs.bounded_int(1, inputs.MAX_SERVERS), "servers")
#: How many seeds / instances of a run: 1..inputs.MAX_SEEDS.
seed_count = argument_type(inputs.bounded_int(1, inputs.MAX_SEEDS), "seed_count")
#: Worker capacity S (ops/s): inputs.MIN_CAPACITY..inputs.MAX_CAPACITY.
capacity = argument_type(inputs.bounded_float(inputs.MIN_CAPACITY, inputs.MAX_CAPACITY),
                         "capacity")
#: A duration > 0 and <= inputs.MAX_TIME_S, in seconds, from ``90``, ``90s``, ``15m``,
#: ``2h`` or ``1d`` (time limits, delay bounds): the one duration parser of every option.
seconds = argument_type(inputs.parse_duration, "duration")
#: A mean gap or grid step (a duration as above): inputs.MIN_GAP_S..inputs.MAX_TIME_S.
gap_seconds = argument_type(lambda v, w: inputs.parse_duration(v, w, minimum=inputs.MIN_GAP_S),
                            "duration")
#: Seeds in the one grammar of ``inputs.SEEDS_SYNTAX`` (a bare integer is one seed).
seeds = argument_type(inputs.parse_seeds, "seeds")
#: Seeds for a confidence interval or a t bound: at least 2.
seeds_for_interval = argument_type(lambda v, w: inputs.parse_seeds(v, w, min_count=2), "seeds")

#: The unit sentence of every duration option's help.
DURATION_UNITS = "a duration: 90 or 90s (seconds), 15m, 2h, 1d"
#: The help of every ``--processes`` option (one default: every core, never a result change).
PROCESSES_HELP = inputs.PROCESSES_HELP
#: The help of every ``--quiet`` and ``--progress`` flag.
QUIET_HELP = ("no progress bar and no notices (default: a bar with ETA on stderr when it is "
              "a terminal, or in a notebook)")
PROGRESS_HELP = "show the progress bar even when stderr is not a terminal (a file, a pipe)"

#: Modules whose numba kernels a command compiles on a cold cache (``compile_notice``).
SIMULATOR_KERNELS = ("hqsched.online.kernel",)
SOLVER_KERNELS = ("hqsched.formulation.bnb",)


def add_progress_options(parser: argparse.ArgumentParser, with_progress: bool = True) -> None:
    """``--quiet`` (and ``--progress`` unless the command has it already): the bar rule of
    ``hqsched.progress``, applied by ``hqsched.cli.main``."""
    parser.add_argument("--quiet", action="store_true", help=QUIET_HELP)
    if with_progress:
        parser.add_argument("--progress", action="store_true", help=PROGRESS_HELP)


def compile_notice(*modules: str) -> bool:
    """Print "compiling kernels (first run only)..." if numba must compile the kernels of
    ``modules`` (dotted names) on this run; True if it must (``hqsched.progress``)."""
    import importlib
    return progress.compile_notice([importlib.import_module(m) for m in modules])
#: Priorities: a comma list of 1..inputs.MAX_PRIORITY.
priority_list = argument_type(
    lambda v, w: inputs.parse_int_list(v, w, distinct=False, maximum=inputs.MAX_PRIORITY),
    "priority_list")


def output_file(text: str, option: str, suffix: str | None,
                example: str = "schedule.csv") -> Path:
    """The file ``option`` names, checked before any work: not a directory, its parent
    an existing directory or creatable; ``suffix``: required (appended if absent);
    ``example``: a file name the message suggests for a directory."""
    path = Path(text)
    if path.is_dir() or text.endswith(("/", "\\")):
        raise InputError(f"{option}: {text} is a directory; give a file name, e.g. "
                         f"{path / example}")
    if suffix is not None:
        if path.suffix == "":
            path = path.with_name(path.name + suffix)
        elif path.suffix.lower() != suffix:
            raise InputError(f"{option}: must be a {suffix} file, got {text!r}")
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise InputError(f"{option}: {parent} is not a directory, cannot write {path}")
    return path


def check_instance_size(instance: Instance, name: str) -> None:
    """Refuse an instance the exact solvers cannot take: no jobs, or more tasks than
    ``inputs.MAX_INSTANCE_TASKS`` (counted from the iteration counts, not expanded)."""
    if len(instance) == 0:
        raise InputError(f"{name}: the instance has no jobs; nothing to solve")
    tasks = sum(job.task_count for job in instance.jobs)
    if tasks > inputs.MAX_INSTANCE_TASKS:
        raise InputError(f"{name}: {tasks} tasks, more than the limit of "
                         f"{inputs.MAX_INSTANCE_TASKS} for the offline solvers")
