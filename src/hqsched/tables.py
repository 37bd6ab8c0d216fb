"""Plain-text tables for the terminal (base layer: imports nothing of hqsched).

Every table the commands print goes through these two functions, so they
share one look: cells padded to their column's width, left (``<``) or right
(``>``) aligned, columns two spaces apart, a rule of dashes under the
header, no trailing spaces.

``format_table`` sizes each column to its widest cell. ``format_row`` lays
out one line at given widths; a cell wider than its width pushes the rest of
its line to the right, as Python's ``f"{cell:<10}"`` does (tables with a fixed
layout, such as the gap study's, rely on it).
"""

from __future__ import annotations

from collections.abc import Sequence


def format_row(cells: Sequence[str], widths: Sequence[int], align: str = "",
               sep: str | Sequence[str] = "  ") -> str:
    """One line: ``cells`` padded to ``widths``, joined by ``sep``, trailing spaces stripped.

    ``align``: one character per column, ``<`` left or ``>`` right; missing
    ones are ``<``. ``sep``: one separator for every gap, or one per gap
    (``len(cells) - 1`` of them) to group columns.
    """
    seps = [sep] * max(len(cells) - 1, 0) if isinstance(sep, str) else list(sep)
    if len(seps) != max(len(cells) - 1, 0):
        raise ValueError(f"format_row: {len(cells)} cells need {len(cells) - 1} separators, "
                         f"got {len(seps)}")
    line = ""
    for k, (cell, width) in enumerate(zip(cells, widths, strict=True)):
        right = k < len(align) and align[k] == ">"
        line += (seps[k - 1] if k else "") + (cell.rjust(width) if right else cell.ljust(width))
    return line.rstrip()


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> str:
    """``header``, a rule of dashes, then ``rows``: each column as wide as its widest cell.

    ``align`` as in ``format_row`` (default: every column left-aligned).
    """
    widths = [max(len(row[k]) for row in [header, *rows]) for k in range(len(header))]
    lines = [format_row(header, widths, align), format_row(["-" * w for w in widths], widths)]
    lines += [format_row(row, widths, align) for row in rows]
    return "\n".join(lines)
