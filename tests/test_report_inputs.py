"""``hqsched report`` takes the output of every command that writes results: ``simulate``
(one policy or several), ``campaign run``, ``plan simulate`` and ``gap``; its HTML needs
no Markdown package."""

from __future__ import annotations

import builtins
import re
from pathlib import Path

import pytest

from hqsched.cli import main
from hqsched.validation.gap import GapConfig, run_study

FAST = ["--duration", "12h", "--warmup", "1h", "--iteration-scale", "0.05", "--processes", "1"]
CAMPAIGN = """\
name = "tiny"
seeds = "0-1"
[fixed]
duration = "12h"
warmup = "1h"
iteration-scale = 0.05
[grid]
policy = ["fifo", "lifo"]
"""


def report(results: Path, out: Path, capsys) -> str:
    """Run ``hqsched report --html`` and return report.md (checking the HTML's tables)."""
    code = main(["report", str(results), "--out", str(out), "--html"])
    assert code == 0, capsys.readouterr().err
    html = (out / "report.html").read_text()
    assert "<table>" in html and "<th>" in html and "| ---" not in html
    md = (out / "report.md").read_text()
    assert "## Provenance" in md and "command: `hqsched " in md
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md):
        assert (out / image).is_file(), image  # every figure the page shows is there
    return md


def test_report_of_simulate_with_several_policies(tmp_path, capsys):
    results = tmp_path / "sim"
    assert main(["simulate", *FAST, "--policy", "fifo,lifo", "--seeds", "0-1",
                 "--out", str(results)]) == 0
    md = report(results, tmp_path / "r", capsys)
    assert md.startswith("# Simulation report")
    assert "| fifo | 2 |" in md and "| lifo | 2 |" in md
    assert "command: `hqsched simulate " in md


def test_report_of_simulate_with_one_policy(tmp_path, capsys):
    results = tmp_path / "sim"
    assert main(["simulate", *FAST, "--policy", "weighted", "--seeds", "0-2",
                 "--out", str(results)]) == 0
    md = report(results, tmp_path / "r", capsys)
    assert "`policy = weighted`" in md and "3 seed(s)" in md
    # Vector figures for papers: the page links them.
    assert main(["report", str(results), "--out", str(tmp_path / "pdf"),
                 "--figure-format", "pdf"]) == 0
    pdfs = sorted(p.name for p in (tmp_path / "pdf").glob("*.pdf"))
    assert pdfs and not list((tmp_path / "pdf").glob("*.png"))
    assert all(f"]({name})" in (tmp_path / "pdf" / "report.md").read_text() for name in pdfs)
    assert all((tmp_path / "pdf" / n).read_bytes().startswith(b"%PDF") for n in pdfs)


def test_report_of_campaign_run_in_parquet(tmp_path, capsys):
    pytest.importorskip("pyarrow")
    path = tmp_path / "c.toml"
    path.write_text(CAMPAIGN)
    results = tmp_path / "out"
    assert main(["campaign", "run", str(path), "--out", str(results), "--processes", "1",
                 "--format", "parquet"]) == 0
    assert len(list((results / "jobs").rglob("*.parquet"))) == 4
    assert not list((results / "jobs").rglob("*.csv"))
    md = report(results, tmp_path / "r", capsys)
    assert md.startswith("# Campaign report: tiny") and "| fifo | 2 |" in md
    assert main(["campaign", "status", str(results)]) == 0  # reads the parquet units


def test_campaign_file_format_key(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text(CAMPAIGN.replace('seeds = "0-1"', 'seeds = "0"\nformat = "xml"'))
    assert main(["campaign", "run", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "format" in err and "csv, parquet" in err and len(err.strip().splitlines()) == 1


def test_report_of_plan_simulate(tmp_path, capsys):
    results = tmp_path / "plan"
    code = main(["plan", "simulate", "--policy", "fifo", *FAST, "--interarrival", "300",
                 "--classical-range", "1-1", "--quantum-range", "1-2",
                 "--max-drop", "0.5", "--seeds", "n=4", "--batch", "2", "--out", str(results)])
    assert code in (0, 1), capsys.readouterr().err
    md = report(results, tmp_path / "r", capsys)
    assert "## Capacity plan (hqsched plan simulate)" in md
    assert "quantum-computers" in md  # the candidates are the campaign's points


def test_report_of_gap(tmp_path, capsys):
    cfg = GapConfig(instances=2, jobs=3, iterations=1, interarrival_s=10.0, time_limit_s=20.0,
                    relax_time_limit_s=20.0)
    run_study(cfg, tmp_path / "gap", processes=1, progress=False)
    md = report(tmp_path / "gap", tmp_path / "r", capsys)
    assert md.startswith("# Gap study")
    assert "| dedicated | fifo | 2 |" in md
    assert (tmp_path / "r" / "gap_boxplot.png").is_file()


def test_html_without_the_markdown_package(tmp_path, capsys, monkeypatch):
    results = tmp_path / "sim"
    assert main(["simulate", *FAST, "--policy", "fifo", "--seeds", "0-1",
                 "--out", str(results)]) == 0
    real_import = builtins.__import__

    def no_markdown(name, *args, **kwargs):
        if name == "markdown" or name.startswith("markdown."):
            raise ImportError("No module named 'markdown'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_markdown)
    report(results, tmp_path / "r", capsys)
    html = (tmp_path / "r" / "report.html").read_text()
    assert "<pre>" not in html.split("<h2>Provenance")[0]  # tables, not raw Markdown
    assert "<h1>" in html and "<img " in html and "<li>" in html


def test_a_directory_of_no_command_is_refused_in_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "not a results directory of hqsched" in err and len(err.strip().splitlines()) == 1


def test_campaign_file_may_name_parquet(tmp_path):
    pytest.importorskip("pyarrow")
    from hqsched.experiments import campaign as cmp
    path = tmp_path / "c.toml"
    path.write_text(CAMPAIGN.replace('seeds = "0-1"', 'seeds = "0-1"\nformat = "parquet"'))
    assert cmp.load_campaign(str(path)).fmt == "parquet"
    path.write_text(CAMPAIGN.replace("[fixed]", "[fixed]\nformat = \"parquet\""))
    with pytest.raises(Exception, match="put format at the top level or pass --format"):
        cmp.load_campaign(str(path))
