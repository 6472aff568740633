"""The GitHub Actions workflows: valid against GitHub's workflow schema (offline, check-jsonschema's
bundled copy), and the publishing workflow does what the README says it does."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
BOOK = ROOT / ".github" / "workflows" / "book.yml"


def check_jsonschema() -> str:
    path = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or shutil.which("check-jsonschema")
    if path is None:
        pytest.fail("check-jsonschema is not installed: pip install -r requirements-test.txt (make test does)")
    return path


def test_there_is_a_workflow():
    assert BOOK in WORKFLOWS


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_workflow_is_valid_against_the_github_workflow_schema(workflow):
    result = subprocess.run([check_jsonschema(), "--builtin-schema", "vendor.github-workflows", str(workflow)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def steps_of(job: dict) -> list[dict]:
    return job.get("steps", [])


def runs(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in steps_of(job))


@pytest.fixture(scope="module")
def book():
    workflow = yaml.safe_load(BOOK.read_text(encoding="utf-8"))
    # YAML reads the key `on` as True.
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def test_it_runs_on_every_push_and_pull_request(book):
    triggers = book["on"]
    assert "push" in triggers and "pull_request" in triggers
    for event in ("push", "pull_request"):
        assert not (triggers[event] or {}).get("branches"), f"{event} is limited to some branches"


def test_it_installs_from_the_pinned_files_builds_strictly_and_runs_the_tests(book):
    job = book["jobs"]["build-and-test"]
    commands = runs(job)
    assert "make .venv/.test node_modules/.package-lock.json" in commands  # requirements*.txt, npm ci, Debian packages
    assert "make book" in commands and "make test" in commands and "make pdf" in commands
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "pip install --quiet -r requirements.txt" in makefile and "pip install --quiet -r requirements-test.txt" in makefile
    assert "npm ci" in makefile and "-W -n --keep-going" in makefile
    assert job.get("timeout-minutes", 360) <= 90


def test_execution_reports_are_uploaded_when_a_notebook_fails(book):
    upload = [step for step in steps_of(book["jobs"]["build-and-test"]) if str(step.get("uses", "")).startswith("actions/upload-artifact@")]
    assert len(upload) == 1 and upload[0]["if"] == "failure()"
    paths = upload[0]["with"]["path"]
    assert "_build/html/reports/" in paths and "_build/test-artifacts/" in paths


def test_the_site_and_pdf_are_deployed_to_pages_from_the_default_branch_only(book):
    default_branch = "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)"
    build = book["jobs"]["build-and-test"]
    pages = [step for step in steps_of(build) if str(step.get("uses", "")).startswith("actions/upload-pages-artifact@")]
    assert len(pages) == 1 and pages[0]["with"]["path"] == "_build/html"
    assert "github.event_name == 'push'" in pages[0]["if"] and default_branch in pages[0]["if"]
    # The PDF is built into _build/html before the site is uploaded.
    names = [step.get("run", step.get("uses", "")) for step in steps_of(build)]
    assert names.index("make pdf") < names.index(pages[0]["uses"])
    deploy = book["jobs"]["deploy"]
    assert deploy["needs"] == "build-and-test" and default_branch in deploy["if"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert [step["uses"].split("@")[0] for step in steps_of(deploy)] == ["actions/deploy-pages"]
    assert book["permissions"] == {"contents": "read"}  # nothing else may write
