"""Student edition: the same chapters with the worked solutions removed.

Instructors use the book as it is; for coursework, ``make student`` builds a copy in
which every gated solution (``{solution-start}`` ... ``{solution-end}``) is removed, so
the exercises stay and the answers go. One source, two editions (the Neuromatch pattern).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml

SOLUTION = re.compile(r"^```\{solution-start\}[^\n]*\n.*?^```\{solution-end\}\n```\n?", re.S | re.M)
STUDENT_NOTE = (
    "\n```{note}\nThis is the student edition: the worked solutions are removed. "
    "Your instructor has the full edition.\n```\n"
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


def make_student_edition(root: Path, out: Path) -> list[Path]:
    """Copy the book (config, toc, bibliography, data, chapters) to ``out`` without solutions."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml", "references.bib"):
        shutil.copy2(root / name, out / name)
    # The student book's launch buttons open the student reader notebooks (ketamine_course.reader_sphinx).
    config = yaml.safe_load((out / "_config.yml").read_text(encoding="utf-8"))
    config.setdefault("sphinx", {}).setdefault("config", {})["ketamine_reader_edition"] = "student"
    (out / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    shutil.copytree(root / "data", out / "data")
    shutil.copytree(root / "book", out / "book")
    changed = []
    for page in sorted((out / "book").glob("*.md")):
        text = page.read_text(encoding="utf-8")
        if "{solution-start}" in text:
            page.write_text(student_text(text), encoding="utf-8")
            changed.append(page)
    return changed


if __name__ == "__main__":
    import sys

    from .paths import repo_root

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else repo_root() / "_build" / "student-source"
    pages = make_student_edition(repo_root(), target)
    print(f"student edition: {len(pages)} chapter(s) without solutions in {target.name}/")
