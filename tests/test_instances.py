"""The data model, traces and workload generator (MODEL.md, "Job" and "Workloads")."""

import json
import math

import numpy as np
import pytest

from hqsched.errors import InputError
from hqsched.instances.io import read_instance, read_job_csv, write_instance
from hqsched.instances.model import Instance, Job, Platform, TaskKind, constant_chain_job
from hqsched.instances.streams import stream
from hqsched.instances.traces import load_traces
from hqsched.instances.workload import JobSampler, WorkloadSpec, poisson_jobs, qubit_profile


@pytest.fixture(scope="module")
def traces():
    return load_traces()


def test_chain_has_2n_plus_2_tasks_alternating_classical_and_quantum():
    job = Job(0, 0.0, 4, 1, 10.0, (1.0, 2.0), (3.0, 4.0), 5.0)
    kinds = [t.kind for t in job.tasks()]
    assert kinds == [TaskKind.CLASSICAL, TaskKind.CLASSICAL, TaskKind.QUANTUM,
                     TaskKind.CLASSICAL, TaskKind.QUANTUM, TaskKind.CLASSICAL]
    assert [t.work for t in job.tasks()] == [10.0, 1.0, 3.0, 2.0, 4.0, 5.0]


def test_classical_duration_is_work_over_capacity_quantum_duration_is_seconds():
    job = constant_chain_job(0, 0.0, 4, 1, 2e9, 1e9, 7.0, 1e9, iterations=1)
    assert job.task(0).duration_s(1e9) == 2.0
    assert job.task(2).duration_s(1e9) == 7.0


@pytest.mark.parametrize("field,value", [("quantum_s", (0.0,)), ("quantum_s", (math.nan,)),
                                         ("iteration_ops", (-1.0,))])
def test_bad_chain_values_are_refused_naming_the_field(field, value):
    kwargs = dict(job_id=3, arrival_s=0.0, qubits=4, priority=1, pre_ops=1.0,
                  iteration_ops=(1.0,), quantum_s=(1.0,), post_ops=1.0)
    kwargs[field] = value
    with pytest.raises(InputError, match=rf"job 3: {field}\[0\]"):
        Job(**kwargs)


@pytest.mark.parametrize("field,value", [("classical_workers", 0), ("quantum_computers", -1),
                                         ("worker_capacity_ops_per_s", 0.0), ("max_quantum", 0)])
def test_non_positive_capacities_are_refused(field, value):
    with pytest.raises(InputError, match=field):
        Platform(**{field: value})


def test_fastest_ibm_target_rescales_mean_quantum_time(traces):
    profile = qubit_profile(traces, 4)
    assert profile.quantum_s.mean() == pytest.approx(min(
        s for (q, _), s in traces.ibm_estimate_s.items() if q == 4))


def test_missing_qubit_count_is_an_error_that_names_the_gap(traces):
    with pytest.raises(InputError, match=r"n_qubits=12.*--fill-in interpolate"):
        qubit_profile(traces, 12)
    with pytest.raises(InputError, match=r"exec_time.csv has no quantum times at n_qubits=14"):
        qubit_profile(traces, 14)


def test_interpolate_fill_in_is_linear_between_neighbouring_estimates(traces):
    at10, at14 = (traces.fastest_ibm_estimate_s(q) for q in (10, 14))
    profile = qubit_profile(traces, 12, fill_in="interpolate")
    assert profile.quantum_s.mean() == pytest.approx((at10 + at14) / 2)
    assert "shape of 10 qubits" in profile.quantum_source


def test_same_seed_gives_same_jobs(traces):
    sampler = JobSampler(traces, WorkloadSpec(600, priorities=(1, 2, 4)))
    a = list(poisson_jobs(sampler, stream(5, "workload"), 86400))
    b = list(poisson_jobs(sampler, stream(5, "workload"), 86400))
    assert a == b and len(a) > 100


def test_json_instance_round_trips(tmp_path, traces):
    sampler = JobSampler(traces, WorkloadSpec(600))
    jobs = list(poisson_jobs(sampler, stream(1, "workload"), 3000))
    jobs.append(Job(99, 5.0, 6, 2, 1.0, (1.0, 2.0), (3.0, 4.5), 0.0))
    inst = Instance(tuple(jobs), name="x")
    write_instance(inst, tmp_path / "i.json")
    assert read_instance(tmp_path / "i.json") == inst


def test_malformed_instance_names_file_job_and_field(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"format": "hqsched-instance", "version": 1, "jobs": [
        {"job_id": 0, "arrival_s": 0, "qubits": 4, "priority": 1, "pre_ops": 1,
         "iteration_ops": [1], "quantum_s": [-2], "post_ops": 1}]}))
    with pytest.raises(InputError, match=r"bad.json: jobs\[0\]: job 0: quantum_s\[0\] must be"):
        read_instance(path)


def test_job_csv_draws_missing_chains_from_traces(tmp_path, traces):
    sampler = JobSampler(traces, WorkloadSpec(600, qubits=(4, 6)))
    path = tmp_path / "jobs.csv"
    path.write_text("arrival_s,qubits,priority\n0,4,1\n10.5,6,2\n")
    inst = read_job_csv(path, sampler.sample_attributes, np.random.default_rng(0))
    assert [(j.arrival_s, j.qubits, j.priority) for j in inst.jobs] == [(0.0, 4, 1), (10.5, 6, 2)]
    assert all(j.iterations > 0 for j in inst.jobs)


def test_job_csv_negative_value_is_refused_with_line_and_field(tmp_path):
    path = tmp_path / "jobs.csv"
    path.write_text("arrival_s,qubits,priority,pre_ops,iteration_ops,quantum_s,post_ops,iterations\n"
                    "0,4,1,1,1,-3,1,2\n")
    with pytest.raises(InputError,
                       match=r"jobs.csv:2: job 0: quantum_s must be a number in \(0, 1e\+09\], got -3.0$"):
        read_job_csv(path)


def test_trace_directory_with_negative_value_is_refused(tmp_path, traces):
    import shutil

    from hqsched.instances.traces import bundled_trace_dir
    for f in bundled_trace_dir().glob("*.csv"):
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "pre.csv").write_text("n_qubits,pre\n4,1.0\n4,-2.5\n")
    with pytest.raises(InputError, match=r"pre.csv:3: pre must be >= 0, got '-2.5'"):
        load_traces(tmp_path)
