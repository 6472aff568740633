"""Self-checks for chapter 3 (treatment resistance). Every expected value is computed here from the
package's evidence helpers and the data tables, never typed in."""

from __future__ import annotations

import math
from functools import lru_cache

from ketamine_course.checks import Result, register
from ketamine_course.data import load_table, value_of
from ketamine_course.evidence import cumulative_remission, mghs_score, msm_score, nnt_whole, pool, trial_effects

# The patient of the staging exercise (book/03_treatment_resistance.md, exercise "Stage a patient"):
# seven antidepressant trials of which two were inadequate (too short or too low a dose), one
# augmentation, one course of ECT, an episode of 30 months, severe depression without psychosis.
PATIENT = {"adequate_failures": 5, "duration_months": 30, "severity": "severe without psychosis",
           "augmentation": True, "ect": True, "optimisations": 0, "augmentations": 1}
CONTINUING = 0.7  # the illustrative share of non-remitters who go on to the next STAR*D level


@lru_cache(maxsize=None)
def _staging():
    return load_table("trd_staging")


@lru_cache(maxsize=None)
def _stard_rates() -> tuple:
    star = load_table("stard_outcomes")
    levels = star[star["quantity"] == "remission at the end of the level"].sort_values("level")
    return tuple(levels["value"] / 100)


@lru_cache(maxsize=None)
def _rates():
    return load_table("esketamine_response_rates")


def _rate(trial: str, arm: str, outcome: str, source: str) -> float:
    rates = _rates()
    return value_of(rates[rates["source"] == source], "value", trial=trial, arm=arm, outcome=outcome) / 100


@lru_cache(maxsize=None)
def _effects():
    return trial_effects(load_table("ketamine_24h_trials"))


def _pooled_or(trials: tuple[str, ...]) -> float:
    chosen = _effects()[_effects()["trial"].isin(trials)]
    return pool(chosen["yi"], chosen["vi"], "dl").ratio()[0]


def _msm_total() -> float:
    p = PATIENT
    return msm_score(_staging(), p["adequate_failures"], p["duration_months"], p["severity"],
                     augmentation=p["augmentation"], ect=p["ect"]).total


def _mghs_total() -> float:
    p = PATIENT
    return mghs_score(_staging(), p["adequate_failures"], optimisations=p["optimisations"],
                      augmentations=p["augmentations"], ect=p["ect"]).total


@register("ex-stage-patient", part="core", solution=_msm_total)
def _stage_core(answer):
    """MSM total of the described patient, counting only adequate antidepressant trials."""
    return Result.close(answer, _msm_total(), abs=0.01,
                        hint="Count only the adequate trials, then add the points of each of the five rows of the MSM.")


@register("ex-stage-patient", part="extension", solution=_mghs_total)
def _stage_extension(answer):
    """MGH-s total of the same patient."""
    return Result.close(answer, _mghs_total(), abs=0.01,
                        hint="MGH-s: one point per adequate failed trial, half a point per augmentation, three for ECT.")


@register("ex-cumulative-remission", part="core", solution=lambda: 100 * cumulative_remission(_stard_rates()))
def _cumulative_core(answer):
    """Theoretical cumulative remission (%) over the four STAR*D levels, nobody dropping out."""
    return Result.close(answer, 100 * cumulative_remission(_stard_rates()), abs=0.15,
                        hint="Give a percentage: 1 minus the product of (1 - rate) over the four levels, times 100.")


@register("ex-cumulative-remission", part="extension",
          solution=lambda: 100 * cumulative_remission(_stard_rates(), continuing=CONTINUING))
def _cumulative_extension(answer):
    """Cumulative remission (%) if only 70% of those who did not remit go on to each next level."""
    return Result.close(answer, 100 * cumulative_remission(_stard_rates(), continuing=CONTINUING), abs=0.15,
                        hint="Use cumulative_remission(rates, continuing=0.7) and give a percentage.")


def _nnt_remission_t2() -> int:
    return nnt_whole(_rate("TRANSFORM-2", "esketamine", "remission", "citrome2020appraising"),
                     _rate("TRANSFORM-2", "placebo", "remission", "citrome2020appraising"))


@register("ex-nnt", part="core", solution=_nnt_remission_t2)
def _nnt_core(answer):
    """NNT for remission in TRANSFORM-2 (Citrome et al. 2020 rates), rounded up to a whole person."""
    return Result.equal(answer, _nnt_remission_t2(),
                        hint="1 / (difference in the proportion remitting), rounded UP; use fractions, not percentages.")


def _nnt_response_katz() -> dict:
    return {
        "TRANSFORM-1 56 mg": nnt_whole(_rate("TRANSFORM-1", "esketamine 56 mg", "response", "katz2021benefit"),
                                       _rate("TRANSFORM-1", "placebo", "response", "katz2021benefit")),
        "TRANSFORM-3": nnt_whole(_rate("TRANSFORM-3", "esketamine", "response", "katz2021benefit"),
                                 _rate("TRANSFORM-3", "placebo", "response", "katz2021benefit")),
    }


@register("ex-nnt", part="extension", solution=_nnt_response_katz)
def _nnt_extension(answer):
    """NNTs for response in TRANSFORM-1 (56 mg) and TRANSFORM-3 from Katz et al. (2021), as a dict."""
    return Result.all_close(answer, _nnt_response_katz(), abs=0.01,
                            hint="Keys 'TRANSFORM-1 56 mg' and 'TRANSFORM-3'; whole numbers, rounded up.")


def _active_only() -> float:
    trials = _effects()
    return _pooled_or(tuple(trials.loc[trials["control_type"] == "active placebo", "trial"]))


@register("ex-active-placebo", part="core", solution=_active_only)
def _active_core(answer):
    """Pooled odds ratio (DerSimonian-Laird) of the active-placebo trials only."""
    return Result.close(answer, _active_only(), rel=0.01,
                        hint="Select the rows with control_type == 'active placebo', pool yi and vi, report exp(estimate).")


def _masked() -> float:
    return _pooled_or(("Murrough 2013", "Lii 2023"))


@register("ex-active-placebo", part="extension", solution=_masked)
def _active_extension(answer):
    """Pooled odds ratio of the trials whose control was chosen to mask the acute effects (midazolam or anaesthesia)."""
    result = Result.close(answer, _masked(), rel=0.01,
                          hint="Pool Murrough 2013 and Lii 2023 and report the odds ratio (not its logarithm).")
    if not result and isinstance(answer, (int, float)) and answer < 1 and math.isclose(math.exp(answer), _masked(), rel_tol=0.01):
        return Result.wrong("That looks like a log odds ratio: take exp() of the pooled estimate.")
    return result
