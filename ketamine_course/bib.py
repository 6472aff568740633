"""Read the bibliography that every claim and data row cites."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pybtex.database import parse_file

from .paths import repo_root


@lru_cache(maxsize=8)
def _entries(path: Path, mtime: float):
    return parse_file(str(path), bib_format="bibtex").entries


def bib_entries(root: Path | None = None):
    """Return the pybtex entries of ``references.bib`` (keyed by citation key)."""
    path = (root or repo_root()) / "references.bib"
    return _entries(path, path.stat().st_mtime)


def bib_keys(root: Path | None = None) -> set[str]:
    """Return the set of citation keys in ``references.bib``."""
    return set(bib_entries(root).keys())
