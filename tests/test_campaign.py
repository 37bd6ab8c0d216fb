"""Campaigns: guard rails, resume after SIGKILL, failures recorded, local vs Ray identical."""

from __future__ import annotations

import filecmp
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hqsched.cli import main
from hqsched.errors import InputError
from hqsched.experiments import campaign as cmp
from hqsched.experiments.campaign_run import run_campaign
from hqsched.experiments.executor import _ray_is_this_machine

# Tiny but busy: 0.5 simulated day, iterations scaled down, Q small so queues form.
TINY = """\
name = "tiny"
seeds = "{seeds}"
[fixed]
duration = "12h"
warmup = "1h"
iteration-scale = 0.2
interarrival = "300s"
[grid]
policy = ["fifo", "random"]
quantum-computers = [1, 2]
"""


def write(tmp_path: Path, text: str, name: str = "c.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def result_files(root: Path) -> dict[str, bytes]:
    """Every result file (summaries and tables) by relative path."""
    return {str(p.relative_to(root)): p.read_bytes()
            for sub in ("replications", "jobs") for p in sorted((root / sub).rglob("*"))
            if p.is_file()}


# -- parsing and guard rails ------------------------------------------------

def test_units_and_ids(tmp_path):
    c = cmp.load_campaign(str(write(tmp_path, TINY.format(seeds="0-2"))))
    assert c.n_units == 12
    ids = [u for u, _, _ in c.units()]
    assert ids[0] == "policy=fifo,quantum-computers=1/seed-000000"
    assert len(set(ids)) == 12
    assert c.scenarios["policy=random,quantum-computers=2"].platform.quantum_computers == 2


def test_seeds_override_and_bundled_studies():
    small = cmp.load_campaign("small", seeds="0-1")
    assert small.seeds == (0, 1) and [p.key for p in small.points] == [
        "policy=fifo", "policy=lifo", "policy=random", "policy=weighted"]
    big_c = cmp.load_campaign("big-c", seeds="0-2")
    assert big_c.n_units == 108
    assert "classical-workers=1,interarrival=150" in {p.key for p in big_c.points}
    cfg = next(iter(big_c.scenarios.values()))
    assert cfg.platform.worker_capacity_ops_per_s == 1e7 and cfg.workload.fill_in == "interpolate"


@pytest.mark.parametrize("text, message", [
    ("seeds = \"0-1\"\n[fixed\n", "not valid TOML"),
    ("seeds = \"0-1\"\nfoo = 1\n", "unknown key 'foo'"),
    ("seeds = \"0-1\"\n[fixed]\npolicy = \"fifo\"\nwarp = 3\n", "fixed.warp: unknown parameter"),
    ("seeds = \"0-1\"\n[fixed]\npolicy = \"fifo\"\n[grid]\nwarp = [1, 2]\n",
     "grid.warp: unknown parameter 'warp'"),
    ("seeds = \"0-1\"\n[fixed]\npolicy = \"fifo\"\nquantum-computers = \"four\"\n",
     "fixed.quantum-computers: must be a positive integer, got 'four'"),
    ("seeds = \"0-1\"\n[grid]\npolicy = \"fifo\"\n",
     "grid.policy: a grid entry must be a non-empty list"),
    ("seeds = \"0-1\"\n[grid]\npolicy = [\"fifo\", \"nope\"]\n",
     "grid.policy[1]: unknown policy 'nope'"),
    ("seeds = \"0-1\"\n[fixed]\npolicy = \"fifo\"\nout = \"x\"\n",
     "fixed.out: 'out' is not a scenario parameter"),
    ("seeds = true\n[fixed]\npolicy = \"fifo\"\n", "seeds: seeds must look like"),
    ("seeds = \"0-1\"\n[fixed]\nqubits = [4]\n", "policy: missing"),
    ("seeds = \"0-1\"\n[fixed]\npolicy = \"fifo\"\n[grid]\ninterarrival = [\"10m\", \"600s\"]\n",
     "values must be distinct"),
])
def test_malformed_files_are_refused(tmp_path, capsys, text, message):
    path = write(tmp_path, text)
    with pytest.raises(InputError, match=None) as err:
        cmp.load_campaign(str(path))
    assert message in str(err.value) and str(path) in str(err.value)
    # Through the CLI: one line, exit 2.
    assert main(["campaign", "run", str(path), "--out", str(tmp_path / "o")]) == 2
    out = capsys.readouterr().err.strip()
    assert out.startswith("hqsched: error: ") and "\n" not in out and message in out


def test_unknown_study_name(capsys):
    assert main(["campaign", "run", "no-such-study", "--out", "x"]) == 2
    err = capsys.readouterr().err
    assert "not a bundled study (bundled: big-c, big-q, " in err and "small)" in err, err


def test_too_large_grid_needs_yes(tmp_path, capsys):
    path = write(tmp_path, TINY.format(seeds="0-299"))  # 4 points x 300 = 1200 units
    assert main(["campaign", "run", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "1200 units, more than --max-units 1000; pass --yes" in err
    assert not (tmp_path / "o").exists()
    assert main(["campaign", "run", "big-q", "--out", str(tmp_path / "o")]) == 2
    assert "3600 units" in capsys.readouterr().err


def test_ray_missing_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    path = write(tmp_path, TINY.format(seeds="0"))
    assert main(["campaign", "run", str(path), "--out", str(tmp_path / "o"),
                 "--executor", "ray"]) == 2
    assert "pip install 'hqsched[ray]'" in capsys.readouterr().err


# -- running ------------------------------------------------------------------

def test_failures_are_recorded_and_the_rest_goes_on(tmp_path, monkeypatch, capsys):
    import hqsched.online.engine as engine
    real = engine.simulate

    def flaky(config, seed):
        if seed == 1 and config.policy == "random":
            raise RuntimeError("boom at seed 1")
        return real(config, seed)

    monkeypatch.setattr(engine, "simulate", flaky)
    path = write(tmp_path, TINY.format(seeds="0-1"))
    out = tmp_path / "o"
    c = cmp.load_campaign(str(path))
    rep = run_campaign(c, out, processes=1, progress=False)
    assert len(rep.failed) == 2 and rep.finished == 6
    st = cmp.status(out)
    assert len(st.done) == 6 and len(st.failed) == 2 and not st.left
    assert all("RuntimeError: boom at seed 1" in e for e in st.failed.values())
    assert "Traceback" in (out / "failed" / "policy=random,quantum-computers=1"
                           / "seed-000001.json").read_text()
    assert main(["campaign", "status", str(out)]) == 1
    text = capsys.readouterr().out
    assert "6 done, 0 left, 2 failed (of 8)" in text and "boom at seed 1" in text
    # Fixed: the rerun retries only the failed units and clears their records.
    monkeypatch.setattr(engine, "simulate", real)
    rep = run_campaign(c, out, processes=1, progress=False)
    assert rep.skipped == 6 and rep.finished == 2 and not rep.failed
    assert not list((out / "failed").rglob("*.json"))


def test_sigkill_midway_then_resume_equals_uninterrupted(tmp_path):
    """Really kill `hqsched campaign run`, rerun it, compare every file with a clean run."""
    # Heavier units than TINY (7 days, full iteration counts): the run must still be
    # going when the kill comes, whatever the machine's speed.
    path = write(tmp_path, TINY.format(seeds="0-9").replace('"12h"', '"7d"')
                 .replace("iteration-scale = 0.2", "iteration-scale = 1.0"))  # 40 units
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    cmd = [sys.executable, "-m", "hqsched", "campaign", "run", str(path)]
    proc = subprocess.Popen(cmd + ["--out", str(killed), "--processes", "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = list((killed / "replications").rglob("*.json")) if killed.exists() else []
        if len(done) >= 3 or proc.poll() is not None:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the campaign finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its pool workers, no cleanup
    proc.wait()
    n_before = len(cmp.status(killed).done)
    assert 3 <= n_before < 40, n_before
    subprocess.run(cmd + ["--out", str(killed), "--processes", "2"], check=True,
                   capture_output=True)
    subprocess.run(cmd + ["--out", str(clean), "--processes", "1"], check=True,
                   capture_output=True)
    assert len(cmp.status(killed).done) == 40
    assert not list(killed.rglob("*.tmp")), "a killed worker's temporary table is left"
    a, b = result_files(killed), result_files(clean)
    assert a.keys() == b.keys() and len(a) == 80
    assert all(a[k] == b[k] for k in a), "resumed results differ from an uninterrupted run"
    # A third run finds everything done and changes nothing.
    before = {k: os.stat(killed / k).st_mtime_ns for k in a}
    subprocess.run(cmd + ["--out", str(killed)], check=True, capture_output=True)
    assert before == {k: os.stat(killed / k).st_mtime_ns for k in a}


def test_other_campaign_in_out_is_refused(tmp_path, capsys):
    out = tmp_path / "o"
    p1 = write(tmp_path, TINY.format(seeds="0"), "a.toml")
    p2 = write(tmp_path, TINY.format(seeds="0").replace('"300s"', '"400s"'), "b.toml")
    assert main(["campaign", "run", str(p1), "--out", str(out), "--processes", "1"]) == 0
    assert main(["campaign", "run", str(p2), "--out", str(out)]) == 2
    assert "holds results of a different scenario" in capsys.readouterr().err


def test_local_and_ray_give_identical_tables(tmp_path):
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'hqsched[ray]')")
    path = write(tmp_path, TINY.format(seeds="0-1"))
    c = cmp.load_campaign(str(path))
    run_campaign(c, tmp_path / "local", processes=2, progress=False)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        # A local instance: its workers write the tables, as local processes do.
        assert _ray_is_this_machine(ray)
        rep = run_campaign(c, tmp_path / "ray", executor="ray", progress=False)
    finally:
        ray.shutdown()
    assert rep.finished == 8
    a, b = result_files(tmp_path / "local"), result_files(tmp_path / "ray")
    assert a.keys() == b.keys() and len(a) == 16
    assert all(a[k] == b[k] for k in a)
    assert filecmp.cmp(tmp_path / "local" / "config.json", tmp_path / "ray" / "config.json",
                       shallow=False)


def test_campaign_built_in_code_records_the_options_its_scenarios_share():
    """A driver's campaign (e.g. plan simulate) labels its points with the options that
    differ and records every option they share as fixed, so reports read the real load."""
    from hqsched.instances.model import Platform
    from hqsched.instances.workload import WorkloadSpec
    from hqsched.online.config import SimulationConfig

    def config(c: int) -> SimulationConfig:
        return SimulationConfig(Platform(c, 1e7, 4, 40, 40), policy="random", duration_s=86400.0,
                                warmup_s=3600.0, workload=WorkloadSpec(450.0, (4, 8), (1,)))

    campaign = cmp.campaign_from_scenarios(
        "plan", [({"classical-workers": c}, config(c)) for c in (1, 2)], seeds=(0,))
    assert campaign.grid == {"classical-workers": [1, 2]}
    assert campaign.fixed["interarrival"] == 450.0 and campaign.fixed["qubits"] == [4, 8]
    assert campaign.fixed["worker-capacity"] == 1e7 and "classical-workers" not in campaign.fixed
