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
``<root>/provenance.json`` records each run that wrote here (code, package
versions, trace hashes, command line, date: ``hqsched.provenance``); a rerun
by other code or with other traces is refused unless ``allow_mixed``. Each
unit's summary records the code (version, git commit) that computed it.

Integrity. The summary JSON records its table's size, row count and SHA-256
(``"table"``) and a SHA-256 of its own content (``"checksum"``: the other
fields as canonical JSON), so a truncated, cut, edited or deleted file is
detected: ``ResultStore.problem`` says what is wrong, ``has`` is False (a
rerun recomputes the unit, which gives the same bytes) and ``load`` raises
``CorruptUnit`` (a one-line InputError naming the unit) instead of
returning altered numbers. A summary without these fields (written by an
hqsched before they existed) is *unverified*: treated like a corrupt one, it
is recomputed on rerun rather than trusted; results are deterministic, so
this costs time only, and upgrades the unit.

One writer per directory. ``claim`` takes an exclusive ``flock`` on
``<root>/.hqsched.lock`` (held until ``release`` or the process ends), so a
second run into the same directory fails at once (``DirectoryBusy``) instead
of deleting the first run's temporary files.

Floats are written with ``repr`` and read back with a round-trip parser, so
a loaded unit is bit-identical to the computed one (resume never changes
results).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from hqsched import provenance
from hqsched.errors import InputError
from hqsched.files import atomic_write_text, make_temporary

FORMATS = ("csv", "parquet")
MANIFEST = "config.json"
LOCK_FILE = ".hqsched.lock"
#: ``ResultStore.problem`` of a unit never finished (no summary file): not an error.
NOT_STARTED = "not started"
SUMMARY_DIR = "replications"
TABLE_DIR = "jobs"
#: Rows formatted at once when writing CSV (bounds the text held; the file is the same).
CSV_ROWS_PER_SLICE = 8192


def run_record(trace_dirs: Iterable[str | None] = ()) -> dict[str, Any]:
    """This run's provenance record (``hqsched.provenance.record``) for a run reading the
    trace directories ``trace_dirs`` (None: the bundled traces)."""
    from hqsched.instances.traces import trace_dirs as folders  # a set's name or a directory
    return provenance.record([f for d in trace_dirs for f in folders(d)])


def recorded_format(root: str | Path) -> str:
    """The table format the manifest of ``root`` records ("csv" when none is recorded)."""
    try:
        doc = json.loads((Path(root) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return "csv"
    fmt = doc.get("format", "csv") if isinstance(doc, dict) else "csv"
    return fmt if fmt in FORMATS else "csv"


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


class CorruptUnit(InputError):
    """A stored unit whose files do not match their recorded checksums (or cannot be read);
    ``reason`` says what is wrong, the message also names the directory and unit."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class DirectoryBusy(InputError):
    """Another process holds the output directory's lock (one writer per directory)."""


def table_dtypes(columns: Mapping[str, np.ndarray]) -> dict[str, str]:
    """The stored type of each column: its numpy dtype string, or "str" for text."""
    return {k: v.dtype.str if v.dtype.kind not in ("U", "O") else "str" for k, v in columns.items()}


class ResultStore:
    """Finished units under ``root``; see the module docstring for the layout."""

    def __init__(self, root: str | Path, fmt: str | None = None) -> None:
        """``fmt``: the tables' format, csv or parquet; None: the one ``root``'s manifest
        records (csv when it records none or does not exist yet)."""
        self.root = Path(root)
        self.fmt = fmt if fmt is not None else recorded_format(self.root)
        require_format(self.fmt)
        #: The code that computes units here (``claim`` with a record sets it): recorded
        #: in each unit's summary; None records nothing.
        self.code: dict[str, Any] | None = None

    # -- manifest and lock ------------------------------------------------
    def claim(self, manifest: Mapping[str, Any], overwrite: bool = False, *,
              record: Mapping[str, Any] | None = None, allow_mixed: bool = False) -> None:
        """Lock ``root`` for this process and bind it to ``manifest``: write it, or check
        it matches the one on disk.

        With ``overwrite`` a mismatching directory's units are deleted first (also
        when only its code or traces differ, see ``record``).
        Temporary files of a killed run are deleted (the lock guarantees that no
        other run is writing them). ``DirectoryBusy`` if another process holds it.
        ``record``: this run's provenance (``run_record``), kept in
        ``provenance.json``; resuming a directory made by other code or traces is
        then refused unless ``allow_mixed`` (``hqsched.provenance.bind``), and every
        unit saved records the code that computed it.
        """
        held = _lock_directory(self.root)
        try:
            self._bind(manifest, overwrite, record, allow_mixed)
        except BaseException:
            if held:  # taken for this claim: not left held by a refused one
                self.release()
            raise
        if record is not None:
            self.code = {k: record.get(k) for k in ("hqsched", "git_commit")}

    def _bind(self, manifest: Mapping[str, Any], overwrite: bool,
              record: Mapping[str, Any] | None, allow_mixed: bool) -> None:
        """``claim`` once the lock is held."""
        path = self.root / MANIFEST
        if self.fmt != "csv":  # csv manifests stay as they were before formats were recorded
            manifest = {**manifest, "format": self.fmt}
        wanted = _canonical(manifest)
        self._remove_temporaries()
        if path.is_file():
            try:
                have = _canonical(json.loads(path.read_text(encoding="utf-8")))
            except (json.JSONDecodeError, UnicodeDecodeError):
                have = None
            other_code = record is not None and \
                provenance.resume_problem(self.root, record) is not None
            if have == wanted and not (overwrite and other_code):
                if record is not None:
                    provenance.bind(self.root, record, resuming=True, allow_mixed=allow_mixed)
                return
            if not overwrite:
                diff = _first_difference(have, wanted) if have is not None else "unreadable"
                raise InputError(
                    f"--out {self.root}: holds results of a different scenario ({diff}); "
                    f"use another --out directory, or --overwrite to discard them")
            for sub in (SUMMARY_DIR, TABLE_DIR):
                shutil.rmtree(self.root / sub, ignore_errors=True)
        # The records first: a directory with a manifest and no records is an old one.
        if record is not None:
            provenance.bind(self.root, record, resuming=False)
        atomic_write_text(path, json.dumps(manifest, indent=1, sort_keys=True) + "\n")

    def release(self) -> None:
        """Give up the directory's lock (taken by ``claim``); other runs may then write."""
        _unlock_directory(self.root)

    def _remove_temporaries(self) -> None:
        """Delete temporary files that a killed run left (``.<name>.<random>.tmp``); this
        process holds the directory's lock, so none of them is being written."""
        for sub in (SUMMARY_DIR, TABLE_DIR):
            for tmp in (self.root / sub).rglob(".*.tmp"):
                tmp.unlink(missing_ok=True)

    # -- units ------------------------------------------------------------
    def summary_path(self, unit_id: str) -> Path:
        return self.root / SUMMARY_DIR / f"{unit_id}.json"

    def table_path(self, unit_id: str) -> Path:
        return self.root / TABLE_DIR / f"{unit_id}.{self.fmt}"

    def has(self, unit_id: str) -> bool:
        """True when the unit finished and its files match their checksums (``problem``)."""
        return self.problem(unit_id) is None

    def problem(self, unit_id: str) -> str | None:
        """None for a finished, intact unit; ``NOT_STARTED`` when it has no summary (never
        finished); otherwise what is wrong with its files (corrupt: recompute it).

        Reads the unit's table once to check its SHA-256.
        """
        try:
            doc = self._verified_summary(unit_id)
            return _table_mismatch(doc["table"], self._read_table_bytes(unit_id))
        except CorruptUnit as exc:
            return exc.reason
        except FileNotFoundError:
            return NOT_STARTED

    def save(self, unit_id: str, summary: Mapping[str, Any],
             table: Mapping[str, np.ndarray]) -> None:
        """Write one finished unit: table first, then the summary that marks it complete."""
        columns = {k: np.asarray(v) for k, v in table.items()}
        dtypes = table_dtypes(columns)
        with self.open_table(unit_id, dtypes) as writer:
            writer.write(columns)
        self.save_summary(unit_id, summary, dtypes, writer.info)

    def open_table(self, unit_id: str, dtypes: Mapping[str, str]) -> TableWriter:
        """A writer that streams the unit's table (columns and types ``dtypes``, numpy
        dtype strings or "str"); the table appears only when the writer closes cleanly."""
        return TableWriter(self.table_path(unit_id), dtypes, self.fmt)

    def save_summary(self, unit_id: str, summary: Mapping[str, Any],
                     dtypes: Mapping[str, str], table: Mapping[str, Any] | None = None) -> None:
        """Write the summary of a unit whose table is written: the unit is then complete.

        ``table``: the table's ``TableWriter.info`` (size, rows, SHA-256), as the
        worker that wrote it measured it; None: measured here from the file.
        """
        if table is None:
            data = self._read_table_bytes(unit_id)
            table = _table_info(data, _count_rows(data, self.fmt))
        doc: dict[str, Any] = {
            "unit": unit_id, "summary": {k: _json_scalar(v) for k, v in summary.items()},
            "columns": dict(dtypes), "table": dict(table)}
        if self.code is not None:
            doc["code"] = dict(self.code)
        doc["checksum"] = _doc_checksum(doc)
        atomic_write_text(self.summary_path(unit_id), json.dumps(doc, indent=1) + "\n")

    def load(self, unit_id: str, order_by: Sequence[str] | None = None
             ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The summary and the table of a finished unit, as saved; rows sorted by the
        columns ``order_by`` (first = primary key) when given, else in stored order.
        ``CorruptUnit`` if a file is missing or does not match its checksum."""
        doc = self._verified_summary(unit_id, missing_is_corrupt=True)
        return _summary_of(doc), self._verified_table(unit_id, doc, order_by)

    def load_summary(self, unit_id: str) -> dict[str, Any]:
        """The summary of a finished unit, its own checksum verified (its table is not read)."""
        return _summary_of(self._verified_summary(unit_id, missing_is_corrupt=True))

    def load_table(self, unit_id: str, dtypes: Mapping[str, str] | None = None,
                   order_by: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """The table of a unit (see ``load``); ``dtypes`` is ignored (the summary's
        recorded column types are used) and kept for callers that pass it."""
        doc = self._verified_summary(unit_id, missing_is_corrupt=True)
        return self._verified_table(unit_id, doc, order_by)

    def lazy_table(self, unit_id: str, order_by: Sequence[str] | None = None) -> StoredTable:
        """The unit's table as a mapping read from disk at first use (see ``StoredTable``)."""
        return StoredTable(self, unit_id, order_by)

    # -- verification -----------------------------------------------------
    def _corrupt(self, unit_id: str, reason: str) -> CorruptUnit:
        return CorruptUnit(f"{self.root}: unit {unit_id} is corrupt: {reason}; rerun the "
                           f"command that wrote it (same --out) to recompute it", reason)

    def _verified_summary(self, unit_id: str, missing_is_corrupt: bool = False
                          ) -> dict[str, Any]:
        """The unit's summary document, its checksum checked (``CorruptUnit`` if wrong;
        FileNotFoundError if absent, unless ``missing_is_corrupt``)."""
        path = self.summary_path(unit_id)
        try:
            text = path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            if missing_is_corrupt:
                raise self._corrupt(unit_id, f"summary file {path} missing") from None
            raise
        except (OSError, UnicodeDecodeError) as exc:
            raise self._corrupt(unit_id, f"summary file {path} unreadable ({exc})") from None
        try:
            doc = json.loads(text)
        except json.JSONDecodeError:
            raise self._corrupt(unit_id, f"summary file {path} is not valid JSON "
                                         f"(truncated?)") from None
        if not isinstance(doc, dict) or not {"unit", "summary", "columns"} <= set(doc):
            raise self._corrupt(unit_id, f"summary file {path} lacks its fields")
        if "checksum" not in doc or "table" not in doc:
            raise self._corrupt(unit_id, f"summary file {path} has no checksum (written by "
                                         f"an older hqsched: unverified)")
        if doc["checksum"] != _doc_checksum({k: v for k, v in doc.items() if k != "checksum"}):
            raise self._corrupt(unit_id, f"summary file {path} was changed (checksum mismatch)")
        if doc["unit"] != unit_id:
            raise self._corrupt(unit_id, f"summary file {path} is that of unit {doc['unit']!r}")
        return doc

    def _read_table_bytes(self, unit_id: str) -> bytes:
        path = self.table_path(unit_id)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise self._corrupt(unit_id, f"table file {path} missing") from None
        except OSError as exc:
            raise self._corrupt(unit_id, f"table file {path} unreadable "
                                         f"({exc.strerror or exc})") from None

    def _verified_table(self, unit_id: str, doc: Mapping[str, Any],
                        order_by: Sequence[str] | None) -> dict[str, np.ndarray]:
        """The unit's table, its bytes checked against the summary's record, then parsed."""
        data = self._read_table_bytes(unit_id)
        reason = _table_mismatch(doc["table"], data)
        if reason is not None:
            raise self._corrupt(unit_id, f"table file {self.table_path(unit_id)} {reason}")
        dtypes = doc["columns"]
        try:
            if self.fmt == "csv":
                table = _table_from_csv(data, dtypes)
            else:
                import pandas as pd
                frame = pd.read_parquet(io.BytesIO(data))
                table = {k: _cast(frame[k].to_numpy(), dt) for k, dt in dtypes.items()}
        except (ValueError, KeyError, IndexError, StopIteration, csv.Error,
                OSError) as exc:
            raise self._corrupt(unit_id, f"table file {self.table_path(unit_id)} "
                                         f"unreadable ({exc})") from None
        rows = len(next(iter(table.values()))) if table else 0
        if rows != doc["table"].get("rows"):
            raise self._corrupt(unit_id, f"table file {self.table_path(unit_id)} has {rows} "
                                         f"rows, {doc['table'].get('rows')} recorded")
        if order_by and table:
            order = np.lexsort([table[k] for k in reversed(order_by)])
            table = {k: v[order] for k, v in table.items()}
        return table


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
        fd, self.tmp = make_temporary(self.path)  # the mode of any new file (umask)
        os.close(fd)
        self.rows = 0
        #: Size, rows and SHA-256 of the finished file (set when it is renamed into place).
        self.info: dict[str, Any] | None = None
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
                self.info = _table_info(Path(self.tmp).read_bytes(), self.rows)
                try:
                    os.replace(self.tmp, self.path)
                except OSError as exc:  # name the table, not the temporary file
                    raise OSError(exc.errno, exc.strerror, str(self.path)) from None
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
        #: The written table's ``TableWriter.info`` (None when kept as ``blocks``).
        self.info: dict[str, Any] | None = None

    @contextmanager
    def stream(self, dtypes: Mapping[str, str]
               ) -> Iterator[Callable[[Mapping[str, np.ndarray]], None]]:
        """A sink for blocks of rows with columns (and numpy types, or "str") ``dtypes``."""
        if self.dtypes is not None:
            raise RuntimeError(f"unit {self._unit_id}: a unit has one table")
        if self._store is not None:
            with self._store.open_table(self._unit_id, dtypes) as writer:
                yield writer.write
            self.info = writer.info
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


def _table_info(data: bytes, rows: int) -> dict[str, Any]:
    """What a summary records of its table file: size (bytes), data rows, SHA-256."""
    return {"rows": int(rows), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _table_mismatch(recorded: Any, data: bytes) -> str | None:
    """None when ``data`` (a table file's bytes) is the one ``recorded``; else what differs."""
    if not isinstance(recorded, dict):
        return "has no valid record in its summary"
    if len(data) != recorded.get("bytes"):
        return f"has {len(data)} bytes, {recorded.get('bytes')} recorded (truncated or changed)"
    if hashlib.sha256(data).hexdigest() != recorded.get("sha256"):
        return "was changed (checksum mismatch)"
    return None


def _count_rows(data: bytes, fmt: str) -> int:
    """Data rows of a table file's bytes (CSV: lines after the header; no cell has a newline)."""
    if fmt == "csv":
        return max(0, data.count(b"\n") - 1)
    import pyarrow.parquet as pq
    return int(pq.ParquetFile(io.BytesIO(data)).metadata.num_rows)


def _doc_checksum(doc: Mapping[str, Any]) -> str:
    """SHA-256 of a summary document (without its checksum) as canonical JSON."""
    return hashlib.sha256(_canonical(doc).encode("utf-8")).hexdigest()


# Directories this process holds the lock of: resolved path -> open lock file descriptor.
_LOCKS: dict[str, int] = {}


def _lock_directory(root: Path) -> bool:
    """Take ``root``'s writer lock (``flock`` on ``root/LOCK_FILE``) for this process, or
    raise ``DirectoryBusy``; True when taken now, False when this process held it
    already (or cannot lock). The OS drops it when the process ends, however it
    ends (no stale lock after kill -9)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no locking (one writer per directory is then the user's)
        return False
    root.mkdir(parents=True, exist_ok=True)
    key = os.path.realpath(root)
    if key in _LOCKS:
        return False
    fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise DirectoryBusy(f"--out {root}: another hqsched run is writing to this directory "
                            f"(it holds {root / LOCK_FILE}); wait for it to finish or use "
                            f"another --out") from None
    _LOCKS[key] = fd
    return True


def _unlock_directory(root: Path) -> None:
    fd = _LOCKS.pop(os.path.realpath(root), None)
    if fd is not None:
        os.close(fd)  # closing the descriptor releases the flock


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


def _table_from_csv(data: bytes, dtypes: Mapping[str, str]) -> dict[str, np.ndarray]:
    """Columns of a CSV table file's bytes (ValueError if a row is cut or a cell is bad)."""
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    header = next(reader)
    rows = list(reader)
    if any(len(r) != len(header) for r in rows):
        raise ValueError("a row has the wrong number of cells")
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
