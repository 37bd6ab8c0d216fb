"""Stochastic workload of the paper, built from a trace set.

A job with ``q`` qubits draws, independently and uniformly, one row each of
pre, cost_time (one classical iteration), post, num_iterations and exec_time
(one quantum iteration) among the traces' rows at ``q`` qubits. Classical
seconds become operations at ``OPS_PER_TRACE_SECOND``. Every iteration of
a job repeats its drawn classical work and quantum time.

Quantum times (``quantum_target``):

- ``"ibm-fastest"`` (default, as the paper): exec_time samples at ``q`` are
  rescaled by one factor so that their mean equals the fastest IBM backend's
  estimate at ``q``;
- ``"ibm:<backend>"``: the same with one named backend's estimate;
- ``"ibm-last-row"``: the same with the estimate file's *last row* at ``q``,
  whatever its backend: the reference simulator's rule (it reads the file
  into a map, one insert per row, so the last row wins); with the bundled
  file that is ``ibm_nazca``, slower than the fastest at 4 and 8 qubits;
- ``"measured"``: the exec_time samples as measured (a CPU simulator).

Gaps in the data (exec_time stops at 10 qubits; IBM has no estimate at 12,
16, 20, 24; the 2024-09 trace set stops at 10 qubits) are errors unless a
fill-in is asked for. ``fill_in="nearest"``: every value missing at ``q`` (the
rows of pre, cost_time, post, num_iterations and exec_time, the IBM
estimates) is taken from the nearest qubit count that has it, the larger on a
tie (``TraceSet.filled_nearest``); borrowed exec_time rows are still rescaled
to the target. ``fill_in="interpolate"``:

- a missing IBM target at ``q`` is linearly interpolated between the nearest
  qubit counts below and above that have one (never extrapolated);
- missing exec_time samples at ``q`` take the *shape* of the nearest measured
  qubit count (the larger one on a tie), rescaled to the target mean, so only
  the relative spread is borrowed. This needs an IBM target: with
  ``"measured"`` there is no mean to rescale to, and it stays an error.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from hqsched.errors import InputError
from hqsched.inputs import MAX_ITERATION_SCALE, MIN_GAP_S, MIN_ITERATION_SCALE

from .model import (
    MAX_ITERATIONS,
    MAX_PRIORITY,
    MAX_QUBITS,
    MAX_TIME_S,
    Job,
    constant_chain_job,
    require_int_in,
    require_number_in,
)
from .traces import OPS_PER_TRACE_SECOND, TraceSet, nearest_qubits

FILL_IN_CHOICES = ("none", "interpolate", "nearest")
#: The ``quantum_target`` values that are not ``ibm:<backend>``.
QUANTUM_TARGETS = ("ibm-fastest", "ibm-last-row", "measured")


@dataclass(frozen=True)
class QubitProfile:
    """Trace samples at one qubit count, in the simulator's units."""

    qubits: int
    pre_ops: np.ndarray
    iteration_ops: np.ndarray
    post_ops: np.ndarray
    iterations: np.ndarray
    quantum_s: np.ndarray
    #: How the quantum times were obtained, for reports ("measured", "ibm_torino", ...).
    quantum_source: str


def quantum_target_mean_s(traces: TraceSet, qubits: int, target: str, fill_in: str) -> float | None:
    """Target mean of one quantum iteration at ``qubits`` (seconds); None for ``"measured"``."""
    if target == "measured":
        return None
    estimates = _target_estimates(traces, target)
    exact = estimates.get(qubits)
    if exact is not None:
        return exact
    have = sorted(estimates)
    if fill_in != "interpolate":
        raise InputError(
            f"{traces.source}: ibm_job_estimate.csv has no estimate at n_qubits={qubits} "
            f"(available: {have}); pass fill_in='interpolate' (CLI: --fill-in interpolate) "
            f"to interpolate between neighbouring qubit counts, fill_in='nearest' to take the "
            f"nearest one's, or quantum_target='measured'")
    below = [q for q in have if q < qubits]
    above = [q for q in have if q > qubits]
    if not below or not above:
        raise InputError(
            f"{traces.source}: no IBM estimate at n_qubits={qubits} and it lies outside "
            f"{have}: interpolation does not extrapolate")
    lo, hi = below[-1], above[0]
    y_lo, y_hi = estimates[lo], estimates[hi]
    return y_lo + (y_hi - y_lo) * (qubits - lo) / (hi - lo)


def _target_estimates(traces: TraceSet, target: str) -> dict[int, float]:
    """IBM target mean per qubit count (s) under an ``ibm-*`` quantum target."""
    if target == "ibm-last-row":
        return dict(traces.ibm_last_row_s)
    backend = _backend_of(traces, target)
    out: dict[int, float] = {}
    for (q, b), seconds in traces.ibm_estimate_s.items():
        if backend is None or b == backend:
            out[q] = min(out.get(q, seconds), seconds)
    return out


def _backend_of(traces: TraceSet, target: str) -> str | None:
    if target == "ibm-fastest":
        return None
    if target.startswith("ibm:"):
        backend = target[4:]
        if backend not in traces.ibm_backends():
            raise InputError(f"quantum_target: unknown IBM backend {backend!r} "
                             f"(available: {traces.ibm_backends()})")
        return backend
    raise InputError(f"quantum_target must be 'ibm-fastest', 'ibm-last-row', 'ibm:<backend>' "
                     f"or 'measured', got {target!r}")


def qubit_profile(traces: TraceSet, qubits: int, quantum_target: str = "ibm-fastest",
                  fill_in: str = "none") -> QubitProfile:
    """Samples at ``qubits`` in simulator units, with quantum times rescaled as asked."""
    if fill_in not in FILL_IN_CHOICES:
        raise InputError(f"fill_in must be one of {FILL_IN_CHOICES}, got {fill_in!r}")
    measured = traces.qubits_with("exec_time")
    if fill_in == "nearest":
        traces = traces.filled_nearest(qubits)
    for name in ("pre", "cost_time", "post", "num_iterations"):
        traces.values(name, qubits)  # a qubit count the set lacks: refused first, by name
    target = quantum_target_mean_s(traces, qubits, quantum_target, fill_in)
    measured_at = qubits
    if qubits not in traces.columns["exec_time"]:
        have = traces.qubits_with("exec_time")
        if fill_in != "interpolate" or target is None:
            hint = ("pass fill_in='interpolate' (CLI: --fill-in interpolate) with an IBM "
                    "quantum target to borrow the nearest measured shape"
                    if fill_in != "interpolate" else
                    "fill-in needs an IBM quantum target to rescale to")
            raise InputError(f"{traces.source}: exec_time.csv has no quantum times at "
                             f"n_qubits={qubits} (available: {have}); {hint}")
        measured_at = min(have, key=lambda q: (abs(q - qubits), -q))
    exec_s = traces.values("exec_time", measured_at)
    quantum = exec_s if target is None else exec_s * (target / float(np.mean(exec_s)))
    if not 0 < float(quantum.min()) <= float(quantum.max()) <= MAX_TIME_S:
        raise InputError(f"{traces.source}: quantum times at n_qubits={qubits} rescaled to "
                         f"{quantum_target} leave (0, {MAX_TIME_S:g}] s "
                         f"(from {float(quantum.min()):g} to {float(quantum.max()):g})")
    source = "measured" if target is None else quantum_target
    if measured_at != qubits:
        source += f" (shape of {measured_at} qubits)"
    elif qubits not in measured:
        source += f" (rows of {nearest_qubits(measured, qubits)} qubits)"
    return QubitProfile(
        qubits=qubits,
        pre_ops=traces.values("pre", qubits) * OPS_PER_TRACE_SECOND,
        iteration_ops=traces.values("cost_time", qubits) * OPS_PER_TRACE_SECOND,
        post_ops=traces.values("post", qubits) * OPS_PER_TRACE_SECOND,
        iterations=traces.values("num_iterations", qubits).astype(np.int64),
        quantum_s=quantum,
        quantum_source=source,
    )


@dataclass(frozen=True)
class WorkloadSpec:
    """The paper's stochastic workload: Poisson arrivals, uniform qubits and priorities."""

    interarrival_s: float
    qubits: tuple[int, ...] = (4, 6, 8, 10)
    priorities: tuple[int, ...] = (1,)
    quantum_target: str = "ibm-fastest"
    fill_in: str = "none"
    #: Scale every job's iteration count by this factor (rounded, at least 1);
    #: 1.0 is the paper's workload. Used to build small instances.
    iteration_scale: float = 1.0

    def __post_init__(self) -> None:
        require_number_in("workload", "interarrival_s", self.interarrival_s, MIN_GAP_S, MAX_TIME_S)
        for name, high in (("qubits", MAX_QUBITS), ("priorities", MAX_PRIORITY)):
            values = getattr(self, name)
            if not values:
                raise InputError(f"workload: {name} must not be empty")
            for v in values:
                require_int_in("workload", name, v, 1, high)
        require_number_in("workload", "iteration_scale", self.iteration_scale,
                          MIN_ITERATION_SCALE, MAX_ITERATION_SCALE)


class JobSampler:
    """Draws jobs of a ``WorkloadSpec`` from a trace set.

    Draw order per job (fixed, so a seed reproduces the same jobs): qubit
    count, priority, then the row indices of pre, cost_time, post,
    num_iterations and exec_time, all from the one generator passed in.
    """

    def __init__(self, traces: TraceSet, spec: WorkloadSpec) -> None:
        self.spec = spec
        self.profiles = {q: qubit_profile(traces, q, spec.quantum_target, spec.fill_in)
                         for q in spec.qubits}
        self._qubits = np.asarray(spec.qubits)
        self._priorities = np.asarray(spec.priorities)
        for q, p in self.profiles.items():
            longest = int(p.iterations.max()) * spec.iteration_scale
            if round(longest) > MAX_ITERATIONS:
                raise InputError(f"workload: iteration_scale {spec.iteration_scale:g} gives jobs "
                                 f"of {longest:.3g} iterations at {q} qubits; at most "
                                 f"{MAX_ITERATIONS} (MAX_ITERATIONS)")
        # Row counts per qubit count, as the array rng.integers draws against.
        self._sizes = {q: np.asarray([len(p.pre_ops), len(p.iteration_ops), len(p.post_ops),
                                      len(p.iterations), len(p.quantum_s)], dtype=np.int64)
                       for q, p in self.profiles.items()}

    def sample(self, rng: np.random.Generator, job_id: int, arrival_s: float) -> Job:
        q, w, c = self.draw_job(rng)
        return constant_chain_job(job_id, float(arrival_s), q, w, c.pre_ops, c.iteration_ops,
                                  c.quantum_s, c.post_ops, c.iterations)

    def sample_attributes(self, rng: np.random.Generator, job_id: int, arrival_s: float,
                          qubits: int, priority: int) -> Job:
        """A job of given qubits and priority whose chain is drawn from the traces."""
        c = self.draw_chain(rng, qubits, where=f"job {job_id}")
        return constant_chain_job(job_id, float(arrival_s), qubits, priority, c.pre_ops,
                                  c.iteration_ops, c.quantum_s, c.post_ops, c.iterations)

    def draw_chain(self, rng: np.random.Generator, qubits: int, where: str = "job") -> ChainDraw:
        """One job's chain at ``qubits``: the five trace rows, drawn in the documented order."""
        p = self.profiles.get(qubits)
        if p is None:
            raise InputError(f"{where}: qubits={qubits} is not in the workload's "
                             f"qubit set {sorted(self.profiles)}")
        i_pre, i_it, i_post, i_n, i_q = rng.integers(0, self._sizes[qubits]).tolist()
        n = int(p.iterations[i_n])
        if self.spec.iteration_scale != 1.0:
            n = max(1, round(n * self.spec.iteration_scale))
        return ChainDraw(float(p.pre_ops[i_pre]), float(p.iteration_ops[i_it]),
                         float(p.quantum_s[i_q]), float(p.post_ops[i_post]), n)

    def draw_job(self, rng: np.random.Generator) -> tuple[int, int, ChainDraw]:
        """(qubits, priority, chain) of one job, drawn in the documented order."""
        q = int(self._qubits[rng.integers(len(self._qubits))])
        w = int(self._priorities[rng.integers(len(self._priorities))])
        return q, w, self.draw_chain(rng, q)


class ChainDraw(NamedTuple):
    """A constant chain drawn from the traces: per-iteration values repeat ``iterations`` times."""

    pre_ops: float
    iteration_ops: float
    quantum_s: float
    post_ops: float
    iterations: int


def poisson_draws(sampler: JobSampler, rng: np.random.Generator,
                  until_s: float) -> Iterator[tuple[float, int, int, ChainDraw]]:
    """(arrival_s, qubits, priority, chain) of Poisson arrivals of mean gap ``interarrival_s``
    before ``until_s``; the compact form a simulator consumes (no per-iteration tuples)."""
    t = 0.0
    mean_gap = sampler.spec.interarrival_s
    while True:
        t += rng.exponential(mean_gap)
        if t >= until_s:
            return
        yield (t, *sampler.draw_job(rng))


def poisson_jobs(sampler: JobSampler, rng: np.random.Generator, until_s: float,
                 first_job_id: int = 0) -> Iterator[Job]:
    """The jobs of ``poisson_draws`` as ``Job`` objects, ids from ``first_job_id``.

    Lazy: jobs are drawn as they are consumed.
    """
    for job_id, (t, q, w, c) in enumerate(poisson_draws(sampler, rng, until_s), start=first_job_id):
        yield constant_chain_job(job_id, t, q, w, c.pre_ops, c.iteration_ops, c.quantum_s,
                                 c.post_ops, c.iterations)


def sample_jobs(sampler: JobSampler, rng: np.random.Generator, count: int,
                arrivals_s: Sequence[float] | None = None) -> list[Job]:
    """``count`` jobs, at the given arrival times or at Poisson arrivals from 0."""
    if arrivals_s is None:
        gaps = [rng.exponential(sampler.spec.interarrival_s) for _ in range(count)]
        arrivals_s = list(np.cumsum(gaps))
    return [sampler.sample(rng, i, float(t)) for i, t in enumerate(arrivals_s[:count])]
