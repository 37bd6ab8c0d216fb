"""Figures: every server has its Gantt lane, arrivals are in the legend, titles carry the
unit and weighting, neighbouring jobs get unlike colours, and intervals stay in range."""

from __future__ import annotations

import math

from conftest import chain_job

from hqsched.experiments.statistics import CLIPPED, clip_interval
from hqsched.instances.model import Instance, TaskKind
from hqsched.instances.schedule import Schedule, ScheduledTask
from hqsched.reports.gantt import gantt_figure, job_colours, schedule_title, write_gantt
from hqsched.reports.report import ci_text


def two_job_schedule() -> tuple[Schedule, Instance]:
    inst = Instance((chain_job(0, 0.0, 2.0, 1.0, 1, 1.0, 3.0),
                     chain_job(1, 1.0, 2.0, 1.0, 1, 1.0, 3.0)), name="two")
    tasks = tuple(ScheduledTask(j, i, kind, 0, 10.0 * j + i, 10.0 * j + i + 1)
                  for j in (0, 1)
                  for i, kind in enumerate((TaskKind.CLASSICAL, TaskKind.QUANTUM)))
    return Schedule(tasks), inst


def test_idle_servers_keep_their_lane_and_arrivals_are_in_the_legend():
    schedule, inst = two_job_schedule()  # only C0 and Q0 are used
    fig = gantt_figure(schedule, inst, servers=(2, 3))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["C0", "C1", "Q0", "Q1", "Q2"]
    low, high = sorted(ax.get_ylim())
    assert low < 0 and high > 4  # the last (idle) lane is inside the axes
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ["job 0", "job 1"] and any("arrival" in t for t in labels)
    shared = gantt_figure(schedule, inst, servers=(None, 1)).axes[0]
    assert {"Cshared", "Q0"} <= {t.get_text() for t in shared.get_yticklabels()}


def test_gantt_files_in_vector_formats(tmp_path):
    schedule, inst = two_job_schedule()
    for suffix, magic in ((".pdf", b"%PDF"), (".svg", b"<?xml"), (".png", b"\x89PNG")):
        write_gantt(schedule, tmp_path / f"g{suffix}", inst, servers=(1, 2))
        assert (tmp_path / f"g{suffix}").read_bytes().startswith(magic)


def test_titles_say_unit_weighting_and_gap():
    assert schedule_title("optimal", 1036.94, False) == \
        "optimal: unweighted sum of delays 1,036.94 s"
    text = schedule_title("feasible", 1000.0, True, 900.0)
    assert "priority-weighted sum of delays 1,000 s" in text and "gap 10.0%" in text


def test_neighbouring_jobs_never_share_a_hue():
    from matplotlib import colormaps
    tab20 = [colormaps["tab20"](i) for i in range(20)]
    colours = job_colours(list(range(20)))
    hue = {j: tab20.index(c) // 2 for j, c in colours.items()}  # tab20: 2 shades per hue
    assert all(hue[j] != hue[j + 1] for j in range(19))
    assert len(set(colours.values())) == 20


def test_intervals_are_clipped_to_the_metrics_range():
    assert clip_interval("qc_utilization", 0.963, 1.014) == (0.963, 1.0, True)
    assert clip_interval("drop_probability", -0.3, 0.44) == (0.0, 0.44, True)
    assert clip_interval("job_time_mean_s", 10.0, 20.0) == (10.0, 20.0, False)
    assert ci_text(0.9884, 0.963, 1.014, metric="qc_utilization") == f"0.9884 [0.963, 1]{CLIPPED}"
    assert not math.isnan(clip_interval("censored", -1.1, 1.7)[0])
