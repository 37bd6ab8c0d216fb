"""HiGHS through Pyomo's appsi interface, stopped by Ctrl-C without losing its incumbent.

Why: appsi runs HiGHS in the calling thread with highspy's interrupt callbacks
on (``HandleKeyboardInterrupt``), so Python code runs inside the solve. A
Ctrl-C then raises KeyboardInterrupt inside a callback, and HiGHS ends with
``kSolveError`` and no solution, even when it had an incumbent (measured with
highspy 1.16 and Pyomo 6.10). So, while a solve runs in the main thread under
Python's default SIGINT handler:

- SIGINT only sets a flag and calls highspy's ``Highs.cancelSolve``; the next
  interrupt callback (simplex, IPM or MIP, many times a second) makes HiGHS
  stop cleanly (model status ``kInterrupt``); while appsi still builds
  HiGHS's model (seconds on large models) it stops that at once instead;
- a ``kCallbackMipImprovingSolution`` subscriber keeps a copy of every
  improving integer-feasible solution (the values of all columns), because
  HiGHS's own solution after an interrupt need not be its incumbent.

After an interrupted solve, ``HighsInterrupted`` (a KeyboardInterrupt) is
raised with the solver, whose ``get_primals`` then reads the best kept
solution (if any), and the MIP's proven lower bound; ``solve.py`` turns it
into ``SolveInterrupted`` with the best checked schedule. A second Ctrl-C
raises KeyboardInterrupt at once. Elsewhere (a worker process that ignores
SIGINT, another thread) nothing changes.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

#: appsi logs a warning for HiGHS's kInterrupt status, which it does not map: dropped.
_APPSI_LOGGER = "pyomo.contrib.appsi.solvers.highs"
#: Called (in the signal handler) when a Ctrl-C cancels a solve: the CLI's
#: ``interrupt.handling``, so that its watcher leaves the exit to the caller, which
#: prints and saves the incumbent (``set_cancel_hook``).
_on_cancel: list[Callable[[], None]] = []


def set_cancel_hook(hook: Callable[[], None] | None) -> None:
    """Call ``hook`` when a Ctrl-C cancels a solve (None: nothing)."""
    _on_cancel[:] = [] if hook is None else [hook]


class HighsInterrupted(KeyboardInterrupt):
    """Ctrl-C during a HiGHS solve: ``solver`` (appsi) holds the best integer-feasible
    solution found (``has_solution``), ``bound`` the proven lower bound (None if
    unknown), ``wall_s`` the solve's seconds."""

    def __init__(self, solver: Any, has_solution: bool, bound: float | None,
                 wall_s: float) -> None:
        super().__init__("HiGHS interrupted")
        self.solver = solver
        self.has_solution = has_solution
        self.bound = bound
        self.wall_s = wall_s


class _DropUnhandledStatus(logging.Filter):
    """Drops appsi's "Received unhandled status=kInterrupt" warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "kInterrupt" not in record.getMessage()


def new_solver() -> Any:
    """An appsi HiGHS solver that keeps its improving solutions and stops on Ctrl-C (module
    docstring); ``solve`` raises ``HighsInterrupted`` after a Ctrl-C."""
    from pyomo.contrib.appsi.solvers.highs import Highs

    class InterruptibleHighs(Highs):
        def solve(self, model: Any, timer: Any = None) -> Any:
            self.best: dict[str, Any] = {}   # "col_value": the best solution's columns
            self.running = False             # HiGHS runs (else: the model is being built)
            t0 = time.perf_counter()
            guard = _CancelOnCtrlC(self)
            try:
                with guard:
                    results = super().solve(model, timer)
            except KeyboardInterrupt:  # Ctrl-C while the model was built: no HiGHS solution
                if not guard.stopped.is_set() or self.running:
                    raise
                raise HighsInterrupted(self, False, None, time.perf_counter() - t0) from None
            if guard.stopped.is_set():
                raise self._interrupted(time.perf_counter() - t0)
            return results

        def _solve(self, timer: Any) -> Any:
            highs = self._solver_model  # highspy.Highs, built by set_instance

            def keep(event: Any) -> None:  # columns of an improving solution
                self.best["col_value"] = list(event.data_out.mip_solution)

            highs.cbMipImprovingSolution.subscribe(keep)
            self.running = True
            try:
                return super()._solve(timer)
            finally:
                self.running = False
                highs.cbMipImprovingSolution.unsubscribe(keep)

        def _interrupted(self, wall_s: float) -> HighsInterrupted:
            """The exception for a stopped solve, ``get_primals`` reading ``best``."""
            import highspy
            if "col_value" in self.best:
                self._sol = highspy.HighsSolution()
                self._sol.col_value = self.best["col_value"]
                self._sol.value_valid = True
            bound = self._solver_model.getInfo().mip_dual_bound
            finite = bound is not None and abs(bound) < highspy.kHighsInf
            return HighsInterrupted(self, "col_value" in self.best,
                                    bound if finite else None, wall_s)

    return InterruptibleHighs()


class _CancelOnCtrlC:
    """Within the block, the first SIGINT cancels ``solver``'s HiGHS run (or, while its
    model is still being built, raises KeyboardInterrupt there) and sets ``stopped``;
    only in the main thread with Python's default handler (a worker process that ignores
    SIGINT keeps its way)."""

    def __init__(self, solver: Any) -> None:
        self.solver = solver
        self.stopped = threading.Event()
        self.previous: Any = None
        self.log_filter = _DropUnhandledStatus()

    def __enter__(self) -> threading.Event:
        if threading.current_thread() is threading.main_thread() \
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self.previous = signal.signal(signal.SIGINT, self._cancel)
        logging.getLogger(_APPSI_LOGGER).addFilter(self.log_filter)
        return self.stopped

    def _cancel(self, signum: int, frame: Any) -> None:
        if self.stopped.is_set():  # a second Ctrl-C: the user insists, stop the waiting
            raise KeyboardInterrupt
        self.stopped.set()
        for hook in _on_cancel:
            hook()
        if not self.solver.running:  # building the model: stop that at once
            raise KeyboardInterrupt
        # Seen by highspy's interrupt callbacks, which appsi turns on.
        self.solver._solver_model.cancelSolve()

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        logging.getLogger(_APPSI_LOGGER).removeFilter(self.log_filter)


class SolveInterrupted(KeyboardInterrupt):
    """Ctrl-C during a MILP solve: ``result`` (a ``SolveResult``, status "feasible") is the
    best checked schedule known so far (the solver's incumbent or the MIP start) with
    HiGHS's proven bound, for the caller to report; None when no schedule was known."""

    def __init__(self, result: Any) -> None:
        super().__init__("MILP solve interrupted")
        self.result = result
