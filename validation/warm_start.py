"""The best online schedule of an instance, as an incumbent for the offline solver.

The online simulator in dedicated mode produces schedules that are feasible
for the offline problem (MODEL.md invariants), so the best of the four
policies is a valid MIP start: a time-limited solve then always returns a
feasible schedule and a gap. Lives here because it joins the two sides
(data flows instances -> formulation / online -> validation).
"""

from __future__ import annotations

import math

from hqsched.instances.model import Instance, Platform
from hqsched.instances.schedule import Schedule
from hqsched.online.config import SimulationConfig
from hqsched.online.engine import simulate
from hqsched.online.policies import POLICIES


def online_schedule(instance: Instance, platform: Platform, policy: str, seed: int = 0,
                    classical_mode: str = "dedicated") -> Schedule:
    """The schedule the simulator produces for ``instance``, admission off, run to completion."""
    open_platform = Platform(platform.classical_workers, platform.worker_capacity_ops_per_s,
                             platform.quantum_computers, None, None)
    config = SimulationConfig(open_platform, policy=policy, classical_mode=classical_mode,
                              duration_s=math.inf, instance=instance, record_schedule=True)
    return simulate(config, seed).schedule


def best_online_schedule(instance: Instance, platform: Platform, weighted: bool = False) -> Schedule:
    """The dedicated-mode schedule with the smallest sum of (weighted) delays over all policies."""
    candidates = [online_schedule(instance, platform, name) for name in sorted(POLICIES)]
    return min(candidates, key=lambda s: s.sum_delays_s(instance, weighted))
