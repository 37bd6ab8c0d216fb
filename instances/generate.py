"""Small offline instances drawn from the bundled traces (MODEL.md, "Instance").

A job's qubits, priority, pre/iteration/post work and quantum time are drawn
exactly as ``hqsched.instances.workload.JobSampler`` draws them (same
generator, same draw order); only the iteration count is replaced by the
fixed ``iterations`` asked for, because the traces' counts (hundreds to
thousands) make instances far too large for an exact solver.

Optional time grid (``grid_s``): every task duration is rounded *up* to a
positive multiple of ``grid_s`` (a classical task's work is set to
``k * grid_s * S`` so that work / S lies on the grid). This changes the
problem: every duration only grows, so the optimum of the gridded instance
is an upper bound on (never equal to, in general) the optimum of the
ungridded one. It exists for time-indexed models and hand-checkable cases.
"""

from __future__ import annotations

import math

import numpy as np

from hqsched.errors import InputError
from hqsched.inputs import (
    MAX_INSTANCE_TASKS,
    require_nonnegative_int,
    require_positive_int,
    require_positive_number,
)
from hqsched.instances.model import Instance, Job, constant_chain_job
from hqsched.instances.streams import stream
from hqsched.instances.traces import TraceSet, load_traces
from hqsched.instances.workload import JobSampler, WorkloadSpec


def small_instance(jobs: int, iterations: int, qubits: tuple[int, ...], seed: int,
                   interarrival_s: float, priorities: tuple[int, ...] = (1,),
                   grid_s: float | None = None, traces: TraceSet | None = None,
                   worker_capacity_ops_per_s: float = 1e9) -> Instance:
    """``jobs`` jobs of exactly ``iterations`` iterations, Poisson arrivals of
    mean gap ``interarrival_s`` (s).

    Deterministic in ``seed`` (stream ``"instance"``). ``worker_capacity_ops_per_s``
    (S) only matters with ``grid_s``: the grid applies to durations work / S.
    """
    require_positive_int(jobs, "instance", "jobs")
    require_nonnegative_int(iterations, "instance", "iterations")
    if jobs * (2 * iterations + 2) > MAX_INSTANCE_TASKS:
        raise InputError(f"instance: {jobs} jobs x {2 * iterations + 2} tasks is more than "
                         f"{MAX_INSTANCE_TASKS} tasks (MAX_INSTANCE_TASKS)")
    if grid_s is not None:
        require_positive_number(grid_s, "instance", "grid_s")
    require_positive_number(worker_capacity_ops_per_s, "instance", "worker_capacity_ops_per_s")
    spec = WorkloadSpec(interarrival_s=interarrival_s, qubits=tuple(qubits),
                        priorities=tuple(priorities))
    sampler = JobSampler(traces if traces is not None else load_traces(), spec)
    rng = stream(seed, "instance")
    # Arrivals first, then jobs, as workload.sample_jobs does, so the same seed
    # gives the same arrival times whatever the iteration count.
    arrivals = np.cumsum([rng.exponential(interarrival_s) for _ in range(jobs)])
    out = []
    for job_id, t in enumerate(arrivals):
        drawn = sampler.sample(rng, job_id, float(t))
        job = constant_chain_job(job_id, drawn.arrival_s, drawn.qubits, drawn.priority,
                                 drawn.pre_ops, drawn.iteration_ops[0] if drawn.iterations else 0.0,
                                 drawn.quantum_s[0] if drawn.iterations else 1.0,
                                 drawn.post_ops, iterations)
        if grid_s is not None:
            job = _on_grid(job, grid_s, worker_capacity_ops_per_s)
        out.append(job)
    meta = {"generator": "hqsched.instances.generate.small_instance", "seed": seed,
            "jobs": jobs, "iterations": iterations, "qubits": list(qubits),
            "priorities": list(priorities), "interarrival_s": interarrival_s,
            "grid_s": grid_s, "worker_capacity_ops_per_s": worker_capacity_ops_per_s}
    return Instance(tuple(out), name=f"small-{jobs}x{iterations}-seed{seed}", meta=meta)


def _up(duration_s: float, grid_s: float) -> float:
    """Smallest positive multiple of ``grid_s`` that is >= ``duration_s``."""
    # The 1e-12 guard keeps a duration already on the grid (up to float noise) in place.
    return max(1, math.ceil(duration_s / grid_s - 1e-12)) * grid_s


def _on_grid(job: Job, grid_s: float, s: float) -> Job:
    return Job(job.job_id, job.arrival_s, job.qubits, job.priority,
               _up(job.pre_ops / s, grid_s) * s,
               tuple(_up(w / s, grid_s) * s for w in job.iteration_ops),
               tuple(_up(q, grid_s) for q in job.quantum_s),
               _up(job.post_ops / s, grid_s) * s)
