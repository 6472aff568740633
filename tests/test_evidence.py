"""The evidence helpers against published results: a meta-analysis, NNTs, STAR*D and the staging rules."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ketamine_course import load_table
from ketamine_course.data import value_of
from ketamine_course.evidence import (
    cumulative_remission,
    effect_sizes,
    log_ratio_from_ci,
    mghs_score,
    msm_score,
    nnt,
    nnt_whole,
    pool,
    pool_by,
    trial_effects,
)


@pytest.fixture(scope="module")
def clasp(root):
    checks = load_table("meta_analysis_checks", root=root)
    counts = checks[checks["arm_or_quantity"] == "counts"]
    return checks, counts


@pytest.mark.parametrize("method,label", [("dl", "DerSimonian-Laird"), ("pm", "Paule-Mandel")])
def test_reproduces_dersimonian_and_kacker_2007_to_the_published_four_decimals(clasp, method, label):
    """Tables 3 and 4 of DerSimonian and Kacker (2007): pooled log OR, its SE and tau, by two estimators."""
    checks, counts = clasp
    yi, vi = effect_sizes(counts["events_treatment"], counts["n_treatment"], counts["events_control"],
                          counts["n_control"], measure="or")
    result = pool(yi, vi, method=method, measure="or")
    published = checks[checks["study"] == label].set_index("arm_or_quantity")["value"]
    assert round(result.estimate, 4) == published["pooled log odds ratio"]
    assert round(result.se, 4) == published["standard error of the pooled log odds ratio"]
    assert round(result.tau, 4) == published["between-trial standard deviation tau"]


def test_the_two_estimators_give_different_answers_so_the_check_can_fail(clasp):
    _, counts = clasp
    yi, vi = effect_sizes(counts["events_treatment"], counts["n_treatment"], counts["events_control"],
                          counts["n_control"])
    assert abs(pool(yi, vi, "dl").estimate - pool(yi, vi, "pm").estimate) > 0.05


def test_dersimonian_laird_tau2_is_truncated_at_zero_and_gives_the_fixed_effect_mean():
    """statsmodels 0.15 returns a negative tau-squared for homogeneous trials; the estimator is max(0, .)."""
    yi = np.array([0.50, 0.52, 0.49])
    vi = np.array([0.10, 0.20, 0.15])
    result = pool(yi, vi, "dl")
    weights = 1 / vi
    assert result.tau2 == 0 and result.tau2_truncated
    assert result.estimate == pytest.approx((weights * yi).sum() / weights.sum())
    assert result.se == pytest.approx(math.sqrt(1 / weights.sum()))


def test_one_trial_is_returned_unchanged():
    result = pool([0.7], [0.09])
    assert (result.k, result.estimate, result.se) == (1, 0.7, pytest.approx(0.3))


def test_log_ratio_from_ci_recovers_the_ratio_and_a_standard_error():
    log_or, var = log_ratio_from_ci(2.18, 1.21, 4.14)
    assert math.exp(log_or) == pytest.approx(2.18)
    assert math.sqrt(var) == pytest.approx((math.log(4.14) - math.log(1.21)) / 3.919927969, rel=1e-6)
    with pytest.raises(ValueError):
        log_ratio_from_ci(2.18, 4.14, 1.21)


def test_zero_cell_correction_is_per_trial():
    alone = effect_sizes([5], [10], [3], [10])
    together = effect_sizes([0, 5], [10, 10], [3, 3], [10, 10])
    assert together[0][1] == pytest.approx(alone[0][0])
    assert np.isfinite(together[0][0])


def test_published_nnts_and_nnh_of_transform_2_are_reproduced(root):
    """Citrome et al. (2020): NNT 8 for response, 6 for remission, NNH 17 for stopping for an adverse event."""
    rates = load_table("esketamine_response_rates", root=root)
    t2 = rates[(rates["trial"] == "TRANSFORM-2") & (rates["source"] == "citrome2020appraising")]
    for outcome, label in [("response", "published NNT"), ("remission", "published NNT"),
                           ("discontinuation for an adverse event", "published NNH")]:
        drug = value_of(t2, "value", arm="esketamine", outcome=outcome) / 100
        placebo = value_of(t2, "value", arm="placebo", outcome=outcome) / 100
        assert nnt_whole(drug, placebo) == value_of(t2, "value", arm=label, outcome=outcome), outcome


def test_nnt_refuses_percentages_and_equal_arms():
    with pytest.raises(ValueError):
        nnt(63.4, 49.5)
    with pytest.raises(ZeroDivisionError):
        nnt(0.3, 0.3)
    with pytest.raises(ValueError):
        nnt_whole(0.2, 0.3)
    assert nnt_whole(0.55, 0.30) == 4  # Grunebaum et al. (2018) report 4.0


def test_theoretical_cumulative_remission_of_star_d_rounds_to_the_reported_67_percent(root):
    star = load_table("stard_outcomes", root=root)
    levels = star[star["quantity"] == "remission at the end of the level"].sort_values("level")
    computed = cumulative_remission(levels["value"] / 100)
    reported = value_of(star, "value", quantity="cumulative remission over up to four levels (original report)")
    assert round(100 * computed) == reported


def test_msm_range_and_bands_match_the_published_rules(root):
    table = load_table("trd_staging", root=root)
    lowest = msm_score(table, 1, 6, "subsyndromal")
    highest = msm_score(table, 11, 36, "severe with psychosis", augmentation=True, ect=True)
    assert (lowest.total, lowest.band) == (3, "mild")
    assert (highest.total, highest.band) == (15, "severe")
    edge = msm_score(table, 2, 12, "moderate")  # 1 + 1 + 3 = 5
    assert edge.total == 5 and edge.parts["duration"] == 1
    assert msm_score(table, 2, 13, "moderate").parts["duration"] == 2
    with pytest.raises(ValueError):
        msm_score(table, 0, 6, "mild")
    with pytest.raises(ValueError):
        msm_score(table, 2, 6, "very bad")


def test_mghs_counts_each_trial_and_ect(root):
    table = load_table("trd_staging", root=root)
    score = mghs_score(table, 3, optimisations=1, augmentations=1, ect=True)
    assert score.total == 3 + 0.5 + 0.5 + 3


def test_trial_effects_use_counts_or_the_published_odds_ratio(root):
    trials = load_table("ketamine_24h_trials", root=root)
    effects = trial_effects(trials)
    murrough = effects.set_index("trial").loc["Murrough 2013"]
    assert math.exp(murrough["yi"]) == pytest.approx(2.18)
    lii = effects.set_index("trial").loc["Lii 2023"]
    assert math.exp(lii["yi"]) == pytest.approx((12 / 8) / (10 / 10))
    groups = pool_by(effects, "control_type")
    assert set(groups) == {"inert placebo", "active placebo", "all trials"}
    assert groups["active placebo"].k == 1
    with pytest.raises(ValueError):
        trial_effects(trials, measure="rr")  # Murrough gives only an odds ratio
    assert isinstance(effects, pd.DataFrame)


def test_a_published_interval_is_shown_as_published(root):
    effects = trial_effects(load_table("ketamine_24h_trials", root=root)).set_index("trial")
    assert math.exp(effects.loc["Murrough 2013", "ci_low"]) == pytest.approx(1.21)
    assert math.exp(effects.loc["Murrough 2013", "ci_high"]) == pytest.approx(4.14)


def test_pooling_homogeneous_trials_raises_no_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pool([0.5, 0.52], [0.1, 0.2])


def test_cumulative_remission_without_dropout_is_one_minus_the_product_and_dropout_lowers_it():
    rates = [0.368, 0.306, 0.137, 0.130]
    assert cumulative_remission(rates) == pytest.approx(1 - np.prod([1 - r for r in rates]))
    assert cumulative_remission(rates, continuing=0) == pytest.approx(0.368)
    assert cumulative_remission(rates, continuing=0.7) < cumulative_remission(rates)
    with pytest.raises(ValueError):
        cumulative_remission([36.8, 30.6])
