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
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, is_dataclass
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
    as_number,
    bounded_float,
    bounded_int,
    load_toml,
    parse_choice,
    parse_duration,
    parse_flag,
    parse_int_list,
    parse_nonnegative_int,
    parse_positive_int,
    parse_seeds,
    parse_text,
)
from hqsched.instances.fleet import check_eligible, time_factors
from hqsched.instances.io import (
    CHAIN_COLUMNS,
    instance_to_dict,
    job_csv_header,
    read_instance,
    read_job_csv,
)
from hqsched.instances.model import MAX_OPS, Instance, Platform, QCGroup, check_fleet
from hqsched.instances.streams import stream
from hqsched.instances.traces import (
    DEFAULT_TRACE_SET,
    TRACE_SETS,
    is_trace_set_name,
    load_traces,
    parse_traces,
)
from hqsched.instances.workload import FILL_IN_CHOICES, QUANTUM_TARGETS, JobSampler, WorkloadSpec
from hqsched.online.config import (
    CLASSICAL_MODES,
    DROP_WINDOWS,
    Lifecycle,
    Sessions,
    SimulationConfig,
)

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
    #: May be given several times on the command line (a list of values, e.g. --qc-group).
    repeat: bool = False
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


# --------------------------------------------------------------------------
# Platform features of issue 17 (docs/platform-features.md): a QC fleet,
# routing, runtime sessions, serverless function instances (cold starts)
# --------------------------------------------------------------------------

#: The built-in routings (``SimulationConfig.routing``) when the engine's registry is absent.
BUILTIN_ROUTINGS = ("fastest", "smallest", "lowest")
#: Grammar of one QC group, for help texts and errors.
QC_GROUP_SYNTAX = "NAME:COUNT[:qubits=Q][:backend=B|:speed=X][:cost=C]"
#: A group's ``key=value`` fields: spec key -> QCGroup field.
_GROUP_KEYS = {"qubits": "qubits", "backend": "backend", "speed": "speed",
               "cost": "cost_per_hour"}
#: Options that configure sessions / function instances (``Sessions`` / ``Lifecycle``).
SESSION_OPTIONS = ("session-max-length", "session-idle-timeout")
LIFECYCLE_OPTIONS = ("max-instances", "cold-start", "cold-start-work", "keep-alive")


def group_fields(text: str, where: str, count_range: bool = False) -> dict[str, Any]:
    """``NAME:COUNT[:key=value]...`` -> QCGroup keyword arguments (``QC_GROUP_SYNTAX``).

    ``count_range``: COUNT may also be ``LO-HI`` (the planner's candidate counts), returned
    as ``count = (lo, hi)``. Fields are checked by ``QCGroup`` itself (one-line errors).
    """
    parts = [p.strip() for p in str(text).split(":")]
    shape = f"{where}: a QC group must look like {QC_GROUP_SYNTAX}, got {text!r}"
    if len(parts) < 2 or not parts[0]:
        raise InputError(shape)
    fields: dict[str, Any] = {"name": parts[0]}
    if count_range and "-" in parts[1]:
        here = f"{where}: group {parts[0]!r} count"
        lo, _, hi = parts[1].partition("-")
        low, high = (parse_nonnegative_int(v, here, MAX_SERVERS) for v in (lo, hi))
        if high < low:
            raise InputError(f"{here}: must be LO-HI with LO <= HI, got {parts[1]!r}")
        fields["count"] = (low, high)
    else:
        fields["count"] = parse_nonnegative_int(parts[1], f"{where}: group {parts[0]!r} count",
                                                MAX_SERVERS)
    for part in parts[2:]:
        key, sep, value = part.partition("=")
        if not sep or key not in _GROUP_KEYS or _GROUP_KEYS[key] in fields:
            raise InputError(f"{where}: group {parts[0]!r}: unknown or repeated field "
                             f"{part!r} (fields: qubits=Q, backend=B, speed=X, cost=C)")
        here = f"{where}: group {parts[0]!r} {key}"
        if key == "qubits":
            fields["qubits"] = parse_positive_int(value, here)
        elif key == "backend":
            fields["backend"] = parse_text(value, here)
        else:
            fields[_GROUP_KEYS[key]] = _nonnegative_float(value, here)
    return fields


def make_group(fields: dict[str, Any], where: str) -> QCGroup:
    """A QCGroup from ``group_fields``' output, its range errors prefixed with ``where``."""
    try:
        return QCGroup(**fields)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None


def group_spec(group: QCGroup) -> str:
    """The canonical ``NAME:COUNT[:...]`` text of ``group`` (fields away from defaults only)."""
    parts = [group.name, str(group.count)]
    if group.qubits is not None:
        parts.append(f"qubits={group.qubits}")
    if group.backend is not None:
        parts.append(f"backend={group.backend}")
    elif group.speed != 1.0:
        parts.append(f"speed={_exact(group.speed)}")
    if group.cost_per_hour != 1.0:
        parts.append(f"cost={_exact(group.cost_per_hour)}")
    return ":".join(parts)


def _exact(x: float) -> str:
    """Short text of ``x`` that reads back as exactly ``x`` (``2``, ``0.5``, ``1.2345678``)."""
    short = f"{x:g}"
    return short if float(short) == x else repr(float(x))


def parse_qc_groups(value: Any, where: str) -> tuple[str, ...]:
    """A QC fleet -> its groups' canonical specs (JSON-friendly; ``qc_groups_of`` builds them).

    Accepts ``none`` (the paper's identical QCs), one spec, a comma list of specs, a list of
    those (a repeated ``--qc-group``, a TOML list) or TOML tables ``{name=.., count=..}``.
    """
    items = value if isinstance(value, list) else [value]
    specs: list[str] = []
    for item in items:
        if isinstance(item, dict):
            fields = {k.replace("-", "_"): v for k, v in item.items()}
            if "cost" in fields:
                fields["cost_per_hour"] = fields.pop("cost")
            try:
                specs.append(group_spec(QCGroup(**fields)))
            except TypeError:
                raise InputError(f"{where}: a QC group table takes name, count, qubits, "
                                 f"backend, speed, cost; got {item!r}") from None
            except InputError as exc:
                raise InputError(f"{where}: {exc}") from None
            continue
        if not isinstance(item, str):
            raise InputError(f"{where}: must be QC groups {QC_GROUP_SYNTAX} (comma list) or "
                             f"none, got {item!r}")
        for text in item.split(","):
            if text.strip().lower() == "none" and len(items) == 1 and "," not in item:
                return ()
            specs.append(group_spec(make_group(group_fields(text, where), where)))
    groups = qc_groups_of(tuple(specs), where)
    return tuple(group_spec(g) for g in groups)


def qc_groups_of(specs: tuple[str, ...], where: str) -> tuple[QCGroup, ...]:
    """The QCGroups of canonical specs (``parse_qc_groups``), checked as a fleet."""
    groups = tuple(make_group(group_fields(s, where), where) for s in specs)
    try:
        check_fleet(groups)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    return groups


def _operations(value: Any, where: str) -> float:
    """A classical work in operations: a finite number from 0 to ``MAX_OPS``."""
    x = _nonnegative_float(value, where)
    if x > MAX_OPS:
        raise InputError(f"{where}: must be at most {MAX_OPS:g} operations, got {value!r}")
    return x


def _nonnegative_float(value: Any, where: str) -> float:
    """A finite number >= 0 (text or a TOML number)."""
    x = as_number(value)
    if not (math.isfinite(x) and x >= 0):
        raise InputError(f"{where}: must be a finite number >= 0, got {value!r}")
    return x


def parse_routing(value: Any, where: str) -> str:
    """A registered routing name (built-ins ``fastest``, ``smallest``, ``lowest``), or a user
    routing ``file.py:Class`` when the engine can load one (``load_routing``)."""
    name = parse_text(value, where)
    policies = _policies()
    known = tuple(getattr(policies, "ROUTINGS", BUILTIN_ROUTINGS))
    if name in known:
        return name
    load = getattr(policies, "load_routing", None)
    if ":" not in name or load is None:
        extra = ", file.py:Class" if load is not None else ""
        raise InputError(f"{where}: unknown routing {name!r} (choose from "
                         f"{', '.join(known)}{extra})")
    try:
        return str(load(name).name)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None


def parse_sessions(value: Any, where: str) -> str:
    """``none``, ``all`` or ``priority>=K`` (the jobs of priority >= K hold sessions)."""
    text = str(value).strip().lower().replace(" ", "") if isinstance(value, str) else ""
    if text in ("none", "all"):
        return text
    if text.startswith("priority>="):
        k = parse_positive_int(text.removeprefix("priority>="), f"{where} priority>=K",
                               MAX_PRIORITY)
        return f"priority>={k}"
    raise InputError(f"{where}: must be none, all or priority>=K, got {value!r}")


def sessions_of(s: Settings) -> Sessions | None:
    """The ``Sessions`` of the settings (None: off), refusing session options without it."""
    mode = s["sessions"]
    if mode == "none":
        stray = [n for n in SESSION_OPTIONS if n in s.given and "sessions" not in s.given]
        if stray:
            raise InputError(f"{s.where(stray[0])}: only used with --sessions all or "
                             f"priority>=K (sessions are off)")
        return None
    k = 1 if mode == "all" else int(mode.removeprefix("priority>="))
    return Sessions(min_priority=k, max_length_s=s["session-max-length"],
                    idle_timeout_s=s["session-idle-timeout"])


def lifecycle_of(s: Settings) -> Lifecycle | None:
    """The ``Lifecycle`` when any function-instance option is given (None: always warm)."""
    given = [n for n in LIFECYCLE_OPTIONS if n in s.given]
    if not given:
        return None
    if s["classical-mode"] != "serverless":
        raise InputError(f"{s.where(given[0])}: function instances (cold starts) need "
                         f"--classical-mode serverless, got {s['classical-mode']} "
                         f"({s.where('classical-mode')})")
    return Lifecycle(max_instances=s["max-instances"], cold_start_s=s["cold-start"],
                     cold_start_ops=s["cold-start-work"], keep_alive_s=s["keep-alive"])


def feature_config(s: Settings) -> dict[str, Any]:
    """The SimulationConfig fields of the features that are on (none: an empty dict, so that
    a scenario without them is built, described and stored exactly as before)."""
    out: dict[str, Any] = {}
    if s["routing"] != "fastest":
        out["routing"] = s["routing"]
    sessions = sessions_of(s)
    if sessions is not None:
        out["sessions"] = sessions
    lifecycle = lifecycle_of(s)
    if lifecycle is not None:
        out["lifecycle"] = lifecycle
    return out


def fleet_of(s: Settings) -> tuple[QCGroup, ...]:
    """The QC groups of the settings; with ``--quantum-computers`` also given, it must be
    their total."""
    groups = qc_groups_of(s["qc-group"], s.where("qc-group"))
    if groups and "quantum-computers" in s.given \
            and s["quantum-computers"] != sum(g.count for g in groups):
        raise InputError(f"{s.where('quantum-computers')}={s['quantum-computers']}: differs "
                         f"from the QC groups' total {sum(g.count for g in groups)} "
                         f"({s.where('qc-group')}); give one of them")
    return groups


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
    Option("qc-group", parse_qc_groups, (),
           f"a group of identical quantum computers, {QC_GROUP_SYNTAX}; repeat it (or give a "
           f"comma list) for a heterogeneous fleet, e.g. --qc-group torino:2:qubits=133:"
           f"backend=ibm_torino --qc-group slow:3:speed=0.5. backend: an IBM backend of the "
           f"traces (its measured times); speed: times divide by it (default 1); qubits: "
           f"largest task it runs (default any); cost: per QC per hour, for the planner "
           f"(default 1). Replaces --quantum-computers (default none: Q identical QCs)",
           "GROUP", repeat=True),
    Option("routing", parse_routing, "fastest",
           "which free eligible QC takes a quantum task with a fleet: fastest (default), "
           "smallest (fewest qubits, then fastest) or lowest (lowest-numbered); with identical "
           "QCs every rule takes the lowest-numbered free QC", "RULE",
           rebase=_rebase_policy_files),
    Option("sessions", parse_sessions, "none",
           "runtime sessions: none (default), all, or priority>=K (jobs of priority >= K "
           "reserve their QC between iterations)", "WHO"),
    Option("session-max-length", lambda v, w: parse_duration(v, w, allow_inf=True), 8 * 3600.0,
           "a session ends this long after it opened (8h, 30m, inf; default 8h)", "T"),
    Option("session-idle-timeout", lambda v, w: parse_duration(v, w, allow_inf=True), 60.0,
           "a session ends when its job's next quantum task is not ready this long after the "
           "last one ended (60s, 5m, inf; default 60 s)", "T"),
    Option("max-instances", bounded_int(1, 1_000_000), 1_000_000,
           "serverless function instances: at most this many (default 1000000); any "
           "instance option turns cold starts on (default: always-warm workers)", "N"),
    Option("cold-start", lambda v, w: parse_duration(v, w, allow_zero=True), 1.0,
           "latency of a cold start, when no warm instance is idle (1s, 0.5, 0; "
           "default 1 s)", "T"),
    Option("cold-start-work", lambda v, w: _operations(v, w), 0.0,
           "extra operations a cold-started task runs (default 0)", "OPS"),
    Option("keep-alive", lambda v, w: parse_duration(v, w, allow_zero=True), 600.0,
           "an idle instance stays warm this long after its last task (10m, 0; default 10m)",
           "T"),
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
        add_option(parser, o)


def add_option(parser: argparse.ArgumentParser, o: Option, help: str | None = None) -> None:
    """Add ``--<o.name>`` to ``parser``: a flag, a repeatable option (a list), or one raw
    value; absent from the namespace when not given."""
    text = o.help if help is None else help
    if o.flag:
        parser.add_argument(f"--{o.name}", action="store_true", default=argparse.SUPPRESS,
                            help=text)
    else:
        parser.add_argument(f"--{o.name}", metavar=o.metavar, default=argparse.SUPPRESS,
                            help=text, action="append" if o.repeat else "store")


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
    groups = fleet_of(s)
    platform = Platform(
        classical_workers=s["classical-workers"], worker_capacity_ops_per_s=s["worker-capacity"],
        quantum_computers=sum(g.count for g in groups) if groups else s["quantum-computers"],
        max_classical=s["max-classical"] if admission else None,
        max_quantum=s["max-quantum"] if admission else None, qc_groups=groups)
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
    common.update(feature_config(s))  # likewise: only the features that are on
    scenarios: dict[str, SimulationConfig | SampledReplay] = {}
    if not replay:
        _check_workload(spec, s)
        _check_fleet_fits(groups, spec.qubits, s)
        for p in policies:
            scenarios[p] = SimulationConfig(policy=p, workload=spec, traces_dir=s["traces"],
                                            **common)
    else:
        path = Path(s["instance"])
        where = s.where("instance")
        if path.suffix.lower() == ".json":
            inst = _not_empty(read_instance(path), where)
            _check_fleet_fits(groups, [j.qubits for j in inst.jobs], s)
            for p in policies:
                scenarios[p] = SimulationConfig(policy=p, instance=inst, traces_dir=s["traces"],
                                                **common)
        elif path.suffix.lower() == ".csv":
            if _csv_has_chains(path, where):
                inst = _not_empty(read_job_csv(path), where)
                _check_fleet_fits(groups, [j.qubits for j in inst.jobs], s)
                for p in policies:
                    scenarios[p] = SimulationConfig(policy=p, instance=inst,
                                                    traces_dir=s["traces"], **common)
            else:
                _check_workload(spec, s)
                _check_fleet_fits(groups, spec.qubits, s)
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


def _check_fleet_fits(groups: tuple[QCGroup, ...], qubit_counts: Iterable[int],
                      s: Settings) -> None:
    """With a fleet: every qubit count of the workload or job list has a QC that can run it,
    and every backend group has the traces' estimates at those counts (one-line errors
    naming --qc-group, before any scenario is built)."""
    if not groups:
        return
    counts = sorted({int(q) for q in qubit_counts})
    where = s.where("qc-group")
    check_eligible(groups, counts, where)
    if any(g.backend is not None for g in groups):
        from hqsched.online.engine import cached_traces
        bundled = s["traces"] is None or is_trace_set_name(s["traces"])
        traces = (cached_traces if bundled else load_traces)(s["traces"])
        try:
            time_factors(groups, counts, traces.ibm_estimate_s)
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None


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
    doc.update(feature_options(config))
    if isinstance(w, WorkloadSpec):
        doc.update({"interarrival": w.interarrival_s, "qubits": list(w.qubits),
                    "priorities": list(w.priorities), "quantum-target": w.quantum_target,
                    "fill-in": w.fill_in, "iteration-scale": w.iteration_scale})
    return doc


def feature_options(config: SimulationConfig) -> dict[str, Any]:
    """The issue-17 options (``--qc-group``, ``--routing``, ``--sessions``, instance options)
    that give ``config``'s features; empty when every feature is off."""
    doc: dict[str, Any] = {}
    if config.platform.qc_groups:
        doc["qc-group"] = [group_spec(g) for g in config.platform.qc_groups]
    if config.routing != "fastest":
        doc["routing"] = config.routing
    if config.sessions is not None:
        k = config.sessions.min_priority
        doc.update({"sessions": "all" if k == 1 else f"priority>={k}",
                    "session-max-length": config.sessions.max_length_s,
                    "session-idle-timeout": config.sessions.idle_timeout_s})
    if config.lifecycle is not None:
        life = config.lifecycle
        doc.update({"max-instances": life.max_instances, "cold-start": life.cold_start_s,
                    "cold-start-work": life.cold_start_ops, "keep-alive": life.keep_alive_s})
    return doc


def describe(scenario: SimulationConfig | Any) -> dict[str, Any]:
    """A JSON description that identifies the scenario (resume refuses a different one)."""
    if not isinstance(scenario, SimulationConfig):
        return scenario.manifest()
    doc: dict[str, Any] = {
        "kind": "stochastic" if scenario.workload is not None else "instance",
        "policy": scenario.policy, "classical_mode": scenario.classical_mode,
        "duration_s": scenario.duration_s, "warmup_s": scenario.warmup_s,
        "platform": scenario.platform, "record_schedule": scenario.record_schedule,
        "traces": _traces_fingerprint(scenario.traces_dir),
    }
    if scenario.drop_window != "window":  # absent at the default: earlier manifests match
        doc["drop_window"] = scenario.drop_window
    if scenario.routing != "fastest":  # likewise for the features of issue 17
        doc["routing"] = scenario.routing
    for name in ("sessions", "lifecycle"):
        if getattr(scenario, name) is not None:
            doc[name] = getattr(scenario, name)
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
        fields = asdict(doc)
        if not doc.qc_groups:  # absent for identical QCs: earlier manifests still match
            del fields["qc_groups"]
        return _jsonable(fields)
    if is_dataclass(doc) and not isinstance(doc, type):  # Sessions, Lifecycle
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
