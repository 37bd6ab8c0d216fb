"""Online runs of a finite instance, as the offline comparisons need them.

MODEL.md: online-versus-offline comparisons run with admission off (every
job accepted) and to completion. The simulator's dedicated-mode schedule is
feasible offline, so the best one over all policies is a valid incumbent for
the solver. Lives here because it joins the two sides (data flows
instances -> formulation / online -> validation).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from hqsched.instances.model import Instance, Platform
from hqsched.instances.schedule import Schedule
from hqsched.online.config import ReplicationResult, SimulationConfig
from hqsched.online.engine import simulate
from hqsched.online.policies import POLICIES


def run_instance(instance: Instance, platform: Platform, policy: str,
                 classical_mode: str = "dedicated", seed: int = 0,
                 record_schedule: bool = True) -> ReplicationResult:
    """Simulate ``instance`` on ``platform`` with admission off, until every job completes."""
    open_platform = dataclasses.replace(platform, max_classical=None, max_quantum=None)
    config = SimulationConfig(open_platform, policy=policy, classical_mode=classical_mode,
                              duration_s=math.inf, instance=instance,
                              record_schedule=record_schedule)
    return simulate(config, seed)


def record_delays_s(result: ReplicationResult, jobs: int, weighted: bool = False) -> float:
    """Sum of (priority-weighted) delays from the per-job records (s); NaN unless all
    ``jobs`` completed."""
    records = result.jobs
    if records is None:
        raise ValueError("record_delays_s: the result has no job records (they went to a sink)")
    if int(np.sum(records["status"] == "completed")) != jobs:
        return math.nan
    w = records["priority"].astype(float) if weighted else 1.0
    return float(np.sum(w * records["job_time_s"].astype(float)))


def best_online_schedule(instance: Instance, platform: Platform, weighted: bool = False) -> Schedule:
    """The dedicated-mode schedule with the smallest sum of (weighted) delays over all policies."""
    candidates = []
    for name in sorted(POLICIES):
        if platform.qc_groups and name == "fifo-swap":  # defined for identical QCs only
            continue
        schedule = run_instance(instance, platform, name).schedule
        if schedule is None:  # run_instance records it; None would be an engine bug
            raise RuntimeError(f"policy {name}: the simulator returned no schedule")
        candidates.append(schedule)
    return min(candidates, key=lambda s: s.sum_delays_s(instance, weighted))
