"""MODEL.md as a SimPy program: the specification you can run, and an oracle for the kernel.

``simulate(config, seed)`` takes the same ``SimulationConfig``, seed and
policies as ``online/engine.py`` and returns the same ``ReplicationResult``
(summary, per-job table in arrival order, schedule if recorded). It is written
to be read next to MODEL.md, not for speed (3-5e4 events/s, 50-250 times
slower than the compiled kernel: ``benchmarks/bench_simpy.py``), and shares no
event-loop or policy code with ``online/kernel.py`` / the policies' push/pop
functions: only the arrivals (``engine.arrival_chunks``, so both see the same
jobs) and the policy registry (``resolve_policy``, and a key policy's own
``key``) are reused. ``tests/test_simpy_model.py`` requires both engines to
give identical per-job records on random scenarios.

The model (section names are MODEL.md's):

- "Job": one SimPy process per admitted job walks its chain
  ``pre -> [classical iteration -> quantum iteration] x n -> post``
  (``job_life``); each task is a request to a resource that returns an event
  fired when the task has ended.
- "Online dynamics", serverless mode: ``ProcessorSharing``, every active
  classical task served at ``S * min(1, C / A)`` ops/s, kept exact with a
  virtual clock; dedicated mode: ``DedicatedWorkers``, ``C`` FIFO servers.
- "Quantum": ``QuantumComputers``, ``Q`` QCs that are never preempted; a task
  finding none idle waits in the policy's pending set (``PENDING_SETS``,
  ``ByKey``) and a freed QC runs the policy's pick.
- "Admission control": ``Model.arrive``.
- "Metrics": ``Model`` integrates the counts over ``[warmup, end)``,
  writes one record per job that completes or is dropped in the window and
  reports jobs still active at the end as censored (``_summary``).

The features of docs/platform-features.md (issue 17), each off by default
(off, the code above runs as it did, and ``tests/test_features_differential.py``
checks them against the kernel):

- Section 1, a QC fleet: ``Fleet`` (QC numbering, eligibility, time factors
  from ``instances/fleet.py``, the routing rule: ``ROUTINGS`` or a user
  ``Routing``'s key) and ``FleetPending`` (the policy's pick among the tasks
  eligible on the freed QC, in the order they became pending).
- Section 2, runtime sessions: ``Session``, held by its job; kept, released
  and closed by ``QuantumComputers.keep`` / ``release`` / ``close``. A release
  event made stale is skipped without counting as an event.
- Section 3, function instances: ``Instances`` in front of
  ``ProcessorSharing`` (warm reuse, cold starts as ready events, the FIFO
  queue at the maximum, lazy keep-alive expiry in ``Instances.advance``).

Same-instant order (the kernel's, ``online/engine.py``): a processor-sharing
completion first, then task ends (and session releases, cold-start ready
events) on a server in the order they were scheduled, then the arrival;
every consequence of one of these *primary* events (a freed server taking
its next task, the job moving on) happens before the next primary event.
SimPy processes events in ``(time, priority, insertion)`` order, so primary
events carry the ranks ``PS_END < SERVER_END < ARRIVAL``, all above SimPy's
own ``URGENT`` / ``NORMAL`` (process starts and ``succeed``), which therefore
run first: the consequences. A server event is scheduled where the kernel
schedules it (a task end when the task starts, a session release when a
quantum task ends, a cold start's ready event when its task becomes ready),
so SimPy's insertion order is the kernel's tie order.

Floating point: every time is formed by the kernel's formula (task end
``start + duration``; processor sharing ``t_v + (tag - V) / rate``) and
filed in SimPy's queue at exactly that float (``At``), so records match bit for bit.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Protocol

import numpy as np
import simpy
from simpy.events import EventPriority

from hqsched.errors import InputError
from hqsched.instances.fleet import time_factors
from hqsched.instances.model import QCGroup, TaskKind
from hqsched.instances.schedule import Schedule, ScheduledTask
from hqsched.instances.streams import stream

from . import policies
from .config import JOB_FIELDS, Lifecycle, ReplicationResult, Sessions, SimulationConfig
from .engine import arrival_chunks, priority_levels
from .policies import NO_QUBIT_LIMIT, ArrayPolicy, Policy, resolve_policy

#: Tie ranks of the primary events at one instant (SimPy's URGENT = 0, NORMAL = 1 come first).
PS_END, SERVER_END, ARRIVAL = EventPriority(2), EventPriority(3), EventPriority(4)

#: Receives blocks of per-job records: JOB_FIELDS -> column (as ``engine.RecordSink``).
RecordSink = Callable[[Mapping[str, np.ndarray]], None]


# ---------------------------------------------------------------------------
# Time


class Environment(simpy.Environment):
    """SimPy's environment, plus scheduling at an absolute time.

    ``schedule`` takes a delay and files the event at ``now + delay``, which
    for some float pairs is not the intended time (``now = 2**-53``,
    ``when = 1 + 2**-52``: ``now + (when - now) == 1.0``, and no delay gives
    ``when``). The model's times are absolute, formed by the kernel's formulas,
    so they are filed as they are: the same ``(time, priority, insertion)``
    entry ``schedule`` makes (SimPy 4's queue)."""

    def schedule_at(self, event: simpy.Event, rank: EventPriority, when: float) -> None:
        heapq.heappush(self._queue, (when, rank, next(self._eid), event))


class At(simpy.Event):
    """A primary event at absolute time ``when`` (s) with tie rank ``rank``; ``action`` runs
    when it is processed (like ``simpy.Timeout``, triggered at creation)."""

    def __init__(self, env: Environment, when: float, rank: EventPriority,
                 action: Callable[[simpy.Event], None] | None = None) -> None:
        if not when >= env.now:  # NaN, or before now: float64 overflowed somewhere
            raise InputError(f"simulation (simpy): an event time is {when!r} at t = {env.now!r} "
                             "s (a capacity, arrival or duration too large to simulate)")
        super().__init__(env)
        self._ok, self._value = True, None  # triggered, as simpy.Timeout does
        if action is not None:
            self.callbacks.append(action)
        env.schedule_at(self, rank, when)


# ---------------------------------------------------------------------------
# Jobs and tasks


@dataclass(eq=False)
class Job:
    """One arriving job (MODEL.md "Job"): its chain and what the platform tracks of it."""

    index: int  # arrival order, from 0
    job_id: int
    arrival: float  # s
    qubits: int
    priority: int
    pre_ops: float
    post_ops: float
    iteration_ops: list[float]  # classical work of each iteration (ops)
    quantum_s: list[float]  # duration of each quantum iteration (s)
    quantum_total: float  # sum of quantum_s, formed as the kernel forms it (``_jobs``)
    wait: float = 0.0  # quantum waiting time so far (s)
    attained: float = 0.0  # quantum service started so far (reference s)
    session: Session | None = None  # the runtime session it holds, if any

    @property
    def iterations(self) -> int:
        return len(self.quantum_s)

    @property
    def last(self) -> int:
        """Index of ``post``: tasks are numbered 0 (pre) to 2n + 1 (post)."""
        return 2 * self.iterations + 1


@dataclass(eq=False)
class Task:
    """Task ``k`` of ``job`` with its ``work`` (classical: ops; quantum: s); ``done`` fires
    when it has ended. ``start``, ``server`` (-1: processor sharing) and ``queued_at`` are
    filled as it runs."""

    job: Job
    k: int
    work: float
    done: simpy.Event
    start: float = math.nan
    server: int = -1
    queued_at: float = math.nan
    view: Any = None  # what a key policy sees of it (``task_view``)
    ready_at: float = math.nan  # a classical task with instances: when it became ready


def job_life(model: Model, job: Job) -> Generator[simpy.Event, Any, None]:
    """The process of an admitted job: its tasks strictly one after another (MODEL.md "Job")."""
    yield model.classical.run(job, 0, job.pre_ops)
    for i in range(job.iterations):
        yield model.classical.run(job, 2 * i + 1, job.iteration_ops[i])
        yield model.quantum.run(job, 2 * i + 2, job.quantum_s[i])
    yield model.classical.run(job, job.last, job.post_ops)
    model.complete(job)


# ---------------------------------------------------------------------------
# Classical side (MODEL.md "Online dynamics")


class ProcessorSharing:
    """Serverless mode: with ``A`` active tasks each progresses at ``S * min(1, C / A)`` ops/s.

    Virtual clock ``V``: the service one task would have received since time
    0 had it been active throughout (``V`` at real time ``t_v``, growing at
    ``rate``). A task joining at clock ``V`` with work ``w`` ends when the
    clock reaches its tag ``V + w``; the next end is the smallest tag, at real
    time ``t_v + (tag - V) / rate``. When ``A`` changes the rate changes, so
    the pending wake-up (``alarm``) is replaced; a replaced one does nothing.
    """

    def __init__(self, model: Model, workers: int, capacity: float) -> None:
        self.model, self.workers, self.capacity = model, workers, capacity
        self.clock, self.clock_at, self.rate = 0.0, 0.0, capacity  # V (ops), t_v (s), ops/s
        self.tags: list[tuple[float, int, Task]] = []  # heap on (tag, join order)
        self.joins = itertools.count()
        self.alarm: simpy.Event | None = None
        self.instances: Instances | None = None  # function instances with cold starts, if on

    def per_task_rate(self) -> float:
        n = self.model.classical_active
        return self.capacity if n <= self.workers else self.capacity * self.workers / n

    def run(self, job: Job, k: int, ops: float) -> simpy.Event:
        """Task ``k`` of ``job`` is ready now: it joins the pool (without instances, or
        through ``Instances``); returns the event of its end."""
        task = Task(job, k, ops, self.model.env.event())
        if self.instances is None:
            self.join(task)
        else:
            self.instances.ready(task)
        return task.done

    def join(self, task: Task) -> None:
        """``task`` starts now with ``task.work`` ops."""
        env = self.model.env
        task.start = env.now
        self.clock += self.rate * (env.now - self.clock_at)  # the clock so far, at the old rate
        self.clock_at = env.now
        self.model.classical_active += 1
        self.rate = self.per_task_rate()
        heapq.heappush(self.tags, (self.clock + task.work, next(self.joins), task))
        self.set_alarm()

    def set_alarm(self) -> None:
        """Wake up at the next end (never before ``t_v``: rounding)."""
        if not self.tags:
            self.alarm = None
            return
        when = self.clock_at + (self.tags[0][0] - self.clock) / self.rate
        self.alarm = At(self.model.env, max(when, self.clock_at), PS_END, self.end_first)

    def end_first(self, alarm: simpy.Event) -> None:
        """The task with the smallest tag ends (unless this alarm was replaced)."""
        if alarm is not self.alarm:
            return
        model = self.model
        model.begin_event()
        tag, _, task = heapq.heappop(self.tags)
        self.clock, self.clock_at = tag, model.env.now
        model.classical_active -= 1
        self.rate = self.per_task_rate()
        self.set_alarm()
        if self.instances is not None:
            self.instances.freed()
        model.task_ended(task, TaskKind.CLASSICAL)


class DedicatedWorkers:
    """Dedicated mode: ``C`` non-preemptive servers of rate ``S`` (the lowest-numbered idle
    one is used); a ready task finding none idle waits in a FIFO queue."""

    def __init__(self, model: Model, workers: int, capacity: float) -> None:
        self.model, self.capacity = model, capacity
        self.idle = set(range(workers))
        self.queue: deque[Task] = deque()

    def run(self, job: Job, k: int, ops: float) -> simpy.Event:
        """Task ``k`` of ``job`` is ready now; returns the event of its end."""
        task = Task(job, k, ops, self.model.env.event())
        self.model.classical_active += 1  # in service or queued (MODEL.md: admission)
        if self.idle:
            self.start(task, min(self.idle))
        else:
            self.queue.append(task)
        return task.done

    def start(self, task: Task, worker: int) -> None:
        self.idle.discard(worker)
        env = self.model.env
        task.start, task.server = env.now, worker
        At(env, env.now + task.work / self.capacity, SERVER_END, lambda _: self.end(task))

    def end(self, task: Task) -> None:
        """``task`` ends; its worker takes the head of the queue, or idles."""
        model = self.model
        model.begin_event()
        model.classical_active -= 1
        if self.queue:
            self.start(self.queue.popleft(), task.server)
        else:
            self.idle.add(task.server)
        model.task_ended(task, TaskKind.CLASSICAL)


class Instances:
    """Serverless function instances (docs/platform-features.md section 3): a ready classical
    task takes the most recently freed idle warm instance, or cold-starts a new one (ready
    ``cold_start_s`` later with ``cold_start_ops`` more work) while fewer than
    ``max_instances`` exist, or waits in a FIFO queue. An idle instance is gone
    ``keep_alive_s`` after its task ended (a task ready at exactly that instant still finds
    it); expiry is found lazily, and ``advance`` integrates the live count up to each expiry.
    """

    def __init__(self, model: Model, pool: ProcessorSharing, lifecycle: Lifecycle) -> None:
        self.model, self.pool, self.life = model, pool, lifecycle
        self.idle: deque[float] = deque()  # when each idle instance was freed, oldest first
        self.working = 0  # instances starting or running a task
        self.queue: deque[Task] = deque()  # tasks waiting for an instance at the maximum
        # Metrics over the window: live instances integrated from ``last_t``.
        self.cold_starts, self.wait_s, self.area = 0, 0.0, 0.0
        self.last_t = model.warmup

    @property
    def live(self) -> int:
        return self.working + len(self.idle)

    def advance(self, t: float) -> None:
        """Bring the live count and its integral to ``t``: idle instances whose keep-alive
        ended before ``t`` leave the count at their expiry, in time order."""
        while self.idle and self.idle[0] + self.life.keep_alive_s < t:
            self.integrate(self.idle[0] + self.life.keep_alive_s)
            self.idle.popleft()
        self.integrate(t)

    def integrate(self, t: float) -> None:
        if t > self.last_t:
            self.area += self.live * (t - self.last_t)
            self.last_t = t

    def ready(self, task: Task) -> None:
        """``task`` is ready now (``advance`` has run at this instant: the idle ones are warm)."""
        model = self.model
        now = model.env.now
        task.ready_at = now
        if self.idle:
            self.idle.pop()  # the most recently freed
            self.working += 1
            self.start(task)
        elif self.live < self.life.max_instances:
            self.working += 1
            self.cold_starts += now >= model.warmup
            task.work += self.life.cold_start_ops
            if self.life.cold_start_s > 0:
                At(model.env, now + self.life.cold_start_s, SERVER_END,
                   lambda _: self.cold_ready(task))
            else:  # no latency: no ready event, it starts now
                self.start(task)
        else:
            self.queue.append(task)

    def cold_ready(self, task: Task) -> None:
        """A cold-started instance is ready: its task starts (a primary event)."""
        self.model.begin_event()
        self.start(task)

    def start(self, task: Task) -> None:
        if task.ready_at >= self.model.warmup:
            self.wait_s += self.model.env.now - task.ready_at
        self.pool.join(task)

    def freed(self) -> None:
        """A task in an instance ended now: the instance goes to the head of the queue, or
        idles (before the ended task's job moves on)."""
        if self.queue:
            self.start(self.queue.popleft())
        else:
            self.working -= 1
            self.idle.append(self.model.env.now)


# ---------------------------------------------------------------------------
# Quantum side and the policies' pending sets


class PendingSet(Protocol):
    """The quantum tasks waiting for a QC, in a policy's order. ``u`` is uniform on [0, 1),
    drawn from the policy stream at each pick only for randomised policies."""

    def push(self, task: Task, now: float) -> None: ...
    def pop(self, u: float, now: float) -> Task: ...


def swap_remove(items: list[Task], i: int) -> Task:
    """Remove and return ``items[i]``, moving the last item into its place."""
    last = items.pop()
    if i < len(items):
        items[i], last = last, items[i]
    return last


class Fifo:
    """The task that became pending first."""

    def __init__(self) -> None:
        self.items: deque[Task] = deque()

    def push(self, task: Task, now: float) -> None:
        self.items.append(task)

    def pop(self, u: float, now: float) -> Task:
        return self.items.popleft()


class Lifo:
    """The task that became pending last."""

    def __init__(self) -> None:
        self.items: list[Task] = []

    def push(self, task: Task, now: float) -> None:
        self.items.append(task)

    def pop(self, u: float, now: float) -> Task:
        return self.items.pop()


class UniformRandom(Lifo):
    """Uniformly at random: index ``int(u n)`` of the list, the last task moved into it."""

    def pop(self, u: float, now: float) -> Task:
        return swap_remove(self.items, int(u * len(self.items)))


class FifoSwap(Lifo):
    """The reference simulator's FIFO: index 0, the last task moved into its place."""

    def pop(self, u: float, now: float) -> Task:
        return swap_remove(self.items, 0)


class Weighted:
    """At random with probability proportional to the job's priority.

    One list per priority, ascending. ``x = u W`` (``W``: the sum of the
    pending tasks' priorities) falls in priority ``w``'s span of length
    ``w n_w`` with probability ``w n_w / W``; ``(x - start) / w`` then picks a
    task uniformly inside it. The second test catches ``u W`` rounding onto
    ``W``: the last non-empty span then takes it."""

    def __init__(self, priorities: list[int]) -> None:
        self.buckets: dict[int, list[Task]] = {w: [] for w in sorted(priorities)}
        self.total = 0  # W, an integer

    def push(self, task: Task, now: float) -> None:
        self.buckets[task.job.priority].append(task)
        self.total += task.job.priority

    def pop(self, u: float, now: float) -> Task:
        x = u * self.total
        start = 0.0
        for w, bucket in self.buckets.items():
            span = w * len(bucket)
            if span > 0 and (x < start + span or start + span >= self.total):
                self.total -= w
                return swap_remove(bucket, int((x - start) / w))
            start += span
        raise AssertionError("Weighted.pop: no pending task")


class ByKey:
    """A key policy: the smallest ``policy.key(task, now)`` first, ties to the task that
    became pending first. Static keys are computed once, when the task becomes pending;
    dynamic ones for every pending task at every pick."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.entries: list[tuple[float, Task]] = []  # in the order they became pending

    def key(self, task: Task, now: float) -> float:
        value = float(self.policy.key(task.view, now))
        if math.isnan(value):
            raise InputError(f"--policy {self.policy.source or self.policy.name}: key(task, now) "
                             "returned NaN (a key must be a number)")
        return value

    def push(self, task: Task, now: float) -> None:
        self.entries.append((math.nan if self.policy.dynamic else self.key(task, now), task))

    def pop(self, u: float, now: float) -> Task:
        keys = [self.key(task, now) if self.policy.dynamic else key for key, task in self.entries]
        best = 0
        for i, key in enumerate(keys):
            if key < keys[best]:
                best = i
        return self.entries.pop(best)[1]


#: The built-in policies that are not key policies, by name.
PENDING_SETS: dict[str, Callable[[list[int]], PendingSet]] = {
    "fifo": lambda priorities: Fifo(),
    "lifo": lambda priorities: Lifo(),
    "random": lambda priorities: UniformRandom(),
    "weighted": Weighted,
    "fifo-swap": lambda priorities: FifoSwap(),
}


def pending_set(policy: Policy, priorities: list[int]) -> PendingSet:
    if not isinstance(policy, ArrayPolicy):
        return ByKey(policy)
    if policy.name not in PENDING_SETS:
        raise InputError(f"simulation (simpy): built-in policy {policy.name!r} has no model here")
    return PENDING_SETS[policy.name](priorities)


def task_view(task: Task, clairvoyant: bool) -> SimpleNamespace:
    """What a key policy reads of a pending quantum task (``policies.TASK``); the job's
    remaining work only if the policy is clairvoyant."""
    job = task.job
    done = (task.k - 2) // 2  # iterations completed before this quantum task
    return SimpleNamespace(
        arrival=job.arrival, priority=job.priority, qubits=job.qubits, queued_at=task.queued_at,
        quantum_s=task.work, iterations_done=done, attained_s=job.attained,
        remaining_iterations=job.iterations - done if clairvoyant else -1,
        remaining_quantum_s=job.quantum_total - job.attained if clairvoyant else math.nan)


class Fleet:
    """A heterogeneous quantum fleet (docs/platform-features.md section 1): QCs numbered group
    by group, eligibility by qubits, time factors, and the routing rule's key.

    ``routing`` is a built-in name of ``ROUTINGS`` or an object with a static
    ``key(qc, task)`` (a ``Routing``); ``qc`` is ``qc_view``'s namespace."""

    def __init__(self, groups: tuple[QCGroup, ...], routing: Any,
                 estimates: dict[tuple[int, str], float] | None) -> None:
        self.groups, self.estimates = groups, estimates
        self.group_of = [g for g, group in enumerate(groups) for _ in range(group.count)]
        self.routing = routing
        self.factors: dict[int, list[float]] = {}  # qubits -> factor per group

    def factor(self, qc: int, qubits: int) -> float:
        """How many times longer QC ``qc`` takes than the reference QC at ``qubits``."""
        if qubits not in self.factors:
            self.factors[qubits] = time_factors(self.groups, [qubits], self.estimates)[:, 0].tolist()
        return self.factors[qubits][self.group_of[qc]]

    def eligible(self, qc: int, task: Task) -> bool:
        return self.groups[self.group_of[qc]].fits(task.job.qubits)

    def duration(self, qc: int, task: Task) -> float:
        """Task ``task`` on QC ``qc`` (s): its reference duration times the QC's factor."""
        return task.work * self.factor(qc, task.job.qubits)

    def qc_view(self, qc: int, task: Task) -> SimpleNamespace:
        """What a routing key reads of QC ``qc`` for ``task`` (``policies.QC_VIEW``)."""
        g = self.group_of[qc]
        group = self.groups[g]
        return SimpleNamespace(number=qc, group=g, qubits=NO_QUBIT_LIMIT if group.qubits is None
                               else group.qubits, factor=self.factor(qc, task.job.qubits))

    def route(self, idle: set[int], task: Task, clairvoyant: bool) -> int | None:
        """The free eligible QC with the smallest routing key, ties to the lowest number;
        None if no free QC may run ``task``."""
        best: tuple[Any, int] | None = None
        view = None
        for qc in sorted(idle):
            if not self.eligible(qc, task):
                continue
            if isinstance(self.routing, str):
                key = ROUTINGS[self.routing](self.qc_view(qc, task))
            else:
                view = view or task_view(task, clairvoyant)
                key = (float(self.routing.key(self.qc_view(qc, task), view)),)
            if best is None or key < best[0]:
                best = (key, qc)
        return None if best is None else best[1]


#: The built-in routing rules' keys of a free eligible QC (smallest first; ties to the
#: lowest-numbered QC).
ROUTINGS: dict[str, Callable[[SimpleNamespace], tuple[float, ...]]] = {
    "fastest": lambda qc: (qc.factor,),
    "smallest": lambda qc: (qc.qubits, qc.factor),  # keep large QCs for large tasks
    "lowest": lambda qc: (0.0,),
}


class FleetPending:
    """The pending quantum tasks with a fleet: one list in the order they became pending; a
    freed QC takes the policy's choice among the tasks eligible on it (section 1, "Picking")."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy  # not fifo-swap: SimulationConfig refuses it with QC groups
        self.keyed = None if isinstance(policy, ArrayPolicy) else ByKey(policy)
        self.entries: list[tuple[float, Task]] = []

    def push(self, task: Task, now: float) -> None:
        """A static key is computed once, here; a dynamic one at each pick."""
        key = math.nan
        if self.keyed is not None and not self.policy.dynamic:
            key = self.keyed.key(task, now)
        self.entries.append((key, task))

    def pop(self, draw: Callable[[], float], now: float,
            eligible: Callable[[Task], bool]) -> Task | None:
        """The pick among the eligible tasks, taken out; None if none is eligible (no draw)."""
        ok = [i for i, (_, task) in enumerate(self.entries) if eligible(task)]
        if not ok:
            return None
        name = self.policy.name
        if self.keyed is not None:
            keys = [self.keyed.key(self.entries[i][1], now) if self.policy.dynamic
                    else self.entries[i][0] for i in ok]
            best = min(range(len(ok)), key=lambda n: (keys[n], n))
            chosen = ok[best]
        elif name == "fifo":
            chosen = ok[0]
        elif name == "lifo":
            chosen = ok[-1]
        elif name == "random":
            chosen = ok[min(int(draw() * len(ok)), len(ok) - 1)]
        elif name == "weighted":
            weights = [self.entries[i][1].job.priority for i in ok]
            x = draw() * sum(weights)
            chosen, cumulative = ok[-1], 0
            for i, w in zip(ok, weights):
                cumulative += w
                if x < cumulative:
                    chosen = i
                    break
        else:
            raise InputError(f"simulation (simpy): built-in policy {name!r} has no model here")
        return self.entries.pop(chosen)[1]


@dataclass(eq=False)
class Session:
    """A runtime session (section 2): ``job`` holds QC ``qc`` since ``opened`` (s);
    ``release`` is its pending release event (None while a task of it runs)."""

    job: Job
    qc: int
    opened: float
    release: simpy.Event | None = None


class QuantumComputers:
    """``Q`` QCs, one task each, never preempted. A ready task takes a free QC (identical
    QCs: the lowest-numbered; a fleet: the routing's choice among the eligible ones), or waits
    in the policy's pending set; a freed QC runs the policy's pick (among the tasks eligible
    on it). A session job's QC stays reserved between its quantum tasks (``Session``)."""

    def __init__(self, model: Model, qcs: int, policy: Policy,
                 pending: PendingSet | FleetPending, fleet: Fleet | None = None,
                 sessions: Sessions | None = None) -> None:
        self.model, self.policy, self.pending = model, policy, pending
        self.fleet, self.sessions = fleet, sessions
        self.idle = set(range(qcs))
        self.rng = model.policy_rng

    def run(self, job: Job, k: int, duration: float) -> simpy.Event:
        """Quantum task ``k`` of ``job`` is ready now; returns the event of its end."""
        model = self.model
        task = Task(job, k, duration, model.env.event())
        task.queued_at = model.env.now  # (a routing key may read it)
        if job.session is not None:  # its QC is reserved: no queue, no routing
            job.session.release = None  # the pending release is now stale
            model.reserved_idle -= 1
            self.start(task, job.session.qc)
            return task.done
        qc = self.route(task)
        if qc is not None:
            self.start(task, qc)
        else:
            task.view = task_view(task, self.policy.clairvoyant)
            model.pending += 1
            self.pending.push(task, model.env.now)
        return task.done

    def route(self, task: Task) -> int | None:
        if self.fleet is None:
            return min(self.idle) if self.idle else None
        return self.fleet.route(self.idle, task, self.policy.clairvoyant)

    def start(self, task: Task, qc: int) -> None:
        self.idle.discard(qc)
        model, job = self.model, task.job
        now = model.env.now
        model.in_service += 1
        job.attained += task.work  # the job's quantum service (reference s), from the start
        task.start, task.server = now, qc
        duration = task.work
        if self.fleet is not None:
            duration = self.fleet.duration(qc, task)
            model.group_busy[self.fleet.group_of[qc]] += 1
        if self.sessions is not None and job.session is None \
                and job.priority >= self.sessions.min_priority:
            job.session = Session(job, qc, now)
            model.reserved += 1
            model.sessions_opened += now >= model.warmup
        At(model.env, now + duration, SERVER_END, lambda _: self.end(task))

    def end(self, task: Task) -> None:
        """``task`` ends; its QC stays with the job's session, or runs the policy's pick, or
        idles."""
        model, job = self.model, task.job
        now = model.env.now
        model.begin_event()
        model.in_service -= 1
        if self.fleet is not None:
            model.group_busy[self.fleet.group_of[task.server]] -= 1
        session = job.session
        if session is not None and self.still_held(session, task, now):
            self.keep(session, now)
        else:
            if session is not None:  # the job's last quantum task, or the session's length
                self.close(session)
            self.free(task.server)
        model.task_ended(task, TaskKind.QUANTUM)

    def still_held(self, session: Session, task: Task, now: float) -> bool:
        """Whether ``session`` keeps its QC after ``task`` ended at ``now``: not the job's
        last quantum task (its client closes the session), and within the maximum length."""
        assert self.sessions is not None
        return task.k != task.job.last - 1 and now < session.opened + self.sessions.max_length_s

    def keep(self, session: Session, now: float) -> None:
        """The session holds its QC through the job's classical step; it is released at the
        idle timeout or the maximum length, whichever comes first, unless the job's next
        quantum task is ready by then."""
        assert self.sessions is not None
        self.model.reserved_idle += 1
        when = min(now + self.sessions.idle_timeout_s,
                   session.opened + self.sessions.max_length_s)
        if when < math.inf:  # both limits infinite: held until the job's last quantum task
            session.release = At(self.model.env, when, SERVER_END,
                                 lambda event: self.release(session, event))

    def release(self, session: Session, event: simpy.Event) -> None:
        """A release event: ends the session unless made stale (then no event at all)."""
        if session.release is not event:
            return
        self.model.begin_event()
        self.model.reserved_idle -= 1
        self.close(session)
        self.free(session.qc)

    def close(self, session: Session) -> None:
        session.job.session = None
        session.release = None
        self.model.reserved -= 1

    def free(self, qc: int) -> None:
        """QC ``qc`` is free now: it runs the policy's pick among the pending tasks it may
        run, or idles."""
        model = self.model
        now = model.env.now
        picked: Task | None = None
        if model.pending and self.fleet is None:
            assert not isinstance(self.pending, FleetPending)
            u = self.rng.random() if self.policy.randomized else 0.0
            picked = self.pending.pop(u, now)
        elif model.pending:
            fleet = self.fleet
            assert isinstance(self.pending, FleetPending) and fleet is not None
            picked = self.pending.pop(self.rng.random, now, lambda task: fleet.eligible(qc, task))
        if picked is None:
            self.idle.add(qc)
            return
        model.pending -= 1
        picked.job.wait += now - picked.queued_at
        self.start(picked, qc)


# ---------------------------------------------------------------------------
# The platform: admission, counts, records


class Model:
    """One replication: the environment, the resources, the counts and the records."""

    def __init__(self, config: SimulationConfig, seed: int, policy: Policy,
                 priorities: list[int]) -> None:
        self.config = config
        self.env = Environment()
        self.policy_rng = stream(seed, "policy")
        p = config.platform
        self.max_classical = math.inf if p.max_classical is None else p.max_classical
        self.max_quantum = math.inf if p.max_quantum is None else p.max_quantum
        self.warmup = config.warmup_s
        # The counts MODEL.md averages over time, and their integrals (task-seconds).
        self.classical_active = self.in_service = self.pending = 0
        self.area_classical = self.area_in_service = self.area_pending = 0.0
        self.last_t = config.warmup_s  # the integrals start at the warm-up
        self.events = self.arrivals = self.arrived = self.dropped = self.dropped_all = 0
        self.active: dict[int, Job] = {}  # admitted jobs not yet complete, by arrival index
        self.peak_active = 0
        self.records: list[tuple] = []  # completed or dropped in the window, as they leave
        self.log: list[ScheduledTask] = []
        workers, capacity = p.classical_workers, p.worker_capacity_ops_per_s
        self.classical: ProcessorSharing | DedicatedWorkers = (
            DedicatedWorkers(self, workers, capacity) if config.classical_mode == "dedicated"
            else ProcessorSharing(self, workers, capacity))
        # docs/platform-features.md: each feature's state and counts exist only when it is on.
        self.instances: Instances | None = None
        if config.lifecycle is not None:  # SimulationConfig: serverless mode only
            assert isinstance(self.classical, ProcessorSharing)
            self.instances = self.classical.instances = Instances(self, self.classical,
                                                                  config.lifecycle)
        # SimulationConfig checked that every qubit count fits some group.
        fleet = Fleet(p.qc_groups, resolve_routing(config.routing), _estimates(config)) \
            if p.qc_groups else None
        self.fleet = fleet
        self.group_busy = [0] * len(p.qc_groups)  # QCs of each group running a task
        self.area_group_busy = [0.0] * len(p.qc_groups)
        # Sessions: QCs held (busy or not), held with no task of theirs running, opened.
        self.reserved = self.reserved_idle = self.sessions_opened = 0
        self.area_reserved = self.area_reserved_idle = 0.0
        pending = FleetPending(policy) if fleet else pending_set(policy, priorities)
        self.quantum = QuantumComputers(self, p.quantum_computers, policy, pending, fleet,
                                        config.sessions)

    def begin_event(self) -> None:
        """A primary event happens now: count it and extend the integrals to now (with the
        counts as they were since the previous event)."""
        self.events += 1
        self.integrate(self.env.now)

    def integrate(self, t: float) -> None:
        if t > self.last_t:
            dt = t - self.last_t
            self.area_classical += self.classical_active * dt
            self.area_in_service += self.in_service * dt
            self.area_pending += self.pending * dt
            for g, busy in enumerate(self.group_busy):
                self.area_group_busy[g] += busy * dt
            self.area_reserved += self.reserved * dt
            self.area_reserved_idle += self.reserved_idle * dt
            self.last_t = t
        if self.instances is not None:
            self.instances.advance(t)

    def arrivals_process(self, jobs: Iterator[Job]) -> Generator[simpy.Event, Any, None]:
        """The arrivals, in order, each at its arrival time."""
        for job in jobs:
            yield At(self.env, job.arrival, ARRIVAL)
            self.arrive(job)

    def arrive(self, job: Job) -> None:
        """MODEL.md "Admission control": accepted iff active classical tasks < C_max and
        pending quantum tasks < Q_max; a dropped job never returns."""
        admit = self.classical_active < self.max_classical and self.pending < self.max_quantum
        self.begin_event()
        self.arrivals += 1
        in_window = self.env.now >= self.warmup
        self.arrived += in_window
        if not admit:
            self.dropped_all += 1
            if in_window:
                self.dropped += 1
                self.records.append(self.record(job, math.nan, 0.0, "dropped"))
            return
        self.active[job.index] = job
        self.peak_active = max(self.peak_active, len(self.active))
        self.env.process(job_life(self, job))

    def task_ended(self, task: Task, kind: TaskKind) -> None:
        """``task`` has ended now and its server is handed on: log it, resume its job."""
        if self.config.record_schedule:
            self.log.append(ScheduledTask(task.job.job_id, task.k, kind, task.server,
                                          task.start, self.env.now))
        task.done.succeed()

    def complete(self, job: Job) -> None:
        """``post`` has ended: a record if in the window (MODEL.md "Metrics")."""
        del self.active[job.index]
        if self.env.now >= self.warmup:
            self.records.append(self.record(job, self.env.now, job.wait, "completed"))

    @staticmethod
    def record(job: Job, completion: float, wait: float, status: str) -> tuple:
        """One row of ``config.JOB_FIELDS`` (plus the arrival index, for ordering)."""
        return (job.job_id, job.arrival, completion, completion - job.arrival, job.qubits,
                job.priority, job.iterations, wait, status, job.index)

    def censored(self) -> list[tuple]:
        """The jobs still active at the end, in arrival order (MODEL.md: never ignored)."""
        return [self.record(job, math.nan, job.wait, "censored")
                for _, job in sorted(self.active.items())]


# ---------------------------------------------------------------------------
# One replication


def simulate(config: SimulationConfig, seed: int = 0,
             sink: RecordSink | None = None) -> ReplicationResult:
    """Run one replication of ``config`` with ``seed`` on SimPy (see the module docstring).

    As ``engine.simulate``: without ``sink`` the records are in ``result.jobs``
    (arrival order); with one, they go to it in one block (jobs in the order
    they left the system, censored ones last) and ``result.jobs`` is None."""
    policy = resolve_policy(config.policy_source or config.policy)
    weights = priority_levels(config)
    model = Model(config, seed, policy, [int(w) for w in weights])
    jobs = _jobs(arrival_chunks(config, seed, weights, 1024), weights)
    model.env.process(model.arrivals_process(jobs))
    if math.isinf(config.duration_s):
        model.env.run()
        if math.isinf(model.env.now):
            raise InputError("simulation (simpy): a time overflowed float64 (a capacity, "
                             "arrival or duration too large to simulate)")
        end = model.last_t  # an instance run to completion: the window ends at the last event
    else:
        model.env.run(until=config.duration_s)
        model.integrate(config.duration_s)
        end = config.duration_s
    rows = model.records + model.censored()
    table = _table(rows)
    if sink is not None:
        sink({name: table[name] for name in JOB_FIELDS})
    arrival_order = np.argsort(table["index"], kind="stable")
    in_order = {name: table[name][arrival_order] for name in JOB_FIELDS}
    schedule = Schedule(tuple(model.log)) if config.record_schedule else None
    return ReplicationResult(seed, _summary(config, model, in_order, end),
                             None if sink is not None else in_order, schedule,
                             {"peak_active_jobs": model.peak_active})


def _jobs(chunks: Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]],
          weights: np.ndarray) -> Iterator[Job]:
    """The engine's arrival chunks as ``Job`` objects, in arrival order.

    A chunk row whose ``offset`` is -1 repeats one iteration value ``n`` times
    (its quantum total is then ``q * n``, as the kernel forms it); otherwise
    the values are ``it_flat`` / ``q_flat[offset:offset + n]``, summed in order."""
    index = 0
    for rows, it_flat, q_flat in chunks:
        for row in rows.tolist():
            job_id, qubits, level, last, offset, arrival, pre, post, it, q = row
            n = (last - 1) // 2
            if offset < 0:
                its, qs, total = [it] * n, [q] * n, q * n
            else:
                its = it_flat[offset:offset + n].tolist()
                qs = q_flat[offset:offset + n].tolist()
                total = 0.0
                for value in qs:  # in order (sum() compensates rounding on Python >= 3.12)
                    total += value
            yield Job(index, job_id, arrival, qubits, int(weights[level]), pre, post, its, qs,
                      total)
            index += 1


_COLUMN_TYPES = {"job_id": np.int64, "arrival_s": np.float64, "completion_s": np.float64,
                 "job_time_s": np.float64, "qubits": np.int64, "priority": np.int64,
                 "iterations": np.int64, "quantum_wait_s": np.float64, "status": str,
                 "index": np.int64}


def _table(rows: list[tuple]) -> dict[str, np.ndarray]:
    """Records as columns (``JOB_FIELDS`` plus the arrival ``index``), rows kept in order."""
    columns = list(zip(*rows)) if rows else [()] * len(_COLUMN_TYPES)
    return {name: np.array(col, dtype=kind)
            for (name, kind), col in zip(_COLUMN_TYPES.items(), columns)}


def _summary(config: SimulationConfig, model: Model, jobs: Mapping[str, np.ndarray],
             end: float) -> dict[str, float]:
    """MODEL.md "Metrics" over the window ``[warmup, end)`` (names: ``config.SUMMARY_FIELDS``)."""
    arrived, dropped = model.arrived, model.dropped
    if config.drop_window == "run":  # every arrival from time 0
        arrived, dropped = model.arrivals, model.dropped_all
    times = jobs["job_time_s"][jobs["status"] == "completed"]  # arrival order
    window = end - config.warmup_s
    areas = (model.area_classical, model.area_in_service, model.area_pending)
    averages = [area / window if window > 0 else math.nan for area in areas]
    quantiles = (np.quantile(times, [0.25, 0.5, 0.75, 0.95, 0.99]) if times.size
                 else [math.nan] * 5)
    return {
        "arrived": float(arrived),
        "accepted": float(arrived - dropped),
        "dropped": float(dropped),
        "drop_probability": dropped / arrived if arrived else math.nan,
        "completed": float(times.size),
        "censored": float(len(model.active)),
        "job_time_mean_s": float(times.mean()) if times.size else math.nan,
        **{f"job_time_p{p}_s": float(v) for p, v in zip((25, 50, 75, 95, 99), quantiles)},
        "avg_classical_active": averages[0],
        "avg_quantum_in_service": averages[1],
        "avg_quantum_pending": averages[2],
        "qc_utilization": averages[1] / config.platform.quantum_computers,
        "events": float(model.events),
        "sim_end_s": float(end),
        **_feature_summary(config, model, window),
    }


def _feature_summary(config: SimulationConfig, model: Model, window: float) -> dict[str, float]:
    """The metrics of docs/platform-features.md, each only when its feature is on."""
    def per_window(area: float, servers: float = 1.0) -> float:
        return area / (servers * window) if window > 0 and servers > 0 else math.nan

    out: dict[str, float] = {}
    if model.instances is not None:
        out["cold_starts"] = float(model.instances.cold_starts)
        out["instance_wait_s"] = model.instances.wait_s
        out["warm_instance_s"] = model.instances.area
        out["avg_instances"] = per_window(model.instances.area)
    for g, group in enumerate(config.platform.qc_groups):
        out[f"qc_utilization_{group.name}"] = per_window(model.area_group_busy[g], group.count)
    if config.sessions is not None:
        out["sessions"] = float(model.sessions_opened)
        out["session_idle_qc_s"] = model.area_reserved_idle
        out["avg_quantum_reserved"] = per_window(model.area_reserved)
    return out


def resolve_routing(name: str) -> Any:
    """A built-in routing's name as is (its key is ``ROUTINGS``'s, the contract's order),
    else the user ``Routing`` registered under ``name`` (``online/policies.py``)."""
    if name in ROUTINGS:
        return name
    return policies.resolve_routing(name)


def _estimates(config: SimulationConfig) -> dict[tuple[int, str], float] | None:
    """IBM's per-backend estimates, only if a QC group names a backend."""
    if all(group.backend is None for group in config.platform.qc_groups):
        return None
    from .engine import cached_traces
    return cached_traces(config.traces_dir).ibm_estimate_s

