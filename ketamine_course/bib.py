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


def short_cite(key: str, root: Path | None = None) -> str:
    """A short author-year label for a figure, e.g. ``"Rolan 2014"`` or ``"Pfizer Medical Information n.d."``."""
    entries = bib_entries(root)
    if key not in entries:
        raise KeyError(f"{key!r} is not in references.bib")
    entry = entries[key]
    people = entry.persons.get("author", [])
    if "organization" in entry.fields:
        name = entry.fields["organization"]
    elif people:
        name = " ".join(people[0].last_names) or str(people[0])
        name = name.replace("{", "").replace("}", "")
        if len(people) > 1 or entry.fields.get("incomplete_authors", "").strip().lower() in {"yes", "true", "1"}:
            name += " et al."
    else:
        name = entry.fields.get("organization", key)
    name = name.replace("{", "").replace("}", "").replace("\\&", "&")
    return f"{name} {entry.fields.get('year', 'n.d.')}"
