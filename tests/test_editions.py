"""Editions: model answers never reach the public or the student edition, worked solutions never
reach the student edition, and the instructor edition has everything.

Each edition is built strictly from a copy of the repository (the public one is the session's
build). Then EVERY file of each built site is searched (pages, downloadable .md/.ipynb sources,
the search index, notebook bundles and what is inside them) for the text of every model answer
(instructor/*.md) and, in the student edition, of every worked solution. The same search over
the edition that should contain the text must find it, which shows the search works.
"""

from __future__ import annotations

import json
import re
import zipfile
from functools import cache
from pathlib import Path

import pytest
import snowballstemmer
from bs4 import BeautifulSoup

from conftest import ROOT, copy_repo, run_build
from ketamine_course.editions import INSTRUCTOR_PART, instructor_pages, make_edition, solution_blocks, strip_solutions

pytestmark = pytest.mark.build

MIN_WORDS = 7


def normalise(text: str) -> str:
    return " " + re.sub(r"[^0-9a-z]+", " ", text.lower()).strip() + " "


def prose(markdown: str) -> str:
    """The prose of a MyST page: no front matter, code cells, directive lines or role targets."""
    text = re.sub(r"\A---\n.*?\n---\n", "", markdown, flags=re.S)
    text = re.sub(r"^```\{code-cell\}.*?^```\s*$", "\n", text, flags=re.S | re.M)
    text = re.sub(r"^(```|:::).*$", "\n", text, flags=re.M)
    text = re.sub(r"^:\w[\w-]*:.*$", "\n", text, flags=re.M)  # directive options
    text = re.sub(r"\{[\w:-]+\}`[^`]*`", " | ", text)  # roles render differently: a break
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return text


def fingerprints(markdown: str) -> list[str]:
    """Normalised fragments of at least MIN_WORDS words, split where rendering may differ."""
    out = []
    for fragment in re.split(r"[|.;:!?()\n]{1}\s*(?=\S|$)|\n\s*\n", prose(markdown)):
        words = normalise(fragment).split()
        if len(words) >= MIN_WORDS:
            out.append(" " + " ".join(words) + " ")
    return out


@cache
def student_corpus() -> str:
    """Everything the student edition may show: every page of book/ without its worked solutions, and the public files."""
    pages = " ".join(prose(strip_solutions(p.read_text(encoding="utf-8"))) for p in public_pages())
    # data tables, the package and the bibliography are public too (every bundle carries them)
    others = [*(ROOT / "data").glob("*"), *(ROOT / "ketamine_course").rglob("*.py"), ROOT / "references.bib"]
    return normalise(pages + " " + " ".join(p.read_text(encoding="utf-8", errors="ignore") for p in others if p.is_file()))


def unique(fragments: list[str]) -> list[str]:
    """Fragments that only the secret text has (a sentence a model answer quotes from a brief is not secret)."""
    corpus = student_corpus()
    return [f for f in fragments if f not in corpus]


def public_pages() -> list[Path]:
    """book/ pages, except a copy of a model-answer page (a leak must not hide itself)."""
    secret_names = {p.name for p in instructor_pages(ROOT)}
    return [p for p in sorted((ROOT / "book").rglob("*.md")) if p.name not in secret_names]


def model_answer_texts() -> dict[str, list[str]]:
    return {page.name: unique(fingerprints(page.read_text(encoding="utf-8"))) for page in instructor_pages(ROOT)}


def worked_solution_texts() -> dict[str, list[str]]:
    texts = {}
    for page in sorted((ROOT / "book").glob("*.md")):
        blocks = solution_blocks(page.read_text(encoding="utf-8"))
        if blocks:
            texts[page.name] = unique([f for block in blocks for f in fingerprints(block)])
    return texts


def file_texts(site: Path):
    """(relative path, normalised text) for every file of a built site, and for every member of a zip."""
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        rel = path.relative_to(site).as_posix()
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as bundle:
                for member in bundle.namelist():
                    data = bundle.read(member)
                    yield f"{rel}!{member}", decode(member, data)
            continue
        if path.suffix.lower() in {".png", ".jpg", ".jpeg", ".gif", ".ico", ".woff", ".woff2", ".ttf", ".eot", ".pdf", ".svg"}:
            continue
        yield rel, decode(rel, path.read_bytes())


def decode(name: str, data: bytes) -> str:
    text = data.decode("utf-8", errors="ignore")
    if name.endswith(".html"):
        text = BeautifulSoup(text, "html.parser").get_text(" ")
    elif name.endswith(".ipynb"):
        try:
            cells = json.loads(text).get("cells", [])
            text = "\n".join("".join(c.get("source", "")) for c in cells)
            text = prose(text) + "\n" + text
        except json.JSONDecodeError:
            pass
    elif name.endswith((".md", ".txt")):
        text = prose(text) + "\n" + text
    return normalise(text)


def leaks(site: Path, secrets: dict[str, list[str]]) -> list[str]:
    found = []
    all_fragments = [(source, fragment) for source, fragments in secrets.items() for fragment in fragments]
    for rel, text in file_texts(site):
        for source, fragment in all_fragments:
            if fragment in text:
                found.append(f"{rel}: text of {source}: {fragment.strip()[:80]!r}")
    return found


@cache
def stem(word: str) -> str:
    return snowballstemmer.stemmer("porter").stemWord(word)


def search_index(site: Path) -> dict:
    raw = (site / "searchindex.js").read_text(encoding="utf-8")
    return json.loads(raw[raw.index("(") + 1 : raw.rindex(")")])


def rare_stems(secret_pages: list[Path]) -> set[str]:
    """Search-index stems that the model answers have and nothing public could produce.

    The public vocabulary is every word of the book's sources, bibliography, data tables and
    course package (what the public pages are rendered from, outputs included)."""
    public_files = [*public_pages(), *(ROOT / "book").rglob("*.json"), ROOT / "references.bib",
                    *(ROOT / "data").glob("*"), *(ROOT / "ketamine_course").rglob("*.py"), ROOT / "_config.yml", ROOT / "_toc.yml"]
    public = {stem(w) for p in public_files if p.is_file() for w in re.findall(r"[a-z]+", p.read_text(encoding="utf-8", errors="ignore").lower())}
    secret = {stem(w) for p in secret_pages for w in re.findall(r"[a-z]+", prose(p.read_text(encoding="utf-8")).lower())}
    return {s for s in secret - public if len(s) >= 5}


# ---- the editions, built ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def editions(book_build, tmp_path_factory):
    sites = {"public": book_build}
    for edition in ("student", "instructor"):
        base = tmp_path_factory.mktemp(edition)
        repo = copy_repo(base / "repo")
        out = base / "edition"
        make_edition(edition, repo, out)
        result = run_build(out)
        assert result.returncode == 0, f"{edition} edition did not build:\n{result.stdout[-4000:]}"
        warnings = [line for line in result.stdout.splitlines() if "WARNING:" in line or "ERROR:" in line]
        assert not warnings, f"{edition} edition: {warnings[:10]}"
        sites[edition] = type("Site", (), {"html": out / "_build" / "html", "repo": out})
    assert book_build.returncode == 0, book_build.log[-3000:]
    return {name: site.html for name, site in sites.items()}


def test_there_are_model_answers_and_worked_solutions_to_protect():
    answers, solutions = model_answer_texts(), worked_solution_texts()
    assert len(answers) >= 2 and all(len(f) >= 10 for f in answers.values()), {k: len(v) for k, v in answers.items()}
    assert solutions and all(solutions.values())


def test_no_model_answer_in_the_public_or_the_student_edition(editions):
    secrets = model_answer_texts()
    for edition in ("public", "student"):
        found = leaks(editions[edition], secrets)
        assert not found, f"{edition} edition contains model-answer text:\n" + "\n".join(found[:20])


def test_no_worked_solution_in_the_student_edition(editions):
    found = leaks(editions["student"], worked_solution_texts())
    assert not found, "student edition contains worked-solution text:\n" + "\n".join(found[:20])


def test_the_search_finds_what_each_edition_should_contain(editions):
    """Positive controls: without them, an empty search would pass the two tests above."""
    for source, fragments in model_answer_texts().items():
        texts = dict(file_texts(editions["instructor"]))
        missing = [f for f in fragments if not any(f in t for t in texts.values())]
        assert len(missing) <= len(fragments) // 10, f"instructor edition lacks {source}: {missing[:5]}"
    public = dict(file_texts(editions["public"]))
    for source, fragments in worked_solution_texts().items():
        missing = [f for f in fragments if not any(f in t for t in public.values())]
        assert len(missing) <= len(fragments) // 10, f"public edition lacks the worked solutions of {source}: {missing[:5]}"


def test_the_search_index_of_each_edition_holds_only_its_pages(editions):
    stems = rare_stems(instructor_pages(ROOT))
    assert len(stems) >= 10, f"too few words unique to the model answers to test the index with: {sorted(stems)}"
    for edition in ("public", "student", "instructor"):
        index = search_index(editions[edition])
        docnames = index["docnames"]
        terms = set(index["terms"])
        if edition == "instructor":
            assert any(d.startswith("book/instructor/") for d in docnames)
            assert len(stems & terms) >= len(stems) // 2, "the instructor index lacks the model answers' words"
        else:
            assert not [d for d in docnames if "instructor/" in d], f"{edition} index lists instructor pages"
            assert not any(INSTRUCTOR_PART in t or "model answer" in t.lower() for t in index["titles"]), f"{edition} index has a model-answer title"
            leaked = sorted(stems & terms)
            assert not leaked, f"{edition} search index contains words found only in model answers: {leaked[:20]}"


def test_the_instructor_edition_lists_its_pages_and_warns(editions):
    html = editions["instructor"]
    for page in instructor_pages(ROOT):
        built = html / "book" / "instructor" / f"{page.stem}.html"
        assert built.is_file(), built
        assert "Instructor edition" in built.read_text(encoding="utf-8")
    index = (html / "book" / "instructors.html").read_text(encoding="utf-8")
    assert INSTRUCTOR_PART in index


# ---- the edition machinery, fast -------------------------------------------------------------------


@pytest.mark.parametrize("edition", ["student", "instructor"])
def test_make_edition_writes_a_book(tmp_path, edition):
    out = tmp_path / edition
    changed = make_edition(edition, ROOT, out)
    assert changed and (out / "_toc.yml").is_file() and (out / "book" / "intro.md").is_file()
    toc = (out / "_toc.yml").read_text(encoding="utf-8")
    assert ("book/instructor/" in toc) == (edition == "instructor")
    assert not (out / "instructor").exists(), "model answers must only enter an edition under book/instructor/"


def test_the_public_configuration_never_reads_the_model_answers():
    config = (ROOT / "_config.yml").read_text(encoding="utf-8")
    assert re.search(r"^\s+- instructor$", config, re.M), "_config.yml must exclude instructor/"
    assert "instructor" not in (ROOT / "_toc.yml").read_text(encoding="utf-8").replace("instructors", "")


def test_fingerprints_survive_rendering():
    text = "A claim with a citation {cite:p}`key2020` and **bold** words in a long enough sentence here.\n"
    assert " and bold words in a long enough sentence here " in fingerprints(text)[0]
    assert strip_solutions("x\n```{solution-start} e\n```\nsecret\n```{solution-end}\n```\ny\n") == "x\ny\n"
