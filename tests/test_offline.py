"""The book reads offline: with every request to another host blocked, each page asks for nothing
from outside the site and every equation renders (MathJax from the site itself).

A reader's visit, in headless Chromium on the session's build served as GitHub Pages serves it:
load the page, open every folded part (hidden code, solutions, dropdowns), scroll to every
equation and every image, and wait for MathJax. Launch and Binder links are plain links: they
ask for nothing until a reader clicks them, so they need no exception here.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Error as PlaywrightError

from book_pages import CHROMIUM_ARGS, chromium_path, pages  # noqa: F401 - CHROMIUM_ARGS used by the fixture in conftest
from site_server import site  # noqa: F401 - the fixture serving the built site

pytestmark = [pytest.mark.browser, pytest.mark.build]

# Every page in _toc.yml, and the theme's own pages a reader reaches (search results, index).
PAGES = [*pages(), "search", "genindex"]
VIEWPORT = {"width": 412, "height": 823}  # a phone
TEX_DELIMITERS = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\\begin\{|\\frac|\\mathrm")


@pytest.fixture(scope="module")
def offline_visits(site, browser):
    seen = {}

    def get(page: str) -> dict:
        if page not in seen:
            seen[page] = visit_offline(browser, site, page)
        return seen[page]

    return get


def visit_offline(browser, base: str, page_name: str) -> dict:
    outside, failed, errors = [], [], []
    context = browser.new_context(viewport=VIEWPORT, is_mobile=True, device_scale_factor=2)

    def route(request_route):
        if request_route.request.url.startswith(base + "/") or request_route.request.url == base:
            request_route.continue_()
        else:  # the network beyond this site is gone
            outside.append(request_route.request.url)
            request_route.abort("internetdisconnected")

    context.route("**/*", route)
    page = context.new_page()
    page.on("requestfailed", lambda request: failed.append(f"{request.url} ({request.failure})"))
    page.on("response", lambda response: failed.append(f"HTTP {response.status}: {response.url}") if response.status >= 400 else None)
    page.on("pageerror", lambda exception: errors.append(str(exception)))
    try:
        page.goto(f"{base}/{page_name}.html", wait_until="load")
        page.wait_for_load_state("networkidle")
        # Open what a reader can open: hidden code and outputs (<details>), solutions and other
        # toggled admonitions (sphinx-togglebutton).
        page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
        page.evaluate("document.querySelectorAll('.toggle-hidden .toggle-button, .admonition.toggle-hidden > .admonition-title').forEach(b => b.click())")
        page.wait_for_timeout(300)
        # Scroll like a reader: to every equation and every image, then to the end.
        for selector in (".math", "article img"):
            for element in page.locator(selector).all():
                if element.is_visible():
                    element.scroll_into_view_if_needed()
                    page.wait_for_timeout(50)
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_load_state("networkidle")
        n_math = page.locator(".math").count()
        if n_math:  # MathJax starts, typesets, and its promise settles (or the test reports what is missing)
            try:
                page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20000)
                page.evaluate("MathJax.startup.promise")
            except PlaywrightError as error:
                errors.append(f"MathJax did not start: {str(error).splitlines()[0]}")
        page.wait_for_load_state("networkidle")
        result = page.evaluate(
            """(delimiters) => {
                const math = [...document.querySelectorAll('.math')];
                const unrendered = math.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.trim().slice(0, 80));
                const errors = [...document.querySelectorAll('mjx-merror')].map(e => e.textContent.slice(0, 80));
                // Text a reader sees outside code and outside MathJax's own output.
                const walker = document.createTreeWalker(document.querySelector('article') || document.body, NodeFilter.SHOW_TEXT, {
                    acceptNode: n => n.parentElement.closest('pre, code, script, style, mjx-container, mjx-assistive-mml, .highlight')
                        ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT});
                const raw = [];
                for (let n = walker.nextNode(); n; n = walker.nextNode()) {
                    if (new RegExp(delimiters).test(n.textContent) && n.parentElement.checkVisibility()) raw.push(n.textContent.trim().slice(0, 80));
                }
                const images = [...document.querySelectorAll('article img')].map(i => ({src: i.currentSrc, ok: i.complete && i.naturalWidth > 0}));
                return {n_math: math.length, unrendered, errors, raw, images,
                        mathjax: window.MathJax && window.MathJax.version || null};
            }""",
            TEX_DELIMITERS.pattern,
        )
    finally:
        context.close()
    return {**result, "outside": outside, "failed": failed, "page_errors": errors}


@pytest.mark.parametrize("page", PAGES)
def test_no_request_leaves_the_site(offline_visits, page):
    visit = offline_visits(page)
    assert not visit["outside"], f"{page} asked other hosts for: {visit['outside']}"


@pytest.mark.parametrize("page", PAGES)
def test_everything_the_page_asks_for_is_on_the_site(offline_visits, page):
    visit = offline_visits(page)
    assert not visit["failed"], f"{page}: {visit['failed']}"
    assert not [e for e in visit["page_errors"] if not e.startswith("MathJax did not start")], f"{page}: {visit['page_errors']}"
    broken = [image["src"] for image in visit["images"] if not image["ok"]]
    assert not broken, f"{page}: images that did not load: {broken}"


@pytest.mark.parametrize("page", PAGES)
def test_every_equation_is_rendered_and_no_raw_tex_shows(offline_visits, page):
    visit = offline_visits(page)
    if visit["n_math"]:
        assert visit["mathjax"] and visit["mathjax"].startswith("3."), f"{page}: MathJax did not start ({visit['page_errors']})"
    assert not visit["unrendered"], f"{page}: equations MathJax did not render: {visit['unrendered']}"
    assert not visit["errors"], f"{page}: TeX errors: {visit['errors']}"
    assert not visit["raw"], f"{page}: raw TeX visible: {visit['raw']}"


def test_the_book_has_equations_to_render(offline_visits):
    """The test above is not vacuous: the book shows equations somewhere."""
    assert sum(offline_visits(page)["n_math"] for page in pages()) > 0
