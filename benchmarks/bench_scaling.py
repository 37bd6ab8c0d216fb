"""How the simulator's cost scales: with simulated duration, with load, with processes.

    python benchmarks/bench_scaling.py                 # all three tables
    python benchmarks/bench_scaling.py --only duration --policy weighted

Prints wall time, events and events/s for one replication of the paper's
small scenario (C=1, S=1e9, Q=4, C_max=Q_max=40, qubits {4,6,8,10},
priorities {1,2,4}), varying
- the duration (1, 7, 28, 112 days at inter-arrival 600 s), records streamed
  to a temporary CSV file as in ``hqsched simulate --out``; with memory:
  the peak of the heap (tracemalloc, MiB) while streaming and, for contrast,
  while keeping the records in memory; the kernel's state (KiB: slots, heaps,
  queues, arrival chunk and record buffers), the completed jobs' times kept
  for the summary (KiB, 16 bytes per job), the slot capacity and the peak
  number of jobs in the system;
- the load (inter-arrival 150..900 s over 7 days);
- the number of processes for R replications (parallel efficiency
  = T(1 process) / (P * T(P processes))).
Every array of the simulation is allocated by numpy from Python, so
tracemalloc sees it; the compiled loop allocates none (numba's runtime
counts are printed: one wrapper per array argument per call, all freed).
Figures are printed, never asserted: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("NUMBA_NRT_STATS", "1")  # before numba loads: count its allocations

from numba.core.runtime import rtsys  # noqa: E402

from hqsched.experiments.executor import ExecutorOptions, UnitBatch, map_units  # noqa: E402
from hqsched.experiments.results_store import TableWriter  # noqa: E402
from hqsched.instances.model import Platform  # noqa: E402
from hqsched.instances.workload import WorkloadSpec  # noqa: E402
from hqsched.online.config import JOB_DTYPES, ReplicationResult, SimulationConfig  # noqa: E402
from hqsched.online.engine import simulate  # noqa: E402

DAY_S = 86400.0


def small_config(policy: str, days: float, interarrival_s: float) -> SimulationConfig:
    return SimulationConfig(Platform(1, 1e9, 4, 40, 40), policy=policy, duration_s=days * DAY_S,
                            warmup_s=min(0.5 * DAY_S, days * DAY_S / 2),
                            workload=WorkloadSpec(interarrival_s, (4, 6, 8, 10), (1, 2, 4)))


def timed(config: SimulationConfig, seed: int = 0, memory: bool = False) -> tuple[float, float, float]:
    """(wall s, events, peak MiB) of one replication."""
    if memory:
        tracemalloc.start()
    start = time.perf_counter()
    result = simulate(config, seed)
    wall = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20 if memory else float("nan")
    if memory:
        tracemalloc.stop()
    return wall, result.summary["events"], peak


def streamed(config: SimulationConfig, seed: int = 0,
             memory: bool = False) -> tuple[float, ReplicationResult, float]:
    """(wall s, result, peak heap MiB) of one replication whose records stream to a CSV file."""
    with tempfile.TemporaryDirectory() as tmp:
        if memory:
            tracemalloc.start()
        start = time.perf_counter()
        with TableWriter(Path(tmp) / "jobs.csv", JOB_DTYPES, "csv") as table:
            result = simulate(config, seed, table.write)
        wall = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 2**20 if memory else float("nan")
        if memory:
            tracemalloc.stop()
    return wall, result, peak


def duration_table(policy: str) -> None:
    print(f"\nDuration scaling ({policy}, inter-arrival 600 s, records streamed to a CSV file)")
    print(f"{'days':>5} {'wall s':>7} {'events':>9} {'events/s':>9} {'s/day':>6} {'arrived':>7} "
          f"{'MiB stream':>10} {'MiB in-mem':>10} {'kernel KiB':>10} {'times KiB':>9} "
          f"{'slots':>5} {'active':>6}")
    count_nrt = os.environ.get("NUMBA_NRT_STATS") == "1"
    nrt = rtsys.get_allocation_stats() if count_nrt else None
    for days in (1, 7, 28, 112):
        config = small_config(policy, days, 600)
        wall, result, _ = streamed(config)
        _, result, peak = streamed(config, memory=True)
        _, _, peak_in_memory = timed(config, memory=True)
        events, m = result.summary["events"], result.memory
        print(f"{days:>5} {wall:>7.2f} {events:>9.0f} {events / wall:>9.0f} {wall / days:>6.3f} "
              f"{result.summary['arrived']:>7.0f} {peak:>10.2f} {peak_in_memory:>10.2f} "
              f"{m['state_bytes'] / 1024:>10.0f} {m['job_time_bytes'] / 1024:>9.0f} "
              f"{m['slot_capacity']:>5} {m['peak_active_jobs']:>6}")
    if count_nrt:
        after = rtsys.get_allocation_stats()
        print(f"numba runtime during the table: {after.alloc - nrt.alloc} allocations, "
              f"{after.free - nrt.free} frees (array-argument wrappers; the loop allocates none)")


def load_table(policy: str) -> None:
    print(f"\nLoad scaling ({policy}, 7 days)")
    print(f"{'gap s':>6} {'wall s':>8} {'events':>10} {'events/s':>10}")
    for gap in (150, 300, 450, 600, 750, 900):
        wall, events, _ = timed(small_config(policy, 7, gap))
        print(f"{gap:>6} {wall:>8.2f} {events:>10.0f} {events / wall:>10.0f}")


def _one(policy: str, seed: int) -> float:
    return simulate(small_config(policy, 7, 600), seed).summary["events"]


def parallel_table(policy: str, replications: int) -> None:
    print(f"\nParallel efficiency ({policy}, {replications} replications of 7 days)")
    print(f"{'procs':>5} {'wall s':>8} {'efficiency':>10}")
    base = None
    for procs in (1, 2):
        start = time.perf_counter()
        # The executor every command uses (processes == 1: in this process).
        map_units(UnitBatch(_one, policy, range(replications)),
                  ExecutorOptions(processes=procs, progress=False))
        wall = time.perf_counter() - start
        base = base or wall
        print(f"{procs:>5} {wall:>8.2f} {base / (procs * wall):>10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default="random")
    parser.add_argument("--only", choices=("duration", "load", "parallel"))
    parser.add_argument("--replications", type=int, default=32)
    args = parser.parse_args()
    simulate(small_config(args.policy, 0.05, 600), 0)  # load numba's compiled loop once
    if args.only in (None, "duration"):
        duration_table(args.policy)
    if args.only in (None, "load"):
        load_table(args.policy)
    if args.only in (None, "parallel"):
        parallel_table(args.policy, args.replications)


if __name__ == "__main__":
    main()
