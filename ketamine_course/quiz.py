"""Self-check quizzes: questions in ``book/quizzes/<chapter>.json``, shown by one call.

A chapter shows its quiz with one cell (tagged ``remove-input``)::

    from ketamine_course.quiz import show_quiz
    show_quiz("02_rapid_onset")

The questions are validated first (schema, exactly the declared correct answers, feedback on
every option, objective numbers that exist in the chapter); a problem raises ``QuizError``
naming the file and the question. The quiz is drawn by the question classes, click handling and
styles of the ``jupyterquiz`` package (pinned in requirements.txt), as one output holding HTML and
a ``<script>``. Stored at build time, it works on the static site with no server; run in
JupyterLab or Binder, the same output works there (JupyterLab runs scripts in trusted output,
and output of a cell the reader ran is trusted).

What this module changes about jupyterquiz, and why (see also the README):

* **Deterministic output.** ``jupyterquiz.display_quiz`` gives each quiz a random ``div`` id, so
  two builds of the same source differ. Here the id comes from the chapter name.
* **No network requests, no errors without MathJax.** jupyterquiz's top-level ``show_questions`` loads MathJax from a CDN
  when a page has a MathJax object without a ``typeset`` method, and throws when MathJax is only
  a configuration object. It is replaced by a short function (``SHOW_JS`` below) that builds the
  same questions and typesets only with a MathJax that is already loaded; its click handler is
  guarded the same way (``MATHJAX_GUARDS``). Only
  ``helpers.js`` and ``multiple_choice.js`` are used (the two question types the book uses).
* **Accessibility and dark mode.** Answers are a labelled radio group reachable by keyboard with
  a visible focus ring, feedback is announced (``aria-live``) and starts with "Correct." or
  "Not quite." (colour is never the only cue), all colours meet WCAG AA contrast and are fixed,
  so the quiz looks the same in the light and dark themes (like the figures' white cards).
* **Markdown.** Question, answer and feedback text may use simple Markdown (emphasis, code,
  links), rendered here with markdown-it; raw HTML in the data is escaped.
* **A fallback without JavaScript.** Where scripts do not run (an untrusted notebook, a PDF),
  the questions and options are shown as a plain list, without revealing the answers.
"""

from __future__ import annotations

import html
import importlib.resources
import json
import re
from dataclasses import dataclass
from pathlib import Path

from .paths import repo_root

QUESTION_TYPES = ("multiple_choice", "many_choice")
MYST_ROLE = re.compile(r"\{[a-zA-Z][\w:-]*\}`")

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["chapter", "questions"],
    "additionalProperties": False,
    "properties": {
        "chapter": {"type": "string", "minLength": 1},
        "questions": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "objective", "type", "question", "answers"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "pattern": r"^[A-Za-z][\w-]*$"},
                    "objective": {"type": "integer", "minimum": 1},
                    "type": {"enum": list(QUESTION_TYPES)},
                    "question": {"type": "string", "minLength": 1},
                    "answer_count": {"type": "integer", "minimum": 2},
                    "answers": {
                        "type": "array",
                        "minItems": 2,
                        "items": {
                            "type": "object",
                            "required": ["answer", "correct", "feedback"],
                            "additionalProperties": False,
                            "properties": {
                                "answer": {"type": "string", "minLength": 1},
                                "correct": {"type": "boolean"},
                                "feedback": {"type": "string", "minLength": 1},
                            },
                        },
                    },
                },
            },
        },
    },
}


class QuizError(ValueError):
    """A quiz file that does not follow the format in CONVENTIONS/README; the message names file and question."""


@dataclass(frozen=True)
class Quiz:
    chapter: str
    source: str  # file name for messages (never an absolute path: it could reach a page)
    questions: tuple[dict, ...]


def quiz_dir(root: Path | None = None) -> Path:
    return (root or repo_root()) / "book" / "quizzes"


def objective_count(chapter_file: Path) -> int | None:
    """Number of numbered items in the chapter's "Learning objectives" box (None if there is no box)."""
    if not chapter_file.is_file():
        return None
    text = chapter_file.read_text(encoding="utf-8")
    match = re.search(r"^(`{3,}|:{3,})\{admonition\} Learning objectives\n(.*?)^\1\s*$", text, re.S | re.M)
    if match is None:
        return None
    return len(re.findall(r"^\s*\d+\.\s", match.group(2), re.M))


def _where(data: dict, path) -> str:
    """'question q3, answer 2' for a jsonschema error path, as precisely as the data allows."""
    path = list(path)
    if len(path) >= 2 and path[0] == "questions" and isinstance(path[1], int):
        questions = data.get("questions") or []
        question = questions[path[1]] if path[1] < len(questions) else {}
        name = question.get("id") if isinstance(question, dict) and isinstance(question.get("id"), str) else None
        where = f"question {name!r}" if name else f"question number {path[1] + 1}"
        if len(path) >= 4 and path[2] == "answers" and isinstance(path[3], int):
            where += f", answer {path[3] + 1}"
        return where
    return "top level"


def validate(data, source: str, chapter: str | None = None, objectives: int | None = None) -> Quiz:
    """Check a quiz's data; raise ``QuizError`` listing every problem with file and question."""
    from jsonschema import Draft202012Validator

    problems = []
    for error in sorted(Draft202012Validator(SCHEMA).iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        field = "/".join(str(p) for p in error.absolute_path) or "(root)"
        problems.append(f"{_where(data if isinstance(data, dict) else {}, error.absolute_path)}: {field}: {error.message}")
    if problems:
        raise QuizError(f"{source}: " + "; ".join(problems))

    if chapter is not None and data["chapter"] != chapter:
        problems.append(f"top level: 'chapter' is {data['chapter']!r} but the file is for {chapter!r}")
    seen = set()
    for question in data["questions"]:
        where = f"question {question['id']!r}"
        if question["id"] in seen:
            problems.append(f"{where}: the id is used twice")
        seen.add(question["id"])
        n_correct = sum(answer["correct"] for answer in question["answers"])
        if question["type"] == "multiple_choice":
            if "answer_count" in question:
                problems.append(f"{where}: 'answer_count' belongs to many_choice questions only")
            if n_correct != 1:
                problems.append(f"{where}: a multiple_choice question needs exactly 1 correct answer, it has {n_correct}")
        else:
            declared = question.get("answer_count")
            if declared is None:
                problems.append(f"{where}: a many_choice question must declare 'answer_count'")
            elif n_correct != declared:
                problems.append(f"{where}: declares {declared} correct answers but marks {n_correct}")
        if n_correct == len(question["answers"]):
            problems.append(f"{where}: every option is correct; a question needs at least one wrong option")
        texts = [answer["answer"].strip().lower() for answer in question["answers"]]
        if len(set(texts)) != len(texts):
            problems.append(f"{where}: two options have the same text")
        for index, answer in enumerate(question["answers"], start=1):
            if not answer["feedback"].strip():
                problems.append(f"{where}, answer {index}: the feedback is blank")
        strings = [question["question"]] + [a[k] for a in question["answers"] for k in ("answer", "feedback")]
        if any(MYST_ROLE.search(s) for s in strings):
            problems.append(f"{where}: MyST roles such as {{cite}}` do not render in a quiz; cite in words, e.g. (Murrough et al., 2013)")
        if any(re.search(r"(?<!\\)\$", s) for s in strings):
            problems.append(f"{where}: a '$' would be read as maths by the quiz; write 'USD' or escape it as '\\$'")
        if objectives is not None and question["objective"] > objectives:
            problems.append(f"{where}: objective {question['objective']} does not exist (the chapter has {objectives} learning objectives)")
    if problems:
        raise QuizError(f"{source}: " + "; ".join(problems))
    return Quiz(data["chapter"], source, tuple(data["questions"]))


def load_quiz(chapter_stem: str, root: Path | None = None) -> Quiz:
    """Read and validate ``book/quizzes/<chapter_stem>.json`` (objectives checked against ``book/<stem>.md``)."""
    root = root or repo_root()
    path = quiz_dir(root) / f"{chapter_stem}.json"
    source = f"book/quizzes/{path.name}"
    if not path.is_file():
        raise QuizError(f"{source}: no such quiz file (questions for chapter {chapter_stem!r} live there)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise QuizError(f"{source}: not valid JSON: {error}") from None
    return validate(data, source, chapter=chapter_stem, objectives=objective_count(root / "book" / f"{chapter_stem}.md"))


# ---- rendering ------------------------------------------------------------------------------------

# Colours (fixed, the same in light and dark mode); every text/background pair is at least 4.5:1.
COLOURS = {
    "--jq-multiple-choice-bg": "#1f3a5f",
    "--jq-many-choice-bg": "#5c2d0c",
    "--jq-mc-button-bg": "#ffffff",
    "--jq-mc-button-border": "#6b7280",
    "--jq-mc-button-inset-shadow": "#555555",
    "--jq-correct-color": "#17663a",
    "--jq-incorrect-color": "#a4161a",
    "--jq-text-color": "#ffffff",
    "--jq-link-color": "#cfe3ff",
}

EXTRA_CSS = """
.kc-quiz {{ margin: 1rem 0; }}
.kc-quiz .kc-quiz-intro {{ font-size: 0.95rem; margin-bottom: 0.25rem; }}
#{id} {{ background: #f3f4f6; color: #1f2937; padding: 0.5rem 0.75rem 0.75rem; }}
#{id} .Quiz {{ font-size: 1rem; line-height: 1.4; }}
#{id} .MultipleChoiceQn, #{id} .ManyChoiceQn {{ font-size: 1.05rem; }}
#{id} .kc-objective {{ display: block; font-size: 0.85rem; opacity: 0.95; margin-bottom: 0.2rem; }}
#{id} .MCButton {{ font-size: 1rem; color: #1f2937; text-align: left; justify-content: flex-start; }}
#{id} .MCButton:focus-within {{ outline: 3px solid #0b57d0; outline-offset: 2px; }}
#{id} .correctButton, #{id} .incorrectButton {{ color: #ffffff; }}
#{id} .Feedback {{ font-size: 1rem; text-align: left; background: #ffffff; color: #1f2937;
  border-left: 6px solid transparent; padding: 0; margin-top: 0.25rem; }}
#{id} .Feedback.correct {{ border-left-color: var(--jq-correct-color); padding: 0.5rem 0.75rem; }}
#{id} .Feedback.incorrect {{ border-left-color: var(--jq-incorrect-color); padding: 0.5rem 0.75rem; }}
#{id} .Feedback:empty {{ display: none; }}
#{id} code {{ background: #e5e7eb; color: #111827; }}
#{id} .sr-only {{ position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0, 0, 0, 0); white-space: nowrap; border: 0; }}
#{id} .kc-fallback li {{ margin-bottom: 0.5rem; }}
"""

# Replaces jupyterquiz's show_questions (see the module docstring): builds the questions with its
# classes, adds accessible names and a live region, and loads nothing.
SHOW_JS = """
function kcShowQuiz(questions, container) {
  container.innerHTML = "";
  questions.forEach(function (qa, index) {
    Question.create(qa, makeid(8), index, {shuffleAnswers: false, preserveResponses: false, maxWidth: 820}, container);
  });
  container.querySelectorAll(".Quiz").forEach(function (wrap, index) {
    var question = wrap.querySelector("[id^=quizQn]");
    var answers = wrap.querySelector(".Answer");
    var feedback = wrap.querySelector(".Feedback");
    if (question && answers) {
      answers.setAttribute("role", "radiogroup");
      answers.setAttribute("aria-labelledby", question.id);
    }
    if (feedback) {
      feedback.setAttribute("aria-live", "polite");
    }
  });
  if (window.MathJax && typeof window.MathJax.typesetPromise === "function") {
    window.MathJax.typesetPromise([container]).catch(function () {});
  }
}
"""


def _markdown(text: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).renderInline(text)


# jupyterquiz typesets after each click whenever a global ``MathJax`` exists, and reads
# ``MathJax.version[0]``; on a page whose MathJax is still (or only) a configuration object, as
# on an offline page with equations, that throws on every click. Each guard below is applied to
# the pinned version's exact text, and a missing text is an error (so an upgrade is noticed).
MATHJAX_GUARDS = {
    "helpers.js": ("if (typeof MathJax !== 'undefined') {", "if (typeof MathJax !== 'undefined' && MathJax.version) {"),
    "multiple_choice.js": ("if (typeof MathJax != 'undefined') {", "if (typeof MathJax != 'undefined' && MathJax.version) {"),
}


def _jupyterquiz_js() -> str:
    folder = importlib.resources.files("jupyterquiz").joinpath("js")
    parts = []
    for name in ("helpers.js", "multiple_choice.js"):
        text = folder.joinpath(name).read_text(encoding="utf-8")
        old, new = MATHJAX_GUARDS[name]
        if text.count(old) != 1:
            raise RuntimeError(f"jupyterquiz's {name} changed: the MathJax guard no longer applies (see ketamine_course/quiz.py)")
        parts.append(text.replace(old, new))
    return "\n".join(parts)


def _jupyterquiz_css() -> str:
    return importlib.resources.files("jupyterquiz").joinpath("styles.css").read_text(encoding="utf-8")


def element_id(chapter: str) -> str:
    """A stable HTML id (and JavaScript-safe name) for a chapter's quiz."""
    return "kcquiz_" + re.sub(r"\W", "_", chapter)


def to_jupyterquiz(quiz: Quiz) -> list[dict]:
    """The questions in jupyterquiz's format, text rendered to HTML, feedback prefixed with the verdict."""
    converted = []
    for number, question in enumerate(quiz.questions, start=1):
        kind = "Choose one answer." if question["type"] == "multiple_choice" else f"Choose all {question['answer_count']} correct answers."
        converted.append({
            "type": question["type"],
            "question": (
                f'<span class="kc-objective">Question {number} · objective {question["objective"]}</span>'
                f"{_markdown(question['question'])} <em>{kind}</em>"
            ),
            "answers": [
                {
                    "answer": _markdown(answer["answer"]),
                    "correct": answer["correct"],
                    "feedback": ("<strong>Correct.</strong> " if answer["correct"] else "<strong>Not quite.</strong> ") + _markdown(answer["feedback"]),
                }
                for answer in question["answers"]
            ],
        })
    return converted


def fallback_html(quiz: Quiz) -> str:
    """The questions and options as a list, for readers whose viewer runs no scripts (answers not marked)."""
    items = []
    for question in quiz.questions:
        options = "".join(f"<li>{_markdown(answer['answer'])}</li>" for answer in question["answers"])
        items.append(f"<li>{_markdown(question['question'])}<ul>{options}</ul></li>")
    return (
        '<div class="kc-fallback"><p>This interactive quiz needs JavaScript. In Jupyter, run the cell '
        "to make it interactive.</p><ol>" + "".join(items) + "</ol></div>"
    )


def plain_text(quiz: Quiz) -> str:
    lines = []
    for number, question in enumerate(quiz.questions, start=1):
        lines.append(f"{number}. {question['question']}")
        lines.extend(f"   {chr(97 + i)}) {answer['answer']}" for i, answer in enumerate(question["answers"]))
    return "\n".join(lines)


def quiz_html(quiz: Quiz) -> str:
    """The quiz as one self-contained HTML fragment (container, styles, script); the same every time."""
    div = element_id(quiz.chapter)
    variables = "".join(f"{name}: {value}; " for name, value in COLOURS.items())
    css = f"#{div} {{ {variables}}}\n" + _jupyterquiz_css() + EXTRA_CSS.format(id=div)
    data = json.dumps(to_jupyterquiz(quiz), ensure_ascii=False, sort_keys=True)
    # "</" inside a script would end it early: escape it in the embedded JSON.
    data = data.replace("</", "<\\/")
    script = (
        "(function () {\n"
        + _jupyterquiz_js()
        + SHOW_JS
        + f"\nvar container = document.getElementById({json.dumps(div)});\n"
        + f"if (container) {{ kcShowQuiz({data}, container); }}\n"
        + "})();"
    )
    return (
        f'<section class="kc-quiz" aria-label="Self-check quiz">'
        f'<p class="kc-quiz-intro">Choose an answer to see feedback on it. Nothing is recorded or sent anywhere.</p>'
        f'<div id="{div}" class="kc-quiz-questions" style="border-radius: 10px;">{fallback_html(quiz)}</div>'
        f"<style>{css}</style>"
        f"<script>{script}</script>"
        f"</section>"
    )


class QuizDisplay:
    """What ``show_quiz`` returns: Jupyter shows its HTML (with a plain-text fallback)."""

    def __init__(self, quiz: Quiz):
        self.quiz = quiz
        # Built here, not when Jupyter asks for the representation: IPython's display formatter
        # catches an exception raised in ``_repr_mimebundle_`` and prints it as output, so a
        # missing jupyterquiz would leave the cell "successful" and a traceback on the page.
        # Raised here, it fails the cell, and with it the strict build.
        self.bundle = {"text/html": quiz_html(quiz), "text/plain": plain_text(quiz)}

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.bundle


def show_quiz(chapter_stem: str, root: Path | None = None) -> None:
    """Validate ``book/quizzes/<chapter_stem>.json`` and display the quiz below the cell."""
    from IPython.display import display

    display(QuizDisplay(load_quiz(chapter_stem, root)))


__all__ = ["QuizError", "load_quiz", "validate", "show_quiz", "quiz_html", "objective_count"]
