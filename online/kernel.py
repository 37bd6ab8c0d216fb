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

Adding a state array is one field of ``State`` with its line in
``State.allocate`` (plus a rule in ``Kernel.grow`` if it is indexed by slot,
and its local name in ``run_events`` if the loop reads it); adding a scalar
is one field of ``SCALARS``. Nothing else lists them.

Memory is bounded by the *active* jobs, not by the run length:

- **Slots.** An admitted job's state (chain data, current task, server,
  waiting time) lives in one row of ``slots``, taken from a free list at
  admission and returned when its ``post`` task ends. The processor-sharing
  heap, the dedicated FIFO ring and the policy's pending set hold slot
  numbers and are sized by the slot capacity. When an admission finds no free
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

from .policies import KEYED, SCANNED, TASK, grow_items, policy_pop, policy_push

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
#: when it joined the pending queue and when its current task started, the quantum
#: service it has received, and its total quantum work if the policy is clairvoyant; s).
SLOT = np.dtype(JOB.descr + [("status", I8), ("index", I8), ("k", I8), ("server", I8),
                             ("wait", F8), ("queued_at", F8), ("task_start", F8),
                             ("attained", F8), ("quantum_total", F8)])
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
    # Whether arrival chunks may follow the current one.
    ("more", np.bool_)])

#: Rows of the record buffer and of the schedule log buffer between drains.
RECORD_BUFFER = 1024
LOG_BUFFER = 16384


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
    queue: np.ndarray  # QUEUE: dedicated mode's FIFO ring (head, length: scalars)
    qc_free: np.ndarray  # bool per QC
    pending: Pending
    records: np.ndarray  # RECORD output buffer
    log: np.ndarray  # LOG output buffer (empty unless params.record)

    @classmethod
    def allocate(cls, params: Params, level_weight: np.ndarray, slots: int) -> State:
        """An empty system with ``slots`` slots: every server idle, no arrival yet."""
        scalars = np.zeros(1, SCALARS)
        s = scalars[0]
        s["n_free_workers"], s["n_free_qcs"], s["n_free"] = params.workers, params.qcs, slots
        s["rate"] = params.capacity
        s["last_t"] = params.warmup  # the time averages integrate from here
        s["more"] = True
        levels = len(level_weight)
        return cls(
            scalars=scalars, level_weight=np.ascontiguousarray(level_weight, dtype=I8),
            jobs=np.zeros(0, JOB), it_flat=np.zeros(0), q_flat=np.zeros(0),
            slots=np.zeros(slots, SLOT),
            free=np.arange(slots - 1, -1, -1, dtype=I8),  # a stack: slot 0 is taken first
            ends=np.zeros(params.workers + params.qcs + 1, HEAP), shared=np.zeros(slots, HEAP),
            worker_free=np.ones(params.workers, np.bool_), queue=np.zeros(slots, QUEUE),
            qc_free=np.ones(params.qcs, np.bool_),
            pending=Pending(np.zeros((levels, slots), I8), np.zeros(levels, I8), np.zeros(2, I8),
                            np.zeros(slots, HEAP), np.zeros(1, TASK)),
            records=np.zeros(RECORD_BUFFER, RECORD),
            log=np.zeros(LOG_BUFFER if params.record else 0, LOG))


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
def run_events(p, a, rng, key):
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
    key was NaN; the run cannot go on). Every return except the last two is between
    events, with all state saved, so the next call continues the same run.
    """
    # The state under local names, read once per call (see "Compiled code" above).
    s = a.scalars[0]
    jobs, slots, free, records, log = a.jobs, a.slots, a.free, a.records, a.log
    ends, shared, queue, worker_free, qc_free = a.ends, a.shared, a.queue, a.worker_free, a.qc_free
    items, counts, meta, pheap, view = a.pending
    weights, it_flat, q_flat = a.level_weight, a.it_flat, a.q_flat

    def pause_reason():
        """Why to hand back to the caller before the next event, or RUNNING. Checked
        between events, never inside one (each writes at most one record and one log row)."""
        if s["n_records"] == records.shape[0] or (p.record and s["n_logged"] == log.shape[0]):
            return FLUSH
        if s["next_job"] == jobs.shape[0] and s["more"]:
            return NEED_ARRIVALS
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
        return j

    def finish_shared(t):
        """The processor-sharing task with the smallest tag ends at ``t``: the virtual clock
        reaches its tag and the rate is recomputed. Returns its job's slot."""
        j = shared[0]["val"]
        s["V"] = shared[0]["key"]
        s["t_v"] = t
        s["n_shared"] = heap_pop(shared, s["n_shared"])
        s["n_classical"] -= 1
        s["rate"] = shared_rate(p, s["n_classical"])
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
        odd, ``post`` = last): it joins processor sharing, or takes the lowest idle dedicated
        worker, or waits in the FIFO ring. Quantum (even): the lowest idle QC; returns False
        if every QC is busy (the caller gives the task to the policy)."""
        slot = slots[j]
        k = slot["k"] + 1
        slot["k"] = k
        if k & 1 or k == 0:
            ops = classical_ops(slot, k, it_flat)
            slot["task_start"] = t
            s["n_classical"] += 1
            if not p.dedicated:
                s["V"] += s["rate"] * (t - s["t_v"])  # the virtual clock so far, at the old rate
                s["t_v"] = t
                s["rate"] = shared_rate(p, s["n_classical"])
                slot["server"] = -1
                s["n_shared"] = heap_push(shared, s["n_shared"], s["V"] + ops, next_seq(s), j)
            elif s["n_free_workers"] > 0:
                w = lowest_free(worker_free)
                worker_free[w] = False
                s["n_free_workers"] -= 1
                end = occupy(slot, w, t, ops / p.capacity)
                s["n_ends"] = heap_push(ends, s["n_ends"], end, next_seq(s), 4 * j + CLASSICAL)
            else:
                pos = (s["queue_head"] + s["queue_len"]) % queue.shape[0]
                queue[pos]["slot"] = j
                queue[pos]["ops"] = ops
                s["queue_len"] += 1
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
        if t >= p.end:
            code = DONE
            break
        admit = s["n_classical"] < p.max_classical and s["n_pending"] < p.max_quantum
        if source == ARRIVAL and admit and s["n_free"] == 0:
            code = GROW
            break
        s["events"] += 1
        integrate_counts(s, t)
        # Apply the event; ``j`` is the slot of the job that arrived or whose task ended.
        if source == ARRIVAL:
            j = arrive(t, admit)
            moves_on = j >= 0
        elif source == SHARED:
            j = finish_shared(t)
            moves_on = task_done(j, CLASSICAL, -1, t)
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
            s["n_pending"] += 1
            if p.policy_id < KEYED:
                policy_push(p.policy_id, items, counts, meta, j, slots[j]["level"], weights)
            elif not hold_keyed(j, t):
                code = BAD_KEY
                break
    if code == DONE:
        close_window(p, s)
    return code


# ---------------------------------------------------------------------------
# Python side: what happens between calls.


class Kernel:
    """One replication's compiled loop: its ``Params``, its ``State``, and what Python does
    between calls (new arrivals, more slots, draining the output buffers)."""

    def __init__(self, params: Params, level_weight: np.ndarray, key: Any,
                 slots: int = 64) -> None:
        self.params = params
        self.key = key  # the policy's compiled key (policies.compiled_key)
        self.state = State.allocate(params, level_weight, max(int(slots), 1))

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
        return int(run_events(self.params, self.state, rng, self.key))

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
        """Double the slot capacity, keeping every slot-indexed structure's content and order."""
        a, s = self.state, self.scalars
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
        heap = pending.heap[:int(pending.counts[0])] if self.params.policy_id == KEYED else \
            pending.heap[:0]
        self.state = a._replace(
            slots=np.concatenate([a.slots, np.zeros(new - old, SLOT)]), free=free,
            shared=_widened(a.shared[:int(s["n_shared"])], new),
            queue=_widened(a.queue[ring], new),
            pending=pending._replace(items=items, heap=_widened(heap, new)))

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
