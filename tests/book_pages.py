"""The book's pages as _toc.yml lists them, their source files, code cells and Binder launch paths.

Shared by the browser and Binder tests, so that both loop over the table of contents (a new
chapter is tested as soon as it is listed there) and agree on what a launch button opens.
"""

from __future__ import annotations

import shutil
from functools import cache
from pathlib import Path

import jupytext
import nbformat
import yaml

from conftest import ROOT
from ketamine_course.reader import NOTEBOOK_DIR, notebook_relpath
from test_build import toc_files

# Debian's Chromium (installed by scripts/install_system_packages.sh); never a downloaded browser.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        raise RuntimeError("Chromium is not installed: run `make test` (scripts/install_system_packages.sh installs it)")
    return path


def config(root: Path = ROOT) -> dict:
    return yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))


def pdf_edition(root: Path = ROOT) -> str:
    """The PDF edition's file name at the site's root (``make pdf``; _config.yml latex_documents targetname)."""
    target = config(root).get("latex", {}).get("latex_documents", {}).get("targetname", "book.tex")
    return str(Path(target).with_suffix(".pdf"))


def pages(root: Path = ROOT) -> list[str]:
    """Every page in the table of contents, as Sphinx docnames (``book/intro``)."""
    return toc_files(root)


def source_file(page: str, root: Path = ROOT) -> Path:
    """The source file of a page (``book/intro`` -> ``<root>/book/intro.md``)."""
    for suffix in (".md", ".ipynb", ".rst"):
        path = root / f"{page}{suffix}"
        if path.is_file():
            return path
    raise FileNotFoundError(f"no source file for the _toc.yml entry {page!r}")


@cache
def _code_cells(path: Path) -> tuple:
    if path.suffix == ".ipynb":
        notebook = nbformat.read(path, as_version=4)
    elif path.suffix == ".md":
        # Read as MyST, the format of the chapters (and the only one in which JupyterLab's
        # Jupytext and the book's myst-nb agree on what a code cell is).
        notebook = jupytext.read(path, fmt="md:myst")
    else:
        return ()
    return tuple(cell for cell in notebook.cells if cell.cell_type == "code")


def code_cells(page: str, root: Path = ROOT) -> tuple:
    return _code_cells(source_file(page, root))


def figure_cells(page: str, root: Path = ROOT) -> tuple:
    """Code cells that draw a numbered figure (the README: figures carry mystnb.figure metadata)."""
    return tuple(cell for cell in code_cells(page, root) if "figure" in cell.metadata.get("mystnb", {}))


def chapters_with_code(root: Path = ROOT) -> list[str]:
    """The pages that contain code cells: the ones a reader can launch and run."""
    return [page for page in pages(root) if code_cells(page, root)]


def binder_urlpath(page: str, root: Path = ROOT) -> str:
    """The JupyterLab path that the page's Binder button must open: ``lab/tree/<file in repository>``.

    For a page with code, the reader notebook that postBuild writes (``notebooks/<page>.ipynb``,
    prose resolved as on the web page); for any other page, its source file on disk. The path is
    relative to the repository root, where Binder's JupyterLab starts.
    """
    if code_cells(page, root):
        return f"lab/tree/{NOTEBOOK_DIR}/{notebook_relpath(page)}"
    source = source_file(page, root).relative_to(root).as_posix()
    return f"lab/tree/{source}"


def expected_binder_url(page: str, root: Path = ROOT) -> str:
    """``<binderhub>/v2/gh/<owner>/<repo>/<branch>?urlpath=lab/tree/<file>``.

    The repository (owner, name, branch) and the BinderHub come from _config.yml; the interface
    (JupyterLab, which postBuild configures) and the path are facts of this repository.
    """
    cfg = config(root)
    repository = cfg["repository"]
    owner, repo = repository["url"].rstrip("/").removesuffix(".git").split("github.com/")[1].split("/")[:2]
    binderhub = cfg["launch_buttons"]["binderhub_url"].rstrip("/")
    return f"{binderhub}/v2/gh/{owner}/{repo}/{repository['branch']}?urlpath={binder_urlpath(page, root)}"


def normalise(text: str) -> str:
    """Text as a reader compares it: one space for any run of whitespace, straight quotes."""
    for curly, straight in (("\u201c", '"'), ("\u201d", '"'), ("\u2018", "'"), ("\u2019", "'")):
        text = text.replace(curly, straight)
    return " ".join(text.split())


def web_prose(html_file: Path) -> dict[str, list[str]]:
    """What the built web page shows for each kind of resolved MyST, in page order.

    glue: glued values; cite: citations; numref: figure/table/exercise references; ref: {ref},
    {doc} and links to labels; exercise / solution: the titles of exercise and solution boxes;
    reference: the entries of the page's own reference list (its "References" section); section:
    the numbers of the numbered headings.
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html_file.read_text(encoding="utf-8"), "html.parser")
    article = soup.select_one("article.bd-article") or soup
    texts = lambda selector: [normalise(node.get_text()) for node in article.select(selector)]  # noqa: E731
    return {
        "glue": texts("span.pasted-text, span.pasted-inline"),
        "cite": texts("span.bibtex-citation"),
        "numref": texts("span.std-numref"),
        "ref": texts("span.std-ref, span.std-doc"),
        "exercise": texts("div.exercise > p.admonition-title"),
        "solution": texts("div.solution > p.admonition-title"),
        "reference": texts("section#references li"),
        "section": texts("h1 > span.section-number, h2 > span.section-number, h3 > span.section-number, h4 > span.section-number"),
    }


READER_KINDS = {
    "glue": ("glue:text", "glue", "glue:", "glue:any"),
    "numref": ("numref",),
    "ref": ("ref", "doc", "link"),
    "exercise": ("exercise",),
    "solution": ("solution",),
    "reference": ("reference",),
    "section": ("section",),
}


def reader_prose(notebook) -> dict[str, list[str]]:
    """The same, as the reader notebook's generator resolved it (its ``ketamine_course.resolved`` record)."""
    entries = notebook.metadata["ketamine_course"]["resolved"]
    prose = {kind: [normalise(e["text"]) for e in entries if e["role"] in roles] for kind, roles in READER_KINDS.items()}
    prose["cite"] = [normalise(e["text"]) for e in entries if e["role"] == "cite" or e["role"].startswith("cite:")]
    return prose
