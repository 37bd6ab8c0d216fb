"""A directory of finished units of work, written atomically, for resumable runs.

A *unit* is one piece of work with a stable id (``seed-000003`` for a
replication; a campaign will use ``<grid-point>/seed-000003`` or similar).
Each finished unit is two files::

    <root>/replications/<unit_id>.json   scalar summary + column dtypes
    <root>/jobs/<unit_id>.csv            per-record table (or .parquet)

The table is written first and the JSON last, both via a temporary file and
``os.replace``, so the JSON's presence means the unit is complete: a crash
leaves at worst an orphan table that the rerun overwrites.

``<root>/config.json`` (the *manifest*) describes what produced the units;
a rerun with a different manifest is refused unless asked to overwrite.

Floats are written with ``repr`` and read back with a round-trip parser, so
a loaded unit is bit-identical to the computed one (resume never changes
results).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from hqsched.instances.io import atomic_write_text
from hqsched.instances.model import InputError

FORMATS = ("csv", "parquet")
MANIFEST = "config.json"
SUMMARY_DIR = "replications"
TABLE_DIR = "jobs"


def require_format(fmt: str) -> None:
    """Refuse an unknown format, or parquet without pyarrow (a clear one-line error)."""
    if fmt not in FORMATS:
        raise InputError(f"--format: must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise InputError("--format parquet: needs pyarrow, which is not installed "
                             "(pip install 'hqsched[parquet]'), or use --format csv") from None


class ResultStore:
    """Finished units under ``root``; see the module docstring for the layout."""

    def __init__(self, root: str | Path, fmt: str = "csv") -> None:
        require_format(fmt)
        self.root = Path(root)
        self.fmt = fmt

    # -- manifest ---------------------------------------------------------
    def claim(self, manifest: Mapping[str, Any], overwrite: bool = False) -> None:
        """Bind ``root`` to ``manifest``: write it, or check it matches the one on disk.

        With ``overwrite`` a mismatching directory's units are deleted first.
        """
        path = self.root / MANIFEST
        wanted = _canonical(manifest)
        if path.is_file():
            try:
                have = _canonical(json.loads(path.read_text()))
            except json.JSONDecodeError:
                have = None
            if have == wanted:
                return
            if not overwrite:
                diff = _first_difference(have, wanted) if have is not None else "unreadable"
                raise InputError(
                    f"--out {self.root}: holds results of a different scenario ({diff}); "
                    f"use another --out directory, or --overwrite to discard them")
            for sub in (SUMMARY_DIR, TABLE_DIR):
                shutil.rmtree(self.root / sub, ignore_errors=True)
        atomic_write_text(path, json.dumps(manifest, indent=1, sort_keys=True) + "\n")

    # -- units ------------------------------------------------------------
    def summary_path(self, unit_id: str) -> Path:
        return self.root / SUMMARY_DIR / f"{unit_id}.json"

    def table_path(self, unit_id: str) -> Path:
        return self.root / TABLE_DIR / f"{unit_id}.{self.fmt}"

    def has(self, unit_id: str) -> bool:
        """True when the unit finished (its summary JSON exists and its table too)."""
        return self.summary_path(unit_id).is_file() and self.table_path(unit_id).is_file()

    def save(self, unit_id: str, summary: Mapping[str, Any],
             table: Mapping[str, np.ndarray]) -> None:
        """Write one finished unit: table first, then the summary that marks it complete."""
        columns = {k: np.asarray(v) for k, v in table.items()}
        dtypes = {k: v.dtype.str if v.dtype.kind != "U" and v.dtype.kind != "O" else "str"
                  for k, v in columns.items()}
        self.table_path(unit_id).parent.mkdir(parents=True, exist_ok=True)
        if self.fmt == "csv":
            atomic_write_text(self.table_path(unit_id), _table_to_csv(columns))
        else:
            _atomic_write_parquet(self.table_path(unit_id), columns)
        doc = {"unit": unit_id, "summary": {k: _json_scalar(v) for k, v in summary.items()},
               "columns": dtypes}
        atomic_write_text(self.summary_path(unit_id), json.dumps(doc, indent=1) + "\n")

    def load(self, unit_id: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The summary and the table of a finished unit, as saved."""
        doc = json.loads(self.summary_path(unit_id).read_text())
        summary = {k: (math.nan if v is None else v) for k, v in doc["summary"].items()}
        dtypes: dict[str, str] = doc["columns"]
        if self.fmt == "csv":
            table = _table_from_csv(self.table_path(unit_id), dtypes)
        else:
            import pandas as pd
            frame = pd.read_parquet(self.table_path(unit_id))
            table = {k: _cast(frame[k].to_numpy(), dt) for k, dt in dtypes.items()}
        return summary, table


def _canonical(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True)


def _first_difference(have: Any, wanted: Any, path: str = "") -> str:
    """A short 'field: on disk X, now Y' naming the first differing manifest entry."""
    if isinstance(have, dict) and isinstance(wanted, dict):
        for key in sorted(set(have) | set(wanted)):
            if _canonical(have.get(key)) != _canonical(wanted.get(key)):
                return _first_difference(have.get(key), wanted.get(key), f"{path}{key}.")
    return f"{path.rstrip('.') or 'scenario'}: on disk {have!r}, now {wanted!r}"


def _json_scalar(value: Any) -> Any:
    """Plain Python scalar for JSON; NaN/inf as null/strings would be lossy, so NaN -> null."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return None if math.isnan(value) else value
    return value


def _format_cell(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(value) else repr(float(value))
    if isinstance(value, (np.integer,)):
        return str(int(value))
    return str(value)


def _table_to_csv(columns: Mapping[str, np.ndarray]) -> str:
    names = list(columns)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(names)
    n = len(next(iter(columns.values()))) if columns else 0
    cols = [columns[k].tolist() for k in names]
    for i in range(n):
        writer.writerow([_format_cell(c[i]) for c in cols])
    return buf.getvalue()


def _table_from_csv(path: Path, dtypes: Mapping[str, str]) -> dict[str, np.ndarray]:
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = list(reader)
    raw = {name: [r[k] for r in rows] for k, name in enumerate(header)}
    return {name: _cast_text(raw[name], dtypes[name]) for name in dtypes}


def _cast_text(values: list[str], dtype: str) -> np.ndarray:
    if dtype == "str":
        return np.asarray(values, dtype=str)
    kind = np.dtype(dtype).kind
    if kind == "f":
        # float(repr(x)) == x exactly; empty cell = NaN.
        return np.asarray([float(v) if v else math.nan for v in values], dtype=dtype)
    if kind == "b":
        return np.asarray([v == "True" for v in values], dtype=dtype)
    return np.asarray([int(v) for v in values], dtype=dtype)


def _cast(values: np.ndarray, dtype: str) -> np.ndarray:
    return np.asarray(values, dtype=str) if dtype == "str" else values.astype(dtype)


def _atomic_write_parquet(path: Path, columns: Mapping[str, np.ndarray]) -> None:
    import pandas as pd
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        pd.DataFrame({k: v for k, v in columns.items()}).to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
