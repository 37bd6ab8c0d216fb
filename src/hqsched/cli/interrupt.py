"""Ctrl-C: every command exits within about 2 s with one line saying what was kept.

The normal path: SIGINT raises KeyboardInterrupt in the main thread, the
executor stops its workers (they ignore SIGINT themselves and are terminated
by the driver), and ``hqsched.cli.main`` prints
``hqsched <command>: interrupted; <what was kept>`` and exits with 130.

Two things can hold that path up, and ``exit_promptly`` covers both:

- the main thread is inside C code that does not return to Python for a
  while (HiGHS solving a MILP, a long compiled call): Python runs its
  signal handler only between bytecodes. A watcher thread is woken by the
  signal itself (``signal.set_wakeup_fd``: the C-level handler writes the
  signal number to a pipe at once) and, if the main thread has not reached
  ``finish`` within ``GRACE_S``, prints the same line and ends the process
  (``os._exit(130)``). Results already saved stay saved: every stored
  file is written atomically (temporary file, then rename) and a unit is
  complete only once its summary is written, so a hard exit loses at most
  the units in progress. A command that catches the interruption to save
  something (``solve`` writing its incumbent) calls ``handling()`` first.
  The watcher needs the GIL: a compiled (numba) call that holds it delays
  the exit until it returns (the simulator's calls last a chunk of arrivals,
  the branch and bound's ~0.1 s).
- Pyomo logs "ERROR: Constructing component ... KeyboardInterrupt" when a
  model's construction is interrupted, and Python prints "Exception ignored
  on calling ctypes callback function ... KeyboardInterrupt" when Ctrl-C
  lands in a callback (numba's compiler, through llvmlite), which swallows
  it: a logging filter and an unraisable-exception hook drop both (the
  interruption is reported once, by the line above; the watcher ends a
  process whose interruption was swallowed).

What was kept is declared by the command as soon as it knows it
(``keep("finished units are saved in results/x; rerun to resume")``); the
default is that nothing was saved.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: Seconds the main thread has, after Ctrl-C, to stop on its own before the process ends.
GRACE_S = 0.5
NOTHING_KEPT = "nothing was saved"

_state = {"kept": NOTHING_KEPT, "command": "hqsched"}
_print_lock = threading.Lock()
_printed = threading.Event()
_handling = threading.Event()  # the command is saving what it has: no hard exit


def name_command(command: str) -> None:
    """The command the interruption line names (``hqsched simulate``)."""
    _state["command"] = command


def handling() -> None:
    """Called by a command that catches the interruption to save what it has (``solve``
    writing its incumbent): the watcher then leaves the exit to the main thread."""
    _handling.set()


def keep(text: str) -> None:
    """Declare what an interruption from now on leaves behind (one clause, no period)."""
    _state["kept"] = text


def kept_in(out: object, what: str = "finished units") -> None:
    """``keep`` for a resumable output directory ``out`` (nothing if ``out`` is None)."""
    keep(NOTHING_KEPT + " (no --out)" if out is None else
         f"{what} are saved in {out}; rerun the same command to resume")


def finish() -> str:
    """The one line for an interruption, printed at most once (by ``main`` or the watcher)."""
    line = f"{_state['command']}: interrupted; {_state['kept']}"
    with _print_lock:
        if not _printed.is_set():
            _printed.set()
            print(line, file=sys.stderr, flush=True)
    return line


class _DropInterruptedConstruction(logging.Filter):
    """Drops Pyomo's "Constructing component ... failed: KeyboardInterrupt" error record."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return "KeyboardInterrupt" not in (str(a) for a in args)


@contextmanager
def exit_promptly(command: str) -> Iterator[None]:
    """Run a command so that Ctrl-C ends it within ``GRACE_S`` + cleanup (module docstring)."""
    _state.update(kept=NOTHING_KEPT, command=command)
    _printed.clear()
    _handling.clear()
    pyomo_filter = _DropInterruptedConstruction()
    logging.getLogger("pyomo.core").addFilter(pyomo_filter)
    previous_hook = sys.unraisablehook

    def drop_interrupt(unraisable: Any) -> None:
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            previous_hook(unraisable)

    sys.unraisablehook = drop_interrupt
    watcher = _Watcher.start() if threading.current_thread() is threading.main_thread() \
        else None
    try:
        yield
    finally:
        if watcher is not None:
            watcher.stop()
        sys.unraisablehook = previous_hook
        logging.getLogger("pyomo.core").removeFilter(pyomo_filter)


class _Watcher:
    """A daemon thread woken by SIGINT through ``signal.set_wakeup_fd``."""

    def __init__(self, read_fd: int, write_fd: int, previous_fd: int) -> None:
        self.read_fd, self.write_fd, self.previous_fd = read_fd, write_fd, previous_fd
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.watch, name="hqsched-interrupt",
                                       daemon=True)

    @classmethod
    def start(cls) -> _Watcher | None:
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        try:
            previous = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        except ValueError:  # not the main thread of the main interpreter
            os.close(read_fd)
            os.close(write_fd)
            return None
        watcher = cls(read_fd, write_fd, previous)
        watcher.thread.start()
        return watcher

    def watch(self) -> None:
        while True:
            try:
                data = os.read(self.read_fd, 64)
            except OSError:
                return
            if not data or self.stopped.is_set():
                return
            if int(signal.SIGINT) in data and not self.stopped.wait(GRACE_S) \
                    and not _handling.is_set():
                finish()
                os._exit(130)

    def stop(self) -> None:
        self.stopped.set()
        signal.set_wakeup_fd(self.previous_fd)
        os.close(self.write_fd)  # the watcher's read returns EOF
        self.thread.join(timeout=1.0)
        os.close(self.read_fd)
