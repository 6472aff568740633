"""The loader must turn every kind of bad input into one clear error naming file, row and column."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ketamine_course.data import DataValidationError, load_table, read_datapackage

TABLE = "ketamine_milestones"
FILE = "data/ketamine_milestones.csv"


def edit_csv(repo: Path, relpath: str, row: int | None = None, column: str | None = None, value: str = "", drop_column: str | None = None):
    """Change one cell (data row counted from 1) or drop one column of a CSV in a repository copy."""
    path = repo / relpath
    with path.open(newline="", encoding="utf-8") as handle:
        records = list(csv.reader(handle))
    header = records[0]
    if drop_column is not None:
        index = header.index(drop_column)
        records = [r[:index] + r[index + 1 :] for r in records]
    else:
        records[row][header.index(column)] = value
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(records)


def error_for(repo: Path, table: str = TABLE) -> str:
    with pytest.raises(DataValidationError) as info:
        load_table(table, root=repo)
    return str(info.value)


def test_every_table_in_the_data_package_loads(root):
    package = read_datapackage(root)
    assert package["resources"], "the data package lists no tables"
    for res in package["resources"]:
        frame = load_table(res["name"], root=root)
        with (root / "data" / res["path"]).open(newline="", encoding="utf-8") as handle:
            n_rows = sum(1 for _ in csv.reader(handle)) - 1
        assert len(frame) == n_rows, res["name"]
        assert list(frame.columns) == [f["name"] for f in res["schema"]["fields"]]
        assert frame["source"].notna().all() and frame["locator"].notna().all()


def test_types_are_converted(root):
    frame = load_table(TABLE, root=root)
    assert str(frame["year"].dtype) == "Int64"
    assert frame.attrs["source_file"] == FILE


def test_wrong_type_names_file_row_and_column(repo_copy):
    edit_csv(repo_copy, FILE, row=2, column="year", value="nineteen-seventy")
    message = error_for(repo_copy)
    assert FILE in message and "row 2 (line 3)" in message and "column 'year'" in message
    assert "not a four-digit year" in message


def test_missing_column_is_named(repo_copy):
    edit_csv(repo_copy, FILE, drop_column="locator")
    message = error_for(repo_copy)
    assert FILE in message and "column 'locator'" in message and "missing" in message


def test_out_of_range_value_is_reported(repo_copy):
    edit_csv(repo_copy, FILE, row=1, column="month", value="13")
    message = error_for(repo_copy)
    assert "row 1 (line 2)" in message and "column 'month'" in message and "above the maximum 12" in message


def test_unknown_source_key_is_reported(repo_copy):
    edit_csv(repo_copy, FILE, row=3, column="source", value="nobody2099madeup")
    message = error_for(repo_copy)
    assert "row 3 (line 4)" in message and "column 'source'" in message and "not in references.bib" in message


def test_value_outside_the_enumeration_is_reported(repo_copy):
    edit_csv(repo_copy, FILE, row=1, column="category", value="rumour")
    message = error_for(repo_copy)
    assert "column 'category'" in message and "not one of the allowed values" in message


def test_empty_required_cell_is_reported(repo_copy):
    edit_csv(repo_copy, FILE, row=2, column="locator", value="")
    message = error_for(repo_copy)
    assert "row 2 (line 3)" in message and "column 'locator'" in message and "required" in message


def test_missing_file_is_reported(repo_copy):
    (repo_copy / FILE).unlink()
    message = error_for(repo_copy)
    assert FILE in message and "file not found" in message


def test_unknown_table_name_is_reported(root):
    with pytest.raises(DataValidationError, match="no resource named 'nonexistent'"):
        load_table("nonexistent", root=root)


def test_ragged_row_is_reported(repo_copy):
    with (repo_copy / FILE).open("a", encoding="utf-8") as handle:
        handle.write("2020,1,only three\n")
    message = error_for(repo_copy)
    assert "cells but the header has" in message


def test_every_problem_is_reported_not_just_the_first(repo_copy):
    edit_csv(repo_copy, FILE, row=1, column="year", value="x")
    edit_csv(repo_copy, FILE, row=2, column="source", value="nokey")
    with pytest.raises(DataValidationError) as info:
        load_table(TABLE, root=repo_copy)
    assert len(info.value.problems) == 2
    assert {p.column for p in info.value.problems} == {"year", "source"}


def test_a_bad_table_gives_no_frame(repo_copy):
    """No partial DataFrame escapes: the caller gets an exception, never a figure from half the data."""
    edit_csv(repo_copy, FILE, row=1, column="year", value="x")
    result = None
    with pytest.raises(DataValidationError):
        result = load_table(TABLE, root=repo_copy)
    assert result is None
