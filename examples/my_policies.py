"""Scheduling policies written by a user, in their own file (no edit of hqsched).

Run one from the command line:

    hqsched simulate --policy examples/my_policies.py:FewestQubitsFirst --duration 2d

or from Python: ``SimulationConfig(..., policy=FewestQubitsFirst)``. A policy
is a ``hqsched.Policy`` subclass with a static ``key(task, now)``: the pending
quantum task with the smallest key runs next (ties: first pending first).
numba compiles the key, so it runs inside the simulator's compiled loop.
"""

from hqsched import Policy


class FewestQubitsFirst(Policy):
    """Jobs on fewer qubits first; among equal qubits, the higher priority first.

    Small circuits are short on today's backends, so this is a size-based rule
    that needs no duration estimate."""

    name = "fewest-qubits"
    description = "fewest qubits first, then highest priority"

    @staticmethod
    def key(task, now):
        return task.qubits - task.priority / 100.0


class WeightedWait(Policy):
    """Highest priority x waiting time first, evaluated at every pick (``dynamic``)."""

    name = "weighted-wait"
    description = "highest priority x time waited so far"
    dynamic = True

    @staticmethod
    def key(task, now):
        return -task.priority * (now - task.queued_at)


class FifoByKey(Policy):
    """First pending first, written as a key policy: the same order as built-in fifo
    (used by benchmarks/bench_online.py to measure what a user key costs)."""

    name = "fifo-key"
    description = "first pending first, as a user key"

    @staticmethod
    def key(task, now):
        return task.queued_at


def main():
    """Run the policies above from Python next to two built-ins (4 seeds x 2 days)."""
    from hqsched import Platform, SimulationConfig, WorkloadSpec, run_replications, summarize

    platform = Platform(classical_workers=1, worker_capacity_ops_per_s=1e9, quantum_computers=4,
                        max_classical=40, max_quantum=40)
    workload = WorkloadSpec(interarrival_s=600.0, qubits=(4, 6, 8, 10), priorities=(1, 2, 4))
    print("4 seeds x 48 h (6 h warm-up); mean [95% CI] across seeds")
    print(f"{'policy':<14} {'drop probability':<22} {'mean job time (h)':<22} censored/seed")
    means = {}
    for policy in ("fifo", "las", FifoByKey, FewestQubitsFirst, WeightedWait):
        config = SimulationConfig(platform=platform, policy=policy, workload=workload,
                                  duration_s=48 * 3600.0, warmup_s=6 * 3600.0)
        s = summarize(run_replications(config, range(4), processes=1, progress=False))
        drop, time = s.loc["drop_probability"], s.loc["job_time_mean_s"] / 3600.0
        means[config.policy] = time["mean"]
        print(f"{config.policy:<14} {drop['mean']:.3f} [{drop['ci_low']:.3f}, "
              f"{drop['ci_high']:.3f}]   {time['mean']:.2f} [{time['ci_low']:.2f}, "
              f"{time['ci_high']:.2f}]      {s.loc['censored', 'mean']:.1f}")
    print(f"fifo-key equals fifo: {means['fifo-key'] == means['fifo']}")


if __name__ == "__main__":
    main()
