"""hqsched.inputs: value parsers, typed checks, TOML files (also through the 3.10 fallback)."""

from __future__ import annotations

import argparse
import importlib
import sys

import pytest

from hqsched import inputs
from hqsched.cli.arguments import int_list, nonnegative_int, positive_float, positive_int
from hqsched.errors import InputError


@pytest.mark.parametrize("text,seconds", [("7d", 604800.0), ("12h", 43200.0), ("30m", 1800.0),
                                          ("600s", 600.0), ("600", 600.0), ("1.5h", 5400.0),
                                          (600, 600.0), (0.5, 0.5)])
def test_durations(text, seconds):
    assert inputs.parse_duration(text, "--duration") == seconds


@pytest.mark.parametrize("text,seeds", [("0-3", (0, 1, 2, 3)), ("1,5,9", (1, 5, 9)),
                                        ("0-1,7", (0, 1, 7)), ("n=3", (0, 1, 2)), ("4", (4,)),
                                        ([2, 3], (2, 3))])
def test_seed_forms(text, seeds):
    assert inputs.parse_seeds(text, "--seeds") == seeds


@pytest.mark.parametrize("parse,value,message", [
    (inputs.parse_positive_int, "0", "--n: must be a positive integer, got '0'"),
    (inputs.parse_positive_int, 2.0, "--n: must be a positive integer, got 2.0"),
    (inputs.parse_positive_int, True, "--n: must be a positive integer, got True"),
    (inputs.parse_nonnegative_int, "-1", "--n: must be an integer >= 0, got '-1'"),
    (inputs.parse_positive_float, "x", "--n: must be a positive number, got 'x'"),
    (inputs.parse_positive_float, "inf", "--n: must be a positive finite number, got 'inf'"),
    (inputs.parse_probability, "1.5", "--n: must be a probability in [0, 1], got '1.5'"),
    (inputs.parse_duration, "5y", "--n: must be a duration like 7d, 12h, 30m, 600s or 600, "
                                  "got '5y'"),
    (inputs.parse_duration, "0", "--n: must be a finite duration > 0, got '0'"),
    (inputs.parse_seeds, "3-1", "--n: seed range '3-1' is empty (end before start)"),
    (inputs.parse_seeds, "1,1", "--n: seed 1 is given more than once in '1,1'"),
    (inputs.parse_int_list, "4,4", "--n: values must be distinct, got '4,4'"),
    (inputs.parse_int_list, "4,0", "--n: must be a positive integer, got '0'"),
    (inputs.parse_int_range, "6-1", "--n: must be positive with low <= high, got '6-1'"),
    (inputs.parse_choice(("a", "b")), "c", "--n: must be one of a, b, got 'c'"),
    (inputs.parse_text, " ", "--n: must be a non-empty string, got ' '"),
    (inputs.parse_flag, "yes", "--n: must be true or false, got 'yes'"),
])
def test_bad_values_are_one_line_naming_option_and_value(parse, value, message):
    with pytest.raises(InputError) as err:
        parse(value, "--n")
    assert str(err.value) == message


def test_good_values():
    assert inputs.parse_int_list([4, "6"], "--qubits") == (4, 6)
    assert inputs.parse_int_list("4,4", "--qubits", distinct=False) == (4, 4)
    assert inputs.parse_int_range("2 - 5", "--r") == (2, 5) and inputs.parse_int_range(3, "r") == (3, 3)
    assert inputs.parse_duration("inf", "--d", allow_inf=True) == float("inf")
    assert inputs.parse_duration(0, "--d", allow_zero=True) == 0.0
    assert inputs.parse_probability(0, "--p") == 0.0


@pytest.mark.parametrize("check,value,message", [
    (inputs.require_positive_int, 0, "platform: classical_workers must be a positive integer, got 0"),
    (inputs.require_positive_int, True,
     "platform: classical_workers must be a positive integer, got True"),
    (inputs.require_positive_int, "2", "platform: classical_workers must be a positive integer, got '2'"),
    (inputs.require_nonnegative_int, -1, "platform: classical_workers must be an integer >= 0, got -1"),
    (inputs.require_positive_number, float("nan"),
     "platform: classical_workers must be a positive number, got nan"),
])
def test_typed_checks_do_not_convert(check, value, message):
    with pytest.raises(InputError) as err:
        check(value, "platform", "classical_workers")
    assert str(err.value) == message


def test_argparse_types_use_the_same_rules():
    assert positive_int("3") == 3 and nonnegative_int("0") == 0 and positive_float("2.5") == 2.5
    assert int_list("4,4,6") == (4, 4, 6)
    with pytest.raises(argparse.ArgumentTypeError, match=r"^must be a positive integer, got '0'$"):
        positive_int("0")
    parser = argparse.ArgumentParser(prog="p", exit_on_error=False)
    parser.add_argument("--jobs", type=positive_int)
    with pytest.raises(argparse.ArgumentError, match="argument --jobs: must be a positive integer"):
        parser.parse_args(["--jobs", "-2"])


def test_load_toml(tmp_path):
    good = tmp_path / "a.toml"
    good.write_text('seeds = "0-3"\n[grid]\nqubits = [4, 6]\n')
    assert inputs.load_toml(good) == {"seeds": "0-3", "grid": {"qubits": [4, 6]}}
    bad = tmp_path / "bad.toml"
    bad.write_text("seeds = \n")
    with pytest.raises(InputError, match=r"bad.toml: not valid TOML \(.*line 1"):
        inputs.load_toml(bad)
    with pytest.raises(InputError, match=r"^--config .*missing.toml: no such file$"):
        inputs.load_toml(tmp_path / "missing.toml", "--config")


@pytest.fixture
def inputs_on_python_310(monkeypatch):
    """``hqsched.inputs`` imported as on Python 3.10: no ``tomllib`` in the standard library."""
    pytest.importorskip("tomli")
    monkeypatch.setattr(sys, "version_info", (3, 10, 13, "final", 0))
    monkeypatch.setitem(sys.modules, "tomllib", None)  # `import tomllib` now fails
    yield importlib.reload(inputs)
    monkeypatch.undo()
    importlib.reload(inputs)


def test_toml_is_read_with_tomli_on_python_310(inputs_on_python_310, tmp_path):
    assert inputs_on_python_310.tomllib.__name__ == "tomli"
    path = tmp_path / "s.toml"
    path.write_text('interarrival = "10m"\nqubits = [4, 8]\n')
    assert inputs_on_python_310.load_toml(path) == {"interarrival": "10m", "qubits": [4, 8]}
    path.write_text("qubits = [4,\n")
    with pytest.raises(InputError, match="s.toml: not valid TOML"):
        inputs_on_python_310.load_toml(path)
