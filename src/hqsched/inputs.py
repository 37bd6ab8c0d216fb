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

Limits (``MAX_*``, ``MIN_*`` below) bound every number to what the model
represents exactly: float64 times, int64 counters, arrays allocated per
server or per seed. A value outside them is refused at parse time, with the
bound in the message, before anything is allocated or computed.
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
# Limits
# --------------------------------------------------------------------------

#: Largest integer any input takes: 2**53, below which float64 (times, JSON
#: numbers) and int64 (compiled counters) both hold every integer exactly.
MAX_INT = 2**53
#: Most seeds of one run (replications, study instances, seed budget per
#: candidate): 100000 replications give a CI 100x narrower than 10 do; more is
#: a typo, and a seed set of that size is counted, never listed, before refusal.
MAX_SEEDS = 100_000
#: Most classical workers, quantum computers, admission thresholds (C, Q,
#: C_max, Q_max) and C/Q values of a plan range: the engine keeps state per
#: server and per admitted task.
MAX_SERVERS = 100_000
#: Most (C, Q) candidates of one plan (each is a scenario built up front).
MAX_PLAN_CANDIDATES = 10_000
#: Largest priority: the weighted policy sums pending priorities in int64 and
#: draws ``u * W`` in float64; with priorities <= 1e6 that sum stays exact
#: (< 2**53) up to 9e9 pending jobs.
MAX_PRIORITY = 1_000_000
#: Longest time (durations, warm-up, time limits, delay bounds and targets):
#: 1e9 s (31.7 years), where the float64 clock still resolves 1.2e-7 s.
MAX_TIME_S = 1e9
#: Shortest mean inter-arrival time or grid step: 1e-6 s, 8 float64 steps
#: of the clock at ``MAX_TIME_S`` (shorter gaps would collapse arrivals).
MIN_GAP_S = 1e-6
#: Worker capacity S (operations/s): 1 (hand-made instances count work in
#: seconds at S = 1) to 1e15, a million times the paper's 1e9; above it the
#: shortest task of the bundled traces (1.3e5 ops) lasts under 1.3e-10 s,
#: the float64 step of a one-week clock, and events would merge.
MIN_CAPACITY, MAX_CAPACITY = 1.0, 1e15
#: Iteration scale: 1e-6 to 1e6; a job then has at most 1.5e9 iterations
#: (1500 in the traces), a count int64 and float64 hold exactly.
MIN_ITERATION_SCALE, MAX_ITERATION_SCALE = 1e-6, 1e6
#: Largest cost weight (plan --cost): a*C + b*Q stays finite and exact to
#: 1e-5 relative at the largest C and Q.
MAX_COST_WEIGHT = 1e15
#: Most worker processes: more than any machine's cores; a larger value is a typo.
MAX_PROCESSES = 1024
#: The help of every ``--processes`` option: one default everywhere.
PROCESSES_HELP = ("worker processes (default: all cores this process may use; 1 = no pool; "
                  "results do not depend on it)")
#: Most tasks of a generated offline instance (jobs x (2 x iterations + 2)):
#: exact solvers handle hundreds; a million is tens of MB of JSON.
MAX_INSTANCE_TASKS = 1_000_000


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


def parse_positive_int(value: Any, where: str, maximum: int = MAX_INT) -> int:
    """An integer in 1..``maximum``, from text or a TOML integer (not a float, not a bool)."""
    return _parse_int(value, where, 1, maximum, "a positive integer")


def parse_nonnegative_int(value: Any, where: str, maximum: int = MAX_INT) -> int:
    """An integer in 0..``maximum``, from text or a TOML integer."""
    return _parse_int(value, where, 0, maximum, "an integer >= 0")


def _parse_int(value: Any, where: str, low: int, high: int, rule: str) -> int:
    try:
        if isinstance(value, (bool, float)):
            raise ValueError
        n = int(value)  # text of > 4300 digits raises ValueError too
    except (TypeError, ValueError):
        raise InputError(f"{where}: must be {rule}, got {_show(value)}") from None
    if n < low:
        raise InputError(f"{where}: must be {rule}, got {_show(value)}")
    if n > high:
        raise InputError(f"{where}: must be an integer from {low} to {high}, got {_show(value)}")
    return n


def _show(value: Any) -> str:
    """``repr(value)``, cut to 60 characters (a pasted megabyte stays one short line)."""
    try:
        text = repr(value)
    except ValueError:  # an int of > 4300 digits has no repr (Python 3.11+)
        return f"an integer of {value.bit_length()} bits"
    return text if len(text) <= 60 else text[:57] + "..."


def bounded_int(low: int, high: int) -> Callable[[Any, str], int]:
    """A parser of integers in ``low``..``high`` (``low`` is 0 or 1)."""
    rule = "a positive integer" if low >= 1 else "an integer >= 0"
    def parse(value: Any, where: str) -> int:
        return _parse_int(value, where, low, high, rule)
    return parse


def parse_positive_float(value: Any, where: str, minimum: float = 0.0,
                         maximum: float = math.inf) -> float:
    """A finite number > 0 (and in [``minimum``, ``maximum``]), from text or a TOML number."""
    try:
        if isinstance(value, bool):
            raise ValueError
        x = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{where}: must be a positive number, got {_show(value)}") from None
    if not (math.isfinite(x) and x > 0):
        raise InputError(f"{where}: must be a positive finite number, got {_show(value)}")
    if not minimum <= x <= maximum:
        raise InputError(f"{where}: must be a number from {minimum:g} to {maximum:g}, "
                         f"got {_show(value)}")
    return x


def bounded_float(minimum: float, maximum: float) -> Callable[[Any, str], float]:
    """A parser of finite numbers in [``minimum``, ``maximum``] (``minimum`` > 0)."""
    def parse(value: Any, where: str) -> float:
        return parse_positive_float(value, where, minimum, maximum)
    return parse


def as_number(value: Any) -> float:
    """``value`` as a float (text or a number; not a bool), NaN if it is none: the caller's
    range check then refuses it with its own message."""
    try:
        if isinstance(value, bool):
            raise ValueError
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan


def parse_probability(value: Any, where: str) -> float:
    """A number in [0, 1]."""
    x = as_number(value)
    if not (0.0 <= x <= 1.0):
        raise InputError(f"{where}: must be a probability in [0, 1], got {_show(value)}")
    return x


def parse_duration(value: Any, where: str, allow_zero: bool = False,
                   allow_inf: bool = False, minimum: float = 0.0,
                   maximum: float = MAX_TIME_S) -> float:
    """``7d``, ``12h``, ``30m``, ``600s``, ``600`` (or a TOML number) -> seconds.

    Finite values lie in [``minimum``, ``maximum``] (default up to ``MAX_TIME_S``);
    ``allow_inf`` also takes ``inf``.
    """
    shape = f"{where}: must be a duration like 7d, 12h, 30m, 600s or 600, got {_show(value)}"
    if isinstance(value, bool):
        raise InputError(shape)
    if isinstance(value, float) or (isinstance(value, str) and allow_inf
                                    and value.strip().lower() in ("inf", "infinity")):
        seconds = float(value)  # a TOML float may be inf or nan itself
        if math.isinf(seconds) and seconds > 0 and allow_inf:
            return seconds
    elif isinstance(value, int):
        seconds = float(min(value, 2 * MAX_TIME_S)) if value > 0 else float(value)
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise InputError(shape)
        seconds = float(m.group(1)) * _UNITS_S[m.group(2)]  # 1e400 -> inf, refused below
    if math.isnan(seconds) or seconds < 0 or (seconds == 0 and not allow_zero):
        need = ">= 0" if allow_zero else "> 0"
        raise InputError(f"{where}: must be a finite duration {need}, got {_show(value)}")
    if seconds > maximum or (seconds < minimum and not (seconds == 0 and allow_zero)):
        span = (f"from {minimum:g} s to {maximum:g} s" if minimum > 0
                else f"at most {maximum:g} s ({maximum / 86400 / 365.25:.3g} years)")
        raise InputError(f"{where}: must be a duration {span}, got {_show(value)}")
    return seconds


def count_seeds(value: Any, where: str) -> int:
    """How many seeds ``value`` names (seed syntax of ``parse_seeds``), without listing them.

    Checks the syntax, the value bounds and that no seed repeats, in time and
    memory proportional to the text, not to the count (``0-999999999`` is cheap).
    """
    return sum(len(r) for r in _seed_ranges(value, where))


#: The one seed grammar of every ``--seeds`` option and ``seeds`` TOML key,
#: quoted in their help texts.
SEEDS_SYNTAX = ("0-19 (a range), 1,5,9 (a list), n=20 (the 20 seeds 0-19); "
                "a bare integer N is the one seed N")


def parse_seeds(value: Any, where: str, max_count: int = MAX_SEEDS,
                min_count: int = 1) -> tuple[int, ...]:
    """The seeds ``value`` names, in the order given (``SEEDS_SYNTAX``): ``0-19``
    (inclusive range), ``1,5,9``, ``0-3,10``, ``n=20`` (= 0-19), a bare integer
    ``N`` (the one seed N, never a count), or a TOML list or integer.

    Every command parses its seeds here, so a seed string means the same
    seeds everywhere. Seeds are integers in 0..``MAX_INT``; from ``min_count``
    to ``max_count`` of them (counted before any is listed).
    """
    ranges = _seed_ranges(value, where)
    n = sum(len(r) for r in ranges)
    if n > max_count:
        raise InputError(f"{where}: {n} seeds, more than the limit of {max_count}, "
                         f"got {_show(value)}")
    if n < min_count:
        hint = (f"; a bare integer is one seed, n={value} names the seeds 0-{int(value) - 1}"
                if isinstance(value, (int, str)) and str(value).strip().isdigit()
                and int(value) >= 1 else "")
        raise InputError(f"{where}: needs at least {min_count} seeds, got {_show(value)} "
                         f"({n} seed{'s' if n != 1 else ''}{hint})")
    return tuple(s for r in ranges for s in r)


def _seed_ranges(value: Any, where: str) -> list[range]:
    """The seed set as ranges in the order given, validated (no seed twice)."""
    bad = InputError(f"{where}: seeds must look like 0-19, 1,5,9 or n=20 (integers >= 0), "
                     f"got {_show(value)}")
    if isinstance(value, bool):
        raise bad
    if isinstance(value, int):
        parts = [str(value)]
    elif isinstance(value, list):
        parts = [str(v) for v in value]
    else:
        text = str(value).replace(" ", "")
        m = re.fullmatch(r"n=(\d{1,30})", text)
        if m:
            if int(m.group(1)) == 0:
                raise bad
            return [range(_seed_bound(int(m.group(1)) - 1, where, value) + 1)]
        parts = text.split(",")
    ranges: list[range] = []
    for part in parts:
        m = re.fullmatch(r"(\d{1,30})(?:-(\d{1,30}))?", part.strip())
        if not m:
            raise bad
        lo = _seed_bound(int(m.group(1)), where, value)
        hi = _seed_bound(int(m.group(2) or m.group(1)), where, value)
        if hi < lo:
            raise InputError(f"{where}: seed range {part!r} is empty (end before start)")
        ranges.append(range(lo, hi + 1))
    if not ranges:
        raise bad
    # A repeat is an overlap of two ranges: sort by start, compare neighbours.
    by_start = sorted(ranges, key=lambda r: r.start)
    for prev, nxt in zip(by_start, by_start[1:]):
        if nxt.start < prev.stop:
            raise InputError(f"{where}: seed {nxt.start} is given more than once in "
                             f"{_show(value)}")
    return ranges


def _seed_bound(seed: int, where: str, value: Any) -> int:
    if seed > MAX_INT:
        raise InputError(f"{where}: seeds must be integers from 0 to {MAX_INT}, "
                         f"got {_show(value)}")
    return seed


def parse_int_list(value: Any, where: str, distinct: bool = True,
                   maximum: int = MAX_INT) -> tuple[int, ...]:
    """``4,6,8`` (or a TOML list) -> integers in 1..``maximum``; ``distinct``: no value twice."""
    items = value if isinstance(value, list) else str(value).split(",")
    if not items or items == [""]:
        raise InputError(f"{where}: must be a comma list of positive integers, "
                         f"got {_show(value)}")
    if len(items) > MAX_SEEDS:
        raise InputError(f"{where}: more than {MAX_SEEDS} values, got {len(items)}")
    out = tuple(parse_positive_int(v.strip() if isinstance(v, str) else v, where, maximum)
                for v in items)
    if distinct and len(set(out)) != len(out):
        raise InputError(f"{where}: values must be distinct, got {_show(value)}")
    return out


def parse_int_range(value: Any, where: str, maximum: int = MAX_SERVERS) -> tuple[int, int]:
    """``"1-6"`` (inclusive), ``"4"`` or ``4`` -> (low, high), integers in 1..``maximum``."""
    m = None if isinstance(value, bool) else \
        re.fullmatch(r"\s*(\d{1,30})\s*(?:-\s*(\d{1,30})\s*)?", str(value)[:100])
    if not m:
        raise InputError(f"{where}: must be a range like 1-6 or one value like 4, "
                         f"got {_show(value)}")
    lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
    if lo < 1 or hi < lo:
        raise InputError(f"{where}: must be positive with low <= high, got {_show(value)}")
    if hi > maximum:
        raise InputError(f"{where}: values must be at most {maximum}, got {_show(value)}")
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
    text = read_text_file(path, option)  # UTF-8, one-line errors (missing, directory, bytes)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None
    except ValueError as exc:  # an integer of > 4300 digits (Python's int-string limit)
        raise InputError(f"{path}: a number is too long ({exc})") from None


# --------------------------------------------------------------------------
# Text files (instances, job lists, traces, notes)
# --------------------------------------------------------------------------

#: Characters decoded per step by ``read_text_file``: a binary file is refused
#: after its first megabyte, not after reading all of it.
TEXT_CHUNK_CHARS = 1 << 20


def read_text_file(path: str | Path, option: str | None = None) -> str:
    """The whole text of a UTF-8 file (a leading byte-order mark is dropped).

    Read and decoded a chunk at a time, so bad bytes stop the read where they
    are found. No size limit: a large valid file is legitimate, and its text
    is held once (plus the chunks being joined). Errors are one line naming
    ``[<option> ]<path>``: no such file, a directory, unreadable, not UTF-8.
    """
    name = f"{option} {path}" if option else str(path)
    try:
        with open_text_file(path, option, newline=None) as fh:
            chunks: list[str] = []
            while chunk := fh.read(TEXT_CHUNK_CHARS):
                chunks.append(chunk)
    except UnicodeDecodeError:
        raise not_utf8(name, path) from None
    return "".join(chunks)


def open_text_file(path: str | Path, option: str | None = None,
                   newline: str | None = "") -> Any:
    """``path`` opened for reading as UTF-8 text (``newline=""`` for the csv module).

    A decoding error surfaces while reading: catch ``UnicodeDecodeError``
    and raise ``not_utf8(name, path)``, which names the file, line and byte.
    """
    name = f"{option} {path}" if option else str(path)
    try:
        return open(path, encoding="utf-8-sig", newline=newline)  # noqa: SIM115 (returned)
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory, not a file") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot be read ({exc.strerror or exc})") from None


def not_utf8(name: str, path: str | Path) -> InputError:
    """The one-line error for a file that is not UTF-8: ``<name>: not UTF-8 text (byte 0x..
    on line L, offset N)``, located by decoding ``path`` again up to its first bad byte
    (a text reader decodes ahead of the line it returns, so its position is not exact)."""
    import codecs  # only on this error path

    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, line = 0, 1
    with open(path, "rb") as fh:
        while chunk := fh.read(TEXT_CHUNK_CHARS):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                pending = len(exc.object) - len(chunk)  # bytes the decoder held back
                bad = offset - pending + exc.start
                line += exc.object[:exc.start].count(b"\n")
                return InputError(f"{name}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} "
                                  f"on line {line}, offset {bad}); save it as UTF-8")
            offset += len(chunk)
            line += chunk.count(b"\n")
    return InputError(f"{name}: not UTF-8 text (truncated character at the end); "
                      f"save it as UTF-8")
