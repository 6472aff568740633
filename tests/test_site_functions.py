"""What a reader can do on a page still works after the page-speed changes (ketamine_course/site_assets.py):
search, the colour-mode switch, folded code, solution dropdowns, the launch and download menus
(with the PDF edition), copy buttons, the icons, the phone's navigation drawer, and figures that
arrive as the reader scrolls. In headless Chromium, on the session's build served as GitHub Pages
serves it, on a phone-sized screen unless a test needs a wide one.
"""

from __future__ import annotations

import re

import pytest

from book_pages import config, pages
from site_server import chapter_pages, site  # noqa: F401 - site is the fixture serving the built site

pytestmark = [pytest.mark.browser, pytest.mark.build]

PHONE = {"viewport": {"width": 412, "height": 823}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
CHAPTERS = chapter_pages()
CHAPTER = CHAPTERS[0]
BINDERHUB = config()["launch_buttons"]["binderhub_url"].rstrip("/")
PDF = "ketamine-trd-book.pdf"


@pytest.fixture()
def open_page(site, browser):
    """open_page(docname, **context options) -> a loaded Playwright page; console errors collected in page.errors."""
    contexts = []

    def opener(docname: str, device: dict = PHONE, **options):
        context = browser.new_context(**{**device, **options})
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda exception: page.errors.append(str(exception)))
        page.on("console", lambda message: page.errors.append(message.text) if message.type == "error" else None)
        page.goto(f"{site}/{docname}.html", wait_until="load")
        page.wait_for_load_state("networkidle")
        return page

    yield opener
    for context in contexts:
        context.close()


def test_search_from_a_chapter_finds_the_chapters(open_page, site):
    page = open_page(CHAPTER, DESKTOP)
    page.locator("button.search-button-field").first.click()
    field = page.locator("#pst-search-dialog input[name=q]")
    field.wait_for(state="visible")
    field.fill("ketamine")
    field.press("Enter")
    page.wait_for_url(re.compile(r"search\.html\?q=ketamine"))
    results = page.locator("#search-results ul.search li a")
    results.first.wait_for(timeout=15000)
    hrefs = results.evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert any(CHAPTER in href for href in hrefs), hrefs
    assert not page.errors, page.errors


def test_the_colour_mode_switch_turns_dark_mode_on_and_the_choice_stays(open_page, site):
    page = open_page(CHAPTER, color_scheme="light")
    switch = page.locator("button.theme-switch-button")
    for _ in range(3):  # auto -> dark -> light -> auto: the order depends on the system mode
        if page.evaluate("document.documentElement.dataset.theme") == "dark":
            break
        switch.click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert sum(map(int, re.findall(r"\d+", background)[:3])) < 3 * 80, background  # a dark page
    page.reload(wait_until="load")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    # Each mode's icon shows only in its mode, drawn (inline SVG) at a visible size.
    visible = page.locator(".theme-switch-button .theme-switch").evaluate_all(
        "icons => icons.filter(i => i.checkVisibility()).map(i => [i.dataset.mode, i.getBoundingClientRect().width])")
    assert len(visible) == 1 and visible[0][1] > 8, visible


def test_folded_code_opens_on_a_click(open_page):
    page = open_page(CHAPTER)
    folded = page.locator("details.hide.above-input").first
    code = folded.locator(".cell_input pre")
    assert not code.is_visible()
    folded.locator("summary").click()
    assert code.is_visible() and len(code.inner_text()) > 20


def test_a_solution_dropdown_opens_on_a_click(open_page):
    page = open_page(CHAPTER)
    solution = page.locator(".admonition.dropdown").first
    solution.scroll_into_view_if_needed()
    assert "toggle-hidden" in solution.get_attribute("class")  # folded by sphinx-togglebutton once its deferred script ran
    body = solution.locator(":scope > :not(.admonition-title)").first
    assert not body.is_visible()
    solution.locator("button.toggle-button").click()
    page.wait_for_timeout(400)  # the theme's transition
    assert "toggle-hidden" not in solution.get_attribute("class") and body.is_visible()


def test_the_launch_menu_offers_binder_for_this_chapter(open_page):
    page = open_page(CHAPTER, DESKTOP)
    page.locator(".dropdown-launch-buttons button.dropdown-toggle").click()
    link = page.locator(f'.dropdown-launch-buttons a[href^="{BINDERHUB}/"]')
    link.wait_for(state="visible", timeout=5000)
    assert CHAPTER.split("/")[-1] in link.get_attribute("href")


@pytest.mark.parametrize("docname", [page for page in pages() if page not in ("search", "genindex")])
def test_the_download_menu_links_the_pdf_edition(open_page, site, docname):
    page = open_page(docname, DESKTOP)
    page.locator(".dropdown-download-buttons button.dropdown-toggle").click()
    link = page.locator(".dropdown-download-buttons a.btn-download-book-pdf-button")
    link.wait_for(state="visible", timeout=5000)
    assert "PDF" in link.inner_text()
    assert link.evaluate("a => a.href") == f"{site}/{PDF}"  # the site's root, where make pdf puts it


def test_a_copy_button_copies_the_code(open_page, site):
    page = open_page(CHAPTER, DESKTOP, permissions=["clipboard-read", "clipboard-write"])
    cell = page.locator(".cell:not(.tag_hide-input) .cell_input .highlight").first
    cell.scroll_into_view_if_needed()
    cell.hover()
    button = cell.locator("button.copybtn")
    button.click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.strip() and copied.strip() == cell.locator("pre").inner_text().strip()


def test_icons_are_drawn_without_font_awesomes_script(open_page, site):
    page = open_page(CHAPTER, DESKTOP)
    scripts = page.evaluate("performance.getEntriesByType('resource').map(r => r.name)")
    assert not [name for name in scripts if "fontawesome.js" in name]
    assert page.locator("i[class*='fa-'], span[class*='fa-']:empty").count() == 0
    sizes = page.locator(".bd-header svg.svg-inline--fa, .bd-header-article svg.svg-inline--fa").evaluate_all(
        "icons => icons.filter(i => i.checkVisibility()).map(i => { const r = i.getBoundingClientRect(); return [r.width, r.height]; })")
    assert len(sizes) >= 5 and all(8 <= w <= 40 and 8 <= h <= 40 for w, h in sizes), sizes
    # An icon the theme's stylesheet draws with Font Awesome's (cut) font: the admonition title's.
    drawn = page.evaluate("""async () => { await document.fonts.ready;
        return [...document.fonts].filter(f => f.family.includes('Font Awesome') && f.status === 'loaded').length; }""")
    assert drawn >= 1


@pytest.mark.parametrize(("button", "dialog"), [("primary-toggle", "pst-primary-sidebar-modal"), ("secondary-toggle", "pst-secondary-sidebar-modal")])
def test_the_navigation_and_contents_drawers_open_on_a_phone(open_page, button, dialog):
    """The buttons a phone shows (book/_static/sidebar-toggles.js hands their clicks to the theme's)."""
    page = open_page(CHAPTER)
    page.locator(f"button.{button} >> visible=true").first.click()
    drawer = page.locator(f"dialog#{dialog}")
    drawer.wait_for(state="visible", timeout=5000)
    assert any(link.is_visible() for link in drawer.locator("a").all())
    page.keyboard.press("Escape")
    drawer.wait_for(state="hidden", timeout=5000)


def test_the_sidebar_button_collapses_the_navigation_on_a_wide_screen(open_page):
    page = open_page(CHAPTER, DESKTOP)
    sidebar = page.locator("#pst-primary-sidebar")
    assert sidebar.is_visible()
    page.locator("button.primary-toggle >> visible=true").first.click()
    page.wait_for_timeout(500)
    assert "pst-sidebar-hidden" in sidebar.get_attribute("class")
    assert page.locator("dialog#pst-primary-sidebar-modal[open]").count() == 0


@pytest.mark.parametrize("docname", CHAPTERS)
def test_figures_arrive_as_the_reader_scrolls(open_page, docname):
    page = open_page(docname)
    figures = page.locator("article.bd-article figure img")
    assert figures.count() >= 1
    assert all(img.get_attribute("loading") == "lazy" and img.get_attribute("width") for img in figures.all())
    last = figures.last
    last.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=last.element_handle(), timeout=10000)
    shown, natural = last.evaluate("""img => { const s = getComputedStyle(img), px = v => parseFloat(v);
        const w = img.getBoundingClientRect().width - px(s.paddingLeft) - px(s.paddingRight);
        const h = img.getBoundingClientRect().height - px(s.paddingTop) - px(s.paddingBottom);
        return [w / h, img.naturalWidth / img.naturalHeight]; }""")
    assert abs(shown - natural) < 0.02, (shown, natural)  # not stretched by its size attributes
    assert not page.errors, page.errors
