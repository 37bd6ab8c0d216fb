"""The `hqsched simulate` command: options, TOML scenarios and one-line input errors."""

import json
import subprocess
import sys

import pytest

from hqsched.cli import main
from hqsched.experiments.scenario import build_plan, describe, settings_from
from hqsched.instances.io import write_instance
from hqsched.instances.model import Instance, constant_chain_job

FAST = ["--duration", "1d", "--warmup", "2h", "--iteration-scale", "0.05"]


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["simulate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_toml_and_cli_give_the_same_scenario(tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_text('interarrival = "10m"\nclassical_workers = 2\nworker-capacity = 1e8\n'
                    'quantum_computers = 3\nmax_classical = 30\nmax-quantum = 20\n'
                    'policy = "fifo,random"\nqubits = [4, 8]\npriorities = "1,3"\n'
                    'duration = "2d"\nwarmup = 3600\nseeds = "0-4"\nclassical_mode = "dedicated"\n'
                    'fill_in = "interpolate"\n')
    from_file = build_plan(settings_from({}, str(toml)))
    from_cli = build_plan(settings_from({
        "interarrival": "600", "classical-workers": "2", "worker-capacity": "1e8",
        "quantum-computers": "3", "max-classical": "30", "max-quantum": "20",
        "policy": "fifo,random", "qubits": "4,8", "priorities": "1,3", "duration": "48h",
        "warmup": "1h", "seeds": "n=5", "classical-mode": "dedicated",
        "fill-in": "interpolate"}))
    assert from_file.scenarios == from_cli.scenarios
    assert list(from_file.scenarios) == ["fifo", "random"]
    assert from_file.seeds == from_cli.seeds == (0, 1, 2, 3, 4)
    cfg = from_file.scenarios["fifo"]
    assert cfg.platform.classical_workers == 2 and cfg.platform.max_quantum == 20
    assert cfg.workload.qubits == (4, 8) and cfg.warmup_s == 3600.0


def test_cli_options_override_the_file(tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_text('quantum-computers = 3\npolicy = "lifo"\n')
    plan = build_plan(settings_from({"quantum-computers": "5"}, str(toml)))
    assert plan.scenarios["lifo"].platform.quantum_computers == 5


def test_defaults_are_the_papers_small_scenario():
    plan = build_plan(settings_from({}))
    assert set(plan.scenarios) == {"fifo", "lifo", "random", "weighted"}
    cfg = plan.scenarios["weighted"]
    p, w = cfg.platform, cfg.workload
    assert (p.classical_workers, p.worker_capacity_ops_per_s, p.quantum_computers,
            p.max_classical, p.max_quantum) == (1, 1e9, 4, 40, 40)
    assert (w.interarrival_s, w.qubits, w.priorities) == (600.0, (4, 6, 8, 10), (1, 2, 4))
    assert (cfg.duration_s, cfg.warmup_s) == (7 * 86400.0, 12 * 3600.0)
    assert cfg.classical_mode == "serverless" and w.quantum_target == "ibm-fastest"


BAD_OPTIONS = [
    (["--policy", "nosuch"], "--policy", "'nosuch'"),
    (["--classical-workers", "0"], "--classical-workers", "'0'"),
    (["--quantum-computers", "-1"], "--quantum-computers", "'-1'"),
    (["--worker-capacity", "0"], "--worker-capacity", "'0'"),
    (["--max-quantum", "2.5"], "--max-quantum", "'2.5'"),
    (["--interarrival", "0"], "--interarrival", "'0'"),
    (["--duration", "7x"], "--duration", "'7x'"),
    (["--duration", "1d", "--warmup", "2d"], "--warmup", "172800"),
    (["--qubits", "4,12"], "--qubits", "n_qubits=12"),
    (["--qubits", "4,x"], "--qubits", "'x'"),
    (["--seeds", "5-2"], "--seeds", "'5-2'"),
    (["--classical-mode", "shared"], "--classical-mode", "'shared'"),
    (["--fill-in", "guess"], "--fill-in", "'guess'"),
    (["--quantum-target", "ibm:nowhere"], "--quantum-target", "'nowhere'"),
    (["--instance", "missing.csv"], "missing.csv", "no such"),
    (["--instance", "jobs.txt"], "--instance", "jobs.txt"),
    (["--traces", "/nonexistent/traces"], "/nonexistent/traces", "does not exist"),
]


@pytest.mark.parametrize("args,field,value", BAD_OPTIONS)
def test_bad_options_exit_2_with_one_line_naming_field_and_value(capsys, args, field, value):
    code, out, err = run_cli(capsys, *args, "--seeds", "0") if "--seeds" not in args \
        else run_cli(capsys, *args)
    assert code == 2
    assert err.startswith("hqsched: error: ") and err.count("\n") == 1, err
    assert field in err and value in err, err
    assert "Traceback" not in err and out == ""


@pytest.mark.parametrize("body,field,value", [
    ('warm_up = "1h"\n', "warm_up", "unknown key"),
    ('warmup = "later"\n', "warmup", "'later'"),
    ('classical_workers = 0\n', "classical_workers", "0"),
    ('policy = "best"\n', "policy", "'best'"),
    ('qubits = [4, 5]\n', "qubits", "n_qubits=5"),
    ('duration = "1d"\nwarmup = "1d"\n', "warmup", "86400"),
    ('seeds = "0-"\n', "seeds", "'0-'"),
    ('not toml at all', "not valid TOML", ""),
])
def test_bad_toml_exits_2_naming_file_key_and_value(tmp_path, capsys, body, field, value):
    toml = tmp_path / "bad.toml"
    toml.write_text(body)
    code, _, err = run_cli(capsys, "--config", str(toml))
    assert code == 2
    assert err.startswith("hqsched: error: ") and err.count("\n") == 1, err
    assert str(toml) in err and field in err and value in err, err


def test_missing_config_file_is_an_input_error(capsys, tmp_path):
    code, _, err = run_cli(capsys, "--config", str(tmp_path / "nope.toml"))
    assert code == 2 and "nope.toml" in err


def test_replay_of_a_json_instance_and_of_a_csv_job_list(tmp_path, capsys):
    jobs = [constant_chain_job(k, 100.0 * k, 4, 1 + k % 2, 1e9, 1e8, 2.0, 1e8, iterations=3)
            for k in range(5)]
    write_instance(Instance(tuple(jobs), name="tiny"), tmp_path / "tiny.json")
    code, out, err = run_cli(capsys, "--instance", str(tmp_path / "tiny.json"), "--policy",
                             "fifo", "--seeds", "0-1", "--no-admission", "--processes", "1",
                             "--out", str(tmp_path / "json"))
    assert code == 0, err
    assert "policy fifo" in out
    config = json.loads((tmp_path / "json" / "config.json").read_text())
    assert config["instance"]["jobs"] == 5 and config["duration_s"] == "inf"
    assert config["platform"]["max_classical"] is None

    (tmp_path / "jobs.csv").write_text("arrival_s,qubits,priority\n0,4,1\n50,6,2\n90,4,4\n")
    code, out, err = run_cli(capsys, "--instance", str(tmp_path / "jobs.csv"), "--qubits", "4,6",
                             "--iteration-scale", "0.01", "--policy", "random", "--seeds", "0-1",
                             "--processes", "1", "--out", str(tmp_path / "csv"))
    assert code == 0, err
    first = (tmp_path / "csv" / "jobs" / "seed-000000.csv").read_text()
    second = (tmp_path / "csv" / "jobs" / "seed-000001.csv").read_text()
    assert first.count("\n") == 4 and first != second  # chains drawn per seed


def test_csv_job_list_with_qubits_outside_the_workload_is_refused(tmp_path, capsys):
    (tmp_path / "jobs.csv").write_text("arrival_s,qubits,priority\n0,4,1\n50,8,2\n")
    code, _, err = run_cli(capsys, "--instance", str(tmp_path / "jobs.csv"), "--qubits", "4",
                           "--seeds", "0")
    assert code == 2 and "jobs.csv:3" in err and "qubits=8" in err


def test_python_dash_m_entry_point_shows_help(tmp_path):
    # cwd elsewhere: from the repository root `python -m` would import ./hqsched.
    done = subprocess.run([sys.executable, "-m", "hqsched", "simulate", "--help"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0 and "--interarrival" in done.stdout


def test_describe_is_json_serialisable_and_stable():
    plan = build_plan(settings_from({"policy": "fifo"}))
    doc = describe(plan.scenarios["fifo"])
    assert json.loads(json.dumps(doc)) == doc
    assert doc == describe(build_plan(settings_from({"policy": "fifo"})).scenarios["fifo"])
