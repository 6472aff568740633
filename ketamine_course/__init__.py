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
tracing
    Record the files a chapter's kernel reads, for the book build's dependency tracking.
"""

# First, so that the build can see every package module and data file this kernel reads
# (does nothing unless the book build's execution extension asked for it).
from .tracing import start_from_environment as _start_tracing

_start_tracing()

from .data import DataValidationError, load_table
from .paths import repo_root
from .style import OKABE_ITO, apply_style

__all__ = ["DataValidationError", "load_table", "repo_root", "OKABE_ITO", "apply_style"]
