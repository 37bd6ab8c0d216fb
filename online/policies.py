"""Quantum scheduling policies: which pending quantum task a freed QC runs next.

The pending quantum tasks live in plain arrays that the event loop
(``online/kernel.py``) passes to two functions:

- ``push(items, counts, meta, job, level, weights)``: job ``job``'s quantum task
  joins the pending set; ``level`` indexes its priority in ``weights``;
- ``pop(items, counts, meta, weights, u) -> job``: a QC is free: remove and
  return the job whose task runs next. ``u`` is uniform on [0, 1), drawn
  from the run's policy stream only for randomised policies (one per pop).

``items[level, :]`` holds job indices (the simulator's slot numbers),
``counts[level]`` how many, and ``meta`` two integers of policy state. A
policy reads a job's priority level and nothing else: online policies never
see remaining iterations. ``items`` has one column per slot; when the
simulator adds slots, ``grow_items`` copies the pending set into a wider
array (a ring buffer is linearised).

Adding a policy: write its push/pop pair below, give it the next id, add a
branch to ``policy_push`` / ``policy_pop`` (and to
``grow_items`` if its rows are not filled from column 0) and an entry to
``POLICIES``. Every function here compiles with numba (they run inside
the compiled event loop) and stays plain Python under ``NUMBA_DISABLE_JIT=1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from hqsched.compiled import key_caches_on_sources

FIFO, LIFO, RANDOM, WEIGHTED = 0, 1, 2, 3


@njit(cache=True)
def fifo_push(items, counts, meta, job, level, weights):
    """Append at the tail of a ring buffer in row 0 (``meta[0]`` = head)."""
    cap = items.shape[1]
    items[0, (meta[0] + counts[0]) % cap] = job
    counts[0] += 1


@njit(cache=True)
def fifo_pop(items, counts, meta, weights, u):
    """The task that entered the pending set first."""
    job = items[0, meta[0]]
    meta[0] = (meta[0] + 1) % items.shape[1]
    counts[0] -= 1
    return job


@njit(cache=True)
def stack_push(items, counts, meta, job, level, weights):
    """Append to row 0 (LIFO and random keep one unordered-or-stacked row)."""
    items[0, counts[0]] = job
    counts[0] += 1


@njit(cache=True)
def lifo_pop(items, counts, meta, weights, u):
    """The task that entered the pending set last."""
    counts[0] -= 1
    return items[0, counts[0]]


@njit(cache=True)
def swap_remove(items, counts, row, i):
    """Remove slot ``i`` of ``row`` by moving the last task into it (O(1), order not kept)."""
    n = counts[row] - 1
    last = items[row, n]
    counts[row] = n
    if i < n:
        job = items[row, i]
        items[row, i] = last
        return job
    return last


@njit(cache=True)
def random_pop(items, counts, meta, weights, u):
    """Uniformly at random: each of the ``n`` pending tasks with probability ``1/n``."""
    return swap_remove(items, counts, 0, int(u * counts[0]))


@njit(cache=True)
def weighted_push(items, counts, meta, job, level, weights):
    """Into the bucket of its priority; ``meta[1]`` keeps ``W = sum of pending priorities``."""
    items[level, counts[level]] = job
    counts[level] += 1
    meta[1] += weights[level]


@njit(cache=True)
def weighted_pop(items, counts, meta, weights, u):
    """Task ``j`` with probability ``w_j / W``, ``W = sum_k w_k`` over pending tasks.

    Buckets in ascending priority; ``u * W`` falls in bucket ``w``'s span of
    length ``w * n_w`` with the right probability, and ``(u W - start) / w``
    is then uniform on ``[0, n_w)``: it picks the task inside the bucket.
    The second test catches ``u W`` rounding onto ``W``: the last non-empty
    bucket ends exactly at ``W`` (integer sums). O(number of priorities).
    """
    total = meta[1]
    x = u * total
    start = 0.0
    for level in range(weights.shape[0]):
        w = weights[level]
        span = w * counts[level]
        if span > 0 and (x < start + span or start + span >= total):
            meta[1] = total - w
            return swap_remove(items, counts, level, int((x - start) / w))
        start += span
    return -1


@njit(cache=True)
def policy_push(policy_id, items, counts, meta, job, level, weights):
    if policy_id == FIFO:
        fifo_push(items, counts, meta, job, level, weights)
    elif policy_id == WEIGHTED:
        weighted_push(items, counts, meta, job, level, weights)
    else:  # LIFO and RANDOM both append to one row
        stack_push(items, counts, meta, job, level, weights)


@njit(cache=True)
def policy_pop(policy_id, items, counts, meta, weights, u):
    if policy_id == FIFO:
        return fifo_pop(items, counts, meta, weights, u)
    if policy_id == LIFO:
        return lifo_pop(items, counts, meta, weights, u)
    if policy_id == RANDOM:
        return random_pop(items, counts, meta, weights, u)
    return weighted_pop(items, counts, meta, weights, u)


def grow_items(policy_id: int, items: np.ndarray, counts: np.ndarray, meta: np.ndarray,
               columns: int) -> np.ndarray:
    """``items`` widened to ``columns`` with the same pending set and order (plain Python).

    FIFO's row 0 is a ring starting at ``meta[0]``: it is copied in queue order
    and its head reset to 0. The other policies fill each row from column 0.
    """
    wider = np.empty((items.shape[0], columns), dtype=items.dtype)
    if policy_id == FIFO:
        n = int(counts[0])
        wider[0, :n] = items[0, (int(meta[0]) + np.arange(n)) % items.shape[1]]
        meta[0] = 0
    else:
        for level, n in enumerate(counts.tolist()):
            wider[level, :n] = items[level, :n]
    return wider


@dataclass(frozen=True)
class Policy:
    """A registered policy: its id in the event loop and whether it draws randomness."""

    name: str
    policy_id: int
    randomized: bool
    description: str


#: Policy registry: name -> Policy.
POLICIES: dict[str, Policy] = {p.name: p for p in (
    Policy("fifo", FIFO, False, "the task that entered the pending queue first"),
    Policy("lifo", LIFO, False, "the task that entered the pending queue last"),
    Policy("random", RANDOM, True, "uniformly at random"),
    Policy("weighted", WEIGHTED, True, "at random, with probability proportional to priority"),
)}


class PendingQueue:
    """The pending set of one policy outside the event loop (tests, notebooks).

    Calls the same functions as the simulator; ``priorities`` lists every
    priority value that may be pushed.
    """

    def __init__(self, name: str, priorities: list[int], capacity: int,
                 rng: np.random.Generator) -> None:
        self.policy = POLICIES[name]
        self.weights = np.asarray(sorted(set(priorities)), dtype=np.int64)
        self.items = np.empty((len(self.weights), capacity), dtype=np.int64)
        self.counts = np.zeros(len(self.weights), dtype=np.int64)
        self.meta = np.zeros(2, dtype=np.int64)
        self.rng = rng

    def push(self, job: int, priority: int) -> None:
        level = int(np.searchsorted(self.weights, priority))
        policy_push(self.policy.policy_id, self.items, self.counts, self.meta, job, level,
                    self.weights)

    def pop(self) -> int:
        u = self.rng.random() if self.policy.randomized else 0.0
        return int(policy_pop(self.policy.policy_id, self.items, self.counts, self.meta,
                              self.weights, u))

    def __len__(self) -> int:
        return int(self.counts.sum())


# Last line: the compiled functions above are cached keyed on every source they call.
key_caches_on_sources(globals())
