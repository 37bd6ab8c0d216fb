"""Engine throughput: one replication of the paper's small scenario per policy.

    python benchmarks/bench_online.py [--days 7] [--interarrival 600] [--repeat 3]
                                      [--mode serverless|dedicated]

Covers every registered policy and three user policies from
``examples/my_policies.py`` (``fifo-key`` orders like built-in ``fifo``, so the
two rows give the cost of a compiled user key). Prints wall time, events
processed (summary["events"]) and events/s. The
first call in a process loads numba's compiled loop from its cache (or
compiles it once per install); that one-off cost is printed separately and
kept out of the per-replication figures. The
scenario is Table 2 "small": C=1, S=1e9 ops/s, Q=4, C_max=Q_max=40,
qubits {4,6,8,10}, priorities {1,2,4}, no warm-up needed for timing.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from hqsched.instances.model import Platform
from hqsched.instances.workload import WorkloadSpec
from hqsched.online.config import SimulationConfig
from hqsched.online.engine import simulate
from hqsched.online.policies import POLICIES, resolve_policy

#: User policies (fifo-key is built-in fifo's order written as a key: the cost of a key).
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def small_scenario(policy: str, days: float, interarrival_s: float,
                   mode: str = "serverless") -> SimulationConfig:
    return SimulationConfig(
        platform=Platform(classical_workers=1, worker_capacity_ops_per_s=1e9,
                          quantum_computers=4, max_classical=40, max_quantum=40),
        policy=policy, classical_mode=mode, duration_s=days * 86400.0, warmup_s=0.0,
        workload=WorkloadSpec(interarrival_s=interarrival_s, qubits=(4, 6, 8, 10),
                              priorities=(1, 2, 4)))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=7.0, help="simulated days (default 7)")
    ap.add_argument("--interarrival", type=float, default=600.0,
                    help="mean inter-arrival time, s (default 600)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per policy; best time kept")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mode", choices=("serverless", "dedicated"), default="serverless",
                    help="classical mode (default serverless)")
    args = ap.parse_args(argv)

    print(f"small scenario, {args.mode}, {args.days:g} days, interarrival {args.interarrival:g} s, "
          f"seed {args.seed}, best of {args.repeat}")
    t0 = time.perf_counter()
    simulate(small_scenario("fifo", 0.05, args.interarrival), args.seed)
    print(f"first call in this process (numba load/compile): {time.perf_counter() - t0:.2f} s")
    print(f"{'policy':<14} {'wall s':>8} {'events':>10} {'events/s':>10}")
    builtin = list(POLICIES)
    user = [resolve_policy(f"{EXAMPLES / 'my_policies.py'}:{name}").name
            for name in ("FifoByKey", "FewestQubitsFirst", "WeightedWait")]
    for policy in [*builtin, *user]:
        config = small_scenario(policy, args.days, args.interarrival, args.mode)
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            result = simulate(config, args.seed)
            best = min(best, time.perf_counter() - t0)
        events = int(result.summary["events"])
        print(f"{policy:<14} {best:>8.3f} {events:>10d} {events / best:>10.0f}")


if __name__ == "__main__":
    main()
