"""Replications over seeds: process-count independence, atomic per-seed files, resume."""

import math
import sys

import numpy as np
import pytest
from conftest import tree_bytes

import hqsched.experiments.replications as runner
from hqsched.cli import main
from hqsched.experiments.results_store import ResultStore
from hqsched.instances.model import Platform
from hqsched.instances.workload import WorkloadSpec
from hqsched.online.config import SimulationConfig

# A short, light scenario: 1 simulated day, iterations scaled down 20x.
FAST = ["--duration", "1d", "--warmup", "2h", "--iteration-scale", "0.05", "--policy", "weighted"]


def fast_config(policy: str = "weighted") -> SimulationConfig:
    return SimulationConfig(
        platform=Platform(1, 1e9, 4, 40, 40), policy=policy, duration_s=86400.0, warmup_s=7200.0,
        workload=WorkloadSpec(600.0, (4, 6, 8, 10), (1, 2, 4), iteration_scale=0.05))


def test_output_files_are_bit_identical_with_one_or_two_processes(tmp_path, capsys):
    for procs in ("1", "2"):
        assert main(["simulate", *FAST, "--seeds", "0-2", "--processes", procs,
                     "--out", str(tmp_path / procs)]) == 0
    one, two = tree_bytes(tmp_path / "1"), tree_bytes(tmp_path / "2")
    assert "jobs/seed-000002.csv" in one and "replications/seed-000000.json" in one
    assert one == two


def test_results_loaded_from_disk_equal_the_computed_ones(tmp_path):
    computed = runner.run_replications(fast_config(), [3, 4], tmp_path, processes=1,
                                       progress=False)
    loaded = runner.run_replications(fast_config(), [3, 4], tmp_path, processes=1,
                                     progress=False)
    for a, b in zip(computed, loaded):
        assert a.seed == b.seed
        assert a.summary.keys() == b.summary.keys()
        for k in a.summary:  # bit-identical, NaN included
            assert np.array_equal(a.summary[k], b.summary[k], equal_nan=True), k
        for k, col in a.jobs.items():
            if col.dtype.kind == "f":
                assert np.array_equal(col, b.jobs[k], equal_nan=True), k
            else:
                assert col.tolist() == b.jobs[k].tolist(), k


def test_rerun_recomputes_only_the_missing_replication(tmp_path, monkeypatch, capsys):
    args = ["simulate", *FAST, "--seeds", "0-2", "--processes", "1", "--out", str(tmp_path)]
    assert main(args) == 0
    before = tree_bytes(tmp_path)
    (tmp_path / "replications" / "seed-000001.json").unlink()

    ran = []
    real = runner.run_one
    monkeypatch.setattr(runner, "run_one",
                        lambda sc, seed, sink=None, **kw: ran.append(seed) or real(sc, seed, sink, **kw))
    assert main(args) == 0
    assert ran == [1]
    assert tree_bytes(tmp_path) == before


def test_a_different_scenario_in_the_same_directory_is_refused(tmp_path, capsys):
    assert main(["simulate", *FAST, "--seeds", "0", "--processes", "1",
                 "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    code = main(["simulate", *FAST, "--seeds", "0", "--processes", "1", "--quantum-computers",
                 "2", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("hqsched: error: --out") and "quantum_computers" in err
    assert "--overwrite" in err
    assert main(["simulate", *FAST, "--seeds", "0", "--processes", "1", "--quantum-computers",
                 "2", "--out", str(tmp_path), "--overwrite"]) == 0


def test_several_policies_get_one_subdirectory_each(tmp_path, capsys):
    assert main(["simulate", *FAST[:-2], "--policy", "fifo,lifo", "--seeds", "0",
                 "--processes", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "policy fifo" in out and "policy lifo" in out
    assert (tmp_path / "fifo" / "summary.csv").is_file()
    assert (tmp_path / "lifo" / "replications" / "seed-000000.json").is_file()


def test_an_orphan_table_without_its_summary_counts_as_not_done(tmp_path):
    store = ResultStore(tmp_path)
    store.save("seed-000000", {"x": 1.0, "y": math.nan},
               {"a": np.array([1.5, math.nan]), "s": np.array(["completed", "dropped"])})
    assert store.has("seed-000000")
    summary, table = store.load("seed-000000")
    assert summary["x"] == 1.0 and math.isnan(summary["y"])
    assert table["s"].tolist() == ["completed", "dropped"]
    store.summary_path("seed-000000").unlink()
    assert not store.has("seed-000000")


def test_parquet_without_pyarrow_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow -> ImportError
    code = main(["simulate", *FAST, "--seeds", "0", "--format", "parquet",
                 "--out", str(tmp_path)])
    assert code == 2
    assert "pyarrow" in capsys.readouterr().err


def test_parquet_output_holds_the_same_records_as_csv(tmp_path, capsys):
    """--format parquet writes the per-job tables as Parquet and reads them back exactly."""
    pytest.importorskip("pyarrow")
    for fmt in ("csv", "parquet"):
        assert main(["simulate", *FAST, "--seeds", "0", "--processes", "1", "--format", fmt,
                     "--out", str(tmp_path / fmt)]) == 0
    _, csv_table = ResultStore(tmp_path / "csv", "csv").load("seed-000000")
    _, pq_table = ResultStore(tmp_path / "parquet", "parquet").load("seed-000000")
    assert (tmp_path / "parquet" / "jobs" / "seed-000000.parquet").is_file()
    assert csv_table.keys() == pq_table.keys()
    for name, column in csv_table.items():
        assert np.array_equal(column, pq_table[name], equal_nan=column.dtype.kind == "f"), name


def test_seeds_must_be_distinct_non_negative_integers():
    with pytest.raises(ValueError, match="distinct"):
        runner.run_replications(fast_config(), [1, 1], None, processes=1, progress=False)
