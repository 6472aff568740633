"""ketamine_course.stamps: build-finished work is skipped only when no input changed and every output exists."""

from __future__ import annotations

import os

from ketamine_course import stamps


def test_the_key_follows_contents_and_names_not_modification_times(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("x,1\n"), b.write_text("y,2\n")
    key = stamps.content_key([a, b], "full")
    assert stamps.content_key([b, a], "full") == key  # order of listing does not matter
    os.utime(a, ns=(0, 0))
    assert stamps.content_key([a, b], "full") == key  # a touched file is the same input
    a.write_text("x,2\n")
    assert stamps.content_key([a, b], "full") != key  # an edited number is not
    assert stamps.content_key([a], "full") != stamps.content_key([a, b], "full")  # nor a removed file
    assert stamps.content_key([a, b], "student") != stamps.content_key([a, b], "full")  # nor another edition
    b.unlink()
    assert stamps.content_key([a, b], "full") != stamps.content_key([a], "full")  # a listed file that vanished


def test_unchanged_needs_the_same_key_and_every_output(tmp_path):
    stamp, output = tmp_path / "stamp.json", tmp_path / "out.ipynb"
    assert stamps.unchanged(stamp, "k") is None  # never recorded
    output.write_text("{}")
    stamps.record(stamp, "k", written=[str(output)])
    assert stamps.unchanged(stamp, "k", [output]) == {"key": "k", "written": [str(output)]}
    assert stamps.unchanged(stamp, "other", [output]) is None
    output.unlink()
    assert stamps.unchanged(stamp, "k", [output]) is None
    stamps.forget(stamp)
    assert stamps.unchanged(stamp, "k") is None
    stamp.write_text("not json")
    assert stamps.unchanged(stamp, "k") is None


def test_files_under_skips_caches_and_missing_folders(tmp_path):
    (tmp_path / "pkg" / "__pycache__").mkdir(parents=True)
    (tmp_path / "pkg" / "m.py").write_text("")
    (tmp_path / "pkg" / "__pycache__" / "m.pyc").write_text("")
    assert [p.name for p in stamps.files_under(tmp_path / "pkg")] == ["m.py"]
    assert stamps.files_under(tmp_path / "missing") == []
