"""The reference traces: named trace sets, loading, validation and per-qubit lookup.

A trace set is a directory with the six CSV files of the paper's published
data, or the name of a set bundled in ``hqsched/instances/data`` (MIT
licensed, see ``LICENSE-traces`` there and in each set's folder):

- ``2024-10`` (the default): the reference simulator's current traces,
  published in October 2024, 4..24 qubits;
- ``2024-09``: its first published traces (its commit of 2024-09-19), 4..10
  qubits, in ``data/traces-2024-09`` with a README on how they differ.

``--traces`` (CLI) and ``traces`` (TOML) take either; a set's name wins over a
directory of the same name (write ``./2024-09`` for the directory). A user's
directory in the same format loads the same way. Times are seconds measured
on the authors' machine.

| file | columns | unit |
| --- | --- | --- |
| pre.csv, cost_time.csv, post.csv | n_qubits, <value> | seconds |
| num_iterations.csv | n_qubits, num_iterations | count |
| exec_time.csv | n_qubits, exec_time | seconds (one quantum iteration) |
| ibm_job_estimate.csv (no header) | timestamp, n_qubits, backend, seconds | seconds |

Shapes of the first published set, read as they are:

- ``cost_time.csv`` may hold one row per *iteration* (the 2024-09 set: 7,441
  to 19,286 rows per qubit count) instead of one mean per job: every row is a
  sample either way, and a job draws one (``hqsched.instances.workload``).
- ``post.csv`` may name its value column ``run_sampler`` (the 2024-09 set);
  it is read as ``post``.
- The 2024-09 set publishes neither ``exec_time.csv`` (the same file in both
  publications) nor ``ibm_job_estimate.csv`` (dated 2024-10-18): both are
  read from the default set's folder (``BundledTraceSet.borrowed``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import numpy as np

from hqsched.errors import InputError
from hqsched.inputs import MAX_TIME_S, not_utf8, open_text_file, parse_text

from .model import MAX_ITERATIONS, MAX_QUBITS

#: Classical trace seconds are turned into operations at this rate, so a
#: worker of capacity S = 1e9 ops/s reproduces the measured times.
OPS_PER_TRACE_SECOND = 1e9

_VALUE_FILES = {
    "pre": "pre.csv",
    "cost_time": "cost_time.csv",
    "post": "post.csv",
    "num_iterations": "num_iterations.csv",
    "exec_time": "exec_time.csv",
}
IBM_FILE = "ibm_job_estimate.csv"
#: Other accepted names of a file's value column (the first published set's).
_VALUE_ALIASES = {"post": ("run_sampler",)}


@dataclass(frozen=True)
class BundledTraceSet:
    """A trace set shipped with the package, selected by ``name``."""

    name: str
    #: Folder under ``hqsched/instances/data`` ("" = that folder itself).
    folder: str
    description: str
    #: Files this set does not publish, read from the default set's folder.
    borrowed: tuple[str, ...] = ()


DEFAULT_TRACE_SET = "2024-10"
TRACE_SETS = {s.name: s for s in (
    BundledTraceSet("2024-10", "", "the reference simulator's current traces (October 2024; "
                    "4..24 qubits; the default)"),
    BundledTraceSet("2024-09", "traces-2024-09",
                    "its first published traces (2024-09-19; 4..10 qubits, per-iteration "
                    "cost_time rows)", borrowed=("exec_time.csv", IBM_FILE)),
)}


@dataclass(frozen=True)
class TraceSet:
    """Per-qubit-count samples of each trace column.

    ``columns[name][q]`` is a 1-D float array of the measured values of
    ``name`` (one of pre, cost_time, post, num_iterations, exec_time) at
    ``q`` qubits. ``ibm_estimate_s[(q, backend)]`` is IBM's estimated
    circuit time in seconds.
    """

    source: str
    columns: dict[str, dict[int, np.ndarray]]
    ibm_estimate_s: dict[tuple[int, str], float]
    #: The estimate file's last row per qubit count, whatever its backend (the
    #: reference simulator's rule: a map insert per row keeps the last).
    ibm_last_row_s: dict[int, float] = field(default_factory=dict)

    def qubits_with(self, name: str) -> list[int]:
        return sorted(self.columns[name])

    def values(self, name: str, qubits: int) -> np.ndarray:
        """Samples of ``name`` at ``qubits``; a clear error when the traces have none."""
        try:
            return self.columns[name][qubits]
        except KeyError:
            raise InputError(
                f"{self.source}: {_VALUE_FILES[name]} has no rows with n_qubits={qubits} "
                f"(available: {self.qubits_with(name)}); --fill-in nearest borrows the "
                f"nearest qubit count's rows") from None

    def ibm_backends(self) -> list[str]:
        return sorted({b for _, b in self.ibm_estimate_s})

    def ibm_qubits(self) -> list[int]:
        return sorted({q for q, _ in self.ibm_estimate_s})

    def fastest_ibm_estimate_s(self, qubits: int, backend: str | None = None) -> float | None:
        """IBM's estimate at ``qubits``: the fastest backend's, or the named backend's.

        ``None`` when the traces have no estimate at that qubit count.
        """
        found = [s for (q, b), s in self.ibm_estimate_s.items()
                 if q == qubits and (backend is None or b == backend)]
        return min(found) if found else None

    def filled_nearest(self, qubits: int) -> TraceSet:
        """This set with every value missing at ``qubits`` taken from the nearest qubit
        count that has it (the larger on a tie): the rows of each file, each backend's
        IBM estimate and the last-row estimate. The ``--fill-in nearest`` rule."""
        columns = {name: dict(per_q) for name, per_q in self.columns.items()}
        for per_q in columns.values():
            if qubits not in per_q:
                per_q[qubits] = per_q[nearest_qubits(per_q, qubits)]
        ibm = dict(self.ibm_estimate_s)
        for backend in self.ibm_backends():
            have = [q for q, b in self.ibm_estimate_s if b == backend]
            if qubits not in have:
                ibm[(qubits, backend)] = self.ibm_estimate_s[(nearest_qubits(have, qubits),
                                                              backend)]
        last = dict(self.ibm_last_row_s)
        if last and qubits not in last:
            last[qubits] = last[nearest_qubits(last, qubits)]
        return replace(self, columns=columns, ibm_estimate_s=ibm, ibm_last_row_s=last)


def nearest_qubits(have: Iterable[int], qubits: int) -> int:
    """The qubit count of ``have`` nearest to ``qubits``, the larger on a tie."""
    return min(have, key=lambda q: (abs(q - qubits), -q))


def bundled_trace_dir(name: str = DEFAULT_TRACE_SET) -> Path:
    """Folder of a bundled trace set (by default, the default set's)."""
    root = resources.files("hqsched.instances") / "data"
    folder = TRACE_SETS[name].folder
    return Path(str(root / folder if folder else root))


def parse_traces(value: object, where: str) -> str:
    """``--traces``: a bundled set's name or a trace directory, kept as given (the
    one parser of the option; ``load_traces`` resolves it)."""
    return parse_text(value, where)


def is_trace_set_name(value: object) -> bool:
    """True when ``value`` names a bundled trace set (never a path then)."""
    return isinstance(value, str) and value in TRACE_SETS


def trace_files(traces: str | Path | None = None) -> dict[str, Path]:
    """File name -> path of the six files of a trace set: a bundled set's name, a
    directory, or None (the default set). Paths are not checked here."""
    if traces is None or is_trace_set_name(traces):
        bundled = TRACE_SETS[str(traces) if traces is not None else DEFAULT_TRACE_SET]
        own, shared = bundled_trace_dir(bundled.name), bundled_trace_dir()
        return {f: (shared if f in bundled.borrowed else own) / f
                for f in (*_VALUE_FILES.values(), IBM_FILE)}
    root = Path(traces)
    return {f: root / f for f in (*_VALUE_FILES.values(), IBM_FILE)}


def trace_dirs(traces: str | Path | None = None) -> list[Path]:
    """The folders a trace set's files are read from (``trace_files``), for provenance."""
    return list(dict.fromkeys(path.parent for path in trace_files(traces).values()))


def load_traces(directory: str | Path | None = None) -> TraceSet:
    """Load and validate a trace set: a bundled set's name (``TRACE_SETS``), a
    directory, or None (the default set, ``DEFAULT_TRACE_SET``)."""
    if directory is not None and not is_trace_set_name(directory):
        if not Path(directory).is_dir():
            known = ", ".join(TRACE_SETS)
            raise InputError(f"trace directory {directory} does not exist (and is not a "
                             f"bundled trace set: {known})")
    files = trace_files(directory)
    columns = {name: _read_value_file(files[fname], name) for name, fname in _VALUE_FILES.items()}
    for q, values in columns["num_iterations"].items():
        bad = values[(values < 0) | (values != np.floor(values))]
        if bad.size:
            raise InputError(f"{files['num_iterations.csv']}: num_iterations at n_qubits={q} "
                             f"must be a whole number >= 0, got {bad[0]!r}")
    estimates, last_row = _read_ibm_file(files[IBM_FILE])
    if directory is None:
        source = str(bundled_trace_dir())  # the default set's folder, as ever
    elif is_trace_set_name(directory):
        source = f"trace set {directory} (bundled)"
    else:
        source = str(Path(directory))
    return TraceSet(source, columns, estimates, last_row)


def _read_value_file(path: Path, name: str) -> dict[int, np.ndarray]:
    if not path.is_file():
        raise InputError(f"trace file {path} is missing")
    per_q: dict[int, list[float]] = {}
    high = float(MAX_ITERATIONS) if name == "num_iterations" else MAX_TIME_S
    rows = _csv_rows(path)
    header = next(rows, (1, None))[1]
    names = (name, *_VALUE_ALIASES.get(name, ()))
    if header is None or len(header) != 2 or header[0].strip() != "n_qubits" \
            or header[1].strip() not in names:
        raise InputError(f"{path}: header must be 'n_qubits,{name}'"
                         + "".join(f" or 'n_qubits,{a}'" for a in names[1:])
                         + f", got {_show(header)}")
    for line_no, row in rows:
        if len(row) != 2:
            raise InputError(f"{path}:{line_no}: expected 2 fields, got {len(row)}: {_show(row)}")
        q = _parse_qubits(path, line_no, row[0])
        value = _parse_float(path, line_no, name, row[1])
        if not (0 < value if name == "exec_time" else 0 <= value):  # also NaN
            raise InputError(f"{path}:{line_no}: {name} must be "
                             f"{'> 0' if name == 'exec_time' else '>= 0'}, got {_show(row[1])}")
        if value > high:  # also inf
            raise InputError(f"{path}:{line_no}: {name} must be <= {high:.10g}, "
                             f"got {_show(row[1])}")
        per_q.setdefault(q, []).append(value)
    if not per_q:
        raise InputError(f"{path}: no data rows")
    return {q: np.asarray(v, dtype=float) for q, v in per_q.items()}


def _read_ibm_file(path: Path) -> tuple[dict[tuple[int, str], float], dict[int, float]]:
    """(estimate per (qubits, backend), last row's estimate per qubit count)."""
    if not path.is_file():
        raise InputError(f"trace file {path} is missing")
    estimates: dict[tuple[int, str], float] = {}
    last_row: dict[int, float] = {}
    for line_no, row in _csv_rows(path):
        if len(row) != 4:
            raise InputError(f"{path}:{line_no}: expected 4 fields "
                             f"(timestamp,n_qubits,backend,seconds), got {_show(row)}")
        q = _parse_qubits(path, line_no, row[1])
        seconds = _parse_float(path, line_no, "seconds", row[3])
        if not 0 < seconds <= MAX_TIME_S:
            raise InputError(f"{path}:{line_no}: seconds must be > 0 and <= {MAX_TIME_S:g}, "
                             f"got {_show(row[3])}")
        # Several estimates of one (qubits, backend) pair: keep the latest row.
        estimates[(q, row[2].strip())] = seconds
        last_row[q] = seconds
    return estimates, last_row


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of the non-blank rows of a UTF-8 CSV file; one-line errors."""
    with open_text_file(path) as fh:
        reader = csv.reader(fh)
        try:
            for row in reader:
                if row:
                    yield reader.line_num, row
        except UnicodeDecodeError:
            raise not_utf8(str(path), path) from None
        except csv.Error as exc:
            raise InputError(f"{path}:{reader.line_num}: not a valid CSV row ({exc})") from None


def _parse_qubits(path: Path, line_no: int, text: str) -> int:
    stripped = text.strip()
    if not (stripped.isdigit() and len(stripped) <= 30 and 0 < int(stripped) <= MAX_QUBITS):
        raise InputError(f"{path}:{line_no}: n_qubits must be an integer from 1 to "
                         f"{MAX_QUBITS}, got {_show(text)}")
    return int(stripped)


def _parse_float(path: Path, line_no: int, name: str, text: str) -> float:
    try:
        return float(text)  # NaN and inf fail the callers' range checks
    except ValueError:
        raise InputError(f"{path}:{line_no}: {name} must be a number, got {_show(text)}") from None


def _show(value: object) -> str:
    """``repr(value)`` cut to 60 characters, so a message stays one short line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
