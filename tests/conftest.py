"""Helpers shared by the test files.

Fixtures (pytest passes them by name):

- ``hqsched_cli``: run the ``hqsched`` command in this process and get
  ``(exit code, stdout, stderr)``.

Plain helpers and constants, imported with ``from conftest import ...``
(pytest puts ``tests/`` on ``sys.path``, as for ``from test_x import ...``):

- ``run_python``, ``run_hqsched``: a fresh interpreter of this environment,
  for what one process cannot show (import costs, ``NUMBA_DISABLE_JIT``,
  signals, entry points);
- ``tree_bytes``: every file under a directory, to compare two runs bit for bit;
- ``chain_job``: a 4-qubit job with a constant chain, for hand-solved instances;
- ``PAPER_PLATFORM``, ``SHORT_SIMULATE``, ``short_config``: the paper's small
  platform and a one-day version of its scenario that runs in a fraction
  of a second.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple

import pytest

from hqsched.instances.model import Job, Platform, constant_chain_job
from hqsched.instances.workload import WorkloadSpec
from hqsched.online.config import SimulationConfig

ROOT = Path(__file__).resolve().parents[1]

# -- processes ---------------------------------------------------------------


def run_python(*args: str, cwd: str | Path | None = None, env: Mapping[str, str] | None = None,
               timeout: float = 600.0) -> subprocess.CompletedProcess[str]:
    """``python *args`` in a new interpreter of this environment; text output captured.

    ``env`` is added to the current environment. ``cwd`` defaults to the
    current directory; pass a temporary one when the command writes files.
    The timeout only stops a hung run (a first numba compile takes ~20 s).
    """
    return subprocess.run([sys.executable, *args], cwd=cwd, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


def run_hqsched(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    """``python -m hqsched *args`` in a new interpreter (keyword arguments as ``run_python``)."""
    return run_python("-m", "hqsched", *args, **kwargs)


# -- files -------------------------------------------------------------------


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by relative path (``/``-separated), with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


# -- the command in this process ---------------------------------------------


class CliRun(NamedTuple):
    code: int
    out: str
    err: str


@pytest.fixture
def hqsched_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliRun]:
    """``hqsched_cli("simulate", "--seeds", "0")``: exit code and captured stdout, stderr."""
    from hqsched.cli import main

    def run(*argv: str) -> CliRun:
        capsys.readouterr()  # drop what earlier steps of the test printed
        code = main(list(argv))
        out, err = capsys.readouterr()
        return CliRun(code, out, err)
    return run


# -- models ------------------------------------------------------------------


def chain_job(job_id: int, arrival_s: float, pre: float, post: float, iterations: int = 0,
              it: float = 0.0, q: float = 1.0, priority: int = 1, qubits: int = 4) -> Job:
    """A job of ``iterations`` identical (classical ``it``, quantum ``q`` s) pairs.

    ``pre``, ``post`` and ``it`` are operations; with S = 1 op/s (the usual
    choice in hand-solved tests) they are seconds.
    """
    return constant_chain_job(job_id, arrival_s, qubits, priority, pre, it, q, post, iterations)


#: The paper's small scenario platform: C = 1 worker of 1e9 ops/s, Q = 4, C_max = Q_max = 40.
PAPER_PLATFORM = Platform(classical_workers=1, worker_capacity_ops_per_s=1e9, quantum_computers=4,
                          max_classical=40, max_quantum=40)

#: ``hqsched simulate`` options of ``short_config``: 1 day, 2 h warm-up, iterations / 20.
SHORT_SIMULATE = ("--duration", "1d", "--warmup", "2h", "--iteration-scale", "0.05")


def short_config(policy: str = "weighted", classical_mode: str = "serverless") -> SimulationConfig:
    """The paper's small scenario shortened: 1 simulated day, 2 h warm-up, iterations / 20."""
    return SimulationConfig(
        platform=PAPER_PLATFORM, policy=policy, classical_mode=classical_mode,
        duration_s=86400.0, warmup_s=7200.0,
        workload=WorkloadSpec(600.0, (4, 6, 8, 10), (1, 2, 4), iteration_scale=0.05))
