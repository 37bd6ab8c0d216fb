"""Issue 15: named trace sets, the reference simulator's semantics as options, the study.

The 2024-09 trace set (shapes, licence, refusal and fill-in of qubit counts it
lacks), the last-row quantum target on a hand-made estimate file, the drop
probability over the whole run on a hand-computed run, one-line option errors,
and the bundled study ``paper`` with its report.
"""

from __future__ import annotations

import fnmatch
import shutil

import numpy as np
import pytest
from conftest import ROOT, chain_job

from hqsched.cli import main
from hqsched.errors import InputError
from hqsched.experiments.scenario import build_plan, describe, settings_from
from hqsched.inputs import load_toml
from hqsched.instances.model import Instance, Platform
from hqsched.instances.traces import (
    DEFAULT_TRACE_SET,
    TRACE_SETS,
    bundled_trace_dir,
    load_traces,
    trace_files,
)
from hqsched.instances.workload import qubit_profile
from hqsched.online.config import SimulationConfig
from hqsched.online.engine import simulate


@pytest.fixture(scope="module")
def first_set():
    return load_traces("2024-09")


@pytest.fixture(scope="module")
def default_set():
    return load_traces()


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# -- the 2024-09 set ---------------------------------------------------------

def test_first_set_loads_with_its_shapes(first_set, default_set):
    for name in ("pre", "cost_time", "post", "num_iterations"):
        assert first_set.qubits_with(name) == [4, 6, 8, 10]
    # Per-iteration cost_time rows (README of the set), 20 rows per job file.
    assert {q: len(v) for q, v in first_set.columns["cost_time"].items()} == {
        4: 7441, 6: 12782, 8: 17145, 10: 19286}
    assert all(len(first_set.values("pre", q)) == 20 for q in (4, 6, 8, 10))
    # post.csv's value column is named run_sampler: read as post.
    assert first_set.values("post", 10)[0] == pytest.approx(0.0502432300709188)
    # Mean num_iterations at 4/6/8/10 qubits: 373/640/858/965 (the set's README).
    means = [first_set.values("num_iterations", q).mean() for q in (4, 6, 8, 10)]
    assert np.round(means).tolist() == [373, 640, 858, 965]
    # exec_time and the IBM estimates are the default set's files.
    assert np.array_equal(first_set.values("exec_time", 8), default_set.values("exec_time", 8))
    assert first_set.ibm_estimate_s == default_set.ibm_estimate_s
    assert trace_files("2024-09")["exec_time.csv"] == trace_files()["exec_time.csv"]
    assert first_set.source == "trace set 2024-09 (bundled)"


def test_first_set_licence_notice_is_installed_and_shipped():
    folder = bundled_trace_dir("2024-09")
    licence = (folder / "LICENSE-traces").read_text(encoding="utf-8")
    assert licence.startswith("MIT License") and "Claudio Cicconetti" in licence
    assert licence == (bundled_trace_dir() / "LICENSE-traces").read_text(encoding="utf-8")
    # Every file of the folder is matched by the package-data patterns (so a wheel has it).
    patterns = load_toml(ROOT / "pyproject.toml")["tool"]["setuptools"]["package-data"][
        "hqsched.instances.data"]
    for f in folder.iterdir():
        if f.is_file():
            rel = f"{folder.name}/{f.name}"
            assert any(fnmatch.fnmatch(rel, p) for p in patterns), rel


def test_qubit_counts_the_set_lacks_are_refused_naming_the_fill_in(first_set):
    with pytest.raises(InputError, match=r"2024-09.*pre.csv has no rows with n_qubits=12 "
                                         r"\(available: \[4, 6, 8, 10\]\).*--fill-in nearest"):
        qubit_profile(first_set, 12)
    with pytest.raises(InputError, match=r"n_qubits=12"):  # interpolate fills IBM, not rows
        qubit_profile(first_set, 12, fill_in="interpolate")


def test_fill_in_nearest_borrows_each_value_from_the_nearest_qubit_count(first_set):
    p = qubit_profile(first_set, 12, fill_in="nearest")
    assert np.array_equal(p.pre_ops, first_set.values("pre", 10) * 1e9)
    assert np.array_equal(p.iterations, first_set.values("num_iterations", 10))
    # IBM has 10 and 14 qubits: a tie, the larger wins.
    assert p.quantum_s.mean() == pytest.approx(first_set.fastest_ibm_estimate_s(14))
    assert p.quantum_source == "ibm-fastest (rows of 10 qubits)"
    # Where the set has the qubit count, nearest changes nothing.
    exact = qubit_profile(first_set, 8)
    same = qubit_profile(first_set, 8, fill_in="nearest")
    assert np.array_equal(exact.quantum_s, same.quantum_s) and exact.quantum_source == \
        same.quantum_source


def test_cli_refuses_missing_qubits_in_one_line_unless_fill_in(capsys):
    fast = ["--duration", "6h", "--warmup", "1h", "--iteration-scale", "0.02", "--seeds", "0",
            "--policy", "fifo"]
    code, out, err = run_cli(capsys, "simulate", "--traces", "2024-09", "--qubits", "4,12", *fast)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert "--qubits=4,12" in err and "n_qubits=12" in err and "--fill-in nearest" in err
    code, out, err = run_cli(capsys, "simulate", "--traces", "2024-09", "--qubits", "4,12",
                             "--fill-in", "nearest", *fast)
    assert code == 0, err


# -- the last-row quantum target ---------------------------------------------

def test_last_row_target_takes_the_estimate_files_last_row(tmp_path):
    for name in ("pre.csv", "cost_time.csv", "post.csv", "num_iterations.csv"):
        shutil.copy(bundled_trace_dir() / name, tmp_path / name)
    (tmp_path / "exec_time.csv").write_text("n_qubits,exec_time\n4,1\n4,3\n6,2\n")
    (tmp_path / "ibm_job_estimate.csv").write_text(
        "1,4,ibm_a,5.0\n2,4,ibm_b,3.0\n3,6,ibm_b,2.0\n4,4,ibm_c,4.0\n5,6,ibm_a,7.0\n")
    traces = load_traces(tmp_path)
    assert traces.ibm_last_row_s == {4: 4.0, 6: 7.0}
    # exec_time at 4 qubits has mean 2: rescaled by 4/2 (last row) or 3/2 (fastest).
    assert qubit_profile(traces, 4, "ibm-last-row").quantum_s.tolist() == [2.0, 6.0]
    assert qubit_profile(traces, 4, "ibm-fastest").quantum_s.tolist() == [1.5, 4.5]
    assert qubit_profile(traces, 6, "ibm-last-row").quantum_s.tolist() == [7.0]
    assert qubit_profile(traces, 6, "ibm-last-row").quantum_source == "ibm-last-row"


def test_last_row_target_on_the_bundled_file_is_nazca(default_set):
    for q in (4, 6, 8, 10):
        assert default_set.ibm_last_row_s[q] == default_set.ibm_estimate_s[(q, "ibm_nazca")]


# -- the drop window -----------------------------------------------------------

def test_drop_window_run_counts_every_arrival_on_a_hand_computed_run():
    """One QC, Q_max = 1, warm-up 15 s; each job: pre 1 s, one 10 s quantum task.

    j0 (t=0) holds the QC 1..11; j1 (0.5) waits from 1.5; j2 (2) finds one pending:
    dropped. j1 runs 11..21; j3 (12) waits from 13; j4 (16) and j5 (17) dropped;
    j3 runs 21..31; j6 (30) finds none pending: accepted. Window [15, end): 3
    arrivals, 2 drops. Whole run: 7 arrivals, 3 drops.
    """
    jobs = [chain_job(i, t, 1.0, 0.0, 1, 0.0, 10.0)
            for i, t in enumerate([0, 0.5, 2, 12, 16, 17, 30])]
    platform = Platform(classical_workers=10, worker_capacity_ops_per_s=1.0,
                        quantum_computers=1, max_classical=100, max_quantum=1)
    summaries = {}
    for window in ("window", "run"):
        cfg = SimulationConfig(platform, policy="fifo", classical_mode="dedicated",
                               duration_s=100.0, warmup_s=15.0, instance=Instance(tuple(jobs)),
                               drop_window=window)
        result = simulate(cfg)
        summaries[window] = result.summary
        assert result.jobs is not None
        assert list(result.jobs["job_id"][result.jobs["status"] == "dropped"]) == [4, 5]
    w, r = summaries["window"], summaries["run"]
    assert (w["arrived"], w["accepted"], w["dropped"]) == (3, 1, 2)
    assert w["drop_probability"] == pytest.approx(2 / 3)
    assert (r["arrived"], r["accepted"], r["dropped"]) == (7, 4, 3)
    assert r["drop_probability"] == pytest.approx(3 / 7)
    # Only the drop counts differ.
    assert {k for k in w if w[k] != r[k]} == {"arrived", "accepted", "dropped",
                                              "drop_probability"}


def test_drop_window_default_leaves_the_scenario_description_unchanged():
    plain = build_plan(settings_from({"policy": "fifo"})).scenarios["fifo"]
    same = build_plan(settings_from({"policy": "fifo", "drop-window": "window"})).scenarios["fifo"]
    run = build_plan(settings_from({"policy": "fifo", "drop-window": "run"})).scenarios["fifo"]
    assert describe(plain) == describe(same) and "drop_window" not in describe(plain)
    assert describe(run)["drop_window"] == "run"


# -- option parsing --------------------------------------------------------------

@pytest.mark.parametrize("args,value", [
    (["--drop-window", "hour"], "'hour'"),
    (["--quantum-target", "ibm-last"], "'ibm-last'"),
    (["--fill-in", "closest"], "'closest'"),
    (["--traces", "2024-13"], "2024-13"),
])
def test_bad_options_are_one_line_errors(capsys, args, value):
    code, out, err = run_cli(capsys, "simulate", *args, "--seeds", "0", "--policy", "fifo")
    assert code == 2 and err.startswith("hqsched: error: ") and err.count("\n") == 1, err
    assert args[0] in err and value in err and "Traceback" not in err, err


def test_a_set_name_in_a_toml_file_is_a_name_not_a_path(tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_text('traces = "2024-09"\npolicy = "fifo"\n')
    assert build_plan(settings_from({}, str(toml))).scenarios["fifo"].traces_dir == "2024-09"
    toml.write_text('traces = "mine"\npolicy = "fifo"\n')  # a directory beside the file
    with pytest.raises(InputError, match=rf"{tmp_path / 'mine'} does not exist"):
        build_plan(settings_from({}, str(toml)))


def test_set_names():
    assert DEFAULT_TRACE_SET in TRACE_SETS and "2024-09" in TRACE_SETS
    assert load_traces(DEFAULT_TRACE_SET).columns.keys() == load_traces().columns.keys()


# -- the bundled study and its report ---------------------------------------------------

STUDY = """\
name = "paper-mini"
seeds = "0-1"
[fixed]
duration = "6h"
warmup = "1h"
iteration-scale = 0.1
interarrival = "120s"
quantum-computers = 1
[grid]
traces = ["2024-10", "2024-09"]
quantum-target = ["ibm-fastest", "ibm-last-row"]
drop-window = ["window", "run"]
policy = ["fifo", "fifo-swap", "lifo", "random", "weighted"]
"""


def test_bundled_study_paper_has_the_four_factors():
    from hqsched.experiments.campaign import bundled_studies
    doc = load_toml(bundled_studies()["paper"])
    assert doc["grid"] == {"traces": ["2024-10", "2024-09"],
                           "quantum-target": ["ibm-fastest", "ibm-last-row"],
                           "drop-window": ["window", "run"],
                           "policy": ["fifo", "fifo-swap", "lifo", "random", "weighted"]}


def test_paper_report_attributes_each_factor(tmp_path, capsys):
    study = tmp_path / "paper-mini.toml"
    study.write_text(STUDY)
    out = tmp_path / "res"
    assert main(["campaign", "run", str(study), "--out", str(out), "--quiet",
                 "--processes", "1"]) == 0
    assert main(["report", str(out), "--out", str(tmp_path / "rep")]) == 0
    capsys.readouterr()
    md = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    for text in ("## The paper's small scenario: hqsched against the reference semantics",
                 "| hqsched defaults |", "| reference semantics, 2024-09 traces |",
                 "| paper (Section IV-A, Fig. 10) | about 15%",
                 "## One factor at a time", "| trace set: 2024-10 -> 2024-09 | hqsched defaults |",
                 "| FIFO variant: fifo -> fifo-swap | reference, 2024-09 |",
                 "| drop window: window -> run |", "| quantum target: ibm-fastest -> ibm-last-row |",
                 "| all four factors |", "| sum of the four single changes |",
                 "## The paper's findings under both semantics"):
        assert text in md, text
    # The drop window changes no run: its effect on the job-time differences is exactly 0.
    row = next(line for line in md.splitlines()
               if line.startswith("| drop window: window -> run | hqsched defaults |"))
    assert row.count("| 0 [0, 0] |") == 1 and row.endswith("| 0 [0, 0] |"), row
