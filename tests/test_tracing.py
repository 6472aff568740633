"""The kernel-side recorder of what a chapter reads, and the build extension's helpers (fast tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ketamine_course import buildext, tracing


def recorder(tmp_path: Path) -> tuple[tracing.Recorder, Path, Path]:
    root = tmp_path / "repo"
    (root / "data").mkdir(parents=True)
    (root / "_build").mkdir()
    package = root / "pkg"
    package.mkdir()
    trace = tmp_path / "trace.txt"
    return tracing.Recorder(str(trace), str(root), str(package)), root, trace


def test_reads_inside_the_repository_are_recorded_once_and_writes_never(tmp_path):
    rec, root, trace = recorder(tmp_path)
    table = root / "data" / "t.csv"
    table.write_text("a\n1\n")
    for _ in range(2):
        rec("open", (str(table), "r", os.O_RDONLY))
    rec("open", (str(root / "data" / "out.csv"), "w", os.O_WRONLY))
    rec("open", (str(root / "data" / "low.csv"), None, os.O_WRONLY | os.O_CREAT))
    rec("open", (str(root / "data" / "rw.csv"), "r+", os.O_RDWR))
    rec("open", (3, "rb", 0))  # a file descriptor
    rec("compile", (b"", "x"))  # another audit event
    assert tracing.read_trace(str(trace)) == [str(table.resolve())]


def test_build_output_outside_files_and_the_trace_itself_are_not_inputs(tmp_path):
    rec, root, trace = recorder(tmp_path)
    for path in (root / "_build" / "x.json", tmp_path / "elsewhere.csv", trace, Path(sys.prefix) / "lib" / "x.py",
                 root / "ketamine_course.egg-info" / "entry_points.txt"):
        rec("open", (str(path), "r", os.O_RDONLY))
    assert tracing.read_trace(str(trace)) == []


def test_bytecode_is_recorded_as_its_source_and_missing_files_are_recorded(tmp_path):
    rec, root, trace = recorder(tmp_path)
    rec("open", (str(root / "pkg" / "__pycache__" / "mod.cpython-311.pyc"), "r", os.O_RDONLY))
    rec("open", (str(root / "data" / "not_there.csv"), "r", os.O_RDONLY))
    assert tracing.read_trace(str(trace)) == [str((root / "pkg" / "mod.py").resolve()), str((root / "data" / "not_there.csv").resolve())]


def test_the_package_records_what_a_kernel_reads_when_the_build_asks(tmp_path, root):
    trace = tmp_path / "trace.txt"
    code = "from ketamine_course import load_table; load_table('ketamine_milestones')"
    env = dict(os.environ, PYTHONPATH=str(root), **{tracing.ENV_TRACE: str(trace), tracing.ENV_ROOT: str(root)})
    subprocess.run([sys.executable, "-c", code], cwd=root / "book", env=env, check=True)
    recorded = {Path(p).relative_to(root).as_posix() for p in tracing.read_trace(str(trace))}
    assert {"data/ketamine_milestones.csv", "data/datapackage.json", "references.bib",
            "ketamine_course/__init__.py", "ketamine_course/tracing.py", "ketamine_course/data.py", "ketamine_course/bib.py"} <= recorded
    assert "data/trial_results.csv" not in recorded


def test_nothing_is_recorded_without_the_build(tmp_path, root):
    env = {k: v for k, v in os.environ.items() if k not in (tracing.ENV_TRACE, tracing.ENV_ROOT)}
    result = subprocess.run([sys.executable, "-c", "import sys, ketamine_course.tracing as t; print(len(t._started))"],
                            cwd=root, env=dict(env, PYTHONPATH=str(root)), capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "0"


def test_importing_the_build_extension_does_not_load_pandas_or_matplotlib(root):
    code = "import sys, ketamine_course.buildext; print(json.dumps(sorted(m for m in ('pandas', 'matplotlib') if m in sys.modules)))"
    result = subprocess.run([sys.executable, "-c", "import json; " + code], cwd=root, capture_output=True, text=True, check=True,
                            env=dict(os.environ, PYTHONPATH=str(root)))
    assert json.loads(result.stdout) == []


def test_file_digest_marks_a_missing_file():
    assert buildext.file_digest(Path("/nonexistent/file.csv")) is None


def test_environment_fingerprint_counts_only_the_pinned_packages(tmp_path):
    pinned = tmp_path / "requirements.txt"
    pinned.write_text("# comment\n-e .\nnumpy==1.0\n", encoding="utf-8")
    other = tmp_path / "other.txt"
    other.write_text("numpy==1.0\npytest==1.0\n", encoding="utf-8")
    assert buildext.environment_fingerprint(pinned) == buildext.environment_fingerprint(pinned)
    assert buildext.environment_fingerprint(pinned) != buildext.environment_fingerprint(other)  # pytest is installed here


def test_remembered_bibliography_formatting_is_identical_to_pybtex_and_follows_every_field(tmp_path, root):
    from pybtex.backends.plaintext import Backend
    from pybtex.database import parse_file
    from pybtex.plugin import find_plugin
    from pybtex.style.formatting import BaseStyle

    entries = list(parse_file(str(root / "references.bib")).entries.values())
    style = find_plugin("pybtex.style.formatting", "plain")()
    original = getattr(BaseStyle.format_entry, "__wrapped__", BaseStyle.format_entry)
    expected = [original(style, str(n), e).text.render(Backend()) for n, e in enumerate(entries)]

    memo = buildext.BibliographyFormatMemo()
    memo.load(str(tmp_path))
    saved = BaseStyle.format_entry
    try:
        memo.install()
        first = [style.format_entry(str(n), e).text.render(Backend()) for n, e in enumerate(entries)]
        memo.save()
        again = buildext.BibliographyFormatMemo()  # the next build, from the file
        again.load(str(tmp_path))
        again.install()
        assert len(again.known) == len(entries)
        second = [style.format_entry(str(n), e).text.render(Backend()) for n, e in enumerate(entries)]
        assert first == second == expected
        assert not again.added  # every entry came from the file
        entry = entries[0]
        entry.fields["title"] = entry.fields.get("title", "") + " (edited)"
        assert "(edited)" in style.format_entry("0", entry).text.render(Backend())
        entry.fields["crossref"] = "somewhere"
        assert again.key(style, "0", entry) is None
    finally:
        BaseStyle.format_entry = saved
