"""What one simulation run needs: platform, policy, classical mode, workload, horizon."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from hqsched.errors import InputError
from hqsched.instances.model import Instance, Platform
from hqsched.instances.schedule import Schedule
from hqsched.instances.synthetic import SyntheticWorkload
from hqsched.instances.workload import WorkloadSpec

from .policies import resolve_policy

if TYPE_CHECKING:
    import pandas as pd

CLASSICAL_MODES = ("serverless", "dedicated")
#: What the drop counts cover: ``window`` (MODEL.md: arrivals in ``[warmup_s, end)``) or
#: ``run`` (every arrival from time 0, warm-up included: the reference simulator's
#: counters, never reset at the end of its warm-up).
DROP_WINDOWS = ("window", "run")


@dataclass(frozen=True)
class SimulationConfig:
    """One scenario. Exactly one of ``workload`` (stochastic) or ``instance`` (replay).

    Times in seconds. Metrics cover ``[warmup_s, duration_s)``. With an
    instance the run lasts until every accepted job completes unless
    ``duration_s`` is given (``math.inf`` = run to completion).
    """

    platform: Platform
    policy: str = "fifo"  # a registered name (or a Policy / "file.py:Class", resolved here)
    classical_mode: str = "serverless"
    duration_s: float = 7 * 86400.0
    warmup_s: float = 0.0
    workload: WorkloadSpec | SyntheticWorkload | None = None
    instance: Instance | None = None
    traces_dir: str | None = None
    record_schedule: bool = False
    #: Where a user policy comes from (``file.py:Class``): a worker process loads it from
    #: there. Filled in from the registry; None for built-ins.
    policy_source: str | None = None
    #: ``DROP_WINDOWS``: what ``arrived``, ``accepted``, ``dropped`` and ``drop_probability``
    #: of the summary count. Every other metric (and the per-job records) covers the window.
    drop_window: str = "window"

    def __post_init__(self) -> None:
        policy = resolve_policy(self.policy_source or self.policy)
        object.__setattr__(self, "policy", policy.name)  # frozen: set once, here
        object.__setattr__(self, "policy_source", policy.source)
        if (self.workload is None) == (self.instance is None):
            raise InputError("simulation: give exactly one of a workload or an instance")
        if self.drop_window not in DROP_WINDOWS:
            raise InputError(f"simulation: drop_window must be one of {DROP_WINDOWS}, "
                             f"got {self.drop_window!r}")
        if self.classical_mode not in CLASSICAL_MODES:
            raise InputError(f"simulation: classical_mode must be one of {CLASSICAL_MODES}, "
                             f"got {self.classical_mode!r}")
        if not (self.duration_s > 0):
            raise InputError(f"simulation: duration must be > 0 s, got {self.duration_s!r}")
        if self.workload is not None and not math.isfinite(self.duration_s):
            raise InputError("simulation: a stochastic workload needs a finite duration")
        if not (0 <= self.warmup_s < self.duration_s):
            raise InputError(f"simulation: warm-up ({self.warmup_s!r} s) must be >= 0 and shorter "
                             f"than the run ({self.duration_s!r} s)")


@dataclass
class ReplicationResult:
    """Outcome of one replication.

    ``summary``: flat scalar metrics (see ``SUMMARY_FIELDS``).
    ``jobs``: per-job columns (see ``JOB_FIELDS``), one entry per arrival
    in the measurement window (dropped jobs included, status says which),
    plus jobs still active at the end (censored), in arrival order; None when
    the records went to a sink instead (``simulate(config, seed, sink)``).
    A table read back from a results directory may be loaded lazily.
    ``memory``: the simulator's memory figures: ``slot_capacity`` and
    ``peak_active_jobs`` (jobs), ``state_bytes`` (peak bytes of the kernel's
    arrays), ``job_time_bytes`` (the completed jobs' times kept for the
    summary); empty for results loaded from disk.
    """

    seed: int
    summary: dict[str, float]
    jobs: Mapping[str, np.ndarray] | None
    schedule: Schedule | None = field(default=None, repr=False)
    memory: dict[str, int] = field(default_factory=dict, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The per-job records as a pandas DataFrame (``JOB_FIELDS`` columns, one row
        per job, in arrival order); for a notebook. ``summary`` is the scalar metrics."""
        import pandas as pd  # only here: the simulator itself does not need pandas
        if self.jobs is None:
            raise ValueError(f"seed {self.seed}: no job records in this result "
                             f"(they went to a sink)")
        return pd.DataFrame({name: np.asarray(self.jobs[name]) for name in self.jobs})


#: Scalar metrics of one replication, in order.
SUMMARY_FIELDS = (
    "arrived", "accepted", "dropped", "drop_probability",
    "completed", "censored",
    "job_time_mean_s", "job_time_p25_s", "job_time_p50_s", "job_time_p75_s",
    "job_time_p95_s", "job_time_p99_s",
    "avg_classical_active", "avg_quantum_in_service", "avg_quantum_pending",
    "qc_utilization", "events", "sim_end_s",
)

#: Per-job record columns. status: "completed", "censored" (still running at
#: the end) or "dropped". completion_s and job_time_s are NaN unless completed.
JOB_FIELDS = ("job_id", "arrival_s", "completion_s", "job_time_s", "qubits", "priority",
              "iterations", "quantum_wait_s", "status")

#: Column types of the per-job records (numpy dtype strings; "str" for text),
#: as a results directory records them.
JOB_DTYPES = {"job_id": "<i8", "arrival_s": "<f8", "completion_s": "<f8", "job_time_s": "<f8",
              "qubits": "<i8", "priority": "<i8", "iterations": "<i8", "quantum_wait_s": "<f8",
              "status": "str"}

#: Sort keys that put per-job records in arrival order (a stored table may be
#: in the order jobs left the system).
JOB_ORDER = ("arrival_s", "job_id")
