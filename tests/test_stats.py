"""Statistics across replications (MODEL.md, "Metrics": Monte Carlo mean and 95% CI)."""

import math

import numpy as np
import pandas as pd
import pytest

from hqsched.experiments.statistics import (
    breakdown,
    format_table,
    pooled_percentiles,
    summarize,
    t_interval,
    write_stats,
)
from hqsched.online.config import JOB_FIELDS, SUMMARY_FIELDS, ReplicationResult


def fake_result(seed: int, times: list[float], priorities: list[int], statuses: list[str],
                **summary: float) -> ReplicationResult:
    n = len(times)
    jobs = {
        "job_id": np.arange(n), "arrival_s": np.zeros(n),
        "completion_s": np.asarray(times, float), "job_time_s": np.asarray(times, float),
        "qubits": np.asarray([4 + 2 * (k % 2) for k in range(n)]),
        "priority": np.asarray(priorities), "iterations": np.ones(n, dtype=np.int64),
        "quantum_wait_s": np.zeros(n), "status": np.asarray(statuses),
    }
    assert tuple(jobs) == JOB_FIELDS
    full = {k: math.nan for k in SUMMARY_FIELDS}
    full.update(summary)
    return ReplicationResult(seed=seed, summary=full, jobs=jobs)


def test_t_interval_matches_a_hand_computed_student_interval():
    # x = 1..5: mean 3, s = sqrt(2.5), t(0.975, 4) = 2.7764451051977987
    # half width = 2.7764451051977987 * sqrt(2.5) / sqrt(5) = 1.9632432...
    mean, lo, hi, n = t_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    half = 2.7764451051977987 * math.sqrt(2.5) / math.sqrt(5)
    assert (mean, n) == (3.0, 5)
    assert lo == pytest.approx(3.0 - half, rel=1e-12)
    assert hi == pytest.approx(3.0 + half, rel=1e-12)
    assert half == pytest.approx(1.96324, abs=1e-5)


def test_one_value_gives_nan_interval_and_the_table_says_so():
    mean, lo, hi, n = t_interval([7.0])
    assert mean == 7.0 and n == 1 and math.isnan(lo) and math.isnan(hi)
    summary = summarize([fake_result(0, [1.0], [1], ["completed"], drop_probability=0.1)])
    text = format_table(summary)
    assert "n/a (needs >= 2 seeds)" in text and "one seed" in text


def test_nan_seeds_are_left_out_of_the_interval():
    assert t_interval([1.0, math.nan, 3.0])[3] == 2
    assert t_interval([math.nan])[3] == 0


def test_summary_has_one_row_per_metric_with_mean_ci_and_n():
    results = [fake_result(s, [10.0], [1], ["completed"], drop_probability=p)
               for s, p in enumerate([0.1, 0.2, 0.3])]
    summary = summarize(results)
    assert list(summary.columns) == ["mean", "ci_low", "ci_high", "n"]
    assert set(SUMMARY_FIELDS) <= set(summary.index)
    row = summary.loc["drop_probability"]
    assert row["mean"] == pytest.approx(0.2) and row["n"] == 3
    assert row["ci_low"] < 0.2 < row["ci_high"]


def test_pooled_percentiles_and_breakdowns_use_completed_jobs_only():
    a = fake_result(0, [10.0, 20.0, math.nan], [1, 2, 2], ["completed", "completed", "dropped"])
    b = fake_result(1, [30.0, 40.0, math.nan], [1, 2, 1], ["completed", "completed", "censored"])
    pct = pooled_percentiles([a, b], percentiles=(50,))
    assert pct["p50"] == pytest.approx(25.0)
    by_prio = breakdown([a, b], "priority")
    assert list(by_prio.index) == [1, 2]
    assert by_prio.loc[2, "arrived"] == 3 and by_prio.loc[2, "dropped"] == 1
    assert by_prio.loc[2, "drop_probability"] == pytest.approx(1 / 3)
    assert by_prio.loc[1, "censored"] == 1
    # priority 1 completed: 10 (seed 0), 30 (seed 1) -> per-seed means 10, 30
    assert by_prio.loc[1, "job_time_mean_s"] == pytest.approx(20.0)
    assert by_prio.loc[1, "n_seeds"] == 2
    assert set(breakdown([a, b], "qubits").index) == {4, 6}


def test_write_stats_writes_summary_and_replication_tables(tmp_path):
    results = [fake_result(s, [10.0 + s], [1], ["completed"], drop_probability=0.1 * s)
               for s in range(3)]
    write_stats(tmp_path, results)
    summary = pd.read_csv(tmp_path / "summary.csv", index_col="metric")
    assert list(summary.columns) == ["mean", "ci_low", "ci_high", "n"]
    reps = pd.read_csv(tmp_path / "replications.csv")
    assert list(reps["seed"]) == [0, 1, 2]
    assert (tmp_path / "by_qubits.csv").is_file() and (tmp_path / "by_priority.csv").is_file()
