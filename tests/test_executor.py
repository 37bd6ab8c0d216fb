"""The one executor: ordering, in-process vs pool, the window, errors and Ctrl-C, resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from hqsched.errors import InputError
from hqsched.experiments import executor as ex
from hqsched.experiments.executor import (
    WINDOW_PER_WORKER,
    ExecutorOptions,
    UnitBatch,
    map_units,
    run_stored_units,
    run_units,
)
from hqsched.experiments.results_store import ResultStore, TableOutput

QUIET = {"progress": False}
#: How long a blocked unit waits for a release that never comes (s): far
#: longer than any test, so a unit that finishes was awaited, not abandoned.
BLOCK_S = 120.0


# -- work functions (module level: pool workers run them) ---------------------

def square_later(delay_s: float, i: int) -> tuple[int, int]:
    """i*i after a delay that shrinks with i (later tasks finish first); and the pid."""
    time.sleep(delay_s * (8 - i % 8))
    return i * i, os.getpid()


def mark(folder: str, i: int) -> int:
    """Leave ``started-i`` (holding the pid) in ``folder``; return i."""
    tmp = Path(folder, f".started-{i}")
    tmp.write_text(str(os.getpid()))
    tmp.replace(Path(folder, f"started-{i}"))  # whole, for a reader in another process
    return i


def wait_for_starts(folder: str, n: int) -> None:
    """Until ``n`` units have started (or a minute has passed)."""
    deadline = time.monotonic() + 60
    while len(list(Path(folder).glob("started-*"))) < n and time.monotonic() < deadline:
        time.sleep(0.01)


def fail_first_block_others(folder: str, i: int) -> int:
    """Unit 0 raises once unit 1 has started; the others start, then wait for a
    release that never comes."""
    if i == 0:
        wait_for_starts(folder, 1)
        raise ValueError("unit 0 failed")
    mark(folder, i)
    deadline = time.monotonic() + BLOCK_S
    while time.monotonic() < deadline and not Path(folder, "release").exists():
        time.sleep(0.01)
    Path(folder, f"finished-{i}").write_text("")
    return i


def first_returns_others_block(folder: str, i: int) -> int:
    return i if i == 0 else fail_first_block_others(folder, i)


def table_unit(scale: float, i: int, table: TableOutput) -> dict[str, float]:
    """A stored unit: a two-block streamed table of i + 1 rows, summary {"i", "total"}."""
    values = scale * np.arange(i + 1, dtype=float)
    with table.stream({"k": "<i8", "value": "<f8", "label": "str"}) as sink:
        half = len(values) // 2
        for part in (slice(0, half), slice(half, None)):
            sink({"k": np.arange(len(values))[part], "value": values[part],
                  "label": np.array([f"row {k}" for k in range(len(values))])[part]})
    return {"i": float(i), "total": float(values.sum())}


def whole_table_unit(scale: float, i: int, table: TableOutput) -> dict[str, float]:
    if i == 3:
        raise RuntimeError("unit 3 is broken")
    table.write({"x": np.array([scale * i, np.nan]), "s": np.array(["a", "b"])})
    return {"i": float(i)}


def files_of(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def started(folder: Path) -> dict[int, int]:
    """Unit -> pid of the units that started."""
    return {int(p.name.split("-")[1]): int(p.read_text()) for p in folder.glob("started-*")}


def assert_dead(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        # A terminated child of this process not yet reaped is a zombie: dead too.
        with open(f"/proc/{pid}/stat") as fh:
            assert fh.read().split(")")[1].split()[0] == "Z", f"worker {pid} still runs"


# -- ordering, processes --------------------------------------------------------

def test_results_come_back_in_task_order_whatever_order_they_finish_in():
    results = map_units(UnitBatch(square_later, 0.02, range(10)),
                        ExecutorOptions(processes=2, **QUIET))
    assert [r for r, _ in results] == [i * i for i in range(10)]
    seen = []
    run_units(UnitBatch(square_later, 0.02, range(10)), lambda t, r: seen.append((t, r[0])),
              ExecutorOptions(processes=2, **QUIET))
    assert sorted(seen) == [(i, i * i) for i in range(10)]  # each once, with its own task


def test_in_process_and_pool_give_the_same_results():
    one = map_units(UnitBatch(square_later, 0.0, range(6)), ExecutorOptions(processes=1, **QUIET))
    two = map_units(UnitBatch(square_later, 0.0, range(6)), ExecutorOptions(processes=2, **QUIET))
    assert [r for r, _ in one] == [r for r, _ in two]
    assert {pid for _, pid in one} == {os.getpid()}  # processes=1: no pool at all
    assert os.getpid() not in {pid for _, pid in two}


def test_the_default_is_every_core_this_process_may_use():
    assert ExecutorOptions().processes is None
    assert ex.default_processes() == len(os.sched_getaffinity(0))


@pytest.mark.parametrize("options, needle", [
    ({"processes": 0}, "--processes: must be a positive integer, got 0"),
    ({"executor": "dask"}, "--executor: must be one of local, ray"),
    ({"address": "auto"}, "--address: only used with --executor ray"),
])
def test_bad_options_are_one_line_input_errors(options, needle):
    with pytest.raises(InputError, match=needle):
        ExecutorOptions(**options)


# -- the window -----------------------------------------------------------------

@pytest.mark.parametrize("processes", [1, 2])
def test_no_more_than_the_window_is_submitted_ahead_of_the_results(tmp_path, processes):
    window = 1 if processes == 1 else WINDOW_PER_WORKER * processes
    reported = []

    def check(task: int, result: int) -> None:
        # The k-th result: at most k - 1 + window units were ever handed out.
        reported.append(task)
        assert len(started(tmp_path)) <= len(reported) - 1 + window, (reported, window)

    run_units(UnitBatch(mark, str(tmp_path), range(30)), check,
              ExecutorOptions(processes=processes, **QUIET))
    assert sorted(reported) == list(range(30))


# -- errors and Ctrl-C -------------------------------------------------------------

def test_a_failing_unit_cancels_pending_units_and_stops_the_workers(tmp_path):
    with pytest.raises(ValueError, match="unit 0 failed"):
        run_units(UnitBatch(fail_first_block_others, str(tmp_path), range(20)),
                  lambda t, r: None, ExecutorOptions(processes=2, **QUIET))
    pids = started(tmp_path)
    # Only units of the first window were handed out; none of them was awaited.
    assert 1 in pids and set(pids) <= set(range(1, WINDOW_PER_WORKER * 2))
    assert not list(tmp_path.glob("finished-*"))
    assert_dead(pids.values())


def test_an_interrupt_in_the_driver_cancels_and_stops_the_same_way(tmp_path):
    def interrupt(task: int, result: int) -> None:
        wait_for_starts(str(tmp_path), 2)  # both workers are busy with a blocked unit
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_units(UnitBatch(first_returns_others_block, str(tmp_path), range(20)), interrupt,
                  ExecutorOptions(processes=2, **QUIET))
    pids = started(tmp_path)
    assert len(pids) == 2 and set(pids) <= set(range(1, WINDOW_PER_WORKER * 2))
    assert not list(tmp_path.glob("finished-*"))
    assert_dead(pids.values())


CTRL_C_SCRIPT = textwrap.dedent("""
    import signal, sys
    # As in a terminal: a run started in the background of a script inherits SIGINT ignored
    # (POSIX), and Python then installs no KeyboardInterrupt handler.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from hqsched.experiments.executor import ExecutorOptions, UnitBatch, run_units
    sys.path.insert(0, {tests!r})
    from test_executor import fail_first_block_others as block

    def work(folder, i):
        return block(folder, i + 1)  # every unit blocks

    run_units(UnitBatch(work, {folder!r}, range(20)), lambda t, r: None,
              ExecutorOptions(processes=2, progress=False))
""")


def test_ctrl_c_abandons_the_running_units_and_exits_at_once(tmp_path):
    """A real SIGINT to the process group, as a terminal's Ctrl-C sends."""
    script = CTRL_C_SCRIPT.format(tests=str(Path(__file__).parent), folder=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while len(started(tmp_path)) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    os.killpg(proc.pid, signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=BLOCK_S / 2)  # a guard, well before any unit ends
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError("Ctrl-C did not stop the run: it waited for its units") from None
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    pids = started(tmp_path)
    # Units of the first window only (a worker hit by SIGINT may start a queued one).
    assert set(pids) <= set(range(1, WINDOW_PER_WORKER * 2 + 1))
    assert not list(tmp_path.glob("finished-*"))
    assert_dead(pids.values())


# -- stored units: resume, records written by the workers -----------------------------

@pytest.mark.parametrize("processes", [1, 2])
def test_stored_units_resume_and_give_the_same_files(tmp_path, processes):
    options = ExecutorOptions(processes=processes, **QUIET)
    store = ResultStore(tmp_path / "a")
    done: list[int] = []
    skipped = run_stored_units(UnitBatch(table_unit, 0.5, range(5)), store, lambda i: f"u/{i}",
                               lambda i, summary: done.append(i), options)
    assert skipped == [] and sorted(done) == list(range(5))
    _, table = store.load("u/3")
    assert table["value"].tolist() == [0.0, 0.5, 1.0, 1.5]
    assert table["label"].tolist() == ["row 0", "row 1", "row 2", "row 3"]
    assert store.load_summary("u/3") == {"i": 3.0, "total": 3.0}
    before = files_of(tmp_path / "a")

    store.summary_path("u/2").unlink()  # unit 2 "never finished"
    (tmp_path / "a" / "jobs" / "u" / "4.csv").unlink()  # unit 4 lost its table
    done.clear()
    skipped = run_stored_units(UnitBatch(table_unit, 0.5, range(5)), store, lambda i: f"u/{i}",
                               lambda i, summary: done.append(i), options)
    assert skipped == [0, 1, 3] and sorted(done) == [2, 4]
    assert files_of(tmp_path / "a") == before


def test_the_worker_writes_the_table_and_returns_only_the_summary(tmp_path):
    store = ResultStore(tmp_path)
    ctx = ex._StoredContext(table_unit, 1.0, store, catch_errors=False)
    outcome = ex._run_stored(ctx, ("u/2", 2))
    assert outcome.blocks is None and outcome.value == {"i": 2.0, "total": 3.0}
    assert store.table_path("u/2").is_file() and not store.has("u/2")  # the driver's turn
    assert outcome.dtypes == {"k": "<i8", "value": "<f8", "label": "str"}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_workers_without_the_store_send_their_table_and_the_files_are_the_same(
        tmp_path, monkeypatch, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    options = ExecutorOptions(processes=1, **QUIET)
    run_stored_units(UnitBatch(table_unit, 0.25, range(4)), ResultStore(tmp_path / "a", fmt),
                     str, lambda i, s: None, options)
    # As on a Ray cluster of several machines: the driver writes the tables.
    monkeypatch.setattr(ex._InProcess, "shares_files", False)
    sent = []
    real = ex._run_stored

    def spy(ctx, item):
        sent.append(real(ctx, item))
        return sent[-1]

    monkeypatch.setattr(ex, "_run_stored", spy)
    run_stored_units(UnitBatch(table_unit, 0.25, range(4)), ResultStore(tmp_path / "b", fmt),
                     str, lambda i, s: None, options)
    assert all(len(o.blocks) == 2 for o in sent)  # the blocks, as streamed
    assert files_of(tmp_path / "a") == files_of(tmp_path / "b")


def test_a_failing_stored_unit_is_reported_and_the_others_go_on(tmp_path):
    store = ResultStore(tmp_path)
    errors: dict[int, str] = {}
    run_stored_units(UnitBatch(whole_table_unit, 2.0, range(5)), store, str,
                     lambda i, s: None, ExecutorOptions(processes=2, **QUIET),
                     on_error=errors.__setitem__)
    assert list(errors) == [3] and "RuntimeError: unit 3 is broken" in errors[3]
    assert [store.has(str(i)) for i in range(5)] == [True, True, True, False, True]
    assert not store.table_path("3").exists()
    assert not list(tmp_path.rglob("*.tmp"))
    _, table = store.load("4")
    assert table["x"][0] == 8.0 and np.isnan(table["x"][1]) and table["s"].tolist() == ["a", "b"]
    # Without on_error the exception ends the run.
    with pytest.raises(RuntimeError, match="unit 3 is broken"):
        run_stored_units(UnitBatch(whole_table_unit, 2.0, range(5)), ResultStore(tmp_path / "b"),
                         str, lambda i, s: None, ExecutorOptions(processes=1, **QUIET))
