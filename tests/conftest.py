"""Helpers shared by the test files, imported with ``from conftest import ...``
(pytest puts ``tests/`` on ``sys.path``, as for ``from test_x import ...``):

- ``run_python``: a fresh interpreter of this environment, for what one
  process cannot show (import costs, ``NUMBA_DISABLE_JIT``, signals);
- ``tree_bytes``: every file under a directory, to compare two runs bit for bit;
- ``chain_job``: a job with a constant chain, for hand-solved instances.

And one fixture every test module gets: the policy and routing registries are
restored after each module, so a user class one module registers never meets
another module's class of the same name.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from hqsched.instances.model import Job, constant_chain_job
from hqsched.online.policies import POLICIES, ROUTINGS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True, scope="module")
def restore_registries():
    """Whatever a test module registers in ``POLICIES`` or ``ROUTINGS`` leaves with it."""
    saved = [(registry, dict(registry)) for registry in (POLICIES, ROUTINGS)]
    yield
    for registry, entries in saved:
        registry.clear()
        registry.update(entries)

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


# -- files -------------------------------------------------------------------


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by relative path (``/``-separated), with its bytes;
    ``provenance.json`` (date and command line of each run, not a result) left out."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != "provenance.json"}


# -- models ------------------------------------------------------------------


def chain_job(job_id: int, arrival_s: float, pre: float, post: float, iterations: int = 0,
              it: float = 0.0, q: float = 1.0, priority: int = 1, qubits: int = 4) -> Job:
    """A job of ``iterations`` identical (classical ``it``, quantum ``q`` s) pairs.

    ``pre``, ``post`` and ``it`` are operations; with S = 1 op/s (the usual
    choice in hand-solved tests) they are seconds.
    """
    return constant_chain_job(job_id, arrival_s, qubits, priority, pre, it, q, post, iterations)
