"""The reference traces: loading, validation and per-qubit lookup.

A trace set is a directory with the six CSV files of the paper's published
data (bundled in ``hqsched/instances/data``, MIT licensed, see
``LICENSE-traces`` there). A user's directory in the same format loads the
same way. Times are seconds measured on the authors' machine.

| file | columns | unit |
| --- | --- | --- |
| pre.csv, cost_time.csv, post.csv | n_qubits, <value> | seconds |
| num_iterations.csv | n_qubits, num_iterations | count |
| exec_time.csv | n_qubits, exec_time | seconds (one quantum iteration) |
| ibm_job_estimate.csv (no header) | timestamp, n_qubits, backend, seconds | seconds |
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from hqsched.errors import InputError
from hqsched.inputs import MAX_TIME_S, not_utf8, open_text_file

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

    def qubits_with(self, name: str) -> list[int]:
        return sorted(self.columns[name])

    def values(self, name: str, qubits: int) -> np.ndarray:
        """Samples of ``name`` at ``qubits``; a clear error when the traces have none."""
        try:
            return self.columns[name][qubits]
        except KeyError:
            raise InputError(
                f"{self.source}: {_VALUE_FILES[name]} has no rows with n_qubits={qubits} "
                f"(available: {self.qubits_with(name)})") from None

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


def bundled_trace_dir() -> Path:
    """Directory of the traces shipped with the package."""
    return Path(str(resources.files("hqsched.instances") / "data"))


def load_traces(directory: str | Path | None = None) -> TraceSet:
    """Load and validate a trace set (the bundled one when ``directory`` is None)."""
    root = Path(directory) if directory is not None else bundled_trace_dir()
    if not root.is_dir():
        raise InputError(f"trace directory {root} does not exist")
    columns = {name: _read_value_file(root / fname, name) for name, fname in _VALUE_FILES.items()}
    for q, values in columns["num_iterations"].items():
        bad = values[(values < 0) | (values != np.floor(values))]
        if bad.size:
            raise InputError(f"{root / 'num_iterations.csv'}: num_iterations at n_qubits={q} "
                             f"must be a whole number >= 0, got {bad[0]!r}")
    return TraceSet(str(root), columns, _read_ibm_file(root / "ibm_job_estimate.csv"))


def _read_value_file(path: Path, name: str) -> dict[int, np.ndarray]:
    if not path.is_file():
        raise InputError(f"trace file {path} is missing")
    per_q: dict[int, list[float]] = {}
    high = float(MAX_ITERATIONS) if name == "num_iterations" else MAX_TIME_S
    rows = _csv_rows(path)
    header = next(rows, (1, None))[1]
    if header is None or [h.strip() for h in header] != ["n_qubits", name]:
        raise InputError(f"{path}: header must be 'n_qubits,{name}', got {_show(header)}")
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


def _read_ibm_file(path: Path) -> dict[tuple[int, str], float]:
    if not path.is_file():
        raise InputError(f"trace file {path} is missing")
    estimates: dict[tuple[int, str], float] = {}
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
    return estimates


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
