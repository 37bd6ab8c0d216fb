"""Monte Carlo campaigns: a grid of scenarios x seeds, run as independent, resumable units.

A campaign file (TOML) has four top-level keys::

    name = "small"                       # optional, for reports
    description = "..."                  # optional
    seeds = "0-99"                       # same syntax as ``hqsched simulate --seeds``
    format = "parquet"                   # optional: per-job tables csv (default) or parquet
    [fixed]                              # scenario options held fixed
    interarrival = "600s"
    [grid]                               # scenario options varied: a list of values each
    policy = ["fifo", "lifo", "random", "weighted"]

``[fixed]`` and ``[grid]`` keys are the option names of ``hqsched simulate``
(``hqsched.experiments.scenario.OPTIONS``, ``-`` or ``_``) and are parsed by
the same parsers; options that steer a run rather than define a scenario
(``seeds``, ``out``, ``processes``, ...) are refused there. The grid is the
Cartesian product of its lists, in file order.

A *unit* is one (grid point, seed). Its id is ``<point>/seed-000003`` where
``<point>`` is a readable key of the grid values (``policy=fifo``,
``interarrival=150,quantum-computers=2``; durations in seconds), hashed when
long. Each unit depends only on its scenario and seed, so results do not
depend on the executor, the process count or the finishing order.

Output directory (``--out``)::

    config.json            manifest: every point's scenario (resume refuses another)
    campaign.json          the plan: points with their grid values, seeds, source file
    replications/<unit>.json, jobs/<unit>.csv   finished units (ResultStore; the JSON
                           holds the table's SHA-256 and its own checksum)
    failed/<unit>.json     units that raised, with the traceback (retried on rerun)
    .hqsched.lock          flock held by the run writing here (one writer at a time)

A unit whose files do not match their checksums is *corrupt*: ``status``
lists it apart, a rerun recomputes it, the report refuses to read it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from hqsched.errors import InputError
from hqsched.experiments import scenario as scn
from hqsched.experiments.results_store import (
    NOT_STARTED,
    ResultStore,
    TableOutput,
    require_format,
)
from hqsched.files import atomic_write_text
from hqsched.inputs import count_seeds, load_toml, parse_seeds
from hqsched.online.config import SimulationConfig

#: Top-level keys of a campaign file.
TOP_KEYS = ("name", "description", "seeds", "format", "fixed", "grid")
#: Scenario options that steer a run, not a scenario: not allowed in [fixed]/[grid].
RUN_OPTIONS = ("seeds", "out", "processes", "format", "overwrite", "progress")
#: Refuse campaigns larger than this many units unless the user confirms (--yes).
DEFAULT_MAX_UNITS = 1000
#: Refuse even with --yes: more grid points (a scenario each is built up front)
#: or more units (one id and one task each) than this.
MAX_POINTS = 10_000
MAX_UNITS = 1_000_000
PLAN_FILE = "campaign.json"
FAILED_DIR = "failed"
#: Grid-point keys longer than this are shortened with a hash (file-name limits).
MAX_KEY_CHARS = 80

_OPTIONS = {o.name: o for o in scn.OPTIONS}

Task = tuple[str, str, int]  # one unit: (unit id, point key, seed)


# --------------------------------------------------------------------------
# The campaign file
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Point:
    """One grid point: its key and its grid values (option name -> parsed value)."""

    key: str
    values: dict[str, Any] = field(hash=False)


@dataclass
class Campaign:
    """A parsed campaign: scenario per grid point, seeds, and where it came from."""

    source: Path
    name: str
    description: str
    fixed: dict[str, Any]            # option name -> parsed value
    grid: dict[str, list[Any]]       # option name -> parsed values, file order
    seeds: tuple[int, ...]
    points: list[Point]
    scenarios: dict[str, SimulationConfig]  # point key -> scenario
    fmt: str = "csv"                 # per-job tables: csv or parquet (``format``)

    @property
    def n_units(self) -> int:
        return len(self.points) * len(self.seeds)

    def units(self) -> list[Task]:
        """(unit id, point key, seed) for every unit, point-major."""
        return [(unit_id(p.key, s), p.key, s) for p in self.points for s in self.seeds]

    def manifest(self) -> dict[str, Any]:
        """What identifies the results (seeds excluded: adding seeds resumes)."""
        return {"kind": "campaign",
                "points": {p.key: scn.describe(self.scenarios[p.key]) for p in self.points}}

    def plan(self) -> dict[str, Any]:
        """The plan written to ``campaign.json`` (read by ``status`` and ``report``)."""
        return {"name": self.name, "description": self.description, "source": str(self.source),
                "fixed": _jsonable(self.fixed),
                "grid": {k: _jsonable(v) for k, v in self.grid.items()},
                "seeds": list(self.seeds),
                "points": [{"key": p.key, "values": _jsonable(p.values)} for p in self.points]}


def campaign_from_scenarios(name: str, points: list[tuple[dict[str, Any], SimulationConfig]],
                            seeds: tuple[int, ...], description: str = "",
                            source: str | Path = "<api>") -> Campaign:
    """A campaign built in code: one point per (grid values, scenario), keyed like a file's.

    For drivers that construct scenarios themselves (``hqsched plan simulate``
    builds one per (C, Q)); the values name options of ``hqsched simulate``
    and only label the point (the scenario is taken as given).
    """
    pts = [Point(point_key(values), dict(values)) for values, _ in points]
    if len({p.key for p in pts}) != len(pts):
        raise InputError(f"campaign {name!r}: two points have the same key")
    grid: dict[str, list[Any]] = {}
    for p in pts:
        for k, v in p.values.items():
            if v not in grid.setdefault(k, []):
                grid[k].append(v)
    # The options every scenario shares are the campaign's fixed part, so that a
    # report reads the load, qubits or fill-in these points were really run at.
    described = [scn.options_of(cfg) for _, cfg in points]
    fixed = {k: v for k, v in described[0].items()
             if k not in grid and all(d.get(k) == v for d in described[1:])} if described else {}
    return Campaign(source=Path(source), name=name, description=description, fixed=fixed,
                    grid=grid, seeds=tuple(seeds), points=pts,
                    scenarios={p.key: cfg for p, (_, cfg) in zip(pts, points)})


def unit_summary(root: str | Path, unit: str) -> dict[str, float] | None:
    """The summary metrics of a finished unit (NaN for nulls), or None if it is not done.

    The unit's table is read once to check its checksum (``ResultStore.has``):
    a corrupt unit is reported as not done, so that it is recomputed.
    """
    store = ResultStore(root)
    if not store.has(unit):  # absent, or corrupt: to be recomputed, never read
        return None
    return store.load_summary(unit)


def unit_id(point_key: str, seed: int) -> str:
    """Stable id of one unit: ``<point key>/seed-000003`` (a path under the store)."""
    return f"{point_key}/seed-{seed:06d}"


def bundled_studies() -> dict[str, Path]:
    """Bundled study name -> file (``small``, ``big-q``, ``big-c``)."""
    root = resources.files("hqsched.experiments") / "studies"
    try:
        return {Path(str(f)).stem: Path(str(f)) for f in root.iterdir()
                if str(f).endswith(".toml")}
    except (FileNotFoundError, NotADirectoryError):
        return {}


def resolve_campaign_file(name_or_path: str) -> Path:
    """An existing file as given; else a bare name (``small``) -> the bundled study."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    studies = bundled_studies()
    if "/" not in name_or_path and path.suffix == "" and name_or_path in studies:
        return studies[name_or_path]
    known = ", ".join(sorted(studies)) or "none installed"
    raise InputError(f"campaign {name_or_path!r}: no such file, and not a bundled study "
                     f"(bundled: {known})")


def load_campaign(name_or_path: str, seeds: Any = None,
                  max_units: int | None = None) -> Campaign:
    """Parse and validate a campaign file; ``seeds`` (raw, e.g. ``"0-19"``) overrides its seeds.

    Every scenario is built (and its traces checked) here, before any run.
    ``max_units``: refuse a campaign of more units (checked before building).
    """
    path = resolve_campaign_file(name_or_path)
    doc = load_toml(path)
    for key in doc:
        if key not in TOP_KEYS:
            raise InputError(f"{path}: unknown key {key!r} (known: {', '.join(TOP_KEYS)}; "
                             f"scenario options go under [fixed] or [grid])")
    for key in ("name", "description", "format"):
        if key in doc and not isinstance(doc[key], str):
            raise InputError(f"{path}: {key}: must be a string, got {doc[key]!r}")
    fmt = doc.get("format", "csv")
    try:
        require_format(fmt)
    except InputError as exc:
        raise InputError(f"{path}: format{str(exc).removeprefix('--format')}") from None
    for key in ("fixed", "grid"):
        if key in doc and not isinstance(doc[key], dict):
            raise InputError(f"{path}: {key}: must be a table [{key}], got {doc[key]!r}")
    if seeds is not None:
        seed_value, seed_where = seeds, "--seeds"
    elif "seeds" in doc:
        seed_value, seed_where = doc["seeds"], f"{path}: seeds"
    else:
        raise InputError(f"{path}: seeds: missing (e.g. seeds = \"0-99\"), or pass --seeds")
    n_seeds = count_seeds(seed_value, seed_where)  # counted, not listed: 0-99999999 is cheap

    fixed_raw = _option_table(path, "fixed", doc.get("fixed", {}))
    grid_raw = _option_table(path, "grid", doc.get("grid", {}))
    for name in fixed_raw:
        if name in grid_raw:
            raise InputError(f"{path}: {name!r} is both in [fixed] and [grid]; keep one")

    fixed = {name: _OPTIONS[name].parse(_resolve_path(path, name, raw), where)
             for name, (raw, where) in fixed_raw.items()}
    grid: dict[str, list[Any]] = {}
    for name, (raw, where) in grid_raw.items():
        if not isinstance(raw, list) or not raw:
            raise InputError(f"{where}: a grid entry must be a non-empty list of values, "
                             f"got {raw!r}")
        values = [_OPTIONS[name].parse(_resolve_path(path, name, v), f"{where}[{i}]")
                  for i, v in enumerate(raw)]
        if len({_canonical(v) for v in values}) != len(values):
            raise InputError(f"{where}: values must be distinct, got {raw!r}")
        grid[name] = values

    _check_size(path, math.prod(len(v) for v in grid.values()), n_seeds, max_units)
    seed_list = parse_seeds(seed_value, seed_where)
    points = [Point(point_key(dict(zip(grid, combo))), dict(zip(grid, combo)))
              for combo in itertools.product(*grid.values())]
    if len({p.key for p in points}) != len(points):  # e.g. "10m" and "600s"
        raise InputError(f"{path}: [grid] gives the same value twice in different spellings")
    scenarios = {p.key: _scenario(path, fixed, fixed_raw, p) for p in points}
    if max_units is not None:  # --yes lifts the expected-work guard too
        from hqsched.experiments.replications import check_expected_work
        check_expected_work(scenarios.values(), len(seed_list), str(path))
    return Campaign(source=path, name=doc.get("name", path.stem),
                    description=doc.get("description", ""), fixed=fixed, grid=grid,
                    seeds=seed_list, points=points, scenarios=scenarios, fmt=fmt)


def _check_size(path: Path, n_points: int, n_seeds: int, max_units: int | None) -> None:
    """Refuse a campaign larger than ``max_units`` (None: --yes) or the hard limits,
    from the counts alone, before any point or seed is listed."""
    n_units = n_points * n_seeds
    size = f"{n_points} grid point(s) x {n_seeds} seed(s) = {n_units} units"
    if max_units is not None and n_units > max_units:
        raise InputError(f"{path}: {size}, more than --max-units {max_units}; pass --yes to "
                         f"run them, or fewer --seeds")
    if n_points > MAX_POINTS or n_units > MAX_UNITS:
        raise InputError(f"{path}: {size}; at most {MAX_POINTS} points and {MAX_UNITS} units "
                         f"per campaign, even with --yes: split it into several campaigns")


def _option_table(path: Path, table: str, raw: dict[str, Any]) -> dict[str, tuple[Any, str]]:
    """Option name -> (raw value, 'file: table.key'), refusing unknown or run options."""
    out: dict[str, tuple[Any, str]] = {}
    for key, value in raw.items():
        name = key.replace("_", "-")
        where = f"{path}: {table}.{key}"
        if name not in _OPTIONS:
            raise InputError(f"{where}: unknown parameter {key!r} (known: "
                             f"{', '.join(o for o in _OPTIONS if o not in RUN_OPTIONS)})")
        if name in RUN_OPTIONS:
            hint = (f"put {name} at the top level or pass --{name}"
                    if name in ("seeds", "format")
                    else "it is a command-line option of `hqsched campaign run`")
            raise InputError(f"{where}: {key!r} is not a scenario parameter ({hint})")
        if name in out:
            raise InputError(f"{where}: given twice (with '-' and '_')")
        out[name] = (value, where)
    return out


def _resolve_path(path: Path, name: str, value: Any) -> Any:
    """Relative ``traces``/``instance`` paths are relative to the campaign file."""
    return _OPTIONS[name].relative_to(path.parent, value)


def _scenario(path: Path, fixed: dict[str, Any], fixed_raw: dict[str, tuple[Any, str]],
              point: Point) -> SimulationConfig:
    """Build one point's scenario through ``scenario.build_plan`` (same checks as simulate)."""
    values = {o.name: o.default for o in scn.OPTIONS}
    values.update(fixed)
    values.update(point.values)
    given = {name: where for name, (_, where) in fixed_raw.items()}
    given.update({name: f"{path}: grid.{name}={_fmt_value(v)}"
                  for name, v in point.values.items()})
    if "policy" not in given:
        raise InputError(f"{path}: policy: missing; name one policy in [fixed] or a list in "
                         f"[grid] (one policy per grid point)")
    plan = scn.build_plan(scn.Settings(values, given))
    if len(plan.scenarios) != 1:
        raise InputError(f"{given['policy']}: a grid point runs one policy, got "
                         f"{', '.join(plan.scenarios)}; list policies in [grid] instead")
    scenario = next(iter(plan.scenarios.values()))
    if not isinstance(scenario, SimulationConfig):
        raise InputError(f"{given.get('instance', path)}: campaigns take a stochastic workload "
                         f"or an instance with full chains, not a CSV without chains")
    return scenario


# --------------------------------------------------------------------------
# Grid-point keys
# --------------------------------------------------------------------------

def point_key(values: dict[str, Any]) -> str:
    """Readable, stable key of a grid point: ``name=value`` joined by ``,`` (file order).

    ``base`` for an empty grid. Keys longer than ``MAX_KEY_CHARS`` keep a
    prefix and a hash of the full key, so ids stay unique and file names short.
    """
    if not values:
        return "base"
    key = ",".join(f"{name}={_fmt_value(v)}" for name, v in values.items())
    key = re.sub(r"[^A-Za-z0-9.,=+_-]", "_", key)
    if len(key) > MAX_KEY_CHARS:
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        key = f"{key[:MAX_KEY_CHARS - 13]}~{digest}"
    return key


def _fmt_value(v: Any) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:g}" if math.isfinite(v) else "inf"
    if isinstance(v, (list, tuple)):
        return "+".join(_fmt_value(x) for x in v)
    return str(v)


def _canonical(v: Any) -> str:
    return json.dumps(_jsonable(v), sort_keys=True)


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


# --------------------------------------------------------------------------
# One unit (runs in a worker: local process or Ray task)
# --------------------------------------------------------------------------

def run_unit(scenarios: Mapping[str, SimulationConfig], task: Task,
             table: TableOutput) -> dict[str, Any]:
    """Simulate one (scenario, seed) in a worker; write its per-job records (in arrival
    order) to ``table`` and return its summary (a stored unit of the executor)."""
    from hqsched.online.engine import simulate
    _, key, seed = task
    result = simulate(scenarios[key], seed)
    assert result.jobs is not None  # no sink: the records are in the result
    table.write(result.jobs)
    return result.summary


# --------------------------------------------------------------------------
# Output directory state
# --------------------------------------------------------------------------

def failed_path(root: Path, unit: str) -> Path:
    return root / FAILED_DIR / f"{unit}.json"


def record_failure(root: Path, unit: str, seed: int, point: str, error: str) -> None:
    atomic_write_text(failed_path(root, unit),
                      json.dumps({"unit": unit, "point": point, "seed": seed,
                                  "error": error}, indent=1) + "\n")


def clear_failure(root: Path, unit: str) -> None:
    failed_path(root, unit).unlink(missing_ok=True)


def read_plan(root: str | Path) -> dict[str, Any]:
    """The ``campaign.json`` of an output directory (InputError if it is not one)."""
    path = Path(root) / PLAN_FILE
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{root}: not a campaign output directory (no {PLAN_FILE}; "
                         f"run `hqsched campaign run FILE --out {root}` first)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: unreadable ({exc}); rerun the campaign to rewrite it") \
            from None
    if not isinstance(plan, dict) or not isinstance(plan.get("points"), list) \
            or not isinstance(plan.get("seeds"), list):
        raise InputError(f"{path}: unreadable (no list of points and seeds); rerun the "
                         f"campaign to rewrite it")
    return plan


@dataclass
class Status:
    """Units of a campaign directory: done, corrupt and failed (with why) and left."""

    done: list[str]
    failed: dict[str, str]   # unit -> last line of the error
    left: list[str]
    corrupt: dict[str, str] = field(default_factory=dict)  # unit -> what is wrong

    @property
    def total(self) -> int:
        return len(self.done) + len(self.failed) + len(self.left) + len(self.corrupt)


def status(root: str | Path) -> Status:
    """Count the planned units of ``root`` by state: done when its summary exists and its
    files match their checksums, corrupt when they do not (``ResultStore.problem``;
    reads every finished table once)."""
    root = Path(root)
    plan = read_plan(root)
    store = ResultStore(root)
    done, left, failed, corrupt = [], [], {}, {}
    for p in plan["points"]:
        for s in plan["seeds"]:
            u = unit_id(p["key"], s)
            problem = store.problem(u)
            if problem is None:
                done.append(u)
            elif problem != NOT_STARTED:
                corrupt[u] = problem
            elif failed_path(root, u).is_file():
                try:
                    err = json.loads(failed_path(root, u).read_text(encoding="utf-8"))["error"]
                except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError):
                    err = "unreadable failure record"
                failed[u] = err.strip().splitlines()[-1] if err.strip() else "?"
            else:
                left.append(u)
    return Status(done, failed, left, corrupt)
