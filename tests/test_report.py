"""Reports: built from small campaigns, they write the expected files and adapt to the grid."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hqsched.cli import main
from hqsched.experiments import campaign as cmp
from hqsched.experiments.campaign_run import run_campaign

POLICIES = """\
name = "policies"
seeds = "0-2"
[fixed]
duration = "12h"
warmup = "1h"
iteration-scale = 0.2
interarrival = "300s"
quantum-computers = 1
[grid]
policy = ["fifo", "lifo", "random", "weighted"]
"""

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


def run(tmp_path: Path, text: str, name: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    out = tmp_path / name
    run_campaign(cmp.load_campaign(str(path)), out, processes=1, progress=False)
    return out


def test_policy_report(tmp_path):
    results = run(tmp_path, POLICIES, "policies")
    out = tmp_path / "report"
    assert main(["report", str(results), "--out", str(out), "--html"]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"report.md", "report.html", "points.csv", "runs.csv", "by_qubits.csv",
            "by_priority.csv", "job_time_by_qubits.png", "job_time_by_priority.png"} <= names
    assert not any(n.startswith("drop_") for n in names)  # no resource x load axes
    md = (out / "report.md").read_text()
    for needle in ("![job time by qubits](job_time_by_qubits.png)",
                   "| fifo | 3 |", "censored (still running at the end",
                   # scaled-down iterations and one QC: not the paper's scenario
                   "No comparison with the paper's findings (Section IV): this run is not "
                   "the paper's scenario (", "iteration-scale = 0.2 (paper: 1.0)"):
        assert needle in md
    assert "## Comparison with the paper" not in md
    points = pd.read_csv(out / "points.csv", index_col=0)
    assert len(points) == 4 and (points["seeds"] == 3).all()
    assert (points["drop_probability_ci_low"] <= points["drop_probability"]).all()
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_resource_load_report(tmp_path):
    results = run(tmp_path, PLANE, "plane")
    out = tmp_path / "report"
    assert main(["report", str(results), "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"drop_C_load.png", "classical_tasks_C_load.png", "quantum_tasks_C_load.png",
            "job_time_by_C.png"} <= names
    md = (out / "report.md").read_text()
    assert "Trace fill-in" in md and "[12] qubits" in md
    assert "(paper Fig. 12)" in md and "(paper Fig. 14)" in md


def test_report_of_unfinished_dir_is_refused(tmp_path, capsys):
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    assert "not a results directory of hqsched" in capsys.readouterr().err


def test_the_paper_comparison_is_drawn_only_on_the_papers_scenario(tmp_path):
    from hqsched.reports import campaign_data as rd
    from hqsched.reports.report import Page, _paper_section

    data = rd.load(run(tmp_path, POLICIES, "policies"))
    assert set(rd.paper_differences(data)) == {
        "interarrival = 300.0 (paper: 600.0)", "quantum-computers = 1 (paper: 4)",
        "iteration-scale = 0.2 (paper: 1.0)"}
    # Only the run length differs from the paper's small scenario: its findings apply.
    data.plan["fixed"] = {k: v for k, v in data.plan["fixed"].items()
                          if k in ("duration", "warmup")}
    assert rd.paper_differences(data) == []
    page = Page()
    _paper_section(page, data, rd.point_summary(data))
    text = "\n".join(page.lines)
    assert "## Comparison with the paper (Section IV)" in text
    assert "Weighted: higher-priority jobs" in text
