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

from hqsched import inputs
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
#: A time in seconds > 0 and <= inputs.MAX_TIME_S (time limits, delay bounds).
seconds = argument_type(inputs.bounded_float(0.0, inputs.MAX_TIME_S), "seconds")
#: A mean gap or grid step in seconds: inputs.MIN_GAP_S..inputs.MAX_TIME_S.
gap_seconds = argument_type(inputs.bounded_float(inputs.MIN_GAP_S, inputs.MAX_TIME_S),
                            "gap_seconds")
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
