"""Options of the offline solvers, as frozen records (cheap to import: no solver here).

- ``ModelOptions``: the optional rows of the MILP (models.build_model);
- ``SolveOptions``: ``solve_delays`` and ``lp_bound`` (solve.py), which
  hold a ``ModelOptions``;
- ``BnbOptions``: the C = 1 branch and bound (bnb.branch_and_bound).

Every option keeps the answer exact: they change how fast an optimum is
proven, never which objective is optimal. Times in seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from hqsched.instances.model import Instance, Platform
from hqsched.instances.schedule import Schedule

#: ``provider(instance, platform)``: a dedicated-mode schedule to start from
#: (e.g. the online simulator's), or None.
WarmStartProvider = Callable[[Instance, Platform], Schedule | None]

#: (job ids, proven lower bound on the optimum of the sub-instance of those jobs, s)
SubsetBound = tuple[tuple[int, ...], float]


@dataclass(frozen=True)
class ModelOptions:
    """Optional rows of the disjunctive MILP (models.py module docstring)."""

    #: a task may only use servers 0..rank (servers relabelled by first use)
    symmetry_breaking: bool = True
    #: Queyranne's energy inequalities on arrival-consecutive job sets
    energy_cuts: bool = True
    #: gap rows for resources with one server (C = 1 option)
    interference_cuts: bool = False
    #: rows sum_{j in G} w_j delta_j >= LB(G); the bounds also narrow the time windows
    subset_bounds: tuple[SubsetBound, ...] = ()


@dataclass(frozen=True)
class SolveOptions:
    """How ``solve_delays`` (and ``lp_bound``: ``weighted``, ``time_limit_s``,
    ``model``) solve one instance."""

    #: minimise sum_j w_j delta_j with w_j the job's priority (else w_j = 1)
    weighted: bool = False
    #: wall-clock limit of the whole solve (s), heuristics included
    time_limit_s: float = 60.0
    #: "bnb" (exact branch and bound, C = 1 only), "milp" (HiGHS), "cpsat"
    #: (OR-Tools CP-SAT, cpsat.py) or "auto": "milp" if a MILP-only option is
    #: set, else "bnb" when C = 1, else "cpsat" when OR-Tools is installed, else
    #: "milp"; with a QC fleet never "bnb" (a str, checked by solve_delays: another
    #: value gives status "error")
    method: str = "auto"
    #: relative gap at which a solve counts as optimal
    mip_rel_gap: float = 1e-7
    #: a dedicated-mode schedule to start from (checked; ignored if infeasible)
    warm_start: Schedule | None = None
    #: called for a warm start when ``warm_start`` is None (finite C only)
    warm_start_provider: WarmStartProvider | None = None
    #: keep the heuristic schedules as incumbents (False: only the warm start)
    heuristic_incumbent: bool = True
    #: schedules the local search may evaluate (None: 300 per task, at most
    #: 20000; 0 with C = infinity)
    local_search_evaluations: int | None = None
    #: MILP, C = 1: first bound every arrival-consecutive sub-instance and add
    #: the bounds as rows, in ``subset_share`` of the time limit
    subset_cuts: bool = False
    #: share of ``time_limit_s`` the subset bounds may use (0..1)
    subset_share: float = 0.5
    #: optional rows of the MILP
    model: ModelOptions = field(default_factory=ModelOptions)

    def milp_only(self) -> bool:
        """True if an option only the MILP honours is set (then "auto" means "milp")."""
        return self.subset_cuts or self.model != ModelOptions()


@dataclass(frozen=True)
class BnbOptions:
    """Options of ``branch_and_bound`` (bnb.py module docstring)."""

    #: wall-clock limit (s), numba compilation included when its cache is cold
    time_limit_s: float = 60.0
    #: dominance memo of at most ``memo_entries`` nodes ((2J + Q + 3) * 8 bytes
    #: each plus 16 of hash table; zeroed arrays, so pages are mapped on first use)
    memo: bool = True
    memo_entries: int = 1 << 20
    #: branching resource: 0 = classic Giffler-Thompson, 1 = smaller guarded conflict set
    rule: int = 1
    #: lower bound level 0..3 (3 falls back to 2 beyond 16 jobs)
    bound_level: int = 3
    #: prune a node when its bound >= incumbent - rel_tol * max(1, |incumbent|)
    rel_tol: float = 1e-9
    #: nodes of the first compiled call before the first time check (then ~0.1 s a call)
    chunk: int = 1000
    #: start from repair.list_schedule when no incumbent is given
    heuristic: bool = True
