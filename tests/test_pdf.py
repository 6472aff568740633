"""The PDF edition: `make pdf` builds one PDF of the whole book, and the web site links it.

Runs `make pdf` (installs Debian's TeX Live when it is missing, builds strictly with pdflatex,
copies the PDF to the site's root) in the session build's copy of the repository, then reads the
PDF with pypdf: the book's title, every page of _toc.yml by its title, every figure (as an image
and by its caption) and the bibliography with every one of its entries; and it follows each
page's "Book (PDF)" link in the built site to that file. About a minute, plus about a minute to
install TeX Live on a fresh machine.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path
from urllib.parse import urljoin

import pytest
from bs4 import BeautifulSoup

from book_pages import config, pages, pdf_edition

pytestmark = [pytest.mark.build, pytest.mark.pdf]


def squash(text: str) -> str:
    """Letters and digits only, lower case, ligatures and accents unfolded: text as a PDF and a web page both hold it."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    return re.sub(r"[^a-z0-9]", "", text.lower())


@pytest.fixture(scope="module")
def pdf(book_build):
    if book_build.returncode != 0:
        pytest.fail(f"the book did not build; see test_build.py:\n{book_build.log[-3000:]}")
    venv = Path(sys.executable).parent.parent
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("MPLBACKEND", None)
    # The session's environment, taken as it is (-o: never reinstalled from the copy, whose
    # editable install would then point at the copy).
    process = subprocess.run(["make", "pdf", f"VENV={venv}", "-o", f"{venv}/.runtime"], cwd=book_build.repo, env=env,
                             capture_output=True, text=True, errors="replace", timeout=1800)  # pdflatex writes Latin-1
    log = process.stdout + process.stderr
    artifacts = Path(__file__).resolve().parent.parent / "_build" / "test-artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / "pdf-build.log").write_text(log, encoding="utf-8")
    assert process.returncode == 0, f"make pdf failed (log in _build/test-artifacts/pdf-build.log):\n{log[-4000:]}"
    path = book_build.html / pdf_edition()
    assert path.is_file(), f"make pdf did not put {pdf_edition()} at the site's root"

    from pypdf import PdfReader

    reader = PdfReader(path)
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    n_images = sum(len(page.images) for page in reader.pages)

    def outline(entries, depth=0):  # the PDF's bookmarks: [(depth, title)]
        out = []
        for entry in entries:
            out += outline(entry, depth + 1) if isinstance(entry, list) else [(depth, entry.title)]
        return out

    return {"outline": outline(reader.outline), "path": path, "log": log, "text": text, "squashed": squash(text), "pages": len(reader.pages),
            "images": n_images, "html": book_build.html}


def html_page(build_html: Path, docname: str) -> BeautifulSoup:
    return BeautifulSoup((build_html / f"{docname}.html").read_text(encoding="utf-8"), "html.parser")


def page_title(soup: BeautifulSoup) -> str:
    heading = soup.select_one("article.bd-article h1")
    title = heading.get_text(" ", strip=True).removesuffix("#").strip()
    return re.sub(r"^\d+(\.\d+)*\.?\s+", "", title)  # the section number ("1. ") is LaTeX's own in the PDF


def test_make_pdf_builds_strictly_without_latex_warnings(pdf):
    assert "WARNING:" not in pdf["log"], [line for line in pdf["log"].splitlines() if "WARNING:" in line][:10]
    latex_log = (pdf["html"].parent / "latex" / pdf_edition()).with_suffix(".log").read_text(encoding="latin-1")
    problems = [line for line in latex_log.splitlines() if re.search(r"undefined|Missing character|^! ", line)]
    assert not problems, problems[:10]
    assert pdf["pages"] > 10


def test_the_pdf_has_the_books_title_and_every_page_by_its_title(pdf):
    assert squash(config()["title"]) in squash(pdf["text"][:600])  # the title page
    missing = []
    for docname in pages():
        if docname == pages()[0]:
            continue  # the welcome page is the PDF's unnumbered first chapter, "Welcome"
        title = page_title(html_page(pdf["html"], docname))
        if squash(title) not in pdf["squashed"]:
            missing.append(title)
    assert "welcome" in pdf["squashed"]
    assert not missing, f"page titles not in the PDF: {missing}"


def test_the_pdf_has_the_books_structure(pdf):
    """Welcome first (unnumbered), then one part per caption of _toc.yml holding its pages in order."""
    import yaml

    toc = yaml.safe_load((Path(__file__).resolve().parent.parent / "_toc.yml").read_text(encoding="utf-8"))
    top = [title for depth, title in pdf["outline"] if depth == 0]
    assert top[0] == "Welcome", top
    parts = [re.sub(r"^[IVX]+\s+", "", title) for title in top[1:]]
    assert parts[:len(toc["parts"])] == [part["caption"] for part in toc["parts"]], top
    expected = [page_title(html_page(pdf["html"], chapter["file"])) for part in toc["parts"] for chapter in part["chapters"]]
    chapters = [title for depth, title in pdf["outline"] if depth == 1]
    positions = [chapters.index(title) for title in expected if title in chapters]
    assert len(positions) == len(expected) and positions == sorted(positions), (expected, chapters)


def test_references_to_exercises_carry_their_numbers(pdf):
    """A reference from another page to an exercise ("Exercise 1.5" in the instructors' table)
    resolves in the PDF to the number the web page shows (LaTeX's .aux file holds what \\ref prints)."""
    aux = (pdf["html"].parent / "latex" / pdf_edition()).with_suffix(".aux").read_text(encoding="latin-1")
    labels = dict(re.findall(r"\\newlabel\{([^{}]+)\}\{\{([^{}]*)\}", aux))
    checked = 0
    for docname in pages():
        for link in html_page(pdf["html"], docname).select("article a.reference[href*='#']"):
            text = link.get_text(" ", strip=True)
            match = re.fullmatch(r"Exercise (\d+(?:\.\d+)*)", text)
            if not match:
                continue
            target = urljoin(f"https://site/{docname}.html", link["href"]).removeprefix("https://site/")
            page, anchor = target.split("#")
            key = f"{page.removesuffix('.html')}:{anchor}"
            assert labels.get(key) == match.group(1), f"{docname}: {text} -> {key} is {labels.get(key)!r} in the PDF"
            checked += 1
    assert checked, "no page refers to an exercise by number"


def test_the_pdf_has_every_figure(pdf):
    figures = []
    for docname in pages():
        for figure in html_page(pdf["html"], docname).select("article.bd-article figure"):
            if figure.find("img"):
                figures.append(figure.find("figcaption").get_text(" ", strip=True))
    assert figures, "the book shows no figures"
    assert pdf["images"] >= len(figures), f"{pdf['images']} images in the PDF for {len(figures)} figures"
    missing = []
    for caption in figures:
        start = re.sub(r"^Fig\. [\d.]+\s*", "", caption)
        words = " ".join(start.split()[:12])  # the caption's opening words
        if squash(words) not in pdf["squashed"]:
            missing.append(words)
    assert not missing, f"figure captions not in the PDF: {missing}"


def test_the_pdf_has_the_bibliography_with_every_entry(pdf):
    soup = html_page(pdf["html"], "book/bibliography")
    entries = [entry.get_text(" ", strip=True) for entry in soup.select("article.bd-article .citation, article.bd-article li[role=listitem], article.bd-article div.citation")]
    entries = list(dict.fromkeys(e for e in entries if len(e) > 20))
    assert len(entries) >= 10, entries[:3]
    assert "bibliography" in pdf["squashed"]
    missing = []
    for entry in entries:
        opening = squash(entry)[:40]  # authors and the start of the title
        if opening not in pdf["squashed"]:
            missing.append(entry[:80])
    assert not missing, f"{len(missing)} of {len(entries)} bibliography entries are not in the PDF: {missing[:5]}"


def test_every_page_links_the_pdf_edition(pdf):
    linked = []
    for docname in pages():
        soup = html_page(pdf["html"], docname)
        link = soup.select_one("a.btn-download-book-pdf-button")
        assert link is not None, f"{docname}: no link to the PDF edition in the download menu"
        target = urljoin(f"https://site/{docname}.html", link["href"])
        assert target == f"https://site/{pdf_edition()}", f"{docname}: the PDF link points at {link['href']}"
        linked.append(docname)
    assert (pdf["html"] / pdf_edition()).stat().st_size > 100_000
    assert len(linked) == len(pages())
