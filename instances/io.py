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
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from hqsched.errors import InputError
from hqsched.files import atomic_write_text

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
        if j.iterations and len(set(j.iteration_ops)) == 1 and len(set(j.quantum_s)) == 1:
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
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: no such instance file") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    return instance_from_dict(data, source=str(path))


def instance_from_dict(data: Any, source: str = "instance") -> Instance:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"{source}: field 'format' must be {FORMAT!r}, "
                         f"got {data.get('format') if isinstance(data, dict) else data!r}")
    if data.get("version") != VERSION:
        raise InputError(f"{source}: field 'version' must be {VERSION}, got {data.get('version')!r}")
    rows = data.get("jobs")
    if not isinstance(rows, list):
        raise InputError(f"{source}: field 'jobs' must be a list")
    jobs = [_job_from_row(row, f"{source}: jobs[{k}]") for k, row in enumerate(rows)]
    try:
        return Instance(tuple(jobs), name=str(data.get("name", Path(source).stem)),
                        meta=dict(data.get("meta") or {}))
    except InputError as exc:
        raise InputError(f"{source}: {exc}") from None


def _job_from_row(row: Any, where: str) -> Job:
    if not isinstance(row, dict):
        raise InputError(f"{where}: must be an object, got {row!r}")
    missing = [k for k in ("job_id", "arrival_s", "qubits", "priority", "pre_ops",
                           "iteration_ops", "quantum_s", "post_ops") if k not in row]
    if missing:
        raise InputError(f"{where}: missing field(s) {missing}")
    try:
        if isinstance(row["quantum_s"], list) or isinstance(row["iteration_ops"], list):
            return Job(row["job_id"], row["arrival_s"], row["qubits"], row["priority"],
                       row["pre_ops"], tuple(row["iteration_ops"]), tuple(row["quantum_s"]),
                       row["post_ops"])
        if "iterations" not in row:
            raise InputError("scalar iteration_ops/quantum_s need an 'iterations' field")
        return constant_chain_job(row["job_id"], row["arrival_s"], row["qubits"], row["priority"],
                                  row["pre_ops"], row["iteration_ops"], row["quantum_s"],
                                  row["post_ops"], row["iterations"])
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    except TypeError as exc:
        raise InputError(f"{where}: {exc}") from None


def read_job_csv(path: str | Path, sample: Callable[[np.random.Generator, int, float, int, int], Job]
                 | None = None, rng: np.random.Generator | None = None) -> Instance:
    """Read a CSV job list; rows without chain columns are drawn with ``sample``.

    ``sample(rng, job_id, arrival_s, qubits, priority)`` is typically
    ``JobSampler.sample_attributes``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such job file")
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in (reader.fieldnames or [])]
        for col in ("arrival_s", "qubits", "priority"):
            if col not in header:
                raise InputError(f"{path}: required column {col!r} is missing (header: {header})")
        present = [c for c in CHAIN_COLUMNS if c in header]
        if present and len(present) != len(CHAIN_COLUMNS):
            raise InputError(f"{path}: chain columns must be all present or all absent; "
                             f"missing {[c for c in CHAIN_COLUMNS if c not in header]}")
        draw = None  # sample(rng, ...) when the rows carry no chains
        if not present:
            if sample is None or rng is None:
                raise InputError(f"{path}: has no chain columns {list(CHAIN_COLUMNS)}, so jobs "
                                 f"must be drawn from traces, but no workload sampler was given")
            draw = partial(sample, rng)
        jobs = []
        for line_no, raw in enumerate(reader, start=2):
            row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
            where = f"{path}:{line_no}"
            job_id = _int_field(where, row, "job_id") if "job_id" in row else line_no - 2
            arrival = _float_field(where, row, "arrival_s")
            qubits = _int_field(where, row, "qubits")
            priority = _int_field(where, row, "priority")
            try:
                if draw is None:
                    jobs.append(constant_chain_job(
                        job_id, arrival, qubits, priority, _float_field(where, row, "pre_ops"),
                        _float_field(where, row, "iteration_ops"),
                        _float_field(where, row, "quantum_s"), _float_field(where, row, "post_ops"),
                        _int_field(where, row, "iterations")))
                else:
                    jobs.append(draw(job_id, arrival, qubits, priority))
            except InputError as exc:
                raise InputError(f"{where}: {exc}") from None
    try:
        return Instance(tuple(jobs), name=path.stem)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def _float_field(where: str, row: dict[str, str], name: str) -> float:
    text = row.get(name, "")
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{where}: field {name!r} must be a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise InputError(f"{where}: field {name!r} must be a finite number >= 0, got {text!r}")
    return value


def _int_field(where: str, row: dict[str, str], name: str) -> int:
    text = row.get(name, "")
    try:
        return int(text)
    except ValueError:
        raise InputError(f"{where}: field {name!r} must be an integer, got {text!r}") from None
