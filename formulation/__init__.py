"""Offline optimum of the hybrid platform (MODEL.md "Offline problem", paper II-B).

Modules: generate (small trace instances), problem (solver data, SolveResult),
models (disjunctive MILP), repair (exact schedules, list heuristic),
batches (batch-schedule incumbents for C = 1), bnb (exact branch and bound
for C = 1), solve (entry points: delays by B&B or HiGHS via Pyomo,
C = infinity bound, LP bound, min capacity), checker (independent
feasibility check), gantt (PNG), cli (subcommands).
"""

from .checker import check_schedule
from .problem import SolveResult
from .solve import lp_bound, solve_delays, solve_min_capacity

__all__ = ["check_schedule", "SolveResult", "lp_bound", "solve_delays", "solve_min_capacity"]
