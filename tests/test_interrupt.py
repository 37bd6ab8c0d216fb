"""Ctrl-C: every long command exits within 2 s, with one line saying what was kept and no
traceback (issue 14). Each command runs under a pseudo-terminal, in a session of its own,
and gets SIGINT on its whole process group, as a terminal sends it."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from conftest import run_python

#: Seconds from Ctrl-C to exit that the issue allows.
EXIT_WITHIN_S = 2.0
#: Seconds the command runs, after its first output, before Ctrl-C: inside the work.
RUN_BEFORE_S = 1.0

INSTANCE = ["instance", "generate", "--jobs", "10", "--iterations", "3", "--interarrival", "5",
            "--seed", "3", "--out", "inst.json"]

COMMANDS = {
    "simulate": ["simulate", "--policy", "fifo", "--seeds", "n=50", "--processes", "1"],
    "simulate-out": ["simulate", "--policy", "fifo,lifo", "--seeds", "n=50", "--out", "sim"],
    "campaign run": ["campaign", "run", "small", "--seeds", "n=50", "--out", "camp"],
    "plan simulate": ["plan", "simulate", "--max-drop", "0.01", "--seeds", "n=40",
                      "--classical-range", "1-2", "--quantum-range", "1-4", "--duration", "3d"],
    "gap": ["gap", "--instances", "30", "--jobs", "8", "--out", "gap", "--processes", "1"],
    "validate": ["validate", "--quick"],
    "invariants": ["invariants", "--instances", "300", "--processes", "1"],
    "solve": ["solve", "inst.json", "--time-limit", "60", "--quantum-computers", "2",
              "--out", "schedule.csv"],
}


def interrupt_under_pty(argv: list[str], cwd: Path) -> tuple[int, float, str]:
    """Run ``hqsched argv`` on a pseudo-terminal, Ctrl-C it after ``RUN_BEFORE_S``; return
    (exit code, seconds from Ctrl-C to exit, everything it printed)."""
    master, slave = pty.openpty()
    # A terminal of 120 columns (a new pty has 0, where tqdm draws nothing).
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    child = subprocess.Popen([sys.executable, "-m", "hqsched", *argv], cwd=cwd, stdin=slave,
                             stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    output = bytearray()

    def drain(until: float) -> None:
        while time.monotonic() < until:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    return
                if not chunk:
                    return
                output.extend(chunk)
            elif child.poll() is not None:
                return

    # Past the imports (the first output: a progress bar, a header), then RUN_BEFORE_S.
    started = time.monotonic()
    while not output and child.poll() is None and time.monotonic() < started + 120:
        drain(time.monotonic() + 0.1)
    drain(time.monotonic() + RUN_BEFORE_S)
    assert child.poll() is None, f"finished before Ctrl-C: {output.decode(errors='replace')}"
    sent = time.monotonic()
    os.killpg(child.pid, signal.SIGINT)
    try:
        code = child.wait(timeout=30)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    waited = time.monotonic() - sent
    drain(time.monotonic() + 0.5)
    os.close(master)
    return code, waited, output.decode(errors="replace").replace("\r", "")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A directory with the solve instance, and warm numba caches (a cold compile would
    only delay the point where Ctrl-C lands, never the exit, but keeps the run short)."""
    cwd = tmp_path_factory.mktemp("interrupt")
    done = run_python("-m", "hqsched", *INSTANCE, cwd=cwd)
    assert done.returncode == 0, done.stderr
    done = run_python("-m", "hqsched", "solve", "inst.json", "--time-limit", "2",
                      "--quantum-computers", "2", cwd=cwd)
    assert done.returncode in (0, 1), done.stderr  # 1: no proof within 2 s
    done = run_python("-m", "hqsched", "simulate", "--policy", "fifo", "--seeds", "0",
                      "--duration", "1d", "--warmup", "1h", "--processes", "1", cwd=cwd)
    assert done.returncode == 0, done.stderr
    return cwd


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_ctrl_c_exits_within_two_seconds_with_one_line(name, workdir):
    code, waited, text = interrupt_under_pty(COMMANDS[name], workdir)
    assert code == 130, text
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text
    assert "ERROR" not in text, text  # Pyomo's "Constructing component ... failed"
    lines = [line for line in text.splitlines() if "interrupted;" in line]
    assert len(lines) == 1, text
    if "--out" in COMMANDS[name] and name != "solve":
        assert "saved in" in lines[0] and "rerun" in lines[0], lines[0]
    elif name != "solve":
        assert "nothing was saved" in lines[0] and "--out" not in lines[0].split(";")[1] \
            or "(no --out)" in lines[0], lines[0]
    assert waited < EXIT_WITHIN_S, (waited, text)



def test_an_interrupted_branch_and_bound_prints_and_writes_its_incumbent(tmp_path, monkeypatch,
                                                                          capsys):
    from hqsched.cli import main
    from hqsched.formulation import bnb

    assert main(["instance", "generate", "--jobs", "4", "--iterations", "1", "--interarrival",
                 "5", "--out", str(tmp_path / "i.json")]) == 0
    search = bnb._search

    def interrupted_after_one_chunk(*args):  # Ctrl-C lands as the first chunk returns
        search(*args)
        raise KeyboardInterrupt

    monkeypatch.setattr(bnb, "_search", interrupted_after_one_chunk)
    code = main(["solve", str(tmp_path / "i.json"), "--quantum-computers", "2", "--method",
                 "bnb", "--out", str(tmp_path / "s.csv")])
    out, err = capsys.readouterr()
    assert code == 130
    assert "interrupted: best schedule so far, sum of delays" in out
    assert (tmp_path / "s.csv").read_text().startswith("job_id,task,kind")
    assert err.strip().splitlines()[-1] == (
        f"hqsched solve: interrupted; the best schedule so far is printed above and written "
        f"to {tmp_path / 's.csv'}")
