"""Campaign results as pandas tables: per run, per grid point (mean, 95% CI), per group.

``load`` reads the output directory of ``campaign run`` and ``plan simulate``
(``jobs/<point>/seed-000003.csv``) and that of ``simulate --out``
(``jobs/seed-000003.csv``, or ``<policy>/jobs/...`` for several policies: read
as a campaign with one point per policy), so a report takes either.

Statistics reuse ``hqsched.experiments.statistics``: across seeds, a metric's
interval is the Student t interval of its per-seed values; percentiles of job
times pool the completed jobs of all seeds. Times are in seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hqsched import provenance
from hqsched.errors import InputError
from hqsched.experiments import statistics as stats
from hqsched.experiments.campaign import PLAN_FILE, point_key, read_plan, status, unit_id
from hqsched.experiments.results_store import MANIFEST, NOT_STARTED, SUMMARY_DIR, ResultStore
from hqsched.online.config import ReplicationResult
from hqsched.progress import bar

#: Metrics summarised per grid point (summary fields plus derived ones).
POINT_METRICS = (
    "drop_probability", "job_time_mean_s", "job_time_p50_s", "job_time_p95_s",
    "job_time_p99_s", "avg_classical_active", "avg_quantum_in_service",
    "avg_quantum_pending", "avg_quantum_tasks", "qc_utilization", "completed", "censored",
)
#: Issue 17's feature metrics (docs/platform-features.md): a run reports them only when its
#: feature is on, and they are summarised only then (with ``qc_utilization_<group>``).
FEATURE_METRICS = ("sessions", "session_idle_qc_s", "avg_quantum_reserved", "cold_starts",
                   "instance_wait_s", "warm_instance_s", "avg_instances")


def summary_column(data: CampaignData, metric: str) -> str:
    """The column of ``point_summary`` that holds ``metric``: its name, or ``<name> (metric)``
    where an option of the grid has the same name (``sessions`` is both)."""
    return f"{metric} (metric)" if metric in data.params.columns else metric


def feature_metrics(runs: pd.DataFrame) -> list[str]:
    """The feature metrics some run of ``runs`` reports, in ``FEATURE_METRICS`` order after
    the per-group QC utilisations."""
    groups = [m for m in runs.columns if m.startswith("qc_utilization_")]
    return groups + [m for m in FEATURE_METRICS if m in runs.columns]


@dataclass
class CampaignData:
    """Everything the report draws, loaded from one campaign output directory."""

    root: Path
    plan: dict[str, Any]
    params: pd.DataFrame          # index point key; one column per grid parameter
    runs: pd.DataFrame            # one row per finished unit: point, seed, summary fields
    jobs: pd.DataFrame            # every job record: point, seed, JOB_FIELDS
    results: dict[str, list[ReplicationResult]]  # point key -> finished replications
    n_failed: int
    n_left: int

    @property
    def grid(self) -> dict[str, list[Any]]:
        return self.plan["grid"]

    def varied(self) -> list[str]:
        """Grid parameters with more than one value, in file order."""
        return [k for k, v in self.grid.items() if len(v) > 1]


def display_value(v: Any) -> Any:
    """Grid values as shown: a one-element list (a single policy) as its element."""
    if isinstance(v, list) and len(v) == 1:
        return v[0]
    if isinstance(v, list):
        return ",".join(map(str, v))
    return v


#: What ``results_kind`` finds in a results directory.
KINDS = ("campaign", "simulate", "gap")
#: Manifest kinds of ``hqsched simulate`` outputs (``scenario.describe``).
SIMULATE_KINDS = ("stochastic", "instance", "sampled-replay")
GAP_STUDY = "hqsched.validation.gap"


def results_kind(root: str | Path) -> str:
    """Which command wrote ``root``: "campaign" (``campaign run`` and ``plan simulate``,
    which runs its candidates as a campaign), "simulate" (one policy in ``root``, or
    one subdirectory per policy) or "gap"; InputError when none did."""
    root = Path(root)
    if (root / PLAN_FILE).is_file():
        return "campaign"
    manifest = _manifest(root)
    if manifest.get("study") == GAP_STUDY:
        return "gap"
    if manifest.get("kind") in SIMULATE_KINDS or _policy_dirs(root):
        return "simulate"
    raise InputError(f"{root}: not a results directory of hqsched (no {PLAN_FILE} of "
                     f"`campaign run` or `plan simulate`, no {MANIFEST} of `simulate` or "
                     f"`gap`); run one of them with --out {root} first")


def _manifest(root: Path) -> dict[str, Any]:
    """``root``'s manifest (config.json), or {} when absent or unreadable."""
    try:
        doc = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _policy_dirs(root: Path) -> dict[str, Path]:
    """Policy -> subdirectory of a several-policy ``simulate --out`` (``root/<policy>``)."""
    if not root.is_dir():
        return {}
    return {d.name: d for d in sorted(root.iterdir())
            if d.is_dir() and _manifest(d).get("kind") in SIMULATE_KINDS}


#: A point's finished units: its store and seed -> unit id.
Source = tuple[ResultStore, dict[int, str]]


def load(root: str | Path, progress: bool = True) -> CampaignData:
    """Load every finished unit of a campaign or ``simulate`` output directory (unfinished
    and failed ones are counted, not read); a corrupt unit is refused (InputError).
    ``progress``: a bar of the units read, on a terminal or in a notebook
    (``hqsched.progress``), shown only when reading takes over a second."""
    root = Path(root)
    kind = results_kind(root)
    if kind == "gap":
        raise InputError(f"{root}: a gap study, not simulation results (see "
                         f"hqsched.reports.gap_report)")
    if kind == "campaign":
        plan, sources, n_failed, n_left = _campaign_sources(root)
    else:
        plan, sources = _simulate_sources(root)
        n_failed = n_left = 0
    if not any(units for _, units in sources.values()):
        raise InputError(f"{root}: no finished units to report on (see `hqsched campaign "
                         f"status {root}`)")
    params = pd.DataFrame([{"point": p["key"], **{k: display_value(v)
                                                  for k, v in p["values"].items()}}
                           for p in plan["points"]]).set_index("point")
    results: dict[str, list[ReplicationResult]] = {}
    run_rows, job_frames = [], []
    n_units = sum(len(units) for _, units in sources.values())
    with bar(n_units, "reading results", "unit", progress=progress, delay=1.0,
             leave=False) as shown:
        for p in plan["points"]:
            key = p["key"]
            store, units = sources[key]
            for seed, unit in sorted(units.items()):
                summary, jobs = store.load(unit)
                results.setdefault(key, []).append(ReplicationResult(seed, summary, jobs))
                run_rows.append({"point": key, "seed": seed, **summary})
                job_frames.append(pd.DataFrame({"point": key, "seed": seed, **jobs}))
                shown.update(1)
    runs = pd.DataFrame(run_rows)
    # The paper's "average quantum tasks": in service plus pending, per seed.
    runs["avg_quantum_tasks"] = runs["avg_quantum_in_service"] + runs["avg_quantum_pending"]
    return CampaignData(root, plan, params, runs, pd.concat(job_frames, ignore_index=True),
                        results, n_failed, n_left)


def _campaign_sources(root: Path) -> tuple[dict[str, Any], dict[str, Source], int, int]:
    """A campaign directory's plan, finished units per point, failed and left counts."""
    plan = read_plan(root)
    st = status(root)
    if st.corrupt:  # never report altered numbers
        unit, why = next(iter(st.corrupt.items()))
        raise InputError(f"{root}: unit {unit} is corrupt: {why}; rerun `hqsched campaign "
                         f"run FILE --out {root}` to recompute it ({len(st.corrupt)} corrupt "
                         f"unit(s), see `hqsched campaign status {root}`)")
    done = set(st.done)
    store = ResultStore(root)
    sources = {p["key"]: (store, {s: unit_id(p["key"], s) for s in plan["seeds"]
                                  if unit_id(p["key"], s) in done})
               for p in plan["points"]}
    return plan, sources, len(st.failed), len(st.left)


def _simulate_sources(root: Path) -> tuple[dict[str, Any], dict[str, Source]]:
    """A ``simulate --out`` directory as a campaign: one point per policy (a grid over
    ``policy`` when it holds several), its options read from the manifest."""
    dirs = _policy_dirs(root) or {_manifest(root).get("policy", "?"): root}
    sources: dict[str, Source] = {}
    for policy, d in dirs.items():
        store = ResultStore(d)
        units = {}
        for path in sorted((d / SUMMARY_DIR).glob("seed-*.json")):
            unit = path.stem
            problem = store.problem(unit)
            if problem is not None and problem != NOT_STARTED:
                raise InputError(f"{d}: unit {unit} is corrupt: {problem}; rerun the "
                                 f"`hqsched simulate` command with --out {d} to recompute it")
            units[int(unit.removeprefix("seed-"))] = unit
        sources[policy] = (store, units)
    several = len(dirs) > 1
    fixed = _options_of_manifest(_manifest(next(iter(dirs.values()))))
    if several:
        fixed.pop("policy", None)
    keys = {p: point_key({"policy": p}) if several else "base" for p in dirs}
    plan = {"name": f"simulate {root.name}", "description": "", "kind": "simulate",
            "source": _command_of(next(iter(dirs.values()))) or "hqsched simulate",
            "fixed": fixed, "grid": {"policy": list(dirs)} if several else {},
            "seeds": sorted({s for _, units in sources.values() for s in units}),
            "points": [{"key": keys[p], "values": {"policy": p} if several else {}}
                       for p in dirs]}
    return plan, {keys[p]: src for p, src in sources.items()}


def _command_of(root: Path) -> str | None:
    runs = provenance.read_runs(root)
    return runs[0].get("command") if runs else None


#: Manifest field (``scenario.describe``) -> ``hqsched simulate`` option name.
_PLATFORM_OPTIONS = {"classical_workers": "classical-workers",
                     "worker_capacity_ops_per_s": "worker-capacity",
                     "quantum_computers": "quantum-computers", "max_classical": "max-classical",
                     "max_quantum": "max-quantum"}
_WORKLOAD_OPTIONS = {"interarrival_s": "interarrival", "qubits": "qubits",
                     "priorities": "priorities", "quantum_target": "quantum-target",
                     "fill_in": "fill-in", "iteration_scale": "iteration-scale"}


def _options_of_manifest(doc: dict[str, Any]) -> dict[str, Any]:
    """The ``hqsched simulate`` options a simulate manifest records (as campaign files name
    them), for the report's parameter list and axes."""
    out: dict[str, Any] = {"policy": doc.get("policy"),
                           "classical-mode": doc.get("classical_mode"),
                           "duration": doc.get("duration_s"), "warmup": doc.get("warmup_s")}
    platform = doc.get("platform") or {}
    out.update({opt: platform.get(field) for field, opt in _PLATFORM_OPTIONS.items()})
    if platform and platform.get("max_classical") is None and platform.get("max_quantum") is None:
        out["no-admission"] = True
    workload = doc.get("workload") or {}
    if workload.get("type", "WorkloadSpec") == "WorkloadSpec":
        out.update({opt: workload[field] for field, opt in _WORKLOAD_OPTIONS.items()
                    if field in workload})
    traces = doc.get("traces")
    if isinstance(traces, dict) and "dir" in traces:
        out["traces"] = traces["dir"]
    if doc.get("kind") != "stochastic":
        out["instance"] = doc.get("instance_file") or (doc.get("instance") or {}).get("name")
    return {k: v for k, v in out.items() if v is not None}


def point_summary(data: CampaignData) -> pd.DataFrame:
    """Per grid point: ``<metric>``, ``<metric>_ci_low``, ``<metric>_ci_high`` and ``seeds``."""
    rows = []
    for key, group in data.runs.groupby("point", sort=False):
        row: dict[str, Any] = {"point": key, "seeds": len(group)}
        for m in (*POINT_METRICS, *feature_metrics(data.runs)):
            mean, lo, hi, _ = stats.t_interval(group[m].astype(float))
            col = summary_column(data, m)
            row.update({col: mean, f"{col}_ci_low": lo, f"{col}_ci_high": hi})
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("point")
    return data.params.join(frame, how="inner")


def group_breakdown(data: CampaignData, by: str) -> pd.DataFrame:
    """Per grid point and value of ``by`` (qubits, priority): counts, mean with CI, percentiles."""
    frames = []
    for key, results in data.results.items():
        b = stats.breakdown(results, by)
        if not b.empty:
            frames.append(b.reset_index().assign(point=key))
    out = pd.concat(frames, ignore_index=True)
    return data.params.join(out.set_index("point"), how="inner")


def load_axis(interarrival_s: pd.Series | np.ndarray) -> np.ndarray:
    """Offered load in jobs per hour from the mean inter-arrival time (s)."""
    return 3600.0 / np.asarray(interarrival_s, dtype=float)


#: Options that define the paper's small scenario (Table 2): the workload and the platform.
#: Run length (duration, warm-up) and seeds are not among them: they change the precision of
#: the numbers, not what is measured.
PAPER_SCENARIO_OPTIONS = (
    "interarrival", "classical-workers", "worker-capacity", "quantum-computers",
    "max-classical", "max-quantum", "no-admission", "classical-mode", "qubits", "priorities",
    "quantum-target", "fill-in", "iteration-scale", "traces", "instance",
    # issue 17's features: a fleet, sessions or function instances are not the paper's platform
    "qc-group", "routing", "sessions", "max-instances", "cold-start", "cold-start-work",
    "keep-alive")
#: The axes the paper varies (Section IV): a grid over them is still the paper's scenario.
PAPER_AXES = ("policy", "classical-workers", "quantum-computers", "interarrival")


def paper_differences(data: CampaignData) -> list[str]:
    """How the run differs from the paper's small scenario (``hqsched simulate``'s
    defaults), as ``option = value (paper: default)``; empty when it is that scenario,
    possibly over a grid of the axes the paper varies."""
    from hqsched.experiments.scenario import OPTIONS  # the defaults: the paper's scenario

    defaults = {o.name: o.default for o in OPTIONS}
    plan = data.plan
    out = [f"grid over {name}" for name in plan["grid"] if name not in PAPER_AXES]
    for name in PAPER_SCENARIO_OPTIONS:
        if name in plan["grid"]:
            continue
        value = plan["fixed"].get(name, defaults.get(name))
        if _same(value, defaults.get(name)):
            continue
        out.append(f"{name} = {display_value(_jsonable(value))} "
                   f"(paper: {display_value(_jsonable(defaults.get(name)))})")
    return out


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _same(a: Any, b: Any) -> bool:
    """Option values equal once parsed (lists and tuples alike, 600 and 600.0 alike)."""
    return json.dumps(_jsonable(a), sort_keys=True, default=str) == \
        json.dumps(_jsonable(b), sort_keys=True, default=str) or \
        (isinstance(a, (int, float)) and isinstance(b, (int, float)) and float(a) == float(b))
