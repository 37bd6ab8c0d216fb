"""Limits that hold (issue 13): the compiled loop stays in bounds on extreme but valid input.

The scenarios run in a subprocess twice: with ``NUMBA_BOUNDSCHECK=1`` (the compiled loop
checks every index; a separate compile, so its own cache directory) and with
``NUMBA_DISABLE_JIT=1`` (plain Python: numpy raises IndexError on any out-of-bounds
index). Each scenario either runs or is refused with an InputError; an IndexError, a
segfault or any other exception fails the test.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

SCENARIOS = textwrap.dedent('''
    import json, math
    from hqsched.errors import InputError
    from hqsched.inputs import MAX_CAPACITY, MAX_TIME_S, MIN_CAPACITY
    from hqsched.instances.model import MAX_OPS, Instance, Job, Platform
    from hqsched.online.config import SimulationConfig
    from hqsched.online.engine import simulate

    def job(i, arrival, ops, quantum, iterations=2):
        # Built valid, then set past the validation layer on purpose: the kernel must hold
        # on its own (values beyond the checked ranges included).
        j = Job(i, 0.0, 4, 1 + i % 3, 1.0, (1.0,) * iterations, (1.0,) * iterations, 1.0)
        for name, value in (("arrival_s", arrival), ("pre_ops", ops), ("post_ops", ops),
                            ("iteration_ops", (ops,) * iterations),
                            ("quantum_s", (quantum,) * iterations)):
            object.__setattr__(j, name, value)
        return j

    def run(jobs, *, S=1e9, C=1, Q=1, mode="serverless", duration=math.inf, max_c=None):
        platform = Platform(C, 1e9, Q, max_c, None)
        object.__setattr__(platform, "worker_capacity_ops_per_s", S)
        config = SimulationConfig(platform, policy="weighted", classical_mode=mode,
                                  duration_s=duration, instance=Instance(tuple(jobs)))
        try:
            result = simulate(config, 0, initial_slots=1)
        except InputError as error:
            return "refused: " + str(error)
        return "ran: %d completed" % result.summary["completed"]

    out = {}
    for mode in ("serverless", "dedicated"):
        # Capacity near the float64 limit: the virtual clock rate * dt overflows (was a segfault).
        out["capacity 1e308 " + mode] = run([job(i, 10.0 * i, 1e9, 1.0) for i in range(5)],
                                            S=1e308, mode=mode)
        out["capacity 1e308 window " + mode] = run([job(i, 3600.0 * i, 1e9, 1.0) for i in range(5)],
                                                   S=1e308, mode=mode, duration=86400.0)
        out["capacity 1e-300 " + mode] = run([job(i, float(i), 1e9, 1.0) for i in range(5)],
                                             S=1e-300, mode=mode, duration=1e6)
        # At the edges of the validated ranges.
        out["valid extremes " + mode] = run(
            [job(0, 0.0, MAX_OPS, MAX_TIME_S), job(1, MAX_TIME_S, MAX_OPS, MAX_TIME_S),
             job(2, MAX_TIME_S, 0.0, 1e-9)], S=MAX_CAPACITY, mode=mode)
        out["slowest valid " + mode] = run(
            [job(i, MAX_TIME_S * i / 4, MAX_OPS, MAX_TIME_S) for i in range(4)],
            S=MIN_CAPACITY, mode=mode)
        # Times and durations near the float64 limit.
        out["arrival 1e300 " + mode] = run([job(0, 0.0, 1.0, 1.0), job(1, 1e300, 1.0, 1.0)],
                                           mode=mode)
        out["quantum 1e300 " + mode] = run([job(i, float(i), 1.0, 1e300) for i in range(4)],
                                           mode=mode)
        out["quantum 1e308 " + mode] = run([job(i, float(i), 1.0, 1e308) for i in range(4)],
                                           mode=mode)
        # Zero (or subnormal) durations: every event at one instant, slots grown from one,
        # the pending queue full.
        out["zero work " + mode] = run([job(i, 0.0, 0.0, 5e-324, iterations=3)
                                        for i in range(300)], C=2, Q=1, mode=mode)
        out["one instant, admission " + mode] = run(
            [job(i, 0.0, 1.0, 1.0) for i in range(300)], C=1, Q=1, mode=mode, max_c=1)
    print(json.dumps(out))
''')


@pytest.mark.parametrize("env", [{"NUMBA_BOUNDSCHECK": "1"}, {"NUMBA_DISABLE_JIT": "1"}],
                         ids=["boundscheck", "no-jit"])
def test_extreme_valid_inputs_never_index_out_of_bounds(env, tmp_path):
    environ = {**os.environ, **env, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    done = subprocess.run([sys.executable, "-c", SCENARIOS], env=environ, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    outcomes = json.loads(done.stdout.splitlines()[-1])
    assert len(outcomes) == 20
    for name, outcome in outcomes.items():
        assert outcome.startswith(("ran: ", "refused: ")), (name, outcome)
    # The float64 overflow is refused with a message, never run into wrong results.
    assert outcomes["capacity 1e308 serverless"].startswith("refused: ")
    assert "float64" in outcomes["capacity 1e308 serverless"]
    assert outcomes["zero work serverless"] == "ran: 300 completed"
    assert outcomes["zero work dedicated"] == "ran: 300 completed"
    # Inside the validated ranges every run completes.
    for mode in ("serverless", "dedicated"):
        assert outcomes["valid extremes " + mode] == "ran: 3 completed", outcomes
        assert outcomes["slowest valid " + mode] == "ran: 4 completed", outcomes


# --- Ray address: a one-line error in seconds, not minutes of retries -----------------

def test_an_unreachable_ray_address_is_refused_at_once():
    from hqsched.errors import InputError
    from hqsched.experiments.executor import check_ray_address

    with socket.socket() as probe:  # a port nobody listens on: bound, then closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(InputError, match=f"--address 127.0.0.1:{port}: no Ray head"):
        check_ray_address(f"127.0.0.1:{port}", timeout_s=2.0)
    with pytest.raises(InputError, match="port 'x' is not a number"):
        check_ray_address("ray://localhost:x")
    with socket.socket() as server:  # something listens: the check lets Ray take over
        server.bind(("127.0.0.1", 0))
        server.listen()
        check_ray_address(f"127.0.0.1:{server.getsockname()[1]}")
    check_ray_address("auto")


# --- Expected-work guard ----------------------------------------------------------------

def test_expected_events_is_close_to_the_events_simulated():
    from hqsched.instances.model import Platform
    from hqsched.instances.synthetic import SyntheticWorkload
    from hqsched.online.config import SimulationConfig
    from hqsched.online.engine import expected_events, simulate

    workload = SyntheticWorkload(interarrival_s=2.0, iterations=3)
    config = SimulationConfig(Platform(2, 1e9, 2, None, None), workload=workload,
                              duration_s=20000.0)
    events = simulate(config, 0).summary["events"]
    assert 0.9 < expected_events(config) / events < 1.1  # 10,000 arrivals x 9 events


def test_a_run_over_the_event_budget_is_refused_unless_yes(monkeypatch, capsys, tmp_path):
    from hqsched.cli import main
    from hqsched.experiments import replications

    fast = ["simulate", "--duration", "1d", "--warmup", "2h", "--iteration-scale", "0.05",
            "--policy", "fifo", "--seeds", "0", "--processes", "1"]
    assert main(fast + ["--interarrival", "1e-6"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "events expected" in err and "--yes" in err
    monkeypatch.setattr(replications, "EVENT_BUDGET", 1000.0)
    assert main(fast) == 2
    assert "over the 1e+03 budget" in capsys.readouterr().err
    assert main(fast + ["--yes"]) == 0


def test_a_campaign_over_the_event_budget_is_refused_unless_yes(tmp_path, capsys):
    from hqsched.cli import main

    toml = tmp_path / "huge.toml"
    toml.write_text('name = "huge"\n[fixed]\nduration = "30d"\nno-admission = true\n'
                    'policy = "fifo"\n[grid]\ninterarrival = ["1", "10"]\n')
    assert main(["campaign", "run", str(toml), "--out", str(tmp_path / "out"), "--seeds", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "events expected" in err and "--yes" in err


# --- Progress in simulated time -----------------------------------------------------------

def test_progress_in_simulated_time_changes_no_result():
    from hqsched.instances.model import Platform
    from hqsched.instances.synthetic import SyntheticWorkload
    from hqsched.online.config import SimulationConfig
    from hqsched.online.engine import simulate

    config = SimulationConfig(Platform(1, 1e9, 1, 10, 10),
                              workload=SyntheticWorkload(interarrival_s=1.0, iterations=2),
                              duration_s=5000.0)
    times: list[float] = []
    seen = simulate(config, 3, chunk_jobs=256, on_time=times.append)
    plain = simulate(config, 3, chunk_jobs=256)
    assert len(times) >= 10 and times == sorted(times) and times[-1] <= 5000.0
    assert seen.summary == plain.summary
    for name, column in plain.jobs.items():
        assert column.tolist() == seen.jobs[name].tolist() or name.endswith("_s")
        if column.dtype.kind == "f":
            assert np.array_equal(column, seen.jobs[name], equal_nan=True)


# --- Time limits of the offline solvers ---------------------------------------------------

def _problem(jobs: int, classical: int):
    from hqsched.formulation.problem import OfflineProblem
    from hqsched.instances.generate import small_instance

    inst = small_instance(jobs, 2, (4, 6, 8, 10), seed=1, interarrival_s=10.0)
    return inst, OfflineProblem(inst, classical, 1, 1e9)


def test_bnb_past_its_deadline_returns_the_incumbent_and_the_root_bound():
    from hqsched.formulation.bnb import branch_and_bound
    from hqsched.formulation.options import BnbOptions

    _, problem = _problem(60, 1)
    r = branch_and_bound(problem, options=BnbOptions(time_limit_s=0.0))
    assert r.status == "feasible" and r.nodes == 0 and r.schedule is not None
    assert r.bound == pytest.approx(min(r.root_bound, r.objective))
    assert r.bound <= r.objective


def test_bnb_reads_the_clock_inside_the_compiled_search():
    """A deadline already past stops ``_search`` before its first node, whatever the
    chunk of nodes it was given."""
    import time as clock

    from hqsched.formulation import bnb

    _, problem = _problem(4, 1)
    jb = bnb._job_arrays(problem, False)
    vt, level = bnb._seq_table(jb, 3)
    control = bnb._control(bnb.BnbOptions(), level, bnb.INF)
    nd, ch, path, best, memo = bnb._search_arrays(jb, 1, 1 << 12)
    nd.k[0], nd.r[0], nd.fC[0], nd.fQ[0], nd.cost[0] = *bnb._root(jb)[:2], -bnb.INF, -bnb.INF, 0.0
    bnb._expand(0, nd, ch, jb, control, vt)
    bnb._search(control, nd, ch, path, best, memo, jb, vt, 10**9, clock.perf_counter() - 1.0)
    assert control[0]["nodes"] == 0 and not control[0]["done"]
    bnb._search(control, nd, ch, path, best, memo, jb, vt, 10**9, clock.perf_counter() + 300.0)
    assert control[0]["done"] and control[0]["nodes"] > 0


def test_a_milp_that_cannot_be_built_in_time_returns_the_best_heuristic():
    from hqsched.formulation.options import SolveOptions
    from hqsched.formulation.solve import solve_delays

    inst, _ = _problem(80, 2)
    # method="milp": with C = 2, "auto" now takes CP-SAT, which builds quickly.
    r = solve_delays(inst, 2, 1, 1e9, SolveOptions(time_limit_s=0.5, method="milp"))
    assert r.status == "feasible" and r.schedule is not None and r.best_bound is None
    assert "MILP not built" in r.message
