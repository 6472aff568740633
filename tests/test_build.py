"""The strict build: zero warnings, every page, no error output, captioned figures with real alt text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from conftest import run_build

pytestmark = pytest.mark.build


def toc_files(repo: Path) -> list[str]:
    """Every page in the copy's _toc.yml, as docnames (the walk lives in scripts/lighthouse.py)."""
    from site_server import lighthouse_script

    return [page.removesuffix(".html") for page in lighthouse_script().toc_pages(repo)]


def pages(build) -> dict[str, BeautifulSoup]:
    return {f: BeautifulSoup((build.html / f"{f}.html").read_text(encoding="utf-8"), "html.parser") for f in toc_files(build.repo)}


def test_strict_build_succeeds_with_zero_warnings(book_build):
    assert book_build.returncode == 0, book_build.log[-6000:]
    warnings = [line for line in book_build.log.splitlines() if "WARNING:" in line or "ERROR:" in line]
    assert not warnings, "\n".join(warnings[:30])


def test_every_page_in_the_toc_is_built(book_build):
    for file in toc_files(book_build.repo):
        assert (book_build.html / f"{file}.html").is_file(), file


def test_no_cell_output_shows_an_error_or_stderr(book_build):
    for name, soup in pages(book_build).items():
        assert not soup.select(".output.traceback, .output.error"), f"{name}: a cell shows an error"
        assert not soup.select(".output.stderr"), f"{name}: a cell printed to stderr: {soup.select('.output.stderr')[0].get_text()[:300]}"
        assert "Traceback (most recent call last)" not in soup.get_text(), name


def test_no_absolute_paths_leak_into_pages(book_build):
    for name, soup in pages(book_build).items():
        text = soup.get_text()
        assert str(book_build.repo) not in text and "/root/" not in text and "/tmp/" not in text, name


def meaningful_alt(alt: str) -> bool:
    alt = (alt or "").strip()
    return len(alt.split()) >= 8 and not re.search(r"\.(png|svg|jpe?g)\b", alt) and not alt.lower().startswith(("figure", "image", "plot", "a plot", "chart"))


def test_every_figure_has_a_caption_and_meaningful_alt_text(book_build):
    n_figures = 0
    for name, soup in pages(book_build).items():
        for img in soup.select("article.bd-article img"):
            if "logo" in " ".join(img.get("class", [])):
                continue
            n_figures += 1
            figure = img.find_parent("figure")
            assert figure is not None, f"{name}: image {img.get('src')} is not in a captioned figure"
            caption = figure.find("figcaption")
            assert caption and len(caption.get_text(" ", strip=True).split()) >= 8, f"{name}: {img.get('src')} has no real caption"
            assert meaningful_alt(img.get("alt")), f"{name}: {img.get('src')} alt text {img.get('alt')!r} does not say what it shows"
    assert n_figures >= 1, "the book shows no figures"


def test_figure_captions_name_their_sources(book_build):
    for name, soup in pages(book_build).items():
        for figure in soup.select("figure"):
            if figure.find("img") is None:
                continue
            caption = figure.find("figcaption")
            assert caption.select("a.reference.internal, span.cite, a[href*='bibliography']") or "Source" in caption.get_text(), (
                f"{name}: caption '{caption.get_text()[:80]}' cites no source"
            )


def test_no_unresolved_citations_or_references(book_build):
    for name, soup in pages(book_build).items():
        text = soup.get_text()
        assert "[?]" not in text and "??" not in text, f"{name}: unresolved citation or reference"


def test_every_listed_reference_links_to_its_doi_or_url(book_build):
    soup = BeautifulSoup((book_build.html / "book" / "bibliography.html").read_text(encoding="utf-8"), "html.parser")
    entries = soup.select("div.citation")
    assert entries, "the bibliography page lists no references"
    for entry in entries:
        links = [a["href"] for a in entry.select("a[href]") if a["href"].startswith(("https://doi.org/", "http://", "https://"))]
        assert links, f"reference without DOI or URL link: {entry.get_text(' ', strip=True)[:120]}"


# ---- the build fails when it should ------------------------------------------------------------


def minimal_book(repo: Path, extra_page: str) -> None:
    """Cut a repository copy down to the welcome page, the bibliography and one probe page."""
    (repo / "book" / "probe.md").write_text(extra_page, encoding="utf-8")
    (repo / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n  - file: book/probe\n  - file: book/bibliography\n", encoding="utf-8"
    )


NOTEBOOK_HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
# Probe
"""


def test_a_missing_citation_key_fails_the_build(repo_copy):
    minimal_book(repo_copy, NOTEBOOK_HEADER + "\nA claim {cite}`nobody2099madeup`.\n")
    result = run_build(repo_copy)
    assert result.returncode != 0
    assert "nobody2099madeup" in result.stdout


def test_a_cell_that_raises_fails_the_build(repo_copy):
    minimal_book(repo_copy, NOTEBOOK_HEADER + "\n```{code-cell} ipython3\nraise RuntimeError('deliberate failure 31337')\n```\n")
    result = run_build(repo_copy)
    assert result.returncode != 0
    assert "31337" in result.stdout


def test_bad_data_fails_the_build_and_names_file_row_and_column(repo_copy):
    minimal_book(repo_copy, NOTEBOOK_HEADER + "\nNothing here.\n")
    path = repo_copy / "data" / "ketamine_milestones.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = "19x0" + lines[1][4:]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_build(repo_copy)
    assert result.returncode != 0
    assert "data/ketamine_milestones.csv, row 1 (line 2), column 'year'" in result.stdout


def test_a_figure_with_its_legend_over_the_data_fails_the_build(repo_copy):
    """The figure check runs by itself once a chapter applies the book's style (no call by the author)."""
    minimal_book(
        repo_copy,
        NOTEBOOK_HEADER
        + "\n```{code-cell} ipython3\nimport matplotlib.pyplot as plt\nfrom ketamine_course import apply_style\napply_style()\n```\n"
        + "\n```{code-cell} ipython3\nfig, ax = plt.subplots()\nax.plot([0, 10], [0, 10], 'o-', label='probe series')\n"
        + "ax.set_ylabel('Probe axis')\nax.legend(loc='center')\nplt.show()\n```\n",
    )
    result = run_build(repo_copy)
    assert result.returncode != 0
    assert "book/probe" in result.stdout, "the failure does not name the chapter"
    assert "FigureCheckError" in result.stdout and "'Probe axis'" in result.stdout, "the failure does not name the figure"
    assert "covers" in result.stdout and "'probe series'" in result.stdout, "the failure does not say what overlaps"
