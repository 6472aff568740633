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


@register("ex-dose-duration", part="core")
def _dose_core(answer):
    """AUC (ng·h/mL) of 0.5 mg/kg over 40 min, which equals dose / clearance."""
    expected = exposure(_profile(Dose(0.5 * WEIGHT_KG, duration_min=40), hours=72)).auc_ng_h_ml
    return Result.close(answer, expected, rel=0.03,
                        hint="AUC = dose / clearance; mind the units (mg and L/h give mg·h/L, which is µg·h/mL).")


@register("ex-dose-duration", part="extension")
def _dose_extension(answer):
    """Peak concentration (ng/mL) of 0.5 mg/kg infused over 100 minutes."""
    expected = exposure(_profile(Dose(0.5 * WEIGHT_KG, duration_min=100))).cmax_ng_ml
    return Result.close(answer, expected, rel=0.02, hint="Simulate Dose(35, duration_min=100) and take cmax_ng_ml.")


@register("ex-half-life", part="core")
def _half_life_core(answer):
    """Apparent half-life (min) fitted between 41 and 50 minutes after the start of the standard infusion."""
    profile = _profile(Dose(0.5 * WEIGHT_KG, duration_min=40), hours=2)
    window = profile[(profile["time_h"] >= 41 / 60) & (profile["time_h"] <= 50 / 60)]
    expected = 60 * terminal_half_life(window, from_hour=41 / 60)
    return Result.close(answer, expected, rel=0.05, hint="terminal_half_life returns hours; the answer is in minutes.")


@register("ex-half-life", part="extension")
def _half_life_extension(answer):
    """Apparent half-life (h) fitted between 12 and 24 hours."""
    profile = _profile(Dose(0.5 * WEIGHT_KG, duration_min=40), hours=24)
    expected = terminal_half_life(profile, from_hour=12)
    return Result.close(answer, expected, rel=0.02, hint="Fit from 12 h to the end of a 24-hour simulation; the answer is in hours.")


def _oral_dose(tmax_min: float) -> Dose:
    bioavailability = load_table("ketamine_bioavailability")
    f_oral = value_of(bioavailability, "bioavailability_pct", route="oral", analyte="ketamine") / 100
    return Dose(0.5 * WEIGHT_KG, route="oral", ka=ka_for_tmax(_model(), tmax_min=tmax_min), bioavailability=f_oral)


@register("ex-oral", part="core")
def _oral_core(answer):
    """Oral peak as a percentage of the intravenous peak, absorption tuned to a 45-minute time to peak."""
    iv = exposure(_profile(Dose(0.5 * WEIGHT_KG, duration_min=40))).cmax_ng_ml
    oral = exposure(_profile(_oral_dose(45))).cmax_ng_ml
    return Result.close(answer, 100 * oral / iv, rel=0.03, hint="Divide the oral cmax by the IV cmax and multiply by 100.")


@register("ex-oral", part="extension")
def _oral_extension(answer):
    """The same percentage when absorption is fast (time to peak 15 minutes)."""
    iv = exposure(_profile(Dose(0.5 * WEIGHT_KG, duration_min=40))).cmax_ng_ml
    oral = exposure(_profile(_oral_dose(15))).cmax_ng_ml
    return Result.close(answer, 100 * oral / iv, rel=0.03, hint="Use ka_for_tmax(model, tmax_min=15).")


def comparison_model():
    """The older STANPUMP 'Domino' set, kept as a labelled comparison."""
    return model_from_table(load_table("ketamine_pk_parameters"), "domino_stanpump", weight_kg=WEIGHT_KG)
