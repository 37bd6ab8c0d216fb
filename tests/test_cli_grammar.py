"""One grammar across the subcommands: every option documented, seeds and durations
parsed the same way everywhere (issue 14)."""

from __future__ import annotations

import argparse

import pytest

from hqsched import inputs
from hqsched.cli import COMMANDS, build_parser, main
from hqsched.errors import InputError

# -- help texts --------------------------------------------------------------


def all_parsers() -> dict[str, argparse.ArgumentParser]:
    """Every subcommand's and sub-subcommand's parser, by its command line."""
    found: dict[str, argparse.ArgumentParser] = {}
    sub = next(a for a in build_parser()._actions
               if isinstance(a, argparse._SubParsersAction))

    def walk(name: str, parser: argparse.ArgumentParser) -> None:
        found[name] = parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child, child_parser in action.choices.items():
                    walk(f"{name} {child}", child_parser)

    for name in COMMANDS:
        walk(name, sub.choices[name].real())
    return found


PARSERS = all_parsers()


def test_the_walk_reaches_every_sub_subcommand():
    assert {"campaign run", "campaign status", "campaign list", "plan exact", "plan simulate",
            "instance generate", "solve", "simulate", "gap", "invariants", "validate",
            "report"} <= set(PARSERS)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_every_option_has_help_text(name):
    parser = PARSERS[name]
    undocumented = [
        "/".join(a.option_strings) or a.dest for a in parser._actions
        if not isinstance(a, argparse._SubParsersAction)
        and a.help != argparse.SUPPRESS  # hidden aliases (instance generate -o/--output)
        and not (a.help or "").strip()]
    assert undocumented == [], f"hqsched {name}: options without help: {undocumented}"


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_help_prints_no_doubled_percent_sign(name, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*name.split(), "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "%%" not in text and text.strip()


def test_long_commands_take_quiet_and_progress():
    for name in ("simulate", "campaign run", "plan simulate", "gap", "invariants", "validate",
                 "solve"):
        options = {o for a in PARSERS[name]._actions for o in a.option_strings}
        assert {"--quiet", "--progress"} <= options, name


def test_every_processes_option_has_one_default_and_help():
    for name, parser in PARSERS.items():
        for action in parser._actions:
            if "--processes" in action.option_strings:
                assert action.default in (None, argparse.SUPPRESS), name
                assert "default: all cores" in action.help, name


def test_warmup_help_says_jobs_arriving_before_it_count():
    help_ = next(a.help for a in PARSERS["simulate"]._actions if "--warmup" in a.option_strings)
    assert "arrived before" in help_ and "ignore arrivals" not in help_


def test_instance_generate_takes_out_and_the_old_spelling(tmp_path, capsys):
    base = ["instance", "generate", "--jobs", "2", "--iterations", "1", "--interarrival", "1m"]
    assert main([*base, "--out", str(tmp_path / "a.json")]) == 0
    assert main([*base, "-o", str(tmp_path / "b.json")]) == 0
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert main(base) == 2
    assert "--out FILE is required" in capsys.readouterr().err


def test_instance_generate_priorities_default_matches_simulate():
    gen = next(a for a in PARSERS["instance generate"]._actions
               if "--priorities" in a.option_strings)
    from hqsched.experiments.scenario import OPTIONS
    assert tuple(gen.default) == next(o.default for o in OPTIONS if o.name == "priorities")


# -- durations ---------------------------------------------------------------

DURATION_OPTIONS = [
    ("gap", ["--out", "unused"], "--interarrival"),
    ("gap", ["--out", "unused"], "--time-limit"),
    ("gap", ["--out", "unused"], "--relax-time-limit"),
    ("solve", ["inst.json"], "--time-limit"),
    ("solve", ["inst.json"], "--delta-max"),
    ("instance generate", ["--jobs", "1", "--iterations", "1", "--out", "x.json"],
     "--interarrival"),
    ("instance generate", ["--jobs", "1", "--iterations", "1", "--out", "x.json",
                           "--interarrival", "1"], "--grid"),
    ("invariants", [], "--time-limit"),
]


@pytest.mark.parametrize("command,rest,option", DURATION_OPTIONS,
                         ids=[f"{c} {o}" for c, _, o in DURATION_OPTIONS])
def test_durations_take_units_everywhere(command, rest, option):
    for text, seconds in (("90", 90.0), ("90s", 90.0), ("15m", 900.0), ("1h", 3600.0)):
        ns = build_parser().parse_args([*command.split(), *rest, option, text])
        assert getattr(ns, option.lstrip("-").replace("-", "_")) == seconds, (option, text)


# -- seeds -------------------------------------------------------------------

SEED_STRINGS = {"0-3": (0, 1, 2, 3), "1,5": (1, 5), "n=4": (0, 1, 2, 3), "2,7-8": (2, 7, 8),
                "7": (7,)}


def simulate_seeds(text: str) -> tuple[int, ...]:
    from hqsched.experiments.scenario import settings_from_namespace
    return settings_from_namespace(build_parser().parse_args(["simulate", "--seeds", text]))[
        "seeds"]


def campaign_seeds(text: str) -> tuple[int, ...]:
    from hqsched.experiments.campaign import load_campaign
    ns = build_parser().parse_args(["campaign", "run", "small", "--out", "x", "--seeds", text])
    return load_campaign(ns.campaign, seeds=ns.seeds).seeds


def plan_seeds(text: str) -> tuple[int, ...]:
    from hqsched.cli.plan import plan_inputs
    ns = build_parser().parse_args(["plan", "simulate", "--max-drop", "0.1", "--seeds", text])
    return plan_inputs(ns)[1]["seeds"]


def validate_seeds(text: str) -> tuple[int, ...]:
    return tuple(build_parser().parse_args(["validate", "--seeds", text]).seeds)


@pytest.mark.parametrize("text", sorted(SEED_STRINGS))
def test_the_same_seed_string_names_the_same_seeds_in_every_command(text):
    expected = SEED_STRINGS[text]
    assert simulate_seeds(text) == expected
    assert campaign_seeds(text) == expected
    if len(expected) >= 2:  # a confidence interval / t bound needs two seeds
        assert plan_seeds(text) == expected
        assert validate_seeds(text) == expected


def test_a_bare_integer_is_one_seed_even_where_two_are_needed(capsys):
    with pytest.raises(InputError, match=r"--seeds: needs at least 2 seeds, got '20' \(1 seed; "
                                         r"a bare integer is one seed, n=20 names the seeds "
                                         r"0-19\)"):
        plan_seeds("20")
    with pytest.raises(SystemExit):
        validate_seeds("20")
    assert "n=20 names the seeds 0-19" in capsys.readouterr().err


def test_every_seeds_help_states_the_grammar():
    for name, parser in PARSERS.items():
        for action in parser._actions:
            if "--seeds" in action.option_strings:
                assert inputs.SEEDS_SYNTAX in " ".join(action.help.split()), name
