"""The glossary: enough terms, alphabetical, each used by some {term} link in the book, and every
{term} link in the book resolves to one of them (the strict build also fails on an unresolved term)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from book_pages import pages, source_file
from conftest import ROOT, run_build

GLOSSARY = ROOT / "book" / "glossary.md"
TERM_ROLE = re.compile(r"\{term\}`([^`]+)`")

# Terms defined for chapters that do not link them yet: chapter 2 is being converted to the
# glossary, chapters 1 and 3 are being written. The test below fails when a term listed here is
# linked somewhere (then remove it from this list) and when a term is neither linked nor listed.
# This list must end empty.
AWAITING_FIRST_LINK: set[str] = set()


def glossary_terms(text: str) -> list[str]:
    """The terms of the page's {glossary} block, in the order written (unindented lines in the block)."""
    block = re.search(r"^```\{glossary\}\n(.*?)^```\s*$", text, re.S | re.M)
    assert block, "book/glossary.md has no ```{glossary} block"
    return [line.strip() for line in block.group(1).splitlines() if line.strip() and not line.startswith((" ", "\t"))]


def term_target(role_text: str) -> str:
    """`text <target>` -> target; `target` -> target; lower case, as Sphinx matches terms."""
    match = re.fullmatch(r"(?s).*?<([^<>]+)>\s*", role_text)
    return re.sub(r"\s+", " ", (match.group(1) if match else role_text)).strip().lower()


def uses_outside_glossary() -> dict[str, set[str]]:
    """target -> pages that link it, over every page in _toc.yml except the glossary itself."""
    uses: dict[str, set[str]] = {}
    for page in pages():
        path = source_file(page)
        if path == GLOSSARY or path.suffix != ".md":
            continue
        for role in TERM_ROLE.findall(path.read_text(encoding="utf-8")):
            uses.setdefault(term_target(role), set()).add(page)
    return uses


TERMS = glossary_terms(GLOSSARY.read_text(encoding="utf-8"))


def test_the_glossary_is_in_the_table_of_contents():
    assert "book/glossary" in pages()


def test_at_least_40_terms_in_alphabetical_order_without_duplicates():
    assert len(TERMS) >= 40, f"the glossary has {len(TERMS)} terms"
    keys = [t.lower() for t in TERMS]
    assert len(set(keys)) == len(keys), "a term is defined twice"
    assert keys == sorted(keys), f"not alphabetical: {[a for a, b in zip(keys, sorted(keys)) if a != b][:3]}"


def test_every_term_link_in_the_book_resolves():
    defined = {t.lower() for t in TERMS}
    unresolved = {target: sorted(where) for target, where in uses_outside_glossary().items() if target not in defined}
    inside = {term_target(r) for r in TERM_ROLE.findall(GLOSSARY.read_text(encoding="utf-8"))} - defined
    assert not unresolved and not inside, f"{{term}} links with no glossary entry: {unresolved or sorted(inside)}"


def test_every_glossary_term_is_linked_from_the_book():
    used = uses_outside_glossary()
    unused = [t for t in TERMS if t.lower() not in used and t.lower() not in AWAITING_FIRST_LINK]
    assert not unused, f"glossary terms that no page links with {{term}}: {unused}"
    now_linked = sorted(t for t in AWAITING_FIRST_LINK if t in used)
    assert not now_linked, f"now linked from {[sorted(used[t]) for t in now_linked]}: remove {now_linked} from AWAITING_FIRST_LINK"
    stale = sorted(AWAITING_FIRST_LINK - {t.lower() for t in TERMS})
    assert not stale, f"AWAITING_FIRST_LINK names terms the glossary does not define: {stale}"


def test_the_term_reader_understands_both_link_forms():
    assert term_target("NMDA receptor") == "nmda receptor"
    assert term_target("rating scales <Depression rating scale>") == "depression rating scale"
    assert glossary_terms("```{glossary}\nTerm A\n  def a\n\nTerm B\n  def b\n```\n") == ["Term A", "Term B"]


@pytest.mark.build
def test_an_unresolved_term_fails_the_strict_build(repo_copy):
    from test_build import NOTEBOOK_HEADER, minimal_book

    minimal_book(repo_copy, NOTEBOOK_HEADER + "\nA {term}`frobnicated receptor` and a {term}`clearance`.\n")
    toc = repo_copy / "_toc.yml"
    toc.write_text(toc.read_text(encoding="utf-8") + "  - file: book/glossary\n", encoding="utf-8")
    result = run_build(repo_copy)
    assert result.returncode != 0
    assert "frobnicated receptor" in result.stdout and "term not in glossary" in result.stdout
    assert "term not in glossary: 'clearance'" not in result.stdout
