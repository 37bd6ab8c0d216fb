"""The gap study: runs, writes its files, resumes, and its ratios respect the bounds."""

import pandas as pd
import pytest

from hqsched.cli import main
from hqsched.errors import InputError
from hqsched.reports.gap_report import BOXPLOT_PNG
from hqsched.validation.gap import (
    INSTANCES_CSV,
    MODES,
    SUMMARY_CSV,
    GapConfig,
    ResultStore,
    run_study,
    summarize,
    unit_id,
)

# Tiny: 3 jobs x 1 iteration solve to optimality in well under a second.
CFG = GapConfig(instances=3, jobs=3, iterations=1, interarrival_s=10.0, time_limit_s=20.0,
                relax_time_limit_s=20.0)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("gap")
    frame = run_study(CFG, out, processes=1, progress=False)
    return out, frame


def test_study_writes_every_file(study):
    out, frame = study
    for name in (INSTANCES_CSV, SUMMARY_CSV):
        assert (out / name).stat().st_size > 0
    assert not (out / BOXPLOT_PNG).exists()  # validation makes data; reports draw it
    table = pd.read_csv(out / INSTANCES_CSV)
    assert len(table) == 3 * len(CFG.policies) * len(MODES)
    assert sorted(table["instance"].unique()) == [0, 1, 2]
    summary = pd.read_csv(out / SUMMARY_CSV)
    assert len(summary) == len(CFG.policies) * len(MODES)
    assert set(summary["n"]) == {3}


def test_ratios_are_at_least_one_where_proven(study):
    _, frame = study
    proven = frame[frame["proven"].astype(bool)]
    assert len(proven) == len(frame)  # tiny instances: all proven
    assert (proven["ratio_inc"] >= 1 - 1e-9).all()
    assert (proven["ratio_bound"] >= 1 - 1e-9).all()
    # Lower estimate <= upper estimate, always.
    assert (frame["ratio_inc"] <= frame["ratio_bound"] * (1 + 1e-9)).all()
    s = summarize(frame)
    assert (s["proven"] == 3).all()
    assert (s["ratio_inc_mean"] >= 1 - 1e-9).all()


def test_resume_recomputes_only_the_missing_instance(study, monkeypatch):
    out, frame = study
    before = pd.read_csv(out / INSTANCES_CSV)
    store = ResultStore(out)
    store.summary_path(unit_id(1)).unlink()  # instance 1 "never finished"
    import hqsched.validation.gap as gap
    done = []
    real = gap.study_instance

    def spy(cfg, k):
        done.append(k)
        return real(cfg, k)

    monkeypatch.setattr(gap, "study_instance", spy)
    again = run_study(CFG, out, processes=1, progress=False)
    assert done == [1]
    after = pd.read_csv(out / INSTANCES_CSV)
    cols = ["instance", "policy", "mode", "online_s", "reference_s", "ratio_inc"]
    pd.testing.assert_frame_equal(before[cols], after[cols])
    assert len(again) == len(frame)


def test_other_settings_refuse_the_directory(study):
    out, _ = study
    with pytest.raises(InputError):
        run_study(GapConfig(instances=3, jobs=3, iterations=2), out, processes=1,
                  progress=False)


def test_cli_runs_a_pooled_study(tmp_path, capsys):
    code = main(["gap", "--instances", "2", "--jobs", "2", "--iterations", "1",
                 "--out", str(tmp_path), "--processes", "2", "--time-limit", "20"])
    assert code == 0
    text = capsys.readouterr().out
    assert "dedicated" in text and "serverless" in text and "proven on 2" in text
    assert (tmp_path / INSTANCES_CSV).is_file()
    assert (tmp_path / BOXPLOT_PNG).read_bytes().startswith(b"\x89PNG")  # the CLI draws it
