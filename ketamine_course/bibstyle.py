"""Sphinx extension: print "et al." for a reference whose full author list we could not see.

A few sources are cited although no stored copy showed their complete author list. Listing
only the authors we saw would make the page claim that those were all the authors (a paper
with one listed author renders as "Dean, 2021", as if Dean had written it alone), and the
BibTeX idiom ``and others`` is printed literally by the pinned sphinxcontrib-bibtex 2.7.0
("Dean and others"). So such an entry lists the authors that were verified and carries

    incomplete_authors = {yes},

and this extension makes both renderings honest:

* the bibliography (pybtex formatting style ``plain_etal``, the ``plain`` style otherwise
  unchanged): "Rebecca L. Dean et al." or "V. Popova, E. J. Daly, M. Trivedi, et al.";
* citations in the text (sphinxcontrib-bibtex referencing style ``author_year_etal``, the
  ``author_year`` style otherwise unchanged): "Dean et al., 2021", never "Dean, 2021".

Enable it with ``sphinx.extra_extensions: [ketamine_course.bibstyle]`` and the config values
``bibtex_default_style: plain_etal`` and ``bibtex_reference_style: author_year_etal``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pybtex.plugin
from pybtex.richtext import Tag, Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.template import FieldIsMissing, first_of, node, optional, sentence, tag
from pybtex.style.template import field as bib_field
from pybtex.style.template import join as pybtex_join
from sphinxcontrib.bibtex.plugin import register_plugin
from sphinxcontrib.bibtex.style.referencing import PersonStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle
from sphinxcontrib.bibtex.style.template import join as sphinx_join

#: The BibTeX field that marks an author list as incomplete.
INCOMPLETE_FIELD = "incomplete_authors"


def has_incomplete_authors(entry) -> bool:
    """True if a pybtex entry says that its author list names only some of the authors."""
    return entry.fields.get(INCOMPLETE_FIELD, "").strip().lower() in {"yes", "true", "1"}


def _persons(data, role):
    entry = data["entry"]
    try:
        return entry, entry.persons[role]
    except KeyError:
        raise FieldIsMissing(role, entry) from None


@node
def names_etal(children, data, role, **kwargs):
    """pybtex ``names``, ending an incomplete author list with "et al." (bibliography)."""
    assert not children
    entry, persons = _persons(data, role)
    style = data["style"]
    formatted = [style.format_name(person, style.abbreviate_names) for person in persons]
    if role == "author" and has_incomplete_authors(entry):
        listed = pybtex_join(sep=", ")[formatted].format_data(data)
        return Text(listed, ", et al." if len(formatted) > 1 else " et al.")
    return pybtex_join(**kwargs)[formatted].format_data(data)


class PlainEtAlStyle(PlainStyle):
    """The ``plain`` bibliography style, with "et al." for incomplete author lists."""

    def format_names(self, role, as_sentence=True):
        formatted = names_etal(role, sep=", ", sep2=" and ", last_sep=", and ")
        return sentence[formatted] if as_sentence else formatted


@node
def reference_names(children, data, role, sep="", sep2=None, last_sep=None, other=None):
    """sphinxcontrib-bibtex ``names`` for citations in the text, honouring incomplete lists."""
    assert not children
    entry, persons = _persons(data, role)
    person_style = data["style"].person
    formatted = [person_style.style_plugin.format(person, person_style.abbreviate) for person in persons]
    if role == "author" and has_incomplete_authors(entry):
        et_al = other if other is not None else Text(" ", Tag("em", "et al."))
        if other is not None:  # the short form: first author et al.
            return Text(sphinx_join()[formatted[:1]].format_data(data), et_al)
        listed = sphinx_join(sep=sep)[formatted].format_data(data)
        return Text(listed, "," if len(formatted) > 1 else "", et_al)
    return sphinx_join(sep=sep, sep2=sep2, last_sep=last_sep, other=other)[formatted].format_data(data)


@dataclass
class EtAlPersonStyle(PersonStyle):
    """Person style whose templates know about incomplete author lists."""

    def _separators(self, full: bool) -> dict[str, Any]:
        return {"sep": self.sep, "sep2": self.sep2, "last_sep": self.last_sep,
                "other": None if full else self.other}

    def names(self, role: str, full: bool):
        return reference_names(role=role, **self._separators(full))

    def author_or_editor_or_title(self, full: bool):
        separators = self._separators(full)
        return first_of[
            optional[reference_names("author", **separators)],
            optional[reference_names("editor", **separators)],
            tag("em")[bib_field("title")],
        ]


@dataclass
class AuthorYearEtAlReferenceStyle(AuthorYearReferenceStyle):
    """The ``author_year`` referencing style, with "et al." for incomplete author lists."""

    person: PersonStyle = field(default_factory=EtAlPersonStyle)


def register() -> None:
    """Make the two styles known to pybtex and sphinxcontrib-bibtex (idempotent)."""
    pybtex.plugin.register_plugin("pybtex.style.formatting", "plain_etal", PlainEtAlStyle, force=True)
    register_plugin("sphinxcontrib.bibtex.style.referencing", "author_year_etal",
                    AuthorYearEtAlReferenceStyle, force=True)


def setup(app):
    register()
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
