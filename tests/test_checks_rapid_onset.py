"""Chapter 2's self-checks accept the worked solutions and reject wrong answers."""

from __future__ import annotations

import pytest

from ketamine_course.checks import evaluate
from ketamine_course.data import load_table, value_of
from ketamine_course.pharmacokinetics import Dose, exposure, ka_for_tmax, reference_model, simulate, terminal_half_life


@pytest.fixture(scope="module")
def model():
    return reference_model(70.0)


def test_dose_duration_core_accepts_dose_over_clearance_and_rejects_a_unit_slip(model):
    by_hand = 1000 * 35 / (model.clearance * 60)
    assert evaluate("ex-dose-duration", by_hand, part="core").ok
    assert not evaluate("ex-dose-duration", by_hand / 1000).ok  # mg·h/L instead of ng·h/mL
    assert not evaluate("ex-dose-duration", None).ok


def test_dose_duration_extension(model):
    slow = exposure(simulate(model, Dose(35, duration_min=100), hours=48)).cmax_ng_ml
    assert evaluate("ex-dose-duration", slow, part="extension").ok
    fast = exposure(simulate(model, Dose(35, duration_min=40), hours=48)).cmax_ng_ml
    assert not evaluate("ex-dose-duration", fast, part="extension").ok


def test_half_life_checks(model):
    profile = simulate(model, Dose(35, duration_min=40), hours=24, step_min=0.5)
    window = profile[(profile["time_h"] >= 41 / 60) & (profile["time_h"] <= 50 / 60)]
    early = 60 * terminal_half_life(window, from_hour=41 / 60)
    assert evaluate("ex-half-life", early).ok
    assert not evaluate("ex-half-life", early / 60).ok  # hours instead of minutes
    late = terminal_half_life(profile, from_hour=12)
    assert evaluate("ex-half-life", late, part="extension").ok
    assert not evaluate("ex-half-life", late * 60, part="extension").ok


def test_oral_checks(model):
    f = value_of(load_table("ketamine_bioavailability"), "bioavailability_pct", route="oral", analyte="ketamine") / 100
    iv = exposure(simulate(model, Dose(35, duration_min=40), hours=48)).cmax_ng_ml
    oral = exposure(simulate(model, Dose(35, route="oral", ka=ka_for_tmax(model, tmax_min=45), bioavailability=f),
                             hours=48)).cmax_ng_ml
    assert evaluate("ex-oral", 100 * oral / iv).ok
    assert not evaluate("ex-oral", 100 * f).ok  # the AUC fraction is not the peak fraction
    fast = exposure(simulate(model, Dose(35, route="oral", ka=ka_for_tmax(model, tmax_min=15), bioavailability=f),
                             hours=48)).cmax_ng_ml
    assert evaluate("ex-oral", 100 * fast / iv, part="extension").ok
