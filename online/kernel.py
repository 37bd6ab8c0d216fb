"""The event loop over flat arrays, compiled by numba (the simulator's only implementation).

:func:`run_events` is the whole discrete-event simulation of one replication;
``online/engine.py`` prepares its arrays and turns its output into metrics.
It is written in the subset of Python that numba compiles, and it runs
unchanged as plain Python with ``NUMBA_DISABLE_JIT=1`` (for debugging and
coverage; about 50x slower). The model it implements is documented in
``online/engine.py``; the quantum policies are in ``online/policies.py``.

Event keys are ``(time, seq)``: ``seq`` counts scheduled events, so ties at
one instant run in the order they were scheduled. Arrivals are not in a heap:
jobs come sorted by arrival, and an arrival runs after every completion at
the same instant.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .policies import policy_pop, policy_push

# Task kinds in the schedule log.
CLASSICAL, QUANTUM = 0, 1
# Job status codes in the output.
NOT_ARRIVED, ACTIVE, COMPLETED, DROPPED = 0, 1, 2, 3


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
def classical_ops(j, kk, pre, post, last, it_const, offset, it_flat):
    """Work (operations) of classical task ``kk`` of job ``j``."""
    if kk == 0:
        return pre[j]
    if kk == last[j]:
        return post[j]
    if offset[j] < 0:
        return it_const[j]
    return it_flat[offset[j] + ((kk - 1) >> 1)]


@njit(cache=True)
def quantum_s(j, kk, q_const, offset, q_flat):
    """Duration (seconds) of quantum task ``kk`` of job ``j``."""
    if offset[j] < 0:
        return q_const[j]
    return q_flat[offset[j] + ((kk - 2) >> 1)]


@njit(cache=True)
def run_events(arrival, level, pre, post, last, it_const, q_const, offset, it_flat, q_flat,
               n_workers, capacity, n_qcs, max_classical, max_quantum, dedicated,
               warmup, end, record, policy_id, randomized, level_weight, rng):
    """Simulate one replication.

    Jobs ``j`` (sorted by ``arrival``, seconds) have chain indices 0..last[j]
    (last = 2n+1); classical work in operations (``pre``, ``post``,
    iterations: ``it_const`` or ``it_flat[offset + i]``), quantum durations in
    seconds (``q_const`` or ``q_flat``); ``level[j]`` indexes the job's
    priority in ``level_weight`` (ascending). Returns per-job status,
    completion time and quantum waiting time, the scalars
    [arrived, dropped, events, area_classical, area_quantum_service,
    area_pending, end], and the schedule log when ``record``.
    """
    n_jobs = arrival.shape[0]
    inf = math.inf
    k = np.full(n_jobs, -1, np.int64)  # current task index; -1 = not started
    status = np.zeros(n_jobs, np.int8)
    completion = np.full(n_jobs, np.nan)
    wait = np.zeros(n_jobs)
    queued_at = np.zeros(n_jobs)
    task_start = np.zeros(n_jobs)
    server = np.full(n_jobs, -1, np.int64)
    cap = max(n_jobs, 1)

    # Completions of quantum tasks and dedicated classical tasks: one per busy server.
    ev_t = np.empty(n_workers + n_qcs + 1)
    ev_seq = np.empty(n_workers + n_qcs + 1, np.int64)
    ev_val = np.empty(n_workers + n_qcs + 1, np.int64)  # 2 * job + kind
    n_ev = 0
    # Processor sharing: tags V0 + work on the virtual clock V.
    ps_tag = np.empty(cap)
    ps_seq = np.empty(cap, np.int64)
    ps_job = np.empty(cap, np.int64)
    n_ps = 0
    V = 0.0
    t_v = 0.0
    rate = capacity
    worker_free = np.ones(n_workers, np.bool_)
    n_free_workers = n_workers
    cq_job = np.empty(cap, np.int64)  # dedicated mode: FIFO ring of ready classical tasks
    cq_ops = np.empty(cap)
    cq_head = 0
    cq_len = 0
    qc_free = np.ones(n_qcs, np.bool_)
    n_free_qcs = n_qcs
    # Pending quantum tasks, held by the policy.
    items = np.empty((level_weight.shape[0], cap), np.int64)
    counts = np.zeros(level_weight.shape[0], np.int64)
    meta = np.zeros(2, np.int64)

    n_log = 0
    if record:
        n_log = int(np.sum(last + 1))
    log_job = np.empty(n_log, np.int64)
    log_task = np.empty(n_log, np.int64)
    log_kind = np.empty(n_log, np.int8)
    log_server = np.empty(n_log, np.int64)
    log_start = np.empty(n_log)
    log_end = np.empty(n_log)
    n_logged = 0

    seq = 0
    next_job = 0
    n_classical = 0
    n_service = 0
    n_pending = 0
    arrived = 0
    dropped = 0
    events = 0
    area_c = 0.0
    area_qs = 0.0
    area_qp = 0.0
    last_t = warmup  # the time averages integrate from here
    t = 0.0
    while True:
        t_ev = ev_t[0] if n_ev > 0 else inf
        t_ps = inf
        if n_ps > 0:
            t_ps = t_v + (ps_tag[0] - V) / rate
            if t_ps < t_v:  # rounding: never step back in time
                t_ps = t_v
        t_arr = arrival[next_job] if next_job < n_jobs else inf
        t = min(t_ps, t_ev, t_arr)
        if t >= end:
            break
        events += 1
        if t > last_t:
            dt = t - last_t
            area_c += n_classical * dt
            area_qs += n_service * dt
            area_qp += n_pending * dt
            last_t = t

        # 1. Apply the event; ``j`` is the job whose task ended (or that arrived).
        done_kind = -1
        srv = -1
        if t_ps <= t_ev and t_ps <= t_arr:  # processor-sharing completion first
            j = ps_job[0]
            V = ps_tag[0]
            t_v = t
            n_ps = heap_pop(ps_tag, ps_seq, ps_job, n_ps)
            n_classical -= 1
            rate = capacity if n_classical <= n_workers else capacity * n_workers / n_classical
            done_kind = CLASSICAL
        elif t_ev <= t_arr:  # then the other completions
            j = ev_val[0] >> 1
            done_kind = ev_val[0] & 1
            n_ev = heap_pop(ev_t, ev_seq, ev_val, n_ev)
            srv = server[j]
            if done_kind == QUANTUM:
                n_service -= 1
                if n_pending > 0:  # the freed QC takes the policy's pick
                    u = rng.random() if randomized else 0.0
                    nxt = policy_pop(policy_id, items, counts, meta, level_weight, u)
                    n_pending -= 1
                    wait[nxt] += t - queued_at[nxt]
                    task_start[nxt] = t
                    server[nxt] = srv
                    n_service += 1
                    seq += 1
                    n_ev = heap_push(ev_t, ev_seq, ev_val, n_ev,
                                     t + quantum_s(nxt, k[nxt], q_const, offset, q_flat),
                                     seq, 2 * nxt + QUANTUM)
                else:
                    qc_free[srv] = True
                    n_free_qcs += 1
            else:
                n_classical -= 1
                if cq_len > 0:
                    nxt = cq_job[cq_head]
                    ops = cq_ops[cq_head]
                    cq_head = (cq_head + 1) % cap
                    cq_len -= 1
                    task_start[nxt] = t
                    server[nxt] = srv
                    seq += 1
                    n_ev = heap_push(ev_t, ev_seq, ev_val, n_ev, t + ops / capacity, seq,
                                     2 * nxt + CLASSICAL)
                else:
                    worker_free[srv] = True
                    n_free_workers += 1
        else:  # an arrival: admit or drop
            j = next_job
            next_job += 1
            in_window = t >= warmup
            if in_window:
                arrived += 1
            if n_classical >= max_classical or n_pending >= max_quantum:
                status[j] = DROPPED
                if in_window:
                    dropped += 1
                continue
            status[j] = ACTIVE

        # 2. The job moves on to its next task, or completes.
        kk = k[j]
        if done_kind >= 0 and record:
            log_job[n_logged] = j
            log_task[n_logged] = kk
            log_kind[n_logged] = done_kind
            log_server[n_logged] = srv
            log_start[n_logged] = task_start[j]
            log_end[n_logged] = t
            n_logged += 1
        if kk == last[j]:
            status[j] = COMPLETED
            completion[j] = t
            continue
        kk += 1
        k[j] = kk
        if kk & 1 or kk == 0:  # classical: pre (0), iteration (odd), post (last, odd)
            ops = classical_ops(j, kk, pre, post, last, it_const, offset, it_flat)
            task_start[j] = t
            n_classical += 1
            if not dedicated:
                V += rate * (t - t_v)
                t_v = t
                rate = capacity if n_classical <= n_workers else capacity * n_workers / n_classical
                server[j] = -1
                seq += 1
                n_ps = heap_push(ps_tag, ps_seq, ps_job, n_ps, V + ops, seq, j)
            elif n_free_workers > 0:
                w = lowest_free(worker_free)
                worker_free[w] = False
                n_free_workers -= 1
                server[j] = w
                seq += 1
                n_ev = heap_push(ev_t, ev_seq, ev_val, n_ev, t + ops / capacity, seq, 2 * j + CLASSICAL)
            else:
                slot = (cq_head + cq_len) % cap
                cq_job[slot] = j
                cq_ops[slot] = ops
                cq_len += 1
        elif n_free_qcs > 0:  # quantum, and a QC is idle
            qc = lowest_free(qc_free)
            qc_free[qc] = False
            n_free_qcs -= 1
            task_start[j] = t
            server[j] = qc
            n_service += 1
            seq += 1
            n_ev = heap_push(ev_t, ev_seq, ev_val, n_ev, t + quantum_s(j, kk, q_const, offset, q_flat),
                             seq, 2 * j + QUANTUM)
        else:  # quantum, every QC busy: the policy holds it
            queued_at[j] = t
            policy_push(policy_id, items, counts, meta, j, level[j], level_weight)
            n_pending += 1

    if math.isinf(end):  # an instance run to completion ends at its last event
        end = last_t
    elif last_t < end:  # close the integrals at the end of the window
        dt = end - last_t
        area_c += n_classical * dt
        area_qs += n_service * dt
        area_qp += n_pending * dt
    scalars = np.array([arrived, dropped, events, area_c, area_qs, area_qp, end])
    return (status, completion, wait, scalars, log_job[:n_logged], log_task[:n_logged],
            log_kind[:n_logged], log_server[:n_logged], log_start[:n_logged], log_end[:n_logged])
