"""The bibliography styles print "et al." for an author list marked incomplete, and nothing
else changes: a reference whose full author list we could not see must not read as if the
listed authors were all the authors."""

from __future__ import annotations

import re

import pytest
from pybtex.database import parse_string

from ketamine_course.bib import bib_entries, short_cite
from ketamine_course.bibstyle import (
    AuthorYearEtAlReferenceStyle,
    PlainEtAlStyle,
    has_incomplete_authors,
    register,
)

ENTRY = """@article{{x,
  author  = {{{authors}}},
  title   = {{A title}},
  journal = {{A Journal}},
  year    = {{2021}},{extra}
}}"""


def _entry(authors: str, incomplete: bool):
    text = ENTRY.format(authors=authors, extra="\n  incomplete_authors = {yes}," if incomplete else "")
    return parse_string(text, "bibtex").entries["x"]


def bibliography_text(authors: str, incomplete: bool) -> str:
    entry = _entry(authors, incomplete)
    formatted = next(iter(PlainEtAlStyle().format_entries([entry])))
    return formatted.text.render_as("text")


def in_text_label(authors: str, incomplete: bool, full: bool = False) -> str:
    style = AuthorYearEtAlReferenceStyle()
    template = style.person.names("author", full=full)
    return template.format_data({"entry": _entry(authors, incomplete), "style": style}).render_as("text")


@pytest.mark.parametrize(("authors", "expected"), [
    ("Dean, Rebecca L.", "Rebecca L. Dean et al. A title."),
    ("Popova, V. and Daly, E. J. and Trivedi, M.", "V. Popova, E. J. Daly, M. Trivedi, et al. A title."),
])
def test_an_incomplete_author_list_ends_with_et_al_in_the_bibliography(authors, expected):
    assert bibliography_text(authors, incomplete=True).startswith(expected)


@pytest.mark.parametrize(("authors", "expected"), [
    ("Dean, Rebecca L.", "Rebecca L. Dean. A title."),
    ("Coyle, Caoimhe M. and Laws, Keith R.", "Caoimhe M. Coyle and Keith R. Laws. A title."),
    ("Popova, V. and Daly, E. J. and Trivedi, M.", "V. Popova, E. J. Daly, and M. Trivedi. A title."),
])
def test_a_complete_author_list_renders_as_the_plain_style_does(authors, expected):
    assert bibliography_text(authors, incomplete=False).startswith(expected)


@pytest.mark.parametrize(("authors", "incomplete", "expected"), [
    ("Dean, Rebecca L.", True, "Dean et al."),
    ("Dean, Rebecca L.", False, "Dean"),
    ("Coyle, Caoimhe M. and Laws, Keith R.", True, "Coyle et al."),
    ("Coyle, Caoimhe M. and Laws, Keith R.", False, "Coyle and Laws"),
    ("Popova, V. and Daly, E. J. and Trivedi, M.", True, "Popova et al."),
    ("Popova, V. and Daly, E. J. and Trivedi, M.", False, "Popova et al."),
])
def test_citations_in_the_text_say_et_al_for_an_incomplete_list(authors, incomplete, expected):
    assert in_text_label(authors, incomplete) == expected


def test_the_full_form_of_an_incomplete_list_also_ends_with_et_al():
    assert in_text_label("Popova, V. and Daly, E. J. and Trivedi, M.", True, full=True) == "Popova, Daly, Trivedi, et al."
    assert in_text_label("Dean, Rebecca L.", True, full=True) == "Dean et al."


def test_the_styles_are_registered_under_the_names_the_config_uses(root):
    import pybtex.plugin
    from sphinxcontrib.bibtex.plugin import find_plugin

    register()
    assert pybtex.plugin.find_plugin("pybtex.style.formatting", "plain_etal") is PlainEtAlStyle
    assert find_plugin("sphinxcontrib.bibtex.style.referencing", "author_year_etal") is AuthorYearEtAlReferenceStyle
    config = (root / "_config.yml").read_text(encoding="utf-8")
    assert "ketamine_course.bibstyle" in config
    assert re.search(r"bibtex_default_style:\s*plain_etal", config)
    assert re.search(r"bibtex_reference_style:\s*author_year_etal", config)


def test_no_entry_uses_and_others_and_incomplete_lists_are_marked(root):
    """``and others`` prints literally; an incomplete list is marked with the field instead,
    and figure labels (short_cite) say et al. for it too."""
    text = (root / "references.bib").read_text(encoding="utf-8")
    assert not re.search(r"\band\s+others\b", text)
    marked = [key for key, entry in bib_entries(root).items() if has_incomplete_authors(entry)]
    for key in marked:
        assert "et al." in short_cite(key, root=root), key


def test_an_entry_whose_note_says_only_some_authors_are_listed_is_marked(root):
    """A note such as "First three authors only" describes an incomplete list; without the
    field the page would still present the listed authors as all of them."""
    for key, entry in bib_entries(root).items():
        note = entry.fields.get("note", "")
        if re.search(r"\bauthors? only\b", note, flags=re.I):
            assert has_incomplete_authors(entry), f"{key}: note says {note[:40]!r} but incomplete_authors is not set"
