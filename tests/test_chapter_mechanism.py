"""Chapter 1 (mechanism): the statements the prose makes about the model and the data stay true,
and the page has the parts the chapter shape asks for."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from ketamine_course import load_table
from ketamine_course.checks import mechanism as checks
from ketamine_course.data import value_of
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

CHAPTER = "book/01_mechanism"


@pytest.fixture(scope="module")
def source(root):
    return (root / f"{CHAPTER}.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def constants(root):
    ks = constants_from_table(load_table("ketamine_receptor_affinities", root=root))
    return ks["(S)-ketamine"], ks["(R)-ketamine"]


@pytest.fixture(scope="module")
def typical_um(root):
    return ng_ml_to_um(value_of(load_table("ketamine_concentration_ranges", root=root), "low_ng_ml", use="antidepressant"))


@pytest.fixture(scope="module")
def profile(root, source):
    """The chapter's own helper (the imports cell), run as written."""
    helper = re.search(r"^def standard_infusion_profile\(.*?\n(?=\S)", source, re.S | re.M)
    assert helper, "the imports cell no longer defines standard_infusion_profile"
    namespace = {"reference_model": reference_model, "simulate": simulate, "Dose": Dose}
    exec(helper.group(0), namespace)  # noqa: S102 - the chapter's own code
    return namespace["standard_infusion_profile"]()


@pytest.fixture(scope="module")
def occ(profile, constants):
    return occupancy_profile(profile, *constants)


# ---- the checks use the same model as the chapter ------------------------------------------------


def test_the_self_checks_simulate_the_same_infusion_as_the_chapter(profile):
    pd.testing.assert_frame_equal(checks.standard_infusion_profile().reset_index(drop=True), profile.reset_index(drop=True))


def test_the_worked_solutions_agree_with_the_checks(constants, typical_um, occ):
    k_s, k_r = constants
    assert racemate_occupancy(0.5, k_s, k_r)["total"] == pytest.approx(checks._occupancy_core())
    assert {"S": occupancy(0.5, k_s), "R": occupancy(0.5, k_r)} == pytest.approx(checks._occupancy_extension())
    assert racemate_occupancy(typical_um, 10 * k_s, 10 * k_r)["total"] == pytest.approx(checks._affinity_core(), rel=1e-9)
    assert um_to_ng_ml(effective_constant(k_s, k_r)) == pytest.approx(checks._affinity_extension())
    assert hours_above(occ, "occupancy", 0.5) == pytest.approx(checks._clock_core())
    assert (168 - 40 / 60) / checks._clock_core() == pytest.approx(checks._clock_extension(), rel=0.01)


# ---- what the prose says about the model ---------------------------------------------------------


def test_qualitative_statements_about_the_occupancy_model_hold(constants, typical_um, occ, root):
    k_s, k_r = constants
    at_peak = racemate_occupancy(typical_um, k_s, k_r)
    # "about five times weaker"; "the S-form does most of the binding"
    assert round(k_r / k_s) == 5 and at_peak["S"] > 2 * at_peak["R"]
    # derived constant "closer to the S-form's"
    k_mix = effective_constant(k_s, k_r)
    assert abs(k_mix - k_s) < abs(k_mix - k_r)
    # "At 0.5 µM the racemate occupies about half of the sites"
    assert 0.45 < racemate_occupancy(0.5, k_s, k_r)["total"] < 0.55
    # "ten times weaker ... roughly a seventh of the sites"
    weaker = racemate_occupancy(typical_um, 10 * k_s, 10 * k_r)["total"]
    assert 1 / 8.5 < weaker < 1 / 6
    # "half occupancy needs about ... ng/mL of racemate, below the typical peak"
    assert um_to_ng_ml(k_mix) < um_to_ng_ml(typical_um)
    # Key points: anaesthetic concentrations "over 90%"
    ranges = load_table("ketamine_concentration_ranges", root=root)
    assert racemate_occupancy(value_of(ranges, "low_um", use="general anaesthesia"), k_s, k_r)["total"] > 0.9
    # "tens of times the typical plasma peak" (nicotinic IC50s)
    affinities = load_table("ketamine_receptor_affinities", root=root)
    for target in ("alpha7 nicotinic acetylcholine receptor", "alpha4beta2 nicotinic acetylcholine receptor"):
        assert 10 < value_of(affinities, "value_um", target=target) / typical_um < 100, target
    # the modelled peak is "above the review's typical value" (and the dotted line "higher")
    peak = occ.loc[occ["occupancy"].idxmax()]
    assert typical_um < peak["conc_um"]
    # peak occupancy "at the end of the infusion", and "above half for well under an hour"
    assert peak["time_h"] == pytest.approx(40 / 60, abs=1 / 60)
    assert hours_above(occ, "occupancy", 0.5) < 1
    # "the clinical window is hundreds of times longer"
    assert 100 < checks._clock_extension() < 1000


def test_quiz_statements_about_the_model_hold(constants, typical_um):
    k_s, k_r = constants
    now = racemate_occupancy(typical_um, k_s, k_r)["total"]
    doubled = racemate_occupancy(2 * typical_um, k_s, k_r)["total"]
    assert 0.5 < now < 0.7  # "somewhat more than half"
    assert 0.7 < doubled < 0.8 and doubled < 2 * now  # "roughly three quarters", "much less than double"


# ---- numbers typed in the prose come from the data tables ----------------------------------------


def test_study_sizes_and_results_typed_in_the_prose_match_the_evidence_table(root, source):
    evidence = load_table("ketamine_mechanism_evidence", root=root).set_index("study")
    prose = " ".join(source.split())
    typed = {
        "Abdallah 2018": ["in 21 participants", "by 13%"],
        "Abdallah 2020": ["20 depressed patients", "response was 41%", "against 13%"],
        "Farmer 2020": ["in 34 people"],
        "Williams 2018": ["7 of 12"],
        "Yoon 2025": ["In 65 adults"],
        "Sanacora 2017": ["302 patients", "15 infusions", "over 12 weeks"],
        "Shirayama 2018": ["R-ketamine at 20 mg/kg", "(2R,6R)-HNK (20 and 40 mg/kg)"],
    }
    for study, phrases in typed.items():
        row = evidence.loc[study]
        for phrase in phrases:
            assert phrase in prose, f"{study}: {phrase!r} is no longer in the chapter"
            for number in re.findall(r"\d+(?:\.\d+)?", phrase.replace("(2R,6R)", "")):
                stored = f"{row['n']:.0f} {row['intervention']} {row['finding']}" if pd.notna(row["n"]) else f"{row['intervention']} {row['finding']}"
                assert re.search(rf"(?<![\d.]){re.escape(number)}(?![\d.])", stored), f"{study}: {number} is not in the evidence table"


def test_timescale_numbers_typed_in_the_prose_match_the_table(root, source):
    timescales = load_table("mechanism_timescales", root=root).set_index("source")
    prose = " ".join(source.split())
    assert timescales.loc["ma2023sustained", "end_h"] == 24 and "for up to 24 hours" in prose
    assert timescales.loc["kishimoto2016single", "start_h"] == pytest.approx(40 / 60, abs=0.01) and "appeared from 40 minutes" in prose
    assert timescales.loc["kishimoto2016single", "end_h"] == 168 and "to day 7 (168 hours after dosing)" in prose
    assert "was gone by the assessment at days 10 to 12" in prose and "days 10 to 12" in timescales.loc["kishimoto2016single", "process"]
    assert "80%" in timescales.loc["meyer2004serotonin", "process"] and "about 80% of transporters" in prose
    assert "60%" in timescales.loc["posternak2005there", "process"] and "about 60% of the total improvement" in prose


def test_metabolite_ratios_shown_are_those_of_the_table(root):
    metabolites = load_table("ketamine_metabolite_exposure", root=root)
    assert set(metabolites["route"]) == {"intravenous", "oral"} and len(metabolites) == 4
    oral = metabolites[metabolites["route"] == "oral"]["value"]
    iv = metabolites[metabolites["route"] == "intravenous"]["value"]
    assert oral.min() > 5 * iv.max()  # the prose: "much of an oral dose is metabolised" first


# ---- the chapter's shape -------------------------------------------------------------------------


def test_chapter_cites_at_least_fifteen_sources_and_all_are_in_the_bibliography(root, source):
    keys = {k.strip() for group in re.findall(r"\{cite(?::[a-z]+)?\}`([^`]+)`", source) for k in group.split(",")}
    assert len(keys) >= 15, len(keys)
    bib = (root / "references.bib").read_text(encoding="utf-8")
    missing = [k for k in keys if not re.search(rf"^@\w+\{{{re.escape(k)},", bib, re.M)]
    assert not missing, missing


def test_five_objectives_each_practised_by_an_exercise_and_checked_by_the_quiz(root, source):
    box = re.search(r"```\{admonition\} Learning objectives\n(.*?)```", source, re.S).group(1)
    objectives = re.findall(r"^\d+\. \*\*(\w+)\*\*", box, re.M)
    assert len(objectives) == 5 and not {"Read", "Understand", "Know"} & set(objectives)
    quiz = json.loads((root / "book" / "quizzes" / "01_mechanism.json").read_text(encoding="utf-8"))
    assert {q["objective"] for q in quiz["questions"]} == {1, 2, 3, 4, 5}
    instructors = (root / "book" / "instructors.md").read_text(encoding="utf-8")
    assert "### {ref}`mechanism`" in instructors and "{numref}`ex-nmda-occupancy`" in instructors


def test_exercises_have_solutions_and_the_computational_ones_have_starters_and_checks(source):
    exercises = re.findall(r":label: (ex-[a-z-]+)", source)
    solutions = re.findall(r"\{solution-start\} (ex-[a-z-]+)", source)
    assert len(exercises) >= 5 and sorted(exercises) == sorted(solutions)
    computational = sorted(set(re.findall(r'^check\("(ex-[a-z-]+)", my_', source, re.M)))
    assert len(computational) >= 2, computational
    for label in computational:
        assert f'check("{label}", my_answer, part="core")' in source, label
    for label in exercises:
        block = source.split(f":label: {label}", 1)[1].split("```", 1)[0]
        if label in computational:
            assert "**Core.**" in block and "**Extension.**" in block, label


def test_every_figure_is_cross_referenced_and_has_caption_name_and_alt_text(source):
    names = re.findall(r"^\s+name: (fig-[a-z-]+)$", source, flags=re.M)
    assert len(names) >= 4
    for name in names:
        assert f"{{numref}}`{name}`" in source, f"{name} is never referred to in the text"
    assert source.count("mystnb:\n  image:\n    alt:") == len(names)
    assert source.count("  figure:\n    caption:") == len(names)


def test_every_glued_name_is_defined_and_every_defined_name_is_used(source):
    used = set(re.findall(r"\{glue:text\}`(\w+)(?::[^`]*)?`", source))
    defined = set(re.findall(r'^\s+"(\w+)":', source, re.M))
    assert used <= defined, used - defined
    assert defined <= used, defined - used
    assert not re.search(r"\{glue:text\}`[^`]*\}`", source), "a stray brace in a glue format"


# ---- the built page ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def page(book_build):
    html = (book_build.html / f"{CHAPTER}.html").read_text(encoding="utf-8")
    return BeautifulSoup(html, "html.parser")


@pytest.fixture(scope="module")
def text(page):
    return " ".join(page.get_text(" ").split())


@pytest.mark.build
def test_glued_model_numbers_appear_in_the_page(text, constants, typical_um, occ):
    k_s, k_r = constants
    typical_pct = 100 * racemate_occupancy(typical_um, k_s, k_r)["total"]
    assert f"about {typical_pct:.0f}%" in text.replace(" %", "%")
    peak = occ["occupancy"].max()
    assert f"at most about {100 * peak:.0f}%" in text.replace(" %", "%")
    assert f"{60 * hours_above(occ, 'occupancy', 0.5):.0f} minutes" in text


@pytest.mark.build
def test_figures_exercises_quiz_and_references_are_in_the_page(page, source):
    for name in re.findall(r"^\s+name: (fig-[a-z-]+)$", source, flags=re.M):
        assert page.find(id=name) is not None, f"{name} is not in the page"
    for label in re.findall(r":label: (ex-[a-z-]+)", source):
        assert page.find(id=label) is not None, f"{label} is not in the page"
    assert page.find(id="kcquiz_01_mechanism") is not None
    assert page.find(id="references") is not None


@pytest.mark.build
def test_rendered_length_is_within_the_limit(page):
    """At most about 6,500 rendered words including captions, counting neither code, the
    reference list nor the quiz (whose text is the JSON's)."""
    article = BeautifulSoup(str(page.find("article")), "html.parser")
    for hidden in article.select("div.cell_input, div.highlight, script, style, #references, #check-your-understanding"):
        hidden.decompose()
    words = len(article.get_text(" ").split())
    assert words <= 6600, words


def test_the_typical_peak_typed_in_code_cells_is_the_table_value(root, source):
    typical = value_of(load_table("ketamine_concentration_ranges", root=root), "low_ng_ml", use="antidepressant")
    typed = {float(x) for x in re.findall(r"ng_ml_to_um\((\d+(?:\.\d+)?)\)", source)}
    assert typed == {typical}, typed
    assert f"typical peak of {typical:.0f} ng/mL" in " ".join(source.split())


def test_the_pooled_antidepressant_row_is_not_labelled_ssri(root, source):
    """Posternak and Zimmerman pooled 47 trials of "antidepressant medications with established efficacy", not of SSRIs only."""
    timescales = load_table("mechanism_timescales", root=root).set_index("source")
    assert timescales.loc["posternak2005there", "drug"] != "SSRI"
    assert "antidepressants of any class" in " ".join(source.split())
    assert "SSRIs and\\nother ADs" in source  # the figure's group label
