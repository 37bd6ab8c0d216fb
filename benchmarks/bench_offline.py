"""Offline solver benchmark: solve time, proven optimality and gap vs instance size.

Usage: python benchmarks/bench_offline.py [--time-limit 60] [--quick] [--ablation]
       python benchmarks/bench_offline.py --c1-methods [--sizes 4x3,5x3,6x3,8x3]
       python benchmarks/bench_offline.py --bnb [--sizes ...] [--bnb-ablation]
       python benchmarks/bench_offline.py --trace-methods [--sizes ...] [--classical 1,2]
           [--method-list auto,bnb,cpsat,milp]

Instances: small_instance(jobs, iterations, qubits 4,6,8,10, seed 1,
inter-arrival 20 s), S = 1e9 ops/s, unweighted sum of delays.
``--ablation`` re-solves one size with the MILP without symmetry breaking, without the
energy cuts, without the local search (list heuristic only), and without
any heuristic MIP start, to measure each.
The default table uses solve_delays' default method: the branch and bound
(formulation/bnb.py) for C = 1, the MILP otherwise (column "method"; the
last size columns are the MILP's binaries and rows, or the B&B's nodes).
``--c1-methods`` compares, with C = 1 and Q = 2, the default (branch and
bound), the plain MILP and the MILP's C = 1 options (subset cuts,
interference cuts; see formulation/solve.py).
``--bnb`` runs the exact C = 1 branch and bound (formulation/bnb.py) with
Q = 2 instead of the MILP: the incumbent is the project's heuristic
(list_schedule + local_search, at most 5 s, counted in the time), the
numba kernels are compiled before timing. ``--bnb-ablation`` re-solves the
last size with each B&B option switched off in turn.
``--trace-methods`` solves each size with each method of ``--method-list``
and C in ``--classical`` (Q = 2; bnb only for C = 1): the measurements
behind ``--method auto`` (B&B for C = 1, CP-SAT otherwise; issue 18). The
random small instances of issue 18 (proven counts, median and p95 times per
method and C, minimal capacity): benchmarks/bench_cpsat_random.py.
The machine's 1-minute load average is printed before and after each row:
HiGHS's time limit is wall-clock, so a loaded machine (shared cores) gets
less done in the same limit; compare rows only at similar load.
"""

from __future__ import annotations

import argparse
import os
import time

from hqsched.formulation.options import BnbOptions, ModelOptions, SolveOptions
from hqsched.formulation.solve import lp_bound, solve_delays
from hqsched.instances.generate import small_instance

SIZES = [(4, 2, 1, 1), (4, 3, 1, 2), (6, 2, 1, 2), (6, 3, 1, 2), (8, 2, 1, 2), (8, 3, 1, 2),
         (8, 3, 2, 2), (8, 3, None, 2), (10, 3, 1, 2), (12, 3, None, 2)]


def row(label, jobs, its, c, q, res, lp=None, load=None):
    gap = "-" if res.rel_gap is None else f"{100 * res.rel_gap:.2f}%"
    obj = "-" if res.objective is None else f"{res.objective:.3f}"
    bnd = "-" if res.best_bound is None else f"{res.best_bound:.3f}"
    lpv = "" if lp is None else f"{lp:.3f}"
    method = res.details.get("method", "milp")
    size = (f"{res.details['nodes']:>13}" if method == "bnb"
            else f"{res.n_binaries:>6} {res.n_constraints:>6}")
    print(f"{label:<14}{jobs:>4}x{its:<3}{jobs * (2 * its + 2):>6} {str(c if c else 'inf'):>4}{q:>3} "
          f"{method:>6} {res.status:>9} {obj:>11} {bnd:>11} {gap:>8} {res.solve_time_s:>7.2f} "
          f"{size} {lpv:>10} "
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
    ap.add_argument("--methods", default="default,milp,subset,interference",
                    help="comma list for --c1-methods")
    ap.add_argument("--bnb", action="store_true", help="C = 1 branch and bound instead of the MILP")
    ap.add_argument("--bnb-ablation", action="store_true")
    ap.add_argument("--trace-methods", action="store_true",
                    help="each --sizes size with each method of --method-list and C of --classical")
    ap.add_argument("--classical", default="1,2", help="C values for --trace-methods")
    ap.add_argument("--method-list", default="auto,bnb,cpsat,milp",
                    help="methods for --trace-methods")
    args = ap.parse_args()
    if args.bnb:
        bnb_table(args)
        return
    if args.trace_methods:
        trace_methods_table(args)
        return
    print(f"{'variant':<14}{'size':>8}{'tasks':>6} {'C':>4}{'Q':>3} {'method':>6} {'status':>9} "
          f"{'objective':>11} {'bound':>11} {'gap':>8} {'time_s':>7} {'bins  rows|nodes':>13} "
          f"{'LP bound':>10} {'load':>10}")
    if args.c1_methods:
        variants = {"default": {}, "milp": {"method": "milp"}, "subset": {"subset_cuts": True},
                    "interference": {"model": ModelOptions(interference_cuts=True)}}
        for size in args.sizes.split(","):
            jobs, its = (int(x) for x in size.split("x"))
            inst = small_instance(jobs, its, (4, 6, 8, 10), seed=args.seed, interarrival_s=20)
            for label in args.methods.split(","):
                load = os.getloadavg()[0]
                res = solve_delays(inst, 1, 2, options=SolveOptions(time_limit_s=args.time_limit,
                                                                    **variants[label]))
                row(label, jobs, its, 1, 2, res, load=load)
        return
    sizes = SIZES[:4] if args.quick else SIZES
    if not args.ablation:
        for jobs, its, c, q in sizes:
            inst = small_instance(jobs, its, (4, 6, 8, 10), seed=args.seed, interarrival_s=20)
            load = os.getloadavg()[0]
            res = solve_delays(inst, c, q, options=SolveOptions(time_limit_s=args.time_limit))
            lp = lp_bound(inst, c, q).best_bound
            row("default", jobs, its, c, q, res, lp, load)
        return
    jobs, its, c, q = (6, 3, 1, 2)
    inst = small_instance(jobs, its, (4, 6, 8, 10), seed=args.seed, interarrival_s=20)
    for label, kw in [("default", {}),
                      ("no-symmetry", {"model": ModelOptions(symmetry_breaking=False)}),
                      ("no-energy-cuts", {"model": ModelOptions(energy_cuts=False)}),
                      ("no-local-search", {"local_search_evaluations": 0}),
                      ("no-mip-start", {"heuristic_incumbent": False})]:
        load = os.getloadavg()[0]
        options = SolveOptions(time_limit_s=args.time_limit, **{"method": "milp", **kw})
        row(label, jobs, its, c, q, solve_delays(inst, c, q, options=options), load=load)


def trace_methods_table(args) -> None:
    """Every method on the trace instances of --sizes, C in --classical, Q = 2."""
    print(f"{'method':<14}{'size':>8}{'tasks':>6} {'C':>4}{'Q':>3} {'used':>6} {'status':>9} "
          f"{'objective':>11} {'bound':>11} {'gap':>8} {'time_s':>7} {'size|nodes':>13} "
          f"{'':>10} {'load':>10}")
    for size in args.sizes.split(","):
        jobs, its = (int(x) for x in size.split("x"))
        inst = small_instance(jobs, its, (4, 6, 8, 10), seed=args.seed, interarrival_s=20)
        for c in (int(x) for x in args.classical.split(",")):
            for method in args.method_list.split(","):
                if method == "bnb" and c != 1:
                    continue
                load = os.getloadavg()[0]
                res = solve_delays(inst, c, 2, options=SolveOptions(time_limit_s=args.time_limit,
                                                                    method=method))
                row(method, jobs, its, c, 2, res, load=load)


def bnb_table(args) -> None:
    from hqsched.formulation.bnb import branch_and_bound
    from hqsched.formulation.problem import OfflineProblem
    from hqsched.formulation.repair import list_schedule, local_search

    # compile (or load the numba cache) outside the timings
    warm = OfflineProblem(small_instance(3, 1, (4, 6), seed=0, interarrival_s=20), 1, 2, 1e9)
    branch_and_bound(warm, False, options=BnbOptions(time_limit_s=5))
    print(f"{'variant':<16}{'size':>6}{'tasks':>6} {'C':>2}{'Q':>2} {'status':>9} {'objective':>10} "
          f"{'bound':>10} {'gap':>7} {'root LB':>9} {'nodes':>9} {'heur_s':>6} {'time_s':>7} {'load':>10}")
    variants = [("default", {})]
    if args.bnb_ablation:
        variants += [("rule0 (GT)", {"rule": 0}), ("no-memo", {"memo": False}),
                     ("bound-level2", {"bound_level": 2}), ("bound-level1", {"bound_level": 1}),
                     ("list-incumbent", {"_list": True})]
    sizes = args.sizes.split(",")
    if args.bnb_ablation:
        sizes = sizes[-1:]
    for size in sizes:
        jobs, its = (int(x) for x in size.split("x"))
        inst = small_instance(jobs, its, (4, 6, 8, 10), seed=args.seed, interarrival_s=20)
        p = OfflineProblem(inst, 1, 2, 1e9)
        for label, kw in variants:
            kw = dict(kw)
            load = os.getloadavg()[0]
            t0 = time.perf_counter()
            inc = list_schedule(p)
            if not kw.pop("_list", False):
                inc = local_search(p, [inc], evaluations=20000, time_limit_s=5.0)
            heur = time.perf_counter() - t0
            res = branch_and_bound(p, False, inc, BnbOptions(time_limit_s=max(args.time_limit - heur, 0.0),
                                                             **kw))
            gap = (res.objective - res.bound) / max(abs(res.objective), 1e-9)
            print(f"{label:<16}{size:>6}{jobs * (2 * its + 2):>6} {1:>2}{2:>2} {res.status:>9} "
                  f"{res.objective:>10.3f} {res.bound:>10.3f} {100 * gap:>6.2f}% {res.root_bound:>9.3f} "
                  f"{res.nodes:>9} {heur:>6.1f} {heur + res.time_s:>7.1f} "
                  f"{f'{load:.1f}->{os.getloadavg()[0]:.1f}':>10}", flush=True)


if __name__ == "__main__":
    main()
