"""The reader notebooks' resolver, on a small book made for the purpose (fast: no build, no kernel).

Each role and directive the chapters use is converted as the web page shows it; anything unknown is
a clear error naming the file, the line and the construct. The comparison with real web pages is in
test_reader_build.py (against the book build) and test_binder.py (in JupyterLab).
"""

from __future__ import annotations

import copy
import re

import nbformat
import pytest
from markdown_it import MarkdownIt

from ketamine_course import reader
from ketamine_course.reader import Book, ReaderError, notebook_relpath, protect_line_start, reader_notebook

CONFIG = """\
title: A test book
only_build_toc_files: true
bibtex_bibfiles:
  - refs.bib
parse:
  myst_enable_extensions: [amsmath, colon_fence, deflist, dollarmath]
sphinx:
  extra_extensions: [sphinx_exercise]
  config:
    bibtex_reference_style: author_year
    bibtex_default_style: plain
    numfig: true
    numfig_secnum_depth: 1
"""

TOC = """\
format: jb-book
root: book/intro
parts:
  - caption: Chapters
    numbered: true
    chapters:
      - file: book/ch_a
      - file: book/ch_b
  - caption: Reference
    chapters:
      - file: book/notes
"""

BIB = """\
@article{jones2019,
  author  = {Jones, Ann and Brown, Bob},
  title   = {A first paper},
  journal = {Journal of Tests},
  volume  = {1},
  pages   = {1--10},
  year    = {2019},
  doi     = {10.1000/j.test.2019(01)},
}
@article{smith2020,
  author  = {Smith, Carl and Lee, Dana and Wu, Eve},
  title   = {A second paper},
  journal = {Journal of Tests},
  year    = {2020},
  doi     = {10.1000/j.test.2020},
}
@article{lee2013rapid,
  author  = {Lee, Fay},
  title   = {Rapid},
  journal = {Journal of Tests},
  year    = {2013b},
}
@article{lee2013first,
  author  = {Lee, Fay},
  title   = {First},
  journal = {Journal of Tests},
  year    = {2013a},
}
@misc{agency2021,
  author = {{Test Agency}},
  title  = {A web page},
  year   = {2021},
  url    = {https://example.org/page},
}
"""

FRONT = "---\njupytext:\n  text_representation:\n    format_name: myst\nkernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n---\n"

INTRO = FRONT + """
(welcome)=
# Welcome

```{code-cell} ipython3
---
mystnb:
  figure:
    caption: An unnumbered page's figure.
    name: fig-intro
---
print("intro")
```

{numref}`fig-intro` is on the welcome page.
"""

CH_A = FRONT + """
(chapter-a)=
# Chapter A

```{admonition} Content note
:class: warning
A content note.
```

Intro text citing {cite:p}`jones2019`.

```{code-cell} ipython3
:tags: [hide-input]
x = 240.35960423336792
```

```{code-cell} ipython3
---
tags: [hide-input]
mystnb:
  figure:
    caption: First figure, from {cite:t}`smith2020`.
    name: fig-a1
---
print("figure one")
```

(sec-model)=
## The model

{numref}`fig-a1` shows a peak of {glue:text}`peak:.0f` ng/mL and {glue:text}`big:,.0f` people, or
{glue:text}`peak:.1f` to one decimal; {glue}`peak` unformatted. See {numref}`Figure %s <fig-a1>`,
{numref}`Figure {number} <fig-a2>`, {numref}`fig-b1` in the next chapter and {numref}`fig-intro`.
Textual {cite:t}`jones2019`, two at once {cite:p}`jones2019,smith2020`, with notes
{cite:p}`{see}jones2019{p. 3}`, plain {cite}`agency2021`. Section {ref}`sec-model`, with text
{ref}`the model section <sec-model>`, the page {doc}`ch_b` and {doc}`that page <ch_b>`; the term
{term}`NMDA receptor` and {term}`receptors <Receptor>`. A [link to the welcome page](welcome), a
[figure link](#fig-a1), a [web link](https://example.org) and `{cite:p}`-style code.
The year
{glue:text}`year`. That line must not become a list.

```python
# a code block: {cite:p}`jones2019` stays as written
```

```{code-cell} ipython3
:tags: [remove-cell, build-check]
assert x > 0
```

```{code-cell} ipython3
:tags: [remove-cell]
hidden = 1
```

```{code-cell} ipython3
:tags: [remove-output]
print("no output on the web")
```

```{code-cell} ipython3
---
mystnb:
  figure:
    caption: Second figure.
    name: fig-a2
---
print("figure two")
```

## Exercises

```{exercise} Change the dose
:label: ex-a1

Change the dose and compare with {numref}`fig-a2`.
```

```{solution-start} ex-a1
:class: dropdown
```
```{code-cell} ipython3
answer = 2 * x
```

The answer doubles, as {cite:t}`smith2020` say.

```{solution-end}
```
```{exercise} Think
:label: ex-a2

Explain {numref}`ex-a1`.
```

```{solution-start} ex-a2
:class: dropdown
```
Text only, citing {cite:p}`agency2021`.

```{solution-end}
```
## References

```{bibliography}
:filter: docname in docnames
:list: bullet
```
"""

CH_B = FRONT + """
# Chapter B

```{code-cell} ipython3
---
mystnb:
  figure:
    caption: Chapter B's figure.
    name: fig-b1
---
print("b")
```

Only {cite:t}`smith2020` here, and no bibliography directive.
"""

NOTES = "# Notes\n\nA page without code.\n"

GLUE = {
    "peak": {"data": {"text/plain": "240.35960423336792"}, "metadata": {}},
    "big": {"data": {"text/plain": "2876.0"}, "metadata": {}},
    "year": {"data": {"text/plain": "2000"}, "metadata": {}},
}


def make_book(root, pages: dict[str, str] | None = None):
    (root / "book").mkdir(parents=True, exist_ok=True)
    (root / "_config.yml").write_text(CONFIG)
    (root / "_toc.yml").write_text(TOC)
    (root / "refs.bib").write_text(BIB)
    (root / "data").mkdir(exist_ok=True)
    for name, text in {"intro": INTRO, "ch_a": CH_A, "ch_b": CH_B, "notes": NOTES, **(pages or {})}.items():
        (root / "book" / f"{name}.md").write_text(text)
    return root


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    return reader.sphinx_config(make_book(tmp_path_factory.mktemp("config")))


@pytest.fixture()
def book_root(tmp_path):
    return make_book(tmp_path / "book")


def convert(root, config, doc="book/ch_a", edition="full", glue=GLUE):
    book = Book(root, edition, config=config)
    full = Book(root, "full", config=config) if edition != "full" else book
    executed = copy.deepcopy(full.pages[doc].notebook)  # as if run: same cells, no outputs
    return reader_notebook(book, doc, executed, glue)


def markdown(notebook) -> str:
    return "\n\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")


def resolved(notebook, role):
    return [entry["text"] for entry in notebook.metadata["ketamine_course"]["resolved"] if entry["role"] == role]


@pytest.fixture()
def chapter_a(book_root, config):
    return convert(book_root, config)


# -- glue -----------------------------------------------------------------------------------------


def test_glued_values_are_formatted_by_myst_nbs_own_function(chapter_a):
    from myst_nb.core.variables import format_plain_text

    text = markdown(chapter_a)
    assert f"peak of {format_plain_text('240.35960423336792', '.0f')} ng/mL" == "peak of 240 ng/mL"
    assert "peak of 240 ng/mL and 2,876 people" in text
    assert "or\n240.4 to one decimal" in text
    assert "240.35960423336792 unformatted" in text  # {glue} shows text/plain as it is
    assert resolved(chapter_a, "glue:text") == ["240", "2,876", "240.4", "2000"]
    assert "{glue" not in text and "peak:" not in text


def test_a_value_at_the_start_of_a_line_does_not_start_a_list(chapter_a):
    text = markdown(chapter_a)
    assert "The year\n2000\\. That line" in text
    tokens = MarkdownIt("commonmark").parse(text)
    assert not any(token.type == "ordered_list_open" for token in tokens)
    assert protect_line_start("2000", ". Then") == "2000\\"
    assert protect_line_start("-0.5", " points") == "-0.5"
    assert protect_line_start("-", " x") == "\\-"
    assert protect_line_start("3", ".5 mg") == "3"


def test_an_unknown_glue_name_is_an_error_naming_file_line_and_name(book_root, config):
    glue = {k: v for k, v in GLUE.items() if k != "big"}
    with pytest.raises(ReaderError, match=r"book/ch_a\.md:\d+: .*no value was glued as 'big'"):
        convert(book_root, config, glue=glue)


# -- citations and the reference list -------------------------------------------------------------


def test_citations_in_author_year_form_linking_to_the_reference_list(chapter_a):
    text = markdown(chapter_a)
    assert "citing \\[[Jones and Brown, 2019](#cite-jones2019)\\]." in text
    assert "from Smith *et al.* \\[[2020](#cite-smith2020)\\]." in text  # a figure caption, {cite:t}
    assert "Textual Jones and Brown \\[[2019](#cite-jones2019)\\]" in text
    assert "\\[[Jones and Brown, 2019](#cite-jones2019), [Smith *et al.*, 2020](#cite-smith2020)\\]" in text
    assert "\\[see [Jones and Brown, 2019](#cite-jones2019), p. 3\\]" in text
    assert "plain \\[[Test Agency, 2021](#cite-agency2021)\\]" in text
    plain = resolved(chapter_a, "cite:p")
    assert plain[0] == "[Jones and Brown, 2019]" and "[see Jones and Brown, 2019, p. 3]" in plain
    visible = re.sub(r"\(#cite-[\w-]+\)|\(cite-[\w-]+\)=|# a code block.*", "", text)  # link targets and the code block
    assert "jones2019" not in visible


def test_keys_of_one_citation_are_in_bibliography_order_as_on_the_web(book_root, config):
    make_book(book_root, {"ch_b": CH_B.replace("{cite:t}`smith2020`", "{cite:p}`smith2020,jones2019`")})
    notebook = convert(book_root, config, doc="book/ch_b")
    assert resolved(notebook, "cite:p") == ["[Jones and Brown, 2019, Smith et al., 2020]"]


def test_two_papers_of_one_author_and_year_keep_the_labels_the_bibliography_gives_them(book_root, config):
    make_book(book_root, {"ch_b": CH_B.replace("{cite:t}`smith2020`", "{cite:p}`lee2013rapid,lee2013first`")})
    notebook = convert(book_root, config, doc="book/ch_b")
    assert resolved(notebook, "cite:p") == ["[Lee, 2013a, Lee, 2013b]"]
    assert [text.split(". ")[1] for text in resolved(notebook, "reference")] == ["First", "Rapid"]


def test_the_reference_list_has_every_cited_entry_sorted_with_doi_links(chapter_a):
    last = chapter_a.cells[-1].source
    assert last.startswith("## 1.3. References")
    assert last.index("(cite-jones2019)=") < last.index("(cite-smith2020)=") < last.index("(cite-agency2021)=")  # by author
    assert "[doi:10.1000/j.test.2019(01)](https://doi.org/10.1000/j.test.2019(01))" in last
    assert "[https://example.org/page](https://example.org/page)" in last
    assert resolved(chapter_a, "reference")[0].startswith("Ann Jones and Bob Brown. A first paper.")


def test_a_page_that_cites_without_a_bibliography_directive_gets_its_references(book_root, config):
    notebook = convert(book_root, config, doc="book/ch_b")
    assert notebook.cells[-1].source.startswith("## References")
    assert "(cite-smith2020)=" in notebook.cells[-1].source and "cite-jones2019" not in notebook.cells[-1].source


def test_an_unknown_citation_key_is_an_error(book_root, config):
    make_book(book_root, {"ch_b": CH_B.replace("{cite:t}`smith2020`", "{cite:t}`nobody1999`")})
    with pytest.raises(ReaderError, match=r"book/ch_b\.md:\d+: .*'nobody1999' is not in the bibliography"):
        convert(book_root, config, doc="book/ch_b")


def test_a_citation_role_the_style_does_not_have_is_an_error(book_root, config):
    make_book(book_root, {"ch_b": CH_B.replace("{cite:t}`smith2020`", "{cite:nonsense}`smith2020`")})
    with pytest.raises(ReaderError, match=r"\{cite:nonsense\} is not a citation role"):
        convert(book_root, config, doc="book/ch_b")


# -- cross-references -----------------------------------------------------------------------------


def test_figures_and_exercises_are_numbered_as_sphinx_numbers_them(book_root, config):
    book = Book(book_root, config=config)
    number = {label: book.number_text(target) for label, target in book.targets.items() if target.number}
    assert number == {
        "fig-intro": "Fig. 1",  # the root page is not numbered
        "fig-a1": "Fig. 1.1", "fig-a2": "Fig. 1.2", "ex-a1": "Exercise 1.1", "ex-a2": "Exercise 1.2",
        "fig-b1": "Fig. 2.1",
    }


def test_numref_ref_doc_and_term_show_their_labels_and_titles(chapter_a):
    text = markdown(chapter_a)
    assert "[Fig. 1.1](#fig-a1) shows a peak" in text
    assert "See [Figure 1.1](#fig-a1),\n[Figure 1.2](#fig-a2), Fig. 2.1 in the next chapter and Fig. 1." in text
    assert "Section [The model](#sec-model), with text\n[the model section](#sec-model), the page Chapter B and that page;" in text
    assert "the term\nNMDA receptor and receptors." in text
    assert "A link to the welcome page, a\n[figure link](#fig-a1), a [web link](https://example.org)" in text
    assert "and `{cite:p}`-style code" in text  # a code span is not a role
    assert "# a code block: {cite:p}`jones2019` stays as written" in text
    assert "(fig-a1)=\n**Fig. 1.1** First figure" in text  # the caption under the figure, as its link target


def test_headings_of_numbered_pages_carry_their_section_numbers(chapter_a, book_root, config):
    text = markdown(chapter_a)
    assert "# 1. Chapter A" in text and "## 1.1. The model" in text and "## 1.2. Exercises" in text
    assert resolved(chapter_a, "section") == ["1.", "1.1.", "1.2.", "1.3."]
    assert "[The model](#sec-model)" in text  # a {ref} shows the title without its number, as on the web
    intro = markdown(convert(book_root, config, doc="book/intro"))
    assert "# Welcome" in intro  # the root page is not numbered


def test_an_unknown_label_is_an_error(book_root, config):
    make_book(book_root, {"ch_b": CH_B + "\nSee {numref}`fig-missing`.\n"})
    with pytest.raises(ReaderError, match=r"book/ch_b\.md:\d+: \{numref\}`fig-missing`: no figure"):
        convert(book_root, config, doc="book/ch_b")


def test_an_unknown_role_is_an_error_naming_it(book_root, config):
    make_book(book_root, {"ch_b": CH_B + "\nA {wibble}`thing` here.\n"})
    with pytest.raises(ReaderError, match=r"book/ch_b\.md:\d+: the role \{wibble\} is not supported .*reader\.py"):
        convert(book_root, config, doc="book/ch_b")


# -- directives -----------------------------------------------------------------------------------


def test_exercises_become_numbered_admonitions_with_their_labels(chapter_a):
    text = markdown(chapter_a)
    assert "(ex-a1)=\n```{admonition} Exercise 1.1 (Change the dose)\n:class: note\n\nChange the dose and compare with [Fig. 1.2](#fig-a2)." in text
    assert "Explain [Exercise 1.1](#ex-a1)." in text
    assert "{exercise}" not in text and "{solution" not in text


def test_gated_solutions_are_folded_markdown_in_dropdowns_and_code_collapsed(chapter_a):
    cells = chapter_a.cells
    header = next(i for i, c in enumerate(cells) if c.source.startswith("**Solution to Exercise 1.1 (Change the dose).**"))
    code, explanation = cells[header + 1], cells[header + 2]
    assert code.cell_type == "code" and code.source == "answer = 2 * x"
    assert code.metadata["jupyter"] == {"source_hidden": True, "outputs_hidden": True}
    assert explanation.source.startswith("```{dropdown} Solution to Exercise 1.1 (Change the dose) (continued)\nThe answer doubles")
    text_only = next(c for c in cells if "Text only" in c.source)
    assert text_only.source.startswith("```{dropdown} Solution to Exercise 1.2 (Think)\nText only, citing")


def test_the_student_edition_has_no_solutions(book_root, config):
    notebook = convert(book_root, config, edition="student")
    text = markdown(notebook)
    assert "Exercise 1.1 (Change the dose)" in text and "Exercise 1.2 (Think)" in text
    assert "Solution to" not in text and "answer = 2 * x" not in [c.source for c in notebook.cells]
    assert "This is the student edition" in text
    assert "cite-agency2021" in text  # still cited outside the solution


def test_an_unknown_directive_is_an_error_naming_it(book_root, config):
    make_book(book_root, {"ch_b": CH_B + "\n```{wobble}\nx\n```\n"})
    with pytest.raises(ReaderError, match=r"book/ch_b\.md:\d+: the directive \{wobble\} is not supported"):
        convert(book_root, config, doc="book/ch_b")


def test_an_exercise_inside_a_list_is_an_error(book_root, config):
    make_book(book_root, {"ch_b": CH_B + "\n- item\n\n  ```{exercise} Nested\n  :label: ex-nested\n  text\n  ```\n"})
    with pytest.raises(ReaderError, match=r"\{exercise\} inside a list or quote is not supported"):
        convert(book_root, config, doc="book/ch_b")


def test_known_directives_pass_through_with_their_text_resolved(book_root, config):
    extra = "\n:::{note}\nA note citing {cite:p}`jones2019`.\n:::\n\n:::{dropdown} Quiz on {numref}`fig-b1`\nAnswer.\n:::\n"
    make_book(book_root, {"ch_b": CH_B + extra})
    text = markdown(convert(book_root, config, doc="book/ch_b"))
    assert ":::{note}\nA note citing \\[[Jones and Brown, 2019](#cite-jones2019)\\].\n:::" in text
    assert ":::{dropdown} Quiz on [Fig. 2.1](#fig-b1)\nAnswer.\n:::" in text


# -- code cells and the notebook ------------------------------------------------------------------


def test_code_cells_keep_their_code_with_jupyterlab_folding_and_build_checks_dropped(chapter_a):
    code = [c for c in chapter_a.cells if c.cell_type == "code"]
    sources = [c.source for c in code]
    assert "assert x > 0" not in sources  # build-check: dropped
    by_source = {c.source: c.metadata.get("jupyter", {}) for c in code}
    assert by_source["x = 240.35960423336792"] == {"source_hidden": True}  # hide-input
    assert by_source["hidden = 1"] == {"source_hidden": True, "outputs_hidden": True}  # remove-cell: kept (later cells may need it), folded
    assert by_source['print("no output on the web")'] == {"outputs_hidden": True}  # remove-output
    assert by_source['print("figure two")'] == {}


def test_one_note_under_the_title_and_content_note(chapter_a):
    first = chapter_a.cells[0].source
    assert first.count(reader.NOTE_TITLE) == 1 and markdown(chapter_a).count(reader.NOTE_TITLE) == 1
    assert first.index("# 1. Chapter A") < first.index("Content note") < first.index(reader.NOTE_TITLE) < first.index("Intro text")
    assert "computed with the chapter's original settings" in first and "`book/ch_a.md`" in first


def test_the_notebook_is_valid_and_records_its_source(chapter_a):
    nbformat.validate(chapter_a)
    meta = chapter_a.metadata["ketamine_course"]
    assert meta["source"] == "book/ch_a.md" and meta["edition"] == "full"
    assert chapter_a.metadata["kernelspec"]["name"] == "python3"


def test_reader_notebook_paths():
    assert notebook_relpath("book/02_rapid_onset") == "02_rapid_onset.ipynb"
    assert notebook_relpath("book/02_rapid_onset", "student") == "student/02_rapid_onset.ipynb"
    assert notebook_relpath("book/part/x") == "part/x.ipynb"
    with pytest.raises(ValueError):
        notebook_relpath("book/x", "teacher")


def test_only_pages_with_code_get_a_reader_notebook(book_root, config):
    assert Book(book_root, config=config).reader_docs() == ["book/intro", "book/ch_a", "book/ch_b"]


# -- the real book --------------------------------------------------------------------------------


class AnyGlue(dict):
    """Every name glued, as a number (the real values come from running the chapter; see test_reader_build)."""

    def __contains__(self, key):
        return True

    def __getitem__(self, key):
        return {"data": {"text/plain": "1.5"}, "metadata": {}}


@pytest.mark.parametrize("edition", reader.EDITIONS)
def test_every_page_of_the_book_converts(root, edition):
    """A chapter that uses a role or directive the reader cannot show fails here, fast, with its line."""
    book = Book(root, edition)
    assert book.reader_docs(), "no page with code"
    for doc in book.reader_docs():
        notebook = reader_notebook(book, doc, copy.deepcopy(Book(root).pages[doc].notebook), AnyGlue())
        text = markdown(notebook)
        assert not [m for m in reader.ROLE_OR_CODE.finditer(text) if m.group("name") and m.group("name") not in reader.PASSTHROUGH_ROLES], doc
        assert "{exercise}" not in text and "{solution" not in text and "{bibliography}" not in text


def test_the_student_text_is_the_student_editions(root):
    from ketamine_course.editions import student_text

    for path in sorted((root / "book").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        once = student_text(text)
        assert student_text(once) == once, f"{path.name}: the student transform is not idempotent"


def test_the_build_check_reports_numbers_and_citations_that_differ_from_sphinxs(book_root, config):
    """ketamine_course.reader_sphinx compares the reader's numbers and citations with the build's (here a stand-in)."""
    from types import SimpleNamespace

    from ketamine_course.reader_sphinx import disagreements

    book = Book(book_root, config=config)
    labels = {t.label: (t.doc, t.label, "") for t in book.targets.values()}
    numbers: dict = {}
    for t in book.targets.values():
        if t.number:
            numbers.setdefault(t.doc, {}).setdefault(t.kind, {})[t.label] = t.number
    refs = [SimpleNamespace(docname=doc, targets=[SimpleNamespace(key=k) for k in page.cited]) for doc, page in book.pages.items()]
    domains = {"std": SimpleNamespace(labels=labels, anonlabels={}), "cite": SimpleNamespace(citation_refs=refs)}
    app = SimpleNamespace(env=SimpleNamespace(toc_fignumbers=numbers, get_domain=domains.__getitem__))
    assert disagreements(app, book) == []
    numbers["book/ch_a"]["figure"]["fig-a2"] = (1, 3)
    refs.append(SimpleNamespace(docname="book/ch_b", targets=[SimpleNamespace(key="jones2019")]))
    problems = disagreements(app, book)
    assert len(problems) == 2
    assert "'fig-a2': the reader numbers it (1, 2) in book/ch_a, Sphinx (1, 3)" in problems[0]
    assert "book/ch_b: citations only on the web page ['jones2019']" in problems[1]
