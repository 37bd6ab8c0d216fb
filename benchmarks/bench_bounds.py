"""Scalable bounds benchmark (issue 16): a 1-day window of the paper's small scenario.

Usage: python benchmarks/bench_bounds.py [--load 0.8] [--seeds 0,1,2] [--search-time 20]
       [--weighted]

For each seed: the window of validation.gap_realistic (jobs of the small
scenario arriving in one day at quantum utilisation ``--load``, full trace
iteration counts, admission off, C = 1 and Q = 4), then for C = 1 (dedicated)
and C = infinity (serverless bound): the time of every lower bound of
formulation.bounds_scale (the best one is reported), the time of the best
upper bound (formulation.upper_bounds.upper_bound: list scheduling + local
search for ``--search-time`` s, checked), and UB / LB. The numba kernel is
compiled before timing. Target (issue 16): each under 60 s on 2 cores, UB /
LB <= 1.10. The machine's 1-minute load average is printed (shared cores).
"""

from __future__ import annotations

import argparse
import os
import time

from hqsched.formulation.bounds_scale import lower_bound
from hqsched.formulation.upper_bounds import list_schedule, upper_bound
from hqsched.instances.model import Instance
from hqsched.validation.gap_realistic import RealisticGapConfig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--load", type=float, default=0.8)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--search-time", type=float, default=20.0)
    ap.add_argument("--weighted", action="store_true")
    args = ap.parse_args()
    cfg = RealisticGapConfig(loads=(args.load,), weighted=args.weighted)
    warm = cfg.window(args.load, 0)
    warm_up = Instance(warm.jobs[:2], name="warm-up")
    list_schedule(warm_up, 1, 4, 1e9, check=False)  # compile the dispatcher before timing
    print(f"load {args.load:g}, 1-day windows, C = 1 / infinity, Q = 4, "
          f"{'weighted' if args.weighted else 'unweighted'}; load average "
          f"{os.getloadavg()[0]:.2f}")
    print(f"{'seed':>4} {'jobs':>5} {'tasks':>7} {'C':>4} {'LB time':>8} {'best LB':>12} "
          f"{'by':>14} {'UB time':>8} {'best UB':>12} {'by':>22} {'UB/LB':>6} {'UB/CP':>6}")
    for seed in (int(s) for s in args.seeds.split(",")):
        inst = cfg.window(args.load, seed)
        tasks = sum(j.task_count for j in inst.jobs)
        for c in (1, None):
            t0 = time.perf_counter()
            lb = lower_bound(inst, c, 4, 1e9, args.weighted)
            t_lb = time.perf_counter() - t0
            t0 = time.perf_counter()
            ub = upper_bound(inst, c, 4, 1e9, args.weighted, time_limit_s=args.search_time)
            t_ub = time.perf_counter() - t0
            cp = lb.values["critical_path"]
            print(f"{seed:>4} {len(inst):>5} {tasks:>7} {c or 'inf':>4} {t_lb:>7.1f}s "
                  f"{lb.best:>12.1f} {lb.best_name:>14} {t_ub:>7.1f}s {ub.objective:>12.1f} "
                  f"{ub.name:>22} {ub.objective / lb.best:>6.3f} {ub.objective / cp:>6.3f}")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
