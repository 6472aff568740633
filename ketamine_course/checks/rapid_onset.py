"""Self-checks for chapter 2 (rapid onset). Every expected value is computed here from the
package's model and data, never typed in."""

from __future__ import annotations

from functools import lru_cache

from ketamine_course.checks import Result, register
from ketamine_course.data import load_table, value_of
from ketamine_course.pharmacokinetics import (
    Dose,
    exposure,
    ka_for_tmax,
    model_from_table,
    reference_model,
    simulate,
    terminal_half_life,
)

WEIGHT_KG = 70.0


@lru_cache(maxsize=None)
def _model():
    return reference_model(WEIGHT_KG)


def _profile(dose: Dose, hours: float = 48.0):
    return simulate(_model(), dose, hours=hours, step_min=0.5)


@register("ex-dose-duration", part="core", solution=lambda: 1000 * 0.5 * WEIGHT_KG / (_model().clearance * 60))
def _dose_core(answer):
    """AUC (ng·h/mL) of 0.5 mg/kg over 40 min, which equals dose / clearance."""
    expected = exposure(_profile(Dose(0.5 * WEIGHT_KG, duration_min=40), hours=72)).auc_ng_h_ml
    return Result.close(answer, expected, rel=0.03,
                        hint="AUC = dose / clearance; mind the units (mg and L/h give mg·h/L, which is µg·h/mL).")


@register("ex-dose-duration", part="extension", solution=lambda: _worked_peak(100))
def _dose_extension(answer):
    """Peak concentration (ng/mL) of 0.5 mg/kg infused over 100 minutes."""
    expected = exposure(_profile(Dose(0.5 * WEIGHT_KG, duration_min=100))).cmax_ng_ml
    return Result.close(answer, expected, rel=0.02, hint="Simulate Dose(35, duration_min=100) and take cmax_ng_ml.")


@register("ex-half-life", part="core", solution=lambda: _worked_fit(41 / 60, 50 / 60) * 60)
def _half_life_core(answer):
    """Apparent half-life (min) fitted between 41 and 50 minutes after the start of the standard infusion."""
    profile = _profile(Dose(0.5 * WEIGHT_KG, duration_min=40), hours=2)
    window = profile[(profile["time_h"] >= 41 / 60) & (profile["time_h"] <= 50 / 60)]
    expected = 60 * terminal_half_life(window, from_hour=41 / 60)
    return Result.close(answer, expected, rel=0.05, hint="terminal_half_life returns hours; the answer is in minutes.")


@register("ex-half-life", part="extension", solution=lambda: _worked_fit(12, 24))
def _half_life_extension(answer):
    """Apparent half-life (h) fitted between 12 and 24 hours."""
    profile = _profile(Dose(0.5 * WEIGHT_KG, duration_min=40), hours=24)
    expected = terminal_half_life(profile, from_hour=12)
    return Result.close(answer, expected, rel=0.02, hint="Fit from 12 h to the end of a 24-hour simulation; the answer is in hours.")


def _oral_dose(tmax_min: float) -> Dose:
    bioavailability = load_table("ketamine_bioavailability")
    f_oral = value_of(bioavailability, "bioavailability_pct", route="oral", analyte="ketamine") / 100
    return Dose(0.5 * WEIGHT_KG, route="oral", ka=ka_for_tmax(_model(), tmax_min=tmax_min), bioavailability=f_oral)


@register("ex-oral", part="core", solution=lambda: _worked_oral_pct(45))
def _oral_core(answer):
    """Oral peak as a percentage of the intravenous peak, absorption tuned to a 45-minute time to peak."""
    iv = exposure(_profile(Dose(0.5 * WEIGHT_KG, duration_min=40))).cmax_ng_ml
    oral = exposure(_profile(_oral_dose(45))).cmax_ng_ml
    return Result.close(answer, 100 * oral / iv, rel=0.03, hint="Divide the oral cmax by the IV cmax and multiply by 100.")


@register("ex-oral", part="extension", solution=lambda: _worked_oral_pct(15))
def _oral_extension(answer):
    """The same percentage when absorption is fast (time to peak 15 minutes)."""
    iv = exposure(_profile(Dose(0.5 * WEIGHT_KG, duration_min=40))).cmax_ng_ml
    oral = exposure(_profile(_oral_dose(15))).cmax_ng_ml
    return Result.close(answer, 100 * oral / iv, rel=0.03, hint="Use ka_for_tmax(model, tmax_min=15).")


# ---- the answers the chapter's worked solutions compute (used by tests/test_checks.py) -------------
# They repeat the solution cells' steps, not the check functions above, so that a check that
# drifts from its solution fails the test.


def _worked_peak(duration_min: float) -> float:
    return exposure(simulate(_model(), Dose(0.5 * WEIGHT_KG, duration_min=duration_min), hours=72, step_min=0.5)).cmax_ng_ml


def _worked_fit(start_h: float, end_h: float) -> float:
    profile = simulate(_model(), Dose(0.5 * WEIGHT_KG, duration_min=40), hours=24, step_min=0.5)
    window = profile[(profile["time_h"] >= start_h) & (profile["time_h"] <= end_h)]
    return terminal_half_life(window, from_hour=start_h)


def _worked_oral_pct(tmax_min: float) -> float:
    f_oral = value_of(load_table("ketamine_bioavailability"), "bioavailability_pct", route="oral", analyte="ketamine") / 100
    iv_peak = exposure(simulate(_model(), Dose(35, duration_min=40), hours=48)).cmax_ng_ml
    oral = Dose(35, route="oral", ka=ka_for_tmax(_model(), tmax_min=tmax_min), bioavailability=f_oral)
    return 100 * exposure(simulate(_model(), oral, hours=48)).cmax_ng_ml / iv_peak


def comparison_model():
    """The older STANPUMP 'Domino' set, kept as a labelled comparison."""
    return model_from_table(load_table("ketamine_pk_parameters"), "domino_stanpump", weight_kg=WEIGHT_KG)
