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

    Built from the source file actually on disk (relative to the repository root, where Binder's
    JupyterLab starts), not from the theme's settings, so a launch button that opens the wrong
    interface or names a wrong path does not match.
    """
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
