"""Issue 14, the rest: report, plan and gap figures as notebook functions (a Figure, an optional
Axes) that the commands write; progress bars of ``plan exact`` and ``report``; an interrupted
HiGHS MILP keeps its incumbent (under a pseudo-terminal); ``plan --figure-format``; the gap
box plot drawn by reports; ``gap --overwrite``."""

from __future__ import annotations

import ast
import fcntl
import json
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
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, chain_job
from matplotlib.figure import Figure

import hqsched
from hqsched.cli import main
from hqsched.errors import InputError
from hqsched.experiments import campaign as cmp
from hqsched.experiments.campaign_run import run_campaign
from hqsched.instances.model import Instance
from hqsched.planning import exact
from hqsched.planning.simulated import Cost
from hqsched.reports import campaign_data as rd
from hqsched.reports import report, style
from hqsched.reports.gap_report import BOXPLOT_PNG, gap_figure
from hqsched.reports.report import (
    heatmap_figure,
    job_time_by_group_figure,
    job_time_by_resource_figure,
)
from hqsched.validation.gap import INSTANCES_CSV, SUMMARY_CSV

#: Two classical worker counts x two loads, two qubit counts: every report figure but
#: the priority box plot applies.
PLANE = """\
name = "plane"
seeds = "0-1"
[fixed]
duration = "12h"
warmup = "1h"
iteration-scale = 0.2
policy = "random"
priorities = [1]
qubits = [4, 12]
fill-in = "interpolate"
[grid]
classical-workers = [1, 2]
interarrival = ["300s", "450s"]
"""


@pytest.fixture(scope="module")
def plane(tmp_path_factory) -> tuple[Path, rd.CampaignData]:
    root = tmp_path_factory.mktemp("plane")
    (root / "plane.toml").write_text(PLANE)
    run_campaign(cmp.load_campaign(str(root / "plane.toml")), root / "results", processes=1,
                 progress=False)
    return root / "results", rd.load(root / "results", progress=False)


# -- 1. figures: notebook functions, the same drawings as the files -----------

def test_the_report_writes_exactly_what_the_figure_functions_draw(plane, tmp_path):
    results, data = plane
    assert main(["report", str(results), "--out", str(tmp_path / "r"), "--quiet"]) == 0
    drawn = {
        "job_time_by_qubits.png": job_time_by_group_figure(data, "qubits"),
        "drop_C_load.png": heatmap_figure(data, "classical-workers", "drop_probability",
                                          "Drop probability (%) over C x load", percent=True),
        "job_time_by_C.png": job_time_by_resource_figure(data, "classical-workers"),
    }
    for name, figure in drawn.items():
        assert isinstance(figure, Figure)
        style.save(figure, tmp_path / name)
        assert (tmp_path / name).read_bytes() == (tmp_path / "r" / name).read_bytes(), name


def test_figure_functions_draw_on_the_axes_given(plane):
    _, data = plane
    figure = Figure()
    left, right = figure.subplots(1, 2)
    assert job_time_by_group_figure(data, "qubits", ax=left) is figure
    assert heatmap_figure(data, "classical-workers", "avg_quantum_tasks", ax=right) is figure
    assert left.get_title().startswith("Job execution time by qubits (2 seeds)")
    assert right.get_title().startswith("avg_quantum_tasks")
    assert len(figure.axes) == 3  # the two panels and the heat map's colour bar


def test_figure_functions_refuse_axes_the_campaign_did_not_vary(plane):
    _, data = plane
    with pytest.raises(InputError, match="must vary exactly quantum-computers"):
        heatmap_figure(data, "quantum-computers", "drop_probability")
    with pytest.raises(InputError, match="job time per quantum-computers"):
        job_time_by_resource_figure(data, "quantum-computers")
    with pytest.raises(InputError, match="two values of priority"):
        job_time_by_group_figure(data, "priority")  # priorities = [1]


def gap_rows() -> pd.DataFrame:
    """A gap study's rows, made up: 3 instances x 2 policies x 2 modes."""
    rows = [{"instance": k, "policy": p, "mode": m, "proven": True,
             "ratio_inc": 1.0 + 0.1 * k + (p == "lifo"), "ratio_bound": 1.2 + 0.1 * k}
            for k in range(3) for p in ("fifo", "lifo") for m in ("dedicated", "serverless")]
    return pd.DataFrame(rows)


def test_gap_figure_has_a_panel_per_mode_or_draws_one_on_an_axes():
    rows = gap_rows()
    figure = gap_figure(rows)
    titles = [ax.get_title() for ax in figure.axes]
    assert len(titles) == 2 and titles[0].startswith("Dedicated") \
        and titles[1].startswith("Serverless") and "(3 instances, 3 proven optimal)" in titles[0]
    assert figure.get_figwidth() == style.FIGURE_WIDTH_IN  # the common style
    own = Figure()
    ax = own.subplots()
    assert gap_figure(rows, ax=ax, mode="serverless") is own
    assert ax.get_title().startswith("Serverless")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["fifo", "lifo"]
    with pytest.raises(InputError, match="mode: must be one of"):
        gap_figure(rows, ax=ax, mode="cloud")
    with pytest.raises(InputError, match="no rows"):
        gap_figure(rows.iloc[:0])


def test_validation_makes_data_and_imports_no_plotting():
    tree = ast.parse((ROOT / "validation" / "gap.py").read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom)}
    assert "matplotlib" not in imported


def test_the_main_figure_functions_are_public():
    assert hqsched.job_time_by_group_figure is job_time_by_group_figure
    assert hqsched.heatmap_figure is heatmap_figure
    assert hqsched.gap_figure is gap_figure
    from hqsched.reports.plan_figure import plan_figure
    assert hqsched.plan_figure is plan_figure


# -- 2. progress bars of report and plan exact ---------------------------------

class Recorder:
    """A stand-in for ``hqsched.progress.bar`` that records each bar's total and ticks."""

    def __init__(self) -> None:
        self.bars: list[dict[str, Any]] = []

    def __call__(self, total: float | None, desc: str, unit: str, **options: Any) -> Any:
        record = {"total": total, "desc": desc, "ticks": 0, "progress": options.get("progress")}
        self.bars.append(record)

        class Bar:
            def __enter__(self) -> Bar:
                return self

            def __exit__(self, *exc: object) -> None:
                pass

            def update(self, n: int = 1) -> None:
                record["ticks"] += n

            def set_postfix_str(self, text: str) -> None:
                pass

        return Bar()


def test_report_bars_count_the_units_read_and_the_figures_drawn(plane, tmp_path, monkeypatch):
    results, _ = plane
    recorder = Recorder()
    monkeypatch.setattr(rd, "bar", recorder)
    monkeypatch.setattr(report, "bar", recorder)
    report.build_report(results, tmp_path / "r")
    by_desc = {b["desc"]: b for b in recorder.bars}
    assert by_desc["reading results"]["total"] == by_desc["reading results"]["ticks"] == 8
    figures = [p for p in (tmp_path / "r").iterdir() if p.suffix == ".png"]
    assert by_desc["drawing figures"]["total"] == by_desc["drawing figures"]["ticks"] \
        == len(figures) == 5


def test_report_and_plan_exact_take_quiet_and_progress(plane, tmp_path, capsys):
    results, _ = plane
    assert main(["report", str(results), "--out", str(tmp_path / "r"), "--progress"]) == 0
    assert main(["report", str(results), "--out", str(tmp_path / "q"), "--quiet"]) == 0
    assert "reading results" not in capsys.readouterr().err  # quiet, and fast: no bar
    from hqsched.instances.io import write_instance
    write_instance(Instance(tuple(chain_job(i, 0.0, 10.0, 1.0) for i in range(2))),
                   tmp_path / "inst.json")
    for flag in ("--quiet", "--progress"):
        assert main(["plan", "exact", str(tmp_path / "inst.json"), "--delta-max", "11",
                     "--worker-capacity", "1", flag]) == 0


def test_plan_exact_cost_bar_ticks_once_per_pair_examined(monkeypatch):
    recorder = Recorder()
    monkeypatch.setattr(exact, "bar", recorder)
    # As tests/test_plan.py: (C, Q) = (2, 2) is the only answer, found at the 6th pair.
    inst = Instance(tuple(chain_job(i, 0.0, 1.0, 1.0, iterations=1, it=1.0, q=10.0)
                          for i in range(2)))
    plan = exact.plan_exact(inst, "cost", 13.0, worker_capacity_ops_per_s=1.0,
                            time_limit_s=30, cost=Cost(1.0, 3.0), classical_range=(1, 3),
                            quantum_range=(1, 3))
    (pairs,) = recorder.bars
    assert pairs["total"] == 9 and pairs["ticks"] == len(plan.pairs)
    exact.plan_exact(inst, "cost", 13.0, worker_capacity_ops_per_s=1.0, time_limit_s=30,
                     cost=Cost(1.0, 3.0), classical_range=(1, 2), quantum_range=(1, 2),
                     progress=False)
    assert recorder.bars[-1]["progress"] is False


# -- 3. Ctrl-C during a HiGHS MILP keeps its incumbent -------------------------

#: Runs ``hqsched`` and says on stderr when HiGHS starts its run (its model built), so
#: that Ctrl-C lands inside the run.
PROBE = """\
import sys
from pyomo.contrib.appsi.solvers.highs import Highs
run = Highs._solve
def announced(self, timer):
    print("HIGHS STARTED", file=sys.stderr, flush=True)
    return run(self, timer)
Highs._solve = announced
from hqsched.cli import main
sys.exit(main(sys.argv[1:]))
"""


def ctrl_c_in_highs(argv: list[str], cwd: Path) -> tuple[int, float, str]:
    """Run ``hqsched argv`` (through PROBE) on a pseudo-terminal, Ctrl-C it one second
    after HiGHS starts; return (exit code, seconds from Ctrl-C to exit, its output)."""
    (cwd / "probe.py").write_text(PROBE)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen([sys.executable, "probe.py", *argv], cwd=cwd, stdin=slave,
                             stdout=slave, stderr=slave, start_new_session=True, env=env,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    os.close(slave)
    output = bytearray()

    def drain(until: float, marker: bytes | None = None) -> None:
        while time.monotonic() < until and not (marker and marker in output):
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                output.extend(chunk)
            elif child.poll() is not None:
                return

    try:
        drain(time.monotonic() + 180, b"HIGHS STARTED")
        drain(time.monotonic() + 1.0)
        assert child.poll() is None, output.decode(errors="replace")
        sent = time.monotonic()
        os.killpg(child.pid, signal.SIGINT)
        code = child.wait(timeout=30)
        waited = time.monotonic() - sent
        drain(time.monotonic() + 0.5)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
        os.close(master)
    return code, waited, output.decode(errors="replace").replace("\r", "")


@pytest.mark.slow
def test_an_interrupted_milp_prints_and_writes_its_incumbent(tmp_path):
    assert main(["instance", "generate", "--jobs", "10", "--iterations", "3", "--interarrival",
                 "5", "--seed", "3", "--out", str(tmp_path / "inst.json")]) == 0
    code, waited, text = ctrl_c_in_highs(
        ["solve", "inst.json", "--method", "milp", "--classical-workers", "2",
         "--quantum-computers", "2", "--time-limit", "120", "--out", "schedule.csv"], tmp_path)
    assert code == 130, text
    assert "Traceback" not in text and "KeyboardInterrupt" not in text and "WARNING" not in text
    lines = [li for li in text.splitlines() if "interrupted: best schedule so far" in li]
    assert len(lines) == 1, text
    line = lines[0]
    objective = float(line.split("sum of delays ")[1].split(" s")[0])
    bound = float(line.split("proven lower bound ")[1].split(" s")[0])
    assert 0 < bound <= objective
    assert "hqsched solve: interrupted; the best schedule so far is printed above and " \
           "written to schedule.csv" in text
    assert waited < 2.0, (waited, text)
    # The schedule written is the one printed (the CLI checks every schedule it writes).
    from hqsched.instances.io import read_instance
    inst = read_instance(tmp_path / "inst.json")
    tasks = pd.read_csv(tmp_path / "schedule.csv")
    done = tasks.groupby("job_id")["end_s"].max()
    assert len(done) == len(inst.jobs)
    delays = sum(done[j.job_id] - j.arrival_s for j in inst.jobs)
    assert np.isclose(delays, objective, rtol=1e-6)


def test_an_interrupted_highs_hands_over_the_solution_it_found(monkeypatch):
    """Ctrl-C as HiGHS finds its first integer-feasible solution (no MIP start given): the
    solve raises SolveInterrupted with that schedule, checked, and HiGHS's bound."""
    from hqsched.formulation import solve
    from hqsched.formulation.highs_run import SolveInterrupted
    from hqsched.formulation.options import SolveOptions
    from hqsched.instances.generate import small_instance
    real = solve.new_solver

    def interrupting_itself() -> Any:
        opt = real()
        base_solve = type(opt)._solve

        def solve_and_interrupt(self: Any, timer: Any) -> Any:
            self._solver_model.cbMipImprovingSolution.subscribe(
                lambda event: os.kill(os.getpid(), signal.SIGINT))
            return base_solve(self, timer)

        monkeypatch.setattr(type(opt), "_solve", solve_and_interrupt)
        return opt

    monkeypatch.setattr(solve, "new_solver", interrupting_itself)
    inst = small_instance(6, 2, (4, 6, 8, 10), 3, 5.0, (1, 2, 4))
    with pytest.raises(SolveInterrupted) as stop:
        solve.solve_delays(inst, 2, 2, 1e9, SolveOptions(
            time_limit_s=60, method="milp", heuristic_incumbent=False))
    found = stop.value.result
    assert found.status == "feasible" and found.details["incumbent"] == "solver"
    assert found.best_bound is not None and 0 <= found.best_bound <= found.objective
    assert np.isclose(found.schedule.sum_delays_s(inst), found.objective)


# -- 4. plan --figure-format ---------------------------------------------------

def test_plan_writes_its_figure_in_the_format_asked_and_the_report_uses_it(tmp_path, capsys):
    out = tmp_path / "plan"
    assert main(["plan", "simulate", "--max-drop", "0.5", "--seeds", "n=2", "--batch", "2",
                 "--classical-range", "1-1", "--quantum-range", "1-2", "--duration", "12h",
                 "--warmup", "1h", "--iteration-scale", "0.05", "--processes", "1",
                 "--figure-format", "svg", "--out", str(out)]) in (0, 1)
    assert (out / "plan.svg").read_text().lstrip().startswith("<?xml")
    assert not (out / "plan.png").exists()
    assert "heat map plan.svg" in capsys.readouterr().out
    assert main(["report", str(out), "--out", str(tmp_path / "r")]) == 0
    assert "![capacity plan heat map](plan.svg)" in (tmp_path / "r" / "report.md").read_text()
    assert main(["plan", "simulate", "--max-drop", "0.5", "--figure-format", "gif",
                 "--out", str(out)]) == 2
    assert "--figure-format: must be one of png, pdf, svg, got 'gif'" in capsys.readouterr().err


def test_plan_figure_functions_draw_the_heat_map_and_the_curves():
    from hqsched.instances.model import Platform
    from hqsched.instances.synthetic import Distribution, SyntheticWorkload
    from hqsched.online.config import SimulationConfig
    from hqsched.planning.simulated import Targets, plan_simulate
    from hqsched.reports.plan_figure import plan_curves_figure, plan_figure
    # M/M/c with a = 2.5 Erlangs (as tests/test_plan.py), Q = 1..3, 4 seeds.
    base = SimulationConfig(
        platform=Platform(classical_workers=1, worker_capacity_ops_per_s=1e9,
                          quantum_computers=1, max_classical=None, max_quantum=None),
        policy="fifo", duration_s=2_000.0, warmup_s=200.0,
        workload=SyntheticWorkload(interarrival_s=1.0, iterations=1,
                                   quantum_s=Distribution.exponential(2.5)))
    result = plan_simulate(base, Targets(max_mean_job_time_s=4.0), classical_range=(1, 1),
                           quantum_range=(1, 3), seeds=range(4), batch=2, processes=1,
                           progress=False)
    whole = plan_figure(result)
    assert len(whole.axes) == 2  # the heat map and the mean job time's curves
    assert whole.axes[0].get_xlabel() == "C (classical workers)"
    figure = Figure()
    heat, curves = figure.subplots(1, 2)
    assert plan_figure(result, ax=heat) is figure
    assert plan_curves_figure(result, "mean", ax=curves) is figure
    assert heat.get_title().startswith("targets: mean <=")
    assert curves.get_ylabel() == "mean job time (h)"
    with pytest.raises(InputError, match="metric: must be one of the plan's targets mean"):
        plan_curves_figure(result, "drop")


# -- 5 and 6. gap: the CLI draws the box plot; --overwrite -----------------------

def test_gap_overwrite_discards_another_study(tmp_path, capsys):
    tiny = ["gap", "--instances", "1", "--iterations", "1", "--processes", "1",
            "--time-limit", "20", "--out", str(tmp_path)]
    assert main([*tiny, "--jobs", "2"]) == 0
    assert (tmp_path / BOXPLOT_PNG).read_bytes().startswith(b"\x89PNG")
    capsys.readouterr()
    assert main([*tiny, "--jobs", "3"]) == 2  # another study: refused, kept
    assert "use another --out directory, or --overwrite" in capsys.readouterr().err
    before = pd.read_csv(tmp_path / INSTANCES_CSV)
    assert main([*tiny, "--jobs", "3", "--overwrite"]) == 0
    after = pd.read_csv(tmp_path / INSTANCES_CSV)
    assert len(after) == len(before) and (tmp_path / SUMMARY_CSV).is_file()
    assert json.loads((tmp_path / "config.json").read_text())["jobs"] == 3
    assert not after["online_s"].equals(before["online_s"])  # recomputed
    assert len(list((tmp_path / "replications").glob("*.json"))) == 1  # the old unit went
    assert main([*tiny, "--jobs", "3"]) == 0  # the same study: resumed, nothing refused
