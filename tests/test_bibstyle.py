"""Truncated author lists (BibTeX ``and others``) print as "et al.", never as "and others".

The styles live in ``ketamine_course/bibstyle.py``; the book uses them through ``_config.yml``.
"""

from __future__ import annotations

import re

import pybtex.plugin
import pytest
import yaml
from bs4 import BeautifulSoup
from pybtex.database import BibliographyData, Entry, Person

from ketamine_course import bibstyle
from ketamine_course.bib import bib_entries


@pytest.fixture(scope="module")
def style():
    bibstyle.register()
    return pybtex.plugin.find_plugin("pybtex.style.formatting", bibstyle.FORMATTING_STYLE)()


def render(style, entries: dict) -> dict[str, str]:
    data = BibliographyData(entries=entries)
    return {e.key: e.text.render_as("text") for e in style.format_entries(data.entries.values())}


def article(*authors: str) -> Entry:
    entry = Entry("article", fields={"title": "A title", "journal": "A journal", "year": "2000"})
    for name in authors:
        entry.add_person(Person(name), "author")
    return entry


def test_the_book_uses_the_et_al_styles(root):
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))["sphinx"]
    assert "ketamine_course.bibstyle" in config["extra_extensions"]
    assert config["config"]["bibtex_default_style"] == bibstyle.FORMATTING_STYLE
    assert config["config"]["bibtex_reference_style"] == bibstyle.REFERENCE_STYLE


@pytest.mark.parametrize(
    ("authors", "expected"),
    [
        (["Ebert, B.", "others"], "B. Ebert et al."),
        (["Williams, N. R.", "Heifets, B. D.", "others"], "N. R. Williams, B. D. Heifets, et al."),
        (["Ogden, Kevin K.", "Traynelis, Stephen F."], "Kevin K. Ogden and Stephen F. Traynelis."),
        (["Anis, N. A.", "Berry, S. C.", "Lodge, D."], "N. A. Anis, S. C. Berry, and D. Lodge."),
    ],
)
def test_reference_list_names(style, authors, expected):
    assert render(style, {"k": article(*authors)})["k"].startswith(expected)


def test_no_entry_of_the_bibliography_prints_others(root, style):
    """Every entry, as the reference lists print it: no literal "others" as an author."""
    rendered = render(style, dict(bib_entries(root)))
    printed = {key: text for key, text in rendered.items() if re.search(r"\band others\b", text)}
    assert not printed, printed
    truncated = {key: entry for key, entry in bib_entries(root).items()
                 if any(bibstyle.is_others(p) for p in entry.persons.get("author", []))}
    assert truncated, "no truncated author list to test"
    for key, entry in truncated.items():
        title_starts = rendered[key].find(entry.fields["title"].split()[0].strip("{}"))
        assert 0 < rendered[key].find("et al.") < title_starts, key


def test_the_plain_style_would_print_others_literally(root):
    """Why the module exists: pybtex's own style prints the BibTeX ``others`` as a name."""
    plain = pybtex.plugin.find_plugin("pybtex.style.formatting", "plain")()
    assert "and others" in render(plain, {"k": article("Ebert, B.", "others")})["k"]


@pytest.mark.build
def test_in_text_labels_and_reference_lists_say_et_al(book_build):
    """In the built chapter: 'Ebert et al., 1997' in the text, 'B. Ebert et al.' in its list."""
    html = (book_build.html / "book" / "01_mechanism.html").read_text(encoding="utf-8")
    text = " ".join(BeautifulSoup(html, "html.parser").get_text(" ").split())
    assert re.search(r"Ebert\s+et al\.\s*, 1997", text), "in-text label of a first-author-only entry"
    assert "B. Ebert et al." in text
    assert "G. I. Elmer, et al." in text
    for page in (book_build.html / "book").glob("*.html"):
        page_text = " ".join(BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").get_text(" ").split())
        assert not re.search(r"[A-Z][a-z]+ and others\b", page_text), page.name
