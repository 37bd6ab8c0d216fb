"""Offline optimum of the hybrid platform (MODEL.md "Offline problem", paper II-B).

Modules: generate (small trace instances), problem (solver data, SolveResult),
models (disjunctive MILP), repair (exact schedules, list heuristic),
solve (HiGHS via Pyomo: delays, C = infinity bound, LP bound, min capacity),
checker (independent feasibility check), gantt (PNG), cli (subcommands).
"""

from .checker import check_schedule
from .problem import SolveResult
from .solve import lp_bound, solve_delays, solve_min_capacity

__all__ = ["check_schedule", "SolveResult", "lp_bound", "solve_delays", "solve_min_capacity"]
