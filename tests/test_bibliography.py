"""Every reference is complete and every citation resolves."""

from __future__ import annotations

import csv
import re

import pytest

from ketamine_course.bib import bib_entries, bib_keys

CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
DOI = re.compile(r"^10\.\d{4,9}/\S+$")


def cited_keys(root) -> dict[str, str]:
    used = {}
    for page in (root / "book").rglob("*.md"):
        for match in CITE.finditer(page.read_text(encoding="utf-8")):
            for key in match.group(1).split(","):
                used.setdefault(key.strip(), page.name)
    return used


def data_keys(root) -> set[str]:
    keys = set()
    for path in (root / "data").glob("*.csv"):
        with path.open(newline="", encoding="utf-8") as handle:
            keys |= {row["source"] for row in csv.DictReader(handle)}
    return keys


def test_every_cited_key_exists(root):
    missing = {k: page for k, page in cited_keys(root).items() if k not in bib_keys(root)}
    assert not missing, f"cited but not in references.bib: {missing}"


def test_every_entry_is_cited_in_the_book_or_the_data(root):
    used = set(cited_keys(root)) | data_keys(root)
    orphans = sorted(bib_keys(root) - used)
    assert not orphans, f"entries cited nowhere: {orphans}"


def test_every_entry_has_a_doi_or_url(root):
    for key, entry in bib_entries(root).items():
        fields = {k.lower(): v for k, v in entry.fields.items()}
        assert "doi" in fields or "url" in fields, key
        if "doi" in fields:
            assert DOI.match(fields["doi"]), f"{key}: DOI {fields['doi']!r} is not a bare DOI (no https://doi.org/ prefix)"


@pytest.mark.parametrize("field", ["title", "year"])
def test_every_entry_has_core_fields(root, field):
    for key, entry in bib_entries(root).items():
        assert entry.fields.get(field, "").strip(), f"{key} has no {field}"


def test_articles_name_authors_and_journal(root):
    for key, entry in bib_entries(root).items():
        if entry.type == "article":
            assert entry.persons.get("author"), f"{key} has no authors"
            assert entry.fields.get("journal"), f"{key} has no journal"


def test_years_are_plausible(root):
    """A four-digit year, with a letter (2013a, 2013b) only to tell apart two sources by the same
    authors in one year; 'n.d.' (no date) only for undated web pages and software (@misc)."""
    for key, entry in bib_entries(root).items():
        year = entry.fields["year"]
        if entry.type == "misc" and year == "n.d.":
            continue
        assert re.fullmatch(r"(19[5-9]\d|20[0-2]\d)[a-z]?", year), f"{key}: year {year}"


def test_keys_follow_the_house_convention(root):
    """firstauthorYEARword, lower case (``nd-`` for an undated source): readable in the chapter source."""
    for key, entry in bib_entries(root).items():
        assert re.fullmatch(r"[a-z][a-z-]*(\d{4}|nd-)[a-z0-9]+", key), key
        if "nd-" in key:
            assert entry.fields["year"] == "n.d.", f"{key}: an nd- key is for an undated source"
