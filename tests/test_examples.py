"""The scripts in examples/ run and print exactly their stored output (examples/*.out).

Each runs in a fresh interpreter from an empty directory, with the arguments
below; every number it prints comes from fixed seeds, so the comparison is
exact except for wall-clock times, printed as ``[1.23 s wall]``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT, run_python

EXAMPLES = ROOT / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))
ARGUMENTS = {"solve_and_gantt.py": ["gantt.png"], "notebook_session.py": ["gantt.png"]}
FILES_WRITTEN = {"solve_and_gantt.py": ["gantt.png"],
                 "notebook_session.py": ["gantt.png", "job_time_by_qubits.png"]}
WALL_TIME = re.compile(r"\[\d+(?:\.\d+)? s wall\]")


def normalised(text: str) -> list[str]:
    """Lines without trailing blanks, wall-clock times masked."""
    return [WALL_TIME.sub("[... s wall]", line).rstrip() for line in text.strip().splitlines()]


def test_every_example_has_its_expected_output_and_nothing_else():
    assert SCRIPTS, "no examples found"
    assert {p.stem for p in SCRIPTS} == {p.stem for p in EXAMPLES.glob("*.out")}


def test_the_normalisation_masks_times_only():
    assert normalised("optimal [2.83 s wall]  \nx 1.50 s\n") == ["optimal [... s wall]", "x 1.50 s"]


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_example_prints_its_expected_output(script: Path, tmp_path: Path):
    done = run_python(str(script), *ARGUMENTS.get(script.name, []), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert normalised(done.stdout) == normalised(script.with_suffix(".out").read_text())
    for name in FILES_WRITTEN.get(script.name, []):
        assert (tmp_path / name).stat().st_size > 10_000, name
