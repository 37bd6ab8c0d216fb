"""Instance files: one JSON format for instances, one CSV format for job lists.

JSON instance (``hqsched instance generate`` writes it; ``simulate --instance``
and ``solve`` read it)::

    {"format": "hqsched-instance", "version": 1, "name": "...",
     "units": {"arrival_s": "s", "pre_ops": "operations", ...},
     "jobs": [{"job_id": 0, "arrival_s": 12.5, "qubits": 4, "priority": 2,
               "pre_ops": 1.3e10, "iteration_ops": [2e5, 2e5], "quantum_s": [3.9, 4.1],
               "post_ops": 5.8e7}, ...]}

``iteration_ops`` and ``quantum_s`` are lists of one value per iteration, or a
single number together with ``"iterations": n`` for a constant chain.

CSV job list (trace-driven replay): one row per job, header required.
Columns ``arrival_s, qubits, priority`` are required; if ``pre_ops,
iteration_ops, quantum_s, post_ops, iterations`` are all present the chain is
taken as given (constant per iteration), if all are absent it is drawn from
the traces (needs a ``JobSampler``). An
optional ``job_id`` column names jobs (default: row order).

Both are read as UTF-8 (a byte-order mark is allowed) and strictly: an
unknown field or column, a row with more or fewer fields than the header, a
repeated job id or a value outside the data model's ranges
(``hqsched.instances.model``) is refused with one line naming the file, the
row (``jobs[k]`` or the CSV line) and the field.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from hqsched.errors import InputError
from hqsched.files import atomic_write_text
from hqsched.inputs import not_utf8, open_text_file, read_text_file

from .model import Instance, Job, constant_chain_job

FORMAT = "hqsched-instance"
VERSION = 1
UNITS = {"arrival_s": "s", "pre_ops": "operations", "iteration_ops": "operations",
         "quantum_s": "s", "post_ops": "operations"}
CHAIN_COLUMNS = ("pre_ops", "iteration_ops", "quantum_s", "post_ops", "iterations")


def instance_to_dict(instance: Instance) -> dict[str, Any]:
    jobs = []
    for j in instance.jobs:
        row: dict[str, Any] = {"job_id": j.job_id, "arrival_s": j.arrival_s, "qubits": j.qubits,
                               "priority": j.priority, "pre_ops": j.pre_ops}
        its, qs = j.iteration_ops, j.quantum_s  # one value each: written once (O(1) for Repeated)
        if j.iterations and its.count(its[0]) == len(its) and qs.count(qs[0]) == len(qs):
            row.update(iterations=j.iterations, iteration_ops=j.iteration_ops[0],
                       quantum_s=j.quantum_s[0])
        else:
            row.update(iteration_ops=list(j.iteration_ops), quantum_s=list(j.quantum_s))
        row["post_ops"] = j.post_ops
        jobs.append(row)
    return {"format": FORMAT, "version": VERSION, "name": instance.name, "units": UNITS,
            "meta": instance.meta, "jobs": jobs}


def write_instance(instance: Instance, path: str | Path) -> None:
    """Write ``instance`` as JSON, atomically (a crash never leaves half a file)."""
    atomic_write_text(path, json.dumps(instance_to_dict(instance), indent=1) + "\n")


def read_instance(path: str | Path) -> Instance:
    """Read a JSON instance; errors name the file, the job and the field."""
    return instance_from_dict(_load_json(path), source=str(path))


def _load_json(path: str | Path) -> Any:
    """The parsed document (the file's text is freed before the jobs are built)."""
    text = read_text_file(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    except (ValueError, RecursionError) as exc:  # an integer of > 4300 digits; deep nesting
        raise InputError(f"{path}: not valid JSON ({str(exc)[:80]})") from None


#: Fields of the JSON document and of one job row; any other is refused (a typo
#: such as "arrival" must not be dropped silently).
TOP_FIELDS = ("format", "version", "name", "units", "meta", "jobs")
JOB_FIELDS = ("job_id", "arrival_s", "qubits", "priority", "pre_ops", "iteration_ops",
              "quantum_s", "post_ops", "iterations")


def instance_from_dict(data: Any, source: str = "instance") -> Instance:
    """An ``Instance`` from the JSON document ``data``; ``source`` names it in errors."""
    if not isinstance(data, dict):
        raise InputError(f"{source}: must be a JSON object with 'format': {FORMAT!r}, "
                         f"got {_show(data)}")
    _refuse_unknown(source, data, TOP_FIELDS)
    if data.get("format") != FORMAT:
        raise InputError(f"{source}: field 'format' must be {FORMAT!r}, "
                         f"got {_show(data.get('format'))}")
    if data.get("version") != VERSION or isinstance(data.get("version"), bool):
        raise InputError(f"{source}: field 'version' must be {VERSION}, "
                         f"got {_show(data.get('version'))}")
    if data.get("units", UNITS) != UNITS:
        raise InputError(f"{source}: field 'units' must be {UNITS} (the only units read), "
                         f"got {_show(data['units'])}")
    name = data.get("name", Path(source).stem)
    if not isinstance(name, str):
        raise InputError(f"{source}: field 'name' must be a string, got {_show(name)}")
    meta = data.get("meta")
    if meta is not None and not isinstance(meta, dict):
        raise InputError(f"{source}: field 'meta' must be an object, got {_show(meta)}")
    rows = data.get("jobs")
    if not isinstance(rows, list) or not rows:
        raise InputError(f"{source}: field 'jobs' must be a non-empty list of jobs, "
                         f"got {_show(rows)}")
    jobs = []
    first_row: dict[int, int] = {}  # job_id -> index of the row that has it
    for k, row in enumerate(rows):
        job = _job_from_row(row, f"{source}: jobs[{k}]")
        if job.job_id in first_row:
            raise InputError(f"{source}: jobs[{k}]: job_id {job.job_id} is already used by "
                             f"jobs[{first_row[job.job_id]}]")
        first_row[job.job_id] = k
        jobs.append(job)
    return Instance(tuple(jobs), name=name, meta=dict(meta or {}))


def _refuse_unknown(where: str, fields: dict[str, Any], known: tuple[str, ...]) -> None:
    unknown = [k for k in fields if k not in known]
    if unknown:
        raise InputError(f"{where}: unknown field {_show(unknown[0])} "
                         f"(known: {', '.join(known)})")


def _job_from_row(row: Any, where: str) -> Job:
    if not isinstance(row, dict):
        raise InputError(f"{where}: must be an object, got {_show(row)}")
    _refuse_unknown(where, row, JOB_FIELDS)
    missing = [k for k in JOB_FIELDS[:-1] if k not in row]
    if missing:
        raise InputError(f"{where}: missing field(s) {', '.join(missing)}")
    its, qs = row["iteration_ops"], row["quantum_s"]
    try:
        if isinstance(its, list) and isinstance(qs, list):
            if "iterations" in row and row["iterations"] != len(qs):
                raise InputError(f"iterations is {_show(row['iterations'])} but quantum_s has "
                                 f"{len(qs)} values")
            return Job(row["job_id"], row["arrival_s"], row["qubits"], row["priority"],
                       row["pre_ops"], tuple(its), tuple(qs), row["post_ops"])
        if isinstance(its, list) or isinstance(qs, list):
            raise InputError("iteration_ops and quantum_s must both be lists (one value per "
                             "iteration) or both numbers (with 'iterations')")
        if "iterations" not in row:
            raise InputError("numbers iteration_ops/quantum_s need an 'iterations' field")
        return constant_chain_job(row["job_id"], row["arrival_s"], row["qubits"], row["priority"],
                                  row["pre_ops"], its, qs, row["post_ops"], row["iterations"])
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None


def read_job_csv(path: str | Path, sample: Callable[[np.random.Generator, int, float, int, int], Job]
                 | None = None, rng: np.random.Generator | None = None) -> Instance:
    """Read a CSV job list; rows without chain columns are drawn with ``sample``.

    ``sample(rng, job_id, arrival_s, qubits, priority)`` is typically
    ``JobSampler.sample_attributes``. Errors are one line, ``<path>:<line>:
    <what>``; the file is decoded as it is read, so bad bytes stop it early.
    """
    name = str(path)
    with open_text_file(path) as fh:
        reader = csv.reader(fh)
        try:
            header = _header(name, next(reader, None))
            columns = _columns(name, header, sample is not None and rng is not None)
            jobs = _read_rows(name, reader, columns,
                              None if "pre_ops" in columns or sample is None or rng is None
                              else partial(sample, rng))
        except UnicodeDecodeError:
            raise not_utf8(name, path) from None
        except csv.Error as exc:
            raise InputError(f"{name}:{reader.line_num}: not a valid CSV row ({exc})") from None
    if not jobs:
        raise InputError(f"{name}: no job rows after the header")
    return Instance(tuple(jobs), name=Path(path).stem)


#: Columns of a job list: required, optional, and the chain (all or none).
REQUIRED_COLUMNS = ("arrival_s", "qubits", "priority")
CSV_COLUMNS = ("job_id", *REQUIRED_COLUMNS, *CHAIN_COLUMNS)


def job_csv_header(path: str | Path, option: str | None = None) -> list[str]:
    """The column names of a job list (first line), read as UTF-8; errors name ``option``."""
    name = f"{option} {path}" if option else str(path)
    with open_text_file(path, option) as fh:
        try:
            return _header(name, next(csv.reader(fh), None))
        except UnicodeDecodeError:
            raise not_utf8(name, path) from None
        except csv.Error as exc:
            raise InputError(f"{name}:1: not a valid CSV header ({exc})") from None


def _header(name: str, row: list[str] | None) -> list[str]:
    if not row:
        raise InputError(f"{name}: empty file; the first line must be the header, e.g. "
                         f"{','.join(REQUIRED_COLUMNS)}")
    header = [h.strip() for h in row]
    for col in header:
        if col not in CSV_COLUMNS:
            raise InputError(f"{name}:1: unknown column {_show(col)} "
                             f"(known: {', '.join(CSV_COLUMNS)})")
        if header.count(col) > 1:
            raise InputError(f"{name}:1: column {col!r} appears more than once")
    for col in REQUIRED_COLUMNS:
        if col not in header:
            raise InputError(f"{name}:1: required column {col!r} is missing "
                             f"(header: {','.join(header)})")
    return header


def _columns(name: str, header: list[str], can_draw: bool) -> dict[str, int]:
    """Column name -> index, after checking the chain columns are all present or all absent."""
    present = [c for c in CHAIN_COLUMNS if c in header]
    if present and len(present) != len(CHAIN_COLUMNS):
        raise InputError(f"{name}:1: chain columns must be all present or all absent; "
                         f"missing {', '.join(c for c in CHAIN_COLUMNS if c not in header)}")
    if not present and not can_draw:
        raise InputError(f"{name}: has no chain columns ({', '.join(CHAIN_COLUMNS)}), so jobs "
                         f"must be drawn from traces, but no workload sampler was given")
    return {col: i for i, col in enumerate(header)}


def _read_rows(name: str, reader: Iterator[list[str]], columns: dict[str, int],
               draw: Callable[[int, float, int, int], Job] | None) -> list[Job]:
    """The jobs of the data rows; ``draw(job_id, arrival_s, qubits, priority)`` when the
    rows carry no chain. Blank lines are skipped."""
    width = len(columns)
    get = {col: columns.get(col) for col in CSV_COLUMNS}
    jobs: list[Job] = []
    # job_id -> line that has it; without a job_id column the ids are the row numbers
    first_line: dict[int, int] | None = {} if "job_id" in columns else None
    shared = _SharedValues()
    for line_no, row in enumerate(reader, start=2):
        if not row:
            continue
        where = f"{name}:{line_no}"
        if len(row) != width:
            raise InputError(f"{where}: {len(row)} fields, but the header has {width}")
        cell = {col: row[i] for col, i in get.items() if i is not None}
        job_id = line_no - 2
        if first_line is not None:
            job_id = _int_field(where, cell, "job_id")
            if job_id in first_line:
                raise InputError(f"{where}: job_id {job_id} is already used on line "
                                 f"{first_line[job_id]}")
            first_line[job_id] = line_no
        arrival = _float_field(where, cell, "arrival_s")
        qubits, priority = _int_field(where, cell, "qubits"), _int_field(where, cell, "priority")
        if draw is None:
            texts = [cell[c].strip() for c in CHAIN_COLUMNS[:4]]
            pre, it, q, post = (shared.number(where, c, t) for c, t in zip(CHAIN_COLUMNS, texts))
            iterations = _int_field(where, cell, "iterations")
        try:  # the data model's checks name the job and field; add the line
            if draw is None:
                jobs.append(shared.job((texts[1], texts[2], iterations), job_id, arrival,
                                       qubits, priority, pre, it, q, post, iterations))
            else:
                jobs.append(draw(job_id, arrival, qubits, priority))
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
    return jobs


#: Distinct values (and chains) of a job list whose objects ``_SharedValues`` shares.
SHARED_VALUES = 4096


class _SharedValues:
    """One object per distinct chain value and per distinct constant chain of a job list.

    Why: rows repeat few distinct chain values (chains drawn from traces depend on the
    qubit count), and a job's own float and ``Repeated`` objects were about half of its
    ~600 bytes: 2M rows held ~1.2 GB. Values are keyed by their text, so a shared float
    is the float that text parses to (-0.0 stays -0.0); ``Repeated`` is read-only. At
    most ``SHARED_VALUES`` of each are kept (a file of all-distinct values shares none).
    """

    def __init__(self) -> None:
        self.floats: dict[str, float] = {}
        self.chains: dict[tuple[str, str, int], Job] = {}

    def number(self, where: str, name: str, text: str) -> float:
        """The number ``text`` of column ``name`` (one float object per distinct text)."""
        value = self.floats.get(text)
        if value is None:
            value = _float_field(where, {name: text}, name)
            if len(self.floats) < SHARED_VALUES:
                self.floats[text] = value
        return value

    def job(self, key: tuple[str, str, int], job_id: int, arrival_s: float, qubits: int,
            priority: int, pre_ops: float, iteration_ops: float, quantum_s: float,
            post_ops: float, iterations: int) -> Job:
        """``constant_chain_job``, its two ``Repeated`` chains shared with every earlier job
        of the same ``key`` (iteration_ops text, quantum_s text, iterations)."""
        model = self.chains.get(key)
        if model is None:
            job = constant_chain_job(job_id, arrival_s, qubits, priority, pre_ops,
                                     iteration_ops, quantum_s, post_ops, iterations)
            if len(self.chains) < SHARED_VALUES:
                self.chains[key] = job
            return job
        return Job(job_id, arrival_s, qubits, priority, pre_ops, model.iteration_ops,
                   model.quantum_s, post_ops)


def _float_field(where: str, row: dict[str, str], name: str) -> float:
    """A number cell (range checked by the data model, which names the job)."""
    text = row[name].strip()
    try:
        return float(text)
    except ValueError:
        raise InputError(f"{where}: field {name!r} must be a number, got {_show(text)}") from None


def _int_field(where: str, row: dict[str, str], name: str) -> int:
    """An integer cell: digits only (``1.5``, ``1e3`` and ``1_000`` are refused)."""
    text = row[name].strip()
    if not _INTEGER.fullmatch(text):
        raise InputError(f"{where}: field {name!r} must be an integer, got {_show(text)}")
    return int(text)


_INTEGER = re.compile(r"[+-]?[0-9]{1,30}")


def _show(value: object) -> str:
    """``repr(value)`` cut to 60 characters, so a message stays one short line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
