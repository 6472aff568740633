"""Self-checks: the mechanism (tolerances, verdicts that never reveal the expected value, clear errors)
and every check the chapters register (accepts its worked solution, rejects wrong answers, is
wired to a real exercise)."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

import ketamine_course.checks as checks
from book_pages import pages, source_file
from ketamine_course.checks import Result, UnknownCheckError, check, evaluate, register, registered


@pytest.fixture()
def scratch(monkeypatch):
    """An empty registry for the mechanism tests (the chapters' checks are restored afterwards)."""
    checks.load_all()
    monkeypatch.setattr(checks, "_REGISTRY", {})
    return checks._REGISTRY


def revealing(message: str, expected: float) -> list[str]:
    """Renderings of ``expected`` that appear in ``message``."""
    forms = {f"{expected:.0f}", f"{expected:.1f}", f"{expected:.2f}", f"{expected:.3g}", f"{expected:g}", repr(expected)}
    return [form for form in forms if len(form.strip("-0.")) >= 2 and form in message]


# ---- Result ---------------------------------------------------------------------------------------


def test_close_accepts_within_the_tolerance_and_rejects_outside():
    assert Result.close(101.9, 100, rel=0.02)
    assert not Result.close(102.1, 100, rel=0.02)
    assert Result.close(0.04, 0.0, abs=0.05) and not Result.close(0.06, 0.0, abs=0.05)
    assert Result.close(np.float64(100.5), 100) and Result.close(np.array([100.5]), 100)
    for bad in ("100", None, float("nan"), [100, 101], True):
        result = Result.close(bad, 100)
        assert not result and "single finite number" in result.message


def test_messages_never_contain_the_expected_value():
    expected = 237.456
    for answer in (237.4, 300.0, 12.0, "text"):
        result = Result.close(answer, expected, rel=0.01, hint="Peak concentration, in ng/mL.")
        assert not revealing(str(result), expected), str(result)
    result = Result.all_close({"a": 1.0, "b": 2.0}, {"a": 13.75, "b": 27.5})
    assert not revealing(str(result), 13.75) and not revealing(str(result), 27.5)
    assert "not yet: a, b" in str(result)


def test_all_close_compares_mappings_series_and_sequences():
    expected = {"oral": 7.0, "iv": 35.0}
    assert Result.all_close({"oral": 7.01, "iv": 35.1}, expected, rel=0.01)
    assert Result.all_close(pd.Series(expected) * 1.001, expected, rel=0.01)
    partly = Result.all_close({"oral": 7.0, "iv": 50.0}, expected)
    assert not partly and "1 of 2" in partly.message and "iv" in partly.message
    assert "Missing: iv" in Result.all_close({"oral": 7.0}, expected).message
    assert Result.all_close([1.0, 2.0], np.array([1.0, 2.0]))
    assert "item 2" in Result.all_close([1.0, 3.0], [1.0, 2.0]).message
    assert not Result.all_close("7, 35", expected)


def test_equal_and_choice():
    assert Result.equal(" Midazolam ", "midazolam") and not Result.equal("saline", "midazolam")
    assert Result.equal(3, 3) and not Result.equal("3", 3) and not Result.equal(np.array([1, 2]), 3)
    assert Result.choice("Higher", "higher", ["higher", "lower", "unchanged"])
    assert not Result.choice("lower", "higher", ["higher", "lower", "unchanged"])
    assert "one of: higher, lower, unchanged" in Result.choice(1.2, "higher", ["higher", "lower", "unchanged"]).message


def test_expected_values_must_be_numbers():
    with pytest.raises(TypeError, match="finite number"):
        Result.close(1.0, float("nan"))


# ---- register / check -----------------------------------------------------------------------------


def test_check_prints_the_verdict_without_the_answer(scratch, capsys):
    @register("ex-probe", part="core")
    def _(answer):
        return Result.close(answer, 42.195, rel=0.01, hint="In kilometres.")

    check("ex-probe", 42.2)
    out = capsys.readouterr().out
    assert out.startswith("✔ Correct: ex-probe (core).") and "42.195" not in out
    check("ex-probe", 40)
    out = capsys.readouterr().out
    assert out.startswith("✘ Not yet: ex-probe (core).") and "In kilometres." in out and not revealing(out, 42.195)
    check("ex-probe", None)
    assert "no answer yet" in capsys.readouterr().out


def test_unknown_labels_and_parts_are_clear_errors(scratch):
    @register("ex-dose-duration", part="core")
    def _core(answer):
        return Result.right()

    @register("ex-dose-duration", part="extension")
    def _extension(answer):
        return Result.right()

    with pytest.raises(UnknownCheckError, match=r"no check for exercise 'ex-dose-duraton'\. Did you mean 'ex-dose-duration'\?"):
        evaluate("ex-dose-duraton", 1)
    assert evaluate("ex-dose-duration", 1).part == "core", "without a part, the core check answers"
    assert evaluate("ex-dose-duration", 1, part="extension")

    @register("ex-two-extensions", part="extension")
    def _only_extension(answer):
        return Result.right()

    assert evaluate("ex-two-extensions", 1).part == "extension"
    with pytest.raises(ValueError, match="part must be one of"):
        register("ex-x", part="bonus")


def test_a_check_must_return_a_result_and_cannot_be_registered_twice(scratch):
    @register("ex-bad", part="core")
    def _(answer):
        return True

    with pytest.raises(TypeError, match="returned bool, not a Result"):
        evaluate("ex-bad", 1)

    def elsewhere(answer):
        return Result.right()

    elsewhere.__module__ = "another.module"
    with pytest.raises(ValueError, match="registered twice"):
        register("ex-bad", part="core")(elsewhere)


# ---- every check the chapters register ------------------------------------------------------------

CHECKS = registered()


def wrong_answers(solution):
    """Answers that must be rejected, derived from the worked solution: off by 50% (one value at a time for collections), and the wrong type."""
    if isinstance(solution, bool) or isinstance(solution, str):
        return []
    if isinstance(solution, (int, float, np.number)):
        value = float(solution)
        return [value * 1.5 if value else 1.0, value * 0.5 if value else -1.0, "not a number"]
    if isinstance(solution, pd.DataFrame):
        frame = solution.copy()
        column = frame.select_dtypes("number").columns[0]
        frame.iloc[0, frame.columns.get_loc(column)] = frame[column].iloc[0] * 1.5 or 1.0
        return [frame]
    if isinstance(solution, (dict, pd.Series)):
        out = []
        for key in list(solution.keys()):
            changed = solution.copy()
            value = changed[key]
            if isinstance(value, numbers_types()):
                changed[key] = value * 1.5 if value else 1.0
                out.append(changed)
        return out
    if isinstance(solution, (list, tuple, np.ndarray)):
        changed = list(solution)
        changed[0] = changed[0] * 1.5 if changed[0] else 1.0
        return [changed]
    return []


def numbers_types():
    return (int, float, np.number)


@pytest.mark.parametrize("registered_check", CHECKS, ids=[f"{c.label}-{c.part}" for c in CHECKS])
def test_every_check_accepts_its_worked_solution_and_rejects_wrong_answers(registered_check):
    c = registered_check
    assert c.solution is not None, (
        f"{c.module}: the check {c.label!r} ({c.part}) has no worked solution; register it with "
        f"@register({c.label!r}, part={c.part!r}, solution=<function returning the worked solution's answer>)"
    )
    solution = c.solution()
    accepted = evaluate(c.label, solution, part=c.part)
    assert accepted, f"{c.label} ({c.part}) rejects its own worked solution: {accepted}"
    wrongs = list(c.wrong) + wrong_answers(solution)
    assert wrongs, f"{c.label} ({c.part}): give wrong answers to test with (register(..., wrong=[...]))"
    for wrong in wrongs:
        verdict = evaluate(c.label, wrong, part=c.part)
        assert not verdict, f"{c.label} ({c.part}) accepts a wrong answer {wrong!r}"
        expected = verdict.expected if verdict.expected is not None else accepted.expected
        if isinstance(expected, float) and math.isfinite(expected):
            assert not revealing(str(verdict), expected), f"{c.label} ({c.part}) reveals the expected value: {verdict}"
    assert "no answer yet" in str(evaluate(c.label, None, part=c.part))


def chapter_texts() -> dict[str, str]:
    return {page: source_file(page).read_text(encoding="utf-8") for page in pages() if source_file(page).suffix == ".md"}


def test_checks_are_wired_to_real_exercises():
    """Every registered check belongs to an exercise in the book, and every check() call in a chapter names a registered check."""
    texts = chapter_texts()
    labels = {label for text in texts.values() for label in re.findall(r"^:label:\s*(\S+)", text, re.M)}
    for c in CHECKS:
        assert c.label in labels, f"{c.module}: {c.label!r} is not the label of any exercise in the book"
    known = {(c.label, c.part) for c in CHECKS}
    for page, text in texts.items():
        for label, part in re.findall(r"""\bcheck\(\s*["']([\w-]+)["'][^)\n]*?(?:part\s*=\s*["'](\w+)["'])?[^)\n]*\)""", text):
            if part:
                assert (label, part) in known, f"{page}: check({label!r}, part={part!r}) has no registered check"
            else:
                assert any(name == label for name, _ in known), f"{page}: check({label!r}) has no registered check"
