"""``hqsched plan fleet`` (planning/fleet.py): the cheapest QC fleet and C for the targets.

Hand-checked pieces: the exact work moments against a sample, the work-conservation load
and its window drop bound, the candidate list (cost order, eligibility), the search (cost
order, pruning, dominance, the first feasible cost level) on a scripted runner, and one
end-to-end plan whose answer follows from the traces: one fast expensive QC against two
slow cheap ones when a job's p95 time is the target.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from hqsched.cli import main
from hqsched.errors import InputError
from hqsched.instances.model import Platform, QCGroup
from hqsched.instances.traces import load_traces
from hqsched.instances.workload import JobSampler, WorkloadSpec
from hqsched.online.config import SimulationConfig
from hqsched.planning import fleet as fl
from hqsched.planning import sequential as ps
from hqsched.planning.simulated import DOMINATED, Targets


def test_work_moments_are_exact_against_a_large_sample():
    spec = WorkloadSpec(interarrival_s=600.0, qubits=(4, 8))
    traces = load_traces(None)
    work = fl.job_work(spec, traces)
    sampler, rng = JobSampler(traces, spec), np.random.default_rng(7)
    draws = [sampler.draw_job(rng) for _ in range(40_000)]
    quantum = np.array([c.iterations * c.quantum_s for _, _, c in draws])
    ops = np.array([c.pre_ops + c.iterations * c.iteration_ops + c.post_ops
                    for _, _, c in draws])
    mean_q = float(work.share @ work.quantum_s)
    sd_q = math.sqrt(float(work.share @ work.quantum_s2) - mean_q ** 2)
    # the sample mean lies within 4 standard errors of the exact mean
    assert abs(quantum.mean() - mean_q) < 4 * sd_q / math.sqrt(len(draws))
    sd_c = math.sqrt(work.classical_ops2 - work.classical_ops ** 2)
    assert abs(ops.mean() - work.classical_ops) < 4 * sd_c / math.sqrt(len(draws))
    assert abs(np.mean(quantum ** 2) / float(work.share @ work.quantum_s2) - 1) < 0.1


def _work() -> fl.JobWork:
    """Two qubit counts, half the jobs each: 100 s and 300 s of quantum work (second
    moments 2e4 and 1e5 s^2), 1e9 operations, 4 classical tasks."""
    return fl.JobWork((4, 10), np.array([0.5, 0.5]), np.array([100.0, 300.0]),
                      np.array([2e4, 1e5]), 1e9, 2e18, 4.0)


def test_offered_load_by_hand():
    work = _work()
    fast = QCGroup("fast", 1, speed=2.0)
    slow = QCGroup("slow", 2)
    factors = np.array([[0.5, 0.5], [1.0, 1.0]])
    # lambda = 1/1000; one fast QC: E[w] = 0.5 * 200 = 100 s on 1 QC -> 0.1
    one_fast = fl.offered_load(work, 1000.0, 1e6, (fast,), factors[:1], 1, 1e9)
    assert one_fast.rho == pytest.approx(0.1)
    # 1000 jobs in the window; E[w^2] = 0.25 * 6e4 = 1.5e4 -> cv = sqrt(15) / 100
    assert one_fast.cv == pytest.approx(math.sqrt(1.5e4 / 1000) / 100)
    # two slow QCs: 200 s on 2 QCs -> the same load as one QC twice as fast
    assert fl.offered_load(work, 1000.0, 1e6, (slow,), factors[1:], 1, 1e9).rho == \
        pytest.approx(0.1)
    # the classical side binds when it is heavier: 1e9 ops per 1000 s on 1e6 ops/s -> 1.0
    assert fl.offered_load(work, 1000.0, 1e6, (fast,), factors[:1], 1, 1e6).rho == \
        pytest.approx(1.0)
    # cold-start work adds 4 tasks x 1e8 operations per job
    assert fl.offered_load(work, 1000.0, 1e6, (fast,), factors[:1], 1, 1e6, 1e8).rho == \
        pytest.approx(1.4)
    # no QC of the fleet runs 10 qubits: no finite load
    small = QCGroup("small", 3, qubits=8)
    assert fl.offered_load(work, 1000.0, 1e6, (small,), factors[:1], 1, 1e9).rho == math.inf


def test_window_drop_bound_by_hand():
    assert fl.load_bound_drop(0.8) == 0.0
    assert fl.load_bound_drop(2.0) == pytest.approx(0.5)
    assert fl.window_bound_drop(fl.Load(2.0, 0.0), 0, 100) == pytest.approx(0.5)
    # three standard deviations of 10% lower the load to 1.4; 10 jobs of 100 in backlog
    assert fl.window_bound_drop(fl.Load(2.0, 0.1), 10, 100) == \
        pytest.approx(1 - 1 / 1.4 - 0.1)


def test_candidates_are_eligible_fleets_in_cost_order():
    big = fl.GroupChoice(QCGroup("big", 1, qubits=20, cost_per_hour=5.0), 0, 1)
    small = fl.GroupChoice(QCGroup("small", 2, qubits=8, cost_per_hour=1.0), 0, 2)
    cands = fl.enumerate_candidates([big, small], (1, 2), 0.5, (4, 10))
    # small alone cannot run 10 qubits; the empty fleet is no candidate
    assert [(k.classical, k.counts, k.cost) for k in cands] == [
        (1, (1, 0), 5.5), (2, (1, 0), 6.0), (1, (1, 1), 6.5), (2, (1, 1), 7.0),
        (1, (1, 2), 7.5), (2, (1, 2), 8.0)]
    assert cands[2].groups == (QCGroup("big", 1, qubits=20, cost_per_hour=5.0),
                               QCGroup("small", 1, qubits=8, cost_per_hour=1.0))
    assert cands[2].label() == "C=1 big=1 small=1"
    many = fl.GroupChoice(QCGroup("x", 1), 0, 10_000)
    with pytest.raises(InputError, match="more than the limit"):
        fl.enumerate_candidates([many, many], (1, 1), 1.0, (4,))


@pytest.mark.parametrize("text, words", [
    ("a", ["NAME:COUNT"]), ("a:3-1", ["LO <= HI"]), ("a:x-2", ["count"]),
    ("a:0-2:cost=-1", ["cost"]), ("a:0-2:speed=0", ["speed"]), ("a:0-2:nope=1", ["nope"]),
])
def test_bad_candidate_groups_are_one_line_errors(text, words):
    with pytest.raises(InputError) as err:
        fl.parse_group_choices(text, "--qc-group")
    assert str(err.value).startswith("--qc-group") and "\n" not in str(err.value)
    for word in words:
        assert word in str(err.value)


def test_candidate_groups_parse_ranges_and_single_counts():
    a, b = fl.parse_group_choices(["a:0-3:backend=ibm_torino:cost=4", "b:2:speed=0.5"], "x")
    assert (a.low, a.high, a.group.backend, a.group.cost_per_hour) == (0, 3, "ibm_torino", 4.0)
    assert (b.low, b.high, b.group.speed) == (2, 2, 0.5)


# -- the search, on a scripted runner ----------------------------------------------------

class ScriptedRunner:
    """Stands in for the campaign runner: a candidate's per-seed drop probability is
    ``DROPS[label]`` at every seed (zero spread: the sequential test decides at once)."""

    DROPS: dict[str, float] = {}
    ran: list[str] = []

    def __init__(self, *args: object) -> None:
        pass

    def run(self, todo: list) -> None:
        for cand, seeds in todo:
            for s in seeds:
                if s not in cand.seeds:
                    ScriptedRunner.ran.append(cand.label())
                    cand.seeds.append(s)
                    for m in ("drop", "p95", "mean"):
                        cand.values.setdefault(m, []).append(
                            self.DROPS[cand.label()] if m == "drop" else 100.0)


def _base(interarrival: float = 1e5) -> SimulationConfig:
    return SimulationConfig(platform=Platform(max_classical=40, max_quantum=40),
                            workload=WorkloadSpec(interarrival_s=interarrival),
                            duration_s=7 * 86400.0, warmup_s=43200.0)


def test_search_stops_at_the_first_feasible_cost_level(monkeypatch):
    monkeypatch.setattr(fl, "_Runner", ScriptedRunner)
    ScriptedRunner.ran = []
    ScriptedRunner.DROPS = {"C=1 a=1": 0.5, "C=1 b=1": 0.04, "C=1 a=2": 0.01,
                            "C=1 a=1 b=1": 0.0, "C=1 b=2": 0.0, "C=1 a=2 b=1": 0.0,
                            "C=1 a=1 b=2": 0.0, "C=1 a=2 b=2": 0.0}
    a = fl.GroupChoice(QCGroup("a", 1, cost_per_hour=1.0), 0, 2)
    b = fl.GroupChoice(QCGroup("b", 1, cost_per_hour=2.0), 0, 2)
    search = fl.FleetSearch((a, b), (1, 1), 0.0, seeds=tuple(range(4)), batch=2)
    plan = fl.plan_fleet(_base(), Targets(max_drop=0.05), search, progress=False)
    verdicts = {k.label(): k.verdict for k in plan.candidates}
    # costs: a=1 (1), a=2 and b=1 (2), a=1 b=1 (3), ...: level 2 holds two feasible
    # candidates; the one with more room (drop 0.01 against 0.04) is the answer
    assert plan.recommended is not None and plan.recommended.label() == "C=1 a=2"
    assert plan.significant
    assert verdicts["C=1 a=1"] == ps.INFEASIBLE
    assert verdicts["C=1 b=1"] == ps.FEASIBLE
    assert all(verdicts[k] == DOMINATED for k in ("C=1 a=1 b=1", "C=1 b=2", "C=1 a=2 b=2"))
    assert set(ScriptedRunner.ran) == {"C=1 a=1", "C=1 a=2", "C=1 b=1"}
    assert [k.label() for k in plan.runners_up()] == ["C=1 b=1", "C=1 a=1"]
    text = fl.format_report(plan)
    assert "recommended: C=1 a=2, cost 2 per hour" in text


def test_the_stability_bound_prunes_without_running(monkeypatch):
    monkeypatch.setattr(fl, "_Runner", ScriptedRunner)
    ScriptedRunner.ran = []
    ScriptedRunner.DROPS = {f"C=1 q={n}": 0.0 for n in range(1, 6)}
    q = fl.GroupChoice(QCGroup("q", 1), 1, 5)
    search = fl.FleetSearch((q,), (1, 1), 0.0, seeds=tuple(range(4)), batch=2)
    # the paper's load (about 5 QCs of quantum work) with little admission backlog
    base = SimulationConfig(platform=Platform(max_classical=2, max_quantum=2),
                            workload=WorkloadSpec(interarrival_s=600.0),
                            duration_s=7 * 86400.0, warmup_s=43200.0)
    plan = fl.plan_fleet(base, Targets(max_drop=0.05), search, progress=False)
    verdicts = {k.label(): k.verdict for k in plan.candidates}
    # rho = 5.04 / Q: at Q = 4 the load 3 sd low (1.12) still drops more than 0.05 after
    # the backlog of 2 + 2 + 4 jobs; at Q = 5 (rho 1.01) the bound says nothing
    assert [verdicts[f"C=1 q={n}"] for n in range(1, 5)] == [fl.PRUNED] * 4
    assert ScriptedRunner.ran[0] == "C=1 q=5"  # the cheapest one the bound lets through
    assert plan.recommended is not None and plan.recommended.label() == "C=1 q=5"
    # rho = lambda E[w] / Q: the same number for every Q, over Q
    rho = [k.load.rho * k.quantum for k in plan.candidates]
    assert max(rho) == pytest.approx(min(rho))
    pruned_none = fl.plan_fleet(base, Targets(max_drop=0.05),
                                fl.FleetSearch((q,), (1, 1), 0.0, seeds=tuple(range(4)),
                                               batch=2, prune=False), progress=False)
    assert pruned_none.recommended is not None and pruned_none.recommended.label() == "C=1 q=1"


@pytest.mark.parametrize("kwargs, targets, words", [
    ({"seeds": (0,)}, Targets(max_drop=0.1), ["--seeds"]),
    ({"batch": 1}, Targets(max_drop=0.1), ["--batch"]),
    ({"alpha": 1.0}, Targets(max_drop=0.1), ["--alpha"]),
    ({}, Targets(), ["target"]),
    ({"choices": ()}, Targets(max_drop=0.1), ["--qc-group"]),
    ({"classical_cost": -1.0}, Targets(max_drop=0.1), ["--classical-cost"]),
])
def test_search_inputs_are_checked(kwargs, targets, words):
    search = fl.FleetSearch(**{"choices": (fl.GroupChoice(QCGroup("a", 1), 0, 1),), **kwargs})
    with pytest.raises(InputError) as err:
        fl.plan_fleet(_base(), targets, search, progress=False)
    for word in words:
        assert word in str(err.value)


# -- the command, end to end -----------------------------------------------------------

def test_one_fast_qc_beats_two_slow_cheaper_ones_on_job_time(tmp_path: Path, capsys):
    """At a light load a job's time is its own service, and its iterations run one after
    another: a second slow QC cannot shorten it. The traces' p95 service time is about
    6000 s at speed 1 and 3000 s at speed 2 (classical work 15 s), so a p95 target of
    4500 s rejects every slow fleet and the answer is the fast QC, though two slow QCs
    cost less (2 against 3 per hour)."""
    out = tmp_path / "fleet"
    argv = ["plan", "fleet", "--qc-group", "fast:0-1:speed=2:cost=3",
            "--qc-group", "slow:0-2:cost=1", "--classical-range", "1",
            "--classical-cost", "0", "--max-p95-job-time", "4500", "--interarrival", "20000",
            "--no-admission", "--duration", "14d", "--warmup", "1d", "--seeds", "0-3",
            "--batch", "2", "--processes", "1", "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "recommended: C=1 fast=1, cost 3 per hour" in text, text
    doc = (out / "fleet.json").read_text()
    assert '"recommended"' in doc and (out / "fleet.txt").exists()
    # a rerun resumes from --out: the same answer, no unit written again
    units = {p: p.stat().st_mtime_ns for p in (out / "replications").rglob("*.json")}
    assert main(argv) == 0
    assert "recommended: C=1 fast=1, cost 3 per hour" in capsys.readouterr().out
    assert units and units == {p: p.stat().st_mtime_ns
                               for p in (out / "replications").rglob("*.json")}


@pytest.mark.parametrize("args, words", [
    (["--max-drop", "0.1"], ["--qc-group"]),
    (["--qc-group", "a:0-1"], ["target"]),
    (["--qc-group", "a:2-1", "--max-drop", "0.1"], ["--qc-group", "LO <= HI"]),
    (["--qc-group", "a:1:qubits=6", "--max-drop", "0.1"], ["--qc-group", "no candidate"]),
    (["--qc-group", "a:1", "--classical-cost", "-2", "--max-drop", "0.1"],
     ["--classical-cost"]),
    (["--qc-group", "a:1", "--quantum-computers", "2", "--max-drop", "0.1"],
     ["--quantum-computers"]),
])
def test_plan_fleet_refuses_bad_input_in_one_line(args, words, capsys):
    try:
        code = main(["plan", "fleet", "--seeds", "0-1", *args])
    except SystemExit as exc:
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    for word in words:
        assert word in err, err
