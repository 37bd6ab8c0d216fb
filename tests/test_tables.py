"""hqsched.tables: the one plain-text table layout."""

import pytest

from hqsched.tables import format_row, format_table


def test_columns_fit_their_widest_cell_with_per_column_alignment():
    text = format_table(("name", "n", "note"), [("a", "10", "x"), ("long name", "2", "")],
                        align="<><")
    assert text.splitlines() == ["name        n  note",
                                 "---------  --  ----",
                                 "a          10  x",
                                 "long name   2"]  # no trailing spaces


def test_a_header_only_table_has_its_rule():
    assert format_table(("a", "bb"), []) == "a  bb\n-  --"


def test_fixed_widths_let_a_wide_cell_push_the_rest_of_its_line():
    # As f"{cell:<3}" does: the fixed layout of the gap table relies on it.
    assert format_row(["abcde", "1"], (3, 4), "<>", " ") == "abcde    1"
    assert format_row(["a", "1"], (3, 4), "<>", " ") == f"{'a':<3} {'1':>4}"


def test_separators_can_group_columns():
    assert format_row(["a", "b", "c"], (1, 1, 1), sep=(" ", "  ")) == "a b  c"
    with pytest.raises(ValueError, match="3 cells need 2 separators"):
        format_row(["a", "b", "c"], (1, 1, 1), sep=(" ",))
