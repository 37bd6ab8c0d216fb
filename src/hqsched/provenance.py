"""Provenance: what produced a result (base layer: imports nothing of hqsched but files).

A *record* says which code, environment, inputs and command produced an
output, and when::

    {"hqsched": "0.4.0", "git_commit": "75947b8...", "git_dirty": false,
     "python": "3.11.9", "packages": {"numpy": "2.1.3", "numba": ..., "highspy": ...,
     "pyomo": ..., "pandas": ..., "scipy": ...},
     "traces": {"<dir>": {"pre.csv": "<sha256>", ...}},
     "command": "hqsched simulate --seeds 0-3 --out results/small",
     "date_utc": "2026-12-02T16:45:01Z"}

``git_commit`` and ``git_dirty`` are null outside a git checkout of hqsched
(an installed wheel): never an error. ``traces`` holds the SHA-256 of every
CSV file of each trace directory the run read.

A results directory keeps the records of every run that wrote into it in
``provenance.json`` (``{"runs": [first, second, ...]}``); the first is the run
that created it. ``bind`` refuses to resume (or extend) a directory whose
first run's *code identity* (hqsched version and git commit) or trace
hashes differ from this run's, since resuming would silently mix results of
different code or data; ``allow_mixed`` (``--allow-mixed``) resumes anyway
and marks the new run ``"mixed": true``. The file is not a checksummed result:
stored units and their checksums do not depend on it, so results stay
bit-identical whatever the date or command line.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shlex
import subprocess
import sys
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from hqsched import __version__
from hqsched.errors import InputError
from hqsched.files import atomic_write_text

#: The file a results directory keeps its runs' records in.
PROVENANCE_FILE = "provenance.json"
#: Packages whose versions are recorded (the ones that compute results).
PACKAGES = ("numpy", "numba", "highspy", "pyomo", "pandas", "scipy")
#: Seconds ``git`` may take to answer before the commit is recorded as unknown.
GIT_TIMEOUT_S = 5.0

_command: list[str] | None = None
_run_id: str | None = None


def set_command(argv: Sequence[str]) -> None:
    """Record the command line of this invocation (the CLI calls it with ``hqsched`` +
    args); it starts a new run (``run_id``)."""
    global _command, _run_id
    _command, _run_id = list(argv), None


def run_id() -> str:
    """A random id of this invocation (one per ``set_command``, else one per process): a
    run that writes into its directory several times (``plan simulate``'s batches)
    is recorded once."""
    global _run_id
    if _run_id is None:
        _run_id = uuid.uuid4().hex[:16]
    return _run_id


def command_line() -> str:
    """The command line recorded by ``set_command``, else this process's ``sys.argv``."""
    argv = _command if _command is not None else [Path(sys.argv[0]).name, *sys.argv[1:]]
    return shlex.join(argv)


def hqsched_version() -> str:
    """This hqsched's version (``hqsched.__version__``)."""
    return __version__


@lru_cache(maxsize=1)
def _git_state() -> tuple[str | None, bool | None]:
    """(commit, dirty) of the git checkout this hqsched runs from; (None, None) if none."""
    root = _checkout_root(Path(__file__).resolve())
    if root is None:
        return None, None
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"],
                                capture_output=True, text=True, timeout=GIT_TIMEOUT_S,
                                check=True).stdout.strip()
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                 "--untracked-files=no"], capture_output=True, text=True,
                                timeout=GIT_TIMEOUT_S, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None  # no git, or not a repository it can read
    return commit or None, bool(status.strip())


def _checkout_root(start: Path) -> Path | None:
    """The nearest parent holding both ``.git`` and hqsched's ``pyproject.toml``."""
    for parent in start.parents:
        if (parent / ".git").exists() and (parent / "pyproject.toml").is_file():
            return parent
    return None


def code_identity() -> dict[str, str | None]:
    """What identifies the code: hqsched's version and git commit (null outside a checkout).
    Deterministic within one checkout, so it may go into stored units."""
    return {"hqsched": hqsched_version(), "git_commit": _git_state()[0]}


def package_versions() -> dict[str, str | None]:
    """Installed versions of ``PACKAGES`` (null when one is not installed)."""
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def trace_hashes(directories: Iterable[str | Path]) -> dict[str, dict[str, str]]:
    """Directory -> {file name: SHA-256} of the CSV files of each trace directory."""
    out: dict[str, dict[str, str]] = {}
    for directory in directories:
        root = Path(directory)
        out[str(root)] = {f.name: hashlib.sha256(f.read_bytes()).hexdigest()
                          for f in sorted(root.glob("*.csv")) if f.is_file()}
    return out


def record(trace_dirs: Iterable[str | Path] = ()) -> dict[str, Any]:
    """This run's provenance record (see the module docstring); ``trace_dirs``: the trace
    directories the run reads (their CSV files are hashed)."""
    commit, dirty = _git_state()
    return {"hqsched": hqsched_version(), "git_commit": commit, "git_dirty": dirty,
            "python": platform.python_version(), "packages": package_versions(),
            "traces": trace_hashes(dict.fromkeys(str(d) for d in trace_dirs)),
            "command": command_line(), "run_id": run_id(),
            "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}


def difference(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> str | None:
    """None when ``current`` may resume a directory ``recorded`` created; else a short
    phrase naming what differs: hqsched version, git commit (when both are known),
    or the trace files' hashes (compared by file name; the directory may move)."""
    if recorded.get("hqsched") != current.get("hqsched"):
        return f"hqsched {recorded.get('hqsched')}, this is hqsched {current.get('hqsched')}"
    a, b = recorded.get("git_commit"), current.get("git_commit")
    if a and b and a != b:
        return f"git commit {str(a)[:12]}, this checkout is at {str(b)[:12]}"
    before, now = _trace_files(recorded.get("traces")), _trace_files(current.get("traces"))
    if before != now:
        changed = sorted(n for n in set(before) | set(now) if before.get(n) != now.get(n))
        return f"other trace files (changed: {', '.join(changed[:3]) or 'directory'})"
    return None


def _trace_files(traces: Any) -> dict[str, str]:
    """File name -> SHA-256 over every directory of a record's ``traces`` (in order)."""
    out: dict[str, str] = {}
    if isinstance(traces, dict):
        for k, files in enumerate(traces.values()):
            if isinstance(files, dict):
                out.update({f"{name}" if k == 0 else f"{k}:{name}": str(h)
                            for name, h in files.items()})
    return out


def read_runs(root: str | Path) -> list[dict[str, Any]]:
    """The run records of a results directory (empty when it has none or cannot be read)."""
    try:
        doc = json.loads((Path(root) / PROVENANCE_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return []
    runs = doc.get("runs") if isinstance(doc, dict) else None
    return [r for r in runs if isinstance(r, dict)] if isinstance(runs, list) else []


def resume_problem(root: str | Path, current: Mapping[str, Any]) -> str | None:
    """None when the run ``current`` may resume ``root`` (same code and traces as the run
    that made it, or this very run); else what differs (``difference``)."""
    runs = read_runs(root)
    if not runs:
        return "an hqsched that recorded no version (older than provenance records)"
    if runs[-1].get("run_id") == current.get("run_id"):
        return None
    return difference(runs[0], current)


def bind(root: str | Path, current: Mapping[str, Any], *, resuming: bool,
         allow_mixed: bool = False, option: str = "--out") -> None:
    """Record ``current`` in ``root``'s ``provenance.json``, first refusing to resume a
    directory made by other code or traces (one-line InputError) unless ``allow_mixed``.

    ``resuming``: ``root`` already holds results of this scenario (its manifest
    matched); False for a new or overwritten directory (its history restarts).
    A resumed directory without records was written by an hqsched before them:
    its code is unknown, so it is refused like a different one.
    """
    runs = read_runs(root) if resuming else []
    if runs and runs[-1].get("run_id") == current.get("run_id"):
        return  # this run was checked and recorded when it first wrote here
    entry = dict(current)
    why = resume_problem(root, current) if resuming else None
    if why is not None:
        if not allow_mixed:
            raise InputError(
                f"{option} {root}: its results were made by {why}; resuming would mix "
                f"results of different code or traces: use another {option}, --overwrite "
                f"to discard them, or --allow-mixed to resume anyway")
        entry["mixed"] = True
    doc = {"runs": [*runs, entry]}
    atomic_write_text(Path(root) / PROVENANCE_FILE, json.dumps(doc, indent=1) + "\n")


def markdown_lines(rec: Mapping[str, Any]) -> list[str]:
    """A record as Markdown list items (for report pages)."""
    packages = ", ".join(f"{k} {v}" for k, v in (rec.get("packages") or {}).items()
                         if v is not None)
    commit = rec.get("git_commit")
    code = f"hqsched {rec.get('hqsched')}" + (
        f", git {str(commit)[:12]}{' (uncommitted changes)' if rec.get('git_dirty') else ''}"
        if commit else "")
    lines = [f"- code: {code}; Python {rec.get('python')}; {packages}",
             f"- command: `{rec.get('command')}`", f"- date: {rec.get('date_utc')}"]
    for directory, files in (rec.get("traces") or {}).items():
        digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]
        lines.append(f"- traces: `{directory}` ({len(files)} files, combined SHA-256 "
                     f"{digest}...; per file in provenance.json)")
    return lines


#: The help of every ``--allow-mixed`` option (commands that resume an output directory).
ALLOW_MIXED_HELP = ("resume --out even if its results were made by another hqsched version, "
                    "git commit or other trace files (default: refuse; see provenance.json)")
