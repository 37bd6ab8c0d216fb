"""The event loop over flat arrays, compiled by numba (the simulator's only implementation).

``run_events(params, state, rng)`` is the whole discrete-event simulation of
one replication; ``online/engine.py`` feeds it arrivals and turns its output
into metrics. It is written in the subset of Python that numba compiles, and
it runs unchanged as plain Python with ``NUMBA_DISABLE_JIT=1`` (for debugging
and coverage; about 50x slower). The model it implements is documented in
``online/engine.py``; the quantum policies are in ``online/policies.py``: an
array policy's push/pop pair is compiled into the loop, a key policy's key is
a C callback passed in as ``key`` (one compiled loop serves every key policy,
and a policy's code is never cached inside the loop).

Its data are named, in three structures that numba accepts as arguments:

- ``Params``: what a run fixes (platform, admission limits, window, policy),
  a named tuple of scalars passed by value;
- ``State``: every array of the run, a named tuple (the policy's ``Pending``
  set nested in it), allocated by Python in ``State.allocate`` so that
  ``tracemalloc`` sees it (the loop allocates nothing). Rows have named
  fields: ``JOB``, ``SLOT``, ``HEAP``, ``QUEUE``, ``RECORD``, ``LOG``;
- ``SCALARS``: counters, clocks and time integrals, one record
  (``state.scalars[0]``) read and written in place by field name.

A heterogeneous QC fleet and runtime sessions (docs/platform-features.md
sections 1-2) live in ``State.fleet`` (a ``Fleet``), slot fields
``qcol`` / ``session_*`` / ``release_seq`` and a few scalars; their steps are
the closures after ``pick_keyed``, compiled only when ``run_events`` gets a
non-None ``ext`` (see its docstring: the paper's loop is compiled without them).

Adding a state array is one field of ``State`` with its line in
``State.allocate`` (plus a rule in ``Kernel.grow`` if it is indexed by slot,
and its local name in ``run_events`` if the loop reads it); adding a scalar
is one field of ``SCALARS``. Nothing else lists them.

Memory is bounded by the *active* jobs, not by the run length:

- **Slots.** An admitted job's state (chain data, current task, server,
  waiting time) lives in one row of ``slots``, taken from a free list at
  admission and returned when its ``post`` task ends. The processor-sharing
  heap, the dedicated FIFO ring and the policy's pending set hold slot
  numbers and are sized by the slot capacity; so are the function instances
  of a lifecycle (idle pool ring, cold starts on the server heap), which never
  outnumber the active jobs. When an admission finds no free
  slot the loop returns ``GROW``; ``Kernel.grow`` doubles every slot-indexed
  array (linearising the rings) and the loop resumes.
- **Arrivals in chunks.** ``jobs`` is one chunk of arrivals (arrival order).
  When it is used up and more may follow, the loop returns ``NEED_ARRIVALS``
  *before* choosing the next event, so it always sees the next arrival time
  and events run in exactly the order of one long array. Per-iteration chain
  values (``offset >= 0``) index ``it_flat`` / ``q_flat``, which hold only
  the current chunk's and the live jobs' values (``Kernel.add_chunk``
  compacts them).
- **Records streamed.** A job that completes, or is dropped, in the window
  writes one row to ``records``; when it (or the schedule ``log``) is full
  the loop returns ``FLUSH`` and the caller drains it. Jobs still active at
  the end are read from the live slots (``Kernel.live_slots``).

Event keys are ``(time, seq)``: ``seq`` counts scheduled events, so ties at
one instant run in the order they were scheduled. Arrivals are not in a heap:
jobs come sorted by arrival, and an arrival runs after every completion at
the same instant.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, NamedTuple, get_type_hints

import numpy as np
from numba import literal_unroll, njit

from hqsched.compiled import key_caches_on_sources

from .policies import (
    FIFO,
    KEYED,
    LIFO,
    QC_VIEW,
    RANDOM,
    ROUTINGS,
    SCANNED,
    TASK,
    WEIGHTED,
    compiled_route,
    grow_items,
    policy_pop,
    policy_push,
)

# Task kinds in the schedule log; the low two bits of a server event's payload (``val = 4 *
# slot + kind``) are one of these or an event of docs/platform-features.md: a runtime
# session's release (SESSION_END) or a cold-started function instance ready (COLD_READY).
CLASSICAL, QUANTUM, SESSION_END, COLD_READY = 0, 1, 2, 3
#: Bits of a server event's payload that hold its kind.
KIND_BITS, KIND_MASK = 2, 3
# Slot and record status codes.
FREE, ACTIVE, COMPLETED, DROPPED = 0, 1, 2, 3
# Why run_events returned; RUNNING (never returned): no reason to stop yet. OVERFLOW: the
# next event's time is NaN, or infinite while tasks are in service, because float64
# overflowed (e.g. the virtual clock ``rate * dt`` at a capacity near 1e308). BAD_KEY: a key
# policy's key was NaN (the loop stops: no order is defined).
DONE, NEED_ARRIVALS, GROW, FLUSH, OVERFLOW, BAD_KEY, RUNNING = 0, 1, 2, 3, 4, 5, -1
# Where the next event comes from.
ARRIVAL, SHARED, SERVER = 0, 1, 2

I8, F8 = np.int64, np.float64
#: One arriving job (input chunk). Work in operations, times in seconds;
#: ``level`` indexes the priority in ``level_weight``; ``last = 2n + 1`` is
#: the index of ``post``; ``offset`` locates per-iteration values in
#: ``it_flat`` / ``q_flat`` (-1: every iteration repeats ``it`` and ``q``).
JOB = np.dtype([("job_id", I8), ("qubits", I8), ("level", I8), ("last", I8), ("offset", I8),
                ("arrival", F8), ("pre", F8), ("post", F8), ("it", F8), ("q", F8)])
JOB_FIELDS: tuple[str, ...] = tuple(JOB.names or ())  # copied field by field at admission
#: One admitted job: its ``JOB`` fields plus the state the loop keeps
#: (arrival ``index``, current task ``k``, ``server``, quantum ``wait`` so far,
#: when it joined the pending queue (with function instances, also when its classical
#: task became ready) and when its current task started, the quantum service it has
#: received, and its total quantum work if the policy is clairvoyant; s).
SLOT = np.dtype(JOB.descr + [("status", I8), ("index", I8), ("k", I8), ("server", I8),
                             ("wait", F8), ("queued_at", F8), ("task_start", F8),
                             ("attained", F8), ("quantum_total", F8),
                             # Fleet: the column of its qubit count in the time-factor table.
                             # Sessions: the QC its session holds (-1: none), when the session
                             # opened (s), the seq of its live release event (-1: none).
                             ("qcol", I8), ("session_qc", I8), ("session_open", F8),
                             ("release_seq", I8)])
#: One finished job (completed or dropped in the window); ``index`` = arrival order.
RECORD = np.dtype([("index", I8), ("job_id", I8), ("qubits", I8), ("priority", I8),
                   ("iterations", I8), ("status", I8), ("arrival", F8), ("completion", F8),
                   ("wait", F8)])
#: One executed task of the schedule log (``record=True``).
LOG = np.dtype([("job_id", I8), ("task", I8), ("kind", I8), ("server", I8),
                ("start", F8), ("end", F8)])
#: One entry of a binary min-heap on ``(key, seq)``: ``key`` an end time (s) or a
#: processor-sharing tag (ops on the virtual clock), ``seq`` when it was scheduled
#: (ties), ``val`` the payload.
HEAP = np.dtype([("key", F8), ("seq", I8), ("val", I8)])
#: One classical task waiting for a dedicated worker: its job's slot and its work (ops).
QUEUE = np.dtype([("slot", I8), ("ops", F8)])
#: The loop's scalars, carried between calls in ``state.scalars[0]``.
SCALARS = np.dtype([
    # Arrivals: next job of the chunk, arrivals so far, and in the window; drops in the
    # window, and over the whole run (warm-up included: the reference simulator's count).
    ("next_job", I8), ("arrivals", I8), ("arrived", I8), ("dropped", I8), ("dropped_all", I8),
    # Events processed; events scheduled (tie-breaking seq); heap sizes.
    ("events", I8), ("seq", I8), ("n_ends", I8), ("n_shared", I8),
    # Classical side: idle workers, the dedicated FIFO ring, active classical tasks.
    ("n_free_workers", I8), ("queue_head", I8), ("queue_len", I8), ("n_classical", I8),
    # Quantum side: idle QCs, tasks in service, tasks pending with the policy, tasks ever
    # made pending (a key policy's tie-break: first pending first).
    ("n_free_qcs", I8), ("n_service", I8), ("n_pending", I8), ("pushes", I8),
    # Slots: free ones and the peak in use; rows filled in the output buffers.
    ("n_free", I8), ("peak_active", I8), ("n_records", I8), ("n_logged", I8),
    # Processor sharing: virtual clock V (ops) at real time t_v (s), per-task rate (ops/s).
    ("V", F8), ("t_v", F8), ("rate", F8),
    # Time integrals of the counts (task-seconds) up to last_t; end of the measured window.
    ("last_t", F8), ("area_c", F8), ("area_qs", F8), ("area_qp", F8), ("end", F8),
    # Function instances (lifecycle): cold starts under way, idle warm instances in the pool
    # ring (oldest release at pool_head), cold starts and instance wait (s) of tasks ready in
    # the window, live instances integrated (instance-seconds) up to inst_t.
    ("n_starting", I8), ("n_idle", I8), ("pool_head", I8), ("cold_starts", I8),
    ("instance_wait", F8), ("area_inst", F8), ("inst_t", F8),
    # Fleet and sessions (docs/platform-features.md): sessions open, of them those with no
    # task running, sessions opened in the window, their integrals (QC-seconds); a routing
    # key was NaN (the loop stops with BAD_KEY).
    ("n_reserved", I8), ("n_session_idle", I8), ("sessions", I8), ("area_reserved", F8),
    ("area_session_idle", F8), ("bad_route", np.bool_),
    # Whether arrival chunks may follow the current one.
    ("more", np.bool_)])

#: Rows of the record buffer and of the schedule log buffer between drains.
RECORD_BUFFER = 1024
LOG_BUFFER = 16384
#: Free entries the server heap keeps before each event when sessions are on (else GROW):
#: one event pushes at most a freed QC's next task, a session release, the job's next task
#: and a cold start while popping one. Stale releases (docs/platform-features.md section 2)
#: stay in the heap until their time, so with sessions the heap grows on demand.
EVENT_ROOM = 4


class Params(NamedTuple):
    """What a run fixes: scalars only (passed by value, free to hand to any compiled
    function). Work in operations, times in seconds."""

    workers: int  # classical workers C
    capacity: float  # ops/s of one worker, S
    qcs: int  # quantum computers Q
    max_classical: float  # admission limits C_max, Q_max (inf: none)
    max_quantum: float
    dedicated: bool  # classical mode: dedicated servers, else processor sharing
    warmup: float  # the measured window is [warmup, end)
    end: float  # inf: run until every admitted job completes
    record: bool  # log every executed task
    policy_id: int  # the quantum policy (online/policies.py)
    randomized: bool  # whether it draws one uniform per pick
    clairvoyant: bool  # whether a key policy may see remaining work
    # A heterogeneous QC fleet (docs/platform-features.md section 1; off: identical QCs, the
    # paper's code path) and runtime sessions (section 2): jobs of priority >= session_min_priority
    # hold their QC between iterations, up to session_max_length (s) or session_idle_timeout (s)
    # after a quantum task ended with no next one ready.
    fleet: bool
    sessions: bool
    session_min_priority: int
    session_max_length: float
    session_idle_timeout: float
    # Serverless function instances (docs/platform-features.md section 3; off: the paper's
    # always-warm capacity and code path): at most max_instances, cold-start latency (s) and
    # extra work (ops), keep-alive of an idle instance (s).
    lifecycle: bool
    max_instances: int
    cold_start: float
    cold_start_ops: float
    keep_alive: float

    @classmethod
    def of(cls, **fields: object) -> Params:
        """``Params`` with each field converted to its annotated type: the loop is compiled
        for these types (an int where a float belongs would compile a second version)."""
        hints = get_type_hints(cls)
        return cls(**{name: hints[name](value) for name, value in fields.items()})


class Pending(NamedTuple):
    """The quantum tasks waiting for a QC, held by the policy (layout: online/policies.py).

    An array policy uses ``items``, ``counts`` and ``meta``; a KEYED policy the
    ``heap`` (``counts[0]`` entries), a SCANNED one row 0 of ``items`` in push order.
    ``view`` is the one ``TASK`` record a key is computed on."""

    items: np.ndarray  # i8 (levels, slots): slot numbers
    counts: np.ndarray  # i8 (levels,)
    meta: np.ndarray  # i8 (2,): the policy's own state
    heap: np.ndarray  # HEAP (slots,): key, push number, slot
    view: np.ndarray  # TASK (1,)


class Fleet(NamedTuple):
    """A heterogeneous QC fleet (docs/platform-features.md section 1), as the loop reads it.
    With identical QCs (``Params.fleet`` False) the arrays are empty and never read."""

    qc_group: np.ndarray  # i8 per QC: its group (QCs are numbered group by group)
    group_qubits: np.ndarray  # i8 per group: largest task it runs (policies.NO_QUBIT_LIMIT)
    qubit_counts: np.ndarray  # i8, ascending: the workload's distinct qubit counts
    factors: np.ndarray  # f8 (groups, counts): duration on the group / reference duration
    busy: np.ndarray  # i8 per group: QCs running a task
    area: np.ndarray  # f8 per group: busy QC-seconds in the window so far
    view: np.ndarray  # QC_VIEW (1,): the one record a routing key is computed on

    @classmethod
    def of(cls, qc_group: np.ndarray, group_qubits: np.ndarray, qubit_counts: np.ndarray,
           factors: np.ndarray) -> Fleet:
        """The fleet's arrays, typed as the loop is compiled for; nothing busy yet."""
        groups = len(group_qubits)
        return cls(np.asarray(qc_group, dtype=I8), np.asarray(group_qubits, dtype=I8),
                   np.asarray(qubit_counts, dtype=I8),
                   np.ascontiguousarray(factors, dtype=F8),
                   np.zeros(groups, I8), np.zeros(groups), np.zeros(1, QC_VIEW))

    @classmethod
    def identical(cls) -> Fleet:
        """No fleet: identical QCs (empty arrays of the same types)."""
        return cls.of(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros((0, 0)))


class State(NamedTuple):
    """Every array of the run: what the loop carries between calls, and the priority table."""

    scalars: np.ndarray  # one SCALARS record
    level_weight: np.ndarray  # i8: the priority of each level, ascending (fixed)
    jobs: np.ndarray  # the current arrival chunk (JOB)
    it_flat: np.ndarray  # f8: per-iteration classical work (ops) of the chunk's and live jobs
    q_flat: np.ndarray  # f8: per-iteration quantum durations (s)
    slots: np.ndarray  # SLOT: one row per admitted job
    free: np.ndarray  # i8: stack of free slot numbers
    ends: np.ndarray  # HEAP: task ends on a server (key: time), val = 4 * slot + kind
    shared: np.ndarray  # HEAP: processor sharing, key = tag V0 + work on the clock V, val = slot
    worker_free: np.ndarray  # bool per worker
    queue: np.ndarray  # QUEUE: FIFO ring of tasks waiting for a dedicated worker or, with a
    #                    lifecycle, for a function instance (head, length: scalars)
    qc_free: np.ndarray  # bool per QC
    pending: Pending
    fleet: Fleet  # the QC fleet (empty with identical QCs)
    records: np.ndarray  # RECORD output buffer
    log: np.ndarray  # LOG output buffer (empty unless params.record)
    pool: np.ndarray  # f8 ring: release times of idle warm instances (lifecycle; else empty)

    @classmethod
    def allocate(cls, params: Params, level_weight: np.ndarray, slots: int,
                 fleet: Fleet | None = None) -> State:
        """An empty system with ``slots`` slots: every server idle, no arrival yet."""
        scalars = np.zeros(1, SCALARS)
        s = scalars[0]
        s["n_free_workers"], s["n_free_qcs"], s["n_free"] = params.workers, params.qcs, slots
        s["rate"] = params.capacity
        s["last_t"] = params.warmup  # the time averages integrate from here
        s["inst_t"] = params.warmup
        s["more"] = True
        levels = len(level_weight)
        # Function instances never outnumber the active jobs (a new one starts only when every
        # other is busy or starting, for a job of its own), so the idle pool and the cold
        # starts on the server heap (one per starting instance) are sized by the slots.
        instances = slots if params.lifecycle else 0
        return cls(
            scalars=scalars, level_weight=np.ascontiguousarray(level_weight, dtype=I8),
            jobs=np.zeros(0, JOB), it_flat=np.zeros(0), q_flat=np.zeros(0),
            slots=np.zeros(slots, SLOT),
            free=np.arange(slots - 1, -1, -1, dtype=I8),  # a stack: slot 0 is taken first
            ends=np.zeros(params.workers + params.qcs + 1 + instances, HEAP),
            shared=np.zeros(slots, HEAP),
            worker_free=np.ones(params.workers, np.bool_), queue=np.zeros(slots, QUEUE),
            qc_free=np.ones(params.qcs, np.bool_),
            pending=Pending(np.zeros((levels, slots), I8), np.zeros(levels, I8), np.zeros(2, I8),
                            np.zeros(slots, HEAP), np.zeros(1, TASK)),
            fleet=Fleet.identical() if fleet is None else fleet,
            records=np.zeros(RECORD_BUFFER, RECORD),
            log=np.zeros(LOG_BUFFER if params.record else 0, LOG), pool=np.zeros(instances))


# ---------------------------------------------------------------------------
# Compiled code.
#
# Why the steps of the loop are closures inside ``run_events``: numba counts
# references to every array a compiled function receives, or reads from a
# tuple, with an atomic increment and decrement that LLVM does not always
# remove. Measured on the small scenario (benchmarks/bench_online.py, fifo):
# steps as module-level functions taking the ``State`` ran in 2.0 s instead
# of 0.13 s; as closures calling closures, 0.47 s; with the policy called
# inside a closure, 0.24 s. A closure that calls no other closure is inlined
# by numba and uses ``run_events``'s local arrays directly, at no cost, and
# the policy's (not inlined) functions are called from the loop itself.
# Module-level helpers take records and scalars (not counted), or a few
# arrays and call nothing: LLVM inlines them whole.


@njit(cache=True)
def heap_push(h, n, key, seq, val):
    """Insert (key, seq) -> val into heap ``h`` (HEAP) of size ``n``; returns ``n + 1``."""
    i = n
    while i > 0:
        parent = (i - 1) >> 1
        up = h[parent]
        if up["key"] < key or (up["key"] == key and up["seq"] < seq):
            break
        h[i]["key"], h[i]["seq"], h[i]["val"] = up["key"], up["seq"], up["val"]
        i = parent
    h[i]["key"], h[i]["seq"], h[i]["val"] = key, seq, val
    return n + 1


@njit(cache=True)
def heap_pop(h, n):
    """Remove the minimum of heap ``h`` (HEAP) of size ``n`` (read it at index 0 first);
    returns ``n - 1``."""
    n -= 1
    key, seq, val = h[n]["key"], h[n]["seq"], h[n]["val"]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        right = child + 1
        if right < n and (h[right]["key"] < h[child]["key"]
                          or (h[right]["key"] == h[child]["key"]
                              and h[right]["seq"] < h[child]["seq"])):
            child = right
        down = h[child]
        if key < down["key"] or (key == down["key"] and seq < down["seq"]):
            break
        h[i]["key"], h[i]["seq"], h[i]["val"] = down["key"], down["seq"], down["val"]
        i = child
    h[i]["key"], h[i]["seq"], h[i]["val"] = key, seq, val
    return n


@njit(cache=True)
def lowest_free(free):
    """Index of the lowest-numbered free server (the caller knows one is free)."""
    for i in range(free.shape[0]):
        if free[i]:
            return i
    return -1


@njit(cache=True)
def classical_ops(slot, k, it_flat):
    """Work (operations) of classical task ``k`` of the job in ``slot``."""
    if k == 0:
        return slot["pre"]
    if k == slot["last"]:
        return slot["post"]
    if slot["offset"] < 0:
        return slot["it"]
    return it_flat[slot["offset"] + ((k - 1) >> 1)]


@njit(cache=True)
def quantum_s(slot, k, q_flat):
    """Duration (seconds) of quantum task ``k`` of the job in ``slot``."""
    if slot["offset"] < 0:
        return slot["q"]
    return q_flat[slot["offset"] + ((k - 2) >> 1)]


@njit(cache=True)
def total_quantum_s(slot, q_flat):
    """Sum of the quantum durations (s) of every iteration of the job in ``slot``."""
    n = (slot["last"] - 1) >> 1
    if slot["offset"] < 0:
        return slot["q"] * n
    total = 0.0
    for i in range(n):
        total += q_flat[slot["offset"] + i]
    return total


@njit(cache=True)
def describe_task(v, slot, priority, q_flat, clairvoyant):
    """Fill ``v`` (a ``TASK`` record, what a key policy sees) with the pending quantum task of
    the job in ``slot``; the remaining work only for a clairvoyant policy."""
    k = slot["k"]
    done = (k - 2) >> 1  # quantum task k >= 2 belongs to iteration (k - 2) / 2
    v["arrival"] = slot["arrival"]
    v["priority"] = priority
    v["qubits"] = slot["qubits"]
    v["queued_at"] = slot["queued_at"]
    v["quantum_s"] = quantum_s(slot, k, q_flat)
    v["iterations_done"] = done
    v["attained_s"] = slot["attained"]
    if clairvoyant:
        v["remaining_iterations"] = ((slot["last"] - 1) >> 1) - done
        v["remaining_quantum_s"] = slot["quantum_total"] - slot["attained"]
    else:
        v["remaining_iterations"] = -1
        v["remaining_quantum_s"] = math.nan


@njit(cache=True)
def put_record(r, index, job_id, qubits, priority, last, status, times):
    """Fill row ``r`` of the output buffer; ``times`` = (arrival, completion, quantum wait), s."""
    r["index"] = index
    r["job_id"] = job_id
    r["qubits"] = qubits
    r["priority"] = priority
    r["iterations"] = (last - 1) >> 1
    r["status"] = status
    r["arrival"], r["completion"], r["wait"] = times


@njit(cache=True)
def admit_into(slot, job, index):
    """Fill ``slot`` with arriving ``job`` (arrival ``index``), before its first task (``k = -1``)."""
    for name in literal_unroll(JOB_FIELDS):
        slot[name] = job[name]
    slot["status"] = ACTIVE
    slot["index"] = index
    slot["k"] = -1
    slot["server"] = -1
    slot["wait"] = 0.0
    slot["attained"] = 0.0
    slot["quantum_total"] = math.nan
    slot["session_qc"] = -1  # a reused slot's old release events are stale (seq differs)
    slot["release_seq"] = -1


@njit(cache=True)
def occupy(slot, server, t, duration):
    """``slot``'s current task starts on ``server`` at ``t``; returns when it ends (s)."""
    slot["task_start"] = t
    slot["server"] = server
    return t + duration


@njit(cache=True)
def log_task(e, slot, kind, server, t):
    """Fill row ``e`` of the schedule log: ``slot``'s current task ended at ``t``."""
    e["job_id"] = slot["job_id"]
    e["task"] = slot["k"]
    e["kind"] = kind
    e["server"] = server
    e["start"] = slot["task_start"]
    e["end"] = t


@njit(cache=True)
def next_seq(s):
    """The tie-breaking number of the event being scheduled."""
    s["seq"] += 1
    return s["seq"]


@njit(cache=True)
def shared_rate(p, n_classical):
    """Per-task rate (ops/s) of processor sharing: ``S * min(1, C / A)``."""
    if n_classical <= p.workers:
        return p.capacity
    return p.capacity * p.workers / n_classical


@njit(cache=True)
def next_event(s, t_end, tag, t_arr):
    """(time, source) of the next event, from the earliest server end ``t_end``, the
    smallest processor-sharing ``tag`` and the next arrival ``t_arr``. At equal times the
    processor-sharing completion runs first, then the other completions, then the arrival."""
    t_ps = math.inf
    if s["n_shared"] > 0:
        t_ps = s["t_v"] + (tag - s["V"]) / s["rate"]
        if t_ps < s["t_v"]:  # rounding: never step back in time
            t_ps = s["t_v"]
    t = min(t_ps, t_end, t_arr)
    if t_arr < t_ps and t_arr < t_end:
        return t, ARRIVAL
    if t_ps <= t_end:
        return t, SHARED
    return t, SERVER


@njit(cache=True)
def overflowed(p, s, t):
    """Whether the next event's time ``t`` (s) is no time at all: NaN (``inf - inf`` in the
    virtual clock), or infinite while a task is in service in a run without an end.

    Why the loop must stop there: with a NaN time every comparison in ``next_event`` is
    false, so it would pick a server completion from an empty heap, free a slot twice and
    write past the free stack. Checked before any event is applied."""
    if math.isnan(t):
        return True
    return math.isinf(t) and math.isinf(p.end) and (s["n_ends"] > 0 or s["n_shared"] > 0)


@njit(cache=True)
def integrate_counts(s, t):
    """Extend the time integrals of the counts (task-seconds) to time ``t``."""
    if t > s["last_t"]:
        dt = t - s["last_t"]
        s["area_c"] += s["n_classical"] * dt
        s["area_qs"] += s["n_service"] * dt
        s["area_qp"] += s["n_pending"] * dt
        s["last_t"] = t


@njit(cache=True)
def close_window(p, s):
    """The run is over: close the integrals at the end of the window, or (an instance run
    to completion) end the window at the last event."""
    if math.isinf(p.end):
        s["end"] = s["last_t"]
    else:
        integrate_counts(s, p.end)
        s["end"] = p.end


@njit(cache=True)
def integrate_quantum_features(s, t, busy, area):
    """Extend the fleet's and sessions' integrals to ``t``: busy QC-seconds per group, QCs
    held by a session, and of them those running no task (QC-seconds). Called before
    ``integrate_counts``, which moves ``last_t``."""
    if t > s["last_t"]:
        dt = t - s["last_t"]
        s["area_reserved"] += s["n_reserved"] * dt
        s["area_session_idle"] += s["n_session_idle"] * dt
        for g in range(busy.shape[0]):
            area[g] += busy[g] * dt


@njit(cache=True)
def stale_release(ends, slots):
    """Whether the earliest server event is a session release made stale: its job's next
    quantum task started on the session in time, the session ended otherwise, or the
    slot was freed (and reused). A live release's ``seq`` is kept in its job's slot."""
    val = ends[0]["val"]
    if val & KIND_MASK != SESSION_END:
        return False
    return slots[val >> KIND_BITS]["release_seq"] != ends[0]["seq"]


@njit(cache=True)
def close_session(s, slot):
    """``slot``'s session ends (its QC is freed by the caller)."""
    s["n_reserved"] -= 1
    slot["session_qc"] = -1
    slot["release_seq"] = -1


@njit(cache=True)
def join_shared(p, s, shared, slot, j, t, ops):
    """Job ``j``'s classical task (in ``slot``) starts at ``t`` with ``ops`` of work: it joins
    processor sharing, the virtual clock brought to ``t`` at the old rate first."""
    slot["task_start"] = t
    slot["server"] = -1
    s["n_classical"] += 1
    s["V"] += s["rate"] * (t - s["t_v"])
    s["t_v"] = t
    s["rate"] = shared_rate(p, s["n_classical"])
    s["n_shared"] = heap_push(shared, s["n_shared"], s["V"] + ops, next_seq(s), j)


@njit(cache=True)
def queue_put(queue, s, j, ops):
    """Job ``j``'s classical task (``ops`` of work) waits at the tail of the FIFO ring."""
    pos = (s["queue_head"] + s["queue_len"]) % queue.shape[0]
    queue[pos]["slot"] = j
    queue[pos]["ops"] = ops
    s["queue_len"] += 1


@njit(cache=True)
def queue_take(queue, s):
    """Take the head off the FIFO ring; returns its index (its row stays readable until the
    next ``queue_put``)."""
    head = s["queue_head"]
    s["queue_head"] = (head + 1) % queue.shape[0]
    s["queue_len"] -= 1
    return head


# How a ready classical task gets a function instance (lifecycle): an idle warm one, a new
# cold-started one, or none yet (it waits in the FIFO ring).
WARM, COLD, WAIT = 0, 1, 2


@njit(cache=True)
def new_instance(p, s, t):
    """A classical task ready at ``t`` finds no idle warm instance: a new one starts while
    fewer than ``max_instances`` live (COLD, counted if ``t`` is in the window), else the task
    waits (WAIT). Live = running + starting (no idle one is left)."""
    if s["n_classical"] + s["n_starting"] < p.max_instances:
        if t >= p.warmup:
            s["cold_starts"] += 1
        return COLD
    return WAIT


@njit(cache=True)
def count_wait(p, s, slot, t):
    """``slot``'s classical task gets its instance at ``t``: the delay since it became ready
    counts in ``instance_wait`` if it became ready in the window."""
    if slot["queued_at"] >= p.warmup:
        s["instance_wait"] += t - slot["queued_at"]


@njit(cache=True)
def count_instances(s, t):
    """Extend the live instances' integral (instance-seconds) to ``t``; from the warm-up on."""
    if t > s["inst_t"]:
        s["area_inst"] += (s["n_classical"] + s["n_starting"] + s["n_idle"]) * (t - s["inst_t"])
        s["inst_t"] = t


@njit(cache=True)
def integrate_instances(p, s, pool, t):
    """Bring the pool and the live instances' integral to ``t``: idle instances whose keep-alive
    ended before ``t`` (release + keep_alive < t: one ready at that very instant still finds
    its instance) leave from the bottom of the ring, each at its expiry time, oldest first.
    Expiry changes no task's timing, so it needs no event: it is found at the next one."""
    while s["n_idle"] > 0 and pool[s["pool_head"]] + p.keep_alive < t:
        count_instances(s, pool[s["pool_head"]] + p.keep_alive)
        s["pool_head"] = (s["pool_head"] + 1) % pool.shape[0]
        s["n_idle"] -= 1
    count_instances(s, t)


@njit(cache=True)
def run_events(p, a, rng, key, route, ext):
    """Advance the simulation until it ends or needs the caller; returns why.

    ``p``: Params, ``a``: State, ``rng``: the run's policy stream, ``key``: a key
    policy's compiled key (``online/policies.py``; not called for array policies). ``jobs``
    is the current chunk of arrivals, scalar ``next_job`` the first not yet
    arrived, ``more`` whether chunks may follow. Returns ``DONE`` (the window
    ``[0, end)`` is over, or no event is left; scalar ``end`` is then the end
    of the measured window), ``NEED_ARRIVALS`` (give the next chunk, or an
    empty one with ``more`` False), ``GROW`` (an admission needs a free slot),
    ``FLUSH`` (drain ``records`` / ``log``), ``OVERFLOW`` (time left float64's
    range; the run cannot go on, see ``overflowed``) or ``BAD_KEY`` (a key policy's
    key, or the routing's, was NaN; the run cannot go on). ``route``: the fleet's routing
    key (``policies.compiled_route``; called only with ``p.fleet``). ``ext``: None with
    identical QCs and no sessions, else ``a.fleet`` (any value): every fleet/session step
    sits under ``if ext is not None``, a test numba decides when it compiles (dead-branch
    pruning on an argument typed None), so the paper's loop is compiled without that code.
    Measured why: with the code present but skipped by a runtime flag, key policies ran 25%
    slower (LLVM optimises the larger loop worse). A run with a fleet or sessions uses a
    second compiled version of this function. ``GROW`` also asks for a
    larger server heap when sessions may leave stale release events in it (``EVENT_ROOM``).
    Every return except the last two is between
    events, with all state saved, so the next call continues the same run.
    """
    # The state under local names, read once per call (see "Compiled code" above).
    s = a.scalars[0]
    jobs, slots, free, records, log = a.jobs, a.slots, a.free, a.records, a.log
    ends, shared, queue, worker_free, qc_free = a.ends, a.shared, a.queue, a.worker_free, a.qc_free
    items, counts, meta, pheap, view = a.pending
    qc_group, group_qubits, qubit_counts, factors, group_busy, group_area, qc_view = a.fleet
    weights, it_flat, q_flat = a.level_weight, a.it_flat, a.q_flat
    pool = a.pool

    def pause_reason():
        """Why to hand back to the caller before the next event, or RUNNING. Checked
        between events, never inside one (each writes at most one record and one log row)."""
        if s["n_records"] == records.shape[0] or (p.record and s["n_logged"] == log.shape[0]):
            return FLUSH
        if s["next_job"] == jobs.shape[0] and s["more"]:
            return NEED_ARRIVALS
        if ext is not None and p.sessions and s["n_ends"] + EVENT_ROOM > ends.shape[0]:
            return GROW  # stale session releases fill the server heap: Kernel.grow widens it
        return RUNNING

    def arrive(t, admit):
        """The chunk's next job arrives at ``t``: returns its new slot, or -1 if dropped."""
        job = jobs[s["next_job"]]
        s["next_job"] += 1
        s["arrivals"] += 1
        in_window = t >= p.warmup
        if in_window:
            s["arrived"] += 1
        if not admit:
            s["dropped_all"] += 1
            if in_window:
                s["dropped"] += 1
                put_record(records[s["n_records"]], s["arrivals"] - 1, job["job_id"],
                           job["qubits"], weights[job["level"]], job["last"], DROPPED,
                           (job["arrival"], math.nan, 0.0))
                s["n_records"] += 1
            return -1
        s["n_free"] -= 1
        j = free[s["n_free"]]
        s["peak_active"] = max(s["peak_active"], slots.shape[0] - s["n_free"])
        admit_into(slots[j], job, s["arrivals"] - 1)
        if p.clairvoyant:
            slots[j]["quantum_total"] = total_quantum_s(slots[j], q_flat)
        if ext is not None and p.fleet:
            slots[j]["qcol"] = np.searchsorted(qubit_counts, job["qubits"])
        return j

    def finish_shared(t):
        """The processor-sharing task with the smallest tag ends at ``t``: the virtual clock
        reaches its tag and the rate is recomputed. With function instances, its instance
        goes at once to the head of the FIFO ring (that task starts now, warm) or idles
        warm, before the ended task's job moves on. Returns its job's slot."""
        j = shared[0]["val"]
        s["V"] = shared[0]["key"]
        s["t_v"] = t
        s["n_shared"] = heap_pop(shared, s["n_shared"])
        s["n_classical"] -= 1
        s["rate"] = shared_rate(p, s["n_classical"])
        if p.lifecycle:
            if s["queue_len"] > 0:
                head = queue_take(queue, s)
                c = queue[head]["slot"]
                count_wait(p, s, slots[c], t)
                join_shared(p, s, shared, slots[c], c, t, queue[head]["ops"])
            else:  # it idles, warm, on top of the pool ring (releases ascend from the bottom)
                pool[(s["pool_head"] + s["n_idle"]) % pool.shape[0]] = t
                s["n_idle"] += 1
        return j

    def cold_ready(t):
        """A cold-started instance is ready at ``t`` (the server heap's top): its task starts,
        with the cold start's extra work. Returns its job's slot."""
        j = ends[0]["val"] >> KIND_BITS
        s["n_ends"] = heap_pop(ends, s["n_ends"])
        s["n_starting"] -= 1
        slot = slots[j]
        count_wait(p, s, slot, t)
        ops = classical_ops(slot, slot["k"], it_flat) + p.cold_start_ops
        join_shared(p, s, shared, slot, j, t, ops)
        return j

    def finish_on_server(t):
        """The earliest task on a server ends at ``t``; a freed dedicated worker takes the
        head of the FIFO ring, a freed QC idles if no task is pending (else the caller
        hands it the policy's pick). Returns (slot, task kind, server)."""
        j, kind = ends[0]["val"] >> KIND_BITS, ends[0]["val"] & KIND_MASK
        s["n_ends"] = heap_pop(ends, s["n_ends"])
        server = slots[j]["server"]
        if kind == QUANTUM:
            s["n_service"] -= 1
            if s["n_pending"] == 0:
                qc_free[server] = True
                s["n_free_qcs"] += 1
            return j, kind, server
        s["n_classical"] -= 1
        if s["queue_len"] == 0:
            worker_free[server] = True
            s["n_free_workers"] += 1
            return j, kind, server
        head = s["queue_head"]
        s["queue_head"] = (head + 1) % queue.shape[0]
        s["queue_len"] -= 1
        c = queue[head]["slot"]
        end = occupy(slots[c], server, t, queue[head]["ops"] / p.capacity)
        s["n_ends"] = heap_push(ends, s["n_ends"], end, next_seq(s), 4 * c + CLASSICAL)
        return j, kind, server

    def run_pending(j, qc, t):
        """The policy picked job ``j``'s pending quantum task: it starts on ``qc`` at ``t``."""
        s["n_pending"] -= 1
        slot = slots[j]
        slot["wait"] += t - slot["queued_at"]
        s["n_service"] += 1
        duration = quantum_s(slot, slot["k"], q_flat)
        slot["attained"] += duration  # the job's quantum service, counted from the start
        end = occupy(slot, qc, t, duration)
        s["n_ends"] = heap_push(ends, s["n_ends"], end, next_seq(s), 4 * j + QUANTUM)

    def task_done(j, kind, server, t):
        """Job ``j``'s current task (``kind``, on ``server``; -1: shared) ended at ``t``: log
        it; if it was the last, the job completes (its record, its slot freed). Returns
        whether the job has a next task."""
        slot = slots[j]
        if p.record:
            log_task(log[s["n_logged"]], slot, kind, server, t)
            s["n_logged"] += 1
        if slot["k"] != slot["last"]:
            return True
        if t >= p.warmup:
            put_record(records[s["n_records"]], slot["index"], slot["job_id"], slot["qubits"],
                       weights[slot["level"]], slot["last"], COMPLETED,
                       (slot["arrival"], t, slot["wait"]))
            s["n_records"] += 1
        slot["status"] = FREE
        free[s["n_free"]] = j
        s["n_free"] += 1
        return False

    def start_task(j, t):
        """Job ``j`` moves on to its next task at ``t``. Classical (``pre`` = 0, iterations
        odd, ``post`` = last): it joins processor sharing (with function instances: in a warm
        one now, in a cold-started one when it is ready, or it waits for one in the FIFO
        ring), or takes the lowest idle dedicated worker, or waits in the FIFO ring. Quantum
        (even): the lowest idle QC; returns False if every QC is busy (the caller gives the
        task to the policy)."""
        slot = slots[j]
        k = slot["k"] + 1
        slot["k"] = k
        if k & 1 or k == 0:
            ops = classical_ops(slot, k, it_flat)
            if p.lifecycle:
                slot["queued_at"] = t  # ready: its instance wait counts from here
                how = WARM
                if s["n_idle"] > 0:  # the most recently freed (LIFO reuse): the ring's top
                    s["n_idle"] -= 1
                else:
                    how = new_instance(p, s, t)
                if how == WAIT:
                    queue_put(queue, s, j, ops)
                elif how == COLD and p.cold_start > 0.0:
                    s["n_starting"] += 1
                    s["n_ends"] = heap_push(ends, s["n_ends"], t + p.cold_start, next_seq(s),
                                            4 * j + COLD_READY)
                else:  # warm, or a cold start without latency: it starts now
                    extra = p.cold_start_ops if how == COLD else 0.0
                    join_shared(p, s, shared, slot, j, t, ops + extra)
            elif not p.dedicated:  # join_shared written out: the call cost ~30% here (measured)
                slot["task_start"] = t
                s["n_classical"] += 1
                s["V"] += s["rate"] * (t - s["t_v"])  # the virtual clock so far, at the old rate
                s["t_v"] = t
                s["rate"] = shared_rate(p, s["n_classical"])
                slot["server"] = -1
                s["n_shared"] = heap_push(shared, s["n_shared"], s["V"] + ops, next_seq(s), j)
            else:
                slot["task_start"] = t
                s["n_classical"] += 1  # in service or queued (admission)
                if s["n_free_workers"] > 0:
                    w = lowest_free(worker_free)
                    worker_free[w] = False
                    s["n_free_workers"] -= 1
                    end = occupy(slot, w, t, ops / p.capacity)
                    s["n_ends"] = heap_push(ends, s["n_ends"], end, next_seq(s),
                                            4 * j + CLASSICAL)
                else:
                    queue_put(queue, s, j, ops)
        elif ext is not None:
            return False  # the loop places it (place_quantum: a closure, see "Compiled code")
        elif s["n_free_qcs"] > 0:
            qc = lowest_free(qc_free)
            qc_free[qc] = False
            s["n_free_qcs"] -= 1
            s["n_service"] += 1
            duration = quantum_s(slot, k, q_flat)
            slot["attained"] += duration
            end = occupy(slot, qc, t, duration)
            s["n_ends"] = heap_push(ends, s["n_ends"], end, next_seq(s), 4 * j + QUANTUM)
        else:
            slot["queued_at"] = t
            return False
        return True

    def task_key(j, t):
        """The key policy's key of job ``j``'s pending task at time ``t``."""
        describe_task(view[0], slots[j], weights[slots[j]["level"]], q_flat, p.clairvoyant)
        return key(view[0], t)

    def hold_keyed(j, t):
        """Job ``j``'s quantum task waits for a QC: the key policy holds it. False if its
        key is NaN (no order). (Array policies are called from the loop itself: called
        from a closure they cost twice the time, see "Compiled code" above.)"""
        s["pushes"] += 1
        if p.policy_id == SCANNED:  # row 0 in push order: the first minimum is the oldest
            items[0, counts[0]] = j
            counts[0] += 1
            return True
        k = task_key(j, t)
        counts[0] = heap_push(pheap, counts[0], k, s["pushes"], j)
        return not math.isnan(k)

    def pick_keyed(t):
        """The job whose pending task a freed QC runs at ``t``, taken out of the key
        policy's set; -1 if a key is NaN."""
        if p.policy_id == KEYED:
            j = pheap[0]["val"]
            counts[0] = heap_pop(pheap, counts[0])
            return j
        best, best_key = 0, math.inf
        for i in range(counts[0]):
            k = task_key(items[0, i], t)
            if math.isnan(k):
                return -1
            if k < best_key or i == 0:
                best, best_key = i, k
        j = items[0, best]
        counts[0] -= 1
        for i in range(best, counts[0]):  # keep push order
            items[0, i] = items[0, i + 1]
        return j

    # Fleet and sessions (docs/platform-features.md sections 1-2). Only these modes call
    # the closures below; the identical-QC path above never does.

    def start_on(j, qc, t):
        """Job ``j``'s current quantum task starts on ``qc`` at ``t``: its duration is the
        reference duration times the QC's factor; a session job holding no session opens
        one on ``qc``."""
        slot = slots[j]
        base = quantum_s(slot, slot["k"], q_flat)
        duration = base
        if p.fleet:
            g = qc_group[qc]
            duration = base * factors[g, slot["qcol"]]
            group_busy[g] += 1
        slot["attained"] += base  # quantum service in reference seconds (what keys see)
        s["n_service"] += 1
        if p.sessions and slot["session_qc"] < 0 \
                and weights[slot["level"]] >= p.session_min_priority:
            slot["session_qc"] = qc
            slot["session_open"] = t
            s["n_reserved"] += 1
            if t >= p.warmup:
                s["sessions"] += 1
        end = occupy(slot, qc, t, duration)
        s["n_ends"] = heap_push(ends, s["n_ends"], end, next_seq(s), 4 * j + QUANTUM)

    def route_free(j):
        """The free QC eligible for job ``j``'s ready task with the smallest routing key,
        ties to the lowest number (``view`` describes the task); -1: none; -2: a NaN key."""
        slot = slots[j]
        v = qc_view[0]
        best, best_key = -1, math.inf
        for qc in range(qc_free.shape[0]):
            g = qc_group[qc]
            if not qc_free[qc] or slot["qubits"] > group_qubits[g]:
                continue
            v["number"], v["group"], v["qubits"] = qc, g, group_qubits[g]
            v["factor"] = factors[g, slot["qcol"]]
            k = route(v, view[0])
            if math.isnan(k):
                return -2
            if best < 0 or k < best_key:
                best, best_key = qc, k
        return best

    def start_quantum(j, t):
        """Job ``j``'s quantum task is ready at ``t``: on its session's QC at once, else on
        a free eligible QC (routing; identical QCs: the lowest free). False: it waits."""
        slot = slots[j]
        slot["queued_at"] = t
        if p.sessions and slot["session_qc"] >= 0:  # the reserved QC: no queue, no policy
            slot["release_seq"] = -1  # its release event, if any, is stale from now on
            s["n_session_idle"] -= 1
            start_on(j, slot["session_qc"], t)
            return True
        if s["n_free_qcs"] == 0:
            return False
        if not p.fleet:
            qc = lowest_free(qc_free)
        else:
            describe_task(view[0], slot, weights[slot["level"]], q_flat, p.clairvoyant)
            qc = route_free(j)
            if qc == -2:
                s["bad_route"] = True
                return True
            if qc < 0:
                return False
        qc_free[qc] = False
        s["n_free_qcs"] -= 1
        start_on(j, qc, t)
        return True

    def hold_in_fleet(j, t):
        """Fleet: job ``j``'s task waits. Every policy's pending tasks are kept in push
        order in ``pheap`` (key: a KEYED policy's key, fixed at push). False: NaN key."""
        s["pushes"] += 1
        k = task_key(j, t) if p.policy_id == KEYED else 0.0
        n = counts[0]
        pheap[n]["key"], pheap[n]["seq"], pheap[n]["val"] = k, s["pushes"], j
        counts[0] = n + 1
        return not math.isnan(k)

    def place_quantum(j, t):
        """Fleet or sessions: job ``j``'s quantum task (``start_task`` returned False) starts
        or joins the policy's pending set. Returns RUNNING, or BAD_KEY (a NaN key)."""
        if start_quantum(j, t):
            return BAD_KEY if s["bad_route"] else RUNNING
        s["n_pending"] += 1
        if p.fleet:
            return RUNNING if hold_in_fleet(j, t) else BAD_KEY
        if p.policy_id < KEYED:
            policy_push(p.policy_id, items, counts, meta, j, slots[j]["level"], weights)
            return RUNNING
        return RUNNING if hold_keyed(j, t) else BAD_KEY

    def nth_eligible(cap, n_eligible, total, u):
        """Index in ``pheap`` of the random pick among the pending tasks of at most ``cap``
        qubits: the floor(u n)-th eligible (random), or where ``u * total`` falls in the
        eligible tasks' cumulative priorities in push order (weighted)."""
        target = int(u * n_eligible) if p.policy_id == RANDOM else -1
        x, start, seen, last = u * total, 0.0, 0, -1
        for i in range(counts[0]):
            j = pheap[i]["val"]
            if slots[j]["qubits"] > cap:
                continue
            last = i
            if p.policy_id == RANDOM:
                if seen == target:
                    return i
                seen += 1
            else:
                start += weights[slots[j]["level"]]
                if x < start:
                    return i
        return last  # rounding: u * total reached the total

    def pick_for(qc, t):
        """Fleet: the pending task eligible on ``qc`` that the policy picks at ``t``, taken
        out of the push-ordered set; -1 if none is eligible, -2 if a key is NaN."""
        cap = group_qubits[qc_group[qc]]
        chosen, n_eligible, total, best_key = -1, 0, 0.0, math.inf
        for i in range(counts[0]):
            j = pheap[i]["val"]
            if slots[j]["qubits"] > cap:
                continue
            n_eligible += 1
            total += weights[slots[j]["level"]]
            if p.policy_id == FIFO:
                chosen = i
                break
            if p.policy_id == LIFO:
                chosen = i
            elif p.policy_id >= KEYED:
                k = pheap[i]["key"] if p.policy_id == KEYED else task_key(j, t)
                if math.isnan(k):
                    return -2
                if chosen < 0 or k < best_key:
                    chosen, best_key = i, k
        if n_eligible == 0:
            return -1
        if p.policy_id == RANDOM or p.policy_id == WEIGHTED:
            chosen = nth_eligible(cap, n_eligible, total, rng.random())
        j = pheap[chosen]["val"]
        counts[0] -= 1
        for i in range(chosen, counts[0]):  # keep push order
            pheap[i]["key"], pheap[i]["seq"] = pheap[i + 1]["key"], pheap[i + 1]["seq"]
            pheap[i]["val"] = pheap[i + 1]["val"]
        return j

    def qc_freed(qc, t):
        """``qc`` is free at ``t`` (a task or a session ended): it runs the policy's pick
        among the pending tasks eligible on it, or idles. False: a NaN key."""
        if s["n_pending"] > 0:
            if p.fleet:
                picked = pick_for(qc, t)
            elif p.policy_id < KEYED:
                u = rng.random() if p.randomized else 0.0
                picked = policy_pop(p.policy_id, items, counts, meta, weights, u)
            else:
                picked = pick_keyed(t)
                picked = -2 if picked < 0 else picked
            if picked == -2:
                return False
            if picked >= 0:
                s["n_pending"] -= 1
                slots[picked]["wait"] += t - slots[picked]["queued_at"]
                start_on(picked, qc, t)
                return True
        qc_free[qc] = True
        s["n_free_qcs"] += 1
        return True

    def quantum_ended(j, qc, t):
        """Job ``j``'s quantum task on ``qc`` ended at ``t``. A session keeps ``qc``
        reserved unless this was the job's last quantum task or the session is past its
        length; the reserved QC gets a release event at the earlier of ``t + idle_timeout``
        and ``opened + max_length`` (none if both are infinite). Else ``qc`` is freed.
        False: a NaN key."""
        slot = slots[j]
        if p.fleet:
            group_busy[qc_group[qc]] -= 1
        if p.sessions and slot["session_qc"] == qc:
            expires = slot["session_open"] + p.session_max_length
            if slot["k"] + 1 == slot["last"] or t >= expires:
                close_session(s, slot)
            else:
                s["n_session_idle"] += 1
                release = min(t + p.session_idle_timeout, expires)
                if release < math.inf:
                    seq = next_seq(s)
                    slot["release_seq"] = seq
                    s["n_ends"] = heap_push(ends, s["n_ends"], release, seq,
                                            4 * j + SESSION_END)
                return True
        return qc_freed(qc, t)

    def quantum_event(t):
        """Fleet or sessions: the server heap's top, a quantum task's end or a live session
        release at ``t``, is popped and applied (``quantum_ended``). Returns (slot of the job
        whose task ended, or -1 for a release; its QC; False if a key was NaN). One call
        site for every way a QC is freed keeps the loop's code small (all closures are
        inlined, and code size slows the identical-QC loop down: measured)."""
        j, kind = ends[0]["val"] >> KIND_BITS, ends[0]["val"] & KIND_MASK
        s["n_ends"] = heap_pop(ends, s["n_ends"])
        slot = slots[j]
        if kind == SESSION_END:  # the job is in a classical step: its QC is freed
            qc = slot["session_qc"]
            s["n_session_idle"] -= 1
            close_session(s, slot)
            return -1, qc, qc_freed(qc, t)
        qc = slot["server"]
        s["n_service"] -= 1
        return j, qc, quantum_ended(j, qc, t)

    code = RUNNING
    while True:
        code = pause_reason()
        if code != RUNNING:
            break
        t_end = ends[0]["key"] if s["n_ends"] > 0 else math.inf
        t_arr = jobs[s["next_job"]]["arrival"] if s["next_job"] < jobs.shape[0] else math.inf
        t, source = next_event(s, t_end, shared[0]["key"], t_arr)
        if overflowed(p, s, t):
            code = OVERFLOW
            break
        if ext is not None and p.sessions and source == SERVER and stale_release(ends, slots):
            s["n_ends"] = heap_pop(ends, s["n_ends"])  # discarded: not an event
            continue
        if t >= p.end:
            code = DONE
            break
        admit = s["n_classical"] < p.max_classical and s["n_pending"] < p.max_quantum
        if source == ARRIVAL and admit and s["n_free"] == 0:
            code = GROW
            break
        s["events"] += 1
        if ext is not None:
            integrate_quantum_features(s, t, group_busy, group_area)
        integrate_counts(s, t)
        if p.lifecycle:  # expiries are rare: test for one here, as calls cost (measured)
            if s["n_idle"] > 0 and pool[s["pool_head"]] + p.keep_alive < t:
                integrate_instances(p, s, pool, t)
            else:
                count_instances(s, t)
        # Apply the event; ``j`` is the slot of the job that arrived or whose task ended.
        if source == ARRIVAL:
            j = arrive(t, admit)
            moves_on = j >= 0
        elif source == SHARED:
            j = finish_shared(t)
            moves_on = task_done(j, CLASSICAL, -1, t)
        elif p.lifecycle and ends[0]["val"] & KIND_MASK == COLD_READY:
            j = cold_ready(t)
            moves_on = False
        elif ext is not None and ends[0]["val"] & KIND_MASK != CLASSICAL:
            j, server, picked_ok = quantum_event(t)
            if not picked_ok:
                code = BAD_KEY
                break
            moves_on = j >= 0 and task_done(j, QUANTUM, server, t)
        else:
            j, kind, server = finish_on_server(t)
            if kind == QUANTUM and s["n_pending"] > 0:  # the freed QC takes the policy's pick
                if p.policy_id < KEYED:
                    u = rng.random() if p.randomized else 0.0
                    picked = policy_pop(p.policy_id, items, counts, meta, weights, u)
                else:
                    picked = pick_keyed(t)
                    if picked < 0:
                        code = BAD_KEY
                        break
                run_pending(picked, server, t)
            moves_on = task_done(j, kind, server, t)
        # The job moves on to its next task; if it must wait for a QC, the policy holds it.
        if moves_on and not start_task(j, t):
            if ext is not None:
                code = place_quantum(j, t)
                if code != RUNNING:
                    break
            else:
                s["n_pending"] += 1
                if p.policy_id < KEYED:
                    policy_push(p.policy_id, items, counts, meta, j, slots[j]["level"], weights)
                elif not hold_keyed(j, t):
                    code = BAD_KEY
                    break
    if code == DONE:
        if ext is not None and not math.isinf(p.end):
            integrate_quantum_features(s, p.end, group_busy, group_area)
        close_window(p, s)
        if p.lifecycle:  # idle instances count until they expire or the window ends
            integrate_instances(p, s, pool, s["end"])
    return code


# ---------------------------------------------------------------------------
# Python side: what happens between calls.


class Kernel:
    """One replication's compiled loop: its ``Params``, its ``State``, and what Python does
    between calls (new arrivals, more slots, draining the output buffers)."""

    def __init__(self, params: Params, level_weight: np.ndarray, key: Any,
                 slots: int = 64, fleet: Fleet | None = None, route: Any = None) -> None:
        self.params = params
        self.key = key  # the policy's compiled key (policies.compiled_key)
        # The fleet's routing key (policies.compiled_route); never called with identical QCs.
        self.route = compiled_route(ROUTINGS["fastest"]) if route is None else route
        self.state = State.allocate(params, level_weight, max(int(slots), 1), fleet)

    @property
    def scalars(self) -> np.void:
        """The loop's scalars (``SCALARS``), a view: writes reach the state."""
        return self.state.scalars[0]

    @property
    def capacity(self) -> int:
        """Number of slots (admitted jobs the arrays can hold at once)."""
        return int(self.state.slots.shape[0])

    @property
    def nbytes(self) -> int:
        """Bytes of every array of the state."""
        return sum(array.nbytes for array in _arrays(self.state))

    def run(self, rng: np.random.Generator) -> int:
        """Run the loop from where it stopped; returns why it stopped (``DONE``, ...)."""
        ext = self.state.fleet if self.params.fleet or self.params.sessions else None
        return int(run_events(self.params, self.state, rng, self.key, self.route, ext))

    def add_chunk(self, jobs: np.ndarray | None, it_flat: np.ndarray, q_flat: np.ndarray) -> None:
        """Replace the used-up chunk by ``jobs`` (``JOB``, offsets into this chunk's
        ``it_flat`` / ``q_flat``); ``None`` = no more arrivals.

        The flat arrays are rebuilt from the live jobs' values plus the new
        chunk's, so they never hold values of jobs that have left.
        """
        a, s = self.state, self.scalars
        assert s["next_job"] == len(a.jobs), "the current chunk is not used up"
        slots = a.slots
        live = np.flatnonzero((slots["status"] == ACTIVE) & (slots["offset"] >= 0))
        n = (slots["last"][live] - 1) >> 1  # iterations per live job
        start = np.cumsum(n) - n
        src = np.repeat(slots["offset"][live] - start, n) + np.arange(int(n.sum()))
        slots["offset"][live] = start
        if jobs is None:
            jobs, s["more"] = np.zeros(0, JOB), False
        else:
            jobs = np.array(jobs, dtype=JOB)  # a private copy: offsets are shifted below
            jobs["offset"][jobs["offset"] >= 0] += len(src)
        self.state = a._replace(
            jobs=jobs, it_flat=np.concatenate([a.it_flat[src], np.asarray(it_flat, dtype=F8)]),
            q_flat=np.concatenate([a.q_flat[src], np.asarray(q_flat, dtype=F8)]))
        s["next_job"] = 0

    def grow(self) -> None:
        """Double the slot capacity, keeping every slot-indexed structure's content and order;
        or, if the loop asked for room on the server heap (sessions), double that heap."""
        a, s = self.state, self.scalars
        if self.params.sessions and int(s["n_ends"]) + EVENT_ROOM > len(a.ends):
            self.state = a._replace(ends=_widened(a.ends[:int(s["n_ends"])], 2 * len(a.ends)))
            return
        old = self.capacity
        new = 2 * old
        assert s["n_free"] == 0, "grow only when every slot is taken"
        free = np.zeros(new, I8)
        free[:new - old] = np.arange(new - 1, old - 1, -1)  # lowest new slot on top
        s["n_free"] = new - old
        # A heap's array layout is kept as is; the ring is copied in queue order.
        ring = (int(s["queue_head"]) + np.arange(int(s["queue_len"]))) % old
        s["queue_head"] = 0
        pending = a.pending
        items = grow_items(self.params.policy_id, pending.items, pending.counts, pending.meta,
                           new)
        # A KEYED policy's heap, or (fleet) every policy's push-ordered list, is kept.
        kept = self.params.policy_id == KEYED or self.params.fleet
        heap = pending.heap[:int(pending.counts[0])] if kept else pending.heap[:0]
        self.state = a._replace(
            slots=np.concatenate([a.slots, np.zeros(new - old, SLOT)]), free=free,
            shared=_widened(a.shared[:int(s["n_shared"])], new),
            queue=_widened(a.queue[ring], new),
            pending=pending._replace(items=items, heap=_widened(heap, new)))
        if self.params.lifecycle:
            self._grow_instances(new - old)

    def _grow_instances(self, more: int) -> None:
        """Room for ``more`` function instances (they never outnumber the slots): the idle
        pool ring, copied oldest first, and the server heap (one cold start per instance)."""
        a, s = self.state, self.scalars
        ring = (int(s["pool_head"]) + np.arange(int(s["n_idle"]))) % len(a.pool)
        s["pool_head"] = 0
        self.state = a._replace(
            pool=_widened(a.pool[ring], len(a.pool) + more),
            ends=_widened(a.ends[:int(s["n_ends"])], len(a.ends) + more))

    def take_records(self) -> np.ndarray:
        """The finished jobs' records written since the last call (``RECORD``), emptied."""
        s = self.scalars
        out = self.state.records[:s["n_records"]].copy()
        s["n_records"] = 0
        return out

    def take_log(self) -> np.ndarray:
        """The executed tasks logged since the last call (``LOG``), emptied."""
        s = self.scalars
        out = self.state.log[:s["n_logged"]].copy()
        s["n_logged"] = 0
        return out

    def live_slots(self) -> np.ndarray:
        """The jobs still active (``SLOT`` rows), in arrival order."""
        slots = self.state.slots
        live = slots[slots["status"] == ACTIVE]
        return live[np.argsort(live["index"], kind="stable")]


def _widened(values: np.ndarray, n: int) -> np.ndarray:
    """``values`` at the start of a zeroed array of length ``n``."""
    wider = np.zeros(n, values.dtype)
    wider[:len(values)] = values
    return wider


def _arrays(group: tuple) -> Iterator[np.ndarray]:
    """Every array of a named tuple of arrays, nested ones included."""
    for value in group:
        if isinstance(value, tuple):
            yield from _arrays(value)
        else:
            yield value


# Last line: the compiled functions above are cached keyed on every source they call.
key_caches_on_sources(globals())
