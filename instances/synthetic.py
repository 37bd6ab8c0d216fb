"""Synthetic workloads: task chains drawn from named distributions, not traces.

The textbook counterpart of ``hqsched.instances.workload``: Poisson
arrivals, and every job's iteration count, pre/iteration/post classical work
(operations) and quantum iteration times (seconds) drawn from a
``Distribution`` with exact mean and variance, so the simulator can be
configured as a queue with a closed form (see ``hqsched.validation.queueing``).

Unlike the trace workload, *every* iteration draws its own classical work and
quantum time (independent and identically distributed within and across
jobs).

Distributions (``Distribution(name, params)``, or the constructors below);
``m`` = mean, ``c`` = coefficient of variation (sd / mean):

=================  ======================  ==================  ==================
name               params                  mean                variance
=================  ======================  ==================  ==================
deterministic      value >= 0              value               0
exponential        mean > 0                m                   m^2
uniform            0 <= low < high         (low + high) / 2    (high - low)^2 / 12
erlang             k >= 1 (int), mean > 0  m                   m^2 / k
lognormal          mean > 0, cv > 0        m                   (c m)^2
hyperexponential   mean > 0, cv >= 1       m                   (c m)^2
geometric          mean >= 1               m                   m (m - 1)
poisson            mean > 0                m                   m
uniform_int        0 <= low <= high (int)  (low + high) / 2    ((high-low+1)^2 - 1) / 12
=================  ======================  ==================  ==================

- lognormal: ``log X ~ Normal(mu, s^2)`` with ``s^2 = ln(1 + c^2)``,
  ``mu = ln m - s^2 / 2``.
- hyperexponential: two exponential phases with *balanced means*
  (``p1 / mu1 = p2 / mu2``), the usual two-moment fit:
  ``p1 = (1 + sqrt((c^2 - 1) / (c^2 + 1))) / 2``, ``mu_i = 2 p_i / m``
  (Whitt 1982, "Approximating a point process by a renewal process").
  ``cv = 1`` is the exponential.
- geometric: number of Bernoulli(1/m) trials up to the first success, on
  ``{1, 2, ...}``; poisson and uniform_int (inclusive) on ``{0, 1, ...}``.
  These three and an integer ``deterministic`` are *discrete*: only they may
  give iteration counts.

Draw order (fixed, so one generator reproduces the same jobs): jobs are drawn
in blocks of ``BLOCK`` — per block the inter-arrival gaps, the iteration
counts, pre work, post work, qubit and priority indices (one vector each),
then all the block's iteration work and quantum times (one vector each).
One numpy call per vector keeps a job's cost to building the ``Job``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

from hqsched.errors import InputError
from hqsched.inputs import require_nonnegative_int, require_positive_number

from .model import MAX_PRIORITY, MAX_QUBITS, Instance, Job

#: Jobs drawn per block (one numpy call per attribute per block).
BLOCK = 1024

#: Smallest positive quantum time (s): a draw of exactly 0 (probability ~2^-53
#: for the continuous laws) is lifted here, since a quantum task must take > 0 s.
_TINY_S = np.finfo(float).tiny

_PARAMS: dict[str, tuple[str, ...]] = {
    "deterministic": ("value",),
    "exponential": ("mean",),
    "uniform": ("low", "high"),
    "erlang": ("k", "mean"),
    "lognormal": ("mean", "cv"),
    "hyperexponential": ("mean", "cv"),
    "geometric": ("mean",),
    "poisson": ("mean",),
    "uniform_int": ("low", "high"),
}
DISTRIBUTIONS = tuple(_PARAMS)
_DISCRETE = ("geometric", "poisson", "uniform_int")


@dataclass(frozen=True)
class Distribution:
    """A named distribution on ``[0, inf)`` with exact moments.

    ``params`` maps parameter names to numbers (see the module table); it is
    stored as a sorted tuple of pairs so the object is hashable and
    JSON-describable. ``where`` names the field in error messages.
    """

    name: str
    params: tuple[tuple[str, float], ...] | Mapping[str, float] = ()
    where: str = field(default="distribution", compare=False, repr=False)

    def __post_init__(self) -> None:
        where = self.where
        if self.name not in _PARAMS:
            raise InputError(f"{where}: unknown distribution {self.name!r} "
                             f"(choose from {', '.join(DISTRIBUTIONS)})")
        given = dict(self.params)
        need = _PARAMS[self.name]
        if set(given) != set(need):
            raise InputError(f"{where}: {self.name} takes parameters {list(need)}, "
                             f"got {sorted(given)}")
        for key, value in given.items():
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                    or not math.isfinite(value):
                raise InputError(f"{where}: {self.name} {key} must be a finite number, got {value!r}")
        object.__setattr__(self, "params", tuple((k, given[k]) for k in need))
        self._check(where, given)

    def _check(self, where: str, p: dict[str, float]) -> None:
        def bad(key: str, rule: str) -> InputError:
            return InputError(f"{where}: {self.name} {key} must be {rule}, got {p[key]!r}")

        n = self.name
        if n == "deterministic" and p["value"] < 0:
            raise bad("value", ">= 0")
        if n in ("exponential", "erlang", "lognormal", "hyperexponential", "poisson") and p["mean"] <= 0:
            raise bad("mean", "> 0")
        if n == "geometric" and p["mean"] < 1:
            raise bad("mean", ">= 1 (it counts trials up to the first success)")
        if n == "erlang" and (p["k"] != int(p["k"]) or p["k"] < 1):
            raise bad("k", "an integer >= 1")
        if n == "lognormal" and p["cv"] <= 0:
            raise bad("cv", "> 0 (use deterministic for cv = 0)")
        if n == "hyperexponential" and p["cv"] < 1:
            raise bad("cv", ">= 1 (a hyperexponential is at least as variable as the exponential)")
        if n in ("uniform", "uniform_int"):
            if p["low"] < 0:
                raise bad("low", ">= 0")
            if n == "uniform" and not p["high"] > p["low"]:
                raise bad("high", f"> low ({p['low']!r})")
            if n == "uniform_int":
                for key in ("low", "high"):
                    if p[key] != int(p[key]):
                        raise bad(key, "an integer")
                if p["high"] < p["low"]:
                    raise bad("high", f">= low ({p['low']!r})")

    # -- constructors -------------------------------------------------------
    @classmethod
    def deterministic(cls, value: float) -> Distribution:
        return cls("deterministic", {"value": value})

    @classmethod
    def exponential(cls, mean: float) -> Distribution:
        return cls("exponential", {"mean": mean})

    @classmethod
    def uniform(cls, low: float, high: float) -> Distribution:
        return cls("uniform", {"low": low, "high": high})

    @classmethod
    def erlang(cls, k: int, mean: float) -> Distribution:
        return cls("erlang", {"k": k, "mean": mean})

    @classmethod
    def lognormal(cls, mean: float, cv: float) -> Distribution:
        return cls("lognormal", {"mean": mean, "cv": cv})

    @classmethod
    def hyperexponential(cls, mean: float, cv: float) -> Distribution:
        return cls("hyperexponential", {"mean": mean, "cv": cv})

    @classmethod
    def geometric(cls, mean: float) -> Distribution:
        return cls("geometric", {"mean": mean})

    @classmethod
    def poisson(cls, mean: float) -> Distribution:
        return cls("poisson", {"mean": mean})

    @classmethod
    def uniform_int(cls, low: int, high: int) -> Distribution:
        return cls("uniform_int", {"low": low, "high": high})

    # -- properties ---------------------------------------------------------
    def param(self, key: str) -> float:
        return dict(self.params)[key]

    @property
    def discrete(self) -> bool:
        """True if every draw is a non-negative integer (may give iteration counts)."""
        if self.name == "deterministic":
            return float(self.param("value")).is_integer()
        return self.name in _DISCRETE

    def mean(self) -> float:
        """Exact mean (the module table)."""
        p = dict(self.params)
        if self.name == "deterministic":
            return float(p["value"])
        if self.name in ("uniform", "uniform_int"):
            return (p["low"] + p["high"]) / 2
        return float(p["mean"])

    def variance(self) -> float:
        """Exact variance (the module table)."""
        p, m = dict(self.params), self.mean()
        n = self.name
        if n == "deterministic":
            return 0.0
        if n == "exponential":
            return m * m
        if n == "uniform":
            return (p["high"] - p["low"]) ** 2 / 12
        if n == "erlang":
            return m * m / p["k"]
        if n in ("lognormal", "hyperexponential"):
            return (p["cv"] * m) ** 2
        if n == "geometric":
            return m * (m - 1)
        if n == "poisson":
            return m
        width = p["high"] - p["low"] + 1  # uniform_int
        return (width * width - 1) / 12

    def scv(self) -> float:
        """Squared coefficient of variation Var / mean^2 (NaN for mean 0)."""
        m = self.mean()
        return self.variance() / (m * m) if m else math.nan

    def second_moment(self) -> float:
        """E[X^2] = Var + mean^2."""
        return self.variance() + self.mean() ** 2

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` independent draws as a float array (one numpy call, none if deterministic)."""
        p, n = dict(self.params), self.name
        if n == "deterministic":
            return np.full(size, float(p["value"]))
        if n == "exponential":
            return rng.exponential(p["mean"], size)
        if n == "uniform":
            return rng.uniform(p["low"], p["high"], size)
        if n == "erlang":
            return rng.gamma(int(p["k"]), p["mean"] / p["k"], size)
        if n == "lognormal":
            s2 = math.log1p(p["cv"] ** 2)
            return rng.lognormal(math.log(p["mean"]) - s2 / 2, math.sqrt(s2), size)
        if n == "hyperexponential":
            m, c2 = p["mean"], p["cv"] ** 2
            p1 = (1 + math.sqrt((c2 - 1) / (c2 + 1))) / 2
            # Balanced means: phase i has mean m / (2 p_i). One uniform picks
            # the phase, one unit exponential is scaled by its mean.
            phase_mean = np.where(rng.random(size) < p1, m / (2 * p1), m / (2 * (1 - p1)))
            return rng.standard_exponential(size) * phase_mean
        if n == "geometric":
            return rng.geometric(1 / p["mean"], size).astype(float)
        if n == "poisson":
            return rng.poisson(p["mean"], size).astype(float)
        return rng.integers(int(p["low"]), int(p["high"]), size, endpoint=True).astype(float)

    def describe(self) -> str:
        args = ", ".join(f"{k}={v:g}" for k, v in dict(self.params).items())
        return f"{self.name}({args})"


def _as_distribution(where: str, value: object) -> Distribution:
    """A Distribution, or a plain number taken as deterministic."""
    if isinstance(value, Distribution):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Distribution("deterministic", {"value": value}, where=where)
    raise InputError(f"{where} must be a Distribution or a number, got {value!r}")


ZERO = Distribution.deterministic(0.0)

#: The SyntheticWorkload fields that are distributions (numbers are accepted too).
_LAWS = ("pre_ops", "iteration_ops", "quantum_s", "post_ops")


@dataclass(frozen=True)
class SyntheticWorkload:
    """Poisson arrivals of jobs whose chains come from named distributions.

    ``interarrival_s``: mean gap between arrivals (s). ``iterations``: an
    integer >= 0 or a discrete ``Distribution``. ``pre_ops``,
    ``iteration_ops``, ``post_ops``: classical work (operations) of the pre
    task, of each classical iteration, of the post task. ``quantum_s``: the
    duration (s) of each quantum iteration. Plain numbers mean deterministic.
    ``qubits``, ``priorities``: drawn uniformly per job, as in
    ``WorkloadSpec``.

    Defaults give the M/M/1 job: one exponential(1 s) quantum task between
    zero-work classical tasks. A zero-work task needs no service time, but
    only in serverless mode does it finish the instant it is ready; in
    dedicated mode it still queues FIFO for a free classical server
    (MODEL.md), so with every server busy the job waits.
    """

    interarrival_s: float
    iterations: Distribution | int = 1
    pre_ops: Distribution | float = ZERO
    iteration_ops: Distribution | float = ZERO
    quantum_s: Distribution | float = Distribution.exponential(1.0)
    post_ops: Distribution | float = ZERO
    qubits: tuple[int, ...] = (4,)
    priorities: tuple[int, ...] = (1,)

    def __post_init__(self) -> None:
        require_positive_number(self.interarrival_s, "synthetic workload", "interarrival_s")
        it = self.iterations
        if isinstance(it, Distribution):
            if not it.discrete:
                raise InputError(f"synthetic workload: iterations must be an integer or a discrete "
                                 f"distribution ({', '.join(_DISCRETE)}, integer deterministic), "
                                 f"got {it.describe()}")
        else:
            require_nonnegative_int(it, "synthetic workload", "iterations")
        for name in _LAWS:
            object.__setattr__(self, name, self.law(name))
        quantum = self.law("quantum_s")
        if quantum.name == "deterministic" and quantum.mean() <= 0:
            raise InputError(f"synthetic workload: quantum_s must be > 0 s, got {quantum.describe()}")
        for name in ("qubits", "priorities"):
            values = tuple(getattr(self, name))
            if not values:
                raise InputError(f"synthetic workload: {name} must not be empty")
            for v in values:
                if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                    raise InputError(f"synthetic workload: {name} must be positive integers, got {v!r}")
                high = MAX_QUBITS if name == "qubits" else MAX_PRIORITY
                if v > high:
                    raise InputError(f"synthetic workload: {name} must be at most {high}, got {v!r}")
            object.__setattr__(self, name, values)

    def law(self, name: str) -> Distribution:
        """Field ``name`` of ``_LAWS`` as a Distribution (a plain number is deterministic)."""
        return _as_distribution(f"synthetic workload: {name}", getattr(self, name))

    # -- moments used by the theory checks ------------------------------------
    def mean_iterations(self) -> float:
        it = self.iterations
        return it.mean() if isinstance(it, Distribution) else float(it)

    @property
    def arrival_rate_per_s(self) -> float:
        return 1.0 / self.interarrival_s

    # -- drawing -------------------------------------------------------------
    def jobs(self, rng: np.random.Generator, until_s: float, first_job_id: int = 0) -> Iterator[Job]:
        """Jobs of a Poisson process of mean gap ``interarrival_s`` arriving before ``until_s``.

        Lazy (one block of ``BLOCK`` jobs drawn at a time), and
        deterministic given ``rng``; ``until_s = inf`` never ends.
        """
        t = 0.0
        job_id = first_job_id
        while True:
            for job in self._block(rng, t, job_id):
                if job.arrival_s >= until_s:
                    return
                yield job
            t, job_id = job.arrival_s, job.job_id + 1

    def _block(self, rng: np.random.Generator, t0: float, first_id: int) -> list[Job]:
        arrivals = (t0 + np.cumsum(rng.exponential(self.interarrival_s, BLOCK))).tolist()
        it = self.iterations
        counts = (it.sample(rng, BLOCK).astype(np.int64) if isinstance(it, Distribution)
                  else np.full(BLOCK, it, dtype=np.int64))
        pre = self.law("pre_ops").sample(rng, BLOCK).tolist()
        post = self.law("post_ops").sample(rng, BLOCK).tolist()
        qubits = np.asarray(self.qubits)[rng.integers(len(self.qubits), size=BLOCK)].tolist()
        prios = np.asarray(self.priorities)[rng.integers(len(self.priorities), size=BLOCK)].tolist()
        total = int(counts.sum())
        its = self.law("iteration_ops").sample(rng, total).tolist()
        qs = np.maximum(self.law("quantum_s").sample(rng, total), _TINY_S).tolist()
        ends = np.cumsum(counts).tolist()
        jobs: list[Job] = []
        a = 0
        for i in range(BLOCK):
            b = ends[i]
            jobs.append(Job(first_id + i, arrivals[i], qubits[i], prios[i], pre[i],
                            tuple(its[a:b]), tuple(qs[a:b]), post[i]))
            a = b
        return jobs

    def instance(self, rng: np.random.Generator, count: int, name: str = "synthetic") -> Instance:
        """The first ``count`` jobs of ``jobs`` as a finite ``Instance``."""
        require_nonnegative_int(count, "synthetic workload", "count")
        source = self.jobs(rng, math.inf)
        jobs = tuple(next(source) for _ in range(count))
        return Instance(jobs, name=name, meta={"workload": self})
