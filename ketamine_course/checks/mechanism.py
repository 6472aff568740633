"""Self-checks for the exercises of chapter 1 (``book/01_mechanism.md``).

Every expected value is computed here from the course's data tables and models, the same way the
chapter's worked solutions compute it; nothing is typed in.
"""

from __future__ import annotations

from functools import lru_cache

from ketamine_course.checks import Result, register
from ketamine_course.data import load_table, value_of
from ketamine_course.pharmacokinetics import Dose, reference_model, simulate
from ketamine_course.receptors import (
    constants_from_table,
    effective_constant,
    hours_above,
    ng_ml_to_um,
    occupancy,
    occupancy_profile,
    racemate_occupancy,
    um_to_ng_ml,
)

# Tolerance: 2% covers rounding to two or three significant figures and the half-minute time step
# of the modelled profile.
REL = 0.02


def _constants() -> tuple[float, float]:
    ks = constants_from_table(load_table("ketamine_receptor_affinities"))
    return ks["(S)-ketamine"], ks["(R)-ketamine"]


def standard_infusion_profile(weight_kg: float = 70, hours: float = 48):
    """Modelled plasma ketamine after 0.5 mg/kg over 40 minutes: the same call as the chapter's imports cell."""
    return simulate(reference_model(weight_kg=weight_kg), Dose(0.5 * weight_kg, duration_min=40), hours=hours, step_min=0.5)


@lru_cache(maxsize=1)
def _occupancy_profile():
    k_s, k_r = _constants()
    return occupancy_profile(standard_infusion_profile(), k_s, k_r)


def _typical_peak_ng_ml() -> float:
    return value_of(load_table("ketamine_concentration_ranges"), "low_ng_ml", use="antidepressant")


# ---- Exercise: occupancy at a given concentration --------------------------------------------------

EXERCISE_CONCENTRATION_UM = 0.5


def _occupancy_core() -> float:
    k_s, k_r = _constants()
    return float(racemate_occupancy(EXERCISE_CONCENTRATION_UM, k_s, k_r)["total"])


def _occupancy_extension() -> dict:
    k_s, k_r = _constants()
    return {"S": float(occupancy(EXERCISE_CONCENTRATION_UM, k_s)), "R": float(occupancy(EXERCISE_CONCENTRATION_UM, k_r))}


@register("ex-nmda-occupancy", part="core", solution=_occupancy_core)
def _(answer):
    return Result.close(answer, _occupancy_core(), rel=REL,
                        hint="Give a fraction between 0 and 1 (not a percentage), for the racemate at 0.5 µM.")


@register("ex-nmda-occupancy", part="extension", solution=_occupancy_extension)
def _(answer):
    return Result.all_close(answer, _occupancy_extension(), rel=REL,
                            hint='Give a dict {"S": ..., "R": ...}: each enantiomer alone at the full 0.5 µM.')


# ---- Exercise: change the affinity -----------------------------------------------------------------


def _affinity_core() -> float:
    k_s, k_r = _constants()
    return float(racemate_occupancy(ng_ml_to_um(_typical_peak_ng_ml()), 10 * k_s, 10 * k_r)["total"])


def _affinity_extension() -> float:
    k_s, k_r = _constants()
    return float(um_to_ng_ml(effective_constant(k_s, k_r)))


@register("ex-nmda-affinity", part="core", solution=_affinity_core)
def _(answer):
    return Result.close(answer, _affinity_core(), rel=REL,
                        hint="Convert 185 ng/mL to µM first, and multiply BOTH constants by ten.")


@register("ex-nmda-affinity", part="extension", solution=_affinity_extension)
def _(answer):
    return Result.close(answer, _affinity_extension(), rel=REL,
                        hint="Give a total racemate concentration in ng/mL (convert the derived constant from µM).")


# ---- Exercise: receptor clock against symptom clock ------------------------------------------------


def _clock_core() -> float:
    return float(hours_above(_occupancy_profile(), "occupancy", 0.5))


def _clinical_window_h() -> float:
    timescales = load_table("mechanism_timescales")
    row = timescales.loc[timescales["source"] == "kishimoto2016single"].iloc[0]
    return float(row["end_h"] - row["start_h"])


def _clock_extension() -> float:
    return _clinical_window_h() / _clock_core()


@register("ex-receptor-clock", part="core", solution=_clock_core)
def _(answer):
    return Result.close(answer, _clock_core(), rel=REL,
                        hint="Give hours (not minutes) at or above an occupancy of 0.5, from the profile occ.")


@register("ex-receptor-clock", part="extension", solution=_clock_extension)
def _(answer):
    return Result.close(answer, _clock_extension(), rel=REL,
                        hint="Divide the clinical window (168 h minus the 40-minute start) by your hours above 0.5.")
