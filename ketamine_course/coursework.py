"""The module guide's tables, built from ``book/coursework/module.yml`` and the chapters themselves.

Chapter objectives are read from each chapter's "Learning objectives" box, so the guide shows the
chapter's current wording; the outcome mapping in ``module.yml`` names objective numbers, which
``tests/test_coursework.py`` checks against the chapters.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from .paths import repo_root


def module(root: Path | None = None) -> dict:
    root = root or repo_root()
    return yaml.safe_load((root / "book" / "coursework" / "module.yml").read_text(encoding="utf-8"))


def chapter_objectives(stem: str, root: Path | None = None) -> list[str] | None:
    """The numbered learning objectives of ``book/<stem>.md`` as plain text (None if the chapter does not exist)."""
    path = (root or repo_root()) / "book" / f"{stem}.md"
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    box = re.search(r"^(`{3,}|:{3,})\{admonition\} Learning objectives\n(.*?)^\1\s*$", text, re.S | re.M)
    if box is None:
        return []
    items, current = [], None
    for line in box.group(2).splitlines():
        start = re.match(r"^\s*\d+\.\s+(.*)", line)
        if start:
            current = [start.group(1)]
            items.append(current)
        elif current is not None and line.strip():
            current.append(line.strip())
    return [re.sub(r"\*\*(.+?)\*\*", r"\1", " ".join(item)) for item in items]


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def outcomes_table(root: Path | None = None) -> str:
    """Markdown: module outcome -> chapter -> the chapter objectives that serve it."""
    spec = module(root)
    rows = ["| module outcome | chapter | chapter objectives that serve it |", "|---|---|---|"]
    for outcome in spec["outcomes"]:
        label = f"**{outcome['id']}** {_md(outcome['text'])}"
        for unit in spec["units"]:
            numbers = unit.get("objectives", {}).get(outcome["id"], [])
            if not numbers:
                continue
            objectives = chapter_objectives(unit["file"], root)
            if objectives is None:
                served = "*planned chapter*"
            else:
                served = "<br>".join(f"{n}. {_md(objectives[n - 1])}" if n <= len(objectives) else f"{n}. (missing)" for n in numbers)
            rows.append(f"| {label} | {unit['chapter']} | {served} |")
            label = ""
        if outcome["id"] in spec["capstone"]["outcomes"]:
            rows.append(f"| {label} | capstone case | assessed by the capstone rubric |")
    return "\n".join(rows)


def schedule_table(root: Path | None = None) -> str:
    """Markdown: week, chapter, status, study hours, assignment hours."""
    spec = module(root)
    rows = ["| week | unit | status | study (h) | assignment (h) |", "|---|---|---|---|---|"]
    total = 0.0
    for unit in spec["units"]:
        published = chapter_objectives(unit["file"], root) is not None
        hours = unit["hours"]
        total += hours["study"] + (hours["assignment"] if published else 0)
        rows.append(
            f"| {unit['week']} | {unit['chapter']} | {'published' if published else 'planned'} | {hours['study']:g} | "
            f"{hours['assignment']:g}{'' if published else ' (planned)'} |"
        )
    capstone = spec["capstone"]
    total += capstone["hours"]
    rows.append(f"| {capstone['week']} | Capstone case | published | | {capstone['hours']:g} |")
    return "\n".join(rows)


def as_html(markdown_table: str) -> str:
    """A Markdown table (as the functions above write it) as an HTML table: Jupyter's Markdown
    output is CommonMark, which has no tables."""
    import html as _html

    from markdown_it import MarkdownIt

    lines = [line for line in markdown_table.splitlines() if line.strip()]
    header = [c.strip() for c in lines[0].strip("|").split(" | ")]
    inline = MarkdownIt("commonmark", {"html": False}).renderInline

    def cells(line):
        return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip()[1:-1])]

    def render(cell):
        return "<br>".join(inline(part.replace("\\|", "|")) for part in cell.split("<br>"))

    head = "".join(f"<th scope=\"col\">{_html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{render(c)}</td>" for c in cells(line)) + "</tr>" for line in lines[2:])
    return f'<table class="table kc-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def published_units(root: Path | None = None) -> list[dict]:
    return [u for u in module(root)["units"] if chapter_objectives(u["file"], root) is not None]
