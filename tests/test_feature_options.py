"""Scenario options of issue 17's features (docs/platform-features.md): a QC fleet
(``--qc-group``), ``--routing``, runtime sessions and serverless function instances.

They are parsed once (``experiments/scenario.py``) for ``simulate``, campaign TOML files
and ``plan simulate``/``plan fleet``; a scenario with every feature off is built, described
and stored exactly as before (its manifest has no feature key), and the printed table shows
the features' metrics only when a run reports them.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from hqsched.cli import main
from hqsched.errors import InputError
from hqsched.experiments import campaign as cmp
from hqsched.experiments import scenario as scn
from hqsched.experiments import statistics as stats
from hqsched.instances.model import QCGroup
from hqsched.online.config import Lifecycle, Sessions

BASE = {"policy": "fifo", "duration": "1d", "warmup": "1h", "seeds": "0"}


def build(**options: object):
    """The one scenario of these options (names with ``_`` for ``-``) over ``BASE``."""
    cli = {**BASE, **{k.replace("_", "-"): v for k, v in options.items()}}
    plan = scn.build_plan(scn.settings_from(cli))
    (config,) = plan.scenarios.values()
    return config


# -- the QC fleet -------------------------------------------------------------

@pytest.mark.parametrize("value, specs", [
    ("none", ()),
    ("a:2", ("a:2",)),
    ("a:2:speed=2:cost=3,b:1:qubits=8", ("a:2:speed=2:cost=3", "b:1:qubits=8")),
    (["a:2:backend=ibm_torino", "b:0"], ("a:2:backend=ibm_torino", "b:0")),
    ([{"name": "x", "count": 3, "speed": 0.5, "cost": 2}], ("x:3:speed=0.5:cost=2",)),
    ("a:2:cost=1:speed=1", ("a:2",)),  # defaults are left out of the canonical text
    ("a:1:speed=1.2345678:cost=0.1", ("a:1:speed=1.2345678:cost=0.1",)),  # exact, not %g
])
def test_qc_group_forms_give_canonical_specs(value, specs):
    assert scn.parse_qc_groups(value, "--qc-group") == specs


def test_a_spec_round_trips_through_its_group():
    group = QCGroup("t", 4, qubits=133, backend="ibm_torino", cost_per_hour=2.5)
    (spec,) = scn.parse_qc_groups(scn.group_spec(group), "--qc-group")
    assert scn.qc_groups_of((spec,), "x") == (group,)


@pytest.mark.parametrize("value, words", [
    ("a", ["NAME:COUNT"]), (":2", ["NAME:COUNT"]), ("a:x", ["'a' count", "'x'"]),
    ("a:-1", ["count"]), ("a:2:colour=red", ["colour=red"]),
    ("a:2:speed=1:speed=2", ["speed=2"]), ("a:2:speed=0", ["speed"]),
    ("a:2:speed=nan", ["speed"]), ("a:2:qubits=0", ["qubits"]),
    ("a:2:backend=ibm_torino:speed=2", ["backend or a speed"]),
    ("a:1,a:2", ["'a' appears twice"]), ("a:0", ["no QC"]), ([3], ["got 3"]),
    ([{"name": "x", "colour": 1}], ["name, count"]),
])
def test_bad_qc_groups_are_one_line_errors(value, words):
    with pytest.raises(InputError) as err:
        scn.parse_qc_groups(value, "--qc-group")
    message = str(err.value)
    assert message.startswith("--qc-group") and "\n" not in message
    for word in words:
        assert word in message, message


def test_a_fleet_replaces_the_quantum_computers():
    config = build(qc_group=["fast:1:speed=2", "slow:3:qubits=10"])
    assert config.platform.quantum_computers == 4
    assert config.platform.qc_groups == (QCGroup("fast", 1, speed=2.0),
                                         QCGroup("slow", 3, qubits=10))
    assert build(qc_group=["a:3"], quantum_computers="3").platform.quantum_computers == 3
    with pytest.raises(InputError, match="--quantum-computers=4: differs .* total 3"):
        build(qc_group=["a:3"], quantum_computers="4")


@pytest.mark.parametrize("options, words", [
    ({"qc_group": ["small:2:qubits=6"]}, ["--qc-group", "8-qubit"]),
    ({"qc_group": ["b:2:backend=ibm_nosuch"]}, ["--qc-group", "ibm_nosuch"]),
    ({"routing": "nosuch"}, ["--routing", "nosuch", "fastest"]),
    ({"sessions": "some"}, ["--sessions", "priority>=K"]),
    ({"sessions": "priority>=0"}, ["--sessions"]),
    ({"session_idle_timeout": "5s"}, ["--session-idle-timeout", "--sessions"]),
    ({"sessions": "all", "session_max_length": "0"}, ["--session-max-length"]),
    ({"keep_alive": "-1"}, ["--keep-alive"]),
    ({"cold_start_work": "1e400"}, ["--cold-start-work"]),
    ({"max_instances": "0"}, ["--max-instances"]),
    ({"cold_start": "2s", "classical_mode": "dedicated"}, ["--cold-start", "serverless"]),
])
def test_bad_feature_options_name_the_option(options, words):
    with pytest.raises(InputError) as err:
        build(**options)
    for word in words:
        assert word in str(err.value), str(err.value)


# -- routing, sessions, lifecycle ---------------------------------------------

def test_feature_options_fill_the_config():
    config = build(qc_group="a:1:qubits=20,b:2:speed=0.5", routing="smallest",
                   sessions="priority>=2", session_max_length="2h", session_idle_timeout="inf",
                   max_instances="8", cold_start="3s", cold_start_work="1e6",
                   keep_alive="10m")
    assert config.routing == "smallest"
    assert config.sessions == Sessions(min_priority=2, max_length_s=7200.0,
                                       idle_timeout_s=math.inf)
    assert config.lifecycle == Lifecycle(max_instances=8, cold_start_s=3.0,
                                         cold_start_ops=1e6, keep_alive_s=600.0)
    assert build(sessions="all").sessions == Sessions(min_priority=1)
    assert build(keep_alive="0").lifecycle == Lifecycle(keep_alive_s=0.0)


def test_features_off_leave_the_scenario_and_its_manifest_as_before():
    config = build()
    assert (config.routing, config.sessions, config.lifecycle) == ("fastest", None, None)
    doc = scn.describe(config)
    assert "qc_groups" not in doc["platform"]
    assert not {"routing", "sessions", "lifecycle"} & set(doc)
    assert not {"qc-group", "routing", "sessions", "keep-alive"} & set(scn.options_of(config))


def test_options_of_rebuilds_the_same_scenario():
    config = build(qc_group="a:1:speed=2:cost=4", routing="lowest", sessions="all",
                   session_idle_timeout="30s", keep_alive="1m", cold_start="0")
    options = scn.options_of(config)
    again = scn.build_plan(scn.settings_from({**options, "seeds": "0",
                                              "qubits": ",".join(map(str, options["qubits"])),
                                              "priorities": "1,2,4"}))
    (rebuilt,) = again.scenarios.values()
    assert rebuilt == config
    doc = scn.describe(config)
    assert doc["routing"] == "lowest" and doc["sessions"]["idle_timeout_s"] == 30.0
    assert doc["lifecycle"]["keep_alive_s"] == 60.0


def test_a_campaign_grid_varies_the_fleet_and_the_sessions(tmp_path: Path):
    path = tmp_path / "c.toml"
    path.write_text('seeds = "0-1"\n[fixed]\npolicy = "fifo"\nduration = "1d"\n'
                    'warmup = "1h"\nsession_idle_timeout = "30s"\n[grid]\n'
                    'qc-group = [["torino:2:backend=ibm_torino"], '
                    '"brussels:1:backend=ibm_brussels,nazca:1:backend=ibm_nazca"]\n'
                    'sessions = ["none", "all"]\n')
    campaign = cmp.load_campaign(str(path))
    assert len(campaign.points) == 4
    configs = [campaign.scenarios[p.key] for p in campaign.points]
    assert [len(c.platform.qc_groups) for c in configs] == [1, 1, 2, 2]
    assert [c.sessions is not None for c in configs] == [False, True, False, True]
    assert configs[1].sessions == Sessions(idle_timeout_s=30.0)
    assert len({p.key for p in campaign.points}) == 4


def test_the_cli_repeats_qc_group_and_refuses_a_bad_one(capsys):
    code = main(["simulate", "--qc-group", "a:1", "--qc-group", "a:2", "--seeds", "0"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "'a' appears twice" in err


# -- the printed table -------------------------------------------------------

def _summary(metrics: dict[str, float]) -> pd.DataFrame:
    rows = {m: (v, v - 0.01, v + 0.01, 2) for m, v in metrics.items()}
    return pd.DataFrame.from_dict(rows, orient="index", columns=["mean", "ci_low", "ci_high", "n"])


def test_the_table_shows_feature_metrics_only_when_present():
    plain = stats.format_table(_summary({"drop_probability": 0.1, "qc_utilization": 0.5}))
    assert "cold starts" not in plain and "sessions" not in plain
    table = stats.format_table(_summary({
        "drop_probability": 0.1, "qc_utilization": 0.5, "qc_utilization_torino": 0.7,
        "sessions": 12.0, "session_idle_qc_s": 7200.0, "avg_quantum_reserved": 1.5,
        "cold_starts": 40.0, "instance_wait_s": 3600.0, "warm_instance_s": 36000.0,
        "avg_instances": 2.5}))
    lines = table.splitlines()
    names = [line.split("  ")[0] for line in lines]
    at = names.index("QC utilization")
    assert names[at + 1] == "QC utilization torino"
    for label in ("sessions opened", "session idle QC time (h)", "cold starts",
                  "warm instance time (h)", "avg function instances"):
        assert label in names, table
    idle = next(line for line in lines if line.startswith("session idle QC time"))
    assert idle.split()[5] == "2"  # 7200 s shown in hours


def test_the_report_shows_feature_metrics_of_a_campaign(tmp_path: Path, capsys):
    """A grid over ``sessions`` (an option named as one of its metrics) and a fleet: the
    report's summary table gets the per-group utilisation and the session columns."""
    study = tmp_path / "s.toml"
    study.write_text('seeds = "0-1"\n[fixed]\npolicy = "fifo"\nduration = "1d"\n'
                     'warmup = "1h"\nqc-group = "a:1:speed=2,b:2"\n'
                     '[grid]\nsessions = ["none", "all"]\n')
    out, report = tmp_path / "runs", tmp_path / "report"
    assert main(["campaign", "run", str(study), "--out", str(out), "--processes", "1"]) == 0
    assert main(["report", str(out), "--out", str(report)]) == 0
    capsys.readouterr()
    text = (report / "report.md").read_text()
    header = next(line for line in text.splitlines() if line.startswith("| sessions |"))
    for column in ("QC utilization a", "QC utilization b", "sessions / seed",
                   "session idle QC (h)", "avg QCs in sessions"):
        assert f"| {column} |" in header, header
    lines = text.splitlines()
    at = lines.index(header)
    none, every = lines[at + 2], lines[at + 3]  # the rows of the table, after its rule
    assert none.startswith("| none | 2 |") and none.rstrip(" |").endswith("n/a")
    assert every.startswith("| all | 2 |") and not every.rstrip(" |").endswith("n/a")


def test_a_sampled_replay_with_features_has_a_json_manifest(tmp_path: Path):
    import json
    rows = tmp_path / "rows.csv"
    rows.write_text("arrival_s,qubits,priority\n0,4,1\n10,6,2\n")
    config = scn.build_plan(scn.settings_from({
        **BASE, "instance": str(rows), "qc-group": "a:1:speed=2,b:1", "sessions": "all",
        "session-idle-timeout": "inf", "keep-alive": "1m"}))
    (replay,) = config.scenarios.values()
    doc = json.loads(json.dumps(scn.describe(replay)))
    assert doc["sessions"]["idle_timeout_s"] == "inf"
    assert doc["lifecycle"]["keep_alive_s"] == 60.0
    assert [g["name"] for g in doc["platform"]["qc_groups"]] == ["a", "b"]
