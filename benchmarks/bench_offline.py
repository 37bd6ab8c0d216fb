"""Offline solver benchmark: solve time, proven optimality and gap vs instance size.

Usage: python benchmarks/bench_offline.py [--time-limit 60] [--quick] [--ablation]
       python benchmarks/bench_offline.py --c1-methods [--sizes 4x3,5x3,6x3,8x3]

Instances: small_instance(jobs, iterations, qubits 4,6,8,10, seed 1,
inter-arrival 20 s), S = 1e9 ops/s, unweighted sum of delays.
``--ablation`` re-solves one size without symmetry breaking, without the
energy cuts, without the local search (list heuristic only), and without
any heuristic MIP start, to measure each.
``--c1-methods`` compares, with C = 1 and Q = 2, the default model with the
C = 1 options of solve_delays (subset cuts, interference cuts; see
formulation/solve.py): status, objective, bound, gap, time.
The machine's 1-minute load average is printed before and after each row:
HiGHS's time limit is wall-clock, so a loaded machine (shared cores) gets
less done in the same limit; compare rows only at similar load.
"""

from __future__ import annotations

import argparse
import os

from hqsched.formulation.generate import small_instance
from hqsched.formulation.solve import lp_bound, solve_delays

SIZES = [(4, 2, 1, 1), (4, 3, 1, 2), (6, 2, 1, 2), (6, 3, 1, 2), (8, 2, 1, 2), (8, 3, 1, 2),
         (8, 3, 2, 2), (8, 3, None, 2), (10, 3, 1, 2), (12, 3, None, 2)]


def row(label, jobs, its, c, q, res, lp=None, load=None):
    gap = "-" if res.rel_gap is None else f"{100 * res.rel_gap:.2f}%"
    obj = "-" if res.objective is None else f"{res.objective:.3f}"
    bnd = "-" if res.best_bound is None else f"{res.best_bound:.3f}"
    lpv = "" if lp is None else f"{lp:.3f}"
    print(f"{label:<14}{jobs:>4}x{its:<3}{jobs * (2 * its + 2):>6} {str(c if c else 'inf'):>4}{q:>3} "
          f"{res.status:>9} {obj:>11} {bnd:>11} {gap:>8} {res.solve_time_s:>7.2f} "
          f"{res.n_binaries:>6} {res.n_constraints:>6} {lpv:>10} "
          f"{'' if load is None else f'{load:.1f}->{os.getloadavg()[0]:.1f}':>10}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--quick", action="store_true", help="first four sizes only")
    ap.add_argument("--ablation", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--c1-methods", action="store_true")
    ap.add_argument("--sizes", default="4x3,5x3,6x2,6x3,8x2,8x3",
                    help="jobs x iterations list for --c1-methods")
    ap.add_argument("--methods", default="default,subset,interference",
                    help="comma list for --c1-methods")
    args = ap.parse_args()
    print(f"{'variant':<14}{'size':>8}{'tasks':>6} {'C':>4}{'Q':>3} {'status':>9} {'objective':>11} "
          f"{'bound':>11} {'gap':>8} {'time_s':>7} {'bins':>6} {'rows':>6} {'LP bound':>10} {'load':>10}")
    if args.c1_methods:
        variants = {"default": {}, "subset": {"subset_cuts": True},
                    "interference": {"interference_cuts": True}}
        for size in args.sizes.split(","):
            jobs, its = (int(x) for x in size.split("x"))
            inst = small_instance(jobs, its, (4, 6, 8, 10), seed=args.seed, interarrival_s=20)
            for label in args.methods.split(","):
                load = os.getloadavg()[0]
                res = solve_delays(inst, 1, 2, time_limit_s=args.time_limit, **variants[label])
                row(label, jobs, its, 1, 2, res, load=load)
        return
    sizes = SIZES[:4] if args.quick else SIZES
    if not args.ablation:
        for jobs, its, c, q in sizes:
            inst = small_instance(jobs, its, (4, 6, 8, 10), seed=args.seed, interarrival_s=20)
            load = os.getloadavg()[0]
            res = solve_delays(inst, c, q, time_limit_s=args.time_limit)
            lp = lp_bound(inst, c, q).best_bound
            row("default", jobs, its, c, q, res, lp, load)
        return
    jobs, its, c, q = (6, 3, 1, 2)
    inst = small_instance(jobs, its, (4, 6, 8, 10), seed=args.seed, interarrival_s=20)
    for label, kw in [("default", {}), ("no-symmetry", {"symmetry_breaking": False}),
                      ("no-energy-cuts", {"energy_cuts": False}),
                      ("no-local-search", {"local_search_evaluations": 0}),
                      ("no-mip-start", {"heuristic_incumbent": False})]:
        load = os.getloadavg()[0]
        row(label, jobs, its, c, q, solve_delays(inst, c, q, time_limit_s=args.time_limit, **kw),
            load=load)


if __name__ == "__main__":
    main()
