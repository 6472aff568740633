"""Load the book's data tables and validate them against ``data/datapackage.json``.

Every table in ``data/`` is described in a Frictionless Data Package: its columns,
their types, units and constraints, and where its numbers come from.  Chapters load
tables only through :func:`load_table`, which checks the file against that
description *before* any figure is drawn.  Anything wrong raises one error type,
:class:`DataValidationError`, whose message names the file, the row and the column,
so that a bad edit stops the build with a message a student can act on instead of
producing a wrong figure.

Row numbers count data rows from 1 (the header is not a data row); the CSV line
number, which is what an editor shows, is given beside it.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .bib import bib_keys
from .paths import repo_root

DATAPACKAGE = "datapackage.json"
SUPPORTED_TYPES = {"string", "integer", "number", "boolean", "date", "year"}
MAX_REPORTED = 20


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a table: where it is and what is wrong."""

    file: str
    message: str
    row: int | None = None  # data row, counted from 1; None for the whole file/header
    column: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row} (line {self.row + 1})")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return ", ".join(where) + f": {self.message}"


class DataValidationError(ValueError):
    """A data file does not match its description in ``data/datapackage.json``.

    ``problems`` holds every :class:`Problem` found (file, row, column, message).
    """

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        shown = [str(p) for p in self.problems[:MAX_REPORTED]]
        more = len(self.problems) - len(shown)
        if more > 0:
            shown.append(f"... and {more} more problem(s)")
        super().__init__("Invalid data:\n  " + "\n  ".join(shown))


def read_datapackage(root: Path | None = None) -> dict:
    """Return the parsed ``data/datapackage.json``."""
    root = root or repo_root()
    path = root / "data" / DATAPACKAGE
    rel = f"data/{DATAPACKAGE}"
    if not path.is_file():
        raise DataValidationError([Problem(rel, "file not found")])
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataValidationError([Problem(rel, f"not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}")]) from None


def resource(name: str, root: Path | None = None) -> dict:
    """Return the data-package resource called ``name``."""
    package = read_datapackage(root)
    for res in package.get("resources", []):
        if res.get("name") == name:
            return res
    names = sorted(r.get("name", "?") for r in package.get("resources", []))
    raise DataValidationError([Problem(f"data/{DATAPACKAGE}", f"no resource named {name!r}; known: {names}")])


def _parse(value: str, ftype: str):
    """Convert a CSV cell to the field's type; raise ValueError with a reason."""
    if ftype == "string":
        return value
    if ftype == "integer":
        if not re.fullmatch(r"[+-]?\d+", value):
            raise ValueError(f"{value!r} is not an integer")
        return int(value)
    if ftype == "year":
        if not re.fullmatch(r"\d{4}", value):
            raise ValueError(f"{value!r} is not a four-digit year")
        return int(value)
    if ftype == "number":
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(f"{value!r} is not a finite number")
        return number
    if ftype == "boolean":
        if value in ("true", "false"):
            return value == "true"
        raise ValueError(f"{value!r} is not a boolean (write true or false)")
    if ftype == "date":
        try:
            return _dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a date in YYYY-MM-DD form") from None
    raise ValueError(f"unsupported field type {ftype!r}")


def _check_constraints(value, constraints: dict) -> str | None:
    if "enum" in constraints and value not in constraints["enum"]:
        return f"{value!r} is not one of the allowed values {constraints['enum']}"
    if "minimum" in constraints and value < constraints["minimum"]:
        return f"{value!r} is below the minimum {constraints['minimum']}"
    if "maximum" in constraints and value > constraints["maximum"]:
        return f"{value!r} is above the maximum {constraints['maximum']}"
    if "pattern" in constraints and not re.fullmatch(constraints["pattern"], str(value)):
        return f"{value!r} does not match the pattern {constraints['pattern']!r}"
    if "maxLength" in constraints and len(str(value)) > constraints["maxLength"]:
        return f"{value!r} is longer than {constraints['maxLength']} characters"
    return None


def validate_table(name: str, root: Path | None = None) -> tuple[list[dict], list[Problem]]:
    """Check the table ``name`` against its schema.

    Returns the typed rows and the list of problems (empty when the table is valid).
    """
    root = root or repo_root()
    res = resource(name, root)
    rel = f"data/{res.get('path', '?')}"
    path = root / "data" / res.get("path", "")
    if not res.get("path") or not path.is_file():
        return [], [Problem(rel, "file not found (listed in data/datapackage.json)")]

    fields = res.get("schema", {}).get("fields", [])
    names = [f["name"] for f in fields]
    problems: list[Problem] = []
    for field in fields:
        if field.get("type", "string") not in SUPPORTED_TYPES:
            problems.append(Problem(f"data/{DATAPACKAGE}", f"field type {field.get('type')!r} is not supported", column=field["name"]))
    if problems:
        return [], problems

    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            return [], [Problem(rel, "file is empty (no header row)")]
        for missing in [n for n in names if n not in header]:
            problems.append(Problem(rel, "required column is missing from the header", column=missing))
        for extra in [h for h in header if h not in names]:
            problems.append(Problem(rel, "column is not described in data/datapackage.json", column=extra))
        if not problems and header != names:
            problems.append(Problem(rel, f"columns are out of order; expected {names}"))
        if problems:
            return [], problems

        keys = bib_keys(root)
        rows: list[dict] = []
        for number, cells in enumerate(reader, start=1):
            if not cells or all(not c.strip() for c in cells):
                problems.append(Problem(rel, "row is empty", row=number))
                continue
            if len(cells) != len(names):
                problems.append(Problem(rel, f"row has {len(cells)} cells but the header has {len(names)}", row=number))
                continue
            typed = {}
            for field, cell in zip(fields, cells):
                column = field["name"]
                constraints = field.get("constraints", {})
                if cell.strip() != cell:
                    problems.append(Problem(rel, f"{cell!r} has leading or trailing spaces", number, column))
                    continue
                if cell == "":
                    if constraints.get("required"):
                        problems.append(Problem(rel, "a value is required but the cell is empty", number, column))
                    typed[column] = None
                    continue
                try:
                    value = _parse(cell, field.get("type", "string"))
                except ValueError as exc:
                    problems.append(Problem(rel, str(exc), number, column))
                    continue
                reason = _check_constraints(value, constraints)
                if reason:
                    problems.append(Problem(rel, reason, number, column))
                    continue
                if column == "source" and value not in keys:
                    problems.append(Problem(rel, f"source key {value!r} is not in references.bib", number, column))
                    continue
                typed[column] = value
            rows.append(typed)
        if not rows and not problems:
            problems.append(Problem(rel, "table has a header but no data rows"))
    return rows, problems


def load_table(name: str, root: Path | None = None) -> pd.DataFrame:
    """Load the table ``name`` from ``data/`` as a DataFrame, after validating it.

    Raises :class:`DataValidationError` naming file, row and column when the table
    does not match ``data/datapackage.json``.
    """
    root = root or repo_root()
    rows, problems = validate_table(name, root)
    if problems:
        raise DataValidationError(problems)
    res = resource(name, root)
    fields = res["schema"]["fields"]
    frame = pd.DataFrame(rows, columns=[f["name"] for f in fields])
    for field in fields:
        column, ftype = field["name"], field.get("type", "string")
        if ftype in ("integer", "year"):
            frame[column] = frame[column].astype("Int64")
        elif ftype == "number":
            frame[column] = frame[column].astype("float64")
        elif ftype == "date":
            frame[column] = pd.to_datetime(frame[column])
    frame.attrs["source_file"] = f"data/{res['path']}"
    frame.attrs["description"] = res.get("description", "")
    return frame


def value_of(frame: pd.DataFrame, column: str, **where):
    """The single value of ``column`` in the one row matching every ``column=value`` in ``where``.

    Raises ``LookupError`` (naming the table and the conditions) when no row or more than
    one row matches, so a chapter never quotes the wrong row silently.
    """
    mask = pd.Series(True, index=frame.index)
    for key, wanted in where.items():
        if key not in frame.columns:
            raise LookupError(f"{frame.attrs.get('source_file', 'table')}: no column {key!r}")
        mask &= frame[key] == wanted
    rows = frame.loc[mask, column]
    source = frame.attrs.get("source_file", "table")
    if len(rows) != 1:
        raise LookupError(f"{source}: {len(rows)} rows match {where}; expected exactly one")
    value = rows.iloc[0]
    return value.item() if hasattr(value, "item") else value
