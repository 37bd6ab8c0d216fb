"""Quantum scheduling policies: which pending quantum task a freed QC takes next.

A policy is a small container of pending tasks with two operations, ``push``
(a task joins the pending queue) and ``pop`` (a QC is free: remove and return
the task it runs next). The items are the simulator's per-job records; a
policy may read their ``priority`` and nothing else (online policies never see
a job's remaining iterations). New policies subclass :class:`QuantumPolicy`
and register in :data:`POLICIES`.

Randomised policies draw from a :class:`Uniforms` stream owned by the run, so
the same seed gives the same choices.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Protocol

import numpy as np


class HasPriority(Protocol):
    priority: int


class Uniforms:
    """Uniform [0, 1) variates drawn from ``rng`` in blocks (one numpy call per block)."""

    __slots__ = ("_rng", "_block", "_buf", "_i")

    def __init__(self, rng: np.random.Generator, block: int = 4096) -> None:
        self._rng = rng
        self._block = block
        self._buf: list[float] = []
        self._i = 0

    def next(self) -> float:
        i = self._i
        if i == len(self._buf):
            self._buf = self._rng.random(self._block).tolist()
            i = 0
        self._i = i + 1
        return self._buf[i]


class QuantumPolicy:
    """Base class: the pending quantum tasks and the rule that picks the next one."""

    name = "abstract"

    def __init__(self, uniforms: Uniforms) -> None:
        self.uniforms = uniforms

    def push(self, item: Any) -> None:
        raise NotImplementedError

    def pop(self) -> Any:
        """Remove and return the next task to run; only called when not empty."""
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError


class Fifo(QuantumPolicy):
    """The task that entered the pending queue first."""

    name = "fifo"

    def __init__(self, uniforms: Uniforms) -> None:
        super().__init__(uniforms)
        self._queue: deque = deque()
        self.push = self._queue.append
        self.pop = self._queue.popleft

    def __len__(self) -> int:
        return len(self._queue)


class Lifo(QuantumPolicy):
    """The task that entered the pending queue last."""

    name = "lifo"

    def __init__(self, uniforms: Uniforms) -> None:
        super().__init__(uniforms)
        self._stack: list = []
        self.push = self._stack.append
        self.pop = self._stack.pop

    def __len__(self) -> int:
        return len(self._stack)


class Random(QuantumPolicy):
    """Uniformly at random: each of the ``n`` pending tasks with probability ``1/n``.

    The chosen slot is filled with the last task (swap-remove, O(1)); order in
    the list is irrelevant to a uniform choice.
    """

    name = "random"

    def __init__(self, uniforms: Uniforms) -> None:
        super().__init__(uniforms)
        self._items: list = []
        self.push = self._items.append

    def pop(self) -> Any:
        items = self._items
        i = int(self.uniforms.next() * len(items))
        last = items.pop()
        if i < len(items):
            items[i], last = last, items[i]
        return last

    def __len__(self) -> int:
        return len(self._items)


class Weighted(QuantumPolicy):
    """At random, task ``j`` with probability ``w_j / sum_k w_k`` (its job's priority).

    Tasks are kept in one bucket per priority value. One uniform ``u`` on
    ``[0, W)``, ``W = sum_w w * n_w``, picks bucket ``w`` when ``u`` falls in
    its span of length ``w * n_w``; ``(u - start) / w`` is then uniform on
    ``[0, n_w)`` and picks the task inside the bucket. Cost: O(distinct
    priorities) per pick.
    """

    name = "weighted"

    def __init__(self, uniforms: Uniforms) -> None:
        super().__init__(uniforms)
        self._buckets: dict[int, list] = {}
        self._pairs: list[tuple[int, list]] = []  # (priority, bucket), ascending priority
        self._total = 0  # W, an exact integer
        self._count = 0

    def push(self, item: HasPriority) -> None:
        w = item.priority
        bucket = self._buckets.get(w)
        if bucket is None:
            bucket = self._buckets[w] = []
            self._pairs = sorted(self._buckets.items())
        bucket.append(item)
        self._total += w
        self._count += 1

    def pop(self) -> Any:
        total = self._total
        u = self.uniforms.next() * total
        start = 0.0
        for w, bucket in self._pairs:
            span = w * len(bucket)
            # The second test catches u rounding onto the total: the last
            # non-empty bucket always ends exactly at W (integer sums).
            if span and (u < start + span or start + span >= total):
                i = int((u - start) / w)
                last = bucket.pop()
                if i < len(bucket):
                    bucket[i], last = last, bucket[i]
                self._total = total - w
                self._count -= 1
                return last
            start += span
        raise IndexError("pop from an empty weighted queue")

    def __len__(self) -> int:
        return self._count


#: Policy registry: name -> class.
POLICIES: dict[str, type[QuantumPolicy]] = {p.name: p for p in (Fifo, Lifo, Random, Weighted)}
