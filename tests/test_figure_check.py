"""The figure check: it catches each kind of unreadable figure, passes clean ones, and runs by itself."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbclient  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from ketamine_course import figure_check  # noqa: E402
from ketamine_course.figure_check import FigureCheckError, check_figure  # noqa: E402
from ketamine_course.style import apply_style  # noqa: E402


@pytest.fixture(autouse=True)
def styled():
    apply_style(check_figures=False)
    yield
    plt.close("all")


def kinds(fig) -> list[str]:
    return [p.kind for p in check_figure(fig)]


def clean_figure():
    fig, ax = plt.subplots(figsize=(7, 4))
    x = np.linspace(0, 10, 200)
    ax.plot(x, np.sin(x), label="sine")
    ax.plot(x, np.cos(x), "o", markevery=20, label="cosine")
    ax.errorbar([2, 5], [0.5, -0.5], yerr=0.3, fmt="s", label="measured")
    ax.set_xlabel("Time (h)")
    ax.set_ylabel("Signal (a.u.)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig


def test_a_clean_figure_passes():
    assert check_figure(clean_figure()) == []


def test_a_legend_in_an_empty_corner_passes():
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([5, 6, 7, 8, 9, 10], [0, 1, 2, 1, 0, 1], "o-", label="data in the lower right")
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    ax.legend(loc="upper left")
    fig.tight_layout()
    assert check_figure(fig) == []


def test_legend_over_a_plotted_point_is_caught():
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([0, 5, 10], [0, 5, 10], "o", label="points")
    ax.legend(loc="center")
    problems = check_figure(fig)
    assert [p.kind for p in problems] == ["legend over data"]
    assert "'points'" in problems[0].message and "x=5, y=5" in problems[0].message


def test_legend_over_a_line_between_its_vertices_is_caught():
    """No vertex under the legend, but the line runs through it."""
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([0, 10], [0, 10], label="diagonal")
    ax.legend(loc="center")
    assert kinds(fig) == ["legend over data"]


def test_legend_over_an_error_bar_is_caught():
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar([5], [0], yerr=[[10], [10]], fmt="none", label="interval")
    ax.plot([0, 10], [-10, -10], "o", label="anchors")
    ax.set_ylim(-11, 11)
    ax.legend(loc="center right", bbox_to_anchor=(0.6, 0.5))
    assert "legend over data" in kinds(fig)
    assert any("error bar" in p.message for p in check_figure(fig))


def test_legend_over_bars_and_scatter_points_is_caught():
    fig, (bars, scatter) = plt.subplots(1, 2, figsize=(9, 4))
    bars.bar(range(5), [9, 9, 9, 9, 9], label="bars")
    bars.legend(loc="center")
    scatter.scatter([5], [5], label="scatter")
    scatter.set_xlim(0, 10)
    scatter.set_ylim(0, 10)
    scatter.legend(loc="center")
    messages = " ".join(p.message for p in check_figure(fig))
    assert "a bar of" in messages and "scatter point" in messages


def test_a_figure_legend_over_another_axes_is_caught():
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 4))
    left.plot([0, 1], [0.5, 0.5], label="a")
    right.plot([0, 1], [0.5, 0.5], label="b")
    fig.legend(loc="center left", bbox_to_anchor=(0.15, 0.5))  # over the left panel's line
    assert any(p.kind == "legend over data" and "'a'" in p.message for p in check_figure(fig))


def test_legend_over_the_line_of_a_twin_axes_is_caught():
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([0, 1], [0, 0.1], label="left axis")
    twin = ax.twinx()
    twin.plot([0, 1], [1, 1], label="right axis")
    twin.set_ylim(0, 2)
    ax.legend(loc="center")
    assert any("'right axis'" in p.message for p in check_figure(fig))


def test_overlapping_text_is_caught():
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.text(0.5, 0.5, "first label", transform=ax.transAxes)
    ax.text(0.52, 0.5, "second label", transform=ax.transAxes)
    problems = check_figure(fig)
    assert [p.kind for p in problems] == ["text overlap"]
    assert "'first label'" in problems[0].message and "'second label'" in problems[0].message


def test_crowded_tick_labels_are_caught():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot(range(10), range(10))
    ax.set_xticks(range(10))
    ax.set_xticklabels([f"a long tick label {i}" for i in range(10)])
    assert "text overlap" in kinds(fig)


def test_a_legend_over_text_is_caught():
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([0, 1], [0, 0], label="flat line at the bottom")
    ax.set_ylim(-0.1, 1)
    ax.text(0.5, 0.55, "an annotation", transform=ax.transAxes, ha="center")
    ax.legend(loc="center")
    assert any(p.kind == "text overlap" and "covers text 'an annotation'" in p.message for p in check_figure(fig))


def test_text_cut_off_at_the_canvas_edge_is_caught():
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([0, 1], [0, 1])
    fig.text(0.9, 0.5, "this sentence runs off the right edge")
    problems = check_figure(fig)
    assert [p.kind for p in problems] == ["cut off"]
    assert "right edge" in problems[0].message


def test_a_legend_cut_off_at_the_canvas_edge_is_caught():
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([0, 1], [0, 1], label="a label long enough to stick out of the figure")
    ax.legend(loc="upper left", bbox_to_anchor=(0.9, 1))
    assert "cut off" in kinds(fig)


def test_text_below_the_legible_size_is_caught_and_the_minimum_passes():
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.set_xlabel("tiny", fontsize=figure_check.MIN_FONT_PT - 0.5)
    ax.set_ylabel("just legible", fontsize=figure_check.MIN_FONT_PT)
    fig.tight_layout()
    problems = check_figure(fig)
    assert [p.kind for p in problems] == ["text too small"]
    assert "'tiny'" in problems[0].message


def test_an_interval_hidden_under_its_marker_is_caught_and_a_visible_one_passes():
    fig, (hidden, shown) = plt.subplots(1, 2, figsize=(8, 3))
    for ax, (low, high) in ((hidden, (29, 31)), (shown, (10, 50))):
        ax.hlines(0, low, high, lw=2)
        ax.plot(30, 0, "o", ms=10)
        ax.set_xlim(0, 100)
    fig.tight_layout()
    problems = check_figure(fig)
    assert [p.kind for p in problems] == ["hidden interval"]
    assert "x=30" in problems[0].message


def test_a_hollow_marker_does_not_hide_its_interval():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.hlines(0, 29, 31, lw=2)
    ax.plot(30, 0, "o", ms=10, mfc="none")
    ax.set_xlim(0, 100)
    fig.tight_layout()
    assert check_figure(fig) == []


def test_hidden_artists_and_ticks_outside_the_view_are_ignored():
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([0, 10], [0, 10], label="hidden", visible=False)
    ax.plot([0, 1], [9, 9], label="shown")
    ax.text(0.5, 0.5, "invisible", transform=ax.transAxes, visible=False)
    ax.text(0.51, 0.5, "visible", transform=ax.transAxes)
    ax.set_xticks([-50, 0, 5, 10, 60])  # the outer two lie outside the view and are not drawn
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    ax.legend(loc="lower right")
    fig.tight_layout()
    assert check_figure(fig) == []


def test_the_message_names_the_figure_by_its_labels():
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([0, 10], [0, 10], label="diagonal")
    ax.set_ylabel("Plasma ketamine (ng/mL)")
    ax.legend(loc="center")
    with pytest.raises(FigureCheckError, match=r"Plasma ketamine \(ng/mL\)"):
        figure_check.assert_figure_ok(fig)


def test_saving_a_failing_figure_outside_ipython_raises():
    figure_check.install()
    try:
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot([0, 10], [0, 10], label="diagonal")
        ax.legend(loc="center")
        with pytest.raises(FigureCheckError, match="legend over data"):
            fig.savefig(io.BytesIO(), format="png")
        good = clean_figure()
        good.savefig(io.BytesIO(), format="png")  # a clean figure saves normally
    finally:
        figure_check.uninstall()


# ---- in a real kernel, as the book build and Binder run it ----------------------------------------

SETUP = "import matplotlib.pyplot as plt\nfrom IPython.display import display\nfrom ketamine_course.style import apply_style\napply_style()"
BAD = "fig, ax = plt.subplots()\nax.plot([0, 10], [0, 10], label='diagonal')\nax.legend(loc='center')\n"
GOOD = "fig, ax = plt.subplots()\nax.plot([0, 10], [0, 10], label='diagonal')\nax.legend(loc='upper left', bbox_to_anchor=(1.01, 1))\nfig.tight_layout()\n"


def run(*cells: str):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in (SETUP, *cells)]
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3")
    try:
        client.execute()
        return notebook, None
    except nbclient.exceptions.CellExecutionError as error:
        return notebook, error


def output_types(cell) -> list[str]:
    return [o["output_type"] if o["output_type"] != "display_data" else "+".join(sorted(o["data"])) for o in cell.outputs]


@pytest.mark.parametrize(
    "ending", ["plt.show()", "", "display(fig)\nplt.close(fig)"], ids=["plt.show", "shown after the cell", "display then close"]
)
def test_in_a_kernel_a_failing_figure_fails_its_cell_and_is_still_shown(ending):
    notebook, error = run(BAD + ending)
    assert error is not None, "the figure check did not fail the cell"
    assert "FigureCheckError" in str(error) and "the legend ('diagonal') covers the line 'diagonal'" in str(error)
    assert any("image/png" in t for t in output_types(notebook.cells[1])), "the failing figure was not shown"


def test_in_a_kernel_a_clean_figure_passes_and_a_final_expression_still_displays():
    notebook, error = run(GOOD + "plt.show()", GOOD + "'value shown'", "x = 1", "x + 1")
    assert error is None, error
    assert any("image/png" in t for t in output_types(notebook.cells[1]))
    results = [o["data"]["text/plain"] for o in notebook.cells[2].outputs if o["output_type"] == "execute_result"]
    assert results == ["'value shown'"]
    assert [o["data"]["text/plain"] for o in notebook.cells[4].outputs] == ["2"]


def test_in_a_kernel_a_failure_is_reported_once_in_its_own_cell():
    notebook, error = run(BAD, "1 + 1")
    assert error is not None
    assert notebook.cells[2].outputs == [] or notebook.cells[2].execution_count is None, "the next cell inherited the failure"
