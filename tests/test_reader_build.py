"""The reader notebooks a book build writes say what its web pages say (no browser needed).

The build (ketamine_course.reader_sphinx) converts the notebooks myst-nb executed into reader
notebooks in _build/reader/. For every page with code, each kind of resolved MyST (glued values,
citations, figure and exercise references and titles, the reference list) is compared, in page
order, with the built HTML page. test_binder.py checks what JupyterLab then shows of them.
"""

from __future__ import annotations

import nbformat
import pytest

from book_pages import chapters_with_code, normalise, reader_prose, web_prose
from ketamine_course.reader import EDITIONS, notebook_relpath

pytestmark = pytest.mark.build

CHAPTERS = chapters_with_code()


def reader_notebook(build, page, edition="full"):
    path = build.repo / "_build" / "reader" / notebook_relpath(page, edition)
    assert path.is_file(), f"the build wrote no reader notebook {path.relative_to(build.repo)}"
    return nbformat.read(path, as_version=4)


@pytest.mark.parametrize("page", CHAPTERS)
def test_reader_notebook_says_what_the_web_page_says(book_build, page):
    web = web_prose(book_build.html / f"{page}.html")
    mine = reader_prose(reader_notebook(book_build, page))
    for kind in ("glue", "cite", "numref", "ref", "exercise", "solution", "section"):
        assert mine[kind] == web[kind], f"{page}: {kind} differs from the web page:\nreader: {mine[kind]}\nweb:    {web[kind]}"
    if web["reference"]:
        assert mine["reference"] == web["reference"], f"{page}: the reference list differs from the web page's"
    else:  # a page without a References section: the reader notebook still lists what it cites
        assert len(mine["reference"]) == len({k for k in mine["cite"]}) or mine["reference"], page


@pytest.mark.parametrize("page", CHAPTERS)
def test_every_glued_value_citation_and_label_was_resolved(book_build, page):
    notebook = reader_notebook(book_build, page)
    text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    for role in ("{glue", "{cite", "{numref}", "{ref}", "{doc}", "{term}", "{exercise}", "{solution", "{bibliography}"):
        assert role not in text, f"{page}: {role} left in the reader notebook's Markdown"


@pytest.mark.parametrize("page", CHAPTERS)
def test_the_student_reader_notebook_has_every_exercise_and_no_solution(book_build, page):
    full, student = (reader_prose(reader_notebook(book_build, page, edition)) for edition in EDITIONS)
    assert student["exercise"] == full["exercise"]
    assert not student["solution"]
    text = "\n".join(c.source for c in reader_notebook(book_build, page, "student").cells)
    assert "Solution to" not in text


@pytest.mark.parametrize("page", CHAPTERS)
def test_the_download_button_serves_the_reader_notebook(book_build, page):
    download = book_build.html / "_sources" / f"{page}.ipynb"
    assert download.is_file()
    notebook = nbformat.read(download, as_version=4)
    assert notebook.metadata.get("ketamine_course", {}).get("edition") == "full"
    assert normalise(notebook.cells[0].source) == normalise(reader_notebook(book_build, page).cells[0].source)
