"""User input: option values and TOML files, checked in one place (base layer).

Every failure is one ``InputError`` line that names where the value came from
and the value itself; the ``hqsched`` command prints it without a traceback.

Two families of checks:

- ``parse_*(value, where)`` turn a raw value, as typed on the command line
  (text) or read from a TOML file (text, number, bool or list), into a typed
  value. ``where`` is the option (``--warmup``) or the file and key
  (``small.toml: warmup``); the message reads ``<where>: must be <rule>, got
  <value>``. The argparse types of ``hqsched.cli.arguments`` wrap them.
- ``require_*(value, where, field)`` check a value that is already typed (a
  dataclass field of the data model) without converting it; the message reads
  ``<where>: <field> must be <rule>, got <value>``, e.g. ``platform:
  classical_workers must be a positive integer, got 0``.

``load_toml`` reads a TOML file with ``tomllib`` (Python 3.11+) or its
backport ``tomli`` (Python 3.10).
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hqsched.errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, published as tomli
    import tomli as tomllib

# --------------------------------------------------------------------------
# Typed values (data model fields)
# --------------------------------------------------------------------------


def require_positive_int(value: object, where: str, field: str) -> int:
    """``value`` itself if it is an integer > 0 (``True`` is not a count)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise InputError(f"{where}: {field} must be a positive integer, got {value!r}")


def require_nonnegative_int(value: object, where: str, field: str) -> int:
    """``value`` itself if it is an integer >= 0."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise InputError(f"{where}: {field} must be an integer >= 0, got {value!r}")


def require_positive_number(value: object, where: str, field: str) -> float:
    """``value`` itself if it is a finite ``int`` or ``float`` > 0."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) \
            and math.isfinite(value) and value > 0:
        return value
    raise InputError(f"{where}: {field} must be a positive number, got {value!r}")


# --------------------------------------------------------------------------
# Raw values (command line, TOML)
# --------------------------------------------------------------------------

_UNITS_S = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([smhd]?)\s*$")


def parse_positive_int(value: Any, where: str) -> int:
    """An integer > 0, from text or a TOML integer (not a float, not a bool)."""
    return _parse_int(value, where, 1, "a positive integer")


def parse_nonnegative_int(value: Any, where: str) -> int:
    """An integer >= 0, from text or a TOML integer."""
    return _parse_int(value, where, 0, "an integer >= 0")


def _parse_int(value: Any, where: str, low: int, rule: str) -> int:
    try:
        if isinstance(value, (bool, float)):
            raise ValueError
        n = int(value)
    except (TypeError, ValueError):
        raise InputError(f"{where}: must be {rule}, got {value!r}") from None
    if n < low:
        raise InputError(f"{where}: must be {rule}, got {value!r}")
    return n


def parse_positive_float(value: Any, where: str) -> float:
    """A finite number > 0, from text or a TOML number."""
    try:
        if isinstance(value, bool):
            raise ValueError
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{where}: must be a positive number, got {value!r}") from None
    if not (math.isfinite(x) and x > 0):
        raise InputError(f"{where}: must be a positive finite number, got {value!r}")
    return x


def parse_probability(value: Any, where: str) -> float:
    """A number in [0, 1]."""
    try:
        if isinstance(value, bool):
            raise ValueError
        x = float(value)
    except (TypeError, ValueError):
        x = math.nan
    if not (0.0 <= x <= 1.0):
        raise InputError(f"{where}: must be a probability in [0, 1], got {value!r}")
    return x


def parse_duration(value: Any, where: str, allow_zero: bool = False,
                   allow_inf: bool = False) -> float:
    """``7d``, ``12h``, ``30m``, ``600s``, ``600`` (or a TOML number) -> seconds."""
    if isinstance(value, bool):
        raise InputError(f"{where}: must be a duration like 7d, 12h, 30m, 600s or 600, "
                         f"got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif allow_inf and str(value).strip().lower() in ("inf", "infinity"):
        seconds = math.inf
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise InputError(f"{where}: must be a duration like 7d, 12h, 30m, 600s or 600, "
                             f"got {value!r}")
        seconds = float(m.group(1)) * _UNITS_S[m.group(2)]
    if math.isnan(seconds) or seconds < 0 or (seconds == 0 and not allow_zero) \
            or (math.isinf(seconds) and not allow_inf):
        need = ">= 0" if allow_zero else "> 0"
        raise InputError(f"{where}: must be a finite duration {need}, got {value!r}")
    return seconds


def parse_seeds(value: Any, where: str) -> tuple[int, ...]:
    """``0-19`` (inclusive range), ``1,5,9``, ``0-3,10``, ``n=20`` (= 0-19), or a TOML list/int."""
    bad = InputError(f"{where}: seeds must look like 0-19, 1,5,9 or n=20 (integers >= 0), "
                     f"got {value!r}")
    if isinstance(value, bool):
        raise bad
    if isinstance(value, int):
        parts = [str(value)]
    elif isinstance(value, list):
        parts = [str(v) for v in value]
    else:
        text = str(value).replace(" ", "")
        m = re.fullmatch(r"n=(\d+)", text)
        if m:
            if int(m.group(1)) == 0:
                raise bad
            return tuple(range(int(m.group(1))))
        parts = text.split(",")
    seeds: list[int] = []
    for part in parts:
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part.strip())
        if not m:
            raise bad
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise InputError(f"{where}: seed range {part!r} is empty (end before start)")
        seeds.extend(range(lo, hi + 1))
    if not seeds:
        raise bad
    if len(set(seeds)) != len(seeds):
        dup = next(s for s in seeds if seeds.count(s) > 1)
        raise InputError(f"{where}: seed {dup} is given more than once in {value!r}")
    return tuple(seeds)


def parse_int_list(value: Any, where: str, distinct: bool = True) -> tuple[int, ...]:
    """``4,6,8`` (or a TOML list) -> positive integers; ``distinct``: no value twice."""
    items = value if isinstance(value, list) else str(value).split(",")
    if not items or items == [""]:
        raise InputError(f"{where}: must be a comma list of positive integers, got {value!r}")
    out = tuple(parse_positive_int(v.strip() if isinstance(v, str) else v, where) for v in items)
    if distinct and len(set(out)) != len(out):
        raise InputError(f"{where}: values must be distinct, got {value!r}")
    return out


def parse_int_range(value: Any, where: str) -> tuple[int, int]:
    """``"1-6"`` (inclusive), ``"4"`` or ``4`` -> (low, high), positive integers."""
    m = None if isinstance(value, bool) else \
        re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", str(value))
    if not m:
        raise InputError(f"{where}: must be a range like 1-6 or one value like 4, got {value!r}")
    lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
    if lo < 1 or hi < lo:
        raise InputError(f"{where}: must be positive with low <= high, got {value!r}")
    return lo, hi


def parse_choice(choices: tuple[str, ...]) -> Callable[[Any, str], str]:
    """A parser that accepts exactly one of ``choices``."""
    def parse(value: Any, where: str) -> str:
        if value not in choices:
            raise InputError(f"{where}: must be one of {', '.join(choices)}, got {value!r}")
        return str(value)
    return parse


def parse_text(value: Any, where: str) -> str:
    """A non-empty string, stripped."""
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: must be a non-empty string, got {value!r}")
    return value.strip()


def parse_flag(value: Any, where: str) -> bool:
    """``true`` or ``false`` (a TOML bool; on the command line a flag is present or not)."""
    if not isinstance(value, bool):
        raise InputError(f"{where}: must be true or false, got {value!r}")
    return value


# --------------------------------------------------------------------------
# TOML files
# --------------------------------------------------------------------------

def load_toml(path: str | Path, option: str | None = None) -> dict[str, Any]:
    """The top-level table of a TOML file.

    A missing file is ``[<option> ]<path>: no such file``; a malformed one
    ``<path>: not valid TOML (<line and column>)``.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise InputError(f"{option + ' ' if option else ''}{path}: no such file") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None
