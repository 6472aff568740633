"""The module guide's structure (book/coursework/module.yml) agrees with the chapters, and the coursework pages are in place."""

from __future__ import annotations

import re

from conftest import ROOT
from ketamine_course.coursework import as_html, chapter_objectives, module, outcomes_table, schedule_table


def test_every_mapped_objective_exists_and_every_objective_of_a_published_chapter_serves_an_outcome():
    spec = module(ROOT)
    ids = {o["id"] for o in spec["outcomes"]}
    for unit in spec["units"]:
        assert set(unit.get("objectives", {})) <= ids, unit["chapter"]
        objectives = chapter_objectives(unit["file"], ROOT)
        if objectives is None:
            continue  # planned chapter: checked once it is published
        mapped = {n for numbers in unit["objectives"].values() for n in numbers}
        assert mapped <= set(range(1, len(objectives) + 1)), f"{unit['file']}: module.yml names objectives {sorted(mapped)}, the chapter has {len(objectives)}"
        assert mapped == set(range(1, len(objectives) + 1)), f"{unit['file']}: objectives serving no module outcome: {sorted(set(range(1, len(objectives) + 1)) - mapped)}"
    assert set(spec["capstone"]["outcomes"]) <= ids


def test_every_outcome_is_served():
    spec = module(ROOT)
    served = {o for u in spec["units"] for o in u.get("objectives", {})} | set(spec["capstone"]["outcomes"])
    assert served == {o["id"] for o in spec["outcomes"]}


def test_tables_render_with_headers():
    for table in (outcomes_table(ROOT), schedule_table(ROOT)):
        html = as_html(table)
        assert html.count("<th") >= 3 and "<td>" in html and "|" not in re.sub(r"<[^>]+>", "", html).replace("\\|", "")


def test_every_published_chapter_has_an_assignment_and_a_capstone_extension():
    assignments = (ROOT / "book" / "assignments.md").read_text(encoding="utf-8")
    capstone = (ROOT / "book" / "capstone.md").read_text(encoding="utf-8")
    for unit in module(ROOT)["units"]:
        if chapter_objectives(unit["file"], ROOT) is None:
            continue
        number = unit["chapter"].split(".")[0]
        assert re.search(rf"^## Assignment {number}\.A ", assignments, re.M), f"no assignment for chapter {number}"
        assert "Computational" in assignments.split(f"## Assignment {number}.A")[1].split("## ")[0], f"assignment {number}.A is not computational"
        assert f"**Chapter {number} —" in capstone and f"**Chapter {number} —" in capstone.split("## Rubric")[0]
        extension = capstone.split(f"**Chapter {number} —")[1].split("**Chapter")[0]
        assert "(reserved" not in extension, f"chapter {number} is published: write its capstone extension"


def alignment_tables() -> dict[str, list[tuple[int, str, str]]]:
    """book/instructors.md: chapter label -> rows (objective number, exercises cell, quiz cell)."""
    text = (ROOT / "book" / "instructors.md").read_text(encoding="utf-8")
    parts = re.split(r"^### \{ref\}`([^`]+)`\s*$", text, flags=re.M)
    tables = {}
    for label, body in zip(parts[1::2], parts[2::2]):
        body = body.split("\n## ", 1)[0]
        rows = re.findall(r"^\| (\d+)\. [^|]*\|[^|]*\| ([^|]*) \| ([^|]*) \|\s*$", body, flags=re.M)
        tables[label] = [(int(n), exercises, quiz) for n, exercises, quiz in rows]
    return tables


def test_every_published_chapter_has_an_alignment_table_on_the_instructors_page_that_matches_it():
    """Objective -> exercises -> quiz items, as instructors read it, checked against the chapter and its quiz.

    Every objective has a row; every row names at least one exercise of that chapter by its
    numbered reference (so the page shows "Exercise 2.3", never a bare number that goes stale)
    and at least one quiz item that exists and is tagged with that objective; and every quiz
    item tagged with an objective is listed in its row.
    """
    import json

    tables = alignment_tables()
    for unit in module(ROOT)["units"]:
        objectives = chapter_objectives(unit["file"], ROOT)
        if objectives is None:
            continue
        source = (ROOT / "book" / f"{unit['file']}.md").read_text(encoding="utf-8")
        label = re.search(r"^\(([a-z0-9-]+)\)=\s*$", source, re.M).group(1)
        assert label in tables, f"book/instructors.md has no alignment table for {unit['file']} (### {{ref}}`{label}`)"
        rows = tables[label]
        assert [n for n, _, _ in rows] == list(range(1, len(objectives) + 1)), f"{label}: rows {[n for n, _, _ in rows]} for {len(objectives)} objectives"
        exercises = set(re.findall(r":label: (ex-[a-z0-9-]+)", source))
        quiz = {q["id"]: q["objective"] for q in json.loads((ROOT / "book" / "quizzes" / f"{unit['file']}.json").read_text(encoding="utf-8"))["questions"]}
        for number, exercise_cell, quiz_cell in rows:
            named = re.findall(r"\{numref\}`(ex-[a-z0-9-]+)`", exercise_cell)
            assert named, f"{label} objective {number}: no exercise named with {{numref}} in {exercise_cell!r}"
            assert set(named) <= exercises, f"{label} objective {number}: {sorted(set(named) - exercises)} are not exercises of {unit['file']}"
            assert not re.search(r"(^|, )\d+ \(", exercise_cell), f"{label} objective {number}: a bare exercise number in {exercise_cell!r}"
            items = re.findall(r"\bq\d+\b", quiz_cell)
            assert items, f"{label} objective {number}: no quiz item"
            for item in items:
                assert quiz.get(item) == number, f"{label}: {item} is listed under objective {number}, the quiz tags it {quiz.get(item)}"
            assert set(items) == {q for q, o in quiz.items() if o == number}, f"{label} objective {number}: quiz items tagged with it {sorted(q for q, o in quiz.items() if o == number)}, listed {items}"
