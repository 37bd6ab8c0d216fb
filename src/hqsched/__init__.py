"""hqsched: model, optimize and simulate hybrid classical-quantum serverless platforms.

The public API, for notebooks and scripts (``from hqsched import ...``):

- data model: ``Platform``, ``Job``, ``Instance``, ``WorkloadSpec`` (the
  paper's trace-driven workload), ``SyntheticWorkload`` and ``Distribution``
  (workloads from named distributions);
- instance files: ``read_instance``, ``write_instance``, ``read_job_csv``,
  ``small_instance`` (a small instance drawn from the bundled traces);
- simulation: ``SimulationConfig``, ``simulate`` (one replication; its
  result's ``to_frame()`` is the per-job table as a pandas DataFrame),
  ``run_replications`` (many seeds, in parallel, optionally saved and
  resumable), ``summarize`` (mean and 95% t interval per metric across seeds),
  ``replications_table`` (one row per seed) and ``jobs_frame`` (every job of
  every seed), all DataFrames; ``t_interval``;
- offline optimum: ``solve`` (minimum sum of delays, what ``hqsched solve``
  computes, warm-started from the simulator's best online schedule,
  ``best_online_schedule``), ``Schedule`` (its ``to_frame()``: one row per
  task), ``gantt_figure`` (a matplotlib Figure, drawn on an optional Axes,
  shown inline in a notebook);
- the figures of ``hqsched report``, ``plan simulate`` and ``gap``, each a
  Figure drawn on an optional Axes (the commands write these same figures):
  ``job_time_by_group_figure`` and ``heatmap_figure`` (of a results directory
  loaded by ``hqsched.reports.campaign_data.load``), ``plan_figure`` (of
  ``hqsched.planning.simulated.plan_simulate``'s result), ``gap_figure`` (of
  ``hqsched.validation.gap.run_study``'s rows);
- ``InputError``: raised for bad input; its message names the field and value.

Everything else lives in the capability packages (``hqsched.planning``,
``hqsched.reports``, ``hqsched.validation``, ...); README.md ("Architecture")
says which is where.

``import hqsched`` is cheap: the names above are loaded on first use
(PEP 562 module ``__getattr__``), so ``hqsched --help`` never pays for
numpy, pandas, numba or Pyomo. This facade sits above every layer: no module
of the package imports it, except for ``__version__``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public name -> the module that defines it (imported on first access).
_LAZY: dict[str, str] = {
    "InputError": "hqsched.errors",
    "Platform": "hqsched.instances.model",
    "Job": "hqsched.instances.model",
    "Instance": "hqsched.instances.model",
    "WorkloadSpec": "hqsched.instances.workload",
    "SyntheticWorkload": "hqsched.instances.synthetic",
    "Distribution": "hqsched.instances.synthetic",
    "read_instance": "hqsched.instances.io",
    "write_instance": "hqsched.instances.io",
    "read_job_csv": "hqsched.instances.io",
    "small_instance": "hqsched.instances.generate",
    "SimulationConfig": "hqsched.online.config",
    "simulate": "hqsched.online.engine",
    "Policy": "hqsched.online.policies",
    "Routing": "hqsched.online.policies",
    "run_replications": "hqsched.experiments.replications",
    "summarize": "hqsched.experiments.statistics",
    "t_interval": "hqsched.experiments.statistics",
    "replications_table": "hqsched.experiments.statistics",
    "jobs_frame": "hqsched.experiments.statistics",
    "Schedule": "hqsched.instances.schedule",
    "best_online_schedule": "hqsched.online.instance_runs",
    "gantt_figure": "hqsched.reports.gantt",
    "job_time_by_group_figure": "hqsched.reports.report",
    "heatmap_figure": "hqsched.reports.report",
    "plan_figure": "hqsched.reports.plan_figure",
    "gap_figure": "hqsched.reports.gap_report",
}

# Written out (not built from _LAZY) so that linters and type checkers read it;
# tests/test_public_api.py checks that it lists exactly the names above and solve.
__all__ = [
    "__version__", "InputError",
    "Platform", "Job", "Instance", "WorkloadSpec", "SyntheticWorkload", "Distribution",
    "read_instance", "write_instance", "read_job_csv", "small_instance",
    "SimulationConfig", "simulate", "Policy", "Routing", "run_replications", "summarize", "t_interval",
    "replications_table", "jobs_frame", "Schedule", "best_online_schedule", "gantt_figure",
    "job_time_by_group_figure", "heatmap_figure", "plan_figure", "gap_figure",
    "solve",
]

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ loads these
    from hqsched.errors import InputError
    from hqsched.experiments.replications import run_replications
    from hqsched.experiments.statistics import jobs_frame, replications_table, summarize, t_interval
    from hqsched.formulation.problem import SolveResult
    from hqsched.instances.generate import small_instance
    from hqsched.instances.io import read_instance, read_job_csv, write_instance
    from hqsched.instances.model import Instance, Job, Platform
    from hqsched.instances.schedule import Schedule
    from hqsched.instances.synthetic import Distribution, SyntheticWorkload
    from hqsched.instances.workload import WorkloadSpec
    from hqsched.online.config import SimulationConfig
    from hqsched.online.engine import simulate
    from hqsched.online.instance_runs import best_online_schedule
    from hqsched.online.policies import Policy, Routing
    from hqsched.reports.gantt import gantt_figure
    from hqsched.reports.gap_report import gap_figure
    from hqsched.reports.plan_figure import plan_figure
    from hqsched.reports.report import heatmap_figure, job_time_by_group_figure


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first access (PEP 562), then keep it."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hqsched' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    """The public names, loaded or not, and the module's dunders (helpers stay hidden)."""
    return sorted(set(__all__) | {n for n in globals() if n.startswith("__")})


def solve(instance: Instance, platform: Platform, *, weighted: bool = False,
          time_limit_s: float = 60.0, relax_classical: bool = False,
          method: str = "auto", warm_start: bool | Schedule = True) -> SolveResult:
    """The offline optimum of ``instance`` on ``platform``: the minimum sum of delays.

    Offline problem of MODEL.md (paper Section II-B): every job known in
    advance, ``platform.classical_workers`` dedicated classical servers of
    ``platform.worker_capacity_ops_per_s`` ops/s and
    ``platform.quantum_computers`` QCs, no preemption; a job's delay is the
    completion of its last task minus its arrival (seconds). The admission
    thresholds are ignored: the offline problem schedules every job.

    ``weighted``: weigh each delay by the job's priority.
    ``relax_classical``: C = infinity (classical tasks at full speed, never
    waiting), a lower bound for any serverless (processor-sharing) run.
    ``method``: "auto" (the branch and bound when C = 1, else CP-SAT when
    OR-Tools is installed, else the MILP), "bnb", "cpsat" or "milp". A QC fleet
    (``platform.qc_groups``): "auto" is CP-SAT (the MILP without OR-Tools); "bnb" refuses it.
    ``warm_start``: True starts from the best online
    dedicated-mode schedule over all policies (``best_online_schedule``, the
    simulator's), as ``hqsched solve`` does; a ``Schedule`` starts from that
    one; False from the solver's own heuristics only.
    ``time_limit_s``: wall-clock limit of the whole solve.

    Returns a ``SolveResult`` (``hqsched.formulation.problem``): ``status``
    ("optimal", "feasible" with a proven ``best_bound`` and ``rel_gap``,
    "infeasible", "time_limit_no_incumbent" or "error" with a ``message``),
    ``objective`` (s), ``schedule`` (checked by the independent checker),
    ``summary()`` for one printable line. Every other solver option (cuts,
    local search, a given warm-start schedule) is a field of ``SolveOptions``
    for ``hqsched.formulation.solve.solve_delays``; minimal capacity is
    ``solve_min_capacity`` there, or ``hqsched.planning.exact.plan_exact``.
    """
    from hqsched.formulation.options import SolveOptions
    from hqsched.formulation.solve import solve_platform
    from hqsched.online.instance_runs import best_online_schedule

    given = warm_start if not isinstance(warm_start, bool) else None
    options = SolveOptions(weighted=weighted, time_limit_s=time_limit_s, method=method,
                           warm_start=given,
                           warm_start_provider=best_online_schedule if warm_start is True
                           else None)
    # solve_platform: the platform's QC fleet (qc_groups) too
    return solve_platform(instance, platform, options, relax_classical=relax_classical)
