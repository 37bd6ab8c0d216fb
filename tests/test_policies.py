"""Key policies (built-in and user-written) against hand-computed pick orders.

Every schedule below has one QC held by job 0 while the others queue; the
order in which the others then start their quantum tasks is the policy's
order, worked out by hand in each docstring.
"""

import math
import subprocess
import sys
import textwrap

import pytest

from hqsched.errors import InputError
from hqsched.instances.model import Instance, Platform, TaskKind, constant_chain_job
from hqsched.online.config import SimulationConfig
from hqsched.online.engine import simulate
from hqsched.online.policies import POLICIES, Policy, load_policy, policy_label, resolve_policy


@pytest.fixture(autouse=True)
def registry_restored():
    """Policies these tests load or register leave the registry as they found it (later
    tests run ``--policy all``)."""
    saved = dict(POLICIES)
    yield
    POLICIES.clear()
    POLICIES.update(saved)


def job(job_id, arrival, quantum_s, priority=1, iterations=1, qubits=4):
    """A job whose classical tasks take no time: only its quantum tasks queue."""
    return constant_chain_job(job_id, arrival, qubits, priority, 0.0, 0.0, quantum_s, 0.0,
                              iterations=iterations)


def quantum_starts(jobs, policy, Q=1):
    """(start time, job id) of every quantum task, in start order."""
    config = SimulationConfig(Platform(1, 1.0, Q, None, None), policy=policy,
                              instance=Instance(tuple(jobs)), duration_s=math.inf,
                              record_schedule=True)
    result = simulate(config, 0)
    return sorted((t.start_s, t.job_id) for t in result.schedule.tasks
                  if t.kind is TaskKind.QUANTUM)


def order(jobs, policy):
    """Job ids in the order their first quantum task starts (job 0 first)."""
    seen: list[int] = []
    for _, j in quantum_starts(jobs, policy):
        if j not in seen:
            seen.append(j)
    return seen


def test_sqf_runs_the_shortest_quantum_task_first():
    """Durations 3, 1, 2, 4 s wait behind job 0: picks by duration 2, 3, 1, 4; starts at
    10, 11, 13, 16."""
    jobs = [job(0, 0.0, 10.0)] + [job(i, 0.1 * i, d) for i, d in enumerate([3, 1, 2, 4], 1)]
    assert quantum_starts(jobs, "sqf") == [(0.0, 0), (10.0, 2), (11.0, 3), (13.0, 1),
                                           (16.0, 4)]


def test_priority_is_strict_with_fifo_inside_a_priority():
    """Priorities 1, 4, 2, 4 queue in that order: 2 and 4 (priority 4, 2 came first), then 3,
    then 1."""
    jobs = [job(0, 0.0, 10.0)] + [job(i, 0.1 * i, 1.0, priority=w)
                                  for i, w in enumerate([1, 4, 2, 4], 1)]
    assert order(jobs, "priority") == [0, 2, 4, 3, 1]


def test_aging_lets_a_long_stay_beat_a_higher_priority():
    """Job 0 holds the QC until t = 8000 s. Pending: job 1 (priority 1, arrived at 0.1 s),
    job 3 (priority 2, at 2000 s), job 2 (priority 2, at 7000 s). At t = 8000 the scores
    priority + (t - arrival) / 3600 are 1 + 2.22 = 3.22, 2 + 1.67 = 3.67, 2 + 0.28 = 2.28:
    3, then 1, then 2. Strict priority gives 3, 2, 1."""
    jobs = [job(0, 0.0, 8000.0), job(1, 0.1, 1.0, priority=1), job(2, 7000.0, 1.0, priority=2),
            job(3, 2000.0, 1.0, priority=2)]
    assert order(jobs, "aging") == [0, 3, 1, 2]
    assert order(jobs, "priority") == [0, 3, 2, 1]


def test_las_prefers_the_job_with_less_quantum_service():
    """Job 1 (two 2 s iterations) runs 10-12 (tie on 0 s attained: it came first), job 2
    runs 12-14; job 1's second task has waited since 12 with 2 s attained, job 3 since 13
    with none: LAS runs job 3 (14-16) before job 1 (16-18); FIFO the other way round."""
    jobs = [job(0, 0.0, 10.0), job(1, 0.1, 2.0, iterations=2), job(2, 0.2, 2.0),
            job(3, 13.0, 2.0)]
    assert quantum_starts(jobs, "las") == [(0.0, 0), (10.0, 1), (12.0, 2), (14.0, 3),
                                           (16.0, 1)]
    assert quantum_starts(jobs, "fifo")[3:] == [(14.0, 1), (16.0, 3)]


def test_srpt_oracle_runs_the_least_remaining_quantum_work_first():
    """Remaining work at t = 10: job 1 3 x 1 s = 3, job 2 2, job 3 5, job 4 2.5: job 2 runs
    10-12, job 4 12-14.5, job 1 14.5-15.5. A freed QC picks before the job that freed it
    queues again, so at 15.5 only job 3 waits: 15.5-20.5; then job 1's last two tasks."""
    jobs = [job(0, 0.0, 10.0), job(1, 0.1, 1.0, iterations=3), job(2, 0.2, 2.0),
            job(3, 0.3, 5.0), job(4, 0.4, 2.5)]
    assert quantum_starts(jobs, "srpt-oracle") == [(0.0, 0), (10.0, 2), (12.0, 4), (14.5, 1),
                                                   (15.5, 3), (20.5, 1), (21.5, 1)]


def test_fifo_swap_is_the_reference_simulators_swap_remove_order():
    """Pending list [1, 2, 3, 4]: take index 0 (job 1), the last (4) moves into its place:
    [4, 2, 3]; then 4, leaving [3, 2]; then 3, then 2. True FIFO gives 1, 2, 3, 4."""
    jobs = [job(0, 0.0, 10.0)] + [job(i, 0.1 * i, 1.0) for i in range(1, 5)]
    assert order(jobs, "fifo-swap") == [0, 1, 4, 3, 2]
    assert order(jobs, "fifo") == [0, 1, 2, 3, 4]


class WeightedWait(Policy):
    name = "tp-weighted-wait"
    dynamic = True

    @staticmethod
    def key(task, now):
        return -task.priority * (now - task.queued_at)


class WeightedWaitAtPush(WeightedWait):
    name = "tp-weighted-wait-at-push"
    dynamic = False


def test_a_dynamic_key_is_computed_at_the_pick():
    """At t = 10, job 1 (priority 1) has waited 9.9 s (score 9.9) and job 2 (priority 4)
    5 s (score 20): job 2 first. Computed at push time (waits 0) the keys tie and the
    first pending (job 1) goes first: the flag matters."""
    jobs = [job(0, 0.0, 10.0), job(1, 0.1, 1.0, priority=1), job(2, 5.0, 1.0, priority=4)]
    assert order(jobs, WeightedWait) == [0, 2, 1]
    assert order(jobs, WeightedWaitAtPush) == [0, 1, 2]


def test_a_key_policy_in_fifo_order_matches_the_builtin_fifo_exactly():
    """A user key ``queued_at`` is FIFO: on a loaded stochastic run every record is equal."""
    class QueuedAt(Policy):
        name = "test-queued-at"

        @staticmethod
        def key(task, now):
            return task.queued_at

    from hqsched.instances.workload import WorkloadSpec
    platform = Platform(1, 1e9, 2, 40, 40)
    spec = WorkloadSpec(interarrival_s=300.0, qubits=(4, 6, 8, 10), priorities=(1, 2, 4))
    runs = [simulate(SimulationConfig(platform, policy=p, workload=spec, duration_s=86400.0), 3)
            for p in ("fifo", QueuedAt)]
    assert runs[0].summary == runs[1].summary
    for column in runs[0].jobs:
        assert list(map(str, runs[0].jobs[column])) == list(map(str, runs[1].jobs[column]))


def test_clairvoyant_fields_are_refused_to_a_non_clairvoyant_policy():
    class Peeks(Policy):
        name = "test-peeks"

        @staticmethod
        def key(task, now):
            return task.remaining_quantum_s

    with pytest.raises(InputError, match="remaining_quantum_s.*clairvoyant = True"):
        resolve_policy(Peeks)


def test_outputs_mark_clairvoyant_policies():
    assert policy_label("srpt-oracle") == "srpt-oracle (clairvoyant)"
    assert policy_label("las") == "las"
    assert [n for n, p in POLICIES.items() if p.clairvoyant] == ["srpt-oracle"]


def test_a_nan_key_stops_the_run_with_a_one_line_error():
    class NotANumber(Policy):
        name = "test-nan"

        @staticmethod
        def key(task, now):
            return math.nan

    jobs = [job(0, 0.0, 10.0), job(1, 0.1, 1.0), job(2, 0.2, 1.0)]
    with pytest.raises(InputError, match="returned NaN"):
        quantum_starts(jobs, NotANumber)


def test_a_key_numba_cannot_compile_is_refused_with_what_is_allowed():
    class OpensAFile(Policy):
        name = "test-open"

        @staticmethod
        def key(task, now):
            return float(open("x").read())

    class MissingField(Policy):
        name = "test-missing"

        @staticmethod
        def key(task, now):
            return task.remaining_time

    jobs = [job(0, 0.0, 1.0), job(1, 0.0, 1.0)]
    with pytest.raises(InputError, match="cannot be compiled by numba .Untyped global name "
                       "'open'.*a key may use"):
        quantum_starts(jobs, OpensAFile)
    with pytest.raises(InputError, match="the task has no field 'remaining_time'"):
        quantum_starts(jobs, MissingField)


def test_a_key_that_raises_stops_the_run_instead_of_returning_garbage():
    """A C callback cannot raise: the failed lookup becomes NaN, and NaN stops the run."""
    class FailsALookup(Policy):
        name = "test-lookup"

        @staticmethod
        def key(task, now):
            return {"a": 1.0}[str(task.qubits)]

    with pytest.raises(InputError, match="returned NaN"):
        quantum_starts([job(0, 0.0, 10.0), job(1, 0.1, 1.0), job(2, 0.2, 1.0)], FailsALookup)


@pytest.mark.parametrize("spec,message", [
    ("missing.py:X", "cannot read"),
    ("nomodule_xyz:X", "cannot import"),
    ("{file}:Nope", "defines no 'Nope'"),
    ("{file}:NOT_A_POLICY", "not a hqsched.Policy subclass"),
    ("{file}:NoKey", "defines no key"),
    ("{file}:Broken", "Broken"),
    ("mine", "unknown policy 'mine'"),
])
def test_bad_policy_specs_are_one_line_errors(tmp_path, spec, message):
    path = tmp_path / "pol.py"
    path.write_text(textwrap.dedent("""
        from hqsched import Policy
        NOT_A_POLICY = 3
        class NoKey(Policy):
            name = "no-key"
    """))
    if "Broken" in spec:
        (tmp_path / "broken.py").write_text("raise RuntimeError('Broken on purpose')\n")
        spec = f"{tmp_path / 'broken.py'}:X"
    with pytest.raises(InputError, match=message) as info:
        resolve_policy(spec.format(file=path))
    assert "\n" not in str(info.value)


def test_a_registry_name_cannot_be_taken_twice(tmp_path):
    path = tmp_path / "pol.py"
    path.write_text("from hqsched import Policy\nclass Fifo(Policy):\n    name = 'fifo'\n"
                    "    @staticmethod\n    def key(task, now):\n        return 0.0\n")
    with pytest.raises(InputError, match="'fifo'.*taken by a built-in"):
        resolve_policy(f"{path}:Fifo")


def test_loading_the_same_file_twice_gives_the_same_policy(tmp_path):
    path = tmp_path / "pol.py"
    path.write_text("from hqsched import Policy\nclass P(Policy):\n    name = 'test-same'\n"
                    "    @staticmethod\n    def key(task, now):\n        return task.qubits\n")
    assert load_policy(f"{path}:P") is load_policy(f"{path}:P")


USER_POLICY = """
from hqsched import Policy
from helper import score

class ByScore(Policy):
    name = "by-score"

    @staticmethod
    def key(task, now):
        return score(task.quantum_s)
"""


def run_user_policy(directory):
    """Start order of a fresh process running ByScore (its key calls helper.score)."""
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(directory)!r})
        from hqsched.instances.model import Instance, Platform, TaskKind, constant_chain_job
        from hqsched.online.config import SimulationConfig
        from hqsched.online.engine import simulate
        jobs = [constant_chain_job(i, 0.1 * i, 4, 1, 0.0, 0.0, d, 0.0, iterations=1)
                for i, d in enumerate([10.0, 3.0, 1.0, 2.0])]
        config = SimulationConfig(Platform(1, 1.0, 1, None, None),
                                  policy={str(directory / 'mine.py')!r} + ":ByScore",
                                  instance=Instance(tuple(jobs)), duration_s=float("inf"),
                                  record_schedule=True)
        tasks = simulate(config, 0).schedule.tasks
        print([t.job_id for t in sorted(tasks, key=lambda t: t.start_s)
               if t.kind is TaskKind.QUANTUM])
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)
    return out.stdout.strip()


def test_an_edited_user_policy_runs_its_new_code_with_a_warm_cache(tmp_path):
    """The key calls a helper in another file; editing only the helper changes the order
    in the next process (numba's on-disk cache of the loop is warm by then, and a cache
    keyed on the policy's own file would have kept the old key)."""
    (tmp_path / "mine.py").write_text(USER_POLICY)
    helper = tmp_path / "helper.py"
    helper.write_text("from numba import njit\n\n@njit(cache=True)\ndef score(d):\n"
                      "    return d\n")
    assert run_user_policy(tmp_path) == "[0, 2, 3, 1]"  # shortest first
    assert run_user_policy(tmp_path) == "[0, 2, 3, 1]"  # warm caches, same code
    helper.write_text("from numba import njit\n\n@njit(cache=True)\ndef score(d):\n"
                      "    return -d\n")
    assert run_user_policy(tmp_path) == "[0, 1, 3, 2]"  # longest first


def test_a_registry_entry_without_code_is_an_error_not_a_fall_through():
    """Issue 12: ``POLICIES["mine"] = Policy("mine", 7, ...)`` ran another policy's code."""
    from hqsched.online.policies import ArrayPolicy
    POLICIES["test-half"] = ArrayPolicy("test-half", 7, False, "no push/pop pair")
    try:
        with pytest.raises(InputError, match="array policy id 7 has no push/pop pair"):
            quantum_starts([job(0, 0.0, 1.0), job(1, 0.0, 1.0)], "test-half")
    finally:
        del POLICIES["test-half"]
