"""Results on disk: corruption detected and recomputed, one writer per directory, workers
that die with their driver, messages that name the target and never a temporary file."""

from __future__ import annotations

import json
import os
import shutil
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
from hqsched.experiments.replications import run_replications
from hqsched.experiments.results_store import (
    NOT_STARTED,
    CorruptUnit,
    DirectoryBusy,
    ResultStore,
    TableWriter,
)
from hqsched.files import atomic_write_text
from hqsched.online.config import Platform, SimulationConfig, WorkloadSpec

TINY = """\
name = "tiny"
seeds = "{seeds}"
[fixed]
duration = "{duration}"
warmup = "1h"
iteration-scale = {scale}
interarrival = "300s"
[grid]
policy = ["fifo", "random"]
quantum-computers = [1, 2]
"""


def campaign_file(tmp_path: Path, seeds: str = "0-1", duration: str = "12h",
                  scale: float = 0.2) -> Path:
    path = tmp_path / f"c-{seeds}-{duration}.toml"
    path.write_text(TINY.format(seeds=seeds, duration=duration, scale=scale))
    return path


def result_files(root: Path) -> dict[str, bytes]:
    """Every result file (summaries and tables) by relative path."""
    return {str(p.relative_to(root)): p.read_bytes()
            for sub in ("replications", "jobs") for p in sorted((root / sub).rglob("*"))
            if p.is_file()}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished 8-unit campaign (run once) and its file."""
    tmp = tmp_path_factory.mktemp("finished")
    path = campaign_file(tmp)
    run_campaign(cmp.load_campaign(str(path)), tmp / "clean", processes=1, progress=False)
    return path, tmp / "clean"


# -- the damage done to one unit each ---------------------------------------------

def truncate_json(summary: Path, table: Path) -> None:
    summary.write_bytes(summary.read_bytes()[:len(summary.read_bytes()) // 2])


def cut_csv_mid_row(summary: Path, table: Path) -> None:
    data = table.read_bytes()
    table.write_bytes(data[:data.rindex(b"\n", 0, len(data) - 1) + 7])


def cut_csv_at_row_boundary(summary: Path, table: Path) -> None:
    lines = table.read_bytes().splitlines(keepends=True)
    table.write_bytes(b"".join(lines[:len(lines) // 2]))


def edit_json_value(summary: Path, table: Path) -> None:
    doc = json.loads(summary.read_text())
    doc["summary"]["job_time_p95_s"] *= 1.5
    summary.write_text(json.dumps(doc, indent=1) + "\n")


def edit_csv_value(summary: Path, table: Path) -> None:
    # The same size: one digit of the second row changed.
    lines = table.read_text().splitlines(keepends=True)
    row = lines[2]
    k = next(i for i, ch in enumerate(row) if ch.isdigit() and i > row.index(","))
    lines[2] = row[:k] + str((int(row[k]) + 1) % 10) + row[k + 1:]
    table.write_text("".join(lines))


def delete_table(summary: Path, table: Path) -> None:
    table.unlink()


def strip_checksums(summary: Path, table: Path) -> None:
    """As an hqsched before checksums wrote it."""
    doc = json.loads(summary.read_text())
    del doc["table"], doc["checksum"]
    summary.write_text(json.dumps(doc, indent=1) + "\n")


DAMAGE = [truncate_json, cut_csv_mid_row, cut_csv_at_row_boundary, edit_json_value,
          edit_csv_value, delete_table, strip_checksums]


def damage_units(root: Path) -> dict[str, str]:
    """Apply each kind of damage to its own unit; unit -> damage name."""
    store = ResultStore(root)
    units = sorted(cmp.status(root).done)
    assert len(units) >= len(DAMAGE)
    damaged = {}
    for unit, harm in zip(units, DAMAGE):
        harm(store.summary_path(unit), store.table_path(unit))
        damaged[unit] = harm.__name__
    return damaged


# -- detected, reported, recomputed --------------------------------------------------

def test_every_kind_of_damage_is_detected_reported_and_recomputed(finished, tmp_path, capsys):
    path, clean = finished
    bad = tmp_path / "bad"
    shutil.copytree(clean, bad)
    damaged = damage_units(bad)
    st = cmp.status(bad)
    assert sorted(st.corrupt) == sorted(damaged), (st.corrupt, damaged)
    assert not set(st.done) & set(damaged) and len(st.done) == 8 - len(damaged)
    assert "older hqsched" in st.corrupt[next(u for u, h in damaged.items()
                                              if h == "strip_checksums")]
    # campaign status: counted as corrupt (not done), each named; exit 1.
    assert main(["campaign", "status", str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{len(damaged)} corrupt" in out and "0 left" in out
    assert all(f"corrupt {u}:" in out for u in damaged)
    # report: a one-line error naming a corrupt unit, no traceback.
    assert main(["report", str(bad), "--out", str(tmp_path / "rep")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is corrupt" in err
    assert any(u in err for u in damaged)
    # Rerun: exactly the damaged units run again; the files equal the clean run's.
    rep = run_campaign(cmp.load_campaign(str(path)), bad, processes=1, progress=False)
    assert rep.finished == len(damaged) and rep.skipped == 8 - len(damaged)
    assert "is corrupt" in capsys.readouterr().err  # said, not silent
    assert result_files(bad) == result_files(clean)
    assert len(cmp.status(bad).done) == 8


@pytest.mark.parametrize("harm", DAMAGE, ids=lambda h: h.__name__)
def test_loading_a_damaged_unit_raises_a_one_line_error_naming_it(finished, tmp_path, harm):
    _, clean = finished
    bad = tmp_path / "bad"
    shutil.copytree(clean, bad)
    store = ResultStore(bad)
    unit = cmp.status(bad).done[0]
    harm(store.summary_path(unit), store.table_path(unit))
    problem = store.problem(unit)
    assert problem not in (None, NOT_STARTED) and not store.has(unit)
    with pytest.raises(CorruptUnit, match=f"unit {unit} is corrupt") as info:
        store.load(unit)
    assert "\n" not in str(info.value) and isinstance(info.value, InputError)
    assert cmp.unit_summary(bad, unit) is None  # plan simulate recomputes it, never reads it


def flip_a_byte(summary: Path, table: Path) -> None:
    data = bytearray(table.read_bytes())
    data[len(data) // 2] ^= 0x01
    table.write_bytes(bytes(data))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_simulate_out_recomputes_damaged_replications(tmp_path, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    cfg = SimulationConfig(
        platform=Platform(1, 1e9, 4, 40, 40), policy="weighted", duration_s=86400.0,
        warmup_s=7200.0, workload=WorkloadSpec(600.0, (4, 6, 8, 10), (1, 2, 4),
                                               iteration_scale=0.05))
    clean = run_replications(cfg, range(4), tmp_path / "clean", processes=1, progress=False,
                             fmt=fmt)
    clean_files = result_files(tmp_path / "clean")
    shutil.copytree(tmp_path / "clean", tmp_path / "bad")
    store = ResultStore(tmp_path / "bad", fmt)
    for seed, harm in zip(range(4), (truncate_json, cut_csv_mid_row, flip_a_byte,
                                     delete_table)):
        harm(store.summary_path(f"seed-{seed:06d}"), store.table_path(f"seed-{seed:06d}"))
    again = run_replications(cfg, range(4), tmp_path / "bad", processes=1, progress=False,
                             fmt=fmt)
    assert result_files(tmp_path / "bad") == clean_files
    assert [r.summary for r in again] == [r.summary for r in clean]


def test_gap_recomputes_a_damaged_instance(tmp_path):
    from hqsched.validation.gap import INSTANCES_CSV, GapConfig, run_study, unit_id
    cfg = GapConfig(instances=2, jobs=3, iterations=1, interarrival_s=10.0, time_limit_s=20.0,
                    relax_time_limit_s=20.0)
    import pandas as pd
    run_study(cfg, tmp_path, processes=1, progress=False)
    before = pd.read_csv(tmp_path / INSTANCES_CSV)
    store = ResultStore(tmp_path)
    cut_csv_at_row_boundary(store.summary_path(unit_id(1)), store.table_path(unit_id(1)))
    assert not store.has(unit_id(1))
    run_study(cfg, tmp_path, processes=1, progress=False)
    assert store.has(unit_id(1))
    # Solver wall times differ between runs; the results do not.
    cols = ["instance", "policy", "mode", "online_s", "reference_s", "ratio_inc"]
    after = pd.read_csv(tmp_path / INSTANCES_CSV)
    pd.testing.assert_frame_equal(before[cols], after[cols])
    assert len(after) == len(before)


# -- one writer per directory ------------------------------------------------------------

def test_a_second_run_into_the_same_out_fails_at_once_and_the_first_finishes(tmp_path):
    path = campaign_file(tmp_path, seeds="0", duration="30d", scale=1.0)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "hqsched", "campaign", "run", str(path), "--out", str(out),
           "--processes", "1"]
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / cmp.PLAN_FILE).is_file() and first.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.05)  # the plan is written once the directory is locked
        second = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert first.poll() is None, "the first run ended before the second could start"
        assert second.returncode == 2
        errors = [ln for ln in second.stderr.splitlines() if "error" in ln.lower()]
        assert "Traceback" not in second.stderr and len(errors) == 1, second.stderr
        assert errors[0].startswith("hqsched: error: --out ") and str(out) in errors[0]
        assert "another hqsched run" in errors[0]
        assert first.wait(timeout=300) == 0, first.stderr.read() if first.stderr else ""
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert len(cmp.status(out).done) == 4
    # The lock died with its process: a third run may write (and finds all done).
    assert subprocess.run(cmd, capture_output=True, timeout=120).returncode == 0


def test_the_lock_is_per_process_and_released(tmp_path):
    store = ResultStore(tmp_path)
    store.claim({"a": 1})
    ResultStore(tmp_path).claim({"a": 1})  # the same process: the same writer
    probe = [sys.executable, "-c",
             "import sys; from hqsched.experiments.results_store import ResultStore\n"
             "from hqsched.errors import InputError\n"
             f"try: ResultStore({str(tmp_path)!r}).claim({{'a': 1}})\n"
             "except InputError as e: print(e); sys.exit(2)"]
    busy = subprocess.run(probe, capture_output=True, text=True, timeout=60)
    assert busy.returncode == 2 and "another hqsched run" in busy.stdout
    store.release()
    assert subprocess.run(probe, capture_output=True, timeout=60).returncode == 0
    with pytest.raises(InputError, match="different scenario"):
        store.claim({"a": 2})  # refused: the lock it took is given back
    assert subprocess.run(probe, capture_output=True, timeout=60).returncode == 0
    assert issubclass(DirectoryBusy, InputError)


# -- workers die with their driver --------------------------------------------------------

def children_of(pid: int) -> list[int]:
    """Live processes whose parent is ``pid`` (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(entry.name))
    return out


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split()[0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_pool_workers_exit_when_the_driver_is_killed(tmp_path):
    path = campaign_file(tmp_path, seeds="0-4", duration="60d", scale=1.0)
    out = tmp_path / "out"
    driver = subprocess.Popen([sys.executable, "-m", "hqsched", "campaign", "run", str(path),
                               "--out", str(out), "--processes", "2"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and driver.poll() is None:
            workers = children_of(driver.pid)
            started = out.is_dir() and any((out / "replications").rglob("*.json"))
            if len(workers) >= 2 and started:
                break
            time.sleep(0.1)
        assert driver.poll() is None and len(workers) >= 2, "no pool to kill"
        driver.send_signal(signal.SIGKILL)  # the driver only: no cleanup runs
        driver.wait()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(alive(w) for w in workers):
            time.sleep(0.1)
        assert not [w for w in workers if alive(w)], "pool workers outlived their driver"
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
        for w in workers:
            if alive(w):
                os.kill(w, signal.SIGKILL)


# -- messages name the target, never a temporary file ---------------------------------------

def test_errors_name_the_target_not_the_temporary_file(tmp_path):
    target = tmp_path / "a_dir"
    target.mkdir()
    with pytest.raises(OSError) as info:
        atomic_write_text(target, "x")
    assert info.value.filename == str(target) and ".tmp" not in str(info.value)
    (tmp_path / "t.csv").mkdir()
    writer = TableWriter(tmp_path / "t.csv", {"x": "<f8"}, "csv")
    with pytest.raises(OSError) as info:
        writer.close()
    assert info.value.filename == str(tmp_path / "t.csv") and ".tmp" not in str(info.value)
    assert not list(tmp_path.glob(".*.tmp"))


def test_cli_names_the_target_when_out_holds_a_directory(tmp_path, capsys):
    from hqsched.validation.gap import INSTANCES_CSV
    (tmp_path / INSTANCES_CSV).mkdir()
    code = main(["gap", "--instances", "1", "--jobs", "2", "--iterations", "1",
                 "--out", str(tmp_path), "--processes", "1"])
    err = capsys.readouterr().err
    assert code == 2 and ".tmp" not in err and INSTANCES_CSV in err, err


def test_plan_simulate_recomputes_damaged_units_and_gives_the_same_plan(tmp_path):
    from hqsched.instances.model import Platform as PlanPlatform
    from hqsched.instances.synthetic import Distribution, SyntheticWorkload
    from hqsched.planning.simulated import Targets, plan_simulate
    workload = SyntheticWorkload(interarrival_s=1.0, iterations=1,
                                 quantum_s=Distribution.exponential(3.0))
    base = SimulationConfig(
        platform=PlanPlatform(classical_workers=1, worker_capacity_ops_per_s=1e9,
                              quantum_computers=1, max_classical=None, max_quantum=None),
        policy="fifo", duration_s=2_000.0, warmup_s=200.0, workload=workload)

    def plan():
        return plan_simulate(base, Targets(max_mean_job_time_s=4.0), classical_range=(1, 1),
                             quantum_range=(3, 6), seeds=range(4), batch=2, processes=1,
                             out=tmp_path)

    first = plan()
    files = result_files(tmp_path)
    store = ResultStore(tmp_path)
    units = sorted(str(p.relative_to(tmp_path / "replications"))[:-len(".json")]
                   for p in (tmp_path / "replications").rglob("*.json"))
    for unit, harm in zip(units, (edit_json_value, truncate_json, cut_csv_mid_row)):
        harm(store.summary_path(unit), store.table_path(unit))
    again = plan()
    assert again.to_json() == first.to_json() and result_files(tmp_path) == files


FALLBACK_DRIVER = """\
import multiprocessing, os, sys, time
import hqsched.experiments.executor as ex

def worker(driver):
    sys.platform = "other"  # no prctl: only the portable watcher thread
    ex.PARENT_POLL_S = 0.1
    ex._die_with_parent(driver)
    time.sleep(120)

if __name__ == "__main__":
    child = multiprocessing.get_context("fork").Process(target=worker, args=(os.getpid(),))
    child.start()
    print(child.pid, flush=True)
    time.sleep(120)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc, forks")
def test_the_portable_watcher_ends_a_worker_whose_driver_died(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(FALLBACK_DRIVER)
    driver = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    child = 0
    try:
        assert driver.stdout is not None
        child = int(driver.stdout.readline())
        assert alive(child)
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and alive(child):
            time.sleep(0.1)
        assert not alive(child), "the worker outlived its driver"
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
        if child and alive(child):
            os.kill(child, signal.SIGKILL)
