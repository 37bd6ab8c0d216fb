"""Instance generation and the `instance generate` / `solve` subcommands."""

import pytest

from hqsched import cli
from hqsched.instances.generate import small_instance
from hqsched.instances.io import read_instance


def test_same_seed_gives_the_same_instance_and_fixed_iterations():
    a = small_instance(5, 3, (4, 6, 8, 10), seed=7, interarrival_s=20, priorities=(1, 2))
    b = small_instance(5, 3, (4, 6, 8, 10), seed=7, interarrival_s=20, priorities=(1, 2))
    assert a == b
    assert all(j.iterations == 3 for j in a.jobs)


def test_grid_rounds_every_duration_up_to_a_positive_multiple():
    raw = small_instance(3, 2, (4, 6), seed=1, interarrival_s=20)
    grid = small_instance(3, 2, (4, 6), seed=1, interarrival_s=20, grid_s=0.5)
    for r, g in zip(raw.jobs, grid.jobs):
        for tr, tg in zip(r.tasks(), g.tasks()):
            dr, dg = tr.duration_s(1e9), tg.duration_s(1e9)
            k = dg / 0.5
            assert dg >= dr and k >= 1 and abs(k - round(k)) < 1e-9


def test_generate_then_solve_writes_csv_and_gantt(tmp_path, capsys):
    inst = tmp_path / "inst.json"
    assert cli.main(["instance", "generate", "--jobs", "3", "--iterations", "1", "--qubits",
                     "4,6", "--seed", "1", "--interarrival", "20", "-o", str(inst)]) == 0
    assert len(read_instance(inst)) == 3
    csv, png = tmp_path / "s.csv", tmp_path / "g.png"
    assert cli.main(["solve", str(inst), "--classical-workers", "1", "--quantum-computers", "2",
                     "--time-limit", "20", "--out", str(csv), "--gantt", str(png)]) == 0
    out = capsys.readouterr().out
    assert "status=optimal" in out and "best_bound" in out
    assert csv.read_text().startswith("job_id,task,kind,server,start_s,end_s")
    assert png.stat().st_size > 1000


def test_missing_instance_file_is_one_line_and_exit_code_2(tmp_path, capsys):
    assert cli.main(["solve", str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err
    assert "missing.json" in err and "Traceback" not in err


def test_bad_number_exits_2_naming_the_option(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["solve", "x.json", "--quantum-computers", "two"])
    assert exc.value.code == 2
    assert "--quantum-computers" in capsys.readouterr().err


def test_warm_start_provider_hook_is_called_with_instance_and_platform(tmp_path):
    import argparse

    from hqsched.cli.solve import register

    inst = tmp_path / "inst.json"
    cli.main(["instance", "generate", "--jobs", "2", "--iterations", "1", "--qubits", "4",
              "--interarrival", "20", "-o", str(inst)])
    seen = []
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True),
             warm_start_provider=lambda i, p: seen.append((len(i), p.quantum_computers)) or None)
    args = parser.parse_args(["solve", str(inst), "--quantum-computers", "2"])
    assert args.func(args) == 0
    assert seen == [(2, 2)]


def test_solve_method_milp_and_bnb_agree_from_the_command_line(tmp_path, capsys):
    inst = tmp_path / "inst.json"
    assert cli.main(["instance", "generate", "--jobs", "3", "--iterations", "2", "--qubits",
                     "4,6", "--seed", "2", "--interarrival", "20", "-o", str(inst)]) == 0
    objectives = {}
    for method in ("milp", "bnb"):
        capsys.readouterr()
        assert cli.main(["solve", str(inst), "--quantum-computers", "2", "--time-limit", "20",
                         "--method", method]) == 0
        out = capsys.readouterr().out
        assert "status=optimal" in out
        objectives[method] = float(out.split("objective=")[1].split()[0])
    assert objectives["milp"] == pytest.approx(objectives["bnb"], rel=1e-5)
