"""Chapter 3 (treatment resistance): the numbers in the page against the data and the evidence code."""

from __future__ import annotations

import json
import math
import re

import pytest
from bs4 import BeautifulSoup

from ketamine_course import load_table
from ketamine_course.data import value_of
from ketamine_course.evidence import cumulative_remission, msm_score, nnt_whole, pool, pool_by, trial_effects

CHAPTER = "book/03_treatment_resistance"
STEM = "03_treatment_resistance"


@pytest.fixture(scope="module")
def source(root):
    return (root / f"{CHAPTER}.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page(book_build):
    html = (book_build.html / f"{CHAPTER}.html").read_text(encoding="utf-8")
    return BeautifulSoup(html, "html.parser")


@pytest.fixture(scope="module")
def text(page):
    return " ".join(page.get_text(" ").split())


@pytest.fixture(scope="module")
def pooled(root):
    return pool_by(trial_effects(load_table("ketamine_24h_trials", root=root)), "control_type")


# ---- the evidence behind the prose, without a build ---------------------------------------------


def test_the_worked_staging_example_follows_the_published_rules(root):
    """Ms A: three failures, augmentation, 18 months, moderate -> 2 + 1 + 2 + 3 = 8 (moderate)."""
    score = msm_score(load_table("trd_staging", root=root), 3, 18, "moderate", augmentation=True)
    assert (score.total, score.band) == (8, "moderate")


def test_the_inert_placebo_pool_is_heterogeneous_and_the_active_placebo_estimate_lower(pooled):
    """The prose says the inert-placebo trials disagree and the midazolam trial sits lower."""
    assert pooled["inert placebo"].i2 > 0.5
    assert pooled["active placebo"].ratio()[0] < pooled["all trials"].ratio()[0] < pooled["inert placebo"].ratio()[0]
    assert pooled["inert placebo"].ratio()[1] > 1  # its interval excludes 1, barely


def test_the_published_cochrane_estimate_is_close_to_the_midazolam_trial(root, pooled):
    checks = load_table("meta_analysis_checks", root=root)
    dean = value_of(checks, "value", study="Dean 2021 (Cochrane)",
                    arm_or_quantity="pooled odds ratio for response at 24 hours against midazolam")
    assert abs(math.log(dean) - math.log(pooled["active placebo"].ratio()[0])) < 0.25


def test_only_one_short_term_phase_3_trial_met_its_endpoint(root):
    esk = load_table("esketamine_trials", root=root)
    trials = load_table("trial_results", root=root)
    t1 = esk[esk["trial"] == "TRANSFORM-1"]
    assert set(t1["primary_result"]) == {"missed", "not formally tested"}
    for name in ("TRANSFORM-2", "TRANSFORM-3"):
        row = trials[(trials["trial"] == name) & trials["outcome"].str.startswith("difference in MADRS")]
        assert len(row) == 1, name
    t2 = trials[(trials["trial"] == "TRANSFORM-2") & trials["outcome"].str.startswith("difference in MADRS")].iloc[0]
    t3 = trials[(trials["trial"] == "TRANSFORM-3") & trials["outcome"].str.startswith("difference in MADRS")].iloc[0]
    assert t2.ci_high < 0 < t3.ci_high  # the chapter: TRANSFORM-2 met it, TRANSFORM-3 missed it
    assert all(row.ci_high > 0 for row in t1.itertuples() if row.primary_result == "missed")


def test_the_ketect_difference_is_stored_with_its_sign_reversed_as_the_locator_says(root):
    ect = load_table("ketamine_vs_ect", root=root)
    row = ect[(ect["trial"] == "KetECT") & (ect["arm"] == "difference")].iloc[0]
    assert row.ci_low < row.ci_high < 0 and "reversed" in row.locator
    ket = value_of(ect, "value", trial="KetECT", quantity="primary outcome: remission (MADRS 10 or less)", arm="ketamine")
    ect_arm = value_of(ect, "value", trial="KetECT", quantity="primary outcome: remission (MADRS 10 or less)", arm="ECT")
    assert row.ci_low <= ket - ect_arm <= row.ci_high


def test_the_quiz_checks_every_objective_and_has_feedback_everywhere(root, source):
    quiz = json.loads((root / "book" / "quizzes" / f"{STEM}.json").read_text(encoding="utf-8"))
    objectives = re.search(r"```\{admonition\} Learning objectives\n(.*?)```", source, re.S).group(1)
    count = len(re.findall(r"^\d+\. ", objectives, re.M))
    assert count == 5
    assert {q["objective"] for q in quiz["questions"]} == set(range(1, count + 1))
    for question in quiz["questions"]:
        assert all(a["feedback"].strip() for a in question["answers"]), question["id"]


def test_every_objective_is_practised_by_an_exercise(source):
    """The alignment table in book/instructors.md: objective -> exercises (kept true here)."""
    exercises = set(re.findall(r":label: (ex-[a-z-]+)", source))
    alignment = {1: {"ex-stage-patient"}, 2: {"ex-cumulative-remission"}, 3: {"ex-nnt", "ex-active-placebo"},
                 4: {"ex-appraise-transform", "ex-active-placebo"}, 5: {"ex-elektd-ketect"}}
    for objective, labels in alignment.items():
        assert labels <= exercises, objective


def test_chapter_cites_at_least_fifteen_sources(source):
    keys = {k.strip() for group in re.findall(r"\{cite(?::[a-z]+)?\}`([^`]+)`", source) for k in group.split(",")}
    assert len(keys) >= 15, len(keys)


def test_every_exercise_has_a_solution_and_there_are_enough(source):
    exercises = re.findall(r":label: (ex-[a-z-]+)", source)
    solutions = re.findall(r"\{solution-start\} (ex-[a-z-]+)", source)
    assert len(exercises) >= 5 and sorted(exercises) == sorted(solutions)
    computational = {label for label in exercises if f'check("{label}"' in source}
    assert len(computational) >= 2


# ---- the built page --------------------------------------------------------------------------------


@pytest.mark.build
def test_every_figure_is_cross_referenced_from_the_text(source, page):
    names = re.findall(r"^\s+name: (fig-[a-z-]+)$", source, flags=re.M)
    assert len(names) >= 4
    for name in names:
        assert f"{{numref}}`{name}`" in source, f"{name} is never referred to in the text"
        assert page.find(id=name) is not None, f"{name} is not in the page"


@pytest.mark.build
def test_star_d_numbers_in_the_prose_come_from_the_data(root, text):
    star = load_table("stard_outcomes", root=root)
    levels = star[star["quantity"] == "remission at the end of the level"].sort_values("level")
    for value in levels["value"]:
        assert f"{value:.1f} %" in text or f"{value:.1f}%" in text, value
    theoretical = 100 * cumulative_remission(levels["value"] / 100)
    assert f"reported figure ( {theoretical:.1f} %)" in text or f"reported figure ({theoretical:.1f}%)" in text
    reanalysis = value_of(star, "value", quantity="cumulative remission over up to four levels (reanalysis)")
    assert f"was {reanalysis:.0f} %" in text or f"was {reanalysis:.0f}%" in text


@pytest.mark.build
def test_pooled_estimates_in_the_prose_match_the_computation(text, pooled):
    inert = pooled["inert placebo"].ratio()
    assert f"pooled odds ratio is {inert[0]:.1f} (95% CI {inert[1]:.2f} to {inert[2]:.0f} )" in text
    overall = pooled["all trials"].ratio()
    assert f"gives {overall[0]:.1f} ( {overall[1]:.1f} to {overall[2]:.1f} )" in text


@pytest.mark.build
def test_the_meta_analysis_check_quotes_the_published_values(root, text):
    checks = load_table("meta_analysis_checks", root=root).set_index(["study", "arm_or_quantity"])["value"]
    for method in ("DerSimonian-Laird", "Paule-Mandel"):
        assert f"{checks[(method, 'pooled log odds ratio')]:.4f}" in text, method
        assert f"SE {checks[(method, 'standard error of the pooled log odds ratio')]:.4f}" in text, method


@pytest.mark.build
def test_nnts_in_the_prose_are_computed(root, text):
    rates = load_table("esketamine_response_rates", root=root)
    citrome = rates[(rates["trial"] == "TRANSFORM-2") & (rates["source"] == "citrome2020appraising")]
    p = {o: (value_of(citrome, "value", arm="esketamine", outcome=o) / 100,
             value_of(citrome, "value", arm="placebo", outcome=o) / 100) for o in ("response", "dissociation")}
    assert f"The calculation gives {nnt_whole(*p['response'])} , the published value" in text
    assert f"number needed to harm of {nnt_whole(*p['dissociation'])} ," in text


@pytest.mark.build
def test_ect_trial_numbers_in_the_prose_come_from_the_data(root, text):
    ect = load_table("ketamine_vs_ect", root=root)
    q = "primary outcome: response (QIDS-SR16 fall of 50% or more) after 3 weeks"
    assert f"{value_of(ect, 'value', trial='ELEKT-D', quantity=q, arm='ketamine'):.1f} % against" in text
    for arm in ("ketamine", "ECT"):
        value = value_of(ect, "value", trial="ELEKT-D", quantity="remission", arm=arm)
        assert f"{value:.0f} %" in text, arm


@pytest.mark.build
def test_the_quiz_is_rendered(page):
    assert page.find(string=re.compile("objective 5")) is not None


# ---- found in the independent fact-check (verification/treatment_resistance_factcheck.md) --------


def test_sustain_1_rates_belong_to_the_stable_remitters_not_to_all_randomised(root):
    """Daly 2019: 297 randomised, of whom 176 were stable remitters; 26.7% vs 45.3% and HR 0.49 are theirs."""
    trials = load_table("trial_results", root=root)
    s1 = trials[trials["trial"] == "SUSTAIN-1"].set_index("outcome")
    remitters = s1.loc["participants in stable remission at randomisation"]
    assert remitters.estimate == 176 and remitters.n_randomised == 297
    assert (s1["n_randomised"] == 297).all()


def test_transform_2_randomised_227_not_the_analysis_set(root):
    """Popova 2019 abstract: 227 randomised, 197 completed; Katz 2021's 114 + 109 = 223 is the analysis set."""
    trials = load_table("trial_results", root=root)
    t2 = trials[trials["trial"] == "TRANSFORM-2"].set_index("outcome")
    assert set(t2["n_randomised"]) == {227}
    assert t2.loc["participants who completed the 28-day double-blind phase", "estimate"] == 197
    katz = load_table("esketamine_response_rates", root=root)
    fas = katz[(katz["trial"] == "TRANSFORM-2") & (katz["source"] == "katz2021benefit") & (katz["outcome"] == "response")]
    assert fas["n_arm"].sum() == 223 < 227


def test_the_esketamine_figure_plots_published_model_differences(root, source):
    """Daly 2018 rows are period 1 only (said so); the Japanese rows are Table 3's LS-mean differences with SEs."""
    esk = load_table("esketamine_trials", root=root)
    daly = esk[esk["trial"] == "Daly 2018"]
    assert daly["endpoint"].str.contains("period 1 only").all()
    japan = esk[(esk["trial"] == "Japanese phase 2b") & esk["comparison"].str.endswith("minus placebo")]
    assert len(japan) == 3 and japan["se"].notna().all()
    assert "no CI published" not in source and "period 1" in source


def test_meaningful_difference_thresholds_come_from_their_sources(root, source):
    table = load_table("madrs_meaningful_difference", root=root)
    assert set(table["source"]) == {"duru2008clinical", "hengartner2021estimates"}
    assert (table["low_points"] <= table["high_points"]).all()
    assert "gastaldon2020esketamine`. Critics" not in source  # the thresholds are no longer cited to the commentary
    assert "axvspan(-9, -7" not in source and "axvline(-2," not in source  # drawn from the table, not typed


@pytest.mark.build
def test_the_page_states_that_the_meta_analysis_check_is_not_a_ketamine_one(text):
    assert "non-ketamine example" in text
    assert "no ketamine meta-analysis with readable per-trial inputs was found" in text


@pytest.mark.build
def test_the_sustain_1_and_threshold_sentences_in_the_page(root, text):
    table = load_table("madrs_meaningful_difference", root=root).set_index("quantity")
    mcid = table.loc["minimal clinically important difference on the MADRS"]
    assert f"{mcid.low_points:.1f} to {mcid.high_points:.1f} points" in text
    assert "Of 297 people randomised" in text and "176 were in stable remission" in text


@pytest.mark.build
def test_no_cell_error_or_placeholder_reaches_the_page(page):
    """An exception inside a display's rich representation (as in show_quiz when jupyterquiz is missing)
    does not fail the strict build: IPython catches it and the page shows a traceback and a repr."""
    text = page.get_text(" ")
    assert "Traceback (most recent call last)" not in text
    assert "QuizDisplay at 0x" not in text and " object at 0x" not in text
    assert page.find("section", class_="kc-quiz") is not None


@pytest.mark.build
def test_rendered_length_is_within_the_limit(page):
    """At most about 6,500 rendered words including captions (house limit), counting neither code,
    the reference list nor the quiz."""
    article = BeautifulSoup(str(page.find("article")), "html.parser")
    for hidden in article.select("div.cell_input, div.highlight, script, style, #references, #check-your-understanding"):
        hidden.decompose()
    words = len(article.get_text(" ").split())
    assert words <= 6550, words
