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

# The names below are imported on first use (PEP 562), so that importing one light module of
# the package (the book build imports ketamine_course.buildext) does not load pandas and
# matplotlib. ``from ketamine_course import load_table`` works as before.
_LAZY = {
    "DataValidationError": "data",
    "load_table": "data",
    "repo_root": "paths",
    "OKABE_ITO": "style",
    "apply_style": "style",
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
