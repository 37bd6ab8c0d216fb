"""The simulator as textbook queues (validation/queueing.py) and ``hqsched validate``."""

import argparse
import csv
import math
from dataclasses import replace

import numpy as np
import pytest

from hqsched.cli import validate as cli
from hqsched.instances.model import Platform
from hqsched.instances.streams import stream
from hqsched.instances.synthetic import Distribution, SyntheticWorkload
from hqsched.online.config import SimulationConfig
from hqsched.online.engine import simulate
from hqsched.validation.queueing import (
    Estimate,
    erlang_c,
    estimate,
    finalize,
    mg1_ps_mean_response_s,
    mm1_response_moments,
    mmc_mean_wait_s,
    mmc_wait_check,
    mmck_blocking,
    validate,
    verdict,
)

# --- closed forms against values worked by hand ----------------------------------


def test_erlang_c_with_one_server_is_the_load():
    assert erlang_c(1, 0.7) == pytest.approx(0.7)


def test_erlang_c_with_two_servers_matches_the_formula():
    """c = 2, a = 1: C = (a^2/2 / (1 - 1/2)) / (1 + a + a^2/2 / (1/2)) = 1/3."""
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)


def test_mm1_mean_wait_is_rho_over_mu_minus_lambda():
    assert mmc_mean_wait_s(1, 0.6, 1.0) == pytest.approx(0.6 / 0.4)


def test_mm1_fifo_response_is_exponential_with_rate_mu_minus_lambda():
    mean, var = mm1_response_moments(0.6, 1.0, "fifo")
    assert mean == pytest.approx(1 / 0.4) and var == pytest.approx(1 / 0.4 ** 2)


def test_mm1_response_variances_are_ordered_fifo_random_lifo_with_equal_means():
    moments = [mm1_response_moments(0.8, 1.0, p) for p in ("fifo", "random", "lifo")]
    assert moments[0][0] == moments[1][0] == moments[2][0]
    assert moments[0][1] < moments[1][1] < moments[2][1]


def test_ps_mean_response_is_mean_service_over_one_minus_rho():
    assert mg1_ps_mean_response_s(0.5, 1.2) == pytest.approx(1.2 / 0.4)


def test_mm1k_blocking_matches_the_geometric_formula():
    """c = 1: p_K = (1 - rho) rho^K / (1 - rho^(K+1))."""
    rho, K = 0.9, 4
    assert mmck_blocking(1, K, rho, 1.0) == pytest.approx((1 - rho) * rho ** K / (1 - rho ** (K + 1)))


def test_fifo_quantum_waits_follow_lindleys_recursion_job_by_job():
    """M/M/1 at rho = 0.9 as the simulator runs it: W_{n+1} = max(0, W_n + S_n - A_{n+1} + A_n)."""
    workload = SyntheticWorkload(1 / 0.9, quantum_s=Distribution.exponential(1.0))
    config = SimulationConfig(Platform(1, 1.0, 1), duration_s=3000.0, workload=workload)
    result = simulate(config, 5)
    jobs = list(workload.jobs(stream(5, "workload"), config.duration_s))
    waits = [0.0]
    for prev, job in zip(jobs, jobs[1:]):
        waits.append(max(0.0, waits[-1] + prev.quantum_s[0] - (job.arrival_s - prev.arrival_s)))
    done = result.jobs["status"] == "completed"
    ids = result.jobs["job_id"][done].astype(int)
    assert done.sum() > 2000
    assert result.jobs["quantum_wait_s"][done] == pytest.approx(np.asarray(waits)[ids], abs=1e-9)


# --- the quick subset: the simulator agrees with every closed form ---------------------


@pytest.fixture(scope="module")
def quick_records():
    return validate(quick=True, seeds=8)


@pytest.mark.parametrize("name", ["M/M/c Erlang-C wait", "M/M/1 fifo response", "M/M/1 random response",
                                  "M/M/1 lifo response", "M/M/1 Var fifo < Var random",
                                  "M/M/1 Var random < Var lifo", "M/G/1-PS response", "M/M/c/K drops",
                                  "Little's law"])
def test_quick_check_passes(quick_records, name):
    records = [r for r in quick_records if r.name == name]
    assert records, f"no {name} record"
    for r in records:
        assert r.passed, r
        assert r.replications == 8 and r.ci_low <= r.simulated <= r.ci_high


def test_each_record_shows_its_95_percent_interval_and_verdict_level(quick_records):
    k = len(quick_records)
    assert all(r.verdict_level == pytest.approx(1 - 0.05 / k) for r in quick_records)


# --- negative controls: a check can fail ------------------------------------------------


@pytest.fixture(scope="module")
def mm1_wait_estimate():
    return estimate([mmc_wait_check(1, 0.6, 4000)], list(range(8)))[0]


def test_check_fails_against_a_wrong_theory_value(mm1_wait_estimate):
    """E[Wq] = 1.5 s at rho = 0.6; 20% off is far outside the interval."""
    assert verdict(mm1_wait_estimate).passed
    assert not verdict(replace(mm1_wait_estimate, theory=1.2 * mm1_wait_estimate.theory)).passed


def test_check_fails_when_the_simulated_queue_is_not_the_one_of_the_theory():
    """M/D/1 waits half as long as M/M/1 (Pollaczek-Khinchine): the Erlang-C check must fail."""
    check = mmc_wait_check(1, 0.6, 4000, service=Distribution.deterministic(1.0))
    (record,) = finalize(estimate([check], list(range(8))))
    assert not record.passed
    assert record.simulated == pytest.approx(0.75, rel=0.1)


def test_ordering_check_fails_when_the_difference_is_not_positive():
    values = (-0.5, 0.2, -0.1, -0.3, 0.1, -0.4)
    assert not verdict(Estimate("order", "", "diff", values, 0.0, criterion="positive")).passed


def test_bonferroni_widens_the_verdict_interval_with_the_number_of_checks():
    e = Estimate("x", "", "m", (1.0, 1.2, 0.9, 1.1, 1.05), 1.3)
    alone, = finalize([e])
    many = finalize([e] * 20)
    assert many[0].verdict_level > alone.verdict_level == pytest.approx(0.95)


# --- hqsched validate ---------------------------------------------------------------------


def parser():
    p = argparse.ArgumentParser(prog="hqsched")
    cli.register(p.add_subparsers(dest="command", required=True))
    return p


def test_validate_prints_the_table_writes_csv_and_exits_zero_when_all_pass(quick_records, monkeypatch,
                                                                            tmp_path, capsys):
    calls = []
    monkeypatch.setattr(cli, "validate", lambda **kw: calls.append(kw) or quick_records)
    ns = parser().parse_args(["validate", "--quick", "--seeds", "n=8", "--out", str(tmp_path)])
    assert ns.func(ns) == 0
    assert calls == [{"quick": True, "seeds": tuple(range(8)), "processes": None,
                      "bonferroni": True, "force_progress": False}]
    out = capsys.readouterr().out
    assert "M/M/c Erlang-C wait" in out and f"{len(quick_records)}/{len(quick_records)} passed" in out
    with open(tmp_path / cli.CSV_NAME) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(quick_records)
    assert {"name", "simulated", "ci_low", "ci_high", "theory", "passed", "replications"} <= set(rows[0])


def test_validate_exits_nonzero_when_a_check_fails(quick_records, monkeypatch, capsys):
    failing = [replace(quick_records[0], passed=False), *quick_records[1:]]
    monkeypatch.setattr(cli, "validate", lambda **kw: failing)
    ns = parser().parse_args(["validate", "--quick"])
    assert ns.func(ns) == 1
    assert "FAIL" in capsys.readouterr().out


def test_validate_refuses_fewer_than_two_seeds(capsys):
    for one_seed in ("1", "n=1", "5"):  # a bare integer is one seed, as in every command
        with pytest.raises(SystemExit):
            parser().parse_args(["validate", "--seeds", one_seed])
        assert "at least 2 seeds" in capsys.readouterr().err


def test_validate_takes_a_seed_list_like_every_command(monkeypatch):
    calls = []
    monkeypatch.setattr(cli, "validate", lambda **kw: calls.append(kw) or [])
    ns = parser().parse_args(["validate", "--quick", "--seeds", "0-3,7"])
    ns.func(ns)
    assert calls[0]["seeds"] == (0, 1, 2, 3, 7)


@pytest.mark.slow
def test_full_suite_passes():
    records = validate(quick=False)
    assert len(records) >= 40
    assert all(r.passed for r in records), [r for r in records if not r.passed]
    assert all(math.isfinite(r.ci_low) for r in records)
