"""CP-SAT next to the B&B and the MILP on random small instances (issue 18).

Usage: python benchmarks/bench_cpsat_random.py [--instances 150] [--time-limit 60]
           [--out benchmarks/results/cpsat_random.jsonl] [--only-table]

Instances (``instance(k)``, deterministic in k): 5-12 jobs, 20-48 tasks,
C in {1, 2, 3}, Q in {1, 2, 3}, weighted for odd k; even k//2 integer
durations (many ties, zero-length classical tasks), odd k//2 real ones.
Per instance, the sum of delays by ``--method auto`` (today's: B&B for
C = 1, CP-SAT otherwise), by the method auto used before issue 18 (B&B for
C = 1, the MILP otherwise: "before") and by ``cpsat`` where it differs from
auto (C = 1); and minimal classical capacity under delta_max = 1.5 x the
longest chain and 2.5 x the mean chain (a bound where C - 1 is often
infeasible), by feasibility through CP-SAT first ("auto") and by the MILP alone.

Resumable: one JSON line per (instance, question, method) in ``--out``;
a rerun skips the lines present (same time limit only: the file's first
line records it). The table: proven counts, median and p95 solve time per
method and C; the machine's load average is printed (wall-clock limits:
a loaded machine proves less in the same limit).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from pathlib import Path

from hqsched.formulation.options import SolveOptions
from hqsched.formulation.solve import solve_delays, solve_min_capacity
from hqsched.instances.model import Instance, constant_chain_job


def instance(k: int) -> tuple[Instance, int, int, bool]:
    """Instance k, its C, Q and whether the objective is weighted."""
    rng = random.Random(1_000_003 * k + 18)
    integer = (k // 2) % 2 == 0
    n_jobs = rng.randint(5, 12)
    target = rng.randint(max(20, 2 * n_jobs), 48)
    iterations = [0] * n_jobs
    while sum(2 * n + 2 for n in iterations) + 2 <= target:
        iterations[rng.randrange(n_jobs)] += 1

    def classical() -> float:
        return float(rng.choice([0, 0, 1, 1, 2, 3, 5, 8])) if integer else \
            rng.choice([0.0, rng.uniform(0.01, 8.0)])

    def quantum() -> float:
        return float(rng.randint(1, 6)) if integer else rng.uniform(0.05, 6.0)

    t, jobs = 0.0, []
    for j, n in enumerate(iterations):
        jobs.append(constant_chain_job(j, t, 4, rng.choice([1, 2, 4]), classical(), classical(),
                                       quantum(), classical(), n))
        gap = rng.expovariate(1 / 4.0)
        t += float(round(gap)) if integer else gap
    return (Instance(tuple(jobs), name=f"random-{k}"), rng.choice([1, 2, 3]), rng.choice([1, 2, 3]),
            k % 2 == 1)


def _deltas(inst: Instance) -> list[float]:
    chains = [sum(t.duration_s(1.0) for t in j.tasks()) for j in inst.jobs]
    return [1.5 * max(chains), 2.5 * sum(chains) / len(chains)]


def units(k: int) -> list[tuple[str, str]]:
    """(question, method) pairs of instance k."""
    _, c, _, _ = instance(k)
    delays = [("delays", "auto"), ("delays", "before")] + ([("delays", "cpsat")] if c == 1 else [])
    caps = [(f"mincap{i}", m) for i in range(2) for m in ("auto", "milp")]
    return delays + caps


def run_unit(k: int, question: str, method: str, limit: float) -> dict:
    inst, c, q, weighted = instance(k)
    t0 = time.perf_counter()
    if question == "delays":
        real = method if method != "before" else ("bnb" if c == 1 else "milp")
        res = solve_delays(inst, c, q, 1.0, SolveOptions(weighted=weighted, time_limit_s=limit,
                                                         method=real))
    else:
        delta = _deltas(inst)[int(question[-1])]
        res = solve_min_capacity(inst, "classical", delta, 1, q, 1.0, limit, method)
    return {"k": k, "question": question, "method": method, "C": c, "Q": q,
            "tasks": sum(j.task_count for j in inst.jobs), "weighted": weighted,
            "status": res.status, "objective": res.objective, "bound": res.best_bound,
            "solve_s": res.solve_time_s, "wall_s": time.perf_counter() - t0,
            "used": res.details.get("method", "milp"), "proofs": res.details.get("proofs")}


def _load(out: Path, limit: float) -> dict[tuple, dict]:
    done: dict[tuple, dict] = {}
    if not out.exists():
        return done
    lines = out.read_text().splitlines()
    head = json.loads(lines[0])
    if head.get("time_limit_s") != limit:
        raise SystemExit(f"{out}: made with --time-limit {head.get('time_limit_s')}, not {limit}")
    for line in lines[1:]:
        try:
            r = json.loads(line)
        except json.JSONDecodeError:  # a line cut by an interruption: redo that unit
            continue
        done[(r["k"], r["question"], r["method"])] = r
    return done


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p * (len(xs) - 1))))] if xs else float("nan")


def table(rows: list[dict]) -> None:
    print(f"{'question':<8} {'method':<7} {'C':>2} {'n':>4} {'proven':>7} {'median_s':>9} "
          f"{'p95_s':>8}")
    keys = sorted({(("delays" if r["question"] == "delays" else "mincap"), r["method"], r["C"])
                   for r in rows})
    for question, method, c in keys + [(qq, m, 0) for qq, m in sorted({
            (("delays" if r["question"] == "delays" else "mincap"), r["method"]) for r in rows})]:
        sel = [r for r in rows if ("delays" if r["question"] == "delays" else "mincap") == question
               and r["method"] == method and (c == 0 or r["C"] == c)]
        times = [r["solve_s"] for r in sel]
        proven = sum(r["status"] in ("optimal", "infeasible") for r in sel)
        print(f"{question:<8} {method:<7} {c or 'all':>2} {len(sel):>4} {proven:>7} "
              f"{statistics.median(times):>9.3f} {_pct(times, 0.95):>8.3f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--instances", type=int, default=150)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--out", default="benchmarks/results/cpsat_random.jsonl")
    ap.add_argument("--only-table", action="store_true")
    args = ap.parse_args()
    out = Path(args.out)
    done = _load(out, args.time_limit)
    if not args.only_table:
        out.parent.mkdir(parents=True, exist_ok=True)
        if not out.exists():
            out.write_text(json.dumps({"time_limit_s": args.time_limit}) + "\n")
        print(f"load {os.getloadavg()[0]:.1f}", flush=True)
        for k in range(args.instances):
            for question, method in units(k):
                if (k, question, method) in done:
                    continue
                r = run_unit(k, question, method, args.time_limit)
                with out.open("a") as f:
                    f.write(json.dumps(r) + "\n")
                done[(k, question, method)] = r
            print(f"instance {k} done, load {os.getloadavg()[0]:.1f}", flush=True)
    table([r for (k, _, _), r in done.items() if k < args.instances])


if __name__ == "__main__":
    main()
