"""argparse value types shared by every subcommand: the parsers of ``hqsched.inputs``.

argparse prefixes the option's name, so each error reads
``argument --jobs: must be a positive integer, got '0'``: the same rule and
wording as the TOML keys of a scenario or campaign file.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TypeVar

from hqsched import inputs
from hqsched.errors import InputError

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
