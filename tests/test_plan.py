"""Capacity planning (issue 6): exact plans are verified, simulated plans find the textbook answer.

Exact plans use S = 1 op/s so that classical work equals seconds. The
simulated plan is checked against M/M/c: quantum-only jobs (one exponential
quantum task between zero-work classical tasks, admission off) queue for Q
quantum computers exactly as an M/M/Q queue, whose mean waiting time is
Erlang C.
"""

from __future__ import annotations

import pytest
from conftest import chain_job

from hqsched.cli import main
from hqsched.formulation.checker import check_schedule
from hqsched.instances.model import Instance, Platform
from hqsched.instances.synthetic import Distribution, SyntheticWorkload
from hqsched.online.config import SimulationConfig
from hqsched.planning import sequential as ps
from hqsched.planning.exact import plan_exact
from hqsched.planning.simulated import Cost, Targets, format_report, parse_cost, plan_simulate
from hqsched.reports.plan_figure import write_figure
from hqsched.validation.queueing import mmc_mean_wait_s

job = chain_job  # (job_id, arrival_s, pre, post, iterations, it, q)


def delays(inst, schedule):
    done = schedule.completion_s()
    return [done[j.job_id] - j.arrival_s for j in inst.jobs]


# -- 1. exact plans are verified ---------------------------------------------

def test_exact_minimal_classical_meets_every_bound_and_one_fewer_is_proven_infeasible():
    # Three jobs at 0, pre 10 s, post 1 s, delta_max 11 s: no job may wait, so C = 3.
    inst = Instance(tuple(job(i, 0.0, 10.0, 1.0) for i in range(3)))
    plan = plan_exact(inst, "classical", 11.0, quantum=1, worker_capacity_ops_per_s=1.0,
                      time_limit_s=30)
    assert (plan.classical, plan.quantum) == (3, 1)
    assert plan.verified and plan.proven_optimal
    assert check_schedule(inst, plan.schedule, 3, 1, 1.0) == []
    assert max(delays(inst, plan.schedule)) <= 11.0 + 1e-9
    assert plan.below.startswith("C=2: infeasible")


def test_exact_cost_plan_proves_every_cheaper_pair_infeasible():
    # Two jobs at 0: pre 1, one iteration (classical 1, quantum 10), post 1; delta_max = the
    # chain length 13 s, so neither job may ever wait: (C, Q) = (2, 2) is the only answer.
    inst = Instance(tuple(job(i, 0.0, 1.0, 1.0, iterations=1, it=1.0, q=10.0) for i in range(2)))
    plan = plan_exact(inst, "cost", 13.0, worker_capacity_ops_per_s=1.0, time_limit_s=30,
                      cost=Cost(1.0, 3.0), classical_range=(1, 3), quantum_range=(1, 3))
    assert (plan.classical, plan.quantum) == (2, 2)
    assert plan.verified and plan.proven_optimal
    assert check_schedule(inst, plan.schedule, 2, 2, 1.0) == []
    assert max(delays(inst, plan.schedule)) <= 13.0 + 1e-9
    cheaper = [p for p in plan.pairs if p.cost < 2 + 3 * 2]
    assert cheaper and all(p.outcome.startswith("infeasible") for p in cheaper)
    assert [(p.classical, p.quantum) for p in plan.pairs][-1] == (2, 2)


def test_exact_plan_cli_prints_the_verified_answer(tmp_path, capsys):
    from hqsched.instances.io import write_instance
    path = tmp_path / "inst.json"
    write_instance(Instance(tuple(job(i, 0.0, 10.0, 1.0) for i in range(2))), path)
    code = main(["plan", "exact", str(path), "--minimize", "classical", "--delta-max", "11",
                 "--worker-capacity", "1", "--quantum-computers", "1"])
    out = capsys.readouterr().out
    assert code == 0
    assert "answer: C=2, Q=1" in out and "proven optimal" in out and "C=1: infeasible" in out


# -- 2. simulation planning finds the M/M/c answer ----------------------------

LAMBDA, MEAN_SERVICE = 1.0, 2.5          # a = 2.5 Erlangs
WAIT_TARGET_S = 1.5                      # Erlang C: W_q(3) = 3.51 s, W_q(4) = 0.53 s


def analytic_servers() -> int:
    return next(c for c in range(1, 50)
                if c > LAMBDA * MEAN_SERVICE and mmc_mean_wait_s(c, LAMBDA, 1 / MEAN_SERVICE)
                < WAIT_TARGET_S)


def mmc_base() -> SimulationConfig:
    workload = SyntheticWorkload(interarrival_s=1 / LAMBDA, iterations=1,
                                 quantum_s=Distribution.exponential(MEAN_SERVICE))
    platform = Platform(classical_workers=1, worker_capacity_ops_per_s=1e9, quantum_computers=1,
                        max_classical=None, max_quantum=None)
    return SimulationConfig(platform=platform, policy="fifo", duration_s=10_000.0,
                            warmup_s=1_000.0, workload=workload)


MEAN_TARGET_S = WAIT_TARGET_S + MEAN_SERVICE   # job time = wait + service (classical tasks: 0 s)


@pytest.fixture(scope="module")
def mmc_plan(tmp_path_factory):
    out = tmp_path_factory.mktemp("mmc")
    return plan_simulate(mmc_base(), Targets(max_mean_job_time_s=MEAN_TARGET_S),
                         classical_range=(1, 1), quantum_range=(1, 8), cost=Cost(1.0, 1.0),
                         seeds=range(10), batch=5, processes=1, out=out), out


def test_the_analytic_answer_is_not_borderline():
    c = analytic_servers()
    assert c == 4
    assert mmc_mean_wait_s(c - 1, LAMBDA, 1 / MEAN_SERVICE) > 2 * WAIT_TARGET_S
    assert mmc_mean_wait_s(c, LAMBDA, 1 / MEAN_SERVICE) < WAIT_TARGET_S / 2


def test_simulated_plan_returns_the_erlang_c_answer(mmc_plan):
    result, _ = mmc_plan
    rec = result.recommended
    assert (rec.classical, rec.quantum) == (1, analytic_servers())
    assert rec.verdict == ps.FEASIBLE and result.significant
    mean, lo, hi, n = rec.interval("mean")
    assert n == 10 and lo <= mmc_mean_wait_s(4, LAMBDA, 1 / MEAN_SERVICE) + MEAN_SERVICE <= hi


def test_candidates_above_the_answer_are_dominated_except_its_neighbour(mmc_plan):
    result, _ = mmc_plan
    by_q = {k.quantum: k for k in result.candidates}
    assert by_q[5].neighbour and len(by_q[5].seeds) == 10      # neighbour: full budget
    assert all(by_q[q].verdict == "dominated (not evaluated)" and not by_q[q].seeds
               for q in range(6, 9))


def test_plan_writes_its_report_and_heat_map(mmc_plan):
    result, out = mmc_plan
    assert (out / "plan.json").is_file() and (out / "plan.txt").is_file()
    write_figure(result, out / "plan.png")
    assert (out / "plan.png").stat().st_size > 10_000
    assert "recommended: C=1, Q=4" in (out / "plan.txt").read_text()


def test_rerun_with_the_same_out_loads_finished_units(mmc_plan):
    first, out = mmc_plan
    files = sorted((out / "replications").rglob("*.json"))
    stamps = [f.stat().st_mtime_ns for f in files]
    again = plan_simulate(mmc_base(), Targets(max_mean_job_time_s=MEAN_TARGET_S),
                          classical_range=(1, 1), quantum_range=(1, 8), seeds=range(10),
                          batch=5, processes=1, out=out)
    assert [f.stat().st_mtime_ns for f in files] == stamps       # nothing re-simulated
    assert again.to_json() == first.to_json()


# -- 3. infeasible targets name the closest candidate -------------------------

def test_infeasible_targets_give_the_closest_candidate(mmc_plan, tmp_path):
    # Only Q = 1..3 allowed: Q = 3 is the closest (mean job time ~6.0 s vs 4.0 s).
    result = plan_simulate(mmc_base(), Targets(max_mean_job_time_s=MEAN_TARGET_S),
                           classical_range=(1, 1), quantum_range=(1, 3), seeds=range(10),
                           batch=5, processes=1, out=tmp_path)
    assert result.recommended is None
    close = result.closest()
    assert (close.classical, close.quantum) == (1, 3)
    text = format_report(result)
    assert "no candidate in the allowed range meets the targets" in text
    assert "closest: C=1, Q=3" in text and "mean job time" in text


def test_infeasible_targets_exit_1_on_the_command_line(tmp_path, capsys):
    code = main(["plan", "simulate", "--policy", "fifo", "--duration", "12h", "--warmup", "1h",
                 "--iteration-scale", "0.2", "--interarrival", "300",
                 "--classical-range", "1-2", "--quantum-range", "1-2",
                 "--max-mean-job-time", "1s", "--seeds", "n=4", "--batch", "2",
                 "--processes", "1", "--out", str(tmp_path / "p")])
    out = capsys.readouterr().out
    assert code == 1
    assert "no candidate in the allowed range meets the targets" in out and "closest: C=" in out


@pytest.mark.parametrize("args, needle", [
    (["--max-drop", "1.5"], "--max-drop: must be a probability"),
    (["--max-drop", "0.1", "--classical-range", "3-1"], "--classical-range"),
    (["--max-drop", "0.1", "--cost", "C=1,X=2"], "--cost"),
    ([], "give at least one target"),
    (["--max-drop", "0.1", "--policy", "fifo,lifo"], "one policy"),
])
def test_bad_input_is_one_line_naming_the_option(args, needle, capsys):
    code = main(["plan", "simulate", *args])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("hqsched: error:") and needle in err
    assert len(err.strip().splitlines()) == 1


def test_cost_specification():
    assert parse_cost("C=1,Q=20") == Cost(1.0, 20.0)
    assert parse_cost("Q=3") == Cost(1.0, 3.0)


# -- 4. the sequential test stops early -----------------------------------------

def test_sequential_test_stops_early_on_clearly_infeasible_candidates(mmc_plan):
    result, _ = mmc_plan
    by_q = {k.quantum: k for k in result.candidates}
    for q in (1, 2, 3):   # unstable (Q <= a = 2.5) or far above the target
        assert by_q[q].verdict == ps.INFEASIBLE
        assert by_q[q].early and by_q[q].seeds_used == 5 < result.budget
    # Q = 3 is then run to the full budget only as the answer's neighbour (for the table).
    assert [len(by_q[q].seeds) for q in (1, 2, 3)] == [5, 5, 10]


def test_decide_feasible_infeasible_and_uncertain():
    tau = {"drop": 0.10}
    clear_low = {"drop": [0.01, 0.02, 0.015, 0.012, 0.018] * 4}
    clear_high = {"drop": [0.50, 0.52, 0.49, 0.51, 0.50] * 4}
    near = {"drop": [0.09, 0.11, 0.10, 0.095, 0.105] * 4}
    assert ps.decide(clear_low, tau, 5, 20, 0.05) == ps.Decision(ps.FEASIBLE, 5, True)
    assert ps.decide(clear_high, tau, 5, 20, 0.05) == ps.Decision(ps.INFEASIBLE, 5, True)
    assert ps.decide(near, tau, 5, 20, 0.05).verdict in (ps.FEASIBLE_NS, ps.INFEASIBLE_NS)
    assert ps.decide(near, tau, 5, 20, 0.05).seeds_used == 20


def test_paired_test_flags_a_consistent_worsening_only():
    worse = ps.paired_worse("drop", (2, 4), (3, 4), [0.60, 0.62, 0.61, 0.63, 0.60],
                            [0.61, 0.635, 0.62, 0.64, 0.612])
    noise = ps.paired_worse("drop", (2, 4), (3, 4), [0.60, 0.62, 0.61, 0.63, 0.60],
                            [0.61, 0.61, 0.62, 0.62, 0.60])
    flagged = ps.bonferroni([worse, noise], 0.05)
    assert flagged[0].significant and not flagged[1].significant
