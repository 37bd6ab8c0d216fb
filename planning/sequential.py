"""Statistics of simulation-based capacity planning: the sequential feasibility test and
the paired test for non-monotonicity (used by ``hqsched.planning.simulated``).

Per-seed values
    Each replication (one seed) gives one value per target metric: its drop
    probability, its p95 job time (s) and its mean job time (s), as in the
    replication summary. Seeds are independent replications, so the per-seed
    values of one candidate are i.i.d. and, over a few seeds, close enough to
    normal for Student t bounds (the same assumption as the t CIs of
    ``hqsched.experiments.statistics``). A seed whose value is NaN (no job completed
    in the window) is left out; a metric with no finite value at all counts as
    +inf (nothing completed is a violation of any job-time target).

Sequential test (one candidate)
    Seeds are added in batches of ``batch``; after each batch (a *look*) and
    for each target metric ``m`` with target ``tau_m`` and ``n`` values
    (mean ``xbar``, sample sd ``s``) the one-sided bounds are::

        L_m = xbar - t(1 - a, n - 1) * s / sqrt(n)
        U_m = xbar + t(1 - a, n - 1) * s / sqrt(n)

    *clearly infeasible* if some ``L_m > tau_m``; *clearly feasible* if every
    ``U_m < tau_m``; otherwise add a batch, up to the seed budget. With ``K``
    looks and ``M`` metrics each bound is taken at level ``a = alpha / (K M)``
    (Bonferroni over looks and metrics), so for one candidate
    P(clearly infeasible | every metric's mean meets its target) <= alpha and
    P(clearly feasible | some metric's mean misses its target) <= alpha / M.
    Undecided at the budget: "feasible (not significant)" if every mean meets
    its target, else "infeasible (not significant)" -- reported as uncertain.
    The error rate is per candidate, not across all candidates of a plan.

Non-monotonicity (paired, thanks to common random numbers)
    Two candidates run with the same seed see the same arrivals and jobs (the
    engine draws the workload from its own seeded stream), so adding one
    resource is compared on per-seed differences ``d = x(more) - x(less)``
    over their common seeds: a one-sided paired t-test of ``mean(d) > 0``
    ("significantly worse with more resource"), Bonferroni-corrected over all
    pairs and metrics tested.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from hqsched.experiments.statistics import t_interval

FEASIBLE = "feasible"
INFEASIBLE = "infeasible"
FEASIBLE_NS = "feasible (not significant)"
INFEASIBLE_NS = "infeasible (not significant)"
#: Verdicts that meet the targets (clearly or by point estimate).
MEETS = (FEASIBLE, FEASIBLE_NS)


def finite(values: Sequence[float]) -> np.ndarray:
    """The finite entries of ``values`` as floats (NaN = no completed job that seed)."""
    x = np.asarray(values, dtype=float)
    return x[np.isfinite(x)]


def one_sided_bounds(values: Sequence[float], level: float) -> tuple[float, float, float, int]:
    """(mean, lower, upper, n): one-sided Student t bounds, each at error ``level``.

    ``n < 2`` gives infinite bounds (nothing can be concluded); no finite value
    at all gives mean +inf (see the module docstring).
    """
    x = finite(values)
    n = int(x.size)
    if n == 0:
        return math.inf, -math.inf, math.inf, 0
    if n < 2:
        return float(x.mean()), -math.inf, math.inf, n
    # Each side of a two-sided interval at confidence 1 - 2 level errs with ``level``.
    return t_interval(x, 1.0 - 2.0 * level)


def n_looks(budget: int, batch: int) -> int:
    """Number of interim looks of the sequential test: one per batch, the last at the budget."""
    return max(1, math.ceil(budget / batch))


@dataclass(frozen=True)
class Decision:
    """Outcome of the sequential test: verdict and the number of seeds it used."""

    verdict: str
    seeds_used: int
    early: bool   # decided before the seed budget was exhausted


def decide(values: Mapping[str, Sequence[float]], targets: Mapping[str, float],
           batch: int, budget: int, alpha: float) -> Decision:
    """Run the sequential test on per-seed ``values`` (metric -> values in seed order).

    Looks at ``batch, 2 batch, ..., budget`` seeds (only as far as the values
    go); see the module docstring for the bounds and their levels. Pure: the
    verdict for given data does not depend on whether more seeds exist
    beyond the look that decided.
    """
    level = alpha / (n_looks(budget, batch) * max(1, len(targets)))
    available = min(len(v) for v in values.values())
    looks = list(range(batch, budget, batch)) + [budget]
    for n in looks:
        if n > available:
            break
        lower_above = upper_below = 0
        for m, tau in targets.items():
            _, lo, hi, _ = one_sided_bounds(values[m][:n], level)
            lower_above += lo > tau
            upper_below += hi < tau
        if lower_above:
            return Decision(INFEASIBLE, n, n < budget)
        if upper_below == len(targets):
            return Decision(FEASIBLE, n, n < budget)
    n = min(available, budget)
    meets = all(one_sided_bounds(values[m][:n], level)[0] <= tau for m, tau in targets.items())
    return Decision(FEASIBLE_NS if meets else INFEASIBLE_NS, n, False)


@dataclass(frozen=True)
class PairedWorse:
    """A paired comparison ``x(more) - x(less)`` of one metric over common seeds."""

    metric: str
    less: tuple[int, int]     # (C, Q) with fewer resources
    more: tuple[int, int]     # (C, Q) with one more classical worker or quantum computer
    mean_diff: float          # mean of per-seed differences (metric units)
    ci_low: float             # two-sided 95% t interval of the mean difference
    ci_high: float
    p_value: float            # one-sided paired t-test, H1: mean difference > 0
    n: int
    significant: bool         # p_value < alpha / number of tests (Bonferroni)


def paired_worse(metric: str, less: tuple[int, int], more: tuple[int, int],
                 x_less: Sequence[float], x_more: Sequence[float]) -> PairedWorse | None:
    """Paired one-sided t-test that ``metric`` is larger (worse) at ``more``; None if n < 2.

    ``x_less``/``x_more`` are per-seed values in the same seed order; pairs
    where either is NaN are left out. ``significant`` is set by ``bonferroni``.
    """
    k = min(len(x_less), len(x_more))
    a, b = np.asarray(x_less[:k], float), np.asarray(x_more[:k], float)
    ok = np.isfinite(a) & np.isfinite(b)
    d = b[ok] - a[ok]
    n = int(d.size)
    if n < 2:
        return None
    mean, low, high, _ = t_interval(d)
    sd = float(d.std(ddof=1))
    if sd == 0.0:  # identical differences: no sampling noise left, the sign decides
        p = 0.0 if mean > 0 else 1.0
    else:
        p = float(sps.t.sf(mean / (sd / math.sqrt(n)), n - 1))
    return PairedWorse(metric, less, more, mean, low, high, p, n, False)


def bonferroni(tests: list[PairedWorse], alpha: float) -> list[PairedWorse]:
    """The same tests with ``significant`` = p < alpha / len(tests)."""
    if not tests:
        return []
    cut = alpha / len(tests)
    return [PairedWorse(**{**t.__dict__, "significant": t.p_value < cut}) for t in tests]
