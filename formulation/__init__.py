"""The offline optimum of the hybrid platform (MODEL.md "Offline problem", paper II-B).

Layer: imports the base layer and ``instances`` only; never ``online`` (a
warm start from the simulator is passed in as a function by the caller).

Modules: problem (solver data, SolveResult), options (SolveOptions,
ModelOptions, BnbOptions), models (disjunctive MILP in
Pyomo), repair (exact schedules, list heuristic), batches (batch-schedule
incumbents for C = 1), bnb (exact branch and bound for C = 1, numba), solve
(entry points: delays by branch and bound or HiGHS, the C = infinity bound,
the LP bound, minimal capacity), checker (independent feasibility check).

Nothing is imported here: ``import hqsched.formulation.checker`` must not
load Pyomo and numba (the solver modules take seconds to import).
"""
