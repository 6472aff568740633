"""Render a truncated author list (BibTeX ``and others``) as "et al." in the built book.

BibTeX marks an author list that names only the first authors by ending it with
``and others``. LaTeX bibliography styles print that as "et al.", but the pure-Python styles of
pybtex, which sphinxcontrib-bibtex 2.7.0 uses, treat ``others`` as one more person and print it
literally ("B. Ebert and others"; in the text "Ebert and others, 1997"). This module adds the two
styles the book uses, with that one difference:

* ``plain_etal`` (bibliography entries): pybtex's ``plain`` style, except that a list ending in
  ``others`` is printed as the named authors followed by "et al." ("B. Ebert et al.",
  "P. Zanos, R. Moaddel, ..., G. I. Elmer, et al.");
* ``author_year_etal`` (citations in the text): sphinxcontrib-bibtex's ``author_year`` style,
  except that ``others`` is dropped and "et al." added ("Ebert et al., 1997").

Nothing else changes. It is a Sphinx extension: list ``ketamine_course.bibstyle`` in
``sphinx.extra_extensions`` of ``_config.yml`` and set ``bibtex_default_style: plain_etal`` and
``bibtex_reference_style: author_year_etal``. With it, ``and others`` is the correct way to enter
an author list that the stored copies of a source show only in part; without it, it is not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pybtex.plugin
from pybtex.richtext import Tag, Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.template import FieldIsMissing, first_of, join, node, optional, sentence, tag
from pybtex.style.template import field as bib_field
from sphinxcontrib.bibtex.plugin import register_plugin
from sphinxcontrib.bibtex.style.referencing import PersonStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle
from sphinxcontrib.bibtex.style.template import join as sphinx_join

FORMATTING_STYLE = "plain_etal"
REFERENCE_STYLE = "author_year_etal"
ET_AL = "et al."


def is_others(person) -> bool:
    """True for the ``others`` that ends a truncated BibTeX name list."""
    return str(person) == "others"


def split_others(persons) -> tuple[list, bool]:
    """The named persons, and whether the list ended in ``others``."""
    persons = list(persons)
    if persons and is_others(persons[-1]):
        return persons[:-1], True
    return persons, False


@node
def names_etal(children, context, role, **kwargs):
    """Like pybtex's ``names``, but a trailing ``others`` becomes "et al."."""
    assert not children
    try:
        persons = context["entry"].persons[role]
    except KeyError:
        raise FieldIsMissing(role, context["entry"]) from None
    style = context["style"]
    named, truncated = split_others(persons)
    formatted = [style.format_name(person, style.abbreviate_names) for person in named]
    if not truncated:
        return join(**kwargs)[formatted].format_data(context)
    listed = join(sep=kwargs.get("sep", ", "))[formatted].format_data(context)
    return Text(listed, ", " if len(named) > 1 else " ", ET_AL)


class PlainEtAlStyle(PlainStyle):
    """pybtex's ``plain`` style with truncated author lists printed as "et al."."""

    def format_names(self, role, as_sentence=True):
        formatted_names = names_etal(role, sep=", ", sep2=" and ", last_sep=", and ")
        if as_sentence:
            return sentence[formatted_names]
        return formatted_names


@node
def reference_names_etal(children, data, role, **kwargs):
    """Like sphinxcontrib-bibtex's ``names`` (in-text labels), but a trailing ``others`` is
    dropped and the label abbreviated with "et al." whatever the number of named authors."""
    assert not children
    try:
        persons = data["entry"].persons[role]
    except KeyError:
        raise FieldIsMissing(role, data["entry"]) from None
    style = data["style"]
    named, truncated = split_others(persons)
    formatted = [style.person.style_plugin.format(person, style.person.abbreviate) for person in named]
    if truncated:
        # the named persons are template nodes; the label keeps the first and adds "et al."
        return Text(formatted[0].format_data(data), " ", Tag("em", ET_AL))
    return sphinx_join(**kwargs)[formatted].format_data(data)


@node
def reference_author_or_editor_or_title(children, data, **kwargs):
    assert not children
    return first_of[
        optional[reference_names_etal("author", **kwargs)],
        optional[reference_names_etal("editor", **kwargs)],
        tag("em")[bib_field("title")],
    ].format_data(data)


@dataclass
class EtAlPersonStyle(PersonStyle):
    """Person style for in-text citations that reads ``others`` as "et al."."""

    def names(self, role: str, full: bool):
        return reference_names_etal(role=role, sep=self.sep, sep2=self.sep2, last_sep=self.last_sep,
                                    other=None if full else self.other)

    def author_or_editor_or_title(self, full: bool):
        return reference_author_or_editor_or_title(sep=self.sep, sep2=self.sep2, last_sep=self.last_sep,
                                                   other=None if full else self.other)


@dataclass
class AuthorYearEtAlReferenceStyle(AuthorYearReferenceStyle):
    """sphinxcontrib-bibtex's ``author_year`` style with :class:`EtAlPersonStyle`."""

    person: PersonStyle = field(default_factory=EtAlPersonStyle)


def register() -> None:
    """Make both styles known to pybtex and sphinxcontrib-bibtex (safe to call more than once)."""
    pybtex.plugin.register_plugin("pybtex.style.formatting", FORMATTING_STYLE, PlainEtAlStyle, force=True)
    register_plugin("sphinxcontrib.bibtex.style.referencing", REFERENCE_STYLE, AuthorYearEtAlReferenceStyle, force=True)


def setup(app):
    """Sphinx entry point (``sphinx.extra_extensions`` in ``_config.yml``)."""
    register()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
