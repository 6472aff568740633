"""Chapter bundles: each unpacks in an empty folder outside the repository and runs there, from its own
copy of the course package and data, without errors; the built site offers each from its chapter page."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT
from ketamine_course.bundles import build_bundle, notebook_for

# The numbered chapters, as the Sphinx extension finds them.
import yaml

TOC = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
CHAPTERS = [e["file"].split("/")[-1] for part in TOC["parts"] if part.get("numbered") for e in part["chapters"]]


def unpack(stem: str, tmp_path: Path) -> Path:
    bundle = build_bundle(stem, tmp_path / "out", ROOT)
    target = tmp_path / "unpacked"
    target.mkdir()
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(target)
    folder = target / stem
    assert ROOT not in folder.parents and folder.is_dir()
    return folder


def bundle_env(folder: Path) -> dict:
    """Only the bundle's own package and data: its folder first on the path, run from inside it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "PYTHONPATH", "MPLBACKEND"))}
    env["PYTHONPATH"] = str(folder)
    return env


def test_there_are_chapters_to_bundle():
    assert CHAPTERS


@pytest.mark.parametrize("stem", CHAPTERS)
def test_bundle_contents(stem, tmp_path):
    folder = unpack(stem, tmp_path)
    for name in ("README.txt", "_config.yml", "requirements.txt", "pyproject.toml", "references.bib",
                 f"book/{stem}.ipynb", "data/datapackage.json", "ketamine_course/__init__.py", "ketamine_course/checks/__init__.py"):
        assert (folder / name).is_file(), f"{stem}.zip lacks {name}"
    notebook = nbformat.read(folder / "book" / f"{stem}.ipynb", as_version=4)
    nbformat.validate(notebook)
    text = "\n".join(c.source for c in notebook.cells)
    assert "{solution-start}" not in text, "the bundle's notebook is not in student form"
    assert not any("build-check" in c.metadata.get("tags", []) for c in notebook.cells)
    # the same bytes every time (fixed dates, sorted members)
    again = build_bundle(stem, tmp_path / "again", ROOT)
    assert again.read_bytes() == (tmp_path / "out" / f"{stem}.zip").read_bytes()


@pytest.mark.build
@pytest.mark.parametrize("stem", CHAPTERS)
def test_bundle_runs_in_an_empty_folder_outside_the_repository(stem, tmp_path):
    folder = unpack(stem, tmp_path)
    env = bundle_env(folder)
    where = subprocess.run([sys.executable, "-c", "import ketamine_course, sys; print(ketamine_course.__file__)"],
                           cwd=folder / "book", env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).resolve().is_relative_to(folder.resolve()), f"the notebook would import the package from {where}, not from the bundle"
    notebook = nbformat.read(folder / "book" / f"{stem}.ipynb", as_version=4)
    old = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder / "book")}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error" or (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    assert not errors, f"{stem}: {errors[0]}"


def test_the_notebook_generator_is_one_function():
    notebook = notebook_for(CHAPTERS[0], ROOT)
    assert notebook.cells and notebook.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.build
def test_the_built_site_offers_each_bundle_from_its_chapter(book_build):
    for part in TOC["parts"]:
        if not part.get("numbered"):
            continue
        for entry in part["chapters"]:
            stem = entry["file"].split("/")[-1]
            assert (book_build.html / "bundles" / f"{stem}.zip").is_file(), stem
            page = (book_build.html / f"{entry['file']}.html").read_text(encoding="utf-8")
            assert f'href="../bundles/{stem}.zip"' in page, f"{stem}: no download link on the page"
