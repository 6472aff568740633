"""The data package is complete, self-describing and valid by an independent validator (frictionless)."""

from __future__ import annotations

import json

import pytest
from frictionless import validate

from ketamine_course.bib import bib_keys
from ketamine_course.data import read_datapackage


def test_frictionless_finds_the_package_valid(root):
    report = validate(str(root / "data" / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])


def test_frictionless_catches_a_broken_table(repo_copy):
    """The independent check can fail: a text value in an integer column is flagged."""
    package = json.loads((repo_copy / "data" / "datapackage.json").read_text())
    res = package["resources"][0]
    int_field = next(f["name"] for f in res["schema"]["fields"] if f["type"] in ("integer", "year", "number"))
    path = repo_copy / "data" / res["path"]
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index(int_field)] = "not-a-number"
    lines[1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = validate(str(repo_copy / "data" / "datapackage.json"))
    assert not report.valid


def test_every_csv_is_described(root):
    described = {r["path"] for r in read_datapackage(root)["resources"]}
    on_disk = {p.name for p in (root / "data").glob("*.csv")}
    assert on_disk == described


def test_every_table_names_its_sources_and_licence(root):
    package = read_datapackage(root)
    assert package.get("licenses"), "the package has no licence"
    keys = bib_keys(root)
    for res in package["resources"]:
        assert res.get("description", "").strip(), res["name"]
        assert res.get("sources"), f"{res['name']} lists no sources"
        for src in res["sources"]:
            assert src.get("bibkey") in keys, f"{res['name']}: source {src} is not a references.bib key"


def test_every_field_is_described_with_a_type(root):
    for res in read_datapackage(root)["resources"]:
        names = [f["name"] for f in res["schema"]["fields"]]
        assert "source" in names and "locator" in names, res["name"]
        for field in res["schema"]["fields"]:
            assert field.get("type"), (res["name"], field["name"])
            assert field.get("description", "").strip(), (res["name"], field["name"])
        for col in ("source", "locator"):
            field = next(f for f in res["schema"]["fields"] if f["name"] == col)
            assert field.get("constraints", {}).get("required") is True, (res["name"], col)


@pytest.mark.parametrize("column", ["source"])
def test_table_sources_listed_match_the_rows(root, column):
    """The package-level source list and the rows' source column agree."""
    import csv

    for res in read_datapackage(root)["resources"]:
        with (root / "data" / res["path"]).open(newline="", encoding="utf-8") as handle:
            used = {row[column] for row in csv.DictReader(handle)}
        listed = {s["bibkey"] for s in res["sources"]}
        assert used == listed, f"{res['name']}: rows cite {sorted(used - listed)} not listed; listed {sorted(listed - used)} unused"
