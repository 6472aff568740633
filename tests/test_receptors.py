"""The occupancy model: checked against closed-form answers, then against published values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ketamine_course import load_table
from ketamine_course.data import value_of
from ketamine_course.receptors import (
    KETAMINE_FORMULA,
    KETAMINE_MOLAR_MASS,
    competitive_occupancy,
    concentration_for_occupancy,
    constants_from_table,
    effective_constant,
    hours_above,
    molar_mass,
    ng_ml_to_um,
    occupancy,
    occupancy_profile,
    racemate_occupancy,
    um_to_ng_ml,
)


# ---- closed-form behaviour -------------------------------------------------------------------


@pytest.mark.parametrize("hill", [0.5, 1.0, 2.0])
def test_half_occupancy_at_the_constant(hill):
    assert occupancy(0.3, 0.3, hill) == pytest.approx(0.5)


def test_one_site_binding_values():
    # C = 3K gives 3/4, C = K/3 gives 1/4, zero concentration gives zero.
    assert occupancy(0.9, 0.3) == pytest.approx(0.75)
    assert occupancy(0.1, 0.3) == pytest.approx(0.25)
    assert occupancy(0.0, 0.3) == 0.0


def test_hill_coefficient_steepens_the_curve():
    assert occupancy(2.0, 1.0, hill=2.0) == pytest.approx(0.8)
    assert occupancy(2.0, 1.0, hill=2.0) > occupancy(2.0, 1.0, hill=1.0)


def test_occupancy_rises_monotonically_towards_one():
    conc = np.logspace(-3, 3, 200)
    occ = occupancy(conc, 0.5)
    assert np.all(np.diff(occ) > 0)
    assert occ[0] < 0.01 and occ[-1] > 0.99


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("hill", [1.0, 1.5])
def test_concentration_for_occupancy_inverts_occupancy(fraction, hill):
    c = concentration_for_occupancy(fraction, 1.4, hill)
    assert occupancy(c, 1.4, hill) == pytest.approx(fraction)


def test_one_ligand_in_the_competitive_form_is_plain_binding():
    got = competitive_occupancy({"S": 0.4}, {"S": 0.3})
    assert got["total"] == pytest.approx(occupancy(0.4, 0.3))
    assert got["S"] == pytest.approx(got["total"])


def test_competitive_shares_add_up_to_the_total():
    got = competitive_occupancy({"S": np.array([0.1, 1.0]), "R": np.array([0.1, 1.0])}, {"S": 0.3, "R": 1.4})
    np.testing.assert_allclose(got["S"] + got["R"], got["total"])


@pytest.mark.parametrize("total", [0.01, 0.39, 0.78, 5.0, 10.0])
def test_racemate_equals_one_ligand_with_the_effective_constant(total):
    k_mix = effective_constant(0.3, 1.4)
    assert racemate_occupancy(total, 0.3, 1.4)["total"] == pytest.approx(occupancy(total, k_mix))


def test_effective_constant_is_the_weighted_harmonic_mean():
    assert effective_constant(0.3, 1.4) == pytest.approx(2 / (1 / 0.3 + 1 / 1.4))
    assert 0.3 < effective_constant(0.3, 1.4) < 1.4
    assert effective_constant(0.7, 0.7) == pytest.approx(0.7)
    assert effective_constant(0.3, 1.4, fraction_s=1.0) == pytest.approx(0.3)


def test_equal_enantiomers_behave_like_one_compound():
    got = racemate_occupancy(0.5, 0.7, 0.7)
    assert got["total"] == pytest.approx(occupancy(0.5, 0.7))
    assert got["S"] == pytest.approx(got["R"])


def test_unit_conversion_round_trip():
    assert um_to_ng_ml(ng_ml_to_um(185.0)) == pytest.approx(185.0)
    np.testing.assert_allclose(um_to_ng_ml(ng_ml_to_um(np.array([1.0, 2400.0]))), [1.0, 2400.0])


def test_molar_mass_of_ketamine_free_base():
    # 13 C + 16 H + Cl + N + O with standard atomic weights.
    expected = 13 * 12.011 + 16 * 1.008 + 35.45 + 14.007 + 15.999
    assert KETAMINE_MOLAR_MASS == pytest.approx(expected)
    assert molar_mass(KETAMINE_FORMULA) == pytest.approx(237.73, abs=0.01)


def test_occupancy_profile_follows_the_concentration():
    profile = pd.DataFrame({"time_h": [0.0, 0.5, 1.0, 2.0], "conc_ng_ml": [0.0, 185.0, 100.0, 10.0]})
    out = occupancy_profile(profile, 0.3, 1.4)
    assert out["occupancy"].idxmax() == 1
    np.testing.assert_allclose(out["occupancy_S"] + out["occupancy_R"], out["occupancy"])
    half = occupancy_profile(profile, 0.3, 1.4, free_fraction=0.5)
    assert np.all(half["occupancy"].iloc[1:] < out["occupancy"].iloc[1:])
    np.testing.assert_allclose(half["free_um"], out["conc_um"] * 0.5)


def test_hours_above_interpolates_crossings():
    profile = pd.DataFrame({"time_h": [0.0, 1.0, 2.0, 3.0], "y": [0.0, 1.0, 1.0, 0.0]})
    # Above 0.5 from t = 0.5 to t = 2.5.
    assert hours_above(profile, "y", 0.5) == pytest.approx(2.0)
    assert hours_above(profile, "y", 2.0) == 0.0


@pytest.mark.parametrize(
    "call",
    [
        lambda: occupancy(-1.0, 0.3),
        lambda: occupancy(1.0, 0.0),
        lambda: occupancy(1.0, 0.3, hill=0.0),
        lambda: concentration_for_occupancy(1.0, 0.3),
        lambda: effective_constant(0.3, 1.4, fraction_s=1.5),
        lambda: competitive_occupancy({"S": 1.0}, {"R": 1.0}),
        lambda: ng_ml_to_um(-5.0),
        lambda: occupancy_profile(pd.DataFrame({"time_h": [0.0], "conc_ng_ml": [1.0]}), 0.3, 1.4, free_fraction=0.0),
    ],
)
def test_invalid_inputs_are_refused(call):
    with pytest.raises((ValueError, KeyError)):
        call()


# ---- against published values ----------------------------------------------------------------


def _round_to_printed(value: float, printed: float) -> float:
    """Round ``value`` to the significant figures with which ``printed`` is written (0.42 -> 2, 5 -> 1, 10 -> 1)."""
    text = f"{printed:g}"
    digits = text.replace(".", "").lstrip("0")
    if "." not in text:
        digits = digits.rstrip("0")
    return float(f"{value:.{max(1, len(digits))}g}")


def test_conversion_reproduces_every_micromolar_value_printed_in_zanos_table_1(root):
    """Zanos et al. 2018, Table 1, prints each plasma range in ng/ml and in uM; our conversion gives the same numbers."""
    ranges = load_table("ketamine_concentration_ranges", root=root)
    for _, row in ranges.iterrows():
        for ng, um in ((row["low_ng_ml"], row["low_um"]), (row["high_ng_ml"], row["high_um"])):
            assert _round_to_printed(ng_ml_to_um(ng), um) == pytest.approx(um), (row["use"], ng, um)


def test_model_reproduces_the_published_five_fold_enantiomer_difference(root):
    """Ebert et al. 1997 (Abstract): (S)-ketamine has "a 5 times higher affinity" than (R)-ketamine.

    In the model the concentration for half occupancy is proportional to the constant, so the
    ratio of the two enantiomers' half-occupancy concentrations must round to 5; for norketamine
    the abstract says "approximately an 8 times higher affinity".
    """
    ks = constants_from_table(load_table("ketamine_receptor_affinities", root=root))
    ratio = concentration_for_occupancy(0.5, ks["(R)-ketamine"]) / concentration_for_occupancy(0.5, ks["(S)-ketamine"])
    assert round(ratio) == 5
    ratio_nor = ks["(R)-norketamine"] / ks["(S)-norketamine"]
    assert round(ratio_nor) == 8


def test_the_racemate_constant_is_derived_not_measured(root):
    ks = constants_from_table(load_table("ketamine_receptor_affinities", root=root))
    assert "racemic ketamine" not in ks
    k_mix = effective_constant(ks["(S)-ketamine"], ks["(R)-ketamine"])
    assert ks["(S)-ketamine"] < k_mix < ks["(R)-ketamine"]
    assert math.isclose(k_mix, 0.494, rel_tol=0.01)


def test_typical_antidepressant_peak_occupies_more_of_the_site_than_the_alpha7_receptor(root):
    """At the reported typical peak (0.78 uM) the binding model gives majority occupancy at the NMDA
    site, while the same total concentration is far below the alpha7 nicotinic IC50 of 20 uM."""
    table = load_table("ketamine_receptor_affinities", root=root)
    ks = constants_from_table(table)
    peak = value_of(load_table("ketamine_concentration_ranges", root=root), "low_um", use="antidepressant")
    nmda = racemate_occupancy(peak, ks["(S)-ketamine"], ks["(R)-ketamine"])["total"]
    alpha7 = value_of(table, "value_um", target="alpha7 nicotinic acetylcholine receptor")
    assert nmda > 0.5
    assert occupancy(peak, alpha7) < 0.05
