"""Compare the four quantum scheduling policies by simulation, with 95% confidence intervals.

The paper's small platform (one classical worker, four quantum computers,
admission thresholds of 40) under its trace-driven workload, shortened to
two simulated days so that the example runs in seconds: 8 seeds per policy.
For a given seed every policy sees the same jobs (common random numbers), so
the policies are also compared seed by seed, as paired differences.

Run:  python examples/compare_policies.py       (expected output: compare_policies.out)
"""

from hqsched import Platform, SimulationConfig, WorkloadSpec, run_replications, summarize, t_interval

POLICIES = ("fifo", "lifo", "random", "weighted")
SEEDS = range(8)
HOUR = 3600.0


def interval(row, scale=1.0, digits=2):
    """'mean [low, high]' of one row of summarize(), divided by scale."""
    m, lo, hi = (row[k] / scale for k in ("mean", "ci_low", "ci_high"))
    return f"{m:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def main():
    platform = Platform(classical_workers=1, worker_capacity_ops_per_s=1e9, quantum_computers=4,
                        max_classical=40, max_quantum=40)
    # A job every 10 minutes on average; qubits and priority drawn uniformly
    # from these sets, the rest of each job from the bundled traces.
    workload = WorkloadSpec(interarrival_s=600.0, qubits=(4, 6, 8, 10), priorities=(1, 2, 4))

    results = {}
    for policy in POLICIES:
        config = SimulationConfig(platform=platform, policy=policy, workload=workload,
                                  duration_s=48 * HOUR, warmup_s=6 * HOUR)
        # One replication per seed. processes=None would use every core; the
        # results are the same for any process count.
        results[policy] = run_replications(config, SEEDS, processes=1, progress=False)

    print(f"{len(SEEDS)} seeds x 48 h (6 h warm-up); mean [95% CI] across seeds")
    print(f"{'policy':<9}  {'drop probability':<20}  {'mean job time (h)':<20}  p95 job time (h)")
    for policy, runs in results.items():
        s = summarize(runs)  # DataFrame: one row per metric; columns mean, ci_low, ci_high, n
        print(f"{policy:<9}  {interval(s.loc['drop_probability'], digits=3):<20}  "
              f"{interval(s.loc['job_time_mean_s'], HOUR):<20}  "
              f"{interval(s.loc['job_time_p95_s'], HOUR)}")

    # Same seed, same jobs, only the policy differs: the interval of the
    # per-seed differences is far narrower than two separate intervals.
    print()
    print("mean job time minus FIFO's, paired by seed (h):")
    fifo = [r.summary["job_time_mean_s"] for r in results["fifo"]]
    for policy in POLICIES[1:]:
        other = [r.summary["job_time_mean_s"] for r in results[policy]]
        mean, low, high, n = t_interval([(b - a) / HOUR for a, b in zip(fifo, other)])
        print(f"  {policy:<9} {mean:+.2f} [{low:+.2f}, {high:+.2f}]  (n = {n})")


if __name__ == "__main__":
    main()
