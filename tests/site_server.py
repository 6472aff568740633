"""The built site served as GitHub Pages serves it (gzip, keep-alive), for the browser tests.

Uses scripts/lighthouse.py's server, so that the page-speed audit and the browser tests see the
same answers.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache

import pytest

from conftest import ROOT


@cache
def lighthouse_script():
    """scripts/lighthouse.py as a module (its Server, audit and page lists)."""
    spec = importlib.util.spec_from_file_location("lighthouse_script", ROOT / "scripts" / "lighthouse.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def chapter_pages() -> list[str]:
    """The chapters (numbered parts of _toc.yml) as docnames, ``book/02_rapid_onset``."""
    return [page.removesuffix(".html") for page in lighthouse_script().chapter_pages(ROOT)]


@pytest.fixture(scope="module")
def site(book_build):
    """The shared clean build served over HTTP (base URL); fails clearly if the book did not build."""
    if book_build.returncode != 0:
        pytest.fail(f"the book did not build; see test_build.py:\n{book_build.log[-3000:]}")
    with lighthouse_script().Server(book_build.html) as base:
        yield base
