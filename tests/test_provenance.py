"""Provenance records in every output, the refusal to resume a directory made by other
code or traces (``--allow-mixed`` overrides), and output files that respect the umask."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from hqsched import provenance
from hqsched.cli import main
from hqsched.experiments.results_store import ResultStore
from hqsched.files import atomic_write_text

FAST = ["--duration", "1d", "--warmup", "2h", "--iteration-scale", "0.05", "--policy", "fifo",
        "--processes", "1"]
CAMPAIGN = """\
name = "tiny"
seeds = "0-1"
[fixed]
duration = "1d"
iteration-scale = 0.05
[grid]
policy = ["fifo", "lifo"]
"""


def simulate(out: Path, *extra: str) -> int:
    return main(["simulate", *FAST, "--seeds", "0-1", "--out", str(out), *extra])


def set_recorded(out: Path, **fields: object) -> None:
    """Edit the first run's record, as if another hqsched had made the directory."""
    path = out / provenance.PROVENANCE_FILE
    doc = json.loads(path.read_text())
    doc["runs"][0].update(fields)
    path.write_text(json.dumps(doc))


def one_error_line(err: str) -> str:
    """The one error line of stderr (a command may print its header line before)."""
    lines = [ln for ln in err.splitlines() if "error" in ln.lower()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_results_directory_records_code_environment_traces_command_and_date(tmp_path, capsys):
    assert simulate(tmp_path) == 0
    runs = provenance.read_runs(tmp_path)
    assert len(runs) == 1
    rec = runs[0]
    assert rec["hqsched"] and rec["python"] and rec["date_utc"].endswith("Z")
    assert {"numpy", "numba", "highspy", "pyomo"} <= set(rec["packages"])
    assert rec["command"].startswith("hqsched simulate ") and str(tmp_path) in rec["command"]
    (files,) = rec["traces"].values()  # the bundled traces, every file hashed
    assert {"pre.csv", "exec_time.csv", "ibm_job_estimate.csv"} <= set(files)
    assert all(len(h) == 64 for h in files.values())
    unit = json.loads((tmp_path / "replications" / "seed-000000.json").read_text())
    assert unit["code"] == {"hqsched": rec["hqsched"], "git_commit": rec["git_commit"]}
    # The manifest (what the resume rule compares) holds no run-specific field.
    assert "provenance" not in json.loads((tmp_path / "config.json").read_text())


def test_a_resume_by_another_version_is_refused_and_accepted_with_allow_mixed(tmp_path, capsys):
    assert simulate(tmp_path) == 0
    tables = sorted((tmp_path / "jobs").glob("*.csv"))
    before = [p.read_bytes() for p in tables]
    set_recorded(tmp_path, hqsched="0.0.1-other")
    capsys.readouterr()

    assert main(["simulate", *FAST, "--seeds", "0-2", "--out", str(tmp_path)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith(f"hqsched: error: --out {tmp_path}: ")
    assert "hqsched 0.0.1-other" in line and "--allow-mixed" in line
    assert not (tmp_path / "jobs" / "seed-000002.csv").exists()  # nothing was run

    assert main(["simulate", *FAST, "--seeds", "0-2", "--out", str(tmp_path),
                 "--allow-mixed"]) == 0
    runs = provenance.read_runs(tmp_path)
    assert len(runs) == 2 and runs[1].get("mixed") is True and "mixed" not in runs[0]
    assert [p.read_bytes() for p in tables] == before  # finished units were kept as they were
    assert (tmp_path / "jobs" / "seed-000002.csv").is_file()


def test_a_campaign_extended_by_another_commit_is_refused(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text(CAMPAIGN)
    out = tmp_path / "out"
    args = ["campaign", "run", str(path), "--out", str(out), "--processes", "1"]
    assert main(args) == 0
    plan = json.loads((out / "campaign.json").read_text())
    assert plan["provenance"]["command"].startswith("hqsched campaign run")
    set_recorded(out, git_commit="0" * 40)
    if provenance.read_runs(out)[0]["git_commit"] and provenance.code_identity()["git_commit"]:
        capsys.readouterr()
        assert main([*args, "--seeds", "0-2"]) == 2
        assert "git commit 000000000000" in one_error_line(capsys.readouterr().err)
    assert main([*args, "--seeds", "0-2", "--allow-mixed"]) == 0


def test_a_directory_without_records_is_from_an_older_hqsched_and_is_refused(tmp_path, capsys):
    assert simulate(tmp_path) == 0
    (tmp_path / provenance.PROVENANCE_FILE).unlink()
    capsys.readouterr()
    assert simulate(tmp_path) == 2
    assert "recorded no version" in one_error_line(capsys.readouterr().err)
    assert simulate(tmp_path, "--allow-mixed") == 0


def test_a_rerun_by_the_same_code_resumes_and_adds_its_record(tmp_path, capsys):
    assert simulate(tmp_path) == 0
    assert simulate(tmp_path) == 0
    runs = provenance.read_runs(tmp_path)
    assert len(runs) == 2 and not any(r.get("mixed") for r in runs)
    assert runs[0]["run_id"] != runs[1]["run_id"]


def test_changed_trace_files_are_a_difference_and_a_moved_directory_is_not():
    rec = {"hqsched": "1", "git_commit": "a" * 40,
           "traces": {"/old/place": {"pre.csv": "1" * 64, "post.csv": "2" * 64}}}
    moved = {**rec, "traces": {"/new/place": dict(rec["traces"]["/old/place"])}}
    assert provenance.difference(rec, moved) is None
    edited = {**rec, "traces": {"/old/place": {"pre.csv": "3" * 64, "post.csv": "2" * 64}}}
    assert "pre.csv" in provenance.difference(rec, edited)
    assert provenance.difference(rec, {**rec, "git_commit": None}) is None  # not a checkout
    assert "git commit" in provenance.difference(rec, {**rec, "git_commit": "b" * 40})


# -- file modes: like any file the user creates ----------------------------------------------

@pytest.fixture
def umask():
    """Set the process umask for a test, restored afterwards."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_respect_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    atomic_write_text(tmp_path / "page.md", "# hello\n")
    store = ResultStore(tmp_path / "store")
    store.save("seed-000000", {"x": 1.0}, {"v": np.arange(3.0)})
    for path in (tmp_path / "page.md", store.table_path("seed-000000"),
                 store.summary_path("seed-000000")):
        assert stat.S_IMODE(path.stat().st_mode) == mode, path


def test_validate_writes_its_table_with_a_provenance_record(tmp_path):
    from hqsched.cli.validate import write_csv
    path = write_csv([], tmp_path / "v")
    assert path.read_text().startswith("name,parameters,metric")
    (rec,) = provenance.read_runs(tmp_path / "v")
    assert rec["hqsched"] and rec["date_utc"]


def test_overwrite_discards_results_of_other_code_and_starts_a_new_history(tmp_path, capsys):
    assert simulate(tmp_path) == 0
    set_recorded(tmp_path, hqsched="0.0.1-other")
    assert simulate(tmp_path, "--overwrite") == 0
    runs = provenance.read_runs(tmp_path)
    assert len(runs) == 1 and runs[0]["hqsched"] != "0.0.1-other" and "mixed" not in runs[0]
    assert len(list((tmp_path / "jobs").glob("*.csv"))) == 2


def test_every_file_of_a_run_and_its_report_has_the_umask_mode(tmp_path, umask, capsys):
    umask(0o027)
    assert simulate(tmp_path / "sim") == 0
    assert main(["report", str(tmp_path / "sim"), "--out", str(tmp_path / "rep"),
                 "--html"]) == 0
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != ".hqsched.lock"]
    assert len(files) > 15
    assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {oct(0o640)}, \
        {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
