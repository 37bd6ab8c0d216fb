"""Hostile input across every subcommand: a clean refusal or a correct run, never worse.

Each case runs ``python -m hqsched ...`` in a fresh process with a timeout
and checks one of two outcomes:

- ``REFUSE``: exit code 2 and exactly one line on stderr, ``hqsched: error:
  ...``, that names no internal temporary file; no traceback, no hang
  (``TIMEOUT_S``), no signal.
- ``RUNS``: exit code 0 and no traceback.

The cases come from issue 13's hostile-input campaign (crashes, hangs,
silent wrong results, messages) plus the obvious neighbours of each: for
every numeric option, zero, negative, NaN, infinity, overflow and junk.
Cases a known open bug still breaks are marked ``xfail(strict=True)`` with
the reason, so the suite says what is left and fails once it is fixed (the
mark must then go).

A hypothesis fuzz of instance files (JSON and CSV) and scenario TOML runs
the loaders in this process: any exception but ``InputError`` is a failure.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TIMEOUT_S = 60
REFUSE, RUNS = "refuse", "runs"

# A quick valid simulate run: every case below changes one thing.
SIM = ["simulate", "--duration", "1d", "--warmup", "1h", "--seeds", "0", "--policy", "fifo",
       "--processes", "1"]
SOLVE = ["solve", "{d}/inst.json", "--time-limit", "10"]

VALID_INSTANCE = {
    "format": "hqsched-instance", "version": 1, "name": "tiny",
    "jobs": [{"job_id": 0, "arrival_s": 0.0, "qubits": 4, "priority": 1, "pre_ops": 1e9,
              "iteration_ops": 1e5, "quantum_s": 2.0, "post_ops": 1e8, "iterations": 2},
             {"job_id": 1, "arrival_s": 1.0, "qubits": 4, "priority": 2, "pre_ops": 1e9,
              "iteration_ops": 1e5, "quantum_s": 2.0, "post_ops": 1e8, "iterations": 2}]}
CSV_HEADER = "arrival_s,qubits,priority,pre_ops,iteration_ops,quantum_s,post_ops,iterations\n"
CSV_ROW = "0,4,1,1e9,1e5,2.0,1e8,2\n"


@dataclass
class Case:
    """One command line; ``files`` are written under the case's directory ``{d}``."""

    name: str
    argv: list[str]
    expect: str = REFUSE
    files: dict[str, str | bytes] = field(default_factory=dict)
    xfail: str = ""


def with_job(**changes: object) -> str:
    doc = json.loads(json.dumps(VALID_INSTANCE))
    doc["jobs"][0].update(changes)
    return json.dumps(doc)


def with_doc(**changes: object) -> str:
    doc = json.loads(json.dumps(VALID_INSTANCE))
    doc.update(changes)
    return json.dumps(doc)


BAD_REALS = ["0", "-1", "nan", "inf", "1e400", "abc", ""]
BAD_COUNTS = ["0", "-1", "1.5", "abc", "99999999999999999999", ""]


def simulate_cases() -> list[Case]:
    cases = [Case("simulate ok", SIM, RUNS)]
    numeric = {"--interarrival": BAD_REALS + ["1e-9"],
               "--worker-capacity": BAD_REALS + ["1e308", "1e-300"],
               "--iteration-scale": BAD_REALS + ["1e308"],
               "--classical-workers": BAD_COUNTS, "--quantum-computers": BAD_COUNTS,
               "--max-classical": ["-1", "1.5", "abc", "99999999999999999999"],
               "--max-quantum": ["-1", "1.5", "abc", "99999999999999999999"],
               "--duration": ["0", "-1", "abc", "nan", "1e9d", "inf", "5x"],
               "--warmup": ["-1", "abc", "nan", "inf"],
               "--seeds": ["-1", "abc", "", "5-3", "n=0", "n=1000000000", "0-999999999", "1,1",
                           "99999999999999999999"],
               "--processes": ["0", "-1", "abc", "99999999999999999999"],
               "--qubits": ["", "0", "-4", "4,abc", "3", "1000000000"],
               "--priorities": ["", "0", "-1", "abc", "99999999999999999999",
                                "4611686018427387904"],
               "--policy": ["nosuch", ""], "--classical-mode": ["nosuch"],
               "--quantum-target": ["nosuch", "ibm:nosuch"], "--fill-in": ["nosuch"],
               "--format": ["nosuch"]}
    for option, values in numeric.items():
        for value in values:
            cases.append(Case(f"simulate {option} {value!r}", [*SIM, option, value]))
    cases += [
        Case("simulate --traces missing", [*SIM, "--traces", "{d}/none"]),
        Case("simulate --traces file", [*SIM, "--traces", "{d}/f.txt"], files={"f.txt": "x"}),
        Case("simulate --traces empty dir", [*SIM, "--traces", "{d}/empty"],
             files={"empty/.keep": ""}),
        Case("simulate --out is a file", [*SIM, "--out", "{d}/f.txt"], files={"f.txt": "x"}),
        Case("simulate Q=1000 1 ms arrivals", [*SIM, "--quantum-computers", "1000",
                                               "--interarrival", "0.001", "--no-admission"]),
        Case("simulate no admission 1 s 30 d", [*SIM, "--no-admission", "--interarrival", "1",
                                                "--duration", "30d"]),
    ]
    return cases + feature_cases()


def feature_cases() -> list[Case]:
    """Issue 17's options (docs/platform-features.md): a fleet, routing, sessions, cold
    starts; the session options are given with sessions on, so that their parser speaks."""
    cases = [Case("simulate every feature on", [*SIM, "--qc-group", "f:1:speed=2:cost=3",
                                                "--qc-group", "s:2:qubits=10",
                                                "--routing", "smallest", "--sessions", "all",
                                                "--keep-alive", "1m", "--cold-start", "2s"],
                  RUNS)]
    bad = {"--qc-group": ["", "a", ":2", "a:x", "a:-1", "a:1e9", "a:2:foo=1", "a:2:speed=0",
                          "a:2:speed=nan", "a:2:speed=inf", "a:2:qubits=0", "a:2:qubits=6",
                          "a:2:backend=nosuch", "a:2:backend=ibm_torino:speed=2",
                          "a:2:cost=-1", "a:0", "a:1,a:1"],
           "--routing": ["nosuch", ""],
           "--sessions": ["", "some", "priority>=0", "priority>=abc", "priority>=1e9"],
           "--max-instances": BAD_COUNTS,
           "--cold-start": ["-1", "abc", "nan", "inf"],
           "--cold-start-work": ["-1", "abc", "nan", "inf", "1e400"],
           "--keep-alive": ["-1", "abc", "nan", "inf"]}
    for option, values in bad.items():
        for value in values:
            cases.append(Case(f"simulate {option} {value!r}", [*SIM, option, value]))
    for option in ("--session-max-length", "--session-idle-timeout"):
        for value in ["0", "-1", "abc", "nan"]:
            cases.append(Case(f"simulate --sessions all {option} {value!r}",
                              [*SIM, "--sessions", "all", option, value]))
    cases += [
        Case("simulate session option without sessions", [*SIM, "--session-max-length", "1h"]),
        Case("simulate cold start in dedicated mode", [*SIM, "--classical-mode", "dedicated",
                                                       "--cold-start", "1s"]),
        Case("simulate fleet and a different Q", [*SIM, "--qc-group", "a:2",
                                                  "--quantum-computers", "3"]),
    ]
    fleet = ["plan", "fleet", "--max-drop", "0.1", "--seeds", "0-1"]
    for value in ["a:2-1", "a:x-2", "a:0-0", "a:1:qubits=6", "a:0-2:cost=nan", "a"]:
        cases.append(Case(f"plan fleet --qc-group {value!r}", [*fleet, "--qc-group", value]))
    for value in ["-1", "abc", "nan", "1e400"]:
        cases.append(Case(f"plan fleet --classical-cost {value!r}",
                          [*fleet, "--qc-group", "a:1", "--classical-cost", value]))
    cases += [Case("plan fleet no group", fleet),
              Case("plan fleet no target", ["plan", "fleet", "--qc-group", "a:1"])]
    return cases


def instance_file_cases() -> list[Case]:
    bad_json = {
        "missing file": None, "not utf-8": b"\xff\xfe\x00garbage", "not json": "{",
        "random bytes": os.urandom(4096), "empty": "", "a list": "[1, 2]",
        "job_id a": with_job(job_id="a"), "job_id 1.5": with_job(job_id=1.5),
        "duplicate job_id": with_job(job_id=1), "meta list": with_doc(meta=[1, 2]),
        "unknown field": with_doc(colour="red"), "unknown job field": with_job(colour="red"),
        "arrival 1e300": with_job(arrival_s=1e300), "arrival 1e20": with_job(arrival_s=1e20),
        "arrival -1": with_job(arrival_s=-1), "quantum 1e300": with_job(quantum_s=1e300),
        "quantum -1": with_job(quantum_s=-1.0), "qubits 0": with_job(qubits=0),
        "priority 2^62": with_job(priority=2 ** 62), "priority 0": with_job(priority=0),
        "iterations 1e9": with_job(iterations=10 ** 9), "iterations -1": with_job(iterations=-1),
        "pre_ops string": with_job(pre_ops="many"), "no jobs key": with_doc(jobs=None),
        "empty jobs": with_doc(jobs=[]),
    }
    bad_csv = {
        "csv not utf-8": b"arrival_s,qubits,priority\n\xff,4,1\n",
        "csv no header": "0,4,1\n", "csv extra column": CSV_HEADER.strip() + ",x\n" + CSV_ROW.strip()
        + ",1\n", "csv short row": CSV_HEADER + "0,4\n", "csv arrival 1e300": CSV_HEADER
        + CSV_ROW.replace("0,4,1", "1e300,4,1", 1), "csv arrival nan": CSV_HEADER
        + CSV_ROW.replace("0,4,1", "nan,4,1", 1), "csv job_id 1.5": "job_id," + CSV_HEADER
        + "1.5," + CSV_ROW, "csv qubits abc": CSV_HEADER + CSV_ROW.replace(",4,", ",abc,", 1),
    }
    cases = []
    for label, content in bad_json.items():
        files = {} if content is None else {"inst.json": content}
        cases.append(Case(f"simulate --instance {label}",
                          [*SIM, "--instance", "{d}/inst.json"], files=files))
        cases.append(Case(f"solve {label}", SOLVE, files=files))
    for label, content in bad_csv.items():
        cases.append(Case(f"simulate --instance {label}", [*SIM, "--instance", "{d}/jobs.csv"],
                          files={"jobs.csv": content}))
    cases.append(Case("simulate --instance csv ok", [*SIM[:1], "--instance", "{d}/jobs.csv",
                                                     "--seeds", "0", "--processes", "1"],
                      RUNS, files={"jobs.csv": CSV_HEADER + CSV_ROW}))
    return cases


def config_cases() -> list[Case]:
    tomls = {"not utf-8": b"interarrival = \"\xff\"\n", "bad toml": "interarrival = ",
             "unknown key": "colour = 1\n", "wrong type": "quantum_computers = \"four\"\n",
             "float count": "quantum_computers = 1.5\n", "huge count":
             "quantum_computers = 99999999999999999999\n", "nan": "interarrival = nan\n",
             "seeds huge": "seeds = \"n=1000000000\"\n"}
    cases = [Case("simulate --config missing", [*SIM, "--config", "{d}/none.toml"])]
    for label, content in tomls.items():
        cases.append(Case(f"simulate --config {label}", [*SIM, "--config", "{d}/s.toml"],
                          files={"s.toml": content}))
        cases.append(Case(f"plan simulate --config {label}",
                          ["plan", "simulate", "--config", "{d}/s.toml", "--max-drop", "0.1"],
                          files={"s.toml": content}))
    return cases


def solve_cases() -> list[Case]:
    inst = {"inst.json": json.dumps(VALID_INSTANCE)}
    options = {"--classical-workers": BAD_COUNTS, "--quantum-computers": BAD_COUNTS,
               "--worker-capacity": BAD_REALS + ["1e-300", "1e308"],
               "--time-limit": ["0", "-1", "nan", "abc"], "--method": ["nosuch"],
               "--delta-max": ["0", "-1", "nan", "abc"],
               "--qc-group": ["a", "a:x", "a:1:qubits=1", "a:0", "a:1:backend=nosuch"]}
    cases = [Case("solve ok", SOLVE, RUNS, files=inst),
             Case("solve a fleet", [*SOLVE, "--qc-group", "f:1:speed=2", "--qc-group", "s:1"],
                  RUNS, files=inst)]
    for option, values in options.items():
        for value in values:
            cases.append(Case(f"solve {option} {value!r}", [*SOLVE, option, value], files=inst))
    cases += [
        Case("solve --gantt a directory", [*SOLVE, "--gantt", "{d}/adir"],
             files={**inst, "adir/.keep": ""}),
        Case("solve --gantt x.txt", [*SOLVE, "--gantt", "{d}/x.txt"], files=inst),
        Case("solve bnb with C=2", [*SOLVE, "--method", "bnb", "--classical-workers", "2"],
             files=inst),
        Case("solve --min-capacity without --delta-max", [*SOLVE, "--min-capacity", "quantum"],
             files=inst),
    ]
    generate = ["instance", "generate", "--jobs", "3", "--iterations", "2", "--interarrival", "10",
                "-o", "{d}/g.json"]
    gen_options = {"--jobs": BAD_COUNTS + ["10000000"],
                   # zero iterations is a valid chain (pre -> post; MODEL.md)
                   "--iterations": [v for v in BAD_COUNTS if v != "0"] + ["1000000000"],
                   "--seed": ["-1", "abc", "99999999999999999999"],
                   "--interarrival": BAD_REALS, "--qubits": ["", "0", "abc", "3"],
                   "--priorities": ["", "0", "abc"], "--grid": ["-1", "nan", "abc"],
                   "--worker-capacity": BAD_REALS}
    cases.append(Case("instance generate ok", generate, RUNS))
    for option, values in gen_options.items():
        for value in values:
            cases.append(Case(f"instance generate {option} {value!r}", [*generate, option, value]))
    return cases


def study_cases() -> list[Case]:
    cases = []
    inv = ["invariants", "--instances", "2", "--processes", "1"]
    for option, values in {"--instances": ["0", "-1", "abc", "99999999999999999999", "1e9"],
                           "--seed": ["-1", "abc"], "--time-limit": ["0", "nan", "-1"],
                           "--processes": ["0", "-1"]}.items():
        for value in values:
            cases.append(Case(f"invariants {option} {value!r}", [*inv, option, value]))
    gap = ["gap", "--instances", "1", "--out", "{d}/gap", "--processes", "1"]
    for option, values in {"--instances": ["0", "-1", "abc"], "--jobs": ["0", "-1", "1000"],
                           "--iterations": ["0", "-1", "1000"],
                           "--processes": ["0", "-1"], "--seed": ["-1"]}.items():
        for value in values:
            cases.append(Case(f"gap {option} {value!r}", [*gap, option, value]))
    # One seed (a bare integer is one seed, as everywhere) gives no interval: refused.
    for value in ["0", "-1", "abc", "1000000000", "n=1", "3-3"]:
        cases.append(Case(f"validate --seeds {value!r}", ["validate", "--quick", "--seeds", value]))
    plan = ["plan", "simulate", "--max-drop", "0.1", "--seeds", "0-1"]
    for option, values in {"--quantum-range": ["1-1000000", "5-1", "abc", "0-2"],
                           "--classical-range": ["1-1000000", "abc"],
                           "--cost": ["C=1e400", "C=-1", "abc"], "--max-drop": ["-1", "2", "nan"],
                           "--batch": ["1", "abc"]}.items():
        for value in values:
            cases.append(Case(f"plan simulate {option} {value!r}", [*plan, option, value]))
    # The expected-work guard: absurd but well-formed runs are refused before they start
    # (events over EVENT_BUDGET, or solves at their limits over SOLVE_BUDGET_S); --yes lifts it.
    rows = "arrival_s,qubits,priority\n" + "".join(f"{10 * i},4,1\n" for i in range(100))
    cases += [
        Case("validate --quick --seeds n=5000 (work)", ["validate", "--quick", "--seeds", "n=5000"]),
        Case("gap --instances 100000 (work)", [*gap, "--instances", "100000"]),
        Case("gap --time-limit 1d (work)", [*gap, "--time-limit", "1d"]),
        Case("invariants --instances 100000 (work)", [*inv, "--instances", "100000"]),
        Case("invariants --time-limit 30d (work)", [*inv, "--time-limit", "30d"]),
        Case("invariants --time-limit 30d --yes", ["invariants", "--instances", "1",
                                                   "--processes", "1", "--time-limit", "30d",
                                                   "--yes"], RUNS),
        Case("plan simulate --duration 1000d (work)", [*plan, "--duration", "1000d"]),
        Case("simulate sampled replay x 10000 seeds (work)",
             [*SIM[:1], "--instance", "{d}/rows.csv", "--seeds", "n=10000", "--policy", "fifo",
              "--processes", "1"], files={"rows.csv": rows}),
    ]
    cases += [
        Case("plan exact missing instance", ["plan", "exact", "{d}/none.json", "--delta-max",
                                             "100"]),
        Case("plan exact not utf-8", ["plan", "exact", "{d}/i.json", "--delta-max", "100"],
             files={"i.json": b"\xff\xfe"}),
        Case("campaign run unknown study", ["campaign", "run", "nosuch", "--out", "{d}/c"]),
        Case("campaign run huge seeds", ["campaign", "run", "small", "--seeds", "0-99999999",
                                         "--out", "{d}/c"]),
        Case("campaign run not utf-8", ["campaign", "run", "{d}/c.toml", "--out", "{d}/c"],
             files={"c.toml": b"\xff\xfe"}),
        Case("campaign run ray bad address", ["campaign", "run", "small", "--seeds", "0",
                                              "--out", "{d}/c", "--executor", "ray",
                                              "--address", "127.0.0.1:1"]),
        Case("campaign status not a campaign", ["campaign", "status", "{d}/empty"],
             files={"empty/.keep": ""}),
        Case("report not a campaign", ["report", "{d}/empty"], files={"empty/.keep": ""}),
        Case("report --notes not utf-8", ["report", "{d}/empty", "--notes", "{d}/n.md"],
             files={"empty/.keep": "", "n.md": b"\xff\xfe"}),
    ]
    return cases


ALL_CASES = simulate_cases() + instance_file_cases() + config_cases() + solve_cases() + study_cases()


def write_files(case: Case, tmp: Path) -> list[str]:
    """The case's files under ``tmp``; its argv with ``{d}`` replaced by ``tmp``."""
    for name, content in case.files.items():
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return [a.replace("{d}", str(tmp)) for a in case.argv]


# -- the case server ----------------------------------------------------------
# Starting an interpreter per case costs about a second (and more under load);
# 300 cases would take minutes. One server process runs the cases one after
# the other through hqsched.cli.main, in-process, and answers each with its
# exit code and output. A case that crashes the server (a signal) or does not
# answer within TIMEOUT_S is recorded as such and the server is restarted for
# the rest, so a crash or a hang still fails exactly its own case.

def serve() -> None:
    """Read ``{"argv": [...], "cwd": ...}`` lines on stdin; answer one JSON line each."""
    import contextlib
    import faulthandler
    import io

    from hqsched.cli import main
    faulthandler.enable()
    for line in sys.stdin:
        request = json.loads(line)
        if request["argv"] == ["__crash__"]:  # the harness's own test
            os.kill(os.getpid(), 11)
        if request["argv"] == ["__hang__"]:
            import time
            time.sleep(3600)
        os.chdir(request["cwd"])
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(request["argv"])
            except SystemExit as exc:  # argparse
                code = exc.code if isinstance(exc.code, int) else 2
            except BaseException:
                import traceback
                traceback.print_exc()
                code = 1
        print(json.dumps({"code": code, "stdout": out.getvalue()[-4000:],
                          "stderr": err.getvalue()[-4000:]}), flush=True)


@dataclass
class Outcome:
    code: int | None   # None: no answer (hang); negative: killed by that signal
    stdout: str = ""
    stderr: str = ""


class CaseServer:
    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> subprocess.Popen[str]:
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        return subprocess.Popen([sys.executable, __file__, "--serve"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                errors="replace", env=env)

    def run(self, argv: list[str], cwd: Path) -> Outcome:
        import selectors
        if self.proc is None or self.proc.poll() is not None:
            self.proc = self.start()
        proc = self.proc
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(json.dumps({"argv": argv, "cwd": str(cwd)}) + "\n")
            proc.stdin.flush()
        except BrokenPipeError:  # it died after its last answer: restart, ask again
            self.close()
            return self.run(argv, cwd)
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            ready = sel.select(TIMEOUT_S)
        line = proc.stdout.readline() if ready else ""
        if line:
            answer = json.loads(line)
            return Outcome(answer["code"], answer["stdout"], answer["stderr"])
        # hang or crash: stop this server; the next case starts a fresh one
        hung = not ready
        proc.kill()
        _, err = proc.communicate()
        self.proc = None
        return Outcome(None if hung else proc.returncode, "", err[-4000:])

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.communicate()
            self.proc = None


@pytest.fixture(scope="module")
def server():
    s = CaseServer()
    yield s
    s.close()


def check(case: Case, outcome: Outcome) -> None:
    assert outcome.code is not None, f"no answer within {TIMEOUT_S} s (hang)"
    assert outcome.code >= 0, f"killed by signal {-outcome.code}: {outcome.stderr[-2000:]}"
    assert "Traceback" not in outcome.stderr, outcome.stderr[-2000:]
    if case.expect == RUNS:
        assert outcome.code == 0, outcome.stderr[-2000:]
        return
    assert outcome.code == 2, (outcome.code, outcome.stderr[-2000:])
    message = one_line_message(outcome.stderr)
    assert message is not None, outcome.stderr[-2000:]
    assert ".tmp" not in message, message


def one_line_message(stderr: str) -> str | None:
    """The error line of a clean refusal, or None.

    Clean: ``hqsched: error: ...`` alone, or argparse's own refusal, which
    is its usage lines followed by ``hqsched <command>: error: ...``.
    """
    lines = [line for line in stderr.splitlines() if line.strip()]
    if not lines or not re.match(r"hqsched( [\w-]+)*: error: ", lines[-1]):
        return None
    usage = lines[:-1]
    if usage and not (usage[0].startswith("usage: ")
                      and all(line.startswith(" ") for line in usage[1:])):
        return None
    return lines[-1]


def test_there_are_at_least_150_cases_over_every_subcommand():
    commands = {c.argv[0] for c in ALL_CASES}
    assert len(ALL_CASES) >= 150
    assert commands >= {"simulate", "instance", "solve", "campaign", "report", "gap",
                        "invariants", "plan", "validate"}


def test_the_server_reports_a_crash_and_a_hang_as_such(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "TIMEOUT_S", 5)
    s = CaseServer()
    try:
        assert s.run(["--version"], tmp_path).code == 0
        crash = s.run(["__crash__"], tmp_path)
        assert crash.code == -11 and check_fails(Case("crash", []), crash)
        hang = s.run(["__hang__"], tmp_path)
        assert hang.code is None and check_fails(Case("hang", []), hang)
        assert s.run(["--version"], tmp_path).code == 0  # a fresh server took over
    finally:
        s.close()


def test_a_clean_refusal_is_one_line_or_argparse_usage():
    assert one_line_message("hqsched: error: --seeds: bad\n") == "hqsched: error: --seeds: bad"
    argparse_refusal = ("usage: hqsched solve [-h] INSTANCE\n              [--gantt G]\n"
                        "hqsched solve: error: argument --time-limit: invalid value\n")
    assert one_line_message(argparse_refusal) is not None
    assert one_line_message("hqsched: error: a\nhqsched: error: b\n") is None
    assert one_line_message("Traceback (most recent call last):\nValueError: x\n") is None
    assert one_line_message("") is None


def check_fails(case: Case, outcome: Outcome) -> bool:
    try:
        check(case, outcome)
    except AssertionError:
        return True
    return False


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.xfail(strict=True,
                                                                         reason=c.xfail))
                                  if c.xfail else c for c in ALL_CASES],
                         ids=[c.name for c in ALL_CASES])
def test_hostile_input(case: Case, tmp_path: Path, server: CaseServer):
    check(case, server.run(write_files(case, tmp_path), tmp_path))


# -- in-process fuzz of the loaders -----------------------------------------

job_values = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70),
                       st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5),
                       st.lists(st.floats(allow_nan=False), max_size=3))
job_dicts = st.dictionaries(st.sampled_from(["job_id", "arrival_s", "qubits", "priority",
                                             "pre_ops", "iteration_ops", "quantum_s",
                                             "post_ops", "iterations", "extra"]),
                            job_values, max_size=10)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(jobs=st.lists(job_dicts, max_size=4), name=st.one_of(st.text(max_size=4), st.integers()))
def test_fuzzed_instance_json_is_loaded_or_refused(tmp_path_factory, jobs, name):
    from hqsched.errors import InputError
    from hqsched.instances.io import read_instance
    path = tmp_path_factory.mktemp("fuzz") / "i.json"
    path.write_text(json.dumps({"format": "hqsched-instance", "version": 1, "name": name,
                                "jobs": jobs}))
    try:
        read_instance(path)
    except InputError:
        pass


csv_cells = st.one_of(st.sampled_from(["0", "1", "4", "-1", "1.5", "nan", "inf", "1e300", "",
                                       "abc", "99999999999999999999"]), st.text(max_size=4))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.lists(csv_cells, min_size=8, max_size=9), min_size=1, max_size=4))
def test_fuzzed_job_csv_is_loaded_or_refused(tmp_path_factory, rows):
    import csv
    import io

    from hqsched.errors import InputError
    from hqsched.instances.io import read_job_csv
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER.strip().split(","))
    writer.writerows(rows)
    path = tmp_path_factory.mktemp("fuzz") / "jobs.csv"
    path.write_text(buffer.getvalue())
    try:
        read_job_csv(path)
    except InputError:
        pass


toml_values = st.one_of(st.integers(-2 ** 70, 2 ** 70), st.floats(), st.booleans(),
                        st.text(max_size=6), st.lists(st.integers(-5, 20), max_size=4))
toml_keys = st.sampled_from(["interarrival", "classical_workers", "worker_capacity",
                             "quantum_computers", "max_classical", "max_quantum", "policy",
                             "qubits", "priorities", "duration", "warmup", "seeds",
                             "iteration_scale", "processes", "colour"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=st.dictionaries(toml_keys, toml_values, max_size=5))
def test_fuzzed_scenario_toml_is_parsed_or_refused(tmp_path_factory, doc):
    from hqsched.cli import build_parser
    from hqsched.errors import InputError
    from hqsched.experiments import scenario
    lines = []
    for key, value in doc.items():
        lines.append(f"{key} = {json.dumps(value) if not isinstance(value, float) else repr(value)}")
    text = "\n".join(lines)
    path = tmp_path_factory.mktemp("fuzz") / "s.toml"
    path.write_text(text + "\n")
    parser = build_parser()
    try:
        ns = parser.parse_args(["simulate", "--config", str(path)])
        scenario.build_plan(scenario.settings_from_namespace(ns))
    except InputError:
        pass
    except SystemExit as exc:  # argparse refusals: exit code 2 with one line
        assert exc.code == 2


if __name__ == "__main__" and sys.argv[1:] == ["--serve"]:
    serve()
