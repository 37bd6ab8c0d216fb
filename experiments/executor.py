"""One executor for every command that runs many independent units.

A *unit* is one independent computation: a replication of ``hqsched
simulate``, a (grid point, seed) of ``campaign run`` or ``plan simulate``, an
instance of ``gap``, a case of ``invariants``, a replication of ``validate``.
Its result depends only on its inputs (MODEL.md: all randomness comes from
seeded generators), never on where, when or beside what it runs, so the
executor changes the wall time and never a result.

``run_units(batch, on_result, options)`` calls ``batch.work(batch.context,
task)`` once per task and hands each result to ``on_result(task, result)``
in this (the driver) process, in completion order; ``map_units`` returns the
results in task order instead (for small results). The rules, the same for
every command:

processes
    ``ExecutorOptions.processes``: None, the default of every command, means
    every core this process may use, since the count never changes a result;
    1 = in this process, without a pool (what debuggers, profilers and tests
    that patch a function need).
context
    sent to each worker once (the pool's initializer, or one Ray object),
    not with every task: a scenario may hold a whole instance.
window
    at most ``WINDOW_PER_WORKER`` tasks per worker are submitted and not yet
    handed to ``on_result``, so the driver's memory does not grow with the
    number of units, and an interruption abandons at most that many.
progress
    one bar with ETA on stderr when it is a terminal or in a notebook (or
    ``force_progress``; never under ``hqsched.progress.configured(quiet=True)``);
    units done before this run (resume) are its starting count.
errors and Ctrl-C
    an exception raised by a unit or by ``on_result``, or KeyboardInterrupt,
    cancels the tasks not started, stops the workers at once (SIGTERM: the
    units they were running are abandoned, not awaited) and is re-raised.
    Whatever ``on_result`` received is kept.
driver death
    local pool workers end when the driver process dies, even by kill -9
    (``_die_with_parent``: PR_SET_PDEATHSIG on Linux, a watcher thread
    everywhere), so no orphan keeps computing and holding memory. Ray
    workers on the driver's machine watch the driver's pid the same way
    (``_ray_call``); on other machines Ray itself ends a dead driver's
    workers once the cluster notices (the driver's pid means nothing there).
Ray
    ``executor="ray"`` runs the same work as Ray tasks of one CPU each, with
    the same window, on a local Ray instance or on a cluster (``address``).

``run_stored_units`` adds, for units saved in a ``ResultStore``:

resume
    a unit already complete in the store (``ResultStore.has``: its summary
    is written and its files match their checksums) is skipped; every other
    one runs (a corrupt one with a message saying so: never reused silently).
records streamed to disk
    the work writes its unit's per-job table through a ``TableOutput``: in
    the worker, into the store's temporary table file, renamed when complete
    (``ResultStore.open_table``); the worker returns only the unit's small
    summary, which the driver writes last, marking the unit complete. So the
    driver never holds a per-job table. This needs workers that see the
    store's files: local processes do, and so does Ray when every node of
    its cluster is this machine (a local instance). On a Ray cluster of
    several machines the worker returns its table's blocks instead and the
    driver writes them, one unit at a time; the files are the same.
"""

from __future__ import annotations

import itertools
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from hqsched import progress
from hqsched.errors import InputError

if TYPE_CHECKING:
    import numpy as np

    from hqsched.experiments.results_store import ResultStore, TableOutput

#: The executors a command may name with ``--executor``.
EXECUTORS = ("local", "ray")
#: Tasks submitted per worker and not yet handed to the driver (the window).
WINDOW_PER_WORKER = 2

C = TypeVar("C")
T = TypeVar("T")
R = TypeVar("R")

Report = Callable[[int, Any], None]  # (task index, result) -> None, called in the driver


def default_processes() -> int:
    """The cores this process may use (its CPU affinity where the OS has one), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


@dataclass(frozen=True)
class ExecutorOptions:
    """How units run: where, on how many processes, with or without a progress bar.

    ``processes``: local pool size (None = ``default_processes()``, 1 = in
    this process); with Ray and no ``address``, the CPUs of the local Ray
    instance started for the run. ``address``: Ray cluster (``auto``,
    ``ray://host:10001``); None starts a local Ray instance unless one is
    running in this process. ``progress``: a bar when stderr is a terminal;
    ``force_progress``: even when it is not.
    """

    executor: str = "local"
    processes: int | None = None
    address: str | None = None
    progress: bool = True
    force_progress: bool = False

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise InputError(f"--executor: must be one of {', '.join(EXECUTORS)}, "
                             f"got {self.executor!r}")
        p = self.processes
        if p is not None and (isinstance(p, bool) or not isinstance(p, int) or p < 1):
            raise InputError(f"--processes: must be a positive integer, got {p!r}")
        if self.address is not None and self.executor != "ray":
            raise InputError("--address: only used with --executor ray")


@dataclass(frozen=True)
class UnitBatch(Generic[C, T, R]):
    """Units to run: ``work(context, task)`` for each task.

    ``work`` must be a module-level function (workers import it by name);
    ``context`` and the tasks must pickle. ``name`` and ``unit`` label the
    progress bar (``"campaign small"``, ``"run"``).
    """

    work: Callable[..., R]  # (context, task); with run_stored_units (context, task, table)
    context: C
    tasks: Sequence[T]
    name: str = "units"
    unit: str = "unit"


def run_units(batch: UnitBatch[Any, T, R], on_result: Callable[[T, R], None],
              options: ExecutorOptions = ExecutorOptions(), *, done_before: int = 0) -> None:
    """Run every task of ``batch``; ``on_result(task, result)`` in the driver, in completion
    order. ``done_before``: units finished by an earlier run (the bar starts there)."""
    tasks = list(batch.tasks)
    with _session(options, len(tasks)) as session:
        _drive(session, replace(batch, tasks=tasks), lambda i, result: on_result(tasks[i], result),
               options, done_before)


def map_units(batch: UnitBatch[Any, Any, R],
              options: ExecutorOptions = ExecutorOptions()) -> list[R]:
    """The results of ``batch``'s tasks, in task order (they are all held: small results)."""
    tasks = list(batch.tasks)
    results: dict[int, R] = {}
    with _session(options, len(tasks)) as session:
        _drive(session, replace(batch, tasks=tasks), results.__setitem__, options, 0)
    return [results[i] for i in range(len(tasks))]


def message(text: str) -> None:
    """Print a line on stderr without breaking a progress bar that is showing."""
    progress.message(text)


# --------------------------------------------------------------------------
# Stored units: resume rule, tables written by the workers
# --------------------------------------------------------------------------

StoredWork = Callable[[C, T, "TableOutput"], R]


@dataclass(frozen=True)
class _StoredContext(Generic[C, T, R]):
    """What a worker needs for stored units (the batch's work and context, the store)."""

    work: StoredWork[C, T, R]
    context: C
    store: ResultStore | None    # None: the worker returns its table's blocks
    catch_errors: bool           # a unit's exception becomes its outcome


@dataclass
class _StoredOutcome:
    """A stored unit's result as sent to the driver: its value and its table's
    types (and blocks, if the worker could not write them), or its traceback."""

    value: Any = None
    dtypes: dict[str, str] | None = None
    blocks: list[dict[str, np.ndarray]] | None = None
    error: str | None = None
    table: dict[str, Any] | None = None  # the written table's size, rows and SHA-256


def _run_stored(ctx: _StoredContext[Any, Any, Any], item: tuple[str, Any]) -> _StoredOutcome:
    """In the worker: one stored unit, its table written through a ``TableOutput``."""
    from hqsched.experiments.results_store import TableOutput  # numpy: only where units run
    unit_id, task = item
    table = TableOutput(ctx.store, unit_id)
    try:
        value = ctx.work(ctx.context, task, table)
        if table.dtypes is None:
            raise RuntimeError(f"unit {unit_id}: its work wrote no table")
    except Exception:
        if not ctx.catch_errors:
            raise
        return _StoredOutcome(error=traceback.format_exc())
    return _StoredOutcome(value, table.dtypes, table.blocks, table=table.info)


def run_stored_units(batch: UnitBatch[Any, T, R], store: ResultStore,
                     unit_id: Callable[[T], str], on_done: Callable[[T, R], None],
                     options: ExecutorOptions = ExecutorOptions(), *,
                     on_error: Callable[[T, str], None] | None = None,
                     summary_of: Callable[[R], Mapping[str, Any]] | None = None) -> list[T]:
    """Run the tasks not yet complete in ``store``; return the ones skipped (done before).

    ``batch.work(context, task, table)`` writes the unit's per-job table to
    ``table`` (a ``TableOutput``) and returns a value; the driver writes its
    summary (``summary_of(value)``, default the value itself) as unit
    ``unit_id(task)`` and then calls ``on_done(task, value)``. ``on_error``:
    a unit's exception is caught in the worker and passed as a traceback
    (the unit stays not done; the others go on); without it, it is raised.
    """
    from hqsched.experiments.results_store import NOT_STARTED
    tasks = list(batch.tasks)
    problems = [store.problem(unit_id(t)) for t in tasks]  # the resume rule
    done = [p is None for p in problems]
    for t, p in zip(tasks, problems):
        if p is not None and p != NOT_STARTED:  # never reused silently
            message(f"unit {unit_id(t)} is corrupt ({p}): recomputing it")
    items = [(unit_id(t), t) for t, d in zip(tasks, done) if not d]
    summary = summary_of or _as_summary

    def finished(index: int, outcome: _StoredOutcome) -> None:
        uid, task = items[index]
        if outcome.error is not None:
            assert on_error is not None
            on_error(task, outcome.error)
            return
        assert outcome.dtypes is not None
        info = outcome.table
        if outcome.blocks is not None:  # the worker could not reach the store
            with store.open_table(uid, outcome.dtypes) as writer:
                for block in outcome.blocks:
                    writer.write(block)
            info = writer.info
        # The unit is complete once its summary (with the table's checksum) is written.
        store.save_summary(uid, summary(outcome.value), outcome.dtypes, info)
        on_done(task, outcome.value)

    with _session(options, len(items)) as session:
        ctx = _StoredContext(batch.work, batch.context, store if session.shares_files else None,
                             on_error is not None)
        stored = UnitBatch(_run_stored, ctx, items, batch.name, batch.unit)
        _drive(session, stored, finished, options, len(tasks) - len(items))
    return [t for t, d in zip(tasks, done) if d]


def _as_summary(value: Any) -> Mapping[str, Any]:
    return value


# --------------------------------------------------------------------------
# Sessions: in this process, a local process pool, Ray
# --------------------------------------------------------------------------

class _Session(Protocol):
    """Runs ``work(context, task)`` for tasks; ``report(index, result)`` in the driver."""

    shares_files: bool  # workers see this machine's files

    def run(self, work: Callable[[Any, Any], Any], context: Any, tasks: Sequence[Any],
            report: Report) -> None: ...


@contextmanager
def _session(options: ExecutorOptions, n_tasks: int) -> Iterator[_Session]:
    """The session for ``n_tasks`` tasks: in this process when there is nothing to run
    (Ray is not even started) or one local worker would do it all."""
    if n_tasks == 0:
        yield _InProcess()
    elif options.executor == "ray":
        with _ray_session(options) as session:
            yield session
    else:
        workers = min(options.processes or default_processes(), n_tasks)
        yield _InProcess() if workers <= 1 else _LocalPool(workers)


def _drive(session: _Session, batch: UnitBatch[Any, Any, Any], report: Report,
           options: ExecutorOptions, done_before: int) -> None:
    """Run ``batch`` on ``session``: ``report(task index, result)``, and the progress bar."""
    bar = progress.bar(done_before + len(batch.tasks), batch.name, batch.unit,
                       initial=done_before, progress=options.progress,
                       force=options.force_progress, smoothing=0.05)

    def counted(index: int, result: Any) -> None:
        report(index, result)
        bar.update(1)

    try:
        session.run(batch.work, batch.context, batch.tasks, counted)
    finally:
        bar.close()


class _InProcess:
    """Every task in this process, in order: no pickling, exceptions raised as they are."""

    shares_files = True

    def run(self, work: Callable[[Any, Any], Any], context: Any, tasks: Sequence[Any],
            report: Report) -> None:
        for i, task in enumerate(tasks):
            report(i, work(context, task))


# The work and context of a pool worker, installed once by the pool's initializer.
_INSTALLED: tuple[Callable[[Any, Any], Any], Any] | None = None


#: Seconds between checks of a pool worker's parent (the fallback where prctl is missing).
PARENT_POLL_S = 1.0


def _install(work: Callable[[Any, Any], Any], context: Any, driver_pid: int) -> None:
    """A pool worker's initializer: tie its life to the driver's, then keep the work.

    Ctrl-C in a terminal signals the whole process group: the workers ignore it
    (no traceback or half-built model from each) and the driver, which gets it
    too, terminates them."""
    global _INSTALLED
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(driver_pid)
    _INSTALLED = (work, context)


def _die_with_parent(driver_pid: int) -> None:
    """End this worker when the driver process ``driver_pid`` dies, even by kill -9 (which
    runs no cleanup), so no orphan keeps computing and holding memory.

    Linux: the kernel sends SIGTERM when the parent ends (prctl PR_SET_PDEATHSIG).
    Elsewhere, and as a second guard: a daemon thread that exits the process once its
    parent is no longer ``driver_pid`` (an orphan is re-parented).
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass  # no libc prctl: the thread below still watches
    parent = os.getppid()  # the driver (fork), or a start method's server process
    # orphaned (re-parented to init or a subreaper), or the driver gone
    _exit_once(lambda: os.getppid() != parent or not _alive(driver_pid))


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (signal 0)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists (another user's process cannot be this driver's pid reused)
    return True


def _exit_once(gone: Callable[[], bool]) -> None:
    """End this process (``os._exit``) now if ``gone()``, else as soon as a daemon thread
    polling it every ``PARENT_POLL_S`` seconds sees it true: the driver is gone, and
    nobody will read this worker's results."""
    import threading
    if gone():  # the driver died before the watch began
        os._exit(1)

    def watch() -> None:
        while not gone():
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="hqsched-parent-watch", daemon=True).start()


def _call_installed(task: Any) -> Any:
    assert _INSTALLED is not None, "a pool worker runs tasks after its initializer"
    work, context = _INSTALLED
    return work(context, task)


class _LocalPool:
    """A process pool of ``workers`` for one run, with the bounded window."""

    shares_files = True

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def run(self, work: Callable[[Any, Any], Any], context: Any, tasks: Sequence[Any],
            report: Report) -> None:
        pool = ProcessPoolExecutor(self.workers, initializer=_install,
                                   initargs=(work, context, os.getpid()))
        pending: dict[Future[Any], int] = {}
        queue = iter(range(len(tasks)))
        try:
            while True:
                for i in itertools.islice(queue, WINDOW_PER_WORKER * self.workers - len(pending)):
                    pending[pool.submit(_call_installed, tasks[i])] = i
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=pending.__getitem__):  # submission order
                    report(pending.pop(future), future.result())
        except BaseException:
            _stop(pool)
            raise
        pool.shutdown()


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and terminate the workers without waiting for their
    units (the same as ``ProcessPoolExecutor.terminate_workers`` of Python 3.14)."""
    terminate = getattr(pool, "terminate_workers", None)
    if terminate is not None:
        terminate()
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)


# --------------------------------------------------------------------------
# Ray
# --------------------------------------------------------------------------

def import_ray() -> Any:
    """The ``ray`` module, or a one-line InputError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise InputError("--executor ray: Ray is not installed; install it with "
                         "pip install 'hqsched[ray]' (or pip install 'ray>=2.9')") from None
    return ray


@contextmanager
def _ray_session(options: ExecutorOptions) -> Iterator[_RaySession]:
    """Ray, initialised here unless it already is (then shut down at the end)."""
    ray = import_ray()
    started_here = False
    if not ray.is_initialized():
        if options.address is not None:
            check_ray_address(options.address)
        local = {"num_cpus": options.processes} if options.processes and not options.address \
            else {}
        try:
            ray.init(address=options.address, include_dashboard=False, log_to_driver=False,
                     **local)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise InputError(f"--address {options.address}: cannot connect to Ray ({exc})") \
                from None
        started_here = True
    try:
        yield _RaySession(ray)
    finally:
        if started_here:
            ray.shutdown()


#: Seconds to wait for a TCP connection to a Ray head before giving up.
RAY_CONNECT_TIMEOUT_S = 5.0


def check_ray_address(address: str, timeout_s: float = RAY_CONNECT_TIMEOUT_S) -> None:
    """A one-line InputError unless ``address`` (``host:port`` or ``ray://host:port``)
    accepts a TCP connection within ``timeout_s``; ``auto`` / ``local`` are Ray's to resolve.

    Why: ``ray.init`` retries an unreachable GCS address for minutes, printing warnings,
    before it raises; one socket connect answers in seconds."""
    target = address.removeprefix("ray://")
    if address in ("auto", "local") or ":" not in target:
        return
    host, _, port = target.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        raise InputError(f"--address {address}: the port {port!r} is not a number") from None
    try:
        socket.create_connection((host.strip("[]"), number), timeout=timeout_s).close()
    except (OSError, OverflowError) as exc:  # refused, unreachable, timeout, port out of range
        raise InputError(f"--address {address}: no Ray head answers there "
                         f"({type(exc).__name__}: {exc or 'timed out'})") from None


#: Drivers this Ray worker process already watches (``_ray_call``).
_WATCHED_DRIVERS: set[int] = set()


def _ray_call(work: Callable[[Any, Any], Any], context: Any, task: Any,
              driver_pid: int | None = None) -> Any:
    """One task in a Ray worker. With ``driver_pid`` (a Ray instance on the driver's own
    machine), the worker first starts watching that process and ends itself within
    ``PARENT_POLL_S`` s of its death, even by kill -9. Ray ends the workers of a dead
    driver too, but only once its raylet notices (a local instance, measured: busy
    workers gone within 3-30 s, its agents within 90 s); a Ray worker serves one job
    (one driver), so ending it loses nothing."""
    if driver_pid is not None and driver_pid not in _WATCHED_DRIVERS:
        _WATCHED_DRIVERS.add(driver_pid)
        _exit_once(lambda: not _alive(driver_pid))
    return work(context, task)


class _RaySession:
    """Tasks as Ray tasks of one CPU each, ~``WINDOW_PER_WORKER`` per cluster CPU in flight."""

    def __init__(self, ray: Any) -> None:
        self.ray = ray
        self.shares_files = _ray_is_this_machine(ray)

    def run(self, work: Callable[[Any, Any], Any], context: Any, tasks: Sequence[Any],
            report: Report) -> None:
        ray = self.ray
        remote = ray.remote(num_cpus=1, max_retries=0)(_ray_call)
        pending: dict[Any, int] = {}
        try:
            shared = ray.put(context)  # once, not once per task
            driver = os.getpid() if self.shares_files else None  # same machine: same pids
            window = WINDOW_PER_WORKER * max(1, int(ray.cluster_resources().get("CPU", 1)))
            queue = iter(range(len(tasks)))
            while True:
                for i in itertools.islice(queue, window - len(pending)):
                    pending[remote.remote(work, shared, tasks[i], driver)] = i
                if not pending:
                    break
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    report(pending.pop(ref), ray.get(ref))
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise


def _ray_is_this_machine(ray: Any) -> bool:
    """True when every live node of the Ray cluster is the driver's own node, so Ray
    workers see this machine's files (a local instance); False for a client
    connection (``ray://``) or a cluster of several machines."""
    try:
        if ray.util.client.ray.is_connected():
            return False
        here = ray.get_runtime_context().get_node_id()
        return all(node["NodeID"] == here for node in ray.nodes() if node.get("Alive"))
    except Exception:  # an unexpected Ray version: do not assume shared files
        return False
