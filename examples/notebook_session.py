"""A notebook session, as a script: simulate, compare policies in DataFrames and in the
report's job-time figure, solve an instance warm-started by the simulator, draw its Gantt chart.

Each ``# %%`` starts a cell: Jupyter (with jupytext), VS Code and PyCharm open
the file as a notebook, where the tables render as DataFrames, the figures
(matplotlib Figures, the same ones ``hqsched report`` writes) show inline and
the progress bars as widgets. As a script it prints the same tables and saves
the figures beside the chart.

Run:  python examples/notebook_session.py [GANTT.png]   (default: a temporary directory)
Expected output (run as ``python examples/notebook_session.py gantt.png``): notebook_session.out
"""

# %% Setup: the paper's small platform, its trace-driven workload, two simulated days
import sys
import tempfile
from pathlib import Path

import pandas as pd

from hqsched import (
    Platform,
    SimulationConfig,
    WorkloadSpec,
    best_online_schedule,
    gantt_figure,
    job_time_by_group_figure,
    run_replications,
    simulate,
    small_instance,
    solve,
    summarize,
)
from hqsched.reports.campaign_data import load

HOUR = 3600.0
platform = Platform(classical_workers=1, worker_capacity_ops_per_s=1e9, quantum_computers=4,
                    max_classical=40, max_quantum=40)
workload = WorkloadSpec(interarrival_s=600.0, qubits=(4, 6, 8, 10), priorities=(1, 2, 4))
pd.set_option("display.width", 120)

# %% One replication: its per-job records are a DataFrame
config = SimulationConfig(platform=platform, policy="fifo", workload=workload,
                          duration_s=48 * HOUR, warmup_s=6 * HOUR)
jobs = simulate(config, seed=0).to_frame()
print(f"seed 0, fifo: {len(jobs)} jobs in the window")
print(jobs.groupby("status").size().to_string())
print(jobs.groupby("qubits")["job_time_s"].mean().div(HOUR).round(2)
      .rename("mean job time (h)").to_string())

# %% Compare the policies over 4 seeds: one DataFrame, mean and 95% CI per policy
out = Path(sys.argv[1]).parent if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
results = out / "policies"  # one directory per policy, as `hqsched simulate --out` writes
rows = {}
for policy in ("fifo", "lifo", "random", "weighted"):
    runs = run_replications(SimulationConfig(platform=platform, policy=policy, workload=workload,
                                             duration_s=48 * HOUR, warmup_s=6 * HOUR),
                            range(4), results / policy, processes=1, progress=False)
    rows[policy] = summarize(runs).loc["job_time_mean_s", ["mean", "ci_low", "ci_high"]] / HOUR
comparison = pd.DataFrame(rows).T.round(2)
print("\nmean job time (h), 4 seeds, 95% CI")
print(comparison.to_string())

# %% The same runs in the report's figure (paper Fig. 10): job time by qubits per policy
by_qubits = job_time_by_group_figure(load(results), "qubits")  # a Figure; ax=... to place it
by_qubits.savefig(out / "job_time_by_qubits.png", bbox_inches="tight")
print(f"\nwrote {out / 'job_time_by_qubits.png'}: {by_qubits.axes[0].get_title()}")

# %% Solve a small instance, warm-started by the simulator's best online schedule
instance = small_instance(jobs=6, iterations=3, qubits=(4, 6, 8, 10), seed=1,
                          interarrival_s=20.0)
offline = Platform(classical_workers=1, worker_capacity_ops_per_s=1e9, quantum_computers=2)
warm = best_online_schedule(instance, offline)  # what solve(warm_start=True) starts from
print(f"\nbest online schedule: sum of delays {warm.sum_delays_s(instance):.2f} s")
optimum = solve(instance, offline, warm_start=warm, time_limit_s=60)
print(f"offline optimum: {optimum.objective:.2f} s, {optimum.status}")
schedule = optimum.schedule.to_frame()  # one row per task
print(schedule.groupby("kind")[["start_s", "end_s"]].agg({"start_s": "min", "end_s": "max"})
      .round(2).to_string())

# %% Its Gantt chart: a Figure (a notebook shows it inline; here it is saved)
figure = gantt_figure(optimum.schedule, instance,
                      title=f"optimal schedule, sum of delays {optimum.objective:.2f} s")
gantt = Path(sys.argv[1]) if len(sys.argv) > 1 else out / "gantt.png"
figure.savefig(gantt)
print(f"\nwrote {gantt}")
