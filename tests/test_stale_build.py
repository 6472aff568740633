"""The build is never stale: every input a chapter reads is tracked, and exactly the affected chapters re-run.

Most tests here work on a small copy of the repository whose table of contents holds two probe
chapters, each reading its own data table (``probe_alpha`` also imports a package module of its
own, ``ketamine_course/probe_model.py``), and rebuild it step by step as a user would after editing
a file (the steps run in order and share one build directory, so each rebuild is incremental). Which
chapters actually executed is read from three independent places that must agree: a line each probe
chapter's own code appends to a file outside the repository, the build log's "Executing notebook"
lines (the extension's and myst-nb's own), and ``_build/execution-report.json``.

The last tests check the real chapters, on the shared clean build: every table a chapter loads is
among its recorded inputs, a rebuild with no change executes nothing, and editing one real table
re-executes exactly the chapters that read it.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from conftest import copy_repo, run_build
from test_build import toc_files

pytestmark = pytest.mark.build

PROBES = ("probe_alpha", "probe_beta")

HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""

ALPHA = HEADER + """# Probe alpha

```{code-cell} ipython3
import os

from ketamine_course import load_table
from ketamine_course.notebook import glue_values
from ketamine_course.probe_model import FACTOR

with open(os.environ["PROBE_RUNS"], "a", encoding="utf-8") as runs:
    runs.write("probe_alpha\\n")
value = float(load_table("probe_alpha")["value"].iloc[0])
_ = glue_values({"alpha_value": value, "alpha_scaled": value * FACTOR})
```

The alpha value is {glue:text}`alpha_value:.2f`; scaled, it is {glue:text}`alpha_scaled:.2f`.
"""

BETA = HEADER + """# Probe beta

```{code-cell} ipython3
import os

from ketamine_course import load_table
from ketamine_course.notebook import glue_values

with open(os.environ["PROBE_RUNS"], "a", encoding="utf-8") as runs:
    runs.write("probe_beta\\n")
_ = glue_values({"beta_value": float(load_table("probe_beta")["value"].iloc[0])})
```

The beta value is {glue:text}`beta_value:.2f`.
"""


def resource(name: str, source: str) -> dict:
    return {
        "name": name,
        "path": f"{name}.csv",
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "title": f"Test table {name}",
        "description": "A one-row table used by the stale-build tests.",
        "sources": [{"title": "test", "bibkey": source}],
        "schema": {
            "fields": [
                {"name": "name", "type": "string", "description": "Row name.", "constraints": {"required": True}},
                {"name": "value", "type": "number", "description": "A number the page glues.", "constraints": {"required": True}},
                {"name": "source", "type": "string", "description": "Bibliography key.", "constraints": {"required": True}},
                {"name": "locator", "type": "string", "description": "Where in the source.", "constraints": {"required": True}},
            ]
        },
    }


class ProbeBook:
    """A two-chapter copy of the repository, rebuilt step by step."""

    def __init__(self, repo: Path, runs: Path):
        self.repo = repo
        self.runs = runs
        self.last = None

    def csv(self, name: str, value: str) -> Path:
        path = self.repo / "data" / f"{name}.csv"
        path.write_text(f"name,value,source,locator\nprobe,{value},{self.source},Table 1\n", encoding="utf-8")
        return path

    def build(self):
        self.runs.write_text("", encoding="utf-8")
        result = run_build(self.repo, env={"PROBE_RUNS": str(self.runs)})
        self.last = result
        return result

    def executed(self) -> set[str]:
        """The chapters whose code ran in the last build, from three sources that must agree."""
        ran = self.runs.read_text(encoding="utf-8").split()
        assert len(ran) == len(set(ran)), f"a chapter ran twice in one build: {ran}"
        logged = set()
        for match in re.finditer(r"^(\S+?)\.md: Executing notebook", self.last.stdout, re.M):
            logged.add(Path(match.group(1)).name)
        report = json.loads((self.repo / "_build" / "execution-report.json").read_text(encoding="utf-8"))
        reported = {Path(doc).name for doc in report["executed"]}
        assert set(ran) == logged == reported, f"runs {ran}, log {logged}, report {reported}"
        return set(ran)

    def page(self, name: str) -> str:
        html = (self.repo / "_build" / "html" / "book" / f"{name}.html").read_text(encoding="utf-8")
        return " ".join(BeautifulSoup(html, "html.parser").select_one("article").get_text().split())

    def ok(self, result=None) -> None:
        result = result or self.last
        assert result.returncode == 0, result.stdout[-5000:]
        warnings = [line for line in result.stdout.splitlines() if "WARNING:" in line or "ERROR:" in line]
        assert not warnings, "\n".join(warnings[:20])


@pytest.fixture(scope="module")
def probe(tmp_path_factory) -> ProbeBook:
    """The probe book, built once from clean (the first test checks that build)."""
    base = tmp_path_factory.mktemp("stale")
    repo = copy_repo(base / "repo")
    book = ProbeBook(repo, base / "runs.log")
    (repo / "_toc.yml").write_text("format: jb-book\nroot: book/probe_alpha\nchapters:\n  - file: book/probe_beta\n", encoding="utf-8")
    (repo / "book" / "probe_alpha.md").write_text(ALPHA, encoding="utf-8")
    (repo / "book" / "probe_beta.md").write_text(BETA, encoding="utf-8")
    (repo / "ketamine_course" / "probe_model.py").write_text("FACTOR = 2.0\n", encoding="utf-8")
    book.source = re.search(r"@\w+\{([^,\s]+),", (repo / "references.bib").read_text(encoding="utf-8")).group(1)
    package = json.loads((repo / "data" / "datapackage.json").read_text(encoding="utf-8"))
    package["resources"] += [resource(name, book.source) for name in PROBES]
    (repo / "data" / "datapackage.json").write_text(json.dumps(package, indent=2) + "\n", encoding="utf-8")
    book.csv("probe_alpha", "1.5")
    book.csv("probe_beta", "7.25")
    book.build()
    return book


def test_clean_build_executes_both_chapters(probe):
    probe.ok()
    assert probe.executed() == set(PROBES)
    assert "The alpha value is 1.50; scaled, it is 3.00." in probe.page("probe_alpha")
    assert "The beta value is 7.25." in probe.page("probe_beta")
    inputs = json.loads((probe.repo / "_build" / "execution-report.json").read_text(encoding="utf-8"))["inputs"]
    alpha, beta = set(inputs["book/probe_alpha"]), set(inputs["book/probe_beta"])
    shared = {"data/datapackage.json", "references.bib", "ketamine_course/__init__.py", "ketamine_course/data.py"}
    assert shared | {"data/probe_alpha.csv", "ketamine_course/probe_model.py"} <= alpha
    assert shared | {"data/probe_beta.csv"} <= beta
    assert "data/probe_beta.csv" not in alpha and "data/probe_alpha.csv" not in beta
    assert "ketamine_course/probe_model.py" not in beta


def reader_prose(probe, name: str) -> str:
    """The Markdown of the page's reader notebook (what Binder opens), from this build."""
    notebook = json.loads((probe.repo / "_build" / "reader" / f"{name}.ipynb").read_text(encoding="utf-8"))
    return "\n".join("".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "markdown")


def test_no_change_executes_nothing(probe):
    probe.build()
    probe.ok()
    assert probe.executed() == set()
    assert "The alpha value is 1.50" in probe.page("probe_alpha")
    # Nor are the reader notebooks written again (ketamine_course.stamps), and they still say the same.
    assert re.search(r"reader notebooks: \d+ unchanged \(no input changed\)", probe.last.stdout), probe.last.stdout[-2000:]
    assert "The alpha value is 1.50" in reader_prose(probe, "probe_alpha")


def test_a_touched_but_unchanged_file_executes_nothing(probe):
    os.utime(probe.repo / "data" / "probe_alpha.csv")  # newer modification time, same content
    probe.build()
    probe.ok()
    assert probe.executed() == set()


def test_an_edited_number_in_a_csv_reexecutes_only_the_chapter_that_reads_it(probe):
    probe.csv("probe_alpha", "2.5")
    probe.build()
    probe.ok()
    assert probe.executed() == {"probe_alpha"}
    assert "The alpha value is 2.50; scaled, it is 5.00." in probe.page("probe_alpha")
    assert "The beta value is 7.25." in probe.page("probe_beta")
    assert "The alpha value is 2.50; scaled, it is 5.00." in reader_prose(probe, "probe_alpha"), "the reader notebook is stale"


def test_an_edit_restored_with_an_old_modification_time_is_still_seen(probe):
    path = probe.repo / "data" / "probe_alpha.csv"
    before = path.stat()
    probe.csv("probe_alpha", "3.75")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns - 3_600_000_000_000))  # an hour older
    probe.build()
    probe.ok()
    assert probe.executed() == {"probe_alpha"}
    assert "The alpha value is 3.75" in probe.page("probe_alpha")


def test_a_corrupted_csv_fails_the_build_naming_the_file(probe):
    probe.csv("probe_alpha", "2.5x")
    result = probe.build()
    assert result.returncode != 0
    assert "data/probe_alpha.csv, row 1 (line 2), column 'value': '2.5x' is not a number" in result.stdout
    # Mended, the book builds again and shows the mended number.
    probe.csv("probe_alpha", "4.5")
    probe.build()
    probe.ok()
    assert "probe_alpha" in probe.executed()
    assert "The alpha value is 4.50" in probe.page("probe_alpha")


def test_a_changed_package_module_reexecutes_the_chapters_that_import_it(probe):
    (probe.repo / "ketamine_course" / "probe_model.py").write_text("FACTOR = 3.0\n", encoding="utf-8")
    probe.build()
    probe.ok()
    assert probe.executed() == {"probe_alpha"}
    assert "scaled, it is 13.50." in probe.page("probe_alpha")
    # A module every chapter imports (through the loader) re-runs both.
    data_py = probe.repo / "ketamine_course" / "data.py"
    data_py.write_text(data_py.read_text(encoding="utf-8") + "\n# edited by the stale-build test\n", encoding="utf-8")
    probe.build()
    probe.ok()
    assert probe.executed() == set(PROBES)


def test_an_edited_bibliography_reexecutes_every_chapter_that_validates_data_against_it(probe):
    # (data/datapackage.json is a recorded input of both too: see the clean-build test.)
    bib = probe.repo / "references.bib"
    bib.write_text(bib.read_text(encoding="utf-8") + "\n% edited by the stale-build test\n", encoding="utf-8")
    probe.build()
    probe.ok()
    assert probe.executed() == set(PROBES)


def test_a_prose_edit_rereads_the_page_without_executing_it(probe):
    page = probe.repo / "book" / "probe_beta.md"
    page.write_text(page.read_text(encoding="utf-8").replace("The beta value is", "The beta number is"), encoding="utf-8")
    probe.build()
    probe.ok()
    assert probe.executed() == set()
    assert "The beta number is 7.25." in probe.page("probe_beta")
    assert "The beta number is 7.25." in reader_prose(probe, "probe_beta"), "the reader notebook is stale"


def test_a_code_edit_reexecutes_only_that_chapter(probe):
    page = probe.repo / "book" / "probe_beta.md"
    page.write_text(page.read_text(encoding="utf-8").replace("import os\n", "import os  # edited\n"), encoding="utf-8")
    probe.build()
    probe.ok()
    assert probe.executed() == {"probe_beta"}


# ---- the real chapters, on the shared clean build ----------------------------------------------------


def report(build) -> dict:
    return json.loads((build.repo / "_build" / "execution-report.json").read_text(encoding="utf-8"))


def tables_loaded(source: str) -> set[str]:
    return set(re.findall(r"load_table\(\s*[\"'](\w+)[\"']", source))


def test_every_table_a_real_chapter_loads_is_among_its_recorded_inputs(book_build):
    assert book_build.returncode == 0, book_build.log[-3000:]
    inputs = report(book_build)["inputs"]
    paths = {r["name"]: r["path"] for r in json.loads((book_build.repo / "data" / "datapackage.json").read_text(encoding="utf-8"))["resources"]}
    checked = 0
    for page in toc_files(book_build.repo):
        tables = tables_loaded((book_build.repo / f"{page}.md").read_text(encoding="utf-8")) if (book_build.repo / f"{page}.md").is_file() else set()
        if not tables:
            continue
        recorded = set(inputs.get(page, []))
        missing = {f"data/{paths[t]}" for t in tables} - recorded
        assert not missing, f"{page} loads {sorted(missing)} but the build did not record it"
        assert {"data/datapackage.json", "references.bib", "ketamine_course/data.py"} <= recorded, page
        checked += 1
    assert checked >= 1


@pytest.fixture(scope="module")
def real_copy(book_build, tmp_path_factory) -> Path:
    """A copy of the shared clean build, with its _build (cache and manifest) included."""
    assert book_build.returncode == 0, book_build.log[-3000:]
    dest = tmp_path_factory.mktemp("real") / "repo"
    shutil.copytree(book_build.repo, dest, ignore=shutil.ignore_patterns("html", "test-artifacts"))
    return dest


def executed_in(log: str) -> set[str]:
    return {Path(m.group(1)).name for m in re.finditer(r"^(\S+?)\.md: Executing notebook", log, re.M)}


def test_real_book_rebuilt_without_change_executes_nothing(real_copy):
    result = run_build(real_copy)
    assert result.returncode == 0, result.stdout[-3000:]
    assert executed_in(result.stdout) == set(), result.stdout[-3000:]


def test_real_book_edited_table_reexecutes_exactly_the_chapters_that_read_it(real_copy):
    inputs = json.loads((real_copy / "_build" / "execution-report.json").read_text(encoding="utf-8"))["inputs"]
    readers: dict[str, set[str]] = {}
    for doc, files in inputs.items():
        for file in files:
            if file.startswith("data/") and file.endswith(".csv"):
                readers.setdefault(file, set()).add(Path(doc).name)
    # The table read by the fewest chapters (the most telling case); its locator text is edited,
    # which keeps it valid and every prose statement true.
    table = min(sorted(readers), key=lambda f: len(readers[f]))
    path = real_copy / table
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][-1] == "locator", f"{table}: expected the locator as the last column"
    rows[1][-1] += " (checked)"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    result = run_build(real_copy)
    assert result.returncode == 0, result.stdout[-3000:]
    assert executed_in(result.stdout) == readers[table], (table, result.stdout[-3000:])
