"""Editions of the book, built from one source.

=============  ======================================================================  ==========================
edition        what it contains                                                        command
=============  ======================================================================  ==========================
``public``     the published site: chapters with their worked exercise solutions      ``make book``
               (for self-study), quizzes, glossary, module guide, assignment briefs
               and rubrics, the capstone case and its rubric. No model answers.
``student``    the public edition without the worked exercise solutions, for a        ``make student``
               course that assesses the chapters' own exercises.
``instructor`` everything: the public edition plus the marking guides with model      ``make instructor``
               answers to every assignment and to the capstone case.
=============  ======================================================================  ==========================

Model answers live outside ``book/``, in ``instructor/`` at the repository root (or a folder
named by ``INSTRUCTOR_DIR``, for example a private checkout). The public build never reads that
folder (``_config.yml`` excludes it and ``_toc.yml`` does not list it), so no page, downloadable
source or search-index entry of the public or student edition can contain a model answer;
``tests/test_editions.py`` builds every edition and searches every file of each for the text of
every model answer (and, in the student edition, of every worked solution).

Worked solutions sit in gated dropdowns (``{solution-start}`` ... ``{solution-end}``) in the
chapters; the student edition removes each block, keeping the exercise.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import yaml

EDITIONS = ("public", "student", "instructor")
INSTRUCTOR_SOURCE = "instructor"  # at the repository root; never under book/
INSTRUCTOR_PART = "Instructor materials (instructor edition only)"

SOLUTION = re.compile(r"^```\{solution-start\}[^\n]*\n.*?^```\{solution-end\}\n```\n?", re.S | re.M)
STUDENT_NOTE = (
    "\n```{note}\nThis is the student edition: the worked solutions are removed. "
    "Your instructor has the full edition.\n```\n"
)
INSTRUCTOR_BANNER = (
    "```{admonition} Instructor edition\n:class: danger\n\n"
    "This page is part of the instructor edition only. It holds model answers to graded work: "
    "do not publish it or share it with students.\n```\n"
)


def strip_solutions(text: str) -> str:
    """Remove every gated solution block; raise if a start has no matching end."""
    starts = len(re.findall(r"^```\{solution-start\}", text, re.M))
    ends = len(re.findall(r"^```\{solution-end\}", text, re.M))
    if starts != ends:
        raise ValueError(f"{starts} solution-start but {ends} solution-end markers")
    stripped = SOLUTION.sub("", text)
    if "{solution-start}" in stripped or "{solution-end}" in stripped:
        raise ValueError("a solution block is not in the form this script understands")
    return stripped


def student_text(text: str) -> str:
    """A page's student edition: solutions removed, a note under "Exercises" (unchanged if already done)."""
    if "{solution-start}" not in text:
        return text
    stripped = strip_solutions(text)
    heading = stripped.index("\n## Exercises")
    at = heading + len("\n## Exercises\n")
    return stripped[:at] + STUDENT_NOTE + stripped[at:]


def solution_blocks(text: str) -> list[str]:
    """The gated solution blocks of a page (what the student edition removes)."""
    return SOLUTION.findall(text)


def instructor_dir(root: Path) -> Path:
    """Where the model answers are: ``$INSTRUCTOR_DIR`` if set, else ``<root>/instructor``."""
    return Path(os.environ.get("INSTRUCTOR_DIR") or root / INSTRUCTOR_SOURCE)


def instructor_pages(root: Path) -> list[Path]:
    folder = instructor_dir(root)
    return sorted(folder.glob("*.md")) if folder.is_dir() else []


def _copy_book(root: Path, out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml", "references.bib"):
        shutil.copy2(root / name, out / name)
    shutil.copytree(root / "data", out / "data")
    shutil.copytree(root / "book", out / "book", ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))


def make_student_edition(root: Path, out: Path) -> list[Path]:
    """Copy the book to ``out`` without worked solutions; return the pages changed."""
    _copy_book(root, out)
    # The student book's launch buttons open the student reader notebooks (ketamine_course.reader_sphinx).
    config = yaml.safe_load((out / "_config.yml").read_text(encoding="utf-8"))
    config.setdefault("sphinx", {}).setdefault("config", {})["ketamine_reader_edition"] = "student"
    (out / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    changed = []
    for page in sorted((out / "book").glob("*.md")):
        text = page.read_text(encoding="utf-8")
        if "{solution-start}" in text:
            page.write_text(student_text(text), encoding="utf-8")
            changed.append(page)
    return changed


def make_instructor_edition(root: Path, out: Path) -> list[Path]:
    """Copy the book to ``out`` and add the model-answer pages as a last part of the table of contents."""
    pages = instructor_pages(root)
    if not pages:
        raise FileNotFoundError(f"no instructor pages in {instructor_dir(root).name}/ (set INSTRUCTOR_DIR to their folder)")
    _copy_book(root, out)
    target = out / "book" / "instructor"
    target.mkdir()
    added = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        # the banner goes right after the page title
        text = re.sub(r"^(# .+\n)", lambda m: m.group(1) + "\n" + INSTRUCTOR_BANNER, text, count=1, flags=re.M)
        (target / page.name).write_text(text, encoding="utf-8")
        added.append(target / page.name)
    toc = yaml.safe_load((out / "_toc.yml").read_text(encoding="utf-8"))
    toc["parts"].append({"caption": INSTRUCTOR_PART, "chapters": [{"file": f"book/instructor/{p.stem}"} for p in added]})
    (out / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False), encoding="utf-8")
    return added


def make_edition(edition: str, root: Path, out: Path) -> list[Path]:
    if edition == "student":
        return make_student_edition(root, out)
    if edition == "instructor":
        return make_instructor_edition(root, out)
    raise ValueError(f"edition must be 'student' or 'instructor' (the public edition is the repository itself), not {edition!r}")


if __name__ == "__main__":
    import sys

    from .paths import repo_root

    args = sys.argv[1:]
    edition = args.pop(0) if args and args[0] in EDITIONS else "student"
    target = Path(args[0]) if args else repo_root() / "_build" / f"{edition}-source"
    pages = make_edition(edition, repo_root(), target)
    print(f"{edition} edition: {len(pages)} page(s) changed or added in {target.name}/")
