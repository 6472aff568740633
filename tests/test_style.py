import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402

from ketamine_course import style  # noqa: E402

# The Okabe–Ito palette as published (Okabe & Ito 2008, Color Universal Design).
PUBLISHED_OKABE_ITO = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"}


def test_palette_is_exactly_okabe_ito():
    assert set(style.OKABE_ITO.values()) == PUBLISHED_OKABE_ITO


def test_default_colour_cycle_uses_only_palette_colours_and_no_yellow():
    style.apply_style()
    cycle = [c["color"] for c in matplotlib.rcParams["axes.prop_cycle"]]
    assert set(cycle) <= PUBLISHED_OKABE_ITO
    assert "#F0E442" not in cycle, "yellow is unreadable as a line on white"
    assert len(cycle) == len(set(cycle)) >= 6


def test_saved_figures_have_an_opaque_white_background():
    """A transparent PNG would turn black in the dark theme."""
    style.apply_style()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    buffer.seek(0)
    image = plt.imread(buffer)
    assert image.shape[2] == 4
    assert np.all(image[..., 3] == 1.0), "figure has transparent pixels"
    corner = image[2, 2, :3]
    assert np.allclose(corner, 1.0), f"corner pixel {corner} is not white"


def test_fonts_are_legible():
    style.apply_style()
    for key in ("font.size", "axes.labelsize", "xtick.labelsize", "ytick.labelsize", "legend.fontsize"):
        assert float(matplotlib.rcParams[key]) >= 10, key


def test_text_contrasts_with_the_white_background():
    style.apply_style()
    r, g, b = to_rgb(matplotlib.rcParams["text.color"])
    assert max(r, g, b) < 0.3


def test_unknown_colour_name_is_a_clear_error():
    with pytest.raises(KeyError, match="Unknown colour 'red'"):
        style.colour("red")
    assert style.colour("blue") == "#0072B2"
