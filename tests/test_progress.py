"""Signs of life (``hqsched.progress``) and the notebook-friendly API (issue 14)."""

from __future__ import annotations

import io
import math
import textwrap

import pandas as pd
import pytest
from conftest import chain_job, run_python

from hqsched import progress
from hqsched.instances.model import Instance, Platform

# -- when a bar shows -----------------------------------------------------------


class FakeStderr(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize("tty", [True, False])
def test_a_bar_shows_on_a_terminal_and_hides_elsewhere_unless_forced(monkeypatch, tty):
    monkeypatch.setattr("sys.stderr", FakeStderr(tty))
    assert progress.shown() is tty
    assert progress.shown(force=True)
    assert not progress.shown(progress=False)
    with progress.configured(always=True):
        assert progress.shown()
    with progress.configured(quiet=True):
        assert not progress.shown(force=True)
    assert progress.shown() is tty  # the block's choice ends with it


def test_quiet_hides_notices_but_not_warnings(monkeypatch):
    err = FakeStderr(True)
    monkeypatch.setattr("sys.stderr", err)
    with progress.configured(quiet=True):
        progress.notice("compiling")
        progress.message("unit x is corrupt")
    assert "compiling" not in err.getvalue() and "unit x is corrupt" in err.getvalue()


def test_a_shown_bar_writes_to_stderr_with_an_eta(monkeypatch):
    err = FakeStderr(True)
    monkeypatch.setattr("sys.stderr", err)
    with progress.bar(4, "runs", "run") as shown:
        shown.update(2)
    assert "runs" in err.getvalue() and "2/4" in err.getvalue()


def test_the_compile_notice_says_when_numba_has_nothing_cached(tmp_path):
    # A module of one cached numba function, in a fresh cache directory: cold, then warm.
    (tmp_path / "tinykernel.py").write_text(textwrap.dedent("""
        from numba import njit

        @njit(cache=True)
        def twice(x):
            return 2 * x
    """))
    code = ("import sys, tinykernel; from hqsched import progress; "
            "cold = progress.compile_notice([tinykernel]); tinykernel.twice(3); "
            "print(cold, progress.compile_notice([tinykernel]))")
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(tmp_path)}
    first = run_python("-c", code, cwd=tmp_path, env=env, timeout=300)
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == ["True", "False"]  # cold, warm once compiled and saved
    assert first.stderr.count(progress.COMPILE_NOTICE) == 1
    second = run_python("-c", code, cwd=tmp_path, env=env, timeout=300)
    assert second.stdout.split() == ["False", "False"] and progress.COMPILE_NOTICE \
        not in second.stderr


# -- notebook API -------------------------------------------------------------

def two_job_instance() -> Instance:
    return Instance((chain_job(0, 0.0, 1.0, 1.0, iterations=1, it=1.0, q=2.0),
                     chain_job(1, 0.5, 1.0, 1.0, iterations=1, it=1.0, q=2.0)), name="two")


def test_schedule_to_frame_has_the_csv_rows(tmp_path):
    from hqsched import best_online_schedule
    inst = two_job_instance()
    schedule = best_online_schedule(inst, Platform(1, 1.0, 1))
    frame = schedule.to_frame()
    assert list(frame.columns) == ["job_id", "task", "kind", "server", "start_s", "end_s"]
    assert len(frame) == len(schedule.tasks) == 8
    schedule.write_csv(tmp_path / "s.csv")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "s.csv"), frame)


def test_a_replication_is_a_data_frame():
    from hqsched import SimulationConfig, simulate
    config = SimulationConfig(platform=Platform(1, 1.0, 1), instance=two_job_instance(),
                              duration_s=math.inf, classical_mode="dedicated")
    result = simulate(config, seed=0)
    frame = result.to_frame()
    assert len(frame) == 2 and set(frame["status"]) == {"completed"}
    assert frame["job_time_s"].sum() == pytest.approx(result.summary["job_time_mean_s"] * 2)


def test_solve_takes_the_simulators_schedule_as_warm_start_and_draws_on_given_axes():
    from matplotlib.figure import Figure

    from hqsched import best_online_schedule, gantt_figure, solve
    inst = two_job_instance()
    platform = Platform(1, 1.0, 1)
    warm = best_online_schedule(inst, platform)
    result = solve(inst, platform, warm_start=warm, time_limit_s=30)
    assert result.status == "optimal"
    assert result.objective <= warm.sum_delays_s(inst) + 1e-9
    figure = gantt_figure(result.schedule, inst)
    assert isinstance(figure, Figure) and figure.axes
    mine = Figure()
    left, right = mine.subplots(1, 2)
    assert gantt_figure(result.schedule, inst, ax=right) is mine
    assert right.patches and not left.patches  # the bars went on the given axes only
