"""What one simulation run needs: platform, policy, classical mode, workload, horizon."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from hqsched.errors import InputError
from hqsched.inputs import require_positive_int
from hqsched.instances.fleet import check_eligible
from hqsched.instances.model import Instance, Platform
from hqsched.instances.schedule import Schedule
from hqsched.instances.synthetic import SyntheticWorkload
from hqsched.instances.workload import WorkloadSpec

from .policies import resolve_policy, resolve_routing

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
    #: Which free eligible QC takes a quantum task (a registered routing name; issue 17).
    #: With identical QCs every rule picks the lowest-numbered free QC (the paper's rule).
    routing: str = "fastest"
    #: Runtime sessions (``Sessions``); None: no job holds a QC between its iterations.
    sessions: Sessions | None = None
    #: Serverless function instances with cold starts (``Lifecycle``); None: the paper's
    #: always-warm classical capacity.
    lifecycle: Lifecycle | None = None

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
        if self.lifecycle is not None and self.classical_mode == "dedicated":
            raise InputError("simulation: lifecycle (function instances with cold starts) needs "
                             "classical_mode 'serverless', got 'dedicated' (a dedicated worker "
                             "is always warm)")
        if not (self.duration_s > 0):
            raise InputError(f"simulation: duration must be > 0 s, got {self.duration_s!r}")
        if self.workload is not None and not math.isfinite(self.duration_s):
            raise InputError("simulation: a stochastic workload needs a finite duration")
        if not (0 <= self.warmup_s < self.duration_s):
            raise InputError(f"simulation: warm-up ({self.warmup_s!r} s) must be >= 0 and shorter "
                             f"than the run ({self.duration_s!r} s)")
        self._check_fleet(policy.name)

    def _check_fleet(self, policy: str) -> None:
        """Routing resolves (kept by name); with QC groups, the policy is defined on a fleet
        and every quantum task fits some group (docs/platform-features.md section 1)."""
        object.__setattr__(self, "routing", resolve_routing(self.routing).name)
        if self.sessions is not None and not isinstance(self.sessions, Sessions):
            raise InputError(f"simulation: sessions must be a Sessions or None, "
                             f"got {self.sessions!r}")
        groups = self.platform.qc_groups
        if not groups:
            return
        if policy == "fifo-swap":
            raise InputError("--policy fifo-swap: defined for identical QCs only, not with QC "
                             "groups (use fifo)")
        check_eligible(groups, self.qubit_counts(),
                       "instance" if self.instance is not None else "workload")

    def qubit_counts(self) -> list[int]:
        """The distinct qubit counts the run's quantum tasks may have, ascending."""
        if self.instance is not None:
            return sorted({job.qubits for job in self.instance.jobs})
        assert self.workload is not None  # exactly one of them is given
        return sorted(set(self.workload.qubits))


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


@dataclass(frozen=True)
class Sessions:
    """Runtime sessions (issue 17; docs/platform-features.md): a job whose priority is at least
    ``min_priority`` reserves the QC its first quantum task runs on for its next quantum
    tasks. The session ends when the job's last quantum task ends, ``max_length_s`` after it
    opened, or ``idle_timeout_s`` after a quantum task ended with no next one ready (s)."""

    min_priority: int = 1  # 1: every job ("all"); priorities are >= 1
    max_length_s: float = 8 * 3600.0
    idle_timeout_s: float = 60.0

    def __post_init__(self) -> None:
        require_positive_int(self.min_priority, "sessions", "min_priority")
        for name in ("max_length_s", "idle_timeout_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise InputError(f"sessions: {name} must be a time > 0 s (inf: no limit), "
                                 f"got {value!r}")


@dataclass(frozen=True)
class Lifecycle:
    """Serverless function instances on the classical side (issue 17;
    docs/platform-features.md): at most ``max_instances`` instances; a classical task with no
    idle warm instance starts a new one (``cold_start_s`` of latency, ``cold_start_ops`` of
    extra work), or waits for one at the maximum; an idle instance is kept warm for
    ``keep_alive_s`` after its last task. Serverless (processor-sharing) mode only."""

    max_instances: int = 1_000_000
    cold_start_s: float = 1.0
    cold_start_ops: float = 0.0
    keep_alive_s: float = 600.0

    def __post_init__(self) -> None:
        if isinstance(self.max_instances, bool) or not isinstance(self.max_instances, int) \
                or not 1 <= self.max_instances <= 1_000_000:
            raise InputError(f"lifecycle: max_instances must be an integer from 1 to 1000000, "
                             f"got {self.max_instances!r}")
        for name in ("cold_start_s", "cold_start_ops", "keep_alive_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not 0 <= value < math.inf:
                raise InputError(f"lifecycle: {name} must be a finite number >= 0, "
                                 f"got {value!r}")
