"""Capacity planning: the fewest servers that meet a target, exactly and by simulation.

1. Exact, on a small instance: the cheapest (C, Q), at cost C + 3 Q, such
   that every job's delay stays within 40 s. Pairs are tried in cost order;
   each cheaper pair is proven infeasible, and the answer's schedule is
   checked independently.
2. By simulation, on a textbook queue: jobs whose only work is one
   exponential quantum task (mean 2.5 s), arriving once a second, queue for
   Q quantum computers as in an M/M/Q queue. The planner looks for the
   smallest Q with a mean job time under 4 s, with sequential t-tests over
   seeds; Erlang C gives the exact mean job time to compare with. The
   offered load is 2.5 Erlangs, so the search starts at Q = 3 (with fewer
   QCs the queue grows without bound).

Run:  python examples/plan_capacity.py       (expected output: plan_capacity.out)
"""

from hqsched import Distribution, Platform, SimulationConfig, SyntheticWorkload, small_instance
from hqsched.planning.exact import plan_exact
from hqsched.planning.simulated import Cost, Targets, plan_simulate
from hqsched.validation.queueing import mmc_mean_wait_s


def exact_plan():
    instance = small_instance(jobs=6, iterations=3, qubits=(4, 6, 8, 10), seed=1,
                              interarrival_s=20.0)
    plan = plan_exact(instance, "cost", delta_max_s=40.0, cost=Cost(classical=1.0, quantum=3.0),
                      classical_range=(1, 4), quantum_range=(1, 3), time_limit_s=30)
    print(f"1. exact: {len(instance)} jobs, every delay <= 40 s, cost C + 3 Q")
    for pair in plan.pairs:  # in increasing cost order, up to the answer
        print(f"   C={pair.classical} Q={pair.quantum} cost {pair.cost:g}: {pair.outcome}")
    print(f"   answer: C={plan.classical}, Q={plan.quantum}; schedule "
          f"{'verified' if plan.verified else 'NOT verified'}, "
          f"{'proven optimal' if plan.proven_optimal else 'not proven optimal'}")


def simulated_plan():
    arrival_rate, mean_service_s, target_s = 1.0, 2.5, 4.0
    # iterations=1 and no classical work: each job is one quantum task.
    workload = SyntheticWorkload(interarrival_s=1 / arrival_rate, iterations=1,
                                 quantum_s=Distribution.exponential(mean_service_s))
    base = SimulationConfig(platform=Platform(classical_workers=1, quantum_computers=1),
                            policy="fifo", workload=workload,
                            duration_s=4_000.0, warmup_s=400.0)
    result = plan_simulate(base, Targets(max_mean_job_time_s=target_s),
                           classical_range=(1, 1), quantum_range=(3, 8),
                           seeds=range(10), batch=5, processes=1)
    print(f"\n2. simulated: M/M/Q queue, mean job time <= {target_s:g} s, 10 seeds per candidate")
    for k in result.candidates:
        if not k.evaluated:
            print(f"   Q={k.quantum}: {k.verdict}")
            continue
        mean, low, high, n = k.interval("mean")
        exact = mean_service_s + mmc_mean_wait_s(k.quantum, arrival_rate, 1 / mean_service_s)
        print(f"   Q={k.quantum}: {k.verdict}; mean job time {mean:.3f} s [{low:.3f}, {high:.3f}] "
              f"over {n} seeds (Erlang C: {exact:.3f} s)")
    rec = result.recommended
    print(f"   answer: Q={rec.quantum}" + (" (significant)" if result.significant else ""))


if __name__ == "__main__":
    exact_plan()
    simulated_plan()
