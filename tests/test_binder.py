"""Binder, emulated: every chapter opens as a reader notebook in JupyterLab, runs, and reads as the web page.

Binder (repo2docker) builds its environment from the root requirements.txt and runtime.txt, then
runs postBuild. This test does the same on this machine: a fresh virtual environment (same Python
as runtime.txt) gets only `pip install -r requirements.txt`, run from a copy of the repository;
then postBuild, which runs each chapter once and writes its reader notebook (notebooks/); then
JupyterLab from that environment, with empty Jupyter config, data, settings and workspace folders,
as a new Binder user has. Headless Chromium then opens each chapter in _toc.yml that has code cells
at the path its launch button names (/lab/tree/notebooks/<chapter>.ipynb), checks that it opened as
a notebook with the figures already shown, runs all cells from the Run menu and checks the outputs
(no error or stderr output, the figures drawn), then reads the rendered text of every Markdown
cell: no glue name, bibliography key or MyST role from the chapter's source is visible, and every
glued value, citation, figure and exercise label and reference-list entry of the built web page
(the session's one book build) is there, in page order.
Screenshots of each run notebook and the measured times go to _build/test-artifacts/binder/.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

from book_pages import binder_urlpath, chapters_with_code, code_cells, figure_cells, normalise, reader_prose, source_file, web_prose
from conftest import ROOT, copy_repo
from ketamine_course.reader import EDITIONS, NOTE_TITLE, NOTEBOOK_DIR, ROLE_OR_CODE, notebook_relpath

pytestmark = pytest.mark.binder

CHAPTERS = chapters_with_code()
ARTIFACTS = ROOT / "_build" / "test-artifacts" / "binder"
RUN_TIMEOUT_S = 300  # per chapter, as the book's execute.timeout per cell


def runtime_python() -> str:
    """A Python of the version runtime.txt asks Binder for (``python-3.11``)."""
    match = re.fullmatch(r"python-(\d+)\.(\d+)", (ROOT / "runtime.txt").read_text(encoding="utf-8").strip())
    assert match, "runtime.txt must read python-X.Y"
    version = tuple(map(int, match.groups()))
    if sys.version_info[:2] == version:
        return getattr(sys, "_base_executable", None) or sys.executable
    other = shutil.which(f"python{version[0]}.{version[1]}")
    if other is None:
        pytest.fail(f"runtime.txt asks for Python {version[0]}.{version[1]}, which is not installed here")
    return other


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPYTHON", "VIRTUAL_ENV", "PYTHON", "CONDA"))}
    # A non-interactive backend would stop the kernel from showing figures inline (see conftest).
    env.pop("MPLBACKEND", None)
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory):
    """A copy of the repository and a fresh environment built from it the way Binder builds one."""
    base = tmp_path_factory.mktemp("binder")
    repo = copy_repo(base / "repo")
    venv = base / "venv"
    home = {name: base / "home" / name for name in ("config", "data", "runtime", "settings", "workspaces", "ipython", "matplotlib")}
    for folder in home.values():
        folder.mkdir(parents=True)
    subprocess.run([runtime_python(), "-m", "venv", str(venv)], check=True, timeout=300)
    env = clean_env(
        PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        JUPYTER_CONFIG_DIR=str(home["config"]),
        JUPYTER_DATA_DIR=str(home["data"]),
        JUPYTER_RUNTIME_DIR=str(home["runtime"]),
        JUPYTERLAB_SETTINGS_DIR=str(home["settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(home["workspaces"]),
        IPYTHONDIR=str(home["ipython"]),
        MPLCONFIGDIR=str(home["matplotlib"]),
    )
    steps = [
        ("pip install -r requirements.txt", [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "-r", "requirements.txt"], 1500),
        ("postBuild", [str(repo / "postBuild")], 600),
    ]
    log = []
    for name, command, timeout in steps:
        start = time.monotonic()
        done = subprocess.run(command, cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
        TIMINGS[f"{name} (s)"] = round(time.monotonic() - start, 1)
        log.append(f"$ {name}\n{done.stdout}")
        assert done.returncode == 0, f"{name} failed in the Binder emulation:\n{done.stdout[-4000:]}"
    reader = re.search(r"reader notebooks: wrote \d+ notebook\(s\) to \S+ in ([\d.]+) s", log[-1])
    TIMINGS["postBuild: reader notebooks (s)"] = float(reader.group(1)) if reader else None
    save_timings()
    return repo, venv, env, "\n".join(log)


TIMINGS: dict[str, object] = {}


def save_timings() -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "timings.json").write_text(json.dumps(TIMINGS, indent=2) + "\n", encoding="utf-8")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Lab:
    def __init__(self, url: str, token: str):
        self.url, self.token = url, token

    def api(self, method: str, path: str):
        request = urllib.request.Request(f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
            return json.loads(body) if body else None

    def fresh_start(self) -> None:
        """As on a new Binder launch: no running kernels, no remembered open documents."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{kernel['id']}")
        try:
            self.api("DELETE", "/lab/api/workspaces/default")
        except urllib.error.HTTPError as error:
            if error.code != 404:
                raise


@pytest.fixture(scope="module")
def jupyterlab(binder_env):
    """JupyterLab from the Binder environment on a random free port of 127.0.0.1, with a token. Always stopped."""
    repo, venv, env, _ = binder_env
    port, token = free_port(), secrets.token_hex(24)
    command = [
        str(venv / "bin" / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={repo}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # CI runs as root; Binder's user is not
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*"):
        if old.name != "timings.json":
            old.unlink()
    log_path = ARTIFACTS / "jupyterlab.log"
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(command, cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        lab = Lab(f"http://127.0.0.1:{port}", token)
        try:
            deadline = time.monotonic() + 120
            while True:
                if process.poll() is not None:
                    pytest.fail(f"JupyterLab exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
                try:
                    lab.api("GET", "/api/status")
                    break
                except (urllib.error.URLError, ConnectionError):
                    if time.monotonic() > deadline:
                        pytest.fail(f"JupyterLab did not answer within 120 s:\n{log_path.read_text()[-3000:]}")
                    time.sleep(0.5)
            yield lab
        finally:
            try:
                if process.poll() is None:
                    lab.fresh_start()  # shut the kernels down cleanly first
            except Exception:  # noqa: BLE001 - the server is stopped below either way
                pass
            # The whole process group: the server and any kernel it started.
            for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
                try:
                    os.killpg(process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    process.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
            for kernel in running_kernels_under(venv):
                os.kill(kernel, signal.SIGKILL)


def running_kernels_under(venv: Path) -> list[int]:
    """Processes still running a program of this test's environment (kernels that left the process group)."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if (proc / "cmdline").read_text().split("\0")[0].startswith(f"{venv}/"):
                pids.append(int(proc.name))
        except (OSError, ValueError):
            continue
    return pids


def test_postbuild_makes_markdown_open_as_jupytext_notebooks(binder_env):
    _, venv, _, _ = binder_env
    overrides = json.loads((venv / "share" / "jupyter" / "lab" / "settings" / "overrides.json").read_text())
    viewers = overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers["markdown"] == "Jupytext Notebook", viewers


def test_there_is_a_chapter_to_launch():
    assert CHAPTERS, "no page in _toc.yml has code cells"


def test_postbuild_writes_a_reader_notebook_for_every_chapter_in_both_editions(binder_env):
    repo = binder_env[0]
    for chapter in CHAPTERS:
        for edition in EDITIONS:
            path = repo / NOTEBOOK_DIR / notebook_relpath(chapter, edition)
            assert path.is_file(), f"postBuild wrote no {path.relative_to(repo)}"
    assert f"{NOTEBOOK_DIR}/" in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines(), "the generated notebooks must not be committed"
    # Trusted in this Jupyter installation, so that stored HTML/JavaScript outputs (the quiz) work on opening.
    paths = [str(repo / NOTEBOOK_DIR / notebook_relpath(chapter, edition)) for chapter in CHAPTERS for edition in EDITIONS]
    check = "import sys, nbformat; from nbformat.sign import NotebookNotary; n = NotebookNotary(); print([n.check_signature(nbformat.read(p, 4)) for p in sys.argv[1:]])"
    done = subprocess.run([str(binder_env[1] / "bin" / "python"), "-c", check, *paths], env=binder_env[2], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == str([True] * len(paths)), f"reader notebooks not trusted: {done.stdout}{done.stderr}"


def source_names(chapter: str) -> tuple[set[str], set[str]]:
    """The glue names and bibliography keys a chapter's source uses."""
    text = source_file(chapter).read_text(encoding="utf-8")
    glue, keys = set(), set()
    for match in ROLE_OR_CODE.finditer(text):
        name, content = match.group("name") or "", " ".join(match.group("content").split())
        if name.startswith("glue"):
            glue.add(content.split(":")[0] if name in ("glue:text", "glue:md") else content)
        elif name == "cite" or name.startswith("cite:"):
            keys.update(re.sub(r"\{[^}]*\}", "", key).strip() for key in content.split(","))
    return glue, keys


def in_order(needles: list[str], haystack: str) -> list[str]:
    """The needles not found in the haystack in this order (each after the one before)."""
    missing, position = [], 0
    for needle in needles:
        found = haystack.find(needle, position)
        if found < 0:
            missing.append(needle)
        else:
            position = found + len(needle)
    return missing


# The rendered text of each Markdown cell (jupyterlab-myst renders into .myst), with a space after
# every block so that words of adjacent blocks do not run together; closed dropdowns included.
RENDERED_TEXT = """cells => cells.map(cell => {
    const myst = cell.querySelector('.myst');
    if (!myst) return null;
    const copy = myst.cloneNode(true);
    copy.querySelectorAll('p, li, h1, h2, h3, h4, h5, h6, div, summary, dt, dd, td, th, pre, aside, details')
        .forEach(block => block.append(' '));
    return copy.textContent;
})"""

# Prompts of code cells: "[ ]:" before running, "[*]:" queued or running, "[12]:" done.
PROMPTS = """panel => [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent.trim())"""


def open_notebook(page, jupyterlab, urlpath: str, markdown_cells: int):
    """Open a notebook as a launch link does; wait until every Markdown cell is rendered; return its panel."""
    page.goto(f"{jupyterlab.url}/{urlpath}?token={jupyterlab.token}", wait_until="domcontentloaded")
    panel = page.locator("#jp-main-dock-panel .jp-NotebookPanel:visible")
    panel.first.wait_for(state="visible", timeout=90_000)
    page.wait_for_function(
        f"panel => panel.querySelectorAll('.jp-MarkdownCell .myst').length >= {markdown_cells}", arg=panel.element_handle(), timeout=60_000
    )
    return panel


def assert_reads_as(name: str, chapter: str, text: str, expected: dict, kinds) -> None:
    """No glue name, key or role of the source in the rendered text; the expected texts of these kinds, in order."""
    glue_names, keys = source_names(chapter)
    visible = lambda word: re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text)  # noqa: E731
    assert not [g for g in glue_names if visible(g)], f"{name}: glue names shown instead of values: {[g for g in glue_names if visible(g)]}"
    assert not [k for k in keys if visible(k)], f"{name}: bibliography keys shown instead of citations: {[k for k in keys if visible(k)]}"
    raw = [r for r in ("{glue", "{cite", "{numref}", "{ref}", "{doc}", "{term}", "{exercise}", "{solution", "{bibliography}", "```") if r in text]
    assert not raw, f"{name}: MyST shown raw: {raw}"
    assert text.count(NOTE_TITLE) == 1 and re.search(r"computed with the (chapter|page)'s original settings", text)
    for kind in kinds:
        missing = in_order(expected[kind], text)
        assert not missing, f"{name}: {len(missing)} of {len(expected[kind])} {kind} texts are not shown (in order), first: {missing[:3]}"
    assert expected["reference"] or not keys, f"{chapter}: the page cites but has no reference list to compare with"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_student_edition_reads_resolved_without_solutions(binder_env, jupyterlab, browser, chapter):
    """The student notebook (opened, not run: its code is the full edition's minus the solutions)."""
    jupyterlab.fresh_start()
    urlpath = f"lab/tree/{NOTEBOOK_DIR}/{notebook_relpath(chapter, 'student')}"
    generated = nbformat.read(binder_env[0] / NOTEBOOK_DIR / notebook_relpath(chapter, "student"), as_version=4)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        panel = open_notebook(page, jupyterlab, urlpath, sum(c.cell_type == "markdown" for c in generated.cells))
        text = normalise(" ".join(panel.locator(".jp-MarkdownCell").evaluate_all(RENDERED_TEXT)))
        # What the generator resolved for this edition (test_reader_build.py compares that with the web page)
        assert_reads_as(f"student/{Path(urlpath).name}", chapter, text, reader_prose(generated), ("glue", "cite", "numref", "exercise", "reference"))
        assert "Solution to" not in text and "This is the student edition" in text
    finally:
        context.close()


def shown_cells(cells) -> int:
    return sum("build-check" not in cell.metadata.get("tags", []) for cell in cells)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_opens_runs_and_reads_as_the_web_page(binder_env, jupyterlab, browser, book_build, chapter):
    jupyterlab.fresh_start()
    generated = nbformat.read(binder_env[0] / NOTEBOOK_DIR / notebook_relpath(chapter), as_version=4)
    markdown_cells = sum(cell.cell_type == "markdown" for cell in generated.cells)
    # build-check cells keep the prose true in the book build; the reader notebook leaves them out
    expected_cells, expected_figures = shown_cells(code_cells(chapter)), shown_cells(figure_cells(chapter))
    name = Path(binder_urlpath(chapter)).name
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    try:
        # The path the launch button's Binder URL names (?urlpath=lab/tree/notebooks/<chapter>.ipynb).
        start = time.monotonic()
        page.goto(f"{jupyterlab.url}/{binder_urlpath(chapter)}?token={jupyterlab.token}", wait_until="domcontentloaded")
        main = page.locator("#jp-main-dock-panel")
        panel = main.locator(".jp-NotebookPanel:visible")
        try:
            panel.first.wait_for(state="visible", timeout=90_000)
        except Exception:  # noqa: BLE001 - explain what opened instead
            page.screenshot(path=str(ARTIFACTS / f"{chapter.replace('/', '_')}-failed.png"))
            editors = main.locator(".jp-FileEditor").count()
            pytest.fail(f"{name} did not open as a notebook ({editors} text editor(s) open instead)")
        assert main.locator(".jp-FileEditor:visible").count() == 0, f"{name} also opened in a text editor"
        assert panel.count() == 1
        tab = main.locator(".lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel").first.text_content()
        assert tab == name, f"the open notebook is {tab!r}, not {name!r}"
        try:  # the panel shows before its cells do
            page.wait_for_function("([panel, n]) => panel.querySelectorAll('.jp-CodeCell').length >= n", arg=[panel.element_handle(), expected_cells], timeout=60_000)
        except Exception:  # noqa: BLE001 - reported by the assertion below
            pass
        shown = panel.locator(".jp-CodeCell").count()
        assert shown == expected_cells, f"{name}: JupyterLab shows {shown} code cells, the chapter has {expected_cells}"
        # JupyterLab attaches and renders the cells of a long notebook progressively: wait for all of them.
        page.wait_for_function(
            f"panel => panel.querySelectorAll('.jp-MarkdownCell .myst').length >= {markdown_cells}", arg=panel.element_handle(), timeout=60_000
        )
        TIMINGS[f"open {chapter}: every cell rendered (s)"] = round(time.monotonic() - start, 1)
        save_timings()
        # The figures are there before anything runs, as on the web page.
        shown_images = panel.locator(".jp-OutputArea-output.jp-RenderedImage img").count()
        assert shown_images >= expected_figures, f"{name}: {expected_figures} figures expected before running, {shown_images} shown"

        # A fresh kernel, nothing run yet.
        indicator = panel.locator(".jp-Notebook-ExecutionIndicator")
        indicator.first.wait_for(state="attached", timeout=60_000)
        page.wait_for_function(
            "panel => panel.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status === 'idle'", arg=panel.element_handle(), timeout=90_000
        )
        # Folded code (hide-input, solutions) shows no prompt: unfold it all to see that every cell runs.
        page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(r"^View$")).click()
        page.locator('.lm-Menu-item:has(.lm-Menu-itemLabel:text-is("Expand All Code"))').click()
        page.wait_for_function(f"panel => {{ const p = ({PROMPTS})(panel); return p.length === {expected_cells} && p.every(t => t !== ''); }}",
                               arg=panel.element_handle(), timeout=10_000)
        assert all(re.fullmatch(r"\[ ?\]:", p) for p in panel.evaluate(PROMPTS)), f"cells had already run: {panel.evaluate(PROMPTS)}"

        # Run > Run All Cells, as a reader would.
        page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator('.lm-Menu-item:has(.lm-Menu-itemLabel:text-is("Run All Cells"))').click()
        # Finished: the kernel idle, nothing queued or running ([*]), something run. (After an
        # error JupyterLab drops the rest of the queue, so this also ends a failed run.)
        page.wait_for_function(
            """panel => { const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent.trim());
                          return panel.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status === 'idle'
                                 && prompts.some(p => /^\\[\\d+\\]:$/.test(p)) && !prompts.includes('[*]:'); }""",
            arg=panel.element_handle(),
            timeout=RUN_TIMEOUT_S * 1000,
        )
        page.evaluate("document.getAnimations().forEach(animation => animation.finish())")
        page.screenshot(path=str(ARTIFACTS / f"{chapter.replace('/', '_')}.png"), full_page=False)

        stderr = panel.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
        assert stderr.count() == 0, f"{name}: error or stderr output:\n" + "\n---\n".join(t[:1500] for t in stderr.all_text_contents())
        outputs = "\n".join(panel.locator(".jp-OutputArea-output").all_text_contents())
        assert "Traceback" not in outputs and not re.search(r"^[A-Z]\w*(Error|Exception): ", outputs, re.M), f"{name}: an output shows an error:\n{outputs[:3000]}"
        prompts = panel.evaluate(PROMPTS)
        assert all(re.fullmatch(r"\[\d+\]:", p) for p in prompts) and len(set(prompts)) == len(prompts), f"{name}: not every cell ran once: {prompts}"
        images = panel.locator(".jp-OutputArea-output.jp-RenderedImage img")
        assert images.count() >= expected_figures, f"{name}: {expected_figures} cells draw a figure, {images.count()} images shown"
        sizes = images.evaluate_all("imgs => imgs.map(img => img.naturalWidth)")
        assert all(width > 0 for width in sizes), f"{name}: an image did not render: {sizes}"

        # The prose, as a reader sees it: the rendered text of every Markdown cell (closed dropdowns included).
        cells = panel.locator(".jp-MarkdownCell")
        rendered = cells.evaluate_all(RENDERED_TEXT)
        assert len(rendered) == markdown_cells and None not in rendered, f"{name}: {rendered.count(None)} of {len(rendered)} Markdown cells ({markdown_cells} in the notebook) were not rendered"
        text = normalise(" ".join(rendered))
        (ARTIFACTS / f"{chapter.replace('/', '_')}-text.txt").write_text(text, encoding="utf-8")
        web = web_prose(book_build.html / f"{chapter}.html")
        assert_reads_as(name, chapter, text, web, ("glue", "cite", "numref", "exercise", "solution", "reference"))
    finally:
        context.close()
        if page_errors:
            (ARTIFACTS / f"{chapter.replace('/', '_')}-page-errors.txt").write_text("\n".join(page_errors), encoding="utf-8")
