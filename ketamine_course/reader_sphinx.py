"""Sphinx extension: launch buttons open the reader notebooks, and every build writes and checks them.

- The theme's Binder button (sphinx-book-theme 1.3.0, ``header_buttons/launch.py``) opens the page's
  source, ``?urlpath=lab/tree/book/<page>.md``, in which JupyterLab shows variable names and raw
  citation keys. This extension points it at the reader notebook that ``postBuild`` generates,
  ``?urlpath=lab/tree/notebooks/<page>.ipynb`` (``notebooks/student/...`` in the student edition).
  The JupyterHub (nbgitpuller) button, if configured, is left as it is: a hub does not run postBuild.
- At the end of the build it converts the notebooks myst-nb executed (``_build/jupyter_execute``)
  into reader notebooks, ``_build/reader/<page>.ipynb`` and ``_build/reader/student/<page>.ipynb``,
  and makes the download button's ``.ipynb`` the reader notebook of this edition.
- It checks the numbers :mod:`ketamine_course.reader` computes from ``_toc.yml`` (figures, tables,
  exercises) and the citations it finds on each page against Sphinx's own, and warns (an error in
  the strict build) where they differ, so that Binder's notebooks cannot drift from the web pages.

Configuration: ``ketamine_reader_edition`` (``full``, or ``student`` in the student edition's build).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from sphinx.util import logging

from . import reader, stamps

logger = logging.getLogger(__name__)

CONFIG_KEYS = (
    "extensions", "numfig", "numfig_secnum_depth", "numfig_format", "myst_enable_extensions", "myst_substitutions",
    "bibtex_bibfiles", "bibtex_encoding", "bibtex_reference_style", "bibtex_default_style",
    "external_toc_path", "nb_execution_timeout", "nb_execution_allow_errors",
)


def book_config(app) -> dict:
    """The parts of the Sphinx configuration the reader needs, as this build uses them."""
    return {key: getattr(app.config, key) for key in CONFIG_KEYS if hasattr(app.config, key)}


def edition(app) -> str:
    value = app.config.ketamine_reader_edition
    if value not in reader.EDITIONS:
        raise ValueError(f"ketamine_reader_edition must be one of {reader.EDITIONS}, not {value!r}")
    return value


def book(app, which: str | None = None) -> reader.Book:
    cache = app.__dict__.setdefault("_ketamine_reader_books", {})
    which = which or edition(app)
    if which not in cache:
        cache[which] = reader.Book(Path(app.srcdir), which, config=book_config(app))
    return cache[which]


def reader_urlpath(app, pagename: str) -> str:
    return f"{reader.NOTEBOOK_DIR}/{reader.notebook_relpath(pagename, edition(app))}"


def point_launch_button_at_reader_notebook(app, pagename, templatename, context, doctree) -> None:
    """Rewrite the Binder URL the theme built (``html-page-context``, after the theme's handler)."""
    try:
        docs = book(app).reader_docs()
    except reader.ReaderError as error:
        logger.warning(f"reader notebooks: {error}", type="ketamine", subtype="reader")
        return
    if pagename not in docs:
        return
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            if button.get("text") == "Binder" and "urlpath=" in button.get("url", ""):
                button["url"] = re.sub(
                    r"urlpath=((?:lab/)?tree)/[^&]*", lambda m: f"urlpath={m.group(1)}/{reader_urlpath(app, pagename)}", button["url"]
                )


def build_inputs(app) -> list[Path]:
    """Every file the reader notebooks (and the chapter bundles made from them) are computed from."""
    src, build_dir = Path(app.srcdir), Path(app.outdir).parent
    book_dir = src / "book"
    return [
        *(p for pattern in ("**/*.md", "**/*.json", "**/*.yml") for p in stamps.files_under(book_dir, pattern)),
        src / "_toc.yml", src / "_config.yml", *(src / name for name in app.config.bibtex_bibfiles),
        *stamps.files_under(build_dir / "jupyter_execute"),
        *stamps.files_under(Path(reader.__file__).parent, "**/*.py"),
    ]


def write_and_check(app, exception) -> None:
    """Write the reader notebooks from this build's executed notebooks; check numbers and citations.

    Skipped (apart from pointing the downloads at them again) when no input changed since the last
    build that wrote them and found no disagreement: see :mod:`ketamine_course.stamps`.
    """
    if exception is not None or app.builder.format != "html":
        return
    build_dir = Path(app.outdir).parent
    shown = edition(app)
    editions = ("student",) if shown == "student" else reader.EDITIONS
    stamp = build_dir / "reader" / ".inputs.json"
    key = stamps.content_key(build_inputs(app), shown, repr(sorted(book_config(app).items(), key=lambda kv: kv[0])))
    done = stamps.unchanged(stamp, key)
    if done and all(Path(p).is_file() for p in done["written"]) and all(Path(source).is_file() for source, _ in done["downloads"]):
        for source, download in done["downloads"]:
            if Path(download).parent.is_dir():
                shutil.copyfile(source, download)
        logger.info(f"reader notebooks: {len(done['written'])} unchanged (no input changed)")
        return
    stamps.forget(stamp)
    try:
        written = reader.write_reader_notebooks(
            Path(app.srcdir), build_dir / "reader", editions, executed_dir=build_dir / "jupyter_execute", config=book_config(app)
        )
    except reader.ReaderError as error:
        logger.warning(f"reader notebooks: {error}", type="ketamine", subtype="reader")
        return
    this = book(app, shown)
    downloads = []
    for doc in this.reader_docs():
        download = Path(app.outdir) / "_sources" / f"{doc}.ipynb"
        if download.is_file():
            source = build_dir / "reader" / reader.notebook_relpath(doc, shown)
            shutil.copyfile(source, download)
            downloads.append((str(source), str(download)))
    problems = disagreements(app, this)
    for problem in problems:
        logger.warning(f"reader notebooks disagree with the web pages: {problem}", type="ketamine", subtype="reader")
    if not problems:
        stamps.record(stamp, key, written=[str(p) for p in written], downloads=downloads)
    logger.info(f"reader notebooks: {len(written)} written to {(build_dir / 'reader').relative_to(Path(app.srcdir)) if build_dir.is_relative_to(Path(app.srcdir)) else build_dir}")


def disagreements(app, this: reader.Book) -> list[str]:
    """Where the reader's numbers or citations differ from the ones Sphinx gave this build's pages."""
    env = app.env
    std = env.get_domain("std")
    problems = []
    for label, target in this.targets.items():
        if target.kind not in ("figure", "table", "exercise") or not target.enumerable:
            continue
        found = std.labels.get(label) or std.anonlabels.get(label)
        if not found:
            problems.append(f"{label!r} ({target.kind} in {target.doc}) is not a label Sphinx knows")
            continue
        docname, labelid = found[0], found[1]
        number = env.toc_fignumbers.get(docname, {}).get(target.kind, {}).get(labelid)
        if docname != target.doc or (tuple(number) if number else None) != target.number:
            problems.append(
                f"{label!r}: the reader numbers it {target.number} in {target.doc}, Sphinx {tuple(number) if number else None} in {docname}"
            )
    domain = env.get_domain("cite")
    for doc in this.docs:
        web = {t.key for ref in domain.citation_refs if ref.docname == doc for t in ref.targets}
        mine = set(this.pages[doc].cited)
        if web != mine:
            problems.append(f"{doc}: citations only on the web page {sorted(web - mine)}, only in the reader {sorted(mine - web)}")
    return problems


def setup(app):
    app.add_config_value("ketamine_reader_edition", "full", "env")
    # after sphinx-book-theme's add_launch_buttons (priority 501)
    app.connect("html-page-context", point_launch_button_at_reader_notebook, priority=502)
    app.connect("build-finished", write_and_check)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
