"""The event loop over flat arrays, compiled by numba (the simulator's only implementation).

:func:`run_events` is the whole discrete-event simulation of one replication;
``online/engine.py`` feeds it arrivals and turns its output into metrics.
It is written in the subset of Python that numba compiles, and it runs
unchanged as plain Python with ``NUMBA_DISABLE_JIT=1`` (for debugging and
coverage; about 50x slower). The model it implements is documented in
``online/engine.py``; the quantum policies are in ``online/policies.py``.

Memory is bounded by the *active* jobs, not by the run length:

- **Slots.** An admitted job's state (chain data, current task, server,
  waiting time) lives in one row of ``slots``, taken from a free list at
  admission and returned when its ``post`` task ends. The processor-sharing
  heap, the dedicated FIFO ring and the policy's pending set hold slot
  numbers and are sized by the slot capacity. When an admission finds no free
  slot the loop returns :data:`GROW`; :meth:`KernelState.grow` doubles every
  slot-indexed array (linearising the rings) and the loop resumes.
- **Arrivals in chunks.** ``jobs`` is one chunk of arrivals (arrival order).
  When it is used up and more may follow, the loop returns
  :data:`NEED_ARRIVALS` *before* choosing the next event, so it always sees
  the next arrival time and events run in exactly the order of one long
  array. Per-iteration chain values (``offset >= 0``) index ``it_flat`` /
  ``q_flat``, which hold only the current chunk's and the live jobs' values
  (:meth:`KernelState.add_chunk` compacts them).
- **Records streamed.** A job that completes, or is dropped, in the window
  writes one row to ``records``; when it (or the schedule ``log``) is full
  the loop returns :data:`FLUSH` and the caller drains it. Jobs still active
  at the end are read from the live slots (:meth:`KernelState.live_slots`).

All state, scalars included (``st``, one record of :data:`SCALARS`), is in
arrays allocated by Python and carried between calls: the loop allocates
nothing, and it can stop after any event and resume.

Event keys are ``(time, seq)``: ``seq`` counts scheduled events, so ties at
one instant run in the order they were scheduled. Arrivals are not in a heap:
jobs come sorted by arrival, and an arrival runs after every completion at
the same instant.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .policies import grow_items, policy_pop, policy_push

# Task kinds in the schedule log.
CLASSICAL, QUANTUM = 0, 1
# Slot and record status codes.
FREE, ACTIVE, COMPLETED, DROPPED = 0, 1, 2, 3
# Why run_events returned.
DONE, NEED_ARRIVALS, GROW, FLUSH = 0, 1, 2, 3

I8, F8 = np.int64, np.float64
#: One arriving job (input chunk). Work in operations, times in seconds;
#: ``level`` indexes the priority in ``level_weight``; ``last = 2n + 1`` is
#: the index of ``post``; ``offset`` locates per-iteration values in
#: ``it_flat`` / ``q_flat`` (-1: every iteration repeats ``it`` and ``q``).
JOB = np.dtype([("job_id", I8), ("qubits", I8), ("level", I8), ("last", I8), ("offset", I8),
                ("arrival", F8), ("pre", F8), ("post", F8), ("it", F8), ("q", F8)])
#: One admitted job: its :data:`JOB` fields plus the state the loop keeps
#: (arrival ``index``, current task ``k``, ``server``, quantum ``wait`` so far,
#: when it joined the pending queue and when its current task started).
SLOT = np.dtype(JOB.descr + [("status", I8), ("index", I8), ("k", I8), ("server", I8),
                             ("wait", F8), ("queued_at", F8), ("task_start", F8)])
#: One finished job (completed or dropped in the window); ``index`` = arrival order.
RECORD = np.dtype([("index", I8), ("job_id", I8), ("qubits", I8), ("priority", I8),
                   ("iterations", I8), ("status", I8), ("arrival", F8), ("completion", F8),
                   ("wait", F8)])
#: One executed task of the schedule log (``record=True``).
LOG = np.dtype([("job_id", I8), ("task", I8), ("kind", I8), ("server", I8),
                ("start", F8), ("end", F8)])
#: Scalars carried between calls (the loop copies them to locals and back).
SCALARS = np.dtype([
    ("next_job", I8), ("arrivals", I8), ("arrived", I8), ("dropped", I8), ("events", I8),
    ("seq", I8), ("n_ev", I8), ("n_ps", I8), ("n_free_workers", I8), ("cq_head", I8),
    ("cq_len", I8), ("n_free_qcs", I8), ("n_classical", I8), ("n_service", I8),
    ("n_pending", I8), ("n_free", I8), ("peak_active", I8), ("n_records", I8), ("n_logged", I8),
    ("V", F8), ("t_v", F8), ("rate", F8), ("last_t", F8), ("area_c", F8), ("area_qs", F8),
    ("area_qp", F8), ("end", F8)])

#: Rows of the record buffer and of the schedule log buffer between drains.
RECORD_BUFFER = 1024
LOG_BUFFER = 16384


@njit(cache=True)
def heap_push(keys, seqs, vals, n, key, seq, val):
    """Insert (key, seq) -> val into the binary min-heap of size ``n``; returns ``n + 1``."""
    i = n
    while i > 0:
        parent = (i - 1) >> 1
        pk = keys[parent]
        if pk < key or (pk == key and seqs[parent] < seq):
            break
        keys[i] = pk
        seqs[i] = seqs[parent]
        vals[i] = vals[parent]
        i = parent
    keys[i] = key
    seqs[i] = seq
    vals[i] = val
    return n + 1


@njit(cache=True)
def heap_pop(keys, seqs, vals, n):
    """Remove the minimum of the heap of size ``n`` (read it at index 0 first); returns ``n - 1``."""
    n -= 1
    key, seq, val = keys[n], seqs[n], vals[n]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        right = child + 1
        if right < n and (keys[right] < keys[child]
                          or (keys[right] == keys[child] and seqs[right] < seqs[child])):
            child = right
        ck = keys[child]
        if key < ck or (key == ck and seq < seqs[child]):
            break
        keys[i] = ck
        seqs[i] = seqs[child]
        vals[i] = vals[child]
        i = child
    keys[i] = key
    seqs[i] = seq
    vals[i] = val
    return n


@njit(cache=True)
def lowest_free(free):
    """Index of the lowest-numbered free server (the caller knows one is free)."""
    for i in range(free.shape[0]):
        if free[i]:
            return i
    return -1


@njit(cache=True)
def classical_ops(s, kk, it_flat):
    """Work (operations) of classical task ``kk`` of the job in slot record ``s``."""
    if kk == 0:
        return s["pre"]
    if kk == s["last"]:
        return s["post"]
    if s["offset"] < 0:
        return s["it"]
    return it_flat[s["offset"] + ((kk - 1) >> 1)]


@njit(cache=True)
def quantum_s(s, kk, q_flat):
    """Duration (seconds) of quantum task ``kk`` of the job in slot record ``s``."""
    if s["offset"] < 0:
        return s["q"]
    return q_flat[s["offset"] + ((kk - 2) >> 1)]


@njit(cache=True)
def put_record(r, index, job_id, qubits, priority, last, status, arrival, completion, wait):
    """Fill record ``r`` of the output buffer."""
    r["index"] = index
    r["job_id"] = job_id
    r["qubits"] = qubits
    r["priority"] = priority
    r["iterations"] = (last - 1) >> 1
    r["status"] = status
    r["arrival"] = arrival
    r["completion"] = completion
    r["wait"] = wait


@njit(cache=True)
def run_events(jobs, more, st, slots, free, ev_t, ev_seq, ev_val, ps_tag, ps_seq, ps_slot,
               worker_free, cq_slot, cq_ops, qc_free, items, counts, meta, it_flat, q_flat,
               records, log, n_workers, capacity, n_qcs, max_classical, max_quantum, dedicated,
               warmup, end, record, policy_id, randomized, level_weight, rng):
    """Advance the simulation until it ends or needs the caller; returns why.

    ``jobs``: the current chunk of arrivals (:data:`JOB`), ``st["next_job"]``
    the first not yet arrived; ``more``: whether chunks may follow. Returns
    :data:`DONE` (the window ``[0, end)`` is over, or no event is left;
    ``st["end"]`` is then the end of the measured window),
    :data:`NEED_ARRIVALS` (give the next chunk, or an empty one with
    ``more=False``), :data:`GROW` (an admission needs a free slot) or
    :data:`FLUSH` (drain ``records`` / ``log``). Every return is between
    events, with all state saved, so the next call continues the same run.
    Per-job records go to ``records`` (:data:`RECORD`) and, when ``record``,
    executed tasks to ``log`` (:data:`LOG`); the time averages accumulate in
    ``st`` (areas, task-seconds, from ``warmup`` s).
    """
    inf = math.inf
    n_jobs = jobs.shape[0]
    cap = slots.shape[0]
    s0 = st[0]
    next_job, arrivals = s0["next_job"], s0["arrivals"]
    arrived, dropped = s0["arrived"], s0["dropped"]
    events, seq, n_ev, n_ps = s0["events"], s0["seq"], s0["n_ev"], s0["n_ps"]
    n_free_workers, cq_head, cq_len = s0["n_free_workers"], s0["cq_head"], s0["cq_len"]
    n_free_qcs, n_classical, n_service = s0["n_free_qcs"], s0["n_classical"], s0["n_service"]
    n_pending, n_free, peak_active = s0["n_pending"], s0["n_free"], s0["peak_active"]
    n_records, n_logged = s0["n_records"], s0["n_logged"]
    V, t_v, rate, last_t = s0["V"], s0["t_v"], s0["rate"], s0["last_t"]
    area_c, area_qs, area_qp = s0["area_c"], s0["area_qs"], s0["area_qp"]
    n_out, n_log = records.shape[0], log.shape[0]

    code = DONE
    while True:
        # Hand back to the caller between events, never inside one (each event
        # writes at most one record and one log entry).
        if n_records == n_out or (record and n_logged == n_log):
            code = FLUSH
            break
        if next_job == n_jobs and more:
            code = NEED_ARRIVALS
            break
        t_ev = ev_t[0] if n_ev > 0 else inf
        t_ps = inf
        if n_ps > 0:
            t_ps = t_v + (ps_tag[0] - V) / rate
            if t_ps < t_v:  # rounding: never step back in time
                t_ps = t_v
        t_arr = jobs[next_job]["arrival"] if next_job < n_jobs else inf
        t = min(t_ps, t_ev, t_arr)
        if t >= end:
            break
        is_arrival = t_arr < t_ps and t_arr < t_ev
        admit = n_classical < max_classical and n_pending < max_quantum
        if is_arrival and admit and n_free == 0:
            code = GROW
            break
        events += 1
        if t > last_t:
            dt = t - last_t
            area_c += n_classical * dt
            area_qs += n_service * dt
            area_qp += n_pending * dt
            last_t = t

        # 1. Apply the event; ``j`` is the slot of the job whose task ended (or that arrived).
        done_kind = -1
        srv = -1
        if not is_arrival and t_ps <= t_ev:  # processor-sharing completion first
            j = ps_slot[0]
            V = ps_tag[0]
            t_v = t
            n_ps = heap_pop(ps_tag, ps_seq, ps_slot, n_ps)
            n_classical -= 1
            rate = capacity if n_classical <= n_workers else capacity * n_workers / n_classical
            done_kind = CLASSICAL
        elif not is_arrival:  # then the other completions
            j = ev_val[0] >> 1
            done_kind = ev_val[0] & 1
            n_ev = heap_pop(ev_t, ev_seq, ev_val, n_ev)
            srv = slots[j]["server"]
            if done_kind == QUANTUM:
                n_service -= 1
                if n_pending > 0:  # the freed QC takes the policy's pick
                    u = rng.random() if randomized else 0.0
                    nxt = policy_pop(policy_id, items, counts, meta, level_weight, u)
                    n_pending -= 1
                    sn = slots[nxt]
                    sn["wait"] += t - sn["queued_at"]
                    sn["task_start"] = t
                    sn["server"] = srv
                    n_service += 1
                    seq += 1
                    n_ev = heap_push(ev_t, ev_seq, ev_val, n_ev, t + quantum_s(sn, sn["k"], q_flat),
                                     seq, 2 * nxt + QUANTUM)
                else:
                    qc_free[srv] = True
                    n_free_qcs += 1
            else:
                n_classical -= 1
                if cq_len > 0:
                    nxt = cq_slot[cq_head]
                    ops = cq_ops[cq_head]
                    cq_head = (cq_head + 1) % cap
                    cq_len -= 1
                    slots[nxt]["task_start"] = t
                    slots[nxt]["server"] = srv
                    seq += 1
                    n_ev = heap_push(ev_t, ev_seq, ev_val, n_ev, t + ops / capacity, seq,
                                     2 * nxt + CLASSICAL)
                else:
                    worker_free[srv] = True
                    n_free_workers += 1
        else:  # an arrival: admit or drop
            a = jobs[next_job]
            next_job += 1
            arrivals += 1
            in_window = t >= warmup
            if in_window:
                arrived += 1
            if not admit:
                if in_window:
                    dropped += 1
                    put_record(records[n_records], arrivals - 1, a["job_id"], a["qubits"],
                               level_weight[a["level"]], a["last"], DROPPED, a["arrival"],
                               math.nan, 0.0)
                    n_records += 1
                continue
            n_free -= 1
            j = free[n_free]
            if cap - n_free > peak_active:
                peak_active = cap - n_free
            s = slots[j]
            s["job_id"] = a["job_id"]
            s["qubits"] = a["qubits"]
            s["level"] = a["level"]
            s["last"] = a["last"]
            s["offset"] = a["offset"]
            s["arrival"] = a["arrival"]
            s["pre"] = a["pre"]
            s["post"] = a["post"]
            s["it"] = a["it"]
            s["q"] = a["q"]
            s["status"] = ACTIVE
            s["index"] = arrivals - 1
            s["k"] = -1
            s["server"] = -1
            s["wait"] = 0.0

        # 2. The job moves on to its next task, or completes.
        s = slots[j]
        kk = s["k"]
        if done_kind >= 0 and record:
            e = log[n_logged]
            e["job_id"] = s["job_id"]
            e["task"] = kk
            e["kind"] = done_kind
            e["server"] = srv
            e["start"] = s["task_start"]
            e["end"] = t
            n_logged += 1
        if kk == s["last"]:
            if t >= warmup:
                put_record(records[n_records], s["index"], s["job_id"], s["qubits"],
                           level_weight[s["level"]], s["last"], COMPLETED, s["arrival"], t,
                           s["wait"])
                n_records += 1
            s["status"] = FREE
            free[n_free] = j
            n_free += 1
            continue
        kk += 1
        s["k"] = kk
        if kk & 1 or kk == 0:  # classical: pre (0), iteration (odd), post (last, odd)
            ops = classical_ops(s, kk, it_flat)
            s["task_start"] = t
            n_classical += 1
            if not dedicated:
                V += rate * (t - t_v)
                t_v = t
                rate = capacity if n_classical <= n_workers else capacity * n_workers / n_classical
                s["server"] = -1
                seq += 1
                n_ps = heap_push(ps_tag, ps_seq, ps_slot, n_ps, V + ops, seq, j)
            elif n_free_workers > 0:
                w = lowest_free(worker_free)
                worker_free[w] = False
                n_free_workers -= 1
                s["server"] = w
                seq += 1
                n_ev = heap_push(ev_t, ev_seq, ev_val, n_ev, t + ops / capacity, seq,
                                 2 * j + CLASSICAL)
            else:
                pos = (cq_head + cq_len) % cap
                cq_slot[pos] = j
                cq_ops[pos] = ops
                cq_len += 1
        elif n_free_qcs > 0:  # quantum, and a QC is idle
            qc = lowest_free(qc_free)
            qc_free[qc] = False
            n_free_qcs -= 1
            s["task_start"] = t
            s["server"] = qc
            n_service += 1
            seq += 1
            n_ev = heap_push(ev_t, ev_seq, ev_val, n_ev, t + quantum_s(s, kk, q_flat),
                             seq, 2 * j + QUANTUM)
        else:  # quantum, every QC busy: the policy holds it
            s["queued_at"] = t
            policy_push(policy_id, items, counts, meta, j, s["level"], level_weight)
            n_pending += 1

    if code == DONE:
        if math.isinf(end):  # an instance run to completion ends at its last event
            end = last_t
        elif last_t < end:  # close the integrals at the end of the window
            dt = end - last_t
            area_c += n_classical * dt
            area_qs += n_service * dt
            area_qp += n_pending * dt
            last_t = end
        s0["end"] = end
    s0["next_job"], s0["arrivals"] = next_job, arrivals
    s0["arrived"], s0["dropped"] = arrived, dropped
    s0["events"], s0["seq"], s0["n_ev"], s0["n_ps"] = events, seq, n_ev, n_ps
    s0["n_free_workers"], s0["cq_head"], s0["cq_len"] = n_free_workers, cq_head, cq_len
    s0["n_free_qcs"], s0["n_classical"], s0["n_service"] = n_free_qcs, n_classical, n_service
    s0["n_pending"], s0["n_free"], s0["peak_active"] = n_pending, n_free, peak_active
    s0["n_records"], s0["n_logged"] = n_records, n_logged
    s0["V"], s0["t_v"], s0["rate"], s0["last_t"] = V, t_v, rate, last_t
    s0["area_c"], s0["area_qs"], s0["area_qp"] = area_c, area_qs, area_qp
    return code


class KernelState:
    """Every array :func:`run_events` carries between calls: allocated here, by
    Python (so ``tracemalloc`` sees them), and grown on demand.

    Sizes: the server heap and flags are fixed by the platform; ``slots``,
    the processor-sharing heap, the dedicated ring and the policy's ``items``
    have one entry per slot (:attr:`capacity`, doubled by :meth:`grow`);
    ``it_flat`` / ``q_flat`` hold the per-iteration values of the current
    chunk and of live jobs; ``records`` and ``log`` are fixed-size buffers.
    """

    def __init__(self, *, workers: int, capacity_ops_per_s: float, qcs: int, max_classical: float,
                 max_quantum: float, dedicated: bool, warmup_s: float, end_s: float, record: bool,
                 policy_id: int, randomized: bool, level_weight: np.ndarray,
                 slots: int = 64) -> None:
        slots = max(int(slots), 1)
        self.policy_id = policy_id
        self.params = (workers, float(capacity_ops_per_s), qcs, float(max_classical),
                       float(max_quantum), bool(dedicated), float(warmup_s), float(end_s),
                       bool(record), policy_id, bool(randomized),
                       np.ascontiguousarray(level_weight, dtype=I8))
        self.st = np.zeros(1, SCALARS)
        st = self.st[0]
        st["n_free_workers"], st["n_free_qcs"], st["n_free"] = workers, qcs, slots
        st["rate"] = capacity_ops_per_s
        st["last_t"] = warmup_s  # the time averages integrate from here
        self.jobs = np.zeros(0, JOB)
        self.more = True
        self.slots = np.zeros(slots, SLOT)
        self.free = np.arange(slots - 1, -1, -1, dtype=I8)  # a stack: slot 0 is taken first
        # Completions of quantum tasks and dedicated classical tasks: one per busy server.
        servers = workers + qcs + 1
        self.ev_t, self.ev_seq = np.zeros(servers), np.zeros(servers, I8)
        self.ev_val = np.zeros(servers, I8)  # 2 * slot + task kind
        # Processor sharing: tags V0 + work on the virtual clock V.
        self.ps_tag, self.ps_seq = np.zeros(slots), np.zeros(slots, I8)
        self.ps_slot = np.zeros(slots, I8)
        self.worker_free = np.ones(workers, np.bool_)
        self.cq_slot, self.cq_ops = np.zeros(slots, I8), np.zeros(slots)  # dedicated: FIFO ring
        self.qc_free = np.ones(qcs, np.bool_)
        # Pending quantum tasks, held by the policy.
        self.items = np.zeros((len(level_weight), slots), I8)
        self.counts = np.zeros(len(level_weight), I8)
        self.meta = np.zeros(2, I8)
        self.it_flat, self.q_flat = np.zeros(0), np.zeros(0)
        self.records = np.zeros(RECORD_BUFFER, RECORD)
        self.log = np.zeros(LOG_BUFFER if record else 0, LOG)

    @property
    def capacity(self) -> int:
        """Number of slots (admitted jobs the arrays can hold at once)."""
        return int(self.slots.shape[0])

    @property
    def nbytes(self) -> int:
        """Bytes of every array of the state."""
        return sum(a.nbytes for a in (
            self.st, self.jobs, self.slots, self.free, self.ev_t, self.ev_seq, self.ev_val,
            self.ps_tag, self.ps_seq, self.ps_slot, self.worker_free, self.cq_slot, self.cq_ops,
            self.qc_free, self.items, self.counts, self.meta, self.it_flat, self.q_flat,
            self.records, self.log))

    def run(self, rng: np.random.Generator) -> int:
        """Call :func:`run_events` on this state; returns its code."""
        return run_events(self.jobs, self.more, self.st, self.slots, self.free, self.ev_t,
                          self.ev_seq, self.ev_val, self.ps_tag, self.ps_seq, self.ps_slot,
                          self.worker_free, self.cq_slot, self.cq_ops, self.qc_free, self.items,
                          self.counts, self.meta, self.it_flat, self.q_flat, self.records,
                          self.log, *self.params, rng)

    def add_chunk(self, jobs: np.ndarray | None, it_flat: np.ndarray, q_flat: np.ndarray) -> None:
        """Replace the used-up chunk by ``jobs`` (:data:`JOB`, offsets into this chunk's
        ``it_flat`` / ``q_flat``); ``None`` = no more arrivals.

        The flat arrays are rebuilt from the live jobs' values plus the new
        chunk's, so they never hold values of jobs that have left.
        """
        assert self.st[0]["next_job"] == len(self.jobs), "the current chunk is not used up"
        live = np.flatnonzero((self.slots["status"] == ACTIVE) & (self.slots["offset"] >= 0))
        n = (self.slots["last"][live] - 1) >> 1  # iterations per live job
        start = np.cumsum(n) - n
        src = np.repeat(self.slots["offset"][live] - start, n) + np.arange(int(n.sum()))
        self.slots["offset"][live] = start
        self.it_flat = np.concatenate([self.it_flat[src], np.asarray(it_flat, dtype=F8)])
        self.q_flat = np.concatenate([self.q_flat[src], np.asarray(q_flat, dtype=F8)])
        if jobs is None:
            jobs, self.more = np.zeros(0, JOB), False
        else:
            jobs = np.array(jobs, dtype=JOB)  # a private copy: offsets are shifted below
            jobs["offset"][jobs["offset"] >= 0] += len(src)
        self.jobs = jobs
        self.st[0]["next_job"] = 0

    def grow(self) -> None:
        """Double the slot capacity, keeping every slot-indexed structure's content and order."""
        old, st = self.capacity, self.st[0]
        new = 2 * old
        assert st["n_free"] == 0, "grow only when every slot is taken"
        self.slots = np.concatenate([self.slots, np.zeros(new - old, SLOT)])
        self.free = np.zeros(new, I8)
        self.free[:new - old] = np.arange(new - 1, old - 1, -1)  # lowest new slot on top
        st["n_free"] = new - old
        n = int(st["n_ps"])  # a heap's array layout is kept as is
        for name in ("ps_tag", "ps_seq", "ps_slot"):
            old_array = getattr(self, name)
            wider = np.zeros(new, old_array.dtype)
            wider[:n] = old_array[:n]
            setattr(self, name, wider)
        ring = (int(st["cq_head"]) + np.arange(int(st["cq_len"]))) % old  # ring, in queue order
        for name in ("cq_slot", "cq_ops"):
            old_array = getattr(self, name)
            wider = np.zeros(new, old_array.dtype)
            wider[:len(ring)] = old_array[ring]
            setattr(self, name, wider)
        st["cq_head"] = 0
        self.items = grow_items(self.policy_id, self.items, self.counts, self.meta, new)

    def take_records(self) -> np.ndarray:
        """The finished jobs' records written since the last call (:data:`RECORD`), emptied."""
        st = self.st[0]
        out = self.records[:st["n_records"]].copy()
        st["n_records"] = 0
        return out

    def take_log(self) -> np.ndarray:
        """The executed tasks logged since the last call (:data:`LOG`), emptied."""
        st = self.st[0]
        out = self.log[:st["n_logged"]].copy()
        st["n_logged"] = 0
        return out

    def live_slots(self) -> np.ndarray:
        """The jobs still active (:data:`SLOT` rows), in arrival order."""
        live = self.slots[self.slots["status"] == ACTIVE]
        return live[np.argsort(live["index"], kind="stable")]
