"""Options and TOML keys: every number checked at parse time against what the model holds.

Each bad value gets exit code 2 and one line naming the option (or file and
key) and the value, before any work; seed sets and grids are counted, not
listed, before they are refused. The limits are the ``MAX_*`` / ``MIN_*``
constants of ``hqsched.inputs``.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from hqsched import inputs
from hqsched.cli import main
from hqsched.errors import InputError
from hqsched.experiments import campaign as cmp
from hqsched.instances.io import write_instance
from hqsched.instances.model import Instance, Platform
from hqsched.validation.invariants import run_invariants

HUGE = "99999999999999999999"  # > 2**64


@pytest.fixture(scope="module")
def instance_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-job instance, 1 iteration each (``hqsched instance generate``)."""
    path = tmp_path_factory.mktemp("inst") / "i3.json"
    assert main(["instance", "generate", "--jobs", "3", "--iterations", "1",
                 "--interarrival", "10", "-o", str(path)]) == 0
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Exit code, stdout, stderr of ``hqsched argv`` (argparse errors exit via SystemExit)."""
    capsys.readouterr()
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def assert_refused(code: int, out: str, err: str, *names: str) -> None:
    """Exit 2, nothing on stdout, one stderr line naming every one of ``names``."""
    assert code == 2, (code, out, err)
    assert out == "" and err.count("\n") == 1 and err.startswith("hqsched"), err
    assert "Traceback" not in err
    for name in names:
        assert name in err, (name, err)


SIM = ("simulate", "--seeds", "0", "--duration", "1h", "--warmup", "0", "--policy", "fifo",
       "--processes", "1")

#: (arguments, words the one-line error must contain); the option comes last so it wins.
REFUSED = [
    ([*SIM, "--worker-capacity", "1e308"], ["--worker-capacity", "'1e308'", "1e+15"]),
    ([*SIM, "--worker-capacity", "1e-300"], ["--worker-capacity", "'1e-300'"]),
    ([*SIM, "--iteration-scale", "1e308"], ["--iteration-scale", "'1e308'"]),
    ([*SIM, "--duration", "1e9d"], ["--duration", "'1e9d'", "1e+09 s"]),
    ([*SIM, "--warmup", "1e400"], ["--warmup", "'1e400'"]),
    ([*SIM, "--interarrival", "1e-9"], ["--interarrival", "'1e-9'", "1e-06 s"]),
    ([*SIM, "--processes", "0"], ["--processes", "'0'"]),
    ([*SIM, "--processes", "-1"], ["--processes", "'-1'"]),
    ([*SIM, "--processes", HUGE], ["--processes", HUGE, "1024"]),
    ([*SIM, "--quantum-computers", HUGE], ["--quantum-computers", HUGE]),
    ([*SIM, "--max-classical", HUGE], ["--max-classical", HUGE]),
    ([*SIM, "--classical-workers", "100001"], ["--classical-workers", "100000"]),
    ([*SIM, "--priorities", "4611686018427387904"], ["--priorities", "1000000"]),
    ([*SIM, "--qubits", HUGE], ["--qubits", HUGE]),
    ([*SIM, "--seeds", "n=1000000000"], ["--seeds", "1000000000 seeds", "100000"]),
    ([*SIM, "--seeds", "0-999999999"], ["--seeds", "'0-999999999'"]),
    ([*SIM, "--seeds", HUGE], ["--seeds", HUGE]),
    ([*SIM, "--traces", "/nonexistent/traces"], ["--traces", "does not exist"]),
    ([*SIM, "--quantum-target", "bogus"], ["--quantum-target", "'bogus'"]),
    ([*SIM, "--quantum-target", "ibm:nowhere"], ["--quantum-target", "'nowhere'"]),
    (["invariants", "--seed", "-1"], ["--seed", "'-1'"]),
    (["invariants", "--instances", "0"], ["--instances", "'0'"]),
    (["invariants", "--instances", "-1"], ["--instances", "'-1'"]),
    (["invariants", "--instances", "1000000000"], ["--instances", "100000"]),
    (["invariants", "--time-limit", "0"], ["--time-limit", "'0'"]),
    (["invariants", "--time-limit", "nan"], ["--time-limit", "'nan'"]),
    (["invariants", "--processes", "0"], ["--processes", "'0'"]),
    (["validate", "--seeds", "1000000000"], ["--seeds", "100000"]),
    (["validate", "--processes", "-1"], ["--processes", "'-1'"]),
    (["gap", "--out", "unused", "--instances", HUGE], ["--instances", HUGE]),
    (["gap", "--out", "unused", "--jobs", "1000", "--iterations", "1000"],
     ["--jobs 1000", "--iterations 1000", "limit of 2000"]),
    (["gap", "--out", "unused", "--jobs", "1000"], ["--jobs 1000", "8000 tasks"]),
    (["gap", "--out", "unused", "--processes", "0"], ["--processes", "'0'"]),
    (["instance", "generate", "--jobs", "3", "--iterations", "1000000000", "--interarrival",
      "10", "-o", "unused.json"], ["--iterations 1000000000", "1000000"]),
    (["instance", "generate", "--jobs", "10000000", "--iterations", "1", "--interarrival",
      "10", "-o", "unused.json"], ["--jobs 10000000"]),
    (["instance", "generate", "--jobs", HUGE, "--iterations", "1", "--interarrival", "10",
      "-o", "unused.json"], ["--jobs", HUGE]),
    (["instance", "generate", "--jobs", "3", "--iterations", "1", "--interarrival", "1e-9",
      "-o", "unused.json"], ["--interarrival", "'1e-9'"]),
    (["instance", "generate", "--jobs", "3", "--iterations", "1", "--interarrival", "10",
      "-o", "."], ["--out", "is a directory", "instance.json"]),
    (["plan", "simulate", "--max-drop", "0.1", "--quantum-range", "1-1000000"],
     ["--quantum-range", "'1-1000000'"]),
    (["plan", "simulate", "--max-drop", "0.1", "--quantum-range", "1-10000"],
     ["--quantum-range 1-10000", "candidates", "10000"]),
    (["plan", "simulate", "--max-drop", "0.1", "--seeds", "1000000000"], ["--seeds", "100000"]),
    (["plan", "simulate", "--max-drop", "0.1", "--seeds", "n=1000000000"], ["--seeds"]),
    (["plan", "simulate", "--max-drop", "0.1", "--cost", "C=1e400"], ["--cost", "'C=1e400'"]),
    (["plan", "simulate", "--max-drop", "0.1", "--batch", HUGE], ["--batch", HUGE]),
    (["campaign", "run", "small", "--out", "unused", "--processes", "0"], ["--processes"]),
    (["campaign", "run", "small", "--out", "unused", "--max-units", HUGE], ["--max-units"]),
]


@pytest.mark.parametrize("argv,words", REFUSED, ids=[" ".join(a[-2:]) for a, _ in REFUSED])
def test_bad_numbers_are_refused_in_one_line(capsys, tmp_path, monkeypatch, argv, words):
    monkeypatch.chdir(tmp_path)  # nothing may be written; "unused" paths must stay absent
    assert_refused(*run(capsys, *argv), *words)
    assert list(tmp_path.iterdir()) == []


SOLVE_REFUSED = [
    (["--worker-capacity", "1e-300"], ["--worker-capacity", "'1e-300'"]),
    (["--worker-capacity", "1e308"], ["--worker-capacity", "'1e308'"]),
    (["--classical-workers", HUGE], ["--classical-workers", HUGE]),
    (["--time-limit", "nan"], ["--time-limit", "'nan'"]),
    (["--method", "bnb", "--classical-workers", "2"], ["--method bnb", "--classical-workers 2"]),
    (["--method", "bnb", "--relax-classical"], ["--method bnb", "--relax-classical"]),
    (["--gantt", "{tmp}"], ["--gantt", "is a directory"]),
    (["--gantt", "{tmp}/x.txt"], ["--gantt", "x.txt", ".png"]),
    (["--out", "{tmp}"], ["--out", "is a directory"]),
]


@pytest.mark.parametrize("args,words", SOLVE_REFUSED, ids=[" ".join(a) for a, _ in SOLVE_REFUSED])
def test_solve_options_are_checked_before_solving(capsys, tmp_path, instance_file, args, words):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert_refused(*run(capsys, "solve", str(instance_file), *args), *words)


PLAN_EXACT_REFUSED = [
    (["--worker-capacity", "1e-300"], ["--worker-capacity"]),
    (["--time-limit", "nan"], ["--time-limit", "'nan'"]),
    (["--delta-max", "1e400"], ["--delta-max", "'1e400'"]),
    (["--minimize", "cost", "--cost", "C=1e400"], ["--cost", "'C=1e400'"]),
    (["--minimize", "cost", "--quantum-range", "1-1000000"], ["--quantum-range"]),
    (["--minimize", "cost", "--quantum-range", "1-100000"], ["candidates"]),
    (["--out", "."], ["--out", "is a directory"]),
]


@pytest.mark.parametrize("args,words", PLAN_EXACT_REFUSED,
                         ids=[" ".join(a) for a, _ in PLAN_EXACT_REFUSED])
def test_plan_exact_options(capsys, instance_file, args, words):
    assert_refused(*run(capsys, "plan", "exact", str(instance_file), "--delta-max", "100",
                        *args), *words)


def test_empty_instance_is_refused_before_solving(capsys, tmp_path):
    path = tmp_path / "empty.json"
    write_instance(Instance((), name="empty"), path)
    code, out, err = run(capsys, "solve", str(path))
    assert_refused(code, out, err, str(path))
    assert "no jobs" in err or "non-empty list of jobs" in err  # the reader or solve refuses


def test_gantt_without_suffix_writes_and_names_the_png(capsys, tmp_path, instance_file):
    code, out, err = run(capsys, "solve", str(instance_file), "--gantt", str(tmp_path / "chart"),
                         "--time-limit", "30")
    assert code == 0, err
    assert (tmp_path / "chart.png").is_file() and not (tmp_path / "chart").exists()
    assert f"wrote {tmp_path / 'chart.png'}" in out


@pytest.mark.parametrize("body,words", [
    ("worker-capacity = 1e308\n", ["s.toml: worker-capacity", "1e+308"]),
    ("processes = 0\n", ["s.toml: processes", "0"]),
    (f"quantum_computers = {HUGE}\n", ["s.toml: quantum_computers", HUGE]),
    ('seeds = "n=1000000000"\n', ["s.toml: seeds", "1000000000 seeds"]),
    ('duration = "1e9d"\n', ["s.toml: duration", "'1e9d'"]),
    ("duration = 1e400\n", ["s.toml: duration"]),
    ("interarrival = 1e-9\n", ["s.toml: interarrival"]),
    ("iteration-scale = 1e308\n", ["s.toml: iteration-scale"]),
    ("priorities = [1, 4611686018427387904]\n", ["s.toml: priorities", "1000000"]),
])
def test_toml_keys_use_the_same_limits(capsys, tmp_path, body, words):
    toml = tmp_path / "s.toml"
    toml.write_text(body)
    assert_refused(*run(capsys, "simulate", "--config", str(toml)), *words)


def test_seed_sets_are_counted_without_listing_them():
    tracemalloc.start()
    try:
        assert inputs.count_seeds("0-999999999", "--seeds") == 1_000_000_000
        with pytest.raises(InputError, match=r"^--seeds: 1000000000 seeds, more than the limit"):
            inputs.parse_seeds("n=1000000000", "--seeds")
        with pytest.raises(InputError, match="seed 5 is given more than once"):
            inputs.count_seeds("0-9,5-999999999", "--seeds")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # bytes: a listed billion seeds would take gigabytes
    assert inputs.parse_seeds("0-2,7", "--seeds", max_count=4) == (0, 1, 2, 7)
    with pytest.raises(InputError, match="4 seeds, more than the limit of 3"):
        inputs.parse_seeds("0-2,7", "--seeds", max_count=3)


def test_campaign_guard_comes_before_the_seeds_are_listed():
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match=r"4 grid point\(s\) x 100000000 seed\(s\) = "
                                             r"400000000 units, more than --max-units 1000"):
            cmp.load_campaign("small", seeds="0-99999999", max_units=1000)
        with pytest.raises(InputError, match="even with --yes"):  # --yes: max_units None
            cmp.load_campaign("small", seeds="0-99999999", max_units=None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000  # bytes; the seeds alone would be gigabytes


def test_invariants_api_checks_its_inputs():
    with pytest.raises(InputError, match="invariants: instances must be a positive integer"):
        run_invariants(0)
    with pytest.raises(InputError, match="invariants: seed must be an integer >= 0"):
        run_invariants(1, seed=-1)


@pytest.mark.parametrize("parse,value,message", [
    (inputs.parse_positive_int, HUGE,
     f"--n: must be an integer from 1 to {inputs.MAX_INT}, got '{HUGE}'"),
    (inputs.parse_nonnegative_int, 2**53 + 1,
     f"--n: must be an integer from 0 to {inputs.MAX_INT}, got {2**53 + 1}"),
    (inputs.bounded_float(1.0, 10.0), "11", "--n: must be a number from 1 to 10, got '11'"),
    (inputs.parse_positive_float, "1e400", "--n: must be a positive finite number, got '1e400'"),
    (inputs.parse_duration, 10**400, "--n: must be a duration at most 1e+09 s (31.7 years), "
                                     "got 1000000000000000..."),
    (inputs.parse_int_range, "1-1000000", "--n: values must be at most 100000, got '1-1000000'"),
    (inputs.parse_seeds, "1,2,3-7,4", "--n: seed 4 is given more than once in '1,2,3-7,4'"),
], ids=range(7))
def test_limits_in_messages(parse, value, message):
    """The message states the limit; a huge value is shown cut to one short line."""
    with pytest.raises(InputError) as err:
        parse(value, "--n")
    assert str(err.value).startswith(message.removesuffix("...")), str(err.value)


def test_the_limits_hold_the_defaults_and_the_bundled_studies():
    """Everything shipped stays inside the limits (the limits refuse only absurd values)."""
    for name in cmp.bundled_studies():
        c = cmp.load_campaign(name)
        assert c.n_units <= cmp.MAX_UNITS
    p = Platform(classical_workers=1, worker_capacity_ops_per_s=1e9, quantum_computers=4)
    assert inputs.MIN_CAPACITY <= p.worker_capacity_ops_per_s <= inputs.MAX_CAPACITY
    assert inputs.parse_duration("7d", "--duration") == 604800.0


def test_gap_config_and_plan_exact_check_their_inputs(tmp_path):
    from hqsched.planning.exact import plan_exact
    from hqsched.validation.gap import GapConfig

    with pytest.raises(InputError, match="gap: instances must be a positive integer, got 0"):
        GapConfig(instances=0)
    with pytest.raises(InputError, match="2002000 tasks"):
        GapConfig(jobs=1000, iterations=1000)
    with pytest.raises(InputError, match="gap: time_limit_s must be a positive number, got nan"):
        GapConfig(time_limit_s=float("nan"))
    empty = Instance((), name="empty")
    with pytest.raises(InputError, match="plan: time_limit_s must be a positive number"):
        plan_exact(empty, "classical", 10.0, time_limit_s=0.0)
    with pytest.raises(InputError, match=r"plan: 1000000 \(C, Q\) pairs"):
        plan_exact(empty, "cost", 10.0, classical_range=(1, 1000), quantum_range=(1, 1000))


def test_solvers_refuse_an_instance_of_too_many_tasks_before_expanding_it(capsys, tmp_path,
                                                                           instance_file):
    import json
    doc = json.loads(instance_file.read_text())
    doc["jobs"][0]["iterations"] = 10**9  # a constant chain: 2e9 tasks if expanded
    path = tmp_path / "big.json"
    path.write_text(json.dumps(doc))
    for argv in (["solve", str(path)], ["plan", "exact", str(path), "--delta-max", "10"]):
        assert_refused(*run(capsys, *argv), str(path), "2000000010 tasks", "1000000")


def test_a_bad_value_in_the_config_file_is_refused_even_when_overridden(capsys, tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_text('seeds = "n=1000000000"\n')
    assert_refused(*run(capsys, *SIM, "--config", str(toml)), "s.toml: seeds", "1000000000")


def test_simulating_an_empty_job_list_is_refused(capsys, tmp_path):
    path = tmp_path / "empty.json"
    write_instance(Instance((), name="empty"), path)
    code, out, err = run(capsys, *SIM, "--instance", str(path))
    assert_refused(code, out, err, str(path))
    assert "no jobs" in err or "non-empty list of jobs" in err
    csv = tmp_path / "empty.csv"
    csv.write_text("job_id,arrival_s,qubits,priority\n")
    assert_refused(*run(capsys, *SIM, "--instance", str(csv)), str(csv))  # no rows
