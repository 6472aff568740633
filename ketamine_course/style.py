"""One plot style for the whole book.

* Okabe–Ito colours, distinguishable with the common forms of colour-vision
  deficiency (Okabe & Ito, "Color Universal Design", 2008).
* An opaque white figure and axes background, so figures stay readable when the
  reader switches the book to its dark theme.
* Font sizes legible on a phone and in a projected lecture.
* The figure check (:mod:`ketamine_course.figure_check`): once the style is applied, every figure
  that is rendered is checked for legends over data, overlapping or cut-off text and text that is
  too small, and a failing figure fails its cell (and so the strict book build).
"""

from __future__ import annotations

from cycler import cycler
import matplotlib as mpl

# Okabe–Ito palette, in the order used for successive series.
OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky_blue": "#56B4E9",
    "reddish_purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}

# Yellow is kept out of the default cycle: it is too light for lines on white.
CYCLE = [OKABE_ITO[name] for name in ("blue", "orange", "green", "vermillion", "reddish_purple", "sky_blue", "black")]

RC_PARAMS = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.transparent": False,
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "figure.figsize": (8.0, 4.5),
    "font.size": 12,
    "axes.titlesize": 13,
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#d9d9d9",
    "grid.linewidth": 0.6,
    "axes.edgecolor": "#333333",
    "text.color": "#111111",
    "axes.labelcolor": "#111111",
    "xtick.color": "#111111",
    "ytick.color": "#111111",
    "axes.prop_cycle": cycler(color=CYCLE),
    "lines.linewidth": 2.0,
    "svg.hashsalt": "ketamine-course",  # deterministic SVG ids
}


def apply_style(check_figures: bool = True) -> None:
    """Apply the book's style to matplotlib (call once, in a chapter's imports cell).

    With ``check_figures`` (the default) every figure rendered afterwards passes the figure check
    (:func:`ketamine_course.figure_check.install`).
    """
    mpl.rcParams.update(RC_PARAMS)
    if check_figures:
        from . import figure_check

        figure_check.install()


def colour(name: str) -> str:
    """Return an Okabe–Ito colour by name, with a clear error for an unknown name."""
    try:
        return OKABE_ITO[name]
    except KeyError:
        raise KeyError(f"Unknown colour {name!r}; choose one of {sorted(OKABE_ITO)}") from None
