"""The welcome page: its glued numbers come from the data, and its required notices are present."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from ketamine_course import load_table

pytestmark = pytest.mark.build


@pytest.fixture(scope="module")
def intro(book_build):
    return BeautifulSoup((book_build.html / "book" / "intro.html").read_text(encoding="utf-8"), "html.parser")


def test_glued_numbers_match_the_milestone_table(root, intro):
    table = load_table("ketamine_milestones", root=root)
    text = " ".join(intro.get_text(" ").split())
    synthesis = int(table["year"].min())
    approval = int(table.loc[table["label"].str.contains("anaesthetic") & (table["category"] == "regulatory"), "year"].min())
    trial = int(table.loc[table["label"].str.contains("MDD") & (table["category"] == "clinical_trial"), "year"].min())
    esk = int(table.loc[table["label"].str.contains("esketamine") & (table["category"] == "regulatory"), "year"].min())
    assert f"shows {len(table)} milestones" in text
    assert f"first made in {synthesis}" in text
    assert f"anaesthetic in the United States in {approval}" in text
    assert f"A further {trial - approval} years" in text
    assert f"{esk - trial} more passed" in text


def test_welcome_page_has_content_note_and_not_medical_advice(intro):
    text = intro.get_text(" ")
    assert "Content note" in text and "988" in text and "116 123" in text
    assert "not medical advice" in text.lower() or "Not medical advice" in text
    assert "CC BY 4.0" in text


def test_welcome_page_explains_the_three_ways_to_use_the_book(intro):
    text = intro.get_text(" ")
    for way in ("Read online", "Run it in Binder", "Run it on your own computer"):
        assert way in text
