"""Signs of life on stderr, one rule for every command (base layer).

Progress bars
    ``bar(total, desc, unit)`` is a tqdm bar with a rate and an ETA. It shows
    when stderr is a terminal or the code runs in a Jupyter notebook (then
    ``tqdm.auto`` draws a notebook widget, or a text bar without ipywidgets),
    and never under ``quiet``. Whether a bar shows never changes a result.
The user's choice
    ``timer(limit_s, desc)`` is a bar of elapsed time against a time limit,
    for a solver that reports no progress of its own.
    ``configured(quiet=..., always=...)`` sets it for a block (the CLI's
    ``--quiet`` and ``--progress``): ``quiet`` hides every bar and notice,
    ``always`` shows bars even when stderr is a file or a pipe. Library calls
    keep their own ``progress`` / ``force_progress`` arguments; the block
    only overrides them.
Messages
    ``message(text)``: one line on stderr that does not break a showing bar;
    ``notice(text)``: the same, hidden under ``quiet`` (signs of life only).
    ``compile_notice(modules)`` prints
    "compiling kernels (first run only)..." once per process when numba's
    on-disk cache holds no compiled code for the numba functions of
    ``modules`` (a first run, or the first after an edit of their sources).
"""

from __future__ import annotations

import sys
import threading
import time
import types
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

#: The user's choice for this process: "auto" (a bar on a terminal or in a notebook),
#: "quiet" (no bar, no notice) or "always" (a bar even when stderr is not a terminal).
_mode = "auto"
#: Whether ``compile_notice`` has printed in this process.
_compile_noticed = False

COMPILE_NOTICE = "compiling kernels (first run only, about 20 s)..."


@contextmanager
def configured(quiet: bool = False, always: bool = False) -> Iterator[None]:
    """Within the block: no bar or notice (``quiet``), or bars even off a terminal
    (``always``); neither keeps the automatic rule."""
    global _mode
    before = _mode
    _mode = "quiet" if quiet else "always" if always else "auto"
    try:
        yield
    finally:
        _mode = before


def quiet() -> bool:
    """Whether the user asked for no bar and no notice."""
    return _mode == "quiet"


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (IPython's ZMQ shell)."""
    shell = sys.modules.get("IPython")
    if shell is None or "ipykernel" not in sys.modules:
        return False
    try:
        return type(shell.get_ipython()).__name__ == "ZMQInteractiveShell"
    except AttributeError:
        return False


def shown(progress: bool = True, force: bool = False) -> bool:
    """Whether a bar shows: never when quiet or without ``progress`` (a caller that runs
    its own bar); with ``force`` or ``always``, yes; else when stderr is a terminal or
    this is a notebook."""
    if _mode == "quiet" or not progress:
        return False
    return force or _mode == "always" or _stderr_is_tty() or in_notebook()


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


def bar(total: float | None, desc: str, unit: str, *, initial: float = 0,
        progress: bool = True, force: bool = False, **options: Any) -> Any:
    """A tqdm bar on stderr (a widget in a notebook), disabled unless ``shown(progress,
    force)``; use it as a context manager or ``close()`` it."""
    enabled = shown(progress, force)
    if in_notebook():
        from tqdm.auto import tqdm
    else:
        from tqdm import tqdm
    return tqdm(total=total, initial=initial, desc=desc, unit=unit, file=sys.stderr,
                disable=not enabled, dynamic_ncols=True, **options)


@contextmanager
def timer(limit_s: float, desc: str) -> Iterator[None]:
    """Within the block, a bar of the seconds elapsed out of ``limit_s`` (a time limit, so
    its ETA is an upper bound), ticked twice a second by a thread: for work that reports
    no progress of its own, such as a solver. It leaves no line behind."""
    shows = bar(round(limit_s, 1), desc, "s", leave=False,
                bar_format="{desc}: {n:.0f}/{total:.0f} s of the time limit |{bar}| "
                           "at most {remaining} left")
    if shows.disable:
        yield
        return
    stop = threading.Event()
    start = time.perf_counter()

    def tick() -> None:
        while not stop.wait(0.5):
            shows.n = min(round(time.perf_counter() - start, 1), shows.total)
            shows.refresh()

    thread = threading.Thread(target=tick, name="hqsched-timer", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        shows.close()


def message(text: str) -> None:
    """One line on stderr that does not break a showing bar (warnings: even when quiet)."""
    from tqdm import tqdm
    tqdm.write(text, file=sys.stderr)


def notice(text: str) -> None:
    """A ``message`` that is only a sign of life: nothing when quiet."""
    if _mode != "quiet":
        message(text)


def compile_notice(modules: Iterable[types.ModuleType]) -> bool:
    """Print ``COMPILE_NOTICE`` (once per process) if numba has no fresh compiled code on
    disk for any cached numba function of ``modules``; True if the kernels are cold.

    Why the index: numba keeps one index file per function listing its compiled
    signatures under a stamp of its sources (``hqsched.compiled``); an empty or
    stale index means the next call compiles. All functions of a module share one
    stamp, so one fresh index is enough to call the module warm (a function never
    called, hence never cached, does not make it cold).
    """
    global _compile_noticed
    cold = any(_module_is_cold(m) for m in modules)
    if cold and not _compile_noticed:
        _compile_noticed = True
        notice(COMPILE_NOTICE)
    return cold


def _module_is_cold(module: types.ModuleType) -> bool:
    """Whether no numba function of ``module`` has a fresh entry in numba's disk cache."""
    caches = [getattr(value, "_cache", None) for value in vars(module).values()
              if getattr(value, "py_func", None) is not None
              and getattr(value.py_func, "__module__", None) == module.__name__]
    files: list[Any] = [f for f in (getattr(c, "_cache_file", None) for c in caches)
                        if hasattr(f, "_load_index")]  # numba's private IndexDataCacheFile
    if not files:  # NUMBA_DISABLE_JIT, or no disk cache: nothing to compile ahead
        return False
    for index_file in files:
        try:
            if index_file._load_index():
                return False
        except Exception:  # an unreadable index is a miss for numba too
            continue
    return True
