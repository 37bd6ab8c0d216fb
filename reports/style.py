"""One look for every figure hqsched draws: width, fonts, resolution and file formats.

Every report figure is ``FIGURE_WIDTH_IN`` wide (heights follow the content)
with the fonts of ``RC``; ``save`` writes PNG at ``PNG_DPI``, or PDF / SVG
(vector, for papers) when the file name ends so.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure

#: File formats of figures (``hqsched report --figure-format``).
FIGURE_FORMATS = ("png", "pdf", "svg")
#: Width of every report figure (inches): a page column, readable at 100 %.
FIGURE_WIDTH_IN = 7.5
#: Resolution of PNG figures (dots per inch).
PNG_DPI = 150
#: Fonts of every figure (points).
RC: dict[str, Any] = {"font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9,
                      "legend.fontsize": 8, "legend.title_fontsize": 8, "xtick.labelsize": 8,
                      "ytick.labelsize": 8, "font.family": "DejaVu Sans"}


@contextmanager
def figure_style() -> Iterator[None]:
    """Draw inside this context for the common fonts (matplotlib reads them when an
    artist is created)."""
    with matplotlib.rc_context(RC):  # type: ignore[arg-type]  # keys are rcParams names
        yield


def new_figure(height_in: float, width_in: float = FIGURE_WIDTH_IN) -> Figure:
    """A figure of the common width (``height_in`` tall), not tied to pyplot."""
    return Figure(figsize=(width_in, height_in), dpi=PNG_DPI)


def target(ax: Axes | None, height_in: float, width_in: float = FIGURE_WIDTH_IN
           ) -> tuple[Axes, bool]:
    """The Axes to draw on: ``ax`` if given, else the one Axes of a new figure
    (``new_figure``); and whether the figure is ours (then we lay it out)."""
    if ax is not None:
        return ax, False
    new = new_figure(height_in, width_in).subplots()
    assert isinstance(new, Axes)
    return new, True


def root_figure(ax: Axes) -> Figure:
    """The whole figure ``ax`` is drawn on (climbing out of subfigures)."""
    fig = ax.figure
    while isinstance(fig, SubFigure):
        fig = fig.figure
    assert isinstance(fig, Figure)
    return fig


def save(fig: Figure, path: str | Path) -> None:
    """Lay out ``fig`` and write it to ``path`` in the format its suffix names."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=PNG_DPI, bbox_inches="tight")
