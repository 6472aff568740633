#!/usr/bin/env python3
"""Benchmark the book: build times against their lower bound, chapter run times, page weights.

    make benchmark                                   # = .venv/bin/python scripts/benchmark.py --readme
    .venv/bin/python scripts/benchmark.py --repeat 1 --no-lighthouse
    .venv/bin/python scripts/benchmark.py --repo /path/to/other/checkout   # e.g. an older commit

Everything is measured in one run, in a throwaway copy of the repository (``--repo``, default this
one), and printed as a table and written to ``benchmarks/latest.json``:

* the clean strict build (``jupyter-book build . -W -n --keep-going`` with no ``_build``) and its
  **lower bound**: the same chapters' code cells run as plain Python in one process (imports paid
  once), each figure still rendered to PNG as the inline backend does, and the ratio of the two;
* rebuilds: with no change, after editing one CSV table (the one read by the fewest chapters; its
  first row's ``locator`` text, so the data stay valid), after editing one chapter's prose and after
  editing one chapter's code (the chapter that takes longest to run);
* each chapter's run time from a cold kernel (kernel start plus every cell, as a Binder reader
  waits for it), serially;
* each page's own weight (its HTML plus the images it shows, without the theme's shared files) and
  the whole site's size;
* the size of the environment ``requirements.txt`` installs (the files its packages installed);
* Lighthouse (mobile) figures per page, from ``scripts/lighthouse.py`` when that script exists.

Timings are medians over ``--repeat`` runs (default 3); the machine's load average is recorded
before and after, because other processes on a shared machine slow every figure down. This is a
measurement, not a test: ``make test`` does not run it.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
JUPYTER_BOOK = BIN / "jupyter-book"
BUILD = ["build", ".", "-W", "-n", "--keep-going"]
IGNORE = shutil.ignore_patterns(".venv", "_build", ".git", ".pytest_cache", "__pycache__", "*.egg-info",
                                ".ipynb_checkpoints", "node_modules", "benchmarks")
TARGETS = {
    "clean_over_lower_bound": 2.0,   # at most
    "no_change_rebuild_s": 3.0,      # under
    "chapter_cold_kernel_s": 10.0,   # under, every chapter
    "page_own_weight_mb": 1.0,       # under, every chapter page
}
MB = 1024 * 1024


# ---- the book's pages ---------------------------------------------------------------------------


def toc_pages(repo: Path) -> tuple[list[str], list[str]]:
    """Every page in _toc.yml (docnames) and the chapters among them (the numbered parts' pages)."""
    import yaml

    toc = yaml.safe_load((repo / "_toc.yml").read_text(encoding="utf-8"))
    pages, chapters = [toc["root"]], []

    def walk(node, numbered=False):
        if isinstance(node, dict):
            numbered = numbered or bool(node.get("numbered"))
            if "file" in node:
                pages.append(node["file"])
                if numbered:
                    chapters.append(node["file"])
            for value in node.values():
                walk(value, numbered)
        elif isinstance(node, list):
            for item in node:
                walk(item, numbered)

    walk(toc.get("parts", toc.get("chapters", [])))
    return pages, chapters


def code_cells(repo: Path, page: str) -> list:
    """The code cells of a page as myst-nb reads them (jupytext's MyST format)."""
    import jupytext

    path = repo / f"{page}.md"
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8")
    front_matter = text.split("\n---", 1)[0] if text.startswith("---") else ""
    if "kernelspec" not in front_matter:
        return []
    notebook = jupytext.reads(text, fmt="md:myst")
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def pages_with_code(repo: Path) -> list[str]:
    pages, _ = toc_pages(repo)
    return [page for page in pages if code_cells(repo, page)]


# ---- running things -----------------------------------------------------------------------------


def build_env(repo: Path) -> dict:
    # The copy's own course package (also for an older checkout measured with --repo).
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(repo))
    env.pop("MPLBACKEND", None)
    return env


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


CPU: dict[str, list[float]] = {}  # CPU seconds (build process and its kernels) per measure


def timed_build(repo: Path, measure: str = "") -> tuple[float, str]:
    """Run the strict build in ``repo``: (wall seconds, log). Its CPU seconds go to ``CPU[measure]``."""
    cpu = cpu_of_children()
    began = time.perf_counter()
    result = subprocess.run([str(JUPYTER_BOOK), *BUILD], cwd=repo, env=build_env(repo),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seconds = time.perf_counter() - began
    CPU.setdefault(measure, []).append(cpu_of_children() - cpu)
    if result.returncode != 0:
        raise RuntimeError(f"build failed in {repo}:\n{result.stdout[-4000:]}")
    return seconds, result.stdout


def executed(log: str) -> list[str]:
    return sorted({Path(m.group(1)).name for m in re.finditer(r"^(\S+?)\.md: Executing notebook", log, re.M)})


def median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# ---- the lower bound: the chapters' code as plain Python in one process ---------------------------


def lower_bound_worker(cells_file: Path) -> None:
    """Run the code cells listed in ``cells_file`` page by page, in this one process (imports paid once).

    After every cell each open figure is rendered to PNG and closed, as the inline backend does in a
    kernel (same dpi and tight bounding box). Prints the seconds per page as JSON.
    """
    began = time.perf_counter()
    job = json.loads(cells_file.read_text(encoding="utf-8"))
    os.environ["MPLBACKEND"] = "Agg"
    sys.path.insert(0, job["repo"])
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timings, figures = {}, 0
    for page, sources in job["pages"].items():
        os.chdir(Path(job["repo"], page).parent)
        namespace = {"__name__": "__main__"}
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            for source in sources:
                exec(compile(source, f"{page}.md", "exec"), namespace)
                for number in plt.get_fignums():
                    fig = plt.figure(number)
                    fig.canvas.print_figure(io.BytesIO(), format="png", dpi=fig.dpi, bbox_inches="tight",
                                            facecolor=fig.get_facecolor(), edgecolor=fig.get_edgecolor())
                    figures += 1
                plt.close("all")
        timings[page] = round(time.perf_counter() - start, 3)
    print(json.dumps({"pages": timings, "figures": figures, "in_process_s": round(time.perf_counter() - began, 3)}))


def lower_bound(repo: Path) -> tuple[float, dict]:
    """Wall time of a fresh Python process running every chapter's code cells (read beforehand)."""
    pages = {}
    for page in pages_with_code(repo):
        pages[page] = ["\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
                       for cell in code_cells(repo, page)]
    cells_file = repo.parent / "lower-bound-cells.json"
    cells_file.write_text(json.dumps({"repo": str(repo), "pages": pages}), encoding="utf-8")
    cpu = cpu_of_children()
    began = time.perf_counter()
    result = subprocess.run([sys.executable, __file__, "--lower-bound-worker", str(cells_file)], cwd=repo,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=str(repo)))
    seconds = time.perf_counter() - began
    CPU.setdefault("lower_bound", []).append(cpu_of_children() - cpu)
    if result.returncode != 0:
        raise RuntimeError(f"lower bound failed:\n{result.stderr[-4000:]}")
    return seconds, json.loads(result.stdout.strip().splitlines()[-1])


# ---- each chapter from a cold kernel -------------------------------------------------------------


def cold_kernel_run(repo: Path, page: str) -> dict:
    import jupytext
    from nbclient import NotebookClient

    path = repo / f"{page}.md"
    notebook = jupytext.read(path, fmt="md:myst")
    client = NotebookClient(notebook, timeout=600, resources={"metadata": {"path": str(path.parent)}})
    env = build_env(repo)
    cpu = cpu_of_children()
    began = time.perf_counter()
    with client.setup_kernel(env=env):
        started = time.perf_counter()
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
        finished = time.perf_counter()
    # The kernel is this process's child, shut down and reaped when the block ends.
    return {"total_s": finished - began, "kernel_start_s": started - began, "cells_s": finished - started,
            "cpu_s": cpu_of_children() - cpu}


# ---- weights ------------------------------------------------------------------------------------


def page_weight(html_dir: Path, page: str) -> dict:
    from bs4 import BeautifulSoup

    html_path = html_dir / f"{page}.html"
    soup = BeautifulSoup(html_path.read_text(encoding="utf-8"), "html.parser")
    images = set()
    for img in soup.select("img[src]"):
        src = img["src"].split("#")[0].split("?")[0]
        if src.startswith(("http:", "https:", "data:")):
            continue
        target = (html_path.parent / src).resolve()
        if "_static" in target.relative_to(html_dir.resolve()).parts or not target.is_file():
            continue
        images.add(target)
    html_bytes = html_path.stat().st_size
    image_bytes = sum(p.stat().st_size for p in images)
    return {"html_kb": round(html_bytes / 1024, 1), "images": len(images), "images_kb": round(image_bytes / 1024, 1),
            "own_weight_mb": round((html_bytes + image_bytes) / MB, 3)}


def site_size(html_dir: Path) -> dict:
    parts: dict[str, int] = {}
    total = files = 0
    for path in html_dir.rglob("*"):
        if path.is_file():
            size = path.stat().st_size
            total += size
            files += 1
            top = path.relative_to(html_dir).parts[0]
            key = top if top.startswith("_") else "pages"
            parts[key] = parts.get(key, 0) + size
    return {"total_mb": round(total / MB, 2), "files": files,
            "by_folder_mb": {k: round(v / MB, 2) for k, v in sorted(parts.items())}}


def environment_size(repo: Path) -> dict:
    """Bytes of every file the packages pinned in requirements.txt installed (their RECORD)."""
    import importlib.metadata as metadata

    total = packages = 0
    missing = []
    for line in (repo / "requirements.txt").read_text(encoding="utf-8").splitlines():
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*==", line.split("#", 1)[0].strip())
        if not match:
            continue
        try:
            dist = metadata.distribution(match.group(1))
        except metadata.PackageNotFoundError:
            missing.append(match.group(1))
            continue
        packages += 1
        for file in dist.files or []:
            located = Path(file.locate())
            if located.is_file():
                total += located.stat().st_size
    return {"packages": packages, "installed_mb": round(total / MB, 1), "not_installed": missing,
            "python": platform.python_version()}


# ---- edits ---------------------------------------------------------------------------------------


def edit_locator(path: Path, suffix: str) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    column = rows[0].index("locator")
    rows[1][column] += suffix
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def edit_first_code_cell(text: str, line: str) -> str:
    """Add ``line`` as the last line of the first code cell (after any cell options)."""
    start = text.index("```{code-cell}")
    end = text.index("\n```", start + 3)
    return text[:end] + "\n" + line + text[end:]


def inputs_by_page(repo: Path) -> dict[str, list[str]]:
    report = repo / "_build" / "execution-report.json"
    if report.is_file():
        return json.loads(report.read_text(encoding="utf-8")).get("inputs", {})
    # An older checkout without the tracking extension: find load_table calls in the sources.
    resources = {r["name"]: r["path"] for r in json.loads((repo / "data" / "datapackage.json").read_text(encoding="utf-8"))["resources"]}
    found = {}
    for page in pages_with_code(repo):
        names = re.findall(r"load_table\(\s*[\"'](\w+)[\"']", (repo / f"{page}.md").read_text(encoding="utf-8"))
        found[page] = [f"data/{resources[n]}" for n in names if n in resources]
    return found


# ---- the run -------------------------------------------------------------------------------------


def measure(source: Path, repeat: int, lighthouse: bool, log=print) -> dict:
    results: dict = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=source, capture_output=True, text=True).stdout.strip(),
        "machine": {"cores": len(os.sched_getaffinity(0)), "python": platform.python_version(), "load_before": load()},
        "repeat": repeat,
        "targets": TARGETS,
    }
    with tempfile.TemporaryDirectory(prefix="ketamine-benchmark-") as tmp:
        repo = Path(tmp) / "repo"
        shutil.copytree(source, repo, ignore=IGNORE)

        log("clean strict build ...")
        clean = []
        for _ in range(repeat):
            shutil.rmtree(repo / "_build", ignore_errors=True)
            seconds, build_log = timed_build(repo, "clean_build")
            clean.append(seconds)
        results["clean_build_s"] = median(clean)
        results["clean_build_samples_s"] = [round(s, 2) for s in clean]
        results["clean_build_executed"] = executed(build_log)

        log("lower bound ...")
        bound, detail = [], {}
        for _ in range(repeat):
            seconds, detail = lower_bound(repo)
            bound.append(seconds)
        results["lower_bound_s"] = median(bound)
        results["lower_bound_samples_s"] = [round(s, 2) for s in bound]
        results["lower_bound_pages_s"] = detail["pages"]
        results["lower_bound_figures"] = detail["figures"]
        results["clean_over_lower_bound"] = round(results["clean_build_s"] / results["lower_bound_s"], 2)

        log("rebuild with no change ...")
        nochange = []
        for _ in range(max(repeat, 5)):  # cheap, and the most sensitive to other load
            seconds, build_log = timed_build(repo, "no_change_rebuild")
            nochange.append(seconds)
        results["no_change_rebuild_s"] = median(nochange)
        results["no_change_rebuild_samples_s"] = [round(s, 2) for s in nochange]
        results["no_change_executed"] = executed(build_log)

        inputs = inputs_by_page(repo)
        readers: dict[str, set[str]] = {}
        for page, files in inputs.items():
            for file in files:
                if file.startswith("data/") and file.endswith(".csv"):
                    readers.setdefault(file, set()).add(page)
        if readers:
            table = min(sorted(readers), key=lambda f: len(readers[f]))
            log(f"rebuild after editing {table} ...")
            csv_times, ran = [], []
            for number in range(repeat):
                edit_locator(repo / table, f" (edit {number + 1})")
                seconds, build_log = timed_build(repo, "csv_edit_rebuild")
                csv_times.append(seconds)
                ran = executed(build_log)
            results["csv_edit"] = {"table": table, "read_by": sorted(readers[table]), "executed": ran,
                                   "rebuild_s": median(csv_times), "samples_s": [round(s, 2) for s in csv_times]}

        log("chapters from a cold kernel ...")
        cold = {}
        for page in pages_with_code(repo):
            runs = [cold_kernel_run(repo, page) for _ in range(repeat)]
            cold[page] = {key: median([r[key] for r in runs]) for key in runs[0]}
        results["chapter_cold_kernel_s"] = cold

        slowest = max(cold, key=lambda page: cold[page]["total_s"]) if cold else None
        if slowest:
            path = repo / f"{slowest}.md"
            log(f"rebuild after editing {slowest} ...")
            prose, code, ran_prose, ran_code = [], [], [], []
            for number in range(repeat):
                path.write_text(path.read_text(encoding="utf-8") + f"\n% benchmark edit {number}\n", encoding="utf-8")
                seconds, build_log = timed_build(repo, "chapter_prose_edit_rebuild")
                prose.append(seconds)
                ran_prose = executed(build_log)
                path.write_text(edit_first_code_cell(path.read_text(encoding="utf-8"), f"# benchmark edit {number}"), encoding="utf-8")
                seconds, build_log = timed_build(repo, "chapter_code_edit_rebuild")
                code.append(seconds)
                ran_code = executed(build_log)
            results["chapter_edit"] = {"chapter": slowest,
                                       "prose_rebuild_s": median(prose), "prose_executed": ran_prose,
                                       "code_rebuild_s": median(code), "code_executed": ran_code}

        html = repo / "_build" / "html"
        pages, chapters = toc_pages(repo)
        results["pages"] = {page: page_weight(html, page) for page in pages}
        results["chapters"] = chapters
        results["site"] = site_size(html)
        results["environment"] = environment_size(repo)

        results["lighthouse"] = run_lighthouse(repo, html, repeat) if lighthouse else {"skipped": "--no-lighthouse"}
    results["cpu_s"] = {measure: median(values) for measure, values in CPU.items()}
    results["machine"]["load_after"] = load()
    results["verdict"] = verdict(results)
    return results


def run_lighthouse(repo: Path, html: Path, runs: int) -> dict:
    """Lighthouse (mobile) on every chapter page, median of ``runs`` (at least 3), by the publish work's
    ``scripts/lighthouse.py`` (CLI: ``--site DIR --chapters --runs N --json FILE``), when it exists.

    This is the hook: until that script is in the checkout, the result says so and nothing else runs.
    """
    script = ROOT / "scripts" / "lighthouse.py"
    if not script.is_file():
        return {"skipped": "scripts/lighthouse.py is not in this checkout yet (hook: run_lighthouse in scripts/benchmark.py)"}
    out = repo.parent / "lighthouse.json"
    command = [sys.executable, str(script), "--site", str(html), "--chapters", "--runs", str(max(runs, 3)), "--json", str(out)]
    result = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Exit 1 means a page missed a target: the figures are still written.
    if result.returncode not in (0, 1) or not out.is_file():
        return {"error": (result.stderr or result.stdout)[-2000:], "command": " ".join(command[1:])}
    return json.loads(out.read_text(encoding="utf-8"))


def verdict(results: dict) -> dict:
    chapters = results.get("chapters") or list(results["chapter_cold_kernel_s"])
    cold = results["chapter_cold_kernel_s"]
    verdicts = {
        "clean_over_lower_bound": results["clean_over_lower_bound"] <= TARGETS["clean_over_lower_bound"],
        "no_change_rebuild_s": results["no_change_rebuild_s"] < TARGETS["no_change_rebuild_s"],
        "chapter_cold_kernel_s": all(v["total_s"] < TARGETS["chapter_cold_kernel_s"] for v in cold.values()),
        "page_own_weight_mb": all(results["pages"][p]["own_weight_mb"] < TARGETS["page_own_weight_mb"] for p in chapters if p in results["pages"]),
    }
    pages = (results.get("lighthouse") or {}).get("pages") or {}
    if pages:
        verdicts["lighthouse_chapters"] = all(p.get("meets_targets", False) for p in pages.values() if isinstance(p, dict))
    if "csv_edit" in results:
        verdicts["csv_edit_well_under_clean"] = results["csv_edit"]["rebuild_s"] < 0.75 * results["clean_build_s"]
    return verdicts


def table(results: dict) -> str:
    """The figures as a Markdown table (what the README shows)."""
    tick = lambda ok: "yes" if ok else "**no**"  # noqa: E731
    v = results["verdict"]
    rows = [
        ("Clean strict build", f"{results['clean_build_s']:.1f} s", "", ""),
        ("Lower bound (same code, one process, PNGs)", f"{results['lower_bound_s']:.1f} s", "", ""),
        ("Clean build / lower bound", f"{results['clean_over_lower_bound']:.2f}x", "<= 2.0x", tick(v["clean_over_lower_bound"])),
        ("Rebuild, no change", f"{results['no_change_rebuild_s']:.1f} s", "< 3 s", tick(v["no_change_rebuild_s"])),
    ]
    if "csv_edit" in results:
        c = results["csv_edit"]
        rows.append((f"Rebuild, one CSV edited (`{Path(c['table']).name}`; ran: {', '.join(Path(x).name for x in c['executed']) or 'none'})",
                     f"{c['rebuild_s']:.1f} s", "well under clean (< 0.75x)", tick(v["csv_edit_well_under_clean"])))
    if "chapter_edit" in results:
        c = results["chapter_edit"]
        rows.append((f"Rebuild, one chapter's prose edited (`{Path(c['chapter']).name}`)", f"{c['prose_rebuild_s']:.1f} s", "", ""))
        rows.append((f"Rebuild, one chapter's code edited (`{Path(c['chapter']).name}`)", f"{c['code_rebuild_s']:.1f} s", "", ""))
    for page, t in results["chapter_cold_kernel_s"].items():
        rows.append((f"`{Path(page).name}` from a cold kernel (kernel start {t['kernel_start_s']:.1f} s)", f"{t['total_s']:.1f} s", "< 10 s",
                     tick(t["total_s"] < TARGETS["chapter_cold_kernel_s"])))
    for page in results.get("chapters", []):
        w = results["pages"].get(page)
        if w:
            rows.append((f"`{Path(page).name}` page weight (HTML {w['html_kb']:.0f} kB + {w['images']} images {w['images_kb']:.0f} kB)",
                         f"{w['own_weight_mb']:.2f} MB", "< 1 MB", tick(w["own_weight_mb"] < TARGETS["page_own_weight_mb"])))
    s = results["site"]
    rows.append(("Whole site (`_build/html`)", f"{s['total_mb']:.1f} MB in {s['files']} files", "", ""))
    e = results["environment"]
    rows.append((f"Environment from `requirements.txt` ({e['packages']} packages, Python {e['python']})", f"{e['installed_mb']:.0f} MB", "", ""))
    lh = results.get("lighthouse", {})
    for page, figures in (lh.get("pages") or {}).items():
        if isinstance(figures, dict) and "performance" in figures:
            met = figures["performance"] >= 90 and figures.get("lcp_ms", 1e9) <= 2500 and figures.get("accessibility", 0) >= 100
            rows.append((f"Lighthouse mobile `{Path(page).stem}`: performance / LCP / FCP / accessibility",
                         f"{figures['performance']:.0f} / {figures.get('lcp_ms', 0) / 1000:.1f} s / {figures.get('fcp_ms', 0) / 1000:.1f} s / "
                         f"{figures.get('accessibility', 0):.0f}", ">= 90 / <= 2.5 s / - / 100", tick(met)))
    if "skipped" in lh or "error" in lh:
        rows.append(("Lighthouse", "not measured: " + (lh.get("skipped") or "error (see benchmarks/latest.json)"), "", ""))
    lines = ["| measure | value | target | met |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    m = results["machine"]
    lines.append("")
    lines.append(f"Measured {results['when']} at commit `{results['commit']}` on {m['cores']} cores, median of {results['repeat']} runs; "
                 f"load average {m['load_before'][0]:.1f} before, {m['load_after'][0]:.1f} after.")
    if max(m["load_before"][0], m["load_after"][0]) > m["cores"]:
        lines.append("Other processes were using the machine meanwhile (a load average above the number of cores slows every "
                     "figure here); the CPU seconds in `benchmarks/latest.json` (`cpu_s`) depend on it much less.")
    missed = notes(results)
    if missed:
        lines += ["", "Where a target is missed:", ""] + [f"- {line}" for line in missed]
    return "\n".join(lines)


def notes(results: dict) -> list[str]:
    """For each target missed, what the measurements say stops it (written under the README's table)."""
    v, out = results["verdict"], []
    cold = results["chapter_cold_kernel_s"]
    cpu = results.get("cpu_s", {})
    nochange = results["no_change_rebuild_s"]
    prose = results.get("chapter_edit", {}).get("prose_rebuild_s")
    longest = max(cold, key=lambda p: cold[p]["total_s"]) if cold else None
    if not v["clean_over_lower_bound"] and longest:
        t = cold[longest]
        sphinx = f"{nochange:.1f} s to start and check (the no-change rebuild)"
        if prose:
            sphinx += f" plus about {max(prose - nochange, 0):.1f} s to read and write a chapter's page (prose-edit rebuild minus no-change)"
        out.append(
            f"Clean build {results['clean_build_s']:.1f} s against a lower bound of {results['lower_bound_s']:.1f} s: the build cannot "
            f"finish before its longest chapter, `{Path(longest).name}`, has run from a cold kernel ({t['total_s']:.1f} s, of which "
            f"{t['kernel_start_s']:.1f} s starting the kernel and the rest its imports and cells), and Sphinx needs {sphinx}. "
            f"The lower bound pays the imports once and runs no Sphinx; each kernel pays them again "
            f"(CPU: {cpu.get('clean_build', 0):.1f} s for the build, {cpu.get('lower_bound', 0):.1f} s for the lower bound). "
            f"The chapters run in parallel on {results['machine']['cores']} cores, so each chapter added narrows the ratio.")
    if not v["no_change_rebuild_s"]:
        out.append(
            f"No-change rebuild {nochange:.1f} s ({cpu.get('no_change_rebuild', 0):.1f} s of CPU): Python importing jupyter-book, Sphinx "
            f"and its extensions, loading the saved environment and checking every input; nothing is read or executed "
            f"(load average {results['machine']['load_before'][0]:.1f} at the start).")
    c = results.get("csv_edit")
    if c and not v.get("csv_edit_well_under_clean", True):
        readers = ", ".join(f"`{Path(r).name}` ({cold.get(r, {}).get('total_s', 0):.1f} s from a cold kernel)" for r in c["read_by"])
        out.append(
            f"One-CSV rebuild {c['rebuild_s']:.1f} s against {results['clean_build_s']:.1f} s clean: `{Path(c['table']).name}` is read by "
            f"{readers}, which is also what the clean build waits for longest (the other chapters run beside it there).")
    if not v["chapter_cold_kernel_s"]:
        slow = [f"`{Path(p).name}` {t['total_s']:.1f} s ({t.get('cpu_s', 0):.1f} s of kernel CPU)" for p, t in cold.items()
                if t["total_s"] >= TARGETS["chapter_cold_kernel_s"]]
        out.append("Chapters over 10 s from a cold kernel: " + ", ".join(slow) + ".")
    if not v["page_own_weight_mb"]:
        heavy = [f"`{Path(p).name}` {w['own_weight_mb']:.2f} MB" for p, w in results["pages"].items()
                 if p in results.get("chapters", []) and w["own_weight_mb"] >= TARGETS["page_own_weight_mb"]]
        out.append("Chapter pages over 1 MB: " + ", ".join(heavy) + ".")
    return out


def update_readme(text: str) -> None:
    readme = ROOT / "README.md"
    content = readme.read_text(encoding="utf-8")
    start, end = "<!-- benchmark:start -->", "<!-- benchmark:end -->"
    if start in content and end in content:
        before, rest = content.split(start, 1)
        _, after = rest.split(end, 1)
        readme.write_text(f"{before}{start}\n{text}\n{end}{after}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=ROOT, help="the checkout to measure (default: this one)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing; the median is reported (default 3)")
    parser.add_argument("--no-lighthouse", action="store_true", help="skip the Lighthouse audits")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "latest.json", help="where to write the figures")
    parser.add_argument("--readme", action="store_true", help="also write the table into README.md (between its benchmark markers)")
    parser.add_argument("--lower-bound-worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.lower_bound_worker:
        lower_bound_worker(args.lower_bound_worker.resolve())
        return 0
    results = measure(args.repo.resolve(), args.repeat, not args.no_lighthouse, log=lambda line: print(line, file=sys.stderr, flush=True))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    text = table(results)
    print(text)
    if args.readme:
        update_readme(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
