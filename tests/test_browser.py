"""The built book in a real browser (Debian's headless Chromium, driven by Playwright).

Serves the session's strict build (``book_build``) over HTTP on 127.0.0.1 and visits every page
in _toc.yml in light and in dark mode: the page loads, every image loads and has alt text, every
internal link and #anchor resolves, each launchable page's Binder button opens that page's own
source in JupyterLab, the console stays free of errors, axe-core finds no critical or serious
accessibility violation, headings do not skip levels, and figures stay undimmed in dark mode.
Full-page screenshots of every page in both modes go to _build/test-artifacts/screenshots/.
"""

from __future__ import annotations

import functools
import io
import math
import threading
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from bs4 import BeautifulSoup
from PIL import Image, ImageChops, ImageStat

from book_pages import code_cells, config, expected_binder_url, figure_cells, pages, pdf_edition
from conftest import ROOT

# The browser tests need the session build, so they are also `build` tests (`-m "not build"` skips them).
pytestmark = [pytest.mark.browser, pytest.mark.build]

PAGES = pages()
MODES = ("light", "dark")
SCREENSHOTS = ROOT / "_build" / "test-artifacts" / "screenshots"
VIEWPORT = {"width": 1280, "height": 900}
BINDERHUB = config()["launch_buttons"]["binderhub_url"].rstrip("/")
# Content images: figures and images in cell outputs, inside the article (not the theme's logos).
FIGURES = "article.bd-article figure img, article.bd-article .cell_output img"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@dataclass
class Figure:
    """A figure image as the browser showed it."""

    src: str
    element: Image.Image  # the <img> element, padding included
    content: Image.Image  # its content box: the figure itself
    radius: int  # rounded corners of the element, in device pixels


@dataclass
class Visit:
    """What one page showed in one colour mode."""

    page: str
    mode: str
    status: int | None = None
    theme: str | None = None
    background_luminance: float | None = None
    errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    headings: list[dict] = field(default_factory=list)
    binder_links: list[str] = field(default_factory=list)
    binder_link_visible_after_click: bool | None = None
    figures: list[Figure] = field(default_factory=list)
    violations: list[dict] = field(default_factory=list)
    screenshot: Path | None = None


@pytest.fixture(scope="module")
def site(book_build):
    """The build's HTML folder, served on a random free port of 127.0.0.1 from a thread."""
    if book_build.returncode != 0:
        pytest.fail(f"the book did not build; see test_build.py and _build/test-artifacts/build.log:\n{book_build.log[-3000:]}")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(book_build.html)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", book_build.html
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def visits(site, browser):
    """Visits each (page, mode) once, on first use, and keeps what it saw for all the tests."""
    base, _ = site
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    axe = Axe()
    seen: dict[tuple[str, str], Visit] = {}

    def get(page: str, mode: str) -> Visit:
        if (page, mode) not in seen:
            seen[(page, mode)] = visit(browser, axe, base, page, mode)
        return seen[(page, mode)]

    return get


def visit(browser, axe: Axe, base: str, page_name: str, mode: str) -> Visit:
    result = Visit(page_name, mode)
    # A reader who chose dark (or light) mode: the theme keeps the choice in localStorage and
    # applies it before the first paint; the system preference agrees with it.
    context = browser.new_context(viewport=VIEWPORT, color_scheme=mode)
    context.add_init_script(f"localStorage.setItem('mode', '{mode}'); localStorage.setItem('theme', '{mode}');")

    # The tests run offline. Requests that leave the local server (MathJax from its CDN on
    # notebook pages) get an empty answer, so they neither hang nor log a network error; an
    # external <img> then fails the image test, as it should for a self-contained book.
    def route(request_route):
        if request_route.request.url.startswith(base):
            request_route.continue_()
        else:
            result.external_requests.append(request_route.request.url)
            request_route.fulfill(status=200, body="")

    context.route("**/*", route)
    page = context.new_page()
    # Errors the reader's browser would log. Not while axe-core runs: its CSS preloader fetches
    # each @import again, resolved against the page instead of the stylesheet (theme.css's
    # `@import "../basic.css"` becomes /basic.css, a 404 of the test tool's own making).
    recording = [True]

    def error(text: str) -> None:
        if recording[0]:
            result.errors.append(text)

    page.on("console", lambda message: error(f"console.{message.type}: {message.text} ({message.location.get('url')})") if message.type == "error" else None)
    page.on("pageerror", lambda exception: error(f"uncaught exception: {exception}"))
    page.on("requestfailed", lambda request: error(f"request failed: {request.url} ({request.failure})"))
    page.on("response", lambda response: error(f"HTTP {response.status}: {response.url}") if response.status >= 400 else None)

    def audit() -> list[dict]:
        recording[0] = False
        try:
            return serious_violations(axe.run(page).response)
        finally:
            recording[0] = True

    try:
        response = page.goto(f"{base}/{page_name}.html", wait_until="load")
        result.status = response.status if response else None
        page.wait_for_load_state("networkidle")
        result.theme = page.evaluate("document.documentElement.dataset.theme")
        result.background_luminance = page.evaluate(
            """() => { const [r, g, b] = getComputedStyle(document.body).backgroundColor.match(/\\d+/g).map(Number);
                       return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255; }"""
        )
        # Images: lazy ones are told to load now, then each is decoded (or fails).
        result.images = page.evaluate(
            """async (figures) => {
                const images = [...document.images];
                images.forEach(img => { img.loading = "eager"; });
                await Promise.all(images.map(img => img.decode().catch(() => null)));
                const content = new Set(document.querySelectorAll(figures));
                return images.map(img => ({src: img.currentSrc || img.src, alt: img.getAttribute("alt"),
                                           loaded: img.complete && img.naturalWidth > 0, figure: content.has(img)}));
            }""",
            FIGURES,
        )
        result.links = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        result.headings = page.eval_on_selector_all(
            "article.bd-article :is(h1, h2, h3, h4, h5, h6)",
            "hs => hs.map(h => ({level: Number(h.tagName[1]), text: h.textContent.trim().replace(/#$/, ''), visible: h.checkVisibility()}))",
        )
        result.binder_links = page.eval_on_selector_all(f'a[href^="{BINDERHUB}/"]', "links => links.map(a => a.getAttribute('href'))")

        # The page as the reader sees it, for the reviewer.
        page.evaluate("document.getAnimations().forEach(animation => animation.finish())")
        result.screenshot = SCREENSHOTS / f"{page_name.replace('/', '_')}-{mode}.png"
        page.screenshot(path=str(result.screenshot), full_page=True, animations="disabled")

        # Each figure as displayed: the whole element (a white card in this book) and its content
        # box, the figure itself, inside any padding. Typesetting has finished (it moves the layout),
        # and the sticky headers are pinned out of the way while the figures are captured: an element
        # screenshot shows whatever overlaps it, and a header over a figure's top corners is not the
        # figure's frame (CI once failed on exactly that).
        page.evaluate("async () => { if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise; }")
        unpinned = page.add_style_tag(content=".bd-header, .bd-header-article, .header-article { position: static !important; }")
        for index, element in enumerate(page.locator(FIGURES).all()):
            element.evaluate("e => e.scrollIntoView({block: 'center'})")
            page.wait_for_timeout(50)
            style = element.evaluate(
                """img => { const s = getComputedStyle(img), px = v => parseFloat(v) || 0;
                            return {width: img.getBoundingClientRect().width, radius: px(s.borderTopLeftRadius),
                                    left: px(s.paddingLeft) + px(s.borderLeftWidth), top: px(s.paddingTop) + px(s.borderTopWidth),
                                    right: px(s.paddingRight) + px(s.borderRightWidth), bottom: px(s.paddingBottom) + px(s.borderBottomWidth)}; }"""
            )
            shot = Image.open(io.BytesIO(element.screenshot(animations="disabled"))).convert("RGBA")
            scale = shot.width / style["width"]  # device pixels per CSS pixel
            content = shot.crop((round(style["left"] * scale), round(style["top"] * scale),
                                 shot.width - round(style["right"] * scale), shot.height - round(style["bottom"] * scale)))
            result.figures.append(Figure(element.get_attribute("src") or f"figure {index + 1}", shot, content, math.ceil(style["radius"] * scale)))
        unpinned.evaluate("tag => tag.remove()")

        # Accessibility: the page as loaded, then with every collapsed part (hidden code, solutions,
        # dropdowns) opened, since a reader can open them and they must be readable too.
        result.violations = audit()
        page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
        page.evaluate("document.getAnimations().forEach(animation => animation.finish())")
        page.wait_for_timeout(100)
        for violation in audit():
            if violation["id"] not in {v["id"] for v in result.violations}:
                result.violations.append(violation)

        # The launch button: the reader opens the rocket menu and finds the Binder entry.
        if result.binder_links:
            page.locator(".dropdown-launch-buttons button.dropdown-toggle").first.click()
            link = page.locator(f'.dropdown-launch-buttons a[href^="{BINDERHUB}/"]').first
            link.wait_for(state="visible", timeout=5000)
            result.binder_link_visible_after_click = link.is_visible()
    finally:
        context.close()
    return result


def serious_violations(response: dict) -> list[dict]:
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "nodes": [(node["target"], node.get("failureSummary", "")[:300]) for node in violation["nodes"][:5]],
        }
        for violation in response["violations"]
        if violation["impact"] in ("critical", "serious")
    ]


@functools.cache
def ids_in(path: Path) -> frozenset[str]:
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    return frozenset([tag["id"] for tag in soup.find_all(id=True)] + [tag["name"] for tag in soup.find_all("a", attrs={"name": True})])


def luminance(pixels) -> float:
    """Mean luma (0 black .. 1 white) of RGBA pixels."""
    return sum(0.2126 * r + 0.7152 * g + 0.0722 * b for r, g, b, _ in pixels) / (255 * len(pixels))


# ---- tests ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("mode", MODES)
def test_page_loads_in_the_requested_colour_mode(visits, page, mode):
    result = visits(page, mode)
    assert result.status == 200, f"{page}: HTTP {result.status}"
    assert result.theme == mode, f"{page}: asked for {mode} mode, the theme shows {result.theme!r}"
    # The mode really took effect: a light page background in light mode, a dark one in dark mode.
    assert (result.background_luminance > 0.8) if mode == "light" else (result.background_luminance < 0.2), (
        f"{page} in {mode} mode has a page background of luminance {result.background_luminance:.2f}"
    )


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("mode", MODES)
def test_no_console_errors(visits, page, mode):
    result = visits(page, mode)
    assert not result.errors, f"{page} ({mode}):\n" + "\n".join(result.errors)


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("mode", MODES)
def test_every_image_loads_and_has_alt_text(visits, page, mode):
    result = visits(page, mode)
    broken = [image["src"] for image in result.images if not image["loaded"]]
    assert not broken, f"{page} ({mode}): images that did not load: {broken} (external requests, answered empty offline: {result.external_requests})"
    no_alt = [image["src"] for image in result.images if image["alt"] is None]
    assert not no_alt, f"{page} ({mode}): images without an alt attribute: {no_alt}"
    empty = [image["src"] for image in result.images if image["figure"] and not image["alt"].strip()]
    assert not empty, f"{page} ({mode}): figures with empty alt text: {empty}"
    drawn, shown = len(figure_cells(page)), sum(image["figure"] for image in result.images)
    assert shown >= drawn, f"{page}: {drawn} code cells draw a figure, the page shows {shown} figure images"


@pytest.mark.parametrize("page", PAGES)
def test_every_internal_link_and_anchor_resolves(visits, site, page):
    base, html = site
    result = visits(page, "light")
    problems = []
    internal = [link for link in result.links if link.startswith(base + "/")]
    assert internal, f"{page}: no internal links found at all"
    for link in sorted(set(internal)):
        parts = urlsplit(link)
        path = unquote(parts.path).lstrip("/")
        target = html / path
        if not path or path.endswith("/"):
            target = target / "index.html"
        if path == pdf_edition() and not target.is_file():
            continue  # the PDF edition joins the site with `make pdf`; tests/test_pdf.py builds it and follows this link
        if not target.is_file():
            problems.append(f"{link}: no file {target.relative_to(html)}")
            continue
        fragment = unquote(parts.fragment)
        if fragment and target.suffix == ".html" and fragment not in ids_in(target):
            problems.append(f"{link}: {target.relative_to(html)} has no element with id {fragment!r}")
    assert not problems, f"{page}: broken internal links:\n" + "\n".join(problems)


@pytest.mark.parametrize("page", PAGES)
def test_binder_button_opens_this_page_in_jupyterlab(visits, page):
    result = visits(page, "light")
    expected = expected_binder_url(page)
    if code_cells(page):
        assert result.binder_links == [expected], f"{page}: Binder links {result.binder_links}, expected [{expected}]"
        assert result.binder_link_visible_after_click, f"{page}: the launch menu does not show the Binder link"
    else:
        # A page without code has nothing to run; if the theme shows a button anyway, it must still be this page's.
        assert all(link == expected for link in result.binder_links), f"{page}: Binder links {result.binder_links}, expected {expected}"


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("mode", MODES)
def test_no_critical_or_serious_accessibility_violations(visits, page, mode):
    result = visits(page, mode)
    report = "\n".join(f"{v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(f"{target}: {summary}" for target, summary in v["nodes"]) for v in result.violations)
    assert not result.violations, f"{page} ({mode}) — axe-core:\n{report}"


@pytest.mark.parametrize("page", PAGES)
def test_headings_start_at_h1_and_skip_no_level(visits, page):
    headings = [h for h in visits(page, "light").headings if h["visible"]]
    assert headings, f"{page}: no headings in the article"
    assert headings[0]["level"] == 1, f"{page}: the first heading is h{headings[0]['level']} {headings[0]['text']!r}"
    assert sum(h["level"] == 1 for h in headings) == 1, f"{page}: more than one h1"
    for before, after in zip(headings, headings[1:]):
        assert after["level"] <= before["level"] + 1, (
            f"{page}: h{before['level']} {before['text']!r} is followed by h{after['level']} {after['text']!r}"
        )


def corner_pixels(image: Image.Image, inset: int, size: int = 4) -> list[tuple[int, int, int, int]]:
    """The pixels of four size x size squares, ``inset`` pixels in from each corner."""
    xs = (inset, image.width - inset - size)
    ys = (inset, image.height - inset - size)
    return [image.getpixel((x0 + dx, y0 + dy)) for x0 in xs for y0 in ys for dx in range(size) for dy in range(size)]


@pytest.mark.parametrize("page", PAGES)
def test_figures_stay_undimmed_and_opaque_in_dark_mode(visits, page):
    dark, light = visits(page, "dark"), visits(page, "light")
    assert [f.src for f in dark.figures] == [f.src for f in light.figures], f"{page}: different figures in dark and light mode"
    for shown, in_light in zip(dark.figures, light.figures):
        name = f"{page}: {shown.src}"
        assert shown.content.width > 20 and shown.content.height > 20, f"{name} is shown at {shown.content.size}"
        # The figure's own background, at the corners of its content box: opaque and near white.
        pixels = corner_pixels(shown.content, inset=1)
        assert all(alpha == 255 for *_, alpha in pixels), f"{name} has transparent corners in dark mode"
        assert luminance(pixels) > 0.9, f"{name}: its background in dark mode has luminance {luminance(pixels):.2f} (dimmed or transparent)"
        # The card around it (padding, inside the rounded corners) is light too, not the theme's grey.
        card = corner_pixels(shown.element, inset=shown.radius + 1)
        assert luminance(card) > 0.9, f"{name}: the frame around it in dark mode has luminance {luminance(card):.2f}"
        # And it is shown exactly as in light mode: not dimmed, inverted or re-coloured.
        assert shown.content.size == in_light.content.size, f"{name} is {shown.content.size} in dark mode, {in_light.content.size} in light"
        difference = sum(ImageStat.Stat(ImageChops.difference(shown.content.convert("RGB"), in_light.content.convert("RGB"))).mean) / (3 * 255)
        assert difference < 0.01, f"{name} looks different in dark mode (mean difference {difference:.3f})"


def test_theme_switcher_turns_dark_mode_on(site, browser):
    """The reader's way into dark mode: the theme switch button in the header."""
    base, _ = site
    context = browser.new_context(viewport=VIEWPORT, color_scheme="light")
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base) else r.fulfill(status=200, body=""))
    try:
        page = context.new_page()
        page.goto(f"{base}/{PAGES[0]}.html", wait_until="load")
        assert page.evaluate("document.documentElement.dataset.theme") == "light"
        button = page.locator(".theme-switch-button:visible").first
        for _ in range(3):
            if page.evaluate("document.documentElement.dataset.theme") == "dark":
                break
            button.click()
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        assert page.evaluate("localStorage.getItem('theme')") == "dark", "the choice is not remembered"
    finally:
        context.close()


def test_screenshots_of_every_page_in_both_modes_are_saved(visits):
    for page in PAGES:
        for mode in MODES:
            path = visits(page, mode).screenshot
            assert path is not None and path.is_file() and path.stat().st_size > 10_000, f"no screenshot {path}"
            with Image.open(path) as image:
                assert image.width == VIEWPORT["width"] and image.height >= VIEWPORT["height"], (path, image.size)
