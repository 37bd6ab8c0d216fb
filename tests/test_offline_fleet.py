"""The offline problem with a heterogeneous QC fleet (issue 17 item 4; docs/platform-features.md
section 4): unrelated QCs with eligibility, task k of job i lasting duration x factor[g, q_i]
on a QC of group g and allowed there only if q_i <= qubits_g.

- the MILP agrees with an exhaustive enumeration on tiny random instances;
- the checker rejects an ineligible QC and a wrong per-QC duration;
- a single group of speed 1 without a qubit limit is the homogeneous problem;
- the lower bounds (bounds_scale, LP) stay below the fleet optimum;
- the online simulator in dedicated mode never beats the offline optimum.

Enumeration argument (``brute_force``). Take any feasible schedule, list its
tasks by (start, job, index) (chain order is kept: a successor never starts
before its predecessor) and keep each task's server. The *append* rule --
start each task, in that order, at max(its chain predecessor's end (arrival
for the first), the end of the last positive task put on its server) --
starts every task no later than the schedule did (induction: its predecessor
ended no later, and the tasks already on its server are those that start
before it there, which the schedule finished before it starts). The sum of
delays is non-decreasing in completion times, so the minimum over every
precedence-feasible order and every assignment of quantum tasks to eligible
QCs (and classical tasks to the C = 1 server, or none with C = infinity) is
the optimum. Zero-length tasks occupy no server (as in the problem). The
enumerator shares no code with hqsched.formulation.
"""

from __future__ import annotations

import itertools
import math
import random

import pytest
from test_formulation_bruteforce import _chain, _interleavings

from hqsched.errors import InputError
from hqsched.formulation.bounds_scale import lower_bound
from hqsched.formulation.checker import check_schedule
from hqsched.formulation.options import ModelOptions, SolveOptions
from hqsched.formulation.solve import lp_bound, solve_delays, solve_platform
from hqsched.instances.model import Instance, Platform, QCGroup, TaskKind, constant_chain_job
from hqsched.instances.schedule import Schedule, ScheduledTask

# ----------------------------------------------------------------------------
# brute force (module docstring)
# ----------------------------------------------------------------------------


# The chains and their precedence-feasible interleavings: the homogeneous brute force's
# (_chain, _interleavings, imported above).


def _qcs(groups):
    """(qubit limit or None, time factor = 1 / speed) of every QC, group by group."""
    return [(g.qubits, 1.0 / g.speed) for g in groups for _ in range(g.count)]


def brute_force(inst, classical, groups, weighted):
    """Minimum sum of (weighted) delays; ``classical`` is 1 or None (infinity)."""
    jobs = list(inst.jobs)
    chains = [_chain(j) for j in jobs]
    qcs = _qcs(groups)
    quantum = [(j, k) for j, ch in enumerate(chains) for k, (r, _) in enumerate(ch) if r == "Q"]
    choices = [[m for m, (lim, _) in enumerate(qcs) if lim is None or jobs[j].qubits <= lim]
               for j, _ in quantum]
    orders = list(_interleavings([len(ch) for ch in chains]))
    best = math.inf
    for assignment in itertools.product(*choices):
        qc_of = dict(zip(quantum, assignment))
        for order in orders:
            free = {}
            end = {}
            for j, k in order:
                res, base = chains[j][k]
                ready = jobs[j].arrival_s if k == 0 else end[(j, k - 1)]
                if res == "Q":
                    server = ("Q", qc_of[(j, k)])
                    dur = base * qcs[qc_of[(j, k)]][1]
                else:
                    server, dur = (("C", 0) if classical == 1 else None), base
                start = ready
                if server is not None and dur > 0:
                    start = max(ready, free.get(server, -math.inf))
                    free[server] = start + dur
                end[(j, k)] = start + dur
            total = sum((jb.priority if weighted else 1)
                        * (end[(j, len(chains[j]) - 1)] - jb.arrival_s)
                        for j, jb in enumerate(jobs))
            best = min(best, total)
    return best


def random_fleet(rng):
    """Two groups, 2-3 QCs: a small group (8 qubits) and a large one (no limit or 12),
    different speeds; sometimes a group of count 0."""
    small, large = rng.choice([(1, 1), (2, 1), (1, 2)])
    if rng.random() < 0.1:
        small, large = 0, rng.choice([1, 2])
    speeds = rng.sample([0.5, 1.0, 2.0, 3.0], 2)
    return (QCGroup("small", small, 8, speed=speeds[0]),
            QCGroup("large", large, rng.choice([None, 12]), speed=speeds[1]))


def random_tiny(rng):
    """2-3 jobs, 0-2 iterations, at most 8 tasks and 3 quantum tasks, 4-12 qubits."""
    jobs, tasks, quantum = [], 0, 0
    for i in range(rng.randint(2, 3)):
        n = rng.choice([0, 1, 1, 2])
        while n and (tasks + 2 * n + 2 > 8 or quantum + n > 3):
            n -= 1
        if tasks + 2 * n + 2 > 8:
            break
        tasks, quantum = tasks + 2 * n + 2, quantum + n
        jobs.append(constant_chain_job(
            i, float(rng.choice([0, 0, 1, 2, 3.5])), rng.choice([4, 8, 12]), rng.choice([1, 2, 5]),
            float(rng.choice([0, 1, 2])), float(rng.choice([0, 0.5, 1])),
            float(rng.choice([1, 2, 3, 4])), float(rng.choice([0, 1, 2])), n))
    return Instance(tuple(jobs))


def _agrees_with_brute_force(cases: int) -> None:
    rng = random.Random(20261202)
    for case in range(cases):
        inst = random_tiny(rng)
        groups = random_fleet(rng)
        c = rng.choice([1, 1, 1, None])
        weighted = rng.random() < 0.5
        q = sum(g.count for g in groups)
        expected = brute_force(inst, c, groups, weighted)
        where = (case, c, groups, weighted, inst)
        # With the heuristics' schedules, the MILP must prove their optimum (its bound: a
        # model that is too weak shows); without them, it must find one (too strong shows).
        for heuristic in (True, False):
            res = solve_delays(inst, c, q, 1.0, SolveOptions(
                weighted=weighted, time_limit_s=20, heuristic_incumbent=heuristic,
                method="milp"), qc_groups=groups)
            assert res.status == "optimal", (where, res.message)
            assert check_schedule(inst, res.schedule, c, q, 1.0, qc_groups=groups) == []
            assert res.objective == pytest.approx(expected, rel=1e-6, abs=1e-6), where
            assert res.best_bound == pytest.approx(expected, rel=1e-6, abs=1e-6), where
            assert res.schedule.sum_delays_s(inst, weighted) == \
                pytest.approx(res.objective, abs=1e-9)


def test_fleet_milp_equals_brute_force_on_20_tiny_instances():
    _agrees_with_brute_force(20)


@pytest.mark.slow
def test_fleet_milp_equals_brute_force_on_200_tiny_instances():
    _agrees_with_brute_force(200)


@pytest.mark.parametrize("options", [
    {"subset_cuts": True},
    {"model": ModelOptions(interference_cuts=True)},
    {"model": ModelOptions(energy_cuts=False, symmetry_breaking=False)},
], ids=["subset", "interference", "bare"])
def test_milp_options_with_a_fleet_agree_with_brute_force(options):
    rng = random.Random(3)
    for case in range(12):
        inst, groups = random_tiny(rng), random_fleet(rng)
        weighted = rng.random() < 0.5
        expected = brute_force(inst, 1, groups, weighted)
        res = solve_delays(inst, 1, sum(g.count for g in groups), 1.0, SolveOptions(
            weighted=weighted, time_limit_s=20, heuristic_incumbent=False, **options),
            qc_groups=groups)
        assert res.status == "optimal", (case, res.message)
        assert res.objective == pytest.approx(expected, rel=1e-6, abs=1e-6), (case, inst)
        assert res.best_bound == pytest.approx(expected, rel=1e-6, abs=1e-6), (case, inst)


def test_brute_force_sees_the_fleet():
    """Hand case: a 10-qubit job on a 2-QC fleet: the fast small QC (8 qubits) cannot
    take it, so it runs on the slow large one (factor 2)."""
    inst = Instance((constant_chain_job(0, 0.0, 10, 1, 1.0, 0.0, 3.0, 1.0, 1),))
    groups = (QCGroup("small", 1, 8, speed=3.0), QCGroup("large", 1, None, speed=0.5))
    # pre 1, iteration 0, quantum 3 x 2 = 6, post 1
    assert brute_force(inst, 1, groups, False) == pytest.approx(8.0)
    res = solve_delays(inst, 1, 2, 1.0, SolveOptions(method="milp"), qc_groups=groups)
    assert res.objective == pytest.approx(8.0)
    q_task = next(t for t in res.schedule.tasks if t.kind is TaskKind.QUANTUM)
    assert q_task.server == 1 and q_task.end_s - q_task.start_s == pytest.approx(6.0)


# ----------------------------------------------------------------------------
# the checker: eligibility and per-QC durations
# ----------------------------------------------------------------------------

GROUPS = (QCGroup("small", 1, 7, speed=2.0), QCGroup("large", 1, None, speed=0.5))
C_, Q_ = TaskKind.CLASSICAL, TaskKind.QUANTUM


def _one_job(qubits: int) -> Instance:
    # pre 1, iteration 1, quantum 2 (reference), post 1
    return Instance((constant_chain_job(0, 0.0, qubits, 1, 1.0, 1.0, 2.0, 1.0, 1),))


def _schedule(qc: int, q_dur: float) -> Schedule:
    return Schedule((ScheduledTask(0, 0, C_, 0, 0.0, 1.0), ScheduledTask(0, 1, C_, 0, 1.0, 2.0),
                     ScheduledTask(0, 2, Q_, qc, 2.0, 2.0 + q_dur),
                     ScheduledTask(0, 3, C_, 0, 2.0 + q_dur, 3.0 + q_dur)))


def test_checker_accepts_eligible_qcs_with_their_durations():
    assert check_schedule(_one_job(5), _schedule(0, 1.0), 1, 2, 1.0, qc_groups=GROUPS) == []
    assert check_schedule(_one_job(5), _schedule(1, 4.0), 1, 2, 1.0, qc_groups=GROUPS) == []
    assert check_schedule(_one_job(10), _schedule(1, 4.0), 1, 2, 1.0, qc_groups=GROUPS) == []


def test_checker_rejects_a_10_qubit_task_on_a_7_qubit_qc():
    bad = check_schedule(_one_job(10), _schedule(0, 1.0), 1, 2, 1.0, qc_groups=GROUPS)
    assert len(bad) == 1 and "cannot run a 10-qubit task" in bad[0] and "'small'" in bad[0]


@pytest.mark.parametrize("qc, wrong", [(0, 2.0), (1, 1.0), (1, 2.0)])
def test_checker_rejects_a_wrong_per_qc_duration(qc, wrong):
    bad = check_schedule(_one_job(5), _schedule(qc, wrong), 1, 2, 1.0, qc_groups=GROUPS)
    assert len(bad) == 1 and "duration" in bad[0], bad


def test_checker_rejects_a_qc_outside_the_fleet():
    bad = check_schedule(_one_job(5), _schedule(2, 1.0), 1, 2, 1.0, qc_groups=GROUPS)
    assert any("out of range" in p for p in bad)


def test_checker_uses_the_bundled_ibm_estimates_for_backend_groups():
    from hqsched.instances.traces import load_traces
    est = load_traces().ibm_estimate_s
    groups = (QCGroup("torino", 1, None, backend="ibm_torino"),)
    factor = est[(8, "ibm_torino")] / min(s for (q, _), s in est.items() if q == 8)
    inst = _one_job(8)
    assert check_schedule(inst, _schedule(0, 2.0 * factor), 1, 1, 1.0, qc_groups=groups) == []
    if factor != 1.0:
        assert check_schedule(inst, _schedule(0, 2.0), 1, 1, 1.0, qc_groups=groups) != []
    res = solve_delays(inst, 1, 1, 1.0, qc_groups=groups)
    assert res.status == "optimal" and res.objective == pytest.approx(3.0 + 2.0 * factor)


# ----------------------------------------------------------------------------
# special case, methods, bounds
# ----------------------------------------------------------------------------

def test_one_plain_group_is_the_homogeneous_problem():
    rng = random.Random(7)
    for _ in range(15):
        inst = random_tiny(rng)
        c, q = rng.choice([1, None]), rng.choice([1, 2, 3])
        plain = solve_delays(inst, c, q, 1.0, SolveOptions(method="milp", time_limit_s=20))
        fleet = solve_delays(inst, c, q, 1.0, SolveOptions(method="milp", time_limit_s=20),
                             qc_groups=(QCGroup("all", q),))
        assert plain.status == fleet.status == "optimal"
        assert fleet.objective == pytest.approx(plain.objective, rel=1e-9, abs=1e-9)


def test_bnb_refuses_a_fleet():
    with pytest.raises(InputError, match="method=bnb.*QC fleet"):
        solve_delays(_one_job(5), 1, 2, 1.0, SolveOptions(method="bnb"), qc_groups=GROUPS)


def _cpsat_agrees_with_brute_force(cases: int) -> None:
    pytest.importorskip("ortools")
    rng = random.Random(99)
    for case in range(cases):
        inst = random_tiny(rng)
        groups = random_fleet(rng)
        c = rng.choice([1, 1, None])
        weighted = rng.random() < 0.5
        q = sum(g.count for g in groups)
        expected = brute_force(inst, c, groups, weighted)
        res = solve_delays(inst, c, q, 1.0, SolveOptions(
            weighted=weighted, time_limit_s=20, method="cpsat", heuristic_incumbent=False),
            qc_groups=groups)
        where = (case, c, groups, weighted, inst)
        assert res.details.get("method") == "cpsat", where
        assert check_schedule(inst, res.schedule, c, q, 1.0, qc_groups=groups) == [], where
        # Speed 3 puts durations off any decimal grid: then a bracket around the optimum.
        assert res.best_bound <= expected + 1e-6 and res.objective >= expected - 1e-6, where
        if res.status == "optimal":
            assert res.objective == pytest.approx(expected, rel=1e-6, abs=1e-6), where


def test_cpsat_with_a_fleet_agrees_with_brute_force_on_20_tiny_instances():
    _cpsat_agrees_with_brute_force(20)


@pytest.mark.slow
def test_cpsat_with_a_fleet_agrees_with_brute_force_on_200_tiny_instances():
    _cpsat_agrees_with_brute_force(200)


@pytest.mark.parametrize("method", ["auto", "milp"])
def test_solve_platform_takes_the_fleet(method):
    inst = Instance((constant_chain_job(0, 0.0, 10, 1, 1.0, 0.0, 3.0, 1.0, 1),
                     constant_chain_job(1, 0.0, 4, 1, 1.0, 0.0, 3.0, 1.0, 1)))
    platform = Platform(classical_workers=2, worker_capacity_ops_per_s=1.0,
                        qc_groups=(QCGroup("small", 1, 7, speed=2.0),
                                   QCGroup("large", 1, None, speed=0.5)))
    res = solve_platform(inst, platform, SolveOptions(time_limit_s=20, method=method))
    assert res.status == "optimal"
    from hqsched.formulation import cpsat
    ran = "cpsat" if method == "auto" and cpsat.available() else "milp"
    assert res.details.get("method", "milp") == ran
    # job 0 (10 qubits) on the large QC: 1 + 6 + 1; job 1 on the small one: 1 + 1.5 + 1
    assert res.objective == pytest.approx(8.0 + 3.5)


def test_an_ineligible_instance_is_an_error_result():
    res = solve_delays(_one_job(10), 1, 1, 1.0, qc_groups=(QCGroup("small", 1, 7),))
    assert res.status == "error" and "no QC group can run a 10-qubit task" in res.message


def test_lower_bounds_stay_below_the_fleet_optimum():
    rng = random.Random(11)
    for case in range(25):
        inst = random_tiny(rng)
        groups = random_fleet(rng)
        q = sum(g.count for g in groups)
        # The MILP: exact and deterministic (CP-SAT with two workers may stop at a
        # grid-rounded optimum that it cannot prove for the true real durations).
        opt = solve_delays(inst, 1, q, 1.0, SolveOptions(time_limit_s=20, method="milp"),
                           qc_groups=groups)
        assert opt.status == "optimal"
        lb = lower_bound(inst, 1, q, 1.0, qc_groups=groups)
        assert lb.best <= opt.objective + 1e-6, (case, lb, opt.objective)
        lp = lp_bound(inst, 1, q, 1.0, SolveOptions(time_limit_s=20), qc_groups=groups)
        assert lp.status == "optimal" and lp.best_bound <= opt.objective + 1e-6, case


# ----------------------------------------------------------------------------
# online >= offline with a fleet
# ----------------------------------------------------------------------------
#
# Any dedicated-mode run of the online simulator (admission off, to completion) is a
# schedule of the offline problem: every job, chains, its QCs' durations, eligibility,
# C classical servers. So its sum of delays is >= the offline optimum (>= the proven
# bound when a solve stops early), for every policy and routing rule.

ROUTINGS = ("fastest", "smallest", "lowest")


def random_small(rng):
    """2-3 jobs of 1-2 iterations, continuous times, 4-12 qubits."""
    jobs = []
    for i in range(rng.randint(2, 3)):
        n = rng.randint(1, 2)
        jobs.append(constant_chain_job(
            i, round(rng.uniform(0.0, 3.0), 3), rng.choice([4, 8, 12]), rng.choice([1, 2, 5]),
            round(rng.uniform(0.0, 2.0), 3), round(rng.uniform(0.0, 1.0), 3),
            round(rng.uniform(0.5, 3.0), 3), round(rng.uniform(0.0, 1.0), 3), n))
    return Instance(tuple(jobs))


def _online_not_below_offline(cases: int) -> None:
    from hqsched.online.config import SimulationConfig
    from hqsched.online.engine import simulate
    from hqsched.online.instance_runs import record_delays_s
    from hqsched.online.policies import PAPER_POLICIES

    rng = random.Random(17)
    for case in range(cases):
        inst = random_small(rng)
        groups = random_fleet(rng)
        c = rng.choice([1, 2])
        platform = Platform(classical_workers=c, worker_capacity_ops_per_s=1.0,
                            qc_groups=groups)
        q = platform.quantum_computers
        opt = solve_delays(inst, c, q, 1.0, SolveOptions(time_limit_s=5), qc_groups=groups)
        assert opt.status in ("optimal", "feasible") and opt.best_bound is not None, \
            (case, opt.message)
        for policy in PAPER_POLICIES:
            for routing in ROUTINGS:
                cfg = SimulationConfig(platform, policy=policy, classical_mode="dedicated",
                                       duration_s=math.inf, instance=inst,
                                       record_schedule=True, routing=routing)
                run = simulate(cfg, seed=case)
                where = (case, policy, routing, groups, c, inst)
                assert check_schedule(inst, run.schedule, c, q, 1.0, tol=1e-7,
                                      qc_groups=groups) == [], where
                online = record_delays_s(run, len(inst.jobs))
                assert online >= opt.best_bound - 1e-6 * max(1.0, opt.best_bound), where


def test_online_is_never_below_the_offline_optimum_on_20_fleets():
    _online_not_below_offline(20)


@pytest.mark.slow
def test_online_is_never_below_the_offline_optimum_on_300_fleets():
    _online_not_below_offline(300)


def test_realistic_list_scheduler_refuses_a_fleet():
    from hqsched.formulation.upper_bounds import upper_bound
    with pytest.raises(InputError, match="QC fleet"):
        upper_bound(_one_job(5), 1, 2, 1.0, qc_groups=GROUPS)
