"""Solve a small instance to optimality, compare the online policies with it, draw a Gantt chart.

Six jobs of three iterations drawn from the bundled traces, on one classical
server and two quantum computers. The offline optimum (every job known in
advance) is the least possible sum of delays; each online policy, run on
the same jobs with dedicated servers, can only do worse. The same holds in
serverless mode against the C = infinity bound.

Run:  python examples/solve_and_gantt.py [GANTT.png]   (default: a temporary directory)
Expected output (run as ``python examples/solve_and_gantt.py gantt.png``): solve_and_gantt.out
"""

import math
import sys
import tempfile
from pathlib import Path

from hqsched import Platform, SimulationConfig, simulate, small_instance, solve
from hqsched.reports.gantt import write_gantt

POLICIES = ("fifo", "lifo", "random", "weighted")


def online_sum_of_delays(instance, platform, policy, mode):
    """Sum of job times (s) of one online run of ``instance``, until every job completes."""
    config = SimulationConfig(platform=platform, policy=policy, classical_mode=mode,
                              instance=instance, duration_s=math.inf)
    jobs = simulate(config, seed=0).jobs
    assert all(status == "completed" for status in jobs["status"])
    return float(jobs["job_time_s"].sum())


def main():
    gantt = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()) / "gantt.png"

    # 6 jobs, Poisson arrivals every 20 s on average, 3 iterations each.
    instance = small_instance(jobs=6, iterations=3, qubits=(4, 6, 8, 10), seed=1,
                              interarrival_s=20.0)
    # Admission thresholds left at None: offline and online both accept every job.
    platform = Platform(classical_workers=1, worker_capacity_ops_per_s=1e9, quantum_computers=2)

    print(f"{'job':>3}  {'arrival (s)':>11}  {'qubits':>6}  {'pre (s)':>7}  {'quantum (s)':>11}"
          f"  {'post (s)':>8}")
    for job in instance.jobs:
        s = platform.worker_capacity_ops_per_s
        print(f"{job.job_id:>3}  {job.arrival_s:11.2f}  {job.qubits:>6}  {job.pre_ops / s:7.2f}"
              f"  {job.iterations} x {job.quantum_s[0]:5.2f}  {job.post_ops / s:8.3f}")

    optimum = solve(instance, platform, time_limit_s=60)
    if optimum.schedule is None:  # "error" or no schedule within the time limit
        sys.exit(f"no schedule: {optimum.summary()}")
    # Wall-clock times are printed as "[... s wall]": the example's test ignores them.
    print(f"\ndedicated servers: optimum {optimum.objective:.2f} s, {optimum.status} "
          f"[{optimum.solve_time_s:.2f} s wall]")
    for policy in POLICIES:
        online = online_sum_of_delays(instance, platform, policy, "dedicated")
        print(f"  {policy:<9} {online:8.2f} s  = {online / optimum.objective:.3f} x optimum")

    bound = solve(instance, platform, relax_classical=True, time_limit_s=60)
    print(f"serverless (processor sharing): C = infinity bound {bound.objective:.2f} s, "
          f"{bound.status} [{bound.solve_time_s:.2f} s wall]")
    for policy in POLICIES:
        online = online_sum_of_delays(instance, platform, policy, "serverless")
        print(f"  {policy:<9} {online:8.2f} s  = {online / bound.objective:.3f} x bound")

    write_gantt(optimum.schedule, gantt, instance,
                title=f"{instance.name}: optimal schedule, sum of delays {optimum.objective:.2f} s")
    print(f"\nwrote {gantt}")


if __name__ == "__main__":
    main()
