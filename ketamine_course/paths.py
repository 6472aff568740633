"""Locate the repository root.

The same notebook runs in three places: the Jupyter Book build (working directory
``book/``), Binder and a local JupyterLab (working directory wherever the notebook
is), and a shell or test (any directory).  Walking up from the working directory to
the first folder holding both ``_config.yml`` and ``data/`` finds the root in all
three without printing or hard-coding an absolute path.
"""

from __future__ import annotations

from pathlib import Path

MARKERS = ("_config.yml", "data")


class RepositoryRootNotFound(FileNotFoundError):
    """Raised when no folder above the start holds ``_config.yml`` and ``data/``."""


def is_repo_root(folder: Path) -> bool:
    return (folder / "_config.yml").is_file() and (folder / "data").is_dir()


def repo_root(start: str | Path | None = None) -> Path:
    """Return the repository root at or above ``start`` (default: the working directory).

    Falls back to the folder above this package when the working directory is
    outside the repository (for example a test run from ``/tmp``) and the package
    is installed in editable mode.
    """
    here = Path(start if start is not None else Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if is_repo_root(folder):
            return folder
    if start is None:
        package_parent = Path(__file__).resolve().parent.parent
        if is_repo_root(package_parent):
            return package_parent
    raise RepositoryRootNotFound(
        f"No folder at or above '{here.name or here}' holds both _config.yml and data/; "
        "run the code from inside the course repository."
    )
