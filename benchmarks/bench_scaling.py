"""How the simulator's cost scales: with simulated duration, with load, with processes.

    python benchmarks/bench_scaling.py                 # all three tables
    python benchmarks/bench_scaling.py --only duration --policy weighted

Prints wall time, events, events/s and peak Python memory (tracemalloc, MiB)
for one replication of the paper's small scenario (C=1, S=1e9, Q=4,
C_max=Q_max=40, qubits {4,6,8,10}, priorities {1,2,4}), varying
- the duration (1, 7, 28 days at inter-arrival 600 s),
- the load (inter-arrival 150..900 s over 7 days),
- the number of processes for R replications (parallel efficiency
  = T(1 process) / (P * T(P processes))).
Figures are printed, never asserted: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor

from hqsched.instances.model import Platform
from hqsched.instances.workload import WorkloadSpec
from hqsched.online.config import SimulationConfig
from hqsched.online.engine import simulate

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


def duration_table(policy: str) -> None:
    print(f"\nDuration scaling ({policy}, inter-arrival 600 s)")
    print(f"{'days':>5} {'wall s':>8} {'events':>10} {'events/s':>10} {'s/day':>7} {'peak MiB':>9}")
    for days in (1, 7, 28):
        wall, events, _ = timed(small_config(policy, days, 600))
        _, _, peak = timed(small_config(policy, days, 600), memory=True)
        print(f"{days:>5} {wall:>8.2f} {events:>10.0f} {events / wall:>10.0f} {wall / days:>7.3f} {peak:>9.1f}")


def load_table(policy: str) -> None:
    print(f"\nLoad scaling ({policy}, 7 days)")
    print(f"{'gap s':>6} {'wall s':>8} {'events':>10} {'events/s':>10}")
    for gap in (150, 300, 450, 600, 750, 900):
        wall, events, _ = timed(small_config(policy, 7, gap))
        print(f"{gap:>6} {wall:>8.2f} {events:>10.0f} {events / wall:>10.0f}")


def _one(args: tuple[str, int]) -> float:
    policy, seed = args
    return simulate(small_config(policy, 7, 600), seed).summary["events"]


def parallel_table(policy: str, replications: int) -> None:
    print(f"\nParallel efficiency ({policy}, {replications} replications of 7 days)")
    print(f"{'procs':>5} {'wall s':>8} {'efficiency':>10}")
    base = None
    for procs in (1, 2):
        start = time.perf_counter()
        work = [(policy, seed) for seed in range(replications)]
        if procs == 1:
            list(map(_one, work))
        else:
            with ProcessPoolExecutor(procs) as pool:
                list(pool.map(_one, work))
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
