"""Instance files, job lists, trace files and notes: bad input is one line, exit code 2 (issue 13).

Every case goes through the ``hqsched`` command (``main``), except the data
model's own checks and the ``Repeated`` chain, tested directly. A case
passes when the command exits with 2 and prints exactly one line that names
the file and the field, or, for a valid file, runs.
"""

from __future__ import annotations

import json
import pickle
import re
import shutil

import numpy as np
import pytest

from hqsched.cli import main
from hqsched.errors import InputError
from hqsched.inputs import read_text_file
from hqsched.instances.io import read_instance, read_job_csv, write_instance
from hqsched.instances.model import (
    MAX_ITERATIONS,
    Instance,
    Job,
    Platform,
    Repeated,
    constant_chain_job,
)
from hqsched.instances.traces import bundled_trace_dir, load_traces
from hqsched.instances.workload import JobSampler, WorkloadSpec

RUN = ["--policy", "fifo", "--seeds", "0", "--processes", "1", "--no-admission"]
HEADER = "job_id,arrival_s,qubits,priority,pre_ops,iteration_ops,quantum_s,post_ops,iterations\n"
ROW = "0,0,4,1,1e9,1e8,2,1e8,3\n"


def job_row(**changes: object) -> dict:
    row = {"job_id": 0, "arrival_s": 0.0, "qubits": 4, "priority": 1, "pre_ops": 1e9,
           "iteration_ops": 1e8, "quantum_s": 2.0, "post_ops": 1e8, "iterations": 3}
    row.update(changes)
    return row


def document(*rows: dict, **top: object) -> str:
    doc = {"format": "hqsched-instance", "version": 1, "name": "t", "jobs": list(rows)}
    doc.update(top)
    return json.dumps(doc)


def refused(capsys, argv: list[str]) -> str:
    """Run ``hqsched argv``; assert exit code 2 and one line on stderr; return that line."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hqsched: error: "), err
    assert "Traceback" not in err and ".tmp" not in err
    return lines[0]


def simulate(path) -> list[str]:
    return ["simulate", "--instance", str(path), *RUN]


JSON_CASES = {
    "job_id text": (document(job_row(job_id="a")), "job_id must be an integer"),
    "job_id 1.5": (document(job_row(job_id=1.5)), "job_id must be an integer from 0 to"),
    "job_id 1.0": (document(job_row(job_id=1.0)), "job_id must be an integer"),
    "job_id true": (document(job_row(job_id=True)), "job_id must be an integer"),
    "job_id negative": (document(job_row(job_id=-1)), "job_id must be an integer from 0"),
    "duplicate job_id": (document(job_row(), job_row(arrival_s=5.0)),
                         r"jobs\[1\]: job_id 0 is already used by jobs\[0\]"),
    "meta list": (document(job_row(), meta=[1, 2]), "field 'meta' must be an object"),
    "unknown top field": (document(job_row(), extra=1), "unknown field 'extra'"),
    "unknown job field": (document(job_row(arrival=3)), r"jobs\[0\]: unknown field 'arrival'"),
    "other units": (document(job_row(), units={"arrival_s": "ms"}), "field 'units' must be"),
    "name not text": (document(job_row(), name=3), "field 'name' must be a string"),
    "arrival 1e20": (document(job_row(arrival_s=1e20)), r"arrival_s must be a number in \[0, 1e\+09\]"),
    "arrival 1e300": (document(job_row(arrival_s=1e300)), "arrival_s must be a number in"),
    "arrival nan": ('{"format":"hqsched-instance","version":1,"jobs":[' + json.dumps(job_row())
                    .replace('"arrival_s": 0.0', '"arrival_s": NaN') + "]}", "got nan"),
    "arrival huge int": (document(job_row(arrival_s=10**400)), "arrival_s must be a number"),
    "quantum inf": (document(job_row()).replace('"quantum_s": 2.0', '"quantum_s": Infinity'),
                    r"quantum_s must be a number in \(0, 1e\+09\]"),
    "quantum 0": (document(job_row(quantum_s=0.0)), "quantum_s must be a number in"),
    "quantum 1e300 list": (document(job_row(iteration_ops=[1.0, 1.0], quantum_s=[1.0, 1e300],
                                            iterations=2)), r"quantum_s\[1\] must be"),
    "ops 1e300": (document(job_row(pre_ops=1e300)), r"pre_ops must be a number in \[0, 1e\+18\]"),
    "iteration ops text": (document(job_row(iteration_ops=[1.0, "x"], quantum_s=[1.0, 1.0],
                                            iterations=2)), r"iteration_ops\[1\] must be"),
    "priority 2^62": (document(job_row(priority=2**62)), "priority must be an integer from 1 to"),
    "qubits 0": (document(job_row(qubits=0)), "qubits must be an integer from 1"),
    "iterations huge": (document(job_row(iterations=10**12)), "iterations must be an integer"),
    "lists and numbers mixed": (document(job_row(iteration_ops=[1.0])), "must both be lists"),
    "iterations disagree with lists": (document(job_row(iteration_ops=[1.0], quantum_s=[1.0],
                                                        iterations=2)), "iterations is 2"),
    "lists of different length": (document(job_row(iteration_ops=[1.0], quantum_s=[1.0, 2.0],
                                                   iterations=2)), "they must match"),
    "jobs not a list": (document(jobs={}), "field 'jobs' must be a non-empty list"),
    "no jobs": (document(), "field 'jobs' must be a non-empty list"),
    "row not an object": (document(7), r"jobs\[0\]: must be an object"),
    "missing field": (document({"job_id": 0}), "missing field"),
    "not an object": ("[1, 2]", "must be a JSON object"),
    "not JSON": ("{", "not valid JSON"),
    "deep nesting": ("[" * 100_000, "not valid JSON"),
    "5000-digit integer": ('{"format": "hqsched-instance", "version": 1, "jobs": [{"job_id": '
                           + "9" * 5000 + "}]}", "not valid JSON"),
    "wrong version": (document(job_row(), version=2), "field 'version' must be 1"),
}


@pytest.mark.parametrize("label", list(JSON_CASES))
def test_bad_json_instance_is_one_line_naming_file_and_field(tmp_path, capsys, label):
    text, message = JSON_CASES[label]
    path = tmp_path / "inst.json"
    path.write_text(text, encoding="utf-8")
    line = refused(capsys, simulate(path))
    assert f"{path}: " in line
    assert line.count(str(path)) == 1  # the location is never repeated
    assert re.search(message, line), line


CSV_CASES = {
    "job_id 1.5": (HEADER + ROW.replace("0,", "1.5,", 1), ":2: field 'job_id' must be an integer, got '1.5'"),
    "job_id text": (HEADER + ROW.replace("0,", "a,", 1), ":2: field 'job_id' must be an integer"),
    "job_id negative": (HEADER + ROW.replace("0,", "-1,", 1), ":2: job: job_id must be an integer from 0"),
    "duplicate job_id": (HEADER + ROW + ROW, ":3: job_id 0 is already used on line 2"),
    "extra column": (HEADER.strip() + ",colour\n" + ROW.strip() + ",red\n", ":1: unknown column 'colour'"),
    "column twice": ("arrival_s,qubits,priority,qubits\n0,4,1,4\n", "column 'qubits' appears more than once"),
    "extra field in a row": (HEADER + ROW.strip() + ",5\n", ":2: 10 fields, but the header has 9"),
    "short row": (HEADER + "0,0,4\n", ":2: 3 fields, but the header has 9"),
    "arrival 1e300": (HEADER + "0,1e300,4,1,1e9,1e8,2,1e8,3\n", ":2: job 0: arrival_s must be a number in"),
    "arrival 1e20": (HEADER + "0,1e20,4,1,1e9,1e8,2,1e8,3\n", ":2: job 0: arrival_s must be"),
    "arrival nan": (HEADER + "0,nan,4,1,1e9,1e8,2,1e8,3\n", ":2: job 0: arrival_s must be a number in"),
    "quantum inf": (HEADER + "0,0,4,1,1e9,1e8,inf,1e8,3\n", ":2: job 0: quantum_s must be"),
    "ops 1e300": (HEADER + "0,0,4,1,1e9,1e300,2,1e8,3\n", ":2: job 0: iteration_ops must be"),
    "ops text": (HEADER + "0,0,4,1,abc,1e8,2,1e8,3\n", ":2: field 'pre_ops' must be a number"),
    "iterations 1e3": (HEADER + "0,0,4,1,1e9,1e8,2,1e8,1e3\n", ":2: field 'iterations' must be an integer"),
    "iterations huge": (HEADER + "0,0,4,1,1e9,1e8,2,1e8,99999999999\n", "iterations must be an integer"),
    "priority huge": (HEADER + "0,0,4,4611686018427387904,1e9,1e8,2,1e8,3\n", "priority must be"),
    "half the chain": ("arrival_s,qubits,priority,pre_ops\n0,4,1,1\n", "chain columns must be all"),
    "missing column": ("job_id,qubits,priority\n0,4,1\n", "required column 'arrival_s' is missing"),
    "empty": ("", "empty file"),
    "header only": (HEADER, "no job rows after the header"),
    "qubits not in the workload": ("arrival_s,qubits,priority\n0,5,1\n", ":2: job 0: qubits=5"),
}


@pytest.mark.parametrize("label", list(CSV_CASES))
def test_bad_job_csv_is_one_line_naming_file_line_and_field(tmp_path, capsys, label):
    text, message = CSV_CASES[label]
    path = tmp_path / "jobs.csv"
    path.write_text(text, encoding="utf-8")
    line = refused(capsys, simulate(path))
    assert message in line, line
    assert line.count("jobs.csv") == 1, line  # never "f.csv:2: f.csv:2: ..."


@pytest.mark.parametrize("name", ["inst.json", "jobs.csv"])
def test_non_utf8_file_is_refused_at_the_bad_byte(tmp_path, capsys, name):
    path = tmp_path / name
    path.write_bytes(HEADER.encode() + b"0,0,4,1,1e9,1e8,2,1e8,3\n\xff\xfe,0,4\n")
    line = refused(capsys, simulate(path))
    assert f"{path}: not UTF-8 text (byte 0xff on line 3" in line, line


def test_large_random_file_is_refused_from_its_first_bytes(tmp_path, capsys):
    # 20 MB of random bytes (the same path as a 300 MB one): refused at the first bad byte.
    path = tmp_path / "random.json"
    data = np.random.default_rng(0).integers(0, 256, 20 << 20, dtype=np.uint8).tobytes()
    path.write_bytes(b"\xff" + data)
    line = refused(capsys, ["solve", str(path)])
    assert "not UTF-8 text (byte 0xff on line 1, offset 0)" in line
    csv_path = tmp_path / "random.csv"
    shutil.copy(path, csv_path)
    assert "not UTF-8 text" in refused(capsys, simulate(csv_path))


@pytest.mark.parametrize("argv", [["solve", "{p}"], ["plan", "exact", "{p}", "--delta-max", "100"]])
def test_solve_and_plan_exact_refuse_bad_instance_files(tmp_path, capsys, argv):
    path = tmp_path / "i.json"
    path.write_bytes(b"\xff\xfe")
    assert "not UTF-8 text" in refused(capsys, [a.format(p=path) for a in argv])
    path.write_text(document(job_row(job_id=1.5)))
    assert "job_id must be an integer" in refused(capsys, [a.format(p=path) for a in argv])


def test_missing_file_and_directory_are_one_line(tmp_path, capsys):
    assert "no such file" in refused(capsys, simulate(tmp_path / "none.json"))
    assert "no such file" in refused(capsys, simulate(tmp_path / "none.csv"))
    (tmp_path / "d.csv").mkdir()
    assert "is a directory" in refused(capsys, simulate(tmp_path / "d.csv"))


def test_report_notes_not_utf8_is_refused_before_any_work(tmp_path, capsys):
    notes = tmp_path / "notes.md"
    notes.write_bytes(b"fine\n\xe9t\xe9\n")
    line = refused(capsys, ["report", str(tmp_path / "no-results"), "--out", str(tmp_path / "r"),
                            "--notes", str(notes)])
    assert f"--notes {notes}: not UTF-8 text (byte 0xe9 on line 2, offset 5)" in line


@pytest.mark.parametrize("file,text,message", [
    ("pre.csv", b"n_qubits,pre\n4,1.0\n\xff,2\n", "pre.csv: not UTF-8 text (byte 0xff on line 3"),
    ("exec_time.csv", b"n_qubits,exec_time\n4,1e300\n", "exec_time.csv:2: exec_time must be <= 1000000000"),
    ("num_iterations.csv", b"n_qubits,num_iterations\n4,1e12\n",
     "num_iterations.csv:2: num_iterations must be <= 2147483647"),
    ("post.csv", b"n_qubits,post\n99999999,1\n", "post.csv:2: n_qubits must be an integer from 1"),
    ("ibm_job_estimate.csv", b"t,4,ibm_x,nan\n", "ibm_job_estimate.csv:1: seconds must be > 0"),
])
def test_bad_trace_file_is_one_line(tmp_path, file, text, message):
    for f in bundled_trace_dir().glob("*.csv"):
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / file).write_bytes(text)
    with pytest.raises(InputError) as caught:
        load_traces(tmp_path)
    assert message in str(caught.value)


def test_valid_files_still_run_and_a_byte_order_mark_is_accepted(tmp_path, capsys):
    path = tmp_path / "jobs.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + ROW).encode())
    assert main(simulate(path)) == 0
    inst = read_job_csv(path)
    assert inst.jobs[0] == constant_chain_job(0, 0.0, 4, 1, 1e9, 1e8, 2.0, 1e8, 3)
    capsys.readouterr()


# --------------------------------------------------------------------------
# The data model
# --------------------------------------------------------------------------

def test_repeated_behaves_as_the_tuple_it_stands_for():
    r = Repeated(2.5, 4)
    t = (2.5,) * 4
    assert r == t and t == r and hash(r) == hash(t)
    assert list(r) == list(t) and len(r) == 4 and r[-1] == 2.5 and r[1:3] == (2.5, 2.5)
    assert r.count(2.5) == 4 and r.count(1.0) == 0 and 2.5 in r
    assert r != (2.5,) * 3 and r != Repeated(2.0, 4) and Repeated(1.0, 0) == ()
    assert pickle.loads(pickle.dumps(r)) == r
    assert np.array_equal(np.asarray(r), np.full(4, 2.5))
    with pytest.raises(IndexError):
        r[4]
    assert sum(r) == sum(t)


def test_constant_chain_is_stored_once_and_round_trips_through_json(tmp_path):
    job = constant_chain_job(7, 1.5, 4, 2, 1e9, 3e8, 0.25, 1e7, iterations=1000)
    assert isinstance(job.quantum_s, Repeated) and isinstance(job.iteration_ops, Repeated)
    assert job == Job(7, 1.5, 4, 2, 1e9, (3e8,) * 1000, (0.25,) * 1000, 1e7)
    write_instance(Instance((job,)), tmp_path / "i.json")
    assert read_instance(tmp_path / "i.json").jobs == (job,)


def test_job_bounds_hold_for_every_source():
    with pytest.raises(InputError, match="job 0: arrival_s"):
        constant_chain_job(0, 1e20, 4, 1, 1.0, 1.0, 1.0, 1.0, 1)
    with pytest.raises(InputError, match="job 0: iterations"):
        constant_chain_job(0, 0.0, 4, 1, 1.0, 1.0, 1.0, 1.0, MAX_ITERATIONS + 1)
    with pytest.raises(InputError, match="job_id must be an integer"):
        Job(1.5, 0.0, 4, 1, 1.0, (1.0,), (1.0,), 1.0)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="appears more than once"):
        Instance((constant_chain_job(1, 0.0, 4, 1, 1.0, 1.0, 1.0, 1.0, 1),) * 2)
    with pytest.raises(InputError, match="meta must be a dict"):
        Instance((), meta=[1, 2])  # type: ignore[arg-type]
    with pytest.raises(InputError, match="worker_capacity_ops_per_s"):
        Platform(worker_capacity_ops_per_s=1e308)
    with pytest.raises(InputError, match="worker_capacity_ops_per_s"):
        Platform(worker_capacity_ops_per_s=1e-300)
    with pytest.raises(InputError, match="priorities"):
        WorkloadSpec(600.0, priorities=(2**62,))


def test_iteration_scale_that_overflows_the_chain_is_refused():
    traces = load_traces()
    with pytest.raises(InputError, match="iteration_scale"):
        JobSampler(traces, WorkloadSpec(600.0, iteration_scale=1e7))


def test_read_text_file_names_option_and_keeps_valid_text(tmp_path):
    path = tmp_path / "n.md"
    path.write_text("héllo\r\nworld\n", encoding="utf-8")
    assert read_text_file(path) == "héllo\nworld\n"
    path.write_bytes(b"ok\n\xc3")  # cut in the middle of a character
    with pytest.raises(InputError, match=r"^--notes .*n.md: not UTF-8 text \(truncated"):
        read_text_file(path, "--notes")
