"""The student edition keeps every exercise, loses every solution, and still runs."""

from __future__ import annotations

import re

import jupytext
import pytest

from ketamine_course.editions import make_student_edition, strip_solutions

BLOCK = "```{solution-start} ex-a\n:class: dropdown\n```\nsecret answer\n\n```{solution-end}\n```\n"


def test_a_solution_block_is_removed_and_the_rest_kept():
    text = "before\n" + BLOCK + "after\n"
    assert strip_solutions(text) == "before\nafter\n"


def test_unbalanced_markers_are_an_error():
    with pytest.raises(ValueError, match="1 solution-start but 0 solution-end"):
        strip_solutions("```{solution-start} ex-a\n```\nanswer\n")


def test_student_edition_of_every_chapter(root, tmp_path):
    out = tmp_path / "student"
    changed = make_student_edition(root, out)
    assert changed, "no chapter has solutions to remove"
    for page in changed:
        original = (root / "book" / page.name).read_text(encoding="utf-8")
        student = page.read_text(encoding="utf-8")
        assert "{solution-start}" not in student and "{solution-end}" not in student
        assert re.findall(r"```\{exercise\}", student) == re.findall(r"```\{exercise\}", original)
        assert "student edition" in student
        # still a valid notebook, with only the solution cells gone
        nb_original, nb_student = jupytext.reads(original, fmt="md:myst"), jupytext.reads(student, fmt="md:myst")
        n_code = lambda nb: sum(c.cell_type == "code" for c in nb.cells)  # noqa: E731
        n_solution_code = sum(block.count("```{code-cell}") for block in re.findall(r"\{solution-start\}.*?\{solution-end\}", original, re.S))
        assert n_code(nb_student) == n_code(nb_original) - n_solution_code
