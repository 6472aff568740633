"""Downloadable chapter bundles: one zip per chapter, for a learning platform or a laptop.

A bundle unpacks into one folder that runs on its own after ``pip install -r requirements.txt``::

    <stem>/README.txt             how to run it
    <stem>/book/<stem>.ipynb      the chapter as a notebook, in student form (worked solutions removed,
                                  build-check cells dropped)
    <stem>/book/quizzes/...       the chapter's quiz questions
    <stem>/data/                  the data tables (all of them: chapters and their self-checks share tables)
    <stem>/ketamine_course/       the course package (models, data loader, quizzes, self-checks)
    <stem>/requirements.txt, pyproject.toml, references.bib, _config.yml (marks the folder as the root)

The notebook comes from ``notebook_for``: the student edition of the reader notebooks of
``ketamine_course.reader`` (prose with numbers, citations and labels resolved), or a plain jupytext
conversion of the chapter where the package has no reader.

As a Sphinx extension (``_config.yml``: ``sphinx: extra_extensions``) it writes
``_build/html/bundles/<stem>.zip`` for every numbered chapter and puts a download link under the
chapter's title.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import zipfile
from pathlib import Path

import jupytext
import nbformat

from .editions import strip_solutions
from .paths import repo_root

README = """{title}
{underline}

A self-contained copy of this chapter of "Ketamine and Treatment-Resistant Mood Disorders"
(educational material, not medical advice), with the data it reads and the course package.
The worked solutions are removed; the self-check lines tell you whether your answers are right.

To run it (Python 3.11):

    python3.11 -m venv .venv
    .venv/bin/pip install -r requirements.txt      (Windows: .venv\\Scripts\\pip ...)
    .venv/bin/jupyter lab book/{stem}.ipynb

On a JupyterHub or learning platform with the same packages installed, upload the whole folder
and open book/{stem}.ipynb. Run the quiz cell at the end to make the quiz interactive.

Text and figures CC BY 4.0; code MIT.
"""

ROOT_MARKER = "# Marks this folder as the course root (ketamine_course.paths.repo_root looks for it).\ntitle: \"{title}\"\n"


def reader_available() -> bool:
    return importlib.util.find_spec("ketamine_course.reader") is not None


def notebook_for(stem: str, root: Path | None = None, executed_dir: Path | None = None) -> nbformat.NotebookNode:
    """The chapter as a student-form notebook.

    With ``ketamine_course.reader`` (the reader notebooks: prose with numbers, citations and labels
    resolved), its student edition, from the book build's executed notebook when ``executed_dir``
    has it, else from one execution of the chapter. Without the reader, a plain jupytext
    conversion of the chapter with the worked solutions and build-check cells removed.
    """
    root = root or repo_root()
    if reader_available():
        from . import reader

        book = reader.Book(root, "student")
        doc = f"book/{stem}"
        if executed_dir is not None and (Path(executed_dir) / f"{doc}.ipynb").is_file():
            executed, glue = reader.from_build(Path(executed_dir), doc)
        else:
            executed, glue = reader.execute(book, doc)
        notebook = reader.reader_notebook(book, doc, executed, glue)
    else:
        text = strip_solutions((root / "book" / f"{stem}.md").read_text(encoding="utf-8"))
        notebook = jupytext.reads(text, fmt="md:myst")
        notebook.cells = [c for c in notebook.cells if "build-check" not in c.metadata.get("tags", [])]
        notebook.metadata.pop("jupytext", None)
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    for number, cell in enumerate(notebook.cells):  # stable ids (jupytext draws random ones)
        cell.id = f"cell-{number:03d}"
        if cell.cell_type == "code":  # the reader runs it; stored outputs would differ run to run
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
    return notebook


def chapter_title(stem: str, root: Path) -> str:
    match = re.search(r"^# (.+)$", (root / "book" / f"{stem}.md").read_text(encoding="utf-8"), re.M)
    return match.group(1).strip() if match else stem


def build_bundle(stem: str, out_dir: Path, root: Path | None = None, executed_dir: Path | None = None) -> Path:
    """Write ``out_dir/<stem>.zip`` and return its path."""
    root = root or repo_root()
    out_dir.mkdir(parents=True, exist_ok=True)
    title = chapter_title(stem, root)
    target = out_dir / f"{stem}.zip"
    ignore = re.compile(r"(__pycache__|\.pyc$|\.ipynb_checkpoints)")
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        def add_file(path: Path, name: str) -> None:
            info = zipfile.ZipInfo(f"{stem}/{name}", date_time=(2026, 1, 1, 0, 0, 0))  # fixed date: same bytes every build
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, path.read_bytes())

        def add_text(text: str, name: str) -> None:
            info = zipfile.ZipInfo(f"{stem}/{name}", date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, text.encode("utf-8"))

        add_text(README.format(title=title, underline="=" * len(title), stem=stem), "README.txt")
        add_text(ROOT_MARKER.format(title=title.replace('"', "'")), "_config.yml")
        add_text(nbformat.writes(notebook_for(stem, root, executed_dir)), f"book/{stem}.ipynb")
        quiz = root / "book" / "quizzes" / f"{stem}.json"
        if quiz.is_file():
            add_file(quiz, f"book/quizzes/{stem}.json")
        for name in ("requirements.txt", "pyproject.toml", "references.bib", "LICENSE"):
            if (root / name).is_file():
                add_file(root / name, name)
        for folder in ("data", "ketamine_course"):
            for path in sorted((root / folder).rglob("*")):
                if path.is_file() and not ignore.search(path.as_posix()):
                    add_file(path, path.relative_to(root).as_posix())
    return target


# ---- Sphinx extension -----------------------------------------------------------------------------


def _chapters(app) -> list[str]:
    """Docnames of the numbered chapters (the _toc.yml part with `numbered: true`)."""
    import yaml

    toc = yaml.safe_load((Path(app.confdir) / "_toc.yml").read_text(encoding="utf-8"))
    return [entry["file"] for part in toc.get("parts", []) if part.get("numbered") for entry in part.get("chapters", [])]


def _add_link(app, pagename, templatename, context, doctree):
    if pagename not in _chapters(app) or "body" not in context:
        return
    stem = pagename.split("/")[-1]
    href = "../" * pagename.count("/") + f"bundles/{stem}.zip"
    # Kept short: it sits in every chapter, whose rendered length the chapter tests cap.
    box = (
        '<div class="admonition note kc-bundle"><p class="admonition-title">Download</p>'
        f'<p><a class="reference download" href="{href}" download>{stem}.zip</a>: notebook without solutions, '
        "with data and course package (README.txt inside).</p></div>"
    )
    body = context["body"]
    end = body.find("</h1>")
    context["body"] = body[: end + 5] + box + body[end + 5 :] if end >= 0 else box + body


def _write_bundles(app, exception):
    """Write every chapter's bundle; skipped when no input changed since they were last written."""
    if exception is not None or app.builder.format != "html":
        return
    from . import stamps

    root = Path(app.confdir)
    out = Path(app.outdir) / "bundles"
    executed = Path(app.outdir).parent / "jupyter_execute"  # myst-nb's executed notebooks
    stems = [docname.split("/")[-1] for docname in _chapters(app)]
    inputs = [*stamps.files_under(root / "book", "**/*.md"), *stamps.files_under(root / "book" / "quizzes"),
              *stamps.files_under(root / "data"), *stamps.files_under(root / "ketamine_course"), *stamps.files_under(executed),
              *(root / name for name in ("requirements.txt", "pyproject.toml", "references.bib", "LICENSE", "_toc.yml", "_config.yml"))]
    stamp = Path(app.outdir).parent / "bundles.json"
    key = stamps.content_key(inputs, *stems)
    if stamps.unchanged(stamp, key, [out / f"{stem}.zip" for stem in stems]):
        return
    stamps.forget(stamp)
    if out.exists():
        shutil.rmtree(out)
    for stem in stems:
        build_bundle(stem, out, root, executed_dir=executed)
    stamps.record(stamp, key, bundles=stems)


def setup(app):
    app.connect("html-page-context", _add_link)
    app.connect("build-finished", _write_bundles)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
