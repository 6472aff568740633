"""Shared fixtures: the repository, disposable copies of it, and one strict build."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IGNORE = shutil.ignore_patterns(".venv", "_build", ".git", ".pytest_cache", "__pycache__", "*.egg-info", ".ipynb_checkpoints", "artifacts", "notebooks", "node_modules")
JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")
BUILD_ARGS = ["build", ".", "-W", "-n", "--keep-going"]


def copy_repo(dest: Path) -> Path:
    """Copy the working tree (without environments and build output) to ``dest``."""
    shutil.copytree(ROOT, dest, ignore=IGNORE)
    return dest


def run_build(repo: Path, timeout: int = 1500, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the README's strict build in ``repo``; return the finished process (output in .stdout).

    ``env`` adds environment variables (the chapters' kernels inherit them).
    """
    env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    # A non-interactive MPLBACKEND (e.g. Agg, set by some CI images) stops the notebook
    # kernel from showing figures inline; the kernel must choose its own backend.
    env.pop("MPLBACKEND", None)
    return subprocess.run(
        [str(JUPYTER_BOOK), *BUILD_ARGS],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture()
def repo_copy(tmp_path: Path) -> Path:
    """A throwaway copy of the repository that a test may break."""
    return copy_repo(tmp_path / "repo")


class Build:
    def __init__(self, repo: Path, process: subprocess.CompletedProcess):
        self.repo = repo
        self.returncode = process.returncode
        self.log = process.stdout
        self.html = repo / "_build" / "html"


@pytest.fixture(scope="session")
def book_build(tmp_path_factory) -> Build:
    """One clean, strict build of a fresh copy of the repository, shared by the build and browser tests."""
    repo = copy_repo(tmp_path_factory.mktemp("book") / "repo")
    build = Build(repo, run_build(repo))
    artifacts = ROOT / "_build" / "test-artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / "build.log").write_text(build.log, encoding="utf-8")
    # A notebook that failed leaves its traceback in reports/; CI uploads test-artifacts/.
    reports = build.html / "reports"
    if reports.is_dir():
        shutil.copytree(reports, artifacts / "reports", dirs_exist_ok=True)
    return build


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    from book_pages import CHROMIUM_ARGS, chromium_path

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
