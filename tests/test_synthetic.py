"""Synthetic workloads: named distributions with exact moments, jobs drawn from them."""

import math

import numpy as np
import pytest

from hqsched.errors import InputError
from hqsched.instances.model import Instance, Platform
from hqsched.instances.synthetic import Distribution, SyntheticWorkload
from hqsched.online.config import SimulationConfig
from hqsched.online.engine import simulate

D = Distribution

#: (distribution, exact mean, exact variance), moments worked by hand.
MOMENTS = [
    (D.deterministic(2.5), 2.5, 0.0),
    (D.exponential(2.0), 2.0, 4.0),
    (D.uniform(1.0, 4.0), 2.5, 9 / 12),
    (D.erlang(4, 2.0), 2.0, 1.0),
    (D.lognormal(3.0, 0.5), 3.0, 2.25),
    (D.hyperexponential(1.0, 2.0), 1.0, 4.0),
    (D.geometric(4.0), 4.0, 12.0),
    (D.poisson(3.0), 3.0, 3.0),
    (D.uniform_int(1, 6), 3.5, 35 / 12),
]


@pytest.mark.parametrize("dist,mean,var", MOMENTS, ids=lambda x: getattr(x, "name", None))
def test_exact_moments_match_the_textbook_values(dist, mean, var):
    assert dist.mean() == pytest.approx(mean)
    assert dist.variance() == pytest.approx(var)


@pytest.mark.parametrize("dist,mean,var", MOMENTS, ids=lambda x: getattr(x, "name", None))
def test_sample_mean_and_variance_match_the_exact_moments(dist, mean, var):
    """400k draws: the mean within 5 standard errors, the variance within 4%
    (the hyperexponential's fourth moment makes its sample variance the noisiest)."""
    x = dist.sample(np.random.default_rng(2024), 400_000)
    assert abs(x.mean() - mean) <= 5 * math.sqrt(var / x.size) + 1e-12
    assert x.var(ddof=1) == pytest.approx(var, rel=0.04, abs=1e-12)


def test_hyperexponential_with_cv_one_is_the_exponential():
    h = D.hyperexponential(2.0, 1.0)
    x = h.sample(np.random.default_rng(1), 200_000)
    assert h.variance() == D.exponential(2.0).variance()
    assert np.mean(x > 2.0) == pytest.approx(math.exp(-1), abs=0.005)


def test_same_generator_state_gives_the_same_draws():
    dist = D.lognormal(1.0, 1.5)
    assert np.array_equal(dist.sample(np.random.default_rng(7), 100),
                          dist.sample(np.random.default_rng(7), 100))


def test_discrete_distributions_are_the_only_ones_fit_for_iteration_counts():
    assert D.poisson(2.0).discrete and D.geometric(2.0).discrete and D.uniform_int(0, 3).discrete
    assert D.deterministic(3).discrete
    assert not D.deterministic(2.5).discrete and not D.exponential(1.0).discrete


@pytest.mark.parametrize("make,match", [
    (lambda: D("pareto", {"alpha": 2.0}), "unknown distribution 'pareto'"),
    (lambda: D("exponential", {"rate": 1.0}), r"exponential takes parameters \['mean'\]"),
    (lambda: D.exponential(-1.0), "exponential mean must be > 0, got -1.0"),
    (lambda: D.exponential(math.nan), "exponential mean must be a finite number, got nan"),
    (lambda: D.deterministic(-0.5), "deterministic value must be >= 0, got -0.5"),
    (lambda: D.uniform(3.0, 2.0), r"uniform high must be > low \(3.0\), got 2.0"),
    (lambda: D.erlang(2.5, 1.0), "erlang k must be an integer >= 1, got 2.5"),
    (lambda: D.lognormal(1.0, 0.0), "lognormal cv must be > 0"),
    (lambda: D.hyperexponential(1.0, 0.5), "hyperexponential cv must be >= 1"),
    (lambda: D.geometric(0.5), "geometric mean must be >= 1"),
    (lambda: D.uniform_int(0, 2.5), "uniform_int high must be an integer, got 2.5"),
])
def test_bad_distribution_parameters_are_refused_naming_field_and_value(make, match):
    with pytest.raises(InputError, match=match):
        make()


@pytest.mark.parametrize("kwargs,match", [
    ({"interarrival_s": 0.0}, "interarrival_s must be a positive number, got 0.0"),
    ({"interarrival_s": 1.0, "iterations": -1}, "iterations must be an integer >= 0, got -1"),
    ({"interarrival_s": 1.0, "iterations": D.exponential(3.0)},
     r"iterations must be an integer or a discrete distribution .* got exponential\(mean=3\)"),
    ({"interarrival_s": 1.0, "quantum_s": 0.0}, "quantum_s must be > 0 s"),
    ({"interarrival_s": 1.0, "pre_ops": -2.0}, "pre_ops: deterministic value must be >= 0, got -2.0"),
    ({"interarrival_s": 1.0, "post_ops": "big"}, "post_ops must be a Distribution or a number"),
    ({"interarrival_s": 1.0, "qubits": ()}, "qubits must not be empty"),
    ({"interarrival_s": 1.0, "priorities": (1, 0)}, "priorities must be positive integers, got 0"),
])
def test_bad_workload_parameters_are_refused_naming_field_and_value(kwargs, match):
    with pytest.raises(InputError, match=match):
        SyntheticWorkload(**kwargs)


WORKLOAD = SyntheticWorkload(2.0, iterations=D.uniform_int(0, 4), pre_ops=D.exponential(3.0),
                             iteration_ops=D.uniform(1.0, 2.0), quantum_s=D.erlang(2, 0.5),
                             post_ops=1.5, qubits=(4, 8), priorities=(1, 2, 4))


def test_jobs_are_a_deterministic_function_of_the_generator():
    a = list(WORKLOAD.jobs(np.random.default_rng(3), 500.0))
    b = list(WORKLOAD.jobs(np.random.default_rng(3), 500.0))
    c = list(WORKLOAD.jobs(np.random.default_rng(4), 500.0))
    assert a == b and a != c


def test_arrivals_are_poisson_with_the_mean_gap_and_stop_before_the_horizon():
    """Over 20 000 s at mean gap 2 s: 10 000 expected arrivals, sd 100."""
    jobs = list(WORKLOAD.jobs(np.random.default_rng(5), 20_000.0))
    arrivals = np.asarray([j.arrival_s for j in jobs])
    assert abs(len(jobs) - 10_000) < 400
    assert np.all(np.diff(arrivals) > 0) and arrivals[-1] < 20_000.0
    gaps = np.diff(arrivals)
    assert np.std(gaps) / np.mean(gaps) == pytest.approx(1.0, abs=0.05)  # exponential: cv 1
    assert [j.job_id for j in jobs] == list(range(len(jobs)))


def test_every_iteration_draws_its_own_values():
    jobs = list(WORKLOAD.jobs(np.random.default_rng(6), 200.0))
    long_job = next(j for j in jobs if j.iterations >= 3)
    assert len(set(long_job.quantum_s)) == long_job.iterations
    assert len(set(long_job.iteration_ops)) == long_job.iterations


def test_drawn_chains_follow_the_workload_distributions():
    jobs = list(WORKLOAD.jobs(np.random.default_rng(8), 40_000.0))
    quantum = np.concatenate([j.quantum_s for j in jobs])
    assert np.mean([j.iterations for j in jobs]) == pytest.approx(2.0, abs=0.05)
    assert quantum.mean() == pytest.approx(0.5, rel=0.02)
    assert np.mean([j.pre_ops for j in jobs]) == pytest.approx(3.0, rel=0.03)
    assert {j.post_ops for j in jobs} == {1.5}
    assert {j.qubits for j in jobs} == {4, 8} and {j.priority for j in jobs} == {1, 2, 4}


def test_jobs_are_drawn_lazily_so_an_unbounded_horizon_is_fine():
    source = WORKLOAD.jobs(np.random.default_rng(9), math.inf)
    first = [next(source) for _ in range(3000)]  # spans several draw blocks
    assert [j.job_id for j in first] == list(range(3000))


def test_instance_holds_the_first_n_jobs_of_the_stream():
    inst = WORKLOAD.instance(np.random.default_rng(10), 50)
    stream_jobs = WORKLOAD.jobs(np.random.default_rng(10), math.inf)
    assert isinstance(inst, Instance) and len(inst) == 50
    assert list(inst.jobs) == [next(stream_jobs) for _ in range(50)]


def test_simulator_runs_a_synthetic_workload_reproducibly_by_seed():
    config = SimulationConfig(Platform(4, 4.0, 2), duration_s=2000.0, workload=WORKLOAD)
    a, b = simulate(config, 1), simulate(config, 1)
    assert a.summary == b.summary
    assert abs(a.summary["arrived"] - 1000) < 150


def test_zero_work_classical_tasks_take_no_time():
    """One 2 s quantum task between zero-op classical tasks: job time = quantum wait + 2 s."""
    workload = SyntheticWorkload(100.0, quantum_s=2.0)
    config = SimulationConfig(Platform(1, 1.0, 1), duration_s=20_000.0, workload=workload)
    result = simulate(config, 0)
    done = result.jobs["status"] == "completed"
    assert done.sum() > 100
    assert result.jobs["job_time_s"][done] == pytest.approx(result.jobs["quantum_wait_s"][done] + 2.0,
                                                            abs=1e-9)
