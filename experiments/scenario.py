"""Scenarios from command-line options and TOML files (same option names in both).

One table of options (``OPTIONS``) drives both argparse and the TOML
reader: a TOML key is a long option name with ``-`` or ``_``. Precedence:
built-in defaults (the paper's small scenario, Table 2) < TOML file <
command line. Relative paths in a TOML file (``traces``, ``instance``) are
relative to the file's directory; ``out`` is relative to the working
directory.

Every error is one ``InputError`` line naming the option (``--warmup``)
or the file and key (``small.toml: warmup``), and the offending value.
"""

from __future__ import annotations

import argparse
import hashlib
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from hqsched.errors import InputError
from hqsched.experiments.results_store import FORMATS, require_format
from hqsched.inputs import (
    MAX_CAPACITY,
    MAX_ITERATION_SCALE,
    MAX_PRIORITY,
    MAX_PROCESSES,
    MAX_SERVERS,
    MIN_CAPACITY,
    MIN_GAP_S,
    MIN_ITERATION_SCALE,
    PROCESSES_HELP,
    SEEDS_SYNTAX,
    bounded_float,
    bounded_int,
    load_toml,
    parse_choice,
    parse_duration,
    parse_flag,
    parse_int_list,
    parse_seeds,
    parse_text,
)
from hqsched.instances.io import (
    CHAIN_COLUMNS,
    instance_to_dict,
    job_csv_header,
    read_instance,
    read_job_csv,
)
from hqsched.instances.model import Instance, Platform
from hqsched.instances.streams import stream
from hqsched.instances.traces import (
    DEFAULT_TRACE_SET,
    TRACE_SETS,
    is_trace_set_name,
    load_traces,
    parse_traces,
)
from hqsched.instances.workload import FILL_IN_CHOICES, QUANTUM_TARGETS, JobSampler, WorkloadSpec
from hqsched.online.config import CLASSICAL_MODES, DROP_WINDOWS, SimulationConfig

# --------------------------------------------------------------------------
# Value parsers: (raw value from argv or TOML, where) -> value; the generic
# ones (durations, seeds, integers, ...) are in hqsched.inputs.
# --------------------------------------------------------------------------


def _policies() -> Any:
    """The engine's policy module (imported when a policy is first named)."""
    try:
        from hqsched.online import policies
    except ImportError as exc:
        raise InputError(f"--policy: the policy registry hqsched.online.policies is not "
                         f"available ({exc})") from None
    return policies


def registered_policies() -> tuple[str, ...]:
    """Names in the engine's policy registry, in registry order."""
    return tuple(_policies().POLICIES)


def parse_policies(value: Any, where: str) -> tuple[str, ...]:
    """Policy names: ``paper`` (the paper's four), ``all`` (every registered policy), or a
    comma list of names and user policies (``file.py:Class``, ``module:Class``), which are
    loaded and registered here (a bad one is refused now, not in a worker)."""
    policies = _policies()
    items = value if isinstance(value, list) else str(value).split(",")
    names = [str(v).strip() for v in items]
    if names == ["all"]:
        return registered_policies()
    if names == ["paper"]:
        return policies.PAPER_POLICIES
    resolved = []
    for name in names:
        if name not in policies.POLICIES and ":" not in name:
            raise InputError(f"{where}: unknown policy {name!r} (choose from "
                             f"{', '.join(registered_policies())}, file.py:Class, a comma "
                             "list, paper or all)")
        try:
            resolved.append(policies.resolve_policy(name).name)
        except InputError as exc:
            raise InputError(str(exc).replace("--policy", where, 1)) from None
    if not resolved or len(set(resolved)) != len(resolved):
        raise InputError(f"{where}: give distinct policy names, got {value!r}")
    return tuple(resolved)


# --------------------------------------------------------------------------
# The option table
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Option:
    """One scenario option: long name (CLI ``--name``, TOML ``name``), parser, default."""

    name: str
    parse: Callable[[Any, str], Any]
    default: Any
    help: str
    metavar: str | None = None
    flag: bool = False
    #: How a value read from a file in directory ``base`` names files: ``rebase(base, value)``
    #: makes its relative paths relative to that file (None: the value names no file).
    rebase: Callable[[Path, Any], Any] | None = None

    def relative_to(self, base: Path, value: Any) -> Any:
        """A value read from a file in ``base``, its relative paths taken relative to it."""
        return value if self.rebase is None else self.rebase(base, value)


def _rebase_path(base: Path, value: Any) -> Any:
    """A relative file or directory path, relative to ``base`` (a bundled trace set's name is
    a name, not a path)."""
    if isinstance(value, str) and not is_trace_set_name(value):
        return str(base / value)
    return value


def _rebase_policy_files(base: Path, value: Any) -> Any:
    """The user policy files (``file.py:Class``) of a comma list, relative to ``base``."""
    if not isinstance(value, str):
        return value
    return ",".join(str(base / v.strip()) if ".py:" in v else v for v in value.split(","))


_SERVERS = bounded_int(1, MAX_SERVERS)

OPTIONS: tuple[Option, ...] = (
    Option("interarrival", lambda v, w: parse_duration(v, w, minimum=MIN_GAP_S), 600.0,
           "mean inter-arrival time of the Poisson arrivals (600, 600s, 10m; default 600 s; "
           "1e-6 s to 1e9 s)", "T"),
    Option("classical-workers", _SERVERS, 1, "C, classical workers (default 1)", "C"),
    Option("worker-capacity", bounded_float(MIN_CAPACITY, MAX_CAPACITY), 1e9,
           "S, capacity of one classical worker in operations/s, 1 to 1e15 (default 1e9)", "S"),
    Option("quantum-computers", _SERVERS, 4, "Q, quantum computers (default 4)", "Q"),
    Option("max-classical", _SERVERS, 40,
           "C_max: admit a job only if active classical tasks < C_max (default 40)", "N"),
    Option("max-quantum", _SERVERS, 40,
           "Q_max: admit a job only if pending quantum tasks < Q_max (default 40)", "N"),
    Option("no-admission", parse_flag, False, "admission control off: every job is accepted",
           flag=True),
    Option("policy", parse_policies, "paper",
           "quantum scheduling policy: a name (fifo, lifo, random, weighted, fifo-swap, las, "
           "sqf, priority, aging, srpt-oracle), a user policy file.py:Class, a comma list, "
           "paper (the paper's four: the default) or all (every registered policy); one "
           "sub-directory and table per policy", "P", rebase=_rebase_policy_files),
    Option("classical-mode", parse_choice(CLASSICAL_MODES), "serverless",
           "serverless (processor sharing, default) or dedicated (FIFO servers)", "MODE"),
    Option("qubits", parse_int_list, (4, 6, 8, 10), "qubit counts drawn uniformly (default 4,6,8,10)",
           "LIST"),
    Option("priorities", lambda v, w: parse_int_list(v, w, maximum=MAX_PRIORITY), (1, 2, 4),
           f"priorities drawn uniformly, each <= {MAX_PRIORITY} (default 1,2,4)",
           "LIST"),
    Option("quantum-target", parse_text, "ibm-fastest",
           "quantum time target: ibm-fastest (default), ibm-last-row (the estimate file's last "
           "row per qubit count: the reference simulator's rule), ibm:<backend> or measured",
           "TARGET"),
    Option("fill-in", parse_choice(FILL_IN_CHOICES), "none",
           "gaps in the traces: none (error, default), interpolate (IBM targets between "
           "neighbours, nearest quantum-time shape) or nearest (every missing value from the "
           "nearest qubit count)", "RULE"),
    Option("iteration-scale", bounded_float(MIN_ITERATION_SCALE, MAX_ITERATION_SCALE), 1.0,
           "multiply each job's iteration count by this, 1e-6 to 1e6 (default 1 = the paper's "
           "workload)", "X"),
    Option("traces", parse_traces, None,
           f"trace set: a bundled set's name ({', '.join(TRACE_SETS)}; default "
           f"{DEFAULT_TRACE_SET}) or a directory of the same CSV files", "SET|DIR",
           rebase=_rebase_path),
    Option("instance", parse_text, None,
           "replay a job list instead of the stochastic workload: inst.json or jobs.csv",
           "FILE", rebase=_rebase_path),
    Option("duration", lambda v, w: parse_duration(v, w, allow_inf=True), 7 * 86400.0,
           "simulated time: 7d, 12h, 30m, 600s, 600, at most 1e9 s (default 7d; with "
           "--instance: until every job completes)", "T"),
    Option("warmup", lambda v, w: parse_duration(v, w, allow_zero=True), 12 * 3600.0,
           "warm-up, not measured: time averages and (with --drop-window window) drops count "
           "from it; job times count every job completing after it, including jobs that "
           "arrived before (MODEL.md); "
           "7d, 12h, 30m, 600s, 600 (default 12h; with --instance: 0)", "T"),
    Option("drop-window", parse_choice(DROP_WINDOWS), "window",
           "arrivals the drop probability counts: window (after the warm-up, default) or run "
           "(every arrival from time 0: the reference simulator's counters)", "W"),
    Option("seeds", parse_seeds, tuple(range(10)),
           f"replication seeds: {SEEDS_SYNTAX}; at most 100000 (default n=10, seeds 0-9)",
           "SEEDS"),
    Option("out", parse_text, None, "output directory; reruns resume from it (default: none, "
           "results are only printed)", "DIR"),
    Option("processes", bounded_int(1, MAX_PROCESSES), None, PROCESSES_HELP, "N"),
    Option("format", parse_choice(FORMATS), "csv", "per-job record files: csv (default) or parquet",
           "FMT"),
    Option("overwrite", parse_flag, False, "discard results of a different scenario in --out",
           flag=True),
    Option("progress", parse_flag, False, "show the progress bar even when stderr is not a "
           "terminal (a file, a pipe); by default it shows on a terminal or in a notebook",
           flag=True),
)

_BY_NAME = {o.name: o for o in OPTIONS}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add every option of ``OPTIONS`` plus ``--config`` to ``parser``.

    Values stay raw strings (and absent when not given), so that the TOML
    file can fill the rest and errors are reported by ``build_plan``.
    """
    parser.add_argument("--config", metavar="FILE",
                        help="scenario TOML file (keys = these option names); "
                             "options given here override it")
    for o in OPTIONS:
        if o.flag:
            parser.add_argument(f"--{o.name}", action="store_true", default=argparse.SUPPRESS,
                                help=o.help)
        else:
            parser.add_argument(f"--{o.name}", metavar=o.metavar, default=argparse.SUPPRESS,
                                help=o.help)


# --------------------------------------------------------------------------
# Settings: merged, parsed option values that remember where each came from
# --------------------------------------------------------------------------

@dataclass
class Settings:
    values: dict[str, Any]
    given: dict[str, str]  # name -> where it was given ("--warmup", "a.toml: warmup")

    def where(self, name: str) -> str:
        return self.given.get(name, f"--{name} (default)")

    def __getitem__(self, name: str) -> Any:
        return self.values[name]


def read_toml(path: str | Path) -> dict[str, tuple[Any, str]]:
    """Raw values of a scenario file: option name -> (value, 'file: key')."""
    path = Path(path)
    data = load_toml(path, "--config")
    out: dict[str, tuple[Any, str]] = {}
    for key, value in data.items():
        name = key.replace("_", "-")
        if name not in _BY_NAME:
            raise InputError(f"{path}: unknown key {key!r} (known: "
                             f"{', '.join(o.name for o in OPTIONS)})")
        if name in out:
            raise InputError(f"{path}: key {key!r} is given twice (with '-' and '_')")
        value = _BY_NAME[name].relative_to(path.parent, value)  # inputs beside the file
        out[name] = (value, f"{path}: {key}")
    return out


def settings_from(cli: dict[str, Any], config_file: str | None = None) -> Settings:
    """Defaults < TOML file < CLI (``cli``: option name -> raw value, only given ones)."""
    raw: dict[str, tuple[Any, str]] = read_toml(config_file) if config_file else {}
    for name, (value, where) in raw.items():
        if name in cli:  # overridden, but a bad value in the file is still an error
            _BY_NAME[name].parse(value, where)
    for name, value in cli.items():
        raw[name] = (value, f"--{name}")
    values = {o.name: o.default for o in OPTIONS}
    given = {}
    for name, (value, where) in raw.items():
        values[name] = _BY_NAME[name].parse(value, where)
        given[name] = where
    return Settings(values, given)


def settings_from_namespace(ns: argparse.Namespace) -> Settings:
    cli = {o.name: getattr(ns, o.name.replace("-", "_")) for o in OPTIONS
           if hasattr(ns, o.name.replace("-", "_"))}
    return settings_from(cli, getattr(ns, "config", None))


# --------------------------------------------------------------------------
# Building the run
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class SampledReplay:
    """A CSV job list whose rows lack chains: chains are drawn from traces, per seed.

    Picklable; implements the runner's per-seed scenario protocol.
    """

    path: str
    spec: WorkloadSpec
    traces_dir: str | None
    options: dict = field(hash=False)  # SimulationConfig fields other than instance

    @cached_property
    def _sampler(self) -> JobSampler:
        return JobSampler(load_traces(self.traces_dir), self.spec)

    def config_for(self, seed: int) -> SimulationConfig:
        inst = read_job_csv(self.path, self._sampler.sample_attributes, stream(seed, "instance"))
        return SimulationConfig(instance=inst, traces_dir=self.traces_dir, **self.options)

    def manifest(self) -> dict[str, Any]:
        return {"kind": "sampled-replay", "instance_file": self.path,
                "instance_sha256": _sha256_file(Path(self.path)),
                "workload": asdict(self.spec), "traces": _traces_fingerprint(self.traces_dir),
                **_jsonable(self.options)}


@dataclass
class Plan:
    """What ``hqsched simulate`` runs: one scenario per policy, the seeds and output."""

    scenarios: dict[str, SimulationConfig | SampledReplay]
    seeds: tuple[int, ...]
    out: Path | None
    processes: int | None
    fmt: str
    overwrite: bool
    force_progress: bool
    settings: Settings

    def out_dir(self, policy: str) -> Path | None:
        """Output directory of one policy: ``out`` itself, or ``out/<policy>`` for several."""
        if self.out is None:
            return None
        return self.out / policy if len(self.scenarios) > 1 else self.out


def build_plan(settings: Settings) -> Plan:
    """Validate everything eagerly (traces, instance, warm-up) and build the scenarios."""
    s = settings
    policies: tuple[str, ...] = s["policy"]
    if "policy" not in s.given:
        policies = parse_policies(s["policy"], s.where("policy"))
    require_format(s["format"])
    admission = not s["no-admission"]
    platform = Platform(
        classical_workers=s["classical-workers"], worker_capacity_ops_per_s=s["worker-capacity"],
        quantum_computers=s["quantum-computers"],
        max_classical=s["max-classical"] if admission else None,
        max_quantum=s["max-quantum"] if admission else None)
    replay = s["instance"] is not None
    duration = s["duration"] if (not replay or "duration" in s.given) else math.inf
    warmup = s["warmup"] if (not replay or "warmup" in s.given) else 0.0
    if not replay and math.isinf(duration):
        raise InputError(f"{s.where('duration')}: a stochastic workload needs a finite "
                         f"duration, got inf")
    if warmup >= duration:
        raise InputError(f"{s.where('warmup')}: warm-up ({_fmt_s(warmup)}) must be shorter "
                         f"than the duration ({_fmt_s(duration)}, {s.where('duration')})")
    spec = WorkloadSpec(interarrival_s=s["interarrival"], qubits=s["qubits"],
                        priorities=s["priorities"], quantum_target=s["quantum-target"],
                        fill_in=s["fill-in"], iteration_scale=s["iteration-scale"])
    common: dict[str, Any] = dict(platform=platform, classical_mode=s["classical-mode"],
                                  duration_s=duration, warmup_s=warmup)
    if s["drop-window"] != "window":  # only when asked: manifests of earlier runs stay valid
        common["drop_window"] = s["drop-window"]
    scenarios: dict[str, SimulationConfig | SampledReplay] = {}
    if not replay:
        _check_workload(spec, s)
        for p in policies:
            scenarios[p] = SimulationConfig(policy=p, workload=spec, traces_dir=s["traces"],
                                            **common)
    else:
        path = Path(s["instance"])
        where = s.where("instance")
        if path.suffix.lower() == ".json":
            inst = _not_empty(read_instance(path), where)
            for p in policies:
                scenarios[p] = SimulationConfig(policy=p, instance=inst, traces_dir=s["traces"],
                                                **common)
        elif path.suffix.lower() == ".csv":
            if _csv_has_chains(path, where):
                inst = _not_empty(read_job_csv(path), where)
                for p in policies:
                    scenarios[p] = SimulationConfig(policy=p, instance=inst,
                                                    traces_dir=s["traces"], **common)
            else:
                _check_workload(spec, s)
                for p in policies:
                    sampled = SampledReplay(str(path), spec, s["traces"], {"policy": p, **common})
                    scenarios[p] = sampled
                # Surface bad rows now, not in a worker.
                first = sampled.config_for(s["seeds"][0])
                assert first.instance is not None  # a replay
                _not_empty(first.instance, where)
        else:
            raise InputError(f"{where}: must be a .json instance or a .csv job list, "
                             f"got {str(path)!r}")
    out = Path(s["out"]) if s["out"] is not None else None
    return Plan(scenarios, s["seeds"], out, s["processes"], s["format"], s["overwrite"],
                s["progress"], settings)


def _not_empty(instance: Instance, where: str) -> Instance:
    if len(instance) == 0:
        raise InputError(f"{where}: the job list has no jobs; nothing to simulate")
    return instance


def _check_workload(spec: WorkloadSpec, s: Settings) -> None:
    """Load the traces and build the job sampler once, so that a bad trace directory,
    quantum target or qubit count is reported (naming its option) before any run."""
    from hqsched.online.engine import cached_traces
    # A bundled set is read once per process, not once per grid point; a directory
    # is read each time (its files may change between calls).
    bundled = s["traces"] is None or is_trace_set_name(s["traces"])
    try:
        traces = (cached_traces if bundled else load_traces)(s["traces"])
    except InputError as exc:
        raise InputError(f"{s.where('traces')}: {exc}") from None
    target = spec.quantum_target
    if target not in QUANTUM_TARGETS:
        where = f"{s.where('quantum-target')}"
        if not target.startswith("ibm:"):
            raise InputError(f"{where}: must be {', '.join(QUANTUM_TARGETS[:-1])}, "
                             f"ibm:<backend> or {QUANTUM_TARGETS[-1]}, got {target!r}")
        if target[4:] not in traces.ibm_backends():
            raise InputError(f"{where}: unknown IBM backend {target[4:]!r} (available: "
                             f"{', '.join(traces.ibm_backends())})")
    try:
        JobSampler(traces, spec)
    except InputError as exc:
        # The sampler's message names the trace file and qubit count; add the option.
        raise InputError(f"{s.where('qubits')}={','.join(map(str, spec.qubits))}: {exc}") from None


def _csv_has_chains(path: Path, where: str) -> bool:
    header = job_csv_header(path, where)  # UTF-8, known columns, one-line errors
    return all(c in header for c in CHAIN_COLUMNS)


def _fmt_s(seconds: float) -> str:
    return "inf" if math.isinf(seconds) else f"{seconds:g} s"


# --------------------------------------------------------------------------
# Scenario -> manifest (JSON), for the output directory's config.json
# --------------------------------------------------------------------------

def options_of(config: SimulationConfig) -> dict[str, Any]:
    """The ``hqsched simulate`` option values that produce ``config`` (stochastic
    workloads; the inverse of building a scenario from options), for labelling
    results with the same names as campaign files."""
    p, w = config.platform, config.workload
    doc: dict[str, Any] = {
        "classical-workers": p.classical_workers, "worker-capacity": p.worker_capacity_ops_per_s,
        "quantum-computers": p.quantum_computers, "max-classical": p.max_classical,
        "max-quantum": p.max_quantum, "policy": config.policy,
        "classical-mode": config.classical_mode, "duration": config.duration_s,
        "warmup": config.warmup_s}
    if config.drop_window != "window":
        doc["drop-window"] = config.drop_window
    if config.traces_dir is not None:
        doc["traces"] = config.traces_dir
    if isinstance(w, WorkloadSpec):
        doc.update({"interarrival": w.interarrival_s, "qubits": list(w.qubits),
                    "priorities": list(w.priorities), "quantum-target": w.quantum_target,
                    "fill-in": w.fill_in, "iteration-scale": w.iteration_scale})
    return doc


def describe(scenario: SimulationConfig | Any) -> dict[str, Any]:
    """A JSON description that identifies the scenario (resume refuses a different one)."""
    if not isinstance(scenario, SimulationConfig):
        return scenario.manifest()
    doc: dict[str, Any] = {
        "kind": "stochastic" if scenario.workload is not None else "instance",
        "policy": scenario.policy, "classical_mode": scenario.classical_mode,
        "duration_s": scenario.duration_s, "warmup_s": scenario.warmup_s,
        "platform": asdict(scenario.platform), "record_schedule": scenario.record_schedule,
        "traces": _traces_fingerprint(scenario.traces_dir),
    }
    if scenario.drop_window != "window":  # absent at the default: earlier manifests match
        doc["drop_window"] = scenario.drop_window
    if scenario.policy_source is not None:  # a user policy: its code identifies the results
        doc["policy_source"] = _policies().policy_fingerprint(scenario.policy_source)
    if scenario.workload is not None:
        # The type too: two workload kinds may share field names.
        doc["workload"] = {"type": type(scenario.workload).__name__, **asdict(scenario.workload)}
    if scenario.instance is not None:
        doc["instance"] = _instance_fingerprint(scenario.instance)
    return _jsonable(doc)


def _jsonable(doc: Any) -> Any:
    if isinstance(doc, dict):
        return {k: _jsonable(v) for k, v in doc.items()}
    if isinstance(doc, (list, tuple)):
        return [_jsonable(v) for v in doc]
    if isinstance(doc, Platform):
        return _jsonable(asdict(doc))
    if isinstance(doc, float) and math.isinf(doc):
        return "inf"
    return doc


def _instance_fingerprint(inst: Instance) -> dict[str, Any]:
    import json
    text = json.dumps(instance_to_dict(inst), sort_keys=True)
    return {"name": inst.name, "jobs": len(inst),
            "sha256": hashlib.sha256(text.encode()).hexdigest()}


def _traces_fingerprint(directory: str | None) -> Any:
    """None for the default traces; a bundled set's name; for a user directory, its path
    and content hash."""
    if directory is None:
        return None
    if is_trace_set_name(directory):
        return {"set": directory}
    root = Path(directory)
    h = hashlib.sha256()
    for f in sorted(root.glob("*.csv")):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return {"dir": str(root), "sha256": h.hexdigest()}


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
