"""Queueing checks of the platform features (validation/queueing_features.py).

Three layers: the theory against hand-worked special cases; the theory
against a small standalone simulation of the same queue written here (no
hqsched simulator code: a cross-check of the derivations); and the
simulators (the compiled kernel, the SimPy model) against the theory.
"""

import math
from dataclasses import replace

import numpy as np
import pytest

from hqsched.experiments.statistics import t_interval
from hqsched.instances.synthetic import Distribution
from hqsched.validation import queueing_features as features
from hqsched.validation.queueing import erlang_c, mm1_response_moments, mmc_mean_wait_s, mmck_blocking
from hqsched.validation.queueing_features import (
    QUICK_SEEDS,
    cold_start_check,
    eligible_fleet_check,
    eligible_fleet_stationary,
    estimate_features,
    finalize,
    fleet_check,
    fleet_fcfs_stationary,
    hetero_mm2,
    keep_alive_mg1,
    preference_order,
    quick_feature_checks,
    session_check,
    session_hold_moments,
    session_mg1,
    validate_features,
)

EXP1 = Distribution.exponential(1.0)

# --- theory against special cases worked by hand ------------------------------------------


@pytest.mark.parametrize("lam, mu1, mu2", [(0.5, 2.0, 1.0), (1.8, 2.0, 1.0), (2.9, 1.0, 2.0),
                                           (3.5, 3.0, 1.0), (0.1, 1.0, 0.1)])
def test_two_server_closed_form_equals_the_general_fleet_solver(lam, mu1, mu2):
    a, b = hetero_mm2(lam, mu1, mu2), fleet_fcfs_stationary(lam, [mu1, mu2])
    assert a.mean_in_system == pytest.approx(b.mean_in_system, rel=1e-12)
    assert a.mean_wait_s == pytest.approx(b.mean_wait_s, rel=1e-12)
    assert a.p_wait == pytest.approx(b.p_wait, rel=1e-12)
    assert a.utilization == pytest.approx(b.utilization, rel=1e-12)


@pytest.mark.parametrize("c, a", [(1, 0.7), (2, 1.0), (4, 3.2), (6, 2.0)])
def test_identical_servers_give_erlang_c(c, a):
    fleet = fleet_fcfs_stationary(a, [1.0] * c)
    assert fleet.p_wait == pytest.approx(erlang_c(c, a), rel=1e-12)
    assert fleet.mean_wait_s == pytest.approx(mmc_mean_wait_s(c, a, 1.0), rel=1e-12)
    assert fleet.mean_response_s == pytest.approx(mmc_mean_wait_s(c, a, 1.0) + 1.0, rel=1e-12)


def test_fleet_throughput_is_the_arrival_rate_and_equal_servers_fill_in_order():
    """lambda = sum_j mu_j U_j (flow balance); of equal servers the preferred is busier."""
    rates = [3.0, 1.0, 0.5]
    fleet = fleet_fcfs_stationary(2.5, rates)
    assert sum(m * u for m, u in zip(rates, fleet.utilization)) == pytest.approx(2.5, rel=1e-12)
    equal = fleet_fcfs_stationary(1.5, [1.0, 1.0, 1.0]).utilization
    assert equal[0] > equal[1] > equal[2] and sum(equal) == pytest.approx(1.5, rel=1e-12)


def test_two_server_light_load_limit_uses_the_preferred_server_only():
    """lambda -> 0: almost every job finds both free and runs on server 1, E[T] -> 1/mu_1."""
    fleet = hetero_mm2(1e-6, 4.0, 1.0)
    assert fleet.mean_response_s == pytest.approx(0.25, rel=1e-5)
    assert fleet.utilization[1] < 1e-9


def test_preference_orders_of_the_routings():
    speeds, qubits = (1.0, 3.0, 2.0), (20, 10, 5)
    assert preference_order(speeds, None, "fastest") == [1, 2, 0]
    assert preference_order(speeds, qubits, "smallest") == [2, 1, 0]
    assert preference_order(speeds, None, "smallest") == [1, 2, 0]  # no caps: by speed
    assert preference_order(speeds, None, "lowest") == [0, 1, 2]


def test_eligibility_chain_reduces_to_the_fleet_and_to_mm1k():
    """All tasks small: the two-QC fleet (either preference); all big: M/M/1/(1 + Q_max)."""
    for small_first, order in ((False, [2.0, 1.0]), (True, [1.0, 2.0])):
        chain = eligible_fleet_stationary(1.8, 1.0, 2.0, 1.0, small_first, 60)
        fleet = fleet_fcfs_stationary(1.8, order)
        assert chain.mean_response_s == pytest.approx(fleet.mean_response_s, rel=1e-9)
        assert sorted(chain.utilization) == pytest.approx(sorted(fleet.utilization), rel=1e-9)
    big_only = eligible_fleet_stationary(0.8, 0.0, 1.0, 1.0, True, 4)
    assert big_only.p_drop == pytest.approx(mmck_blocking(1, 5, 0.8, 1.0), rel=1e-9)
    assert big_only.utilization == pytest.approx((0.8 * (1 - big_only.p_drop), 0.0))


def test_eligibility_chain_refuses_a_huge_state_space():
    with pytest.raises(ValueError, match="states"):
        eligible_fleet_stationary(1.0, 0.5, 1.0, 1.0, True, 40)


def test_keep_alive_without_cold_latency_is_mg1():
    """D = 0: the instance is an M/G/1 queue, E[W] = P-K, cold iff the idle period > T."""
    lam, T = 0.6, 1.5
    k = keep_alive_mg1(lam, EXP1, T, 0.0)
    assert k.p_idle == pytest.approx(0.4)
    assert k.p_cold == pytest.approx(0.4 * math.exp(-lam * T))
    assert k.pre_wait_s == pytest.approx(mm1_response_moments(lam, 1.0, "fifo")[0] - 1.0)
    # pre sojourn 1/(mu - lambda) = 2.5 s, and the post waits for L = 1.5 pre tasks of 1 s.
    assert k.job_time_s == pytest.approx(2.5 + 1.5)


def test_keep_alive_zero_service_limit_is_the_memoryless_cold_probability():
    """X -> 0: every arrival finds the instance idle unless it is cold-starting, and is
    cold iff the gap since the last task exceeds T: P(cold) = q / (1 + lambda q L)."""
    lam, T, L = 2.0, 0.7, 0.4
    q = math.exp(-lam * T)
    k = keep_alive_mg1(lam, Distribution.deterministic(0.0), T, L)
    assert k.p_cold == pytest.approx(q / (1 + lam * q * L))
    assert keep_alive_mg1(lam, Distribution.deterministic(0.0), T, 0.0).p_cold == pytest.approx(q)


def test_keep_alive_forever_never_cold_and_always_one_instance():
    k = keep_alive_mg1(0.5, EXP1, 1e9, 3.0)
    assert k.p_cold == 0.0 and k.avg_instances == 1.0


def test_session_of_one_iteration_is_the_mm1_queue_plus_the_step():
    lam, d = 0.7, 0.3
    s = session_mg1(lam, 1, EXP1, d)
    assert s.wait_s == pytest.approx(mmc_mean_wait_s(1, lam, 1.0))
    assert s.job_time_s == pytest.approx(d + 1 / (1 - lam))
    assert s.reserved_idle_rate == 0.0


def test_session_hold_moments_by_hand():
    """n = 2, q ~ Exp(1), d = 0.5: H = q1 + 0.5 + q2, E[H] = 2.5, Var H = 2."""
    assert session_hold_moments(2, EXP1, 0.5) == pytest.approx((2.5, 2 + 2.5 ** 2))
    with pytest.raises(ValueError):
        session_hold_moments(Distribution.poisson(2.0), EXP1, 0.5)  # zero iterations possible


def test_theory_refuses_an_unstable_queue():
    with pytest.raises(ValueError):
        fleet_fcfs_stationary(3.0, [2.0, 1.0])
    with pytest.raises(ValueError):
        keep_alive_mg1(1.0, EXP1, 1.0, 1.0)
    with pytest.raises(ValueError):
        session_mg1(0.25, 2, EXP1, 2.0)  # E[H] = 4 s


# --- the theory against standalone simulations of the same queues ---------------------------


def fleet_sim(lam, rates, jobs, rng):
    """FCFS, one queue, a job finding servers free takes the first free in ``rates``' order.
    Returns (mean response, mean wait, per-server utilisation) over all jobs."""
    arrivals = np.cumsum(rng.exponential(1 / lam, jobs))
    work = rng.exponential(1.0, jobs)
    free = [0.0] * len(rates)
    busy = [0.0] * len(rates)
    times, waits = np.empty(jobs), np.empty(jobs)
    for i, (a, w) in enumerate(zip(arrivals, work)):
        idle = [j for j, f in enumerate(free) if f <= a]
        j = idle[0] if idle else min(range(len(free)), key=free.__getitem__)
        start = max(a, free[j])
        free[j] = start + w / rates[j]
        busy[j] += w / rates[j]
        times[i], waits[i] = free[j] - a, start - a
    horizon = arrivals[-1]
    return times.mean(), waits.mean(), [b / horizon for b in busy]


def eligible_sim(lam, p_small, mu_big, mu_small, small_first, max_pending, jobs, rng):
    """Big QC (0) and small QC (1), FIFO picking among eligible pending tasks, admission
    Q_max. Returns (P(drop), mean response of accepted, utilisations)."""
    t, busy_until, area = 0.0, [math.inf, math.inf], [0.0, 0.0]
    queue: list[tuple[float, bool]] = []  # pending tasks: (arrival, small?)
    times: list[float] = []
    dropped = 0
    next_arrival = rng.exponential(1 / lam)
    running = [math.nan, math.nan]  # arrival time of the task on each QC (NaN: idle)
    mus = (mu_big, mu_small)
    for _ in range(jobs):
        while min(busy_until) <= next_arrival:  # QC ends before the next arrival
            qc = int(np.argmin(busy_until))
            t = busy_until[qc]
            times.append(t - running[qc])
            pick = next((i for i, (_, small) in enumerate(queue) if qc == 0 or small), None)
            if pick is None:
                busy_until[qc], running[qc] = math.inf, math.nan
            else:
                running[qc] = queue.pop(pick)[0]
                work = rng.exponential(1 / mus[qc])
                busy_until[qc], area[qc] = t + work, area[qc] + work
        t = next_arrival
        next_arrival = t + rng.exponential(1 / lam)
        small = rng.random() < p_small
        if len(queue) >= max_pending:
            dropped += 1
            continue
        free = [qc for qc in ((1, 0) if small_first else (0, 1))
                if math.isnan(running[qc]) and (qc == 0 or small)]
        if free:
            work = rng.exponential(1 / mus[free[0]])
            running[free[0]], busy_until[free[0]] = t, t + work
            area[free[0]] += work
        else:
            queue.append((t, small))
    return dropped / jobs, float(np.mean(times)), [a / t for a in area]


def keep_alive_sim(lam, service, keep_alive, latency, extra, jobs, rng):
    """One instance, FIFO; a zero-work post task queues behind the pre tasks waiting when
    its pre task ends. Returns (P(cold), avg instances, mean job time, instance wait/job)."""
    arrivals = np.cumsum(rng.exponential(1 / lam, jobs))
    work = service.sample(rng, jobs)
    ends, starts = np.empty(jobs), np.empty(jobs)
    cold = np.zeros(jobs, dtype=bool)
    free, dead_time = -math.inf, 0.0
    for i, (a, x) in enumerate(zip(arrivals, work)):
        if a >= free:  # instance idle since ``free`` (or never started)
            cold[i] = a - free > keep_alive
            dead_time += max(0.0, a - free - keep_alive) if i else 0.0
        start = max(a, free) + (latency if cold[i] else 0.0)
        starts[i], free = start, start + x + (extra if cold[i] else 0.0)
        ends[i] = free
    # The post ends with the last pre task that arrived before its own pre task ended.
    last = np.searchsorted(arrivals, ends, side="left") - 1
    post_end = ends[np.maximum(last, np.arange(jobs))]
    job_time = post_end - arrivals
    horizon = arrivals[-1] - arrivals[0]
    return (cold[1:].mean(), 1 - dead_time / horizon, job_time.mean(),
            (starts - arrivals + post_end - ends).mean())


def session_sim(lam, n, d, jobs, rng):
    """Lindley's recursion for the sessions' M/G/1 queue: mean wait of the first task."""
    gaps = rng.exponential(1 / lam, jobs)
    hold = rng.exponential(1.0, (jobs, n)).sum(axis=1) + (n - 1) * d
    wait, total = 0.0, 0.0
    for i in range(1, jobs):
        wait = max(0.0, wait + hold[i - 1] - gaps[i])
        total += wait
    return total / (jobs - 1)


def covers(values, theory, confidence=0.999):
    mean, low, high, _ = t_interval(values, confidence)
    return low <= theory <= high, (mean, low, high, theory)


SEEDS = range(8)


def test_fleet_theory_matches_a_standalone_simulation():
    lam, rates = 1.8, [2.0, 1.0]
    for order in (rates, rates[::-1]):  # fastest first, then slowest first
        theory = fleet_fcfs_stationary(lam, order)
        runs = [fleet_sim(lam, order, 20_000, np.random.default_rng(s)) for s in SEEDS]
        for got, want in ((0, theory.mean_response_s), (1, theory.mean_wait_s)):
            ok, info = covers([r[got] for r in runs], want)
            assert ok, (order, got, info)
        for j in range(2):
            ok, info = covers([r[2][j] for r in runs], theory.utilization[j])
            assert ok, (order, j, info)


@pytest.mark.parametrize("small_first", [True, False])
def test_eligibility_theory_matches_a_standalone_simulation(small_first):
    theory = eligible_fleet_stationary(2.4, 0.5, 2.0, 1.0, small_first, 6)
    runs = [eligible_sim(2.4, 0.5, 2.0, 1.0, small_first, 6, 10_000,
                         np.random.default_rng(400 + s)) for s in SEEDS]
    for k, want in ((0, theory.p_drop), (1, theory.mean_response_s)):
        ok, info = covers([r[k] for r in runs], want)
        assert ok, (k, info)
    for j in range(2):
        ok, info = covers([r[2][j] for r in runs], theory.utilization[j])
        assert ok, (j, info)


def test_three_server_fleet_theory_matches_a_standalone_simulation():
    lam, rates = 2.8, [2.0, 1.0, 0.5]
    theory = fleet_fcfs_stationary(lam, rates)
    runs = [fleet_sim(lam, rates, 20_000, np.random.default_rng(100 + s)) for s in SEEDS]
    ok, info = covers([r[0] for r in runs], theory.mean_response_s)
    assert ok, info
    for j in range(3):
        ok, info = covers([r[2][j] for r in runs], theory.utilization[j])
        assert ok, (j, info)


@pytest.mark.parametrize("lam, service, keep_alive, latency, extra", [
    (0.5, EXP1, 1.0, 0.5, 0.0),
    (0.6, Distribution.deterministic(1.0), 0.5, 0.3, 0.4),
    (0.3, Distribution.hyperexponential(1.0, 2.0), 2.0, 2.0, 0.0),
])
def test_keep_alive_theory_matches_a_standalone_simulation(lam, service, keep_alive, latency, extra):
    theory = keep_alive_mg1(lam, service, keep_alive, latency, extra)
    runs = [keep_alive_sim(lam, service, keep_alive, latency, extra, 40_000,
                           np.random.default_rng(200 + s)) for s in SEEDS]
    wanted = (theory.p_cold, theory.avg_instances, theory.job_time_s,
              theory.instance_wait_per_job_s)
    for k, want in enumerate(wanted):
        ok, info = covers([r[k] for r in runs], want)
        assert ok, (k, info)


def test_session_theory_matches_a_standalone_simulation():
    n, d = 3, 0.5
    lam = 0.6 / session_hold_moments(n, EXP1, d)[0]
    theory = session_mg1(lam, n, EXP1, d)
    runs = [session_sim(lam, n, d, 40_000, np.random.default_rng(300 + s)) for s in SEEDS]
    ok, info = covers(runs, theory.wait_s)
    assert ok, info


def test_standalone_check_tells_the_routings_apart():
    """Control: the slow-first theory is outside the fastest-first simulation's interval."""
    lam = 1.8
    runs = [fleet_sim(lam, [2.0, 1.0], 20_000, np.random.default_rng(s)) for s in SEEDS]
    ok, _ = covers([r[0] for r in runs], fleet_fcfs_stationary(lam, [1.0, 2.0]).mean_response_s)
    assert not ok


# --- the simulators against the theory --------------------------------------------------------


@pytest.fixture(scope="module")
def quick_estimates():
    return estimate_features(quick_feature_checks(), list(range(QUICK_SEEDS)))


@pytest.fixture(scope="module")
def quick_records(quick_estimates):
    return finalize(quick_estimates)


@pytest.mark.parametrize("name", ["Fleet FCFS", "Fleet eligibility", "Keep-alive cold starts",
                                  "Sessions M/G/1"])
def test_quick_feature_check_passes(quick_records, name):
    records = [r for r in quick_records if r.name == name]
    assert records, f"no {name} record"
    for r in records:
        assert r.passed, r
        assert r.replications == QUICK_SEEDS


def test_validate_features_runs_the_quick_suite_on_the_seeds_asked(quick_estimates, quick_records,
                                                                   monkeypatch):
    calls = []

    def fake(checks, seeds, processes, engine):
        calls.append(([c.parameters for c in checks], seeds, engine))
        return quick_estimates

    monkeypatch.setattr(features, "estimate_features", fake)
    assert validate_features(quick=True) == quick_records
    assert calls == [([c.parameters for c in quick_feature_checks()], list(range(QUICK_SEEDS)),
                      "kernel")]
    with pytest.raises(ValueError):
        validate_features(quick=True, seeds=1)


def one_estimate(estimates, params_start, metric):
    (e,) = [e for e in estimates if e.parameters.startswith(params_start) and e.metric == metric]
    return e


def test_fleet_check_fails_against_the_other_routings_theory(quick_estimates):
    """The simulated fastest-first fleet (slow QC numbered first) is not the slowest-first
    queue that following the numbering would give (E[T] 7% apart)."""
    right = one_estimate(quick_estimates, "speeds=1/2 fastest", "E[T] (s)")
    wrong_theory = fleet_fcfs_stationary(1.8, [1.0, 2.0]).mean_response_s
    assert finalize([right])[0].passed
    assert not finalize([replace(right, theory=wrong_theory)])[0].passed


def test_cold_start_check_fails_against_another_keep_alives_theory(quick_estimates):
    """Simulated at keep-alive 1 s, P(cold) = 0.26; at 2 s theory says 0.16."""
    right = one_estimate(quick_estimates, "rho=0.5", "P(cold)")
    wrong_theory = keep_alive_mg1(0.5, EXP1, 2.0, 0.5).p_cold
    assert finalize([right])[0].passed
    assert not finalize([replace(right, theory=wrong_theory)])[0].passed


def test_session_check_fails_against_the_queue_without_sessions_holding(quick_estimates):
    """Theory that ignored the QC held during classical steps (H without (n - 1) d)."""
    right = one_estimate(quick_estimates, "rho=0.6 n=3", "E[Wq] (s)")
    lam = 0.6 / session_hold_moments(3, EXP1, 0.5)[0]
    wrong_theory = session_mg1(lam, 3, EXP1, 0.0).wait_s
    assert finalize([right])[0].passed
    assert not finalize([replace(right, theory=wrong_theory)])[0].passed


@pytest.mark.slow
def test_full_feature_suite_passes():
    records = validate_features(quick=False)
    assert len(records) >= 50
    assert all(r.passed for r in records), [r for r in records if not r.passed]


@pytest.mark.slow
def test_simpy_model_passes_the_quick_feature_checks():
    records = finalize(estimate_features(
        [fleet_check((1.0, 2.0), 0.6, "fastest", 2000), cold_start_check(0.5, 1.0, 0.5, 2000),
         eligible_fleet_check((2.0, 1.0), 0.8, "smallest", 2000, 6),
         session_check(0.6, 3, 0.5, 2000)], list(range(8)), engine="simpy"))
    assert all(r.passed for r in records), [r for r in records if not r.passed]


def test_validate_features_runs_the_quick_checks_from_the_command_line(capsys, tmp_path):
    from hqsched.cli import main
    code = main(["validate", "--features", "--quick", "--seeds", "n=4", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "Fleet FCFS" in out and "Keep-alive cold starts" in out and "Sessions M/G/1" in out
    assert code == (0 if "FAIL" not in out else 1)
    assert (tmp_path / "validation.csv").read_text().count("\n") == 22  # header + 21 checks
