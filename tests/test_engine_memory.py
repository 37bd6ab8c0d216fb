"""The simulator's memory is bounded by the jobs in the system, not by the run length.

An admitted job lives in a slot, freed when it completes; arrivals reach the
kernel in chunks; finished jobs' records stream to a sink. None of this may
change a result: every rule below compares against a run where it does not
apply.
"""

import numpy as np
import pytest

from hqsched.experiments.results_store import ResultStore
from hqsched.instances.model import Platform
from hqsched.instances.synthetic import Distribution, SyntheticWorkload
from hqsched.instances.workload import WorkloadSpec
from hqsched.online.config import JOB_DTYPES, JOB_FIELDS, JOB_ORDER, SimulationConfig
from hqsched.online.engine import simulate
from hqsched.online.policies import ARRAY_POLICIES, FIFO, POLICIES, grow_items, policy_pop, policy_push

DAY = 86400.0
TRACE = WorkloadSpec(600.0, priorities=(1, 2, 4), iteration_scale=0.1)
# Full iteration counts, twice the paper's rate: tens of jobs in the system, some dropped.
LOADED = WorkloadSpec(300.0, priorities=(1, 2, 4))
# Every iteration draws its own values: chains stored per iteration (offset >= 0).
PER_ITERATION = SyntheticWorkload(300.0, iterations=Distribution.geometric(6),
                                  iteration_ops=Distribution.exponential(5e8),
                                  quantum_s=Distribution.exponential(30.0), priorities=(1, 3))
# Classical work dominates, one worker and one QC, no admission limit: long classical
# queues, so slots are added while the processor-sharing heap holds many tasks and
# while the dedicated FIFO ring has wrapped around its end.
CLASSICAL_HEAVY = SyntheticWorkload(10.0, iterations=3, pre_ops=Distribution.exponential(1e9),
                                    iteration_ops=Distribution.exponential(3e9),
                                    quantum_s=Distribution.exponential(3.0), priorities=(1, 2))


def config(policy: str = "weighted", mode: str = "serverless", days: float = 1.0,
           workload=TRACE, warmup_s: float = 7200.0) -> SimulationConfig:
    if workload is CLASSICAL_HEAVY:
        return SimulationConfig(Platform(1, 1e9, 1, None, None), policy=policy,
                                classical_mode=mode, duration_s=20000.0, warmup_s=0.0,
                                workload=workload)
    return SimulationConfig(Platform(1, 1e9, 4, 40, 40), policy=policy, classical_mode=mode,
                            duration_s=days * DAY, warmup_s=warmup_s, workload=workload)


def assert_same_results(a, b) -> None:
    assert {k: repr(v) for k, v in a.summary.items()} == {k: repr(v) for k, v in b.summary.items()}
    assert list(a.jobs) == list(b.jobs) == list(JOB_FIELDS)
    for name in JOB_FIELDS:
        assert a.jobs[name].tolist() == b.jobs[name].tolist() or \
            np.array_equal(a.jobs[name], b.jobs[name], equal_nan=True), name


class Collect:
    """A sink that keeps every block it receives."""

    def __init__(self) -> None:
        self.blocks = []

    def __call__(self, rows) -> None:
        self.blocks.append({k: np.copy(v) for k, v in rows.items()})

    def rows(self) -> list[tuple]:
        return [row for b in self.blocks for row in zip(*(b[k].tolist() for k in JOB_FIELDS))]

    def reprs(self) -> list[str]:
        """The rows as text, so that NaN cells compare equal."""
        return [repr(row) for row in self.rows()]


CASES = [(p, m) for p in sorted(POLICIES) for m in ("serverless", "dedicated")]
WORKLOADS = pytest.mark.parametrize("workload", [LOADED, CLASSICAL_HEAVY],
                                    ids=["trace", "classical-heavy"])


@WORKLOADS
@pytest.mark.parametrize("policy,mode", CASES)
def test_reusing_freed_slots_gives_the_results_of_never_reusing_one(policy, mode, workload):
    """A completed job's slot is reused by a later arrival; results equal a run whose
    capacity (100,000 slots) never needs to reuse one."""
    cfg = config(policy, mode, workload=workload)
    reused = simulate(cfg, 3)
    fresh = simulate(cfg, 3, initial_slots=100_000)
    assert reused.memory["slot_capacity"] < reused.summary["accepted"]  # slots were reused
    assert fresh.memory["slot_capacity"] == 100_000
    assert_same_results(reused, fresh)


@WORKLOADS
@pytest.mark.parametrize("policy,mode", CASES)
def test_growing_the_slot_capacity_mid_run_changes_no_result(policy, mode, workload):
    """From one slot, capacity doubles whenever an admission finds none free (heaps, the
    dedicated FIFO ring and the policy's pending set copied in order): same results."""
    cfg = config(policy, mode, workload=workload)
    grown = simulate(cfg, 3, initial_slots=1)
    assert grown.memory["slot_capacity"] >= 32  # it grew five times or more
    assert_same_results(grown, simulate(cfg, 3, initial_slots=100_000))


@pytest.mark.parametrize("name", ARRAY_POLICIES)
def test_widening_a_pending_set_keeps_its_order(name):
    """grow_items copies a policy's pending set into more columns (a FIFO ring wrapped
    around its end is linearised): the pops that follow are the same."""
    policy = POLICIES[name]
    weights = np.array([1, 2, 4])

    def filled():
        items, counts = np.zeros((3, 4), np.int64), np.zeros(3, np.int64)
        meta = np.zeros(2, np.int64)
        for job in range(4):  # fill, pop two, push two more: FIFO's ring wraps around
            policy_push(policy.policy_id, items, counts, meta, job, job % 3, weights)
        popped = [policy_pop(policy.policy_id, items, counts, meta, weights, 0.3) for _ in range(2)]
        for job in (4, 5):
            policy_push(policy.policy_id, items, counts, meta, job, job % 3, weights)
        return items, counts, meta, popped

    items, counts, meta, _ = filled()
    if policy.policy_id == FIFO:
        assert meta[0] != 0  # the ring's head is not at column 0
    us = (0.9, 0.1, 0.5, 0.0)
    narrow = [policy_pop(policy.policy_id, items, counts, meta, weights, u) for u in us]
    items, counts, meta, _ = filled()
    items = grow_items(policy.policy_id, items, counts, meta, 16)
    assert items.shape == (3, 16)
    assert [policy_pop(policy.policy_id, items, counts, meta, weights, u) for u in us] == narrow


@pytest.mark.parametrize("workload", [TRACE, PER_ITERATION], ids=["trace", "per-iteration"])
def test_arrival_chunk_size_changes_no_result(workload):
    """Arrivals fed one job at a time or 4096 at a time: the same events in the same order,
    so the same summary, records, and order of streamed records."""
    cfg = config("random", days=2.0, workload=workload)
    one, many = simulate(cfg, 5, chunk_jobs=1, initial_slots=1), simulate(cfg, 5, chunk_jobs=4096)
    assert_same_results(one, many)
    sinks = Collect(), Collect()
    for sink, size in zip(sinks, (1, 4096)):
        simulate(cfg, 5, sink, chunk_jobs=size)
    assert sinks[0].reprs() == sinks[1].reprs()


def test_a_sink_receives_the_in_memory_table_in_the_order_jobs_leave():
    """With a sink, result.jobs is None and the sink gets every row of the in-memory table:
    completed and dropped jobs in the order they leave, then the censored ones."""
    cfg = config("lifo", workload=LOADED)
    memory = simulate(cfg, 2)
    sink = Collect()
    streamed = simulate(cfg, 2, sink)
    assert streamed.jobs is None and streamed.summary == memory.summary
    rows = sink.rows()
    table = list(zip(*(memory.jobs[k].tolist() for k in JOB_FIELDS)))
    def key(r):
        return r[0]  # job_id
    assert sorted(sink.reprs()) == sorted(map(repr, table))
    statuses = [r[-1] for r in rows]
    assert {"completed", "dropped", "censored"} <= set(statuses)
    first_censored = statuses.index("censored")
    assert set(statuses[first_censored:]) == {"censored"}
    exits = [r[1] if r[-1] == "dropped" else r[2] for r in rows[:first_censored]]
    assert exits == sorted(exits)  # completion (or drop) times, in order
    assert [r[0] for r in rows[first_censored:]] == sorted(map(key, rows[first_censored:]))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_records_streamed_to_a_file_equal_the_in_memory_table(tmp_path, fmt):
    """A unit's table streamed to disk (CSV rows or Parquet row groups) and read back in
    arrival order equals the table of the same run kept in memory."""
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    cfg = config("fifo", "dedicated")
    store = ResultStore(tmp_path, fmt)
    with store.open_table("seed-000001", JOB_DTYPES) as table:
        streamed = simulate(cfg, 1, table.write)
    store.save_summary("seed-000001", streamed.summary, JOB_DTYPES)
    summary, loaded = store.load("seed-000001", order_by=JOB_ORDER)
    in_memory = simulate(cfg, 1)
    assert summary == in_memory.summary
    for name in JOB_FIELDS:
        assert loaded[name].dtype.kind == in_memory.jobs[name].dtype.kind, name
        assert np.array_equal(loaded[name], in_memory.jobs[name],
                              equal_nan=loaded[name].dtype.kind == "f"), name


def test_a_table_whose_run_fails_never_appears(tmp_path):
    """A table file exists only complete: an error while streaming leaves neither the
    table nor its temporary file."""
    store = ResultStore(tmp_path)

    def failing(rows):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        with store.open_table("seed-000000", JOB_DTYPES) as table:
            simulate(config(), 0, lambda rows: (table.write(rows), failing(rows)))
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


@pytest.mark.parametrize("workload", [LOADED, PER_ITERATION], ids=["trace", "per-iteration"])
def test_kernel_memory_is_bounded_by_the_jobs_in_the_system_not_the_run_length(workload):
    """8x the simulated days (and arrivals): the slot capacity stays below twice the peak
    number of jobs in the system (as counted from the records), the kernel's arrays stay
    the same size; only the completed jobs' times (16 bytes each) grow."""
    runs = {}
    for days in (2, 16):
        sink = Collect()
        result = simulate(config("weighted", days=days, workload=workload, warmup_s=0.0), 1,
                          sink, chunk_jobs=256, initial_slots=1)
        runs[days] = result
        m = result.memory
        assert m["peak_active_jobs"] == peak_in_system(sink.rows())
        assert m["peak_active_jobs"] <= m["slot_capacity"] < 2 * m["peak_active_jobs"]
        assert m["job_time_bytes"] == 16 * result.summary["completed"]
    short, long = runs[2], runs[16]
    assert long.summary["arrived"] > 6 * short.summary["arrived"]
    assert long.memory["slot_capacity"] <= 2 * short.memory["slot_capacity"]
    assert long.memory["state_bytes"] <= 2 * short.memory["state_bytes"]


def peak_in_system(rows: list[tuple]) -> int:
    """Most accepted jobs present at once (no warm-up: every accepted job has a record);
    at one instant completions leave before arrivals enter, as in the simulator."""
    field = {name: k for k, name in enumerate(JOB_FIELDS)}
    events = []
    for r in rows:
        if r[field["status"]] == "dropped":
            continue
        events.append((r[field["arrival_s"]], 1))
        if r[field["status"]] == "completed":
            events.append((r[field["completion_s"]], 0))
    present = peak = 0
    for _, kind in sorted(events):  # (t, 0 = leave) sorts before (t, 1 = enter)
        present += 1 if kind else -1
        peak = max(peak, present)
    return peak
