"""Quizzes: the data format is enforced, the output is deterministic and self-contained, and a quiz
built into a page renders and answers a click (and a key press) in headless Chromium, with no
network request, no console error and no serious axe-core violation, in light and dark mode."""

from __future__ import annotations

import copy
import functools
import json
import shutil
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import ROOT, copy_repo, run_build
from ketamine_course.quiz import QuizError, load_quiz, objective_count, quiz_html, validate

FIXTURES = Path(__file__).parent / "fixtures" / "quiz"
PROBE = json.loads((FIXTURES / "probe.json").read_text(encoding="utf-8"))
SCREENSHOTS = ROOT / "_build" / "test-artifacts" / "quiz"


def probe(**changes):
    data = copy.deepcopy(PROBE)
    for path, value in changes.items():
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        if value is DELETE:
            del node[int(last) if last.isdigit() else last]
        else:
            node[int(last) if last.isdigit() else last] = value
    return data


DELETE = object()


def check(data, objectives=2):
    return validate(data, "book/quizzes/probe.json", chapter="probe", objectives=objectives)


# ---- the format ------------------------------------------------------------------------------------


def test_the_fixture_is_valid():
    quiz = check(PROBE)
    assert [q["id"] for q in quiz.questions] == ["q-single", "q-many"]


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"questions.0.answers.0.correct": True}, r"question 'q-single': a multiple_choice question needs exactly 1 correct answer, it has 2"),
        ({"questions.0.answers.1.correct": False}, r"question 'q-single': .*exactly 1 correct answer, it has 0"),
        ({"questions.1.answer_count": 3}, r"question 'q-many': declares 3 correct answers but marks 2"),
        ({"questions.1.answer_count": DELETE}, r"question 'q-many': a many_choice question must declare 'answer_count'"),
        ({"questions.0.answers.2.feedback": DELETE}, r"question 'q-single', answer 3: .*'feedback' is a required property"),
        ({"questions.0.answers.2.feedback": "  "}, r"question 'q-single', answer 3: the feedback is blank"),
        ({"questions.0.objective": 3}, r"question 'q-single': objective 3 does not exist \(the chapter has 2"),
        ({"questions.0.objective": "2"}, r"question 'q-single': questions/0/objective: '2' is not of type 'integer'"),
        ({"questions.1.type": "numeric"}, r"question 'q-many': questions/1/type: 'numeric' is not one of"),
        ({"questions.1.id": "q-single"}, r"question 'q-single': the id is used twice"),
        ({"chapter": "other"}, r"'chapter' is 'other' but the file is for 'probe'"),
        ({"questions.0.question": "As {cite:t}`murrough2013antidepressant` showed"}, r"MyST roles"),
        ({"questions.0.answers.0.answer": "The right option"}, r"two options have the same text"),
        ({"questions.0.answers": [{"answer": "only", "correct": True, "feedback": "f"}]}, r"should be non-empty|is too short"),
        ({"questions.0.hint": "extra"}, r"Additional properties are not allowed \('hint'"),
    ],
)
def test_a_broken_quiz_is_refused_naming_file_and_question(changes, message):
    with pytest.raises(QuizError, match=r"^book/quizzes/probe\.json: .*" + message):
        check(probe(**changes))


def test_load_quiz_reads_the_file_and_checks_objectives_against_the_chapter(tmp_path):
    (tmp_path / "book" / "quizzes").mkdir(parents=True)
    shutil.copy(FIXTURES / "probe.json", tmp_path / "book" / "quizzes" / "probe.json")
    (tmp_path / "book" / "probe.md").write_text((FIXTURES / "probe.md").read_text(encoding="utf-8").replace("2. **Compute** the second thing.\n", ""), encoding="utf-8")
    with pytest.raises(QuizError, match="question 'q-many': objective 2 does not exist"):
        load_quiz("probe", root=tmp_path)
    with pytest.raises(QuizError, match=r"book/quizzes/missing\.json: no such quiz file"):
        load_quiz("missing", root=tmp_path)
    (tmp_path / "book" / "quizzes" / "bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(QuizError, match=r"book/quizzes/bad\.json: not valid JSON"):
        load_quiz("bad", root=tmp_path)


def test_objectives_are_counted_from_the_learning_objectives_box():
    assert objective_count(FIXTURES / "probe.md") == 2
    assert objective_count(FIXTURES / "nothing-here.md") is None


# ---- the output ------------------------------------------------------------------------------------


def test_output_is_deterministic_and_loads_nothing_from_the_network():
    html = quiz_html(check(PROBE))
    assert html == quiz_html(check(PROBE)), "two renderings of the same quiz differ"
    assert 'id="kcquiz_probe"' in html
    for forbidden in ("http://", "https://", "cdn.", "<link", "src="):
        assert forbidden not in html, f"the quiz output contains {forbidden!r}"
    # the script cannot be closed early by text in the questions
    assert html.count("</script>") == 1


def test_markdown_is_rendered_and_raw_html_escaped():
    html = quiz_html(check(probe(**{"questions.0.question": "Is *this* <b>bold</b>?"})))
    assert "<em>this</em>" in html and "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>bold</b>" not in html


def test_the_fallback_lists_questions_without_marking_answers():
    html = quiz_html(check(PROBE))
    fallback = html.split('<div class="kc-fallback">')[1].split("</div>")[0]
    assert "The right option" in fallback and "The wrong option" in fallback
    assert "Correct" not in fallback and "Feedback for" not in fallback


# ---- in a built page, in a real browser -------------------------------------------------------------

PROBE_TOC = "format: jb-book\nroot: book/intro\nchapters:\n  - file: book/probe\n  - file: book/bibliography\n"


@pytest.fixture(scope="module")
def probe_site(tmp_path_factory):
    """A minimal copy of the book (welcome page, the probe chapter with the fixture quiz, bibliography), built strictly and served."""
    repo = copy_repo(tmp_path_factory.mktemp("quizbook") / "repo")
    shutil.copy(FIXTURES / "probe.md", repo / "book" / "probe.md")
    (repo / "book" / "quizzes").mkdir(exist_ok=True)
    shutil.copy(FIXTURES / "probe.json", repo / "book" / "quizzes" / "probe.json")
    (repo / "_toc.yml").write_text(PROBE_TOC, encoding="utf-8")
    # Only what the probe needs: the glossary test pages are not in this toc.
    result = run_build(repo)
    assert result.returncode == 0, result.stdout[-4000:]
    warnings = [line for line in result.stdout.splitlines() if "WARNING:" in line or "ERROR:" in line]
    assert not warnings, warnings
    html = repo / "_build" / "html"
    from test_browser import QuietHandler

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(html)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", html
    finally:
        server.shutdown()
        server.server_close()


def open_page(browser, base, path, mode, log):
    context = browser.new_context(viewport={"width": 1100, "height": 900}, color_scheme=mode)
    context.add_init_script(f"localStorage.setItem('mode', '{mode}'); localStorage.setItem('theme', '{mode}');")

    def route(r):
        if r.request.url.startswith(base):
            r.continue_()
        else:
            log["external"].append(r.request.url)
            r.fulfill(status=200, body="")

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: log["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: log["errors"].append(str(e)))
    page.on("response", lambda r: log["errors"].append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    page.goto(f"{base}/{path}", wait_until="load")
    page.wait_for_load_state("networkidle")
    return context, page


def exercise_quiz(page, quiz_id):
    """Click a wrong then the right option of the first question; answer the second by keyboard. Returns what was seen."""
    seen = {}
    quiz = page.locator(f"#{quiz_id}")
    seen["questions"] = quiz.locator(".Quiz").count()
    first = quiz.locator(".Quiz").nth(0)
    buttons = first.locator("label.MCButton")
    seen["options"] = buttons.count()
    # the first wrong and the (one) right option, by the data the quiz was built from
    correct = [i for i in range(buttons.count()) if buttons.nth(i).get_attribute("data-correct") == "true"]
    wrong = [i for i in range(buttons.count()) if buttons.nth(i).get_attribute("data-correct") != "true"]
    buttons.nth(wrong[0]).click()
    feedback = first.locator(".Feedback")
    seen["after_wrong"] = (feedback.inner_text(), feedback.get_attribute("class"), feedback.get_attribute("aria-live"))
    buttons.nth(correct[0]).click()
    seen["after_right"] = (feedback.inner_text(), feedback.get_attribute("class"))
    seen["group"] = first.locator(".Answer").get_attribute("role")
    return seen


def test_probe_quiz_responds_to_clicks_and_keys_in_light_and_dark_mode(probe_site, browser):
    from axe_playwright_python.sync_playwright import Axe

    from test_browser import serious_violations

    base, _ = probe_site
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for mode in ("light", "dark"):
        log = {"external": [], "errors": []}
        context, page = open_page(browser, base, "book/probe.html", mode, log)
        try:
            assert page.evaluate("document.documentElement.dataset.theme") == mode
            assert page.locator("#kcquiz_probe .kc-fallback").count() == 0, "the script did not replace the fallback"
            seen = exercise_quiz(page, "kcquiz_probe")
            assert seen["questions"] == 2 and seen["options"] == 3
            text, classes, live = seen["after_wrong"]
            assert text.startswith("Not quite.") and "Feedback for the wrong option." in text and "incorrect" in classes and live == "polite"
            text, classes = seen["after_right"]
            assert text.startswith("Correct.") and "Feedback for the right option." in text and "correct" in classes.split()
            assert seen["group"] == "radiogroup"
            # many choice, by keyboard: focus the first option's radio and press Space
            second = page.locator("#kcquiz_probe .Quiz").nth(1)
            second.locator("input[type=radio]").first.focus()
            page.keyboard.press("Space")
            assert "First right, explained." in second.locator(".Feedback").inner_text()
            assert "[1/2]" in second.locator(".Feedback").inner_text()
            page.evaluate("document.getAnimations().forEach(a => a.finish())")
            page.locator("#kcquiz_probe").screenshot(path=str(SCREENSHOTS / f"probe-quiz-{mode}.png"))
            page.screenshot(path=str(SCREENSHOTS / f"probe-page-{mode}.png"), full_page=True)
            assert not log["external"], f"the quiz page made network requests: {log['external']}"
            assert not log["errors"], f"console errors: {log['errors']}"
            # (after the error check: axe-core's CSS preloader makes 404s of its own, see test_browser.py)
            violations = serious_violations(Axe().run(page).response)
            assert not violations, f"{mode}: {violations}"
        finally:
            context.close()


test_probe_quiz_responds_to_clicks_and_keys_in_light_and_dark_mode = pytest.mark.browser(
    pytest.mark.build(test_probe_quiz_responds_to_clicks_and_keys_in_light_and_dark_mode)
)


# ---- in JupyterLab (as in Binder or a local install) -----------------------------------------------


@pytest.fixture(scope="module")
def lab_with_probe(tmp_path_factory):
    """JupyterLab from this environment (the pinned requirements) on 127.0.0.1, serving a folder with the probe notebook."""
    import os
    import secrets
    import signal
    import subprocess
    import sys
    import time
    import urllib.error

    import jupytext

    from test_binder import Lab, clean_env, free_port

    base = tmp_path_factory.mktemp("quizlab")
    repo = copy_repo(base / "repo")
    (repo / "book" / "quizzes").mkdir(exist_ok=True)
    shutil.copy(FIXTURES / "probe.json", repo / "book" / "quizzes" / "probe.json")
    notebook = jupytext.read(FIXTURES / "probe.md", fmt="md:myst")
    notebook.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    notebook.metadata.pop("jupytext", None)
    jupytext.write(notebook, repo / "book" / "probe.ipynb")
    home = {name: base / "home" / name for name in ("config", "data", "runtime", "settings", "workspaces", "ipython")}
    for folder in home.values():
        folder.mkdir(parents=True)
    env = clean_env(
        JUPYTER_CONFIG_DIR=str(home["config"]), JUPYTER_RUNTIME_DIR=str(home["runtime"]),
        JUPYTERLAB_SETTINGS_DIR=str(home["settings"]), JUPYTERLAB_WORKSPACES_DIR=str(home["workspaces"]), IPYTHONDIR=str(home["ipython"]),
    )
    port, token = free_port(), secrets.token_hex(24)
    jupyter = str(Path(sys.executable).with_name("jupyter"))
    command = [jupyter, "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={repo}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    log_path = SCREENSHOTS / "jupyterlab.log"
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(command, cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        lab = Lab(f"http://127.0.0.1:{port}", token)
        try:
            deadline = time.monotonic() + 120
            while True:
                if process.poll() is not None:
                    pytest.fail(f"JupyterLab exited:\n{log_path.read_text()[-3000:]}")
                try:
                    lab.api("GET", "/api/status")
                    break
                except (urllib.error.URLError, ConnectionError):
                    assert time.monotonic() < deadline, "JupyterLab did not start"
                    time.sleep(0.5)
            yield lab
        finally:
            try:
                lab.fresh_start()
            except Exception:  # noqa: BLE001 - stopped below either way
                pass
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(process.pid, signal.SIGKILL)


@pytest.mark.browser
def test_probe_quiz_works_in_jupyterlab_after_running_the_cell(lab_with_probe, browser):
    import re

    lab = lab_with_probe
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    external = []
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(lab.url) or r.request.url.startswith("ws://127.0.0.1")
                  else (external.append(r.request.url), r.fulfill(status=200, body=""))[1])
    page = context.new_page()
    console = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    try:
        page.goto(f"{lab.url}/lab/tree/book/probe.ipynb?token={lab.token}", wait_until="domcontentloaded")
        panel = page.locator(".jp-NotebookPanel:visible").first
        panel.wait_for(state="visible", timeout=90_000)
        page.wait_for_function(
            "panel => panel.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status === 'idle'", arg=panel.element_handle(), timeout=90_000
        )
        # On opening, JupyterLab 4.6 can start two kernels and shut one down, and the page may stay
        # attached to the dead one; on a loaded machine it sometimes starts none. Once one session
        # is left (or none came within 30 s), reload so the page attaches to a live kernel.
        import time

        def one_idle_session(timeout: float, give_up_without_any: float | None = None) -> bool:
            start = time.monotonic()
            while time.monotonic() - start < timeout:
                sessions = lab.api("GET", "/api/sessions")
                if len(sessions) == 1 and sessions[0]["kernel"]["execution_state"] == "idle":
                    return True
                if not sessions and give_up_without_any is not None and time.monotonic() - start > give_up_without_any:
                    return False
                time.sleep(1)
            return False

        one_idle_session(180, give_up_without_any=30)
        page.reload(wait_until="domcontentloaded")
        panel = page.locator(".jp-NotebookPanel:visible").first
        panel.wait_for(state="visible", timeout=90_000)
        page.wait_for_function(
            "panel => panel.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status === 'idle'", arg=panel.element_handle(), timeout=180_000
        )
        # Run the notebook as a reader does, from the Run menu (as the Binder test does; a
        # keyboard shortcut depends on where the focus is). Just after a reload the command can
        # arrive before the kernel connection is ready and run nothing (seen in CI): a reader
        # would run it again, and so does the test, until the cell has an execution count.
        quiz = panel.locator("#kcquiz_probe")
        for _attempt in range(5):
            page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
            page.locator('.lm-Menu-item:has(.lm-Menu-itemLabel:text-is("Run All Cells"))').click()
            try:  # JupyterLab may ask which kernel to start ("Select Kernel"): accept its default, Python 3
                page.locator(".jp-Dialog button.jp-mod-accept").first.click(timeout=5_000)
            except Exception:  # noqa: BLE001 - no dialog: the kernel was already running
                pass
            try:
                page.wait_for_function(
                    "panel => [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].some(p => /\\[(\\d+|\\*)\\]/.test(p.textContent))",
                    arg=panel.element_handle(), timeout=20_000,
                )
                break
            except Exception:  # noqa: BLE001 - nothing ran: try again
                continue
        try:
            quiz.locator(".Quiz").first.wait_for(state="visible", timeout=180_000)  # a loaded CI machine starts kernels slowly
        except Exception:  # noqa: BLE001 - keep what the reader saw, then fail
            page.screenshot(path=str(SCREENSHOTS / "probe-quiz-jupyterlab-failed.png"))
            outputs = "\n".join(panel.locator(".jp-OutputArea-output").all_text_contents())
            pytest.fail(f"the quiz did not appear in JupyterLab; cell outputs:\n{outputs[:3000]}\nconsole:\n" + "\n".join(console[:30]))
        seen = exercise_quiz(page, "kcquiz_probe")
        assert seen["questions"] == 2 and seen["options"] == 3
        assert seen["after_wrong"][0].startswith("Not quite.") and seen["after_right"][0].startswith("Correct.")
        page.evaluate("document.getAnimations().forEach(a => a.finish())")
        quiz.screenshot(path=str(SCREENSHOTS / "probe-quiz-jupyterlab.png"))
        assert not [url for url in external if "mathjax" in url.lower() or "cdn" in url.lower()], external
    finally:
        context.close()


# ---- every chapter has a quiz -----------------------------------------------------------------------

import yaml  # noqa: E402

_TOC = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
CHAPTER_STEMS = [e["file"].split("/")[-1] for part in _TOC["parts"] if part.get("numbered") for e in part["chapters"]]
# Chapters whose owner is converting the old dropdown questions to a quiz file right now; the test
# fails once the quiz is there (then remove the chapter from this set). Must end empty.
QUIZ_PENDING: set[str] = set()


@pytest.mark.parametrize("stem", CHAPTER_STEMS)
def test_every_chapter_shows_a_valid_quiz_that_checks_every_objective(stem):
    chapter = (ROOT / "book" / f"{stem}.md").read_text(encoding="utf-8")
    has_quiz = (ROOT / "book" / "quizzes" / f"{stem}.json").is_file() and f'show_quiz("{stem}")' in chapter
    if stem in QUIZ_PENDING:
        assert not has_quiz, f"{stem} now has its quiz: remove it from QUIZ_PENDING"
        pytest.skip(f"{stem}: quiz conversion pending (its owner is converting it)")
    assert has_quiz, f"{stem} needs book/quizzes/{stem}.json and a cell calling show_quiz({stem!r})"
    quiz = load_quiz(stem)
    objectives = objective_count(ROOT / "book" / f"{stem}.md")
    checked = {q["objective"] for q in quiz.questions}
    assert objectives and checked == set(range(1, objectives + 1)), f"{stem}: objectives without a quiz question: {sorted(set(range(1, (objectives or 0) + 1)) - checked)}"


@pytest.mark.build
@pytest.mark.browser
@pytest.mark.parametrize("stem", CHAPTER_STEMS)
def test_each_chapter_quiz_renders_and_answers_a_click(book_build, browser, stem, tmp_path):
    """In the session's build: the chapter's quiz replaces its fallback, and a wrong and a right click each get feedback."""
    from ketamine_course.quiz import element_id
    from test_browser import QuietHandler

    assert book_build.returncode == 0, book_build.log[-3000:]
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(book_build.html)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    log = {"external": [], "errors": []}
    try:
        context, page = open_page(browser, base, f"book/{stem}.html", "light", log)
        try:
            quiz_id = element_id(stem)
            assert page.locator(f"#{quiz_id} .kc-fallback").count() == 0, f"{stem}: the quiz script did not run"
            seen = exercise_quiz(page, quiz_id)
            assert seen["questions"] == len(load_quiz(stem).questions)
            assert seen["after_wrong"][0].startswith("Not quite.") and seen["after_right"][0].startswith("Correct.")
            # The page's own MathJax (chapters with equations load it from a CDN until the book
            # ships it offline) is not the quiz's doing; nothing else may leave the server.
            own = set(page.eval_on_selector_all("script[src]", "scripts => scripts.map(s => s.src)"))
            assert not [url for url in log["external"] if url not in own], log["external"]
            assert not log["errors"], f"{stem}: console errors (MathJax unavailable, as offline): {log['errors']}"
        finally:
            context.close()
    finally:
        server.shutdown()
        server.server_close()


def test_the_mathjax_guards_apply_to_the_pinned_jupyterquiz():
    from ketamine_course.quiz import MATHJAX_GUARDS, _jupyterquiz_js

    script = _jupyterquiz_js()
    for old, new in MATHJAX_GUARDS.values():
        assert new in script and old not in script


def test_a_quiz_that_cannot_be_built_fails_its_cell_instead_of_printing_a_traceback(monkeypatch):
    """IPython swallows errors raised while a display object renders; show_quiz must raise before that.

    Found by chapter 3's fact-check: with jupyterquiz missing, the strict build passed and the page
    showed a traceback and an object repr where the quiz should be.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    source = (
        "import importlib.resources\n"
        "real = importlib.resources.files\n"
        "def files(package):\n"
        "    if package == 'jupyterquiz':\n"
        "        raise ModuleNotFoundError(\"No module named 'jupyterquiz'\")\n"
        "    return real(package)\n"
        "importlib.resources.files = files\n"
        "import ketamine_course.quiz as quiz\n"
        f"quiz.show_quiz('02_rapid_onset', root=__import__('pathlib').Path({str(ROOT)!r}))\n"
    )
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    with pytest.raises(CellExecutionError, match="jupyterquiz"):
        NotebookClient(notebook, timeout=120, allow_errors=False, cwd=str(ROOT)).execute()
