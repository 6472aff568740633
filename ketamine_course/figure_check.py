"""A check that every figure the book renders can be read.

A figure fails when

* a legend covers a plotted point, a line, an error bar or a bar (of any axes in the figure),
* a piece of text overlaps another piece of text, or a legend covers text,
* text is cut off at the edge of the canvas,
* text is smaller than :data:`MIN_FONT_PT`, or
* an interval bar is hidden under the marker drawn on it.

Nobody has to call it. :func:`ketamine_course.style.apply_style` installs it (see :func:`install`):

* every time matplotlib renders a figure to an image (the notebook's inline display, ``savefig``,
  ``glue`` of a figure), ``FigureCanvasBase.print_figure`` first runs the check;
* in IPython/Jupyter, a line appended to every cell checks the figures still open at the end of the
  cell, and raises :class:`FigureCheckError` there, inside the cell. The cell then fails, so the
  strict book build fails, with a message that names the figure and what overlaps (myst-nb's report
  names the chapter and shows the cell). The figure is still displayed, so the reader can see why.

Outside IPython (a script) a failing figure raises as soon as it is saved or shown.

Geometry is measured in display pixels after a real draw with the Agg renderer, so what is checked
is what is drawn: tick labels outside the view limits, empty strings and hidden artists are ignored.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import numpy as np
from matplotlib.artist import Artist
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.transforms import Bbox

MIN_FONT_PT = 9.0
"""Smallest legible font size. Figures are at most about 10 inches wide and shown in a column of
about 7 inches, so 9 pt prints as roughly 6.5 pt: the smallest size still comfortable on paper."""

TOLERANCE_PX = 1.0
"""Overlaps and overhangs up to this many pixels are allowed (anti-aliasing, rounding)."""

MARKER_MARGIN_PX = 3.0
"""An interval bar counts as hidden when it reaches less than this far beyond its marker on both sides."""

MAX_LISTED = 12


class FigureCheckError(AssertionError):
    """A figure that a reader could not read properly (see the module docstring)."""


@dataclass(frozen=True)
class Problem:
    kind: str  # "legend over data", "text overlap", "cut off", "text too small", "hidden interval"
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


# ---- geometry helpers ---------------------------------------------------------------------------


def _shrink(box: Bbox, px: float) -> Bbox:
    return Bbox.from_extents(box.x0 + px, box.y0 + px, box.x1 - px, box.y1 - px)


def _overlap(a: Bbox, b: Bbox, px: float = TOLERANCE_PX) -> bool:
    """True when a and b share an area wider and taller than ``px``."""
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return width > px and height > px


def _intersection(a: Bbox, b: Bbox) -> Bbox | None:
    box = Bbox.intersection(a, b)
    if box is None or box.width <= 0 or box.height <= 0:
        return None
    return box


def _inside(points: np.ndarray, box: Bbox) -> np.ndarray:
    return (points[:, 0] > box.x0) & (points[:, 0] < box.x1) & (points[:, 1] > box.y0) & (points[:, 1] < box.y1)


def _segments_cross(p0: np.ndarray, p1: np.ndarray, box: Bbox) -> tuple[np.ndarray, np.ndarray]:
    """Which segments p0[i] -> p1[i] pass through the open box (Liang–Barsky, vectorised), and where.

    Returns the boolean mask and, for each segment, the midpoint of its part inside the box.
    """
    d = p1 - p0
    t0 = np.zeros(len(p0))
    t1 = np.ones(len(p0))
    ok = np.ones(len(p0), dtype=bool)
    for p, q in (
        (-d[:, 0], p0[:, 0] - box.x0),
        (d[:, 0], box.x1 - p0[:, 0]),
        (-d[:, 1], p0[:, 1] - box.y0),
        (d[:, 1], box.y1 - p0[:, 1]),
    ):
        parallel = np.isclose(p, 0.0)
        ok &= ~(parallel & (q <= 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(parallel, 0.0, q / np.where(parallel, 1.0, p))
        entering = (p < 0) & ~parallel
        leaving = (p > 0) & ~parallel
        t0 = np.where(entering, np.maximum(t0, r), t0)
        t1 = np.where(leaving, np.minimum(t1, r), t1)
    where = p0 + d * ((t0 + t1) / 2)[:, None]
    return ok & (t0 < t1), where


def _finite(points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    return points[np.all(np.isfinite(points), axis=1)]


def _visible(artist: Artist) -> bool:
    """Visible itself and in visible axes."""
    axes = getattr(artist, "axes", None)
    return artist.get_visible() and (axes is None or axes.get_visible())


def _quote(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _line_name(artist: Artist) -> str:
    label = artist.get_label() if hasattr(artist, "get_label") else ""
    if label and not label.startswith("_"):
        return f"'{label}'"
    return f"an unlabelled {type(artist).__name__}"


def _legend_name(legend: Legend) -> str:
    entries = [t.get_text() for t in legend.get_texts() if t.get_text().strip()]
    shown = ", ".join(_quote(e, 30) for e in entries[:3]) + (", …" if len(entries) > 3 else "")
    return f"the legend ({shown})" if shown else "a legend"


def _has_marker(line: Line2D) -> bool:
    marker = line.get_marker()
    return marker not in (None, "None", "none", "", " ") and line.get_markersize() > 0


def _has_line(line: Line2D) -> bool:
    return line.get_linestyle() not in ("None", "none", "", " ") and line.get_linewidth() > 0


def _hollow(line: Line2D) -> bool:
    from matplotlib.colors import to_rgba

    face = line.get_markerfacecolor()
    return isinstance(face, str) and face.lower() == "none" or to_rgba(face)[3] == 0


def _data_xy(transform, point) -> str:
    try:
        x, y = transform.inverted().transform(point)
        return f"x={x:.3g}, y={y:.3g}"
    except Exception:  # noqa: BLE001 - a description only
        return f"pixel ({point[0]:.0f}, {point[1]:.0f})"


# ---- what was drawn -------------------------------------------------------------------------------


def _renderer_and_drawn_texts(fig: Figure):
    """Draw the figure once with Agg and return the renderer and the Text artists actually drawn."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg

    canvas = fig.canvas
    if isinstance(canvas, FigureCanvasAgg):
        renderer = canvas.get_renderer()
    else:
        renderer = RendererAgg(fig.bbox.width, fig.bbox.height, fig.dpi)
    drawn: dict[int, Text] = {}
    original = renderer.draw_text

    def recording_draw_text(gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if mtext is not None and str(s).strip():
            drawn[id(mtext)] = mtext
        return original(gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)

    renderer.draw_text = recording_draw_text
    try:
        fig.draw(renderer)
    finally:
        del renderer.draw_text
    texts = [t for t in drawn.values() if t.get_text().strip()]
    return renderer, texts


def _legends(fig: Figure) -> list[Legend]:
    found = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    found += list(fig.legends)
    return [legend for legend in found if legend.get_visible()]


def _legend_box(legend: Legend, renderer) -> Bbox:
    """The area the legend's entries occupy (its frame, when the frame is drawn)."""
    if legend.get_frame_on():
        return legend.get_window_extent(renderer)
    inner = getattr(legend, "_legend_box", None)
    return inner.get_window_extent(renderer) if inner is not None else legend.get_window_extent(renderer)


def _owner_legend(text: Text, legends: list[Legend]) -> Legend | None:
    for legend in legends:
        if text in legend.get_texts() or text is legend.get_title():
            return legend
    return None


# ---- the checks ---------------------------------------------------------------------------------


def _legend_over_data(fig: Figure, renderer, legends: list[Legend]) -> list[Problem]:
    problems = []
    for legend in legends:
        box = _shrink(_legend_box(legend, renderer), TOLERANCE_PX)
        name = _legend_name(legend)
        for ax in fig.axes:
            area = _intersection(box, ax.bbox)
            if area is None:
                continue
            for line in ax.get_lines():
                if not _visible(line):
                    continue
                points = _finite(line.get_transform().transform(np.column_stack([line.get_xdata(orig=False), line.get_ydata(orig=False)])))
                if len(points) == 0:
                    continue
                transform = line.get_transform()
                if _has_marker(line):
                    radius = line.get_markersize() * fig.dpi / 72 / 2
                    hit = _inside(points, Bbox.from_extents(area.x0 - radius, area.y0 - radius, area.x1 + radius, area.y1 + radius))
                    if hit.any():
                        first = points[hit][0]
                        problems.append(Problem("legend over data", f"{name} covers {hit.sum()} plotted point(s) of {_line_name(line)} (first at {_data_xy(transform, first)})"))
                        continue
                if _has_line(line) and len(points) >= 2:
                    crossing, where = _segments_cross(points[:-1], points[1:], area)
                    if crossing.any():
                        i = int(np.argmax(crossing))
                        problems.append(Problem("legend over data", f"{name} covers the line {_line_name(line)} (near {_data_xy(transform, where[i])})"))
            for collection in ax.collections:
                if not _visible(collection):
                    continue
                if isinstance(collection, LineCollection):
                    segments = [_finite(collection.get_transform().transform(np.asarray(s))) for s in collection.get_segments()]
                    segments = [s for s in segments if len(s) >= 2]
                    if not segments:
                        continue
                    p0 = np.vstack([s[:-1] for s in segments])
                    p1 = np.vstack([s[1:] for s in segments])
                    crossing, where = _segments_cross(p0, p1, area)
                    if crossing.any():
                        problems.append(Problem("legend over data", f"{name} covers {crossing.sum()} error bar or line segment(s) of {_line_name(collection)} (near {_data_xy(ax.transData, where[crossing][0])})"))
                elif isinstance(collection, PathCollection):
                    offsets = collection.get_offsets()
                    if len(offsets) == 0:
                        continue
                    points = _finite(collection.get_offset_transform().transform(offsets))
                    hit = _inside(points, area)
                    if hit.any():
                        problems.append(Problem("legend over data", f"{name} covers {hit.sum()} scatter point(s) of {_line_name(collection)} (first at {_data_xy(ax.transData, points[hit][0])})"))
            for container in ax.containers:
                if not isinstance(container, BarContainer):
                    continue
                for bar in container.patches:
                    if bar.get_visible() and _overlap(bar.get_window_extent(renderer), area):
                        problems.append(Problem("legend over data", f"{name} covers a bar of {_line_name(container)} (at {_data_xy(ax.transData, bar.get_window_extent(renderer).get_points().mean(axis=0))})"))
                        break
    return problems


def _text_problems(fig: Figure, renderer, texts: list[Text], legends: list[Legend]) -> list[Problem]:
    problems = []
    canvas = fig.bbox
    boxes = [(t, t.get_window_extent(renderer)) for t in texts]
    for text, box in boxes:
        size = text.get_fontsize()
        if size < MIN_FONT_PT - 1e-9:
            problems.append(Problem("text too small", f"text {_quote(text.get_text())} is {size:g} pt, below the {MIN_FONT_PT:g} pt minimum"))
        sides = {
            "left": canvas.x0 - box.x0,
            "right": box.x1 - canvas.x1,
            "bottom": canvas.y0 - box.y0,
            "top": box.y1 - canvas.y1,
        }
        for side, over in sides.items():
            if over > TOLERANCE_PX:
                problems.append(Problem("cut off", f"text {_quote(text.get_text())} runs {over:.0f} px past the {side} edge of the canvas"))
    owners = {id(t): _owner_legend(t, legends) for t, _ in boxes}
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1:]:
            if owners[id(a)] is not None and owners[id(a)] is owners[id(b)]:
                continue  # a legend lays out its own entries
            if _overlap(box_a, box_b):
                problems.append(Problem("text overlap", f"text {_quote(a.get_text())} overlaps text {_quote(b.get_text())}"))
    for legend in legends:
        frame = _shrink(_legend_box(legend, renderer), TOLERANCE_PX)
        name = _legend_name(legend)
        for text, box in boxes:
            if owners[id(text)] is legend:
                continue
            if _overlap(frame, box):
                problems.append(Problem("text overlap", f"{name} covers text {_quote(text.get_text())}"))
        outer = legend.get_window_extent(renderer)
        for side, over in {"left": canvas.x0 - outer.x0, "right": outer.x1 - canvas.x1, "bottom": canvas.y0 - outer.y0, "top": outer.y1 - canvas.y1}.items():
            if over > TOLERANCE_PX:
                problems.append(Problem("cut off", f"{name} runs {over:.0f} px past the {side} edge of the canvas"))
    return problems


def _hidden_intervals(fig: Figure) -> list[Problem]:
    problems = []
    for ax in fig.axes:
        markers = []
        for line in ax.get_lines():
            # a hollow marker does not hide the bar drawn through it
            if _visible(line) and _has_marker(line) and not _hollow(line):
                points = _finite(line.get_transform().transform(np.column_stack([line.get_xdata(orig=False), line.get_ydata(orig=False)])))
                radius = line.get_markersize() * fig.dpi / 72 / 2
                markers += [(p, radius) for p in points]
        if not markers:
            continue
        centres = np.array([p for p, _ in markers])
        radii = np.array([r for _, r in markers])
        for collection in ax.collections:
            if not (isinstance(collection, LineCollection) and _visible(collection)):
                continue
            for segment in collection.get_segments():
                points = _finite(collection.get_transform().transform(np.asarray(segment)))
                if len(points) != 2:
                    continue
                a, b = points
                length = float(np.hypot(*(b - a)))
                if length == 0:
                    continue
                # markers whose centre lies on this segment
                direction = (b - a) / length
                rel = centres - a
                along = rel @ direction
                across = np.abs(rel[:, 0] * direction[1] - rel[:, 1] * direction[0])
                on = (across <= TOLERANCE_PX + 0.5) & (along >= -TOLERANCE_PX) & (along <= length + TOLERANCE_PX)
                for k in np.flatnonzero(on):
                    reach = radii[k] + MARKER_MARGIN_PX
                    if np.hypot(*(a - centres[k])) <= reach and np.hypot(*(b - centres[k])) <= reach:
                        problems.append(Problem("hidden interval", f"an interval bar {length:.0f} px long at {_data_xy(ax.transData, centres[k])} is hidden under its {2 * radii[k]:.0f} px marker; make the marker smaller or say in the caption that the interval is narrower than the marker"))
                        break
    return problems


def check_figure(fig: Figure) -> list[Problem]:
    """Every readability problem of ``fig`` (an empty list when it passes)."""
    renderer, texts = _renderer_and_drawn_texts(fig)
    legends = _legends(fig)
    problems = _legend_over_data(fig, renderer, legends)
    problems += _text_problems(fig, renderer, texts, legends)
    problems += _hidden_intervals(fig)
    seen, unique = set(), []
    for problem in problems:
        if str(problem) not in seen:
            seen.add(str(problem))
            unique.append(problem)
    return unique


def describe(fig: Figure) -> str:
    """A name for a figure in a message: its titles and axis labels."""
    parts = []
    suptitle = getattr(fig, "_suptitle", None)
    if suptitle is not None and suptitle.get_text():
        parts.append(_quote(suptitle.get_text()))
    for i, ax in enumerate(fig.axes, start=1):
        labels = [ax.get_title(), ax.get_ylabel(), ax.get_xlabel()]
        labels = [label for label in labels if label]
        if labels:
            parts.append(f"panel {i}: " + " / ".join(_quote(label, 35) for label in labels[:2]))
    return "; ".join(parts) if parts else "no titles or axis labels"


def format_problems(fig: Figure, problems: list[Problem]) -> str:
    lines = [f"Figure check failed for a figure drawn in this cell ({describe(fig)}):"]
    lines += [f"  - {p}" for p in problems[:MAX_LISTED]]
    if len(problems) > MAX_LISTED:
        lines.append(f"  ... and {len(problems) - MAX_LISTED} more")
    lines.append("Move the legend outside the data (e.g. loc='upper left', bbox_to_anchor=(1.01, 1)) or into an empty area, "
                 "enlarge the figure, or shorten the text (ketamine_course/figure_check.py).")
    return "\n".join(lines)


def assert_figure_ok(fig: Figure) -> None:
    """Raise :class:`FigureCheckError` when ``fig`` has any problem."""
    problems = check_figure(fig)
    if problems:
        raise FigureCheckError(format_problems(fig, problems))


# ---- the automatic hook -------------------------------------------------------------------------

_STATE = {"cell": 0, "pending": [], "installed": False}
_ORIGINAL_PRINT_FIGURE = FigureCanvasBase.print_figure
_CHECKED = "_ketamine_course_checked_in_cell"


def _in_ipython():
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of the kernel
        return None
    return get_ipython()


def _check_and_mark(fig: Figure) -> str | None:
    setattr(fig, _CHECKED, _STATE["cell"])
    problems = check_figure(fig)
    return format_problems(fig, problems) if problems else None


def _print_figure_with_check(self, *args, **kwargs):
    fig = self.figure
    if getattr(fig, _CHECKED, None) != _STATE["cell"] and not getattr(fig, "_ketamine_course_checking", False):
        fig._ketamine_course_checking = True
        try:
            message = _check_and_mark(fig)
        finally:
            fig._ketamine_course_checking = False
        if message:
            if _in_ipython() is None:
                raise FigureCheckError(message)
            _STATE["pending"].append(message)  # raised at the end of the cell, after the figure is shown
    return _ORIGINAL_PRINT_FIGURE(self, *args, **kwargs)


def end_of_cell(value=None):
    """Appended to every IPython cell: check the figures still open, raise any failure of this cell."""
    from matplotlib import _pylab_helpers

    messages = list(_STATE["pending"])
    _STATE["pending"].clear()
    for manager in _pylab_helpers.Gcf.get_all_fig_managers():
        fig = manager.canvas.figure
        if getattr(fig, _CHECKED, None) == _STATE["cell"]:
            continue
        message = _check_and_mark(fig)
        if message:
            messages.append(message)
    if messages:
        raise FigureCheckError("\n\n".join(messages))
    return value


_CALL = "__import__('ketamine_course.figure_check', fromlist=['end_of_cell']).end_of_cell"


class _AppendCheck(ast.NodeTransformer):
    """Make every cell end with the figure check, keeping the value of a final expression on display."""

    def visit_Module(self, module: ast.Module) -> ast.Module:
        call = ast.parse(_CALL, mode="eval").body
        if module.body and isinstance(module.body[-1], ast.Expr):
            last = module.body[-1]
            last.value = ast.copy_location(ast.Call(func=call, args=[last.value], keywords=[]), last.value)
        else:
            module.body.append(ast.Expr(value=ast.Call(func=call, args=[], keywords=[])))
        return ast.fix_missing_locations(module)


def _new_cell(*_args, **_kwargs):
    _STATE["cell"] += 1
    _STATE["pending"].clear()


def install() -> None:
    """Check every figure that matplotlib renders (idempotent; called by ``apply_style``)."""
    if not _STATE["installed"]:
        FigureCanvasBase.print_figure = _print_figure_with_check
        _STATE["installed"] = True
    shell = _in_ipython()
    if shell is not None and not any(isinstance(t, _AppendCheck) for t in shell.ast_transformers):
        shell.ast_transformers.append(_AppendCheck())
        shell.events.register("pre_run_cell", _new_cell)


def uninstall() -> None:
    """Undo :func:`install` (for tests)."""
    FigureCanvasBase.print_figure = _ORIGINAL_PRINT_FIGURE
    _STATE["installed"] = False
    shell = _in_ipython()
    if shell is not None:
        shell.ast_transformers[:] = [t for t in shell.ast_transformers if not isinstance(t, _AppendCheck)]
        try:
            shell.events.unregister("pre_run_cell", _new_cell)
        except ValueError:
            pass
