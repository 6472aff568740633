"""Record which files a chapter's kernel actually reads (the kernel side of the build's dependency tracking).

The book's Sphinx extension (:mod:`ketamine_course.buildext`) starts each chapter's kernel with two
environment variables: ``KETAMINE_COURSE_TRACE`` names a trace file and ``KETAMINE_COURSE_TRACE_ROOT``
the repository being built.  When they are set, importing :mod:`ketamine_course` (every chapter does,
for the plot style and the data loader) installs an audit hook (:func:`sys.addaudithook`) that appends
to the trace file, once each, every file the kernel opens for reading inside the repository or inside
this package: the data tables and ``data/datapackage.json`` (read by :func:`ketamine_course.load_table`),
``references.bib`` (the loader checks every ``source`` against it), quiz files, and the source of every
package module the kernel imports.  The extension then registers those files as the chapter's
dependencies and keys its execution cache on their contents, so an edited data file re-executes
exactly the chapters that read it.

Without those variables (Binder, JupyterLab, tests) nothing is installed and nothing is recorded.
Files that are opened but do not exist are recorded too: if one appears later, the chapter re-runs.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading

ENV_TRACE = "KETAMINE_COURSE_TRACE"
ENV_ROOT = "KETAMINE_COURSE_TRACE_ROOT"
# Folders of the repository that are build output or environments, never inputs (nor *.egg-info,
# the metadata of the editable install that importlib.metadata scans).
SKIP_PARTS = {"_build", ".git", ".venv", "__pycache__", ".ipynb_checkpoints", ".pytest_cache"}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

_started: list["Recorder"] = []


class Recorder:
    """An audit hook appending each input file it sees to ``trace_path`` (one path per line)."""

    def __init__(self, trace_path: str, root: str, package_dir: str):
        self.trace_path = os.path.abspath(trace_path)
        self.root = os.path.realpath(root)
        self.package_dir = os.path.realpath(package_dir)
        self.excluded = tuple(os.path.realpath(p) + os.sep for p in {sys.prefix, sys.base_prefix, sys.exec_prefix})
        self.seen: set[str] = set()
        self.lock = threading.Lock()
        self.busy = threading.local()

    def relevant(self, path: str) -> str | None:
        """The path to record for an opened ``path`` (``None`` for files that are not inputs)."""
        if path.endswith(".pyc"):
            try:
                path = importlib.util.source_from_cache(path)
            except ValueError:
                return None
        full = os.path.realpath(path)
        if full == self.trace_path or full.startswith(self.excluded):
            return None
        for base in (self.root, self.package_dir):
            if full == base or full.startswith(base + os.sep):
                parts = full[len(self.root) + 1 :].split(os.sep) if base == self.root else []
                if SKIP_PARTS.intersection(parts) or any(part.endswith(".egg-info") for part in parts):
                    return None
                return full
        return None

    def __call__(self, event: str, args: tuple) -> None:
        if event != "open" or getattr(self.busy, "flag", False):
            return
        path, mode, flags = args
        if not isinstance(path, (str, bytes)):
            return  # an already open file descriptor
        if mode is not None and any(c in mode for c in "wax+"):
            return
        if mode is None and flags & _WRITE_FLAGS:
            return
        self.busy.flag = True
        try:
            self.record(os.fsdecode(path))
        finally:
            self.busy.flag = False

    def record(self, path: str) -> None:
        full = self.relevant(os.path.join(os.getcwd(), path))
        if full is None or full in self.seen:
            return
        with self.lock:
            if full in self.seen:
                return
            self.seen.add(full)
            with open(self.trace_path, "a", encoding="utf-8") as trace:
                trace.write(full + "\n")


def start_from_environment() -> Recorder | None:
    """Install the recorder if the build asked for it (idempotent); called by ``ketamine_course/__init__``."""
    trace = os.environ.get(ENV_TRACE)
    root = os.environ.get(ENV_ROOT)
    if not trace or not root:
        return None
    if _started:
        return _started[0]
    package_dir = os.path.dirname(os.path.abspath(__file__))
    recorder = Recorder(trace, root, package_dir)
    sys.addaudithook(recorder)
    _started.append(recorder)
    # Opened before the hook existed: the package's __init__ and this module.
    for name in ("__init__.py", "tracing.py"):
        recorder.record(os.path.join(package_dir, name))
    return recorder


def read_trace(trace_path: str) -> list[str]:
    """The files recorded in a trace file, in the order first read (empty if there is none)."""
    try:
        with open(trace_path, encoding="utf-8") as trace:
            return list(dict.fromkeys(line.rstrip("\n") for line in trace if line.strip()))
    except FileNotFoundError:
        return []
