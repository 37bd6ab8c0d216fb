"""The SimPy model against the compiled kernel: one replication of the small scenario.

    python benchmarks/bench_simpy.py [--days 7] [--policies fifo,weighted,las,aging]
                                     [--mode serverless|dedicated] [--repeat 3]

For each policy: wall time of one replication on each engine (kernel: best
of ``--repeat``, after a first call that loads numba's compiled loop; SimPy:
one run, it does not vary much), events processed (summary["events"]),
events/s, the slowdown, and whether the per-job records and the summary are
bit-identical (they must be: tests/test_simpy_model.py). The scenario is
``bench_online.small_scenario`` (Table 2 "small").
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from bench_online import small_scenario

from hqsched.online import engine, simpy_model
from hqsched.online.config import JOB_FIELDS, ReplicationResult
from hqsched.online.policies import POLICIES


def identical(a: ReplicationResult, b: ReplicationResult) -> bool:
    """Same per-job records and summary, bit for bit (NaN equal to NaN)."""
    assert a.jobs is not None and b.jobs is not None
    same_jobs = all(np.array_equal(a.jobs[n], b.jobs[n], equal_nan=a.jobs[n].dtype.kind == "f")
                    for n in JOB_FIELDS)
    same_summary = all(a.summary[k] == b.summary[k]
                       or (math.isnan(a.summary[k]) and math.isnan(b.summary[k]))
                       for k in a.summary)
    return same_jobs and same_summary


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=7.0, help="simulated days (default 7)")
    ap.add_argument("--interarrival", type=float, default=600.0,
                    help="mean inter-arrival time, s (default 600)")
    ap.add_argument("--policies", default="fifo,weighted,las,aging",
                    help="comma list, or all (default fifo,weighted,las,aging)")
    ap.add_argument("--mode", choices=("serverless", "dedicated"), default="serverless")
    ap.add_argument("--repeat", type=int, default=3, help="kernel runs per policy; best kept")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    policies = list(POLICIES) if args.policies == "all" else args.policies.split(",")

    print(f"small scenario, {args.mode}, {args.days:g} days, interarrival {args.interarrival:g} s, "
          f"seed {args.seed}")
    engine.simulate(small_scenario("fifo", 0.05, args.interarrival), args.seed)  # numba load
    print(f"{'policy':<12} {'events':>9} {'kernel s':>9} {'simpy s':>8} {'kernel ev/s':>12} "
          f"{'simpy ev/s':>11} {'slowdown':>9}  identical")
    for policy in policies:
        config = small_scenario(policy, args.days, args.interarrival, args.mode)
        kernel_s = math.inf
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            kernel = engine.simulate(config, args.seed)
            kernel_s = min(kernel_s, time.perf_counter() - t0)
        t0 = time.perf_counter()
        model = simpy_model.simulate(config, args.seed)
        simpy_s = time.perf_counter() - t0
        events = kernel.summary["events"]
        print(f"{policy:<12} {events:>9.0f} {kernel_s:>9.3f} {simpy_s:>8.2f} "
              f"{events / kernel_s:>12.3g} {events / simpy_s:>11.3g} {simpy_s / kernel_s:>8.0f}x"
              f"  {'yes' if identical(kernel, model) else 'NO'}")


if __name__ == "__main__":
    main()
