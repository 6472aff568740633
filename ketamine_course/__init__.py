"""Shared code for the course book *Ketamine and Treatment-Resistant Mood Disorders*.

Modules
-------
paths
    Find the repository root from wherever the code runs (book build, Binder, shell).
style
    One plot style for the whole book (Okabe–Ito palette, white figure background).
data
    Load a CSV from ``data/`` and validate it against ``data/datapackage.json``.
bib
    Read the keys of ``references.bib``.
"""

from .data import DataValidationError, load_table
from .paths import repo_root
from .style import OKABE_ITO, apply_style

__all__ = ["DataValidationError", "load_table", "repo_root", "OKABE_ITO", "apply_style"]
