"""The QC fleet's data model (instances/fleet.py, Platform.qc_groups): validation, and the
time factors from IBM's per-backend estimates (docs/platform-features.md section 1)."""

from __future__ import annotations

import math

import pytest

from hqsched.errors import InputError
from hqsched.instances.fleet import check_eligible, time_factors
from hqsched.instances.model import Platform, QCGroup
from hqsched.instances.traces import load_traces


def test_a_fleet_sets_the_platform_qc_count_to_the_sum_of_its_groups():
    platform = Platform(qc_groups=(QCGroup("a", 2, 27), QCGroup("b", 3, speed=0.5)))
    assert platform.quantum_computers == 5
    assert Platform(quantum_computers=5, qc_groups=platform.qc_groups).quantum_computers == 5
    with pytest.raises(InputError, match="quantum_computers=4 differs from the QC groups' total 5"):
        Platform(quantum_computers=4, qc_groups=platform.qc_groups)


@pytest.mark.parametrize("group, message", [
    (dict(name="", count=1), "name must be a non-empty word"),
    (dict(name="a,b", count=1), "name must be a non-empty word"),
    (dict(name="a", count=-1), "count must be an integer from 0"),
    (dict(name="a", count=1, qubits=0), "qubits must be an integer from 1"),
    (dict(name="a", count=1, speed=0.0), "speed must be a number in"),
    (dict(name="a", count=1, speed=math.nan), "speed must be a number in"),
    (dict(name="a", count=1, cost_per_hour=-1.0), "cost_per_hour must be a number in"),
    (dict(name="a", count=1, backend="ibm_torino", speed=2.0), "a backend or a speed, not both"),
])
def test_a_bad_group_is_refused_in_one_line(group, message):
    with pytest.raises(InputError, match=message) as error:
        QCGroup(**group)
    assert "\n" not in str(error.value)


def test_a_fleet_needs_unique_names_and_at_least_one_qc():
    with pytest.raises(InputError, match="'a' appears twice"):
        Platform(qc_groups=(QCGroup("a", 1), QCGroup("a", 2)))
    with pytest.raises(InputError, match="hold no QC"):
        Platform(qc_groups=(QCGroup("a", 0), QCGroup("b", 0)))


def test_eligibility_names_the_task_no_group_can_run():
    groups = (QCGroup("small", 2, 7), QCGroup("mid", 1, 27), QCGroup("none", 0, 127))
    check_eligible(groups, [4, 7, 27], "workload")
    with pytest.raises(InputError, match="no QC group can run a 30-qubit task "
                                         r"\(largest: mid with 27 qubits\)"):
        check_eligible(groups, [4, 30], "workload")
    check_eligible((), [10**6], "workload")  # identical QCs: no limit


def test_time_factors_are_backend_estimates_over_the_fastest_backend_at_each_qubit_count():
    estimates = load_traces().ibm_estimate_s
    groups = (QCGroup("t", 1, backend="ibm_torino"), QCGroup("b", 1, backend="ibm_brussels"),
              QCGroup("plain", 1, speed=4.0))
    factors = time_factors(groups, [4, 90], estimates)
    for i, q in enumerate([4, 90]):
        fastest = min(s for (qq, _), s in estimates.items() if qq == q)
        assert factors[0, i] == estimates[(q, "ibm_torino")] / fastest
        assert factors[1, i] == estimates[(q, "ibm_brussels")] / fastest
        assert min(factors[0, i], factors[1, i]) >= 1.0
        assert factors[2, i] == 0.25
    # Hand-checked from ibm_job_estimate.csv: at 4 qubits brussels (3.94 s) is the fastest,
    # torino 6.62 s; at 90 qubits torino (11.46 s) is the fastest.
    assert factors[1, 0] == 1.0 and factors[0, 1] == 1.0
    assert factors[0, 0] == pytest.approx(6.62146348835684 / 3.942829668406166)


def test_a_backend_without_an_estimate_is_refused_with_what_exists():
    estimates = load_traces().ibm_estimate_s
    with pytest.raises(InputError, match="has no estimate at n_qubits=12"):
        time_factors((QCGroup("t", 1, backend="ibm_torino"),), [12], estimates)
    with pytest.raises(InputError, match="unknown backend 'ibm_x'"):
        time_factors((QCGroup("t", 1, backend="ibm_x"),), [4], estimates)
