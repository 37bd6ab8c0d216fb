"""A heterogeneous quantum fleet: QC groups, who may run what, and how long it takes.

A platform lists QC *groups* (issue 17). Each group has a name, a count, a
qubit capacity and a speed. The workload's quantum durations are times on
the *reference* QC (the fastest IBM backend at the task's qubit count, the
paper's quantum target); a group runs a task of ``q`` qubits in

    reference duration x time_factor(group, q)

where ``time_factor`` is ``1 / speed`` for a group given a plain speed, or
``estimate_b(q) / min_b' estimate_b'(q)`` for a group that runs IBM backend
``b`` (the traces' ``ibm_job_estimate.csv``: IBM's measured estimate of one
circuit's run time on each backend, per qubit count). A task runs only on a
QC with at least its qubit count (eligibility).

The homogeneous platform of the paper is ``Platform.qc_groups == ()``: every
QC identical, every task eligible everywhere, factor 1.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from hqsched.errors import InputError

from .model import QCGroup


def check_eligible(groups: Sequence[QCGroup], qubit_counts: Iterable[int], where: str) -> None:
    """Every qubit count of the workload fits on some group (else no QC could ever run it)."""
    if not groups:
        return
    largest = max((g for g in groups if g.count > 0),
                  key=lambda g: math.inf if g.qubits is None else g.qubits)
    for q in sorted(set(int(q) for q in qubit_counts)):
        if not largest.fits(q):
            raise InputError(f"{where}: no QC group can run a {q}-qubit task (largest: "
                             f"{largest.name} with {largest.qubits} qubits)")


def time_factors(groups: Sequence[QCGroup], qubit_counts: Sequence[int],
                 ibm_estimate_s: dict[tuple[int, str], float] | None = None) -> np.ndarray:
    """``factor[g, i]``: how many times longer group ``g`` takes than the reference QC on a
    task of ``qubit_counts[i]`` qubits (float64, shape groups x counts).

    A backend group needs ``ibm_estimate_s`` (``TraceSet.ibm_estimate_s``: seconds per
    ``(qubits, backend)``) with an estimate of its backend at every count; the reference
    is the fastest backend of the estimates at that count. A plain group: ``1 / speed``.
    """
    out = np.empty((len(groups), len(qubit_counts)), dtype=np.float64)
    for g, group in enumerate(groups):
        for i, q in enumerate(qubit_counts):
            out[g, i] = 1.0 / group.speed if group.backend is None else \
                _backend_factor(group, int(q), ibm_estimate_s)
    return out


def _backend_factor(group: QCGroup, qubits: int,
                    ibm_estimate_s: dict[tuple[int, str], float] | None) -> float:
    if not ibm_estimate_s:
        raise InputError(f"QC group {group.name!r}: backend {group.backend!r} needs the "
                         f"traces' ibm_job_estimate.csv")
    backends = sorted({b for _, b in ibm_estimate_s})
    if group.backend not in backends:
        raise InputError(f"QC group {group.name!r}: unknown backend {group.backend!r} "
                         f"(the traces have {backends})")
    own = ibm_estimate_s.get((qubits, str(group.backend)))
    at_q = [s for (q, _), s in ibm_estimate_s.items() if q == qubits]
    if own is None:
        have = sorted(q for q, b in ibm_estimate_s if b == group.backend)
        raise InputError(f"QC group {group.name!r}: backend {group.backend} has no estimate "
                         f"at n_qubits={qubits} (available: {have}); use --fill-in nearest "
                         f"or give the group a speed")
    return own / min(at_q)
