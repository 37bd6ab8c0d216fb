"""A directory of finished units of work, written atomically, for resumable runs.

A *unit* is one piece of work with a stable id (``seed-000003`` for a
replication, ``<grid point>/seed-000003`` for a campaign, ``instance-000003``
for the gap study).
Each finished unit is two files::

    <root>/replications/<unit_id>.json   scalar summary + column dtypes
    <root>/jobs/<unit_id>.csv            per-record table (or .parquet)

The table is written first and the JSON last, both via a temporary file and
``os.replace``, so the JSON's presence means the unit is complete: a crash
leaves at worst an orphan table that the rerun overwrites. A table can be
*streamed*: ``ResultStore.open_table`` gives a ``TableWriter`` that
appends blocks of rows to the temporary file (CSV rows, or Parquet row
groups) and renames it only when closed without error; the summary
(``ResultStore.save_summary``) follows. Rows are stored in the order they
were written; ``ResultStore.load`` can sort them (``order_by``). The
executor (``hqsched.experiments.executor.run_stored_units``) splits the two:
the worker that computes a unit writes its table through a ``TableOutput``,
the driver then writes the summary.

``<root>/config.json`` (the *manifest*) describes what produced the units;
a rerun with a different manifest is refused unless asked to overwrite.

Floats are written with ``repr`` and read back with a round-trip parser, so
a loaded unit is bit-identical to the computed one (resume never changes
results).
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from hqsched.errors import InputError
from hqsched.files import atomic_write_text

FORMATS = ("csv", "parquet")
MANIFEST = "config.json"
SUMMARY_DIR = "replications"
TABLE_DIR = "jobs"
#: Rows formatted at once when writing CSV (bounds the text held; the file is the same).
CSV_ROWS_PER_SLICE = 8192


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


def table_dtypes(columns: Mapping[str, np.ndarray]) -> dict[str, str]:
    """The stored type of each column: its numpy dtype string, or "str" for text."""
    return {k: v.dtype.str if v.dtype.kind not in ("U", "O") else "str" for k, v in columns.items()}


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
        Temporary files of a killed run are deleted (one run per directory at a time).
        """
        path = self.root / MANIFEST
        wanted = _canonical(manifest)
        self._remove_temporaries()
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

    def _remove_temporaries(self) -> None:
        """Delete temporary files that a killed run left (``.<name>.<random>.tmp``); a
        directory has one run at a time, so none of them is being written."""
        for sub in (SUMMARY_DIR, TABLE_DIR):
            for tmp in (self.root / sub).rglob(".*.tmp"):
                tmp.unlink(missing_ok=True)

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
        dtypes = table_dtypes(columns)
        with self.open_table(unit_id, dtypes) as writer:
            writer.write(columns)
        self.save_summary(unit_id, summary, dtypes)

    def open_table(self, unit_id: str, dtypes: Mapping[str, str]) -> TableWriter:
        """A writer that streams the unit's table (columns and types ``dtypes``, numpy
        dtype strings or "str"); the table appears only when the writer closes cleanly."""
        return TableWriter(self.table_path(unit_id), dtypes, self.fmt)

    def save_summary(self, unit_id: str, summary: Mapping[str, Any],
                     dtypes: Mapping[str, str]) -> None:
        """Write the summary of a unit whose table is written: the unit is then complete."""
        doc = {"unit": unit_id, "summary": {k: _json_scalar(v) for k, v in summary.items()},
               "columns": dict(dtypes)}
        atomic_write_text(self.summary_path(unit_id), json.dumps(doc, indent=1) + "\n")

    def load(self, unit_id: str, order_by: Sequence[str] | None = None
             ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The summary and the table of a finished unit, as saved; rows sorted by the
        columns ``order_by`` (first = primary key) when given, else in stored order."""
        doc = json.loads(self.summary_path(unit_id).read_text())
        return _summary_of(doc), self.load_table(unit_id, doc["columns"], order_by)

    def load_summary(self, unit_id: str) -> dict[str, Any]:
        """The summary of a finished unit (its table is not read)."""
        return _summary_of(json.loads(self.summary_path(unit_id).read_text()))

    def load_table(self, unit_id: str, dtypes: Mapping[str, str],
                   order_by: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """The table of a unit (see ``load``)."""
        if self.fmt == "csv":
            table = _table_from_csv(self.table_path(unit_id), dtypes)
        else:
            import pandas as pd
            frame = pd.read_parquet(self.table_path(unit_id))
            table = {k: _cast(frame[k].to_numpy(), dt) for k, dt in dtypes.items()}
        if order_by and table:
            order = np.lexsort([table[k] for k in reversed(order_by)])
            table = {k: v[order] for k, v in table.items()}
        return table

    def lazy_table(self, unit_id: str, order_by: Sequence[str] | None = None) -> StoredTable:
        """The unit's table as a mapping read from disk at first use (see ``StoredTable``)."""
        return StoredTable(self, unit_id, order_by)


class StoredTable(Mapping[str, np.ndarray]):
    """A finished unit's table, read from its file on first access and then kept.

    Lets a caller hold many units' results while only the ones it reads
    occupy memory.
    """

    def __init__(self, store: ResultStore, unit_id: str,
                 order_by: Sequence[str] | None = None) -> None:
        self.store, self.unit_id, self.order_by = store, unit_id, order_by
        self._table: dict[str, np.ndarray] | None = None

    def _load(self) -> dict[str, np.ndarray]:
        if self._table is None:
            self._table = self.store.load(self.unit_id, self.order_by)[1]
        return self._table

    def __getitem__(self, key: str) -> np.ndarray:
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


class TableWriter:
    """Appends blocks of rows to a table file; a context manager.

    Writes to a temporary file next to ``path`` and renames it to ``path`` on
    a clean exit (deletes it on an error), so ``path`` exists only complete.
    CSV cells are written as ``ResultStore.save`` always has (floats by
    ``repr``, NaN empty); Parquet gets one row group per block (pyarrow).
    """

    def __init__(self, path: Path, dtypes: Mapping[str, str], fmt: str) -> None:
        require_format(fmt)
        self.path, self.dtypes, self.fmt = Path(path), dict(dtypes), fmt
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, self.tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.",
                                        suffix=".tmp")
        os.close(fd)
        self.rows = 0
        if fmt == "csv":
            self._fh = open(self.tmp, "w", newline="")
            self._csv = csv.writer(self._fh, lineterminator="\n")
            self._csv.writerow(list(self.dtypes))
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq
            self._schema = pa.schema([(k, pa.string() if dt == "str" else
                                       pa.from_numpy_dtype(np.dtype(dt)))
                                      for k, dt in self.dtypes.items()])
            self._parquet = pq.ParquetWriter(self.tmp, self._schema)

    def write(self, block: Mapping[str, np.ndarray]) -> None:
        """Append rows: ``block`` maps every column to an array of equal length."""
        if list(block) != list(self.dtypes):
            raise ValueError(f"table columns {list(block)} differ from {list(self.dtypes)}")
        n = len(next(iter(block.values()))) if block else 0
        if n == 0:
            return
        self.rows += n
        if self.fmt == "csv":
            # In slices: the cells as Python objects take ~10x the arrays' memory.
            columns = [np.asarray(block[k]) for k in self.dtypes]
            for start in range(0, n, CSV_ROWS_PER_SLICE):
                cols = [c[start:start + CSV_ROWS_PER_SLICE].tolist() for c in columns]
                self._csv.writerows([_format_cell(c[i]) for c in cols] for i in range(len(cols[0])))
        else:
            import pyarrow as pa
            arrays = [pa.array(np.asarray(block[k], dtype=str) if dt == "str" else
                               np.asarray(block[k], dtype=dt), type=self._schema.field(k).type)
                      for k, dt in self.dtypes.items()]
            self._parquet.write_table(pa.Table.from_arrays(arrays, schema=self._schema))

    def close(self, complete: bool = True) -> None:
        """Finish the file: rename it into place, or (``complete=False``) delete it."""
        try:
            if self.fmt == "csv":
                self._fh.close()
            else:
                self._parquet.close()
            if complete:
                os.replace(self.tmp, self.path)
        finally:
            Path(self.tmp).unlink(missing_ok=True)

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(complete=exc_type is None)


class TableOutput:
    """Where one unit's work puts its per-job table (a stored unit of the executor).

    ``stream(dtypes)`` gives a sink for blocks of rows (the engine's
    ``RecordSink``); ``write(table)`` writes a whole table at once, as
    ``ResultStore.save`` does. The rows go to the unit's temporary table
    file in ``store``, renamed when the block ends without error; with no
    ``store`` (a worker that cannot see the store's files) they are kept as
    ``blocks`` for the driver to write, which gives the same file.
    """

    def __init__(self, store: ResultStore | None, unit_id: str) -> None:
        self._store, self._unit_id = store, unit_id
        self.dtypes: dict[str, str] | None = None
        self.blocks: list[dict[str, np.ndarray]] | None = None

    @contextmanager
    def stream(self, dtypes: Mapping[str, str]
               ) -> Iterator[Callable[[Mapping[str, np.ndarray]], None]]:
        """A sink for blocks of rows with columns (and numpy types, or "str") ``dtypes``."""
        if self.dtypes is not None:
            raise RuntimeError(f"unit {self._unit_id}: a unit has one table")
        if self._store is not None:
            with self._store.open_table(self._unit_id, dtypes) as writer:
                yield writer.write
        else:
            blocks: list[dict[str, np.ndarray]] = []

            def keep(block: Mapping[str, np.ndarray]) -> None:
                if list(block) != list(dtypes):
                    raise ValueError(f"table columns {list(block)} differ from {list(dtypes)}")
                # A copy: a producer may reuse its buffers for the next block.
                blocks.append({k: np.array(v) for k, v in block.items()})
            yield keep
            self.blocks = blocks
        self.dtypes = dict(dtypes)

    def write(self, table: Mapping[str, Any]) -> None:
        """The whole table at once; column types as ``ResultStore.save`` infers them."""
        columns = {k: np.asarray(v) for k, v in table.items()}
        with self.stream(table_dtypes(columns)) as sink:
            sink(columns)


def _summary_of(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (math.nan if v is None else v) for k, v in doc["summary"].items()}


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
