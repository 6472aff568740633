"""The page transformations of ketamine_course.site_assets, one at a time, on small inputs.

The built site is tested in test_offline.py and test_site_functions.py (in Chromium) and in
test_build_site_assets (below, on the session's build).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from ketamine_course import site_assets


# --- Font Awesome ----------------------------------------------------------------------------

def test_icons_are_read_from_the_themes_font_awesome():
    icons = site_assets.fontawesome_icons()
    assert len(icons) > 1500
    width, height, path = icons[("fas", "rocket")]
    assert (width, height) == (512, 512) and path.startswith("M")
    assert ("fab", "github") in icons and ("fas", "github") not in icons  # styles kept apart
    assert icons[("fas", "pencil-alt")] == icons[("fas", "pencil")]  # an alias


def test_an_icon_element_becomes_inline_svg_with_its_classes_and_attributes():
    icons = site_assets.fontawesome_icons()
    page = '<button><i class="theme-switch fa-solid fa-sun fa-lg" data-mode="light" title="Light"></i></button>'
    new, missing = site_assets.inline_icons(page, icons)
    assert not missing
    svg = re.search(r"<svg [^>]*>", new).group(0)
    assert 'class="svg-inline--fa theme-switch fa-sun fa-lg"' in svg  # the style prefix goes
    assert 'data-mode="light"' in svg and 'title="Light"' in svg and 'aria-hidden="true"' in svg
    assert f'viewBox="0 0 {icons[("fas", "sun")][0]} {icons[("fas", "sun")][1]}"' in svg
    assert icons[("fas", "sun")][2] in new and "<i " not in new


def test_brands_and_span_elements_and_unknown_icons():
    icons = site_assets.fontawesome_icons()
    new, missing = site_assets.inline_icons('<span class="fab fa-github"></span><i class="fas fa-no-such-icon"></i>', icons)
    assert icons[("fab", "github")][2] in new
    assert missing == ["fas fa-no-such-icon"] and '<i class="fas fa-no-such-icon"></i>' in new


def test_font_awesome_script_is_dropped_only_when_every_icon_was_drawn(tmp_path):
    icons = site_assets.fontawesome_icons()
    head = '<head>\n  <script defer src="../_static/scripts/fontawesome.js?digest=abc"></script>\n</head>'
    drawn, _ = site_assets.transform_page(head + '<i class="fas fa-rocket"></i>', tmp_path / "p.html", tmp_path, icons, {})
    kept, missing = site_assets.transform_page(head + '<i class="fas fa-no-such-icon"></i>', tmp_path / "p.html", tmp_path, icons, {})
    assert "fontawesome.js" not in drawn
    assert missing and "fontawesome.js" in kept


# --- Scripts ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("tag", "expected"), [
    ('<script src="a.js"></script>', '<script defer src="a.js"></script>'),
    ('<script data-x="1" src="a.js"></script>', '<script defer data-x="1" src="a.js"></script>'),
    ('<script async="async" src="a.js"></script>', None),
    ('<script defer="defer" src="a.js"></script>', None),
    ('<script type="module" src="a.js"></script>', None),
    ("<script>let x = 1;</script>", None),
])
def test_scripts_from_files_are_deferred(tag, expected):
    assert site_assets.defer_tag(tag) == (expected or tag)


def test_the_mathjax_loader_is_valid_javascript_naming_its_source_and_config():
    loader = site_assets.mathjax_loader("../_static/mathjax/tex-chtml.js", {"options": {"processHtmlClass": "math"}})
    assert '"../_static/mathjax/tex-chtml.js"' in loader and '"processHtmlClass": "math"' in loader
    assert "window.MathJax = config" in loader and "IntersectionObserver" in loader and "beforeprint" in loader
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (make test installs Lighthouse with it)")
    check = subprocess.run([node, "--check", "-"], input=loader, text=True, capture_output=True)
    assert check.returncode == 0, check.stderr


# --- MathJax files ---------------------------------------------------------------------------

def test_mathjax_is_copied_from_the_pinned_package_once(tmp_path):
    target = site_assets.copy_mathjax(tmp_path)
    component = target / site_assets.MATHJAX_COMPONENT
    assert component.stat().st_size > 1_000_000
    assert (target / "output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff").is_file()
    assert (target / "input/tex/extensions/mhchem.js").is_file()
    assert not (target / "tex-svg.js").exists()  # only the parts a page can use
    before = component.stat().st_mtime_ns
    site_assets.copy_mathjax(tmp_path)
    assert component.stat().st_mtime_ns == before  # a current copy is left alone


# --- Images ----------------------------------------------------------------------------------

def test_article_images_get_their_size_and_load_lazily(tmp_path):
    Image.new("RGB", (300, 120), "white").save(tmp_path / "fig.png")
    page = ('<header><img src="logo.svg"></header><article class="bd-article">'
            '<img alt="A" src="fig.png" /><img alt="B" src="fig.png" loading="eager" /></article>')
    new = site_assets.lazy_images(page, tmp_path / "page.html")
    first, second = re.findall(r"<img [^>]*>", new.split("<article")[1])
    assert 'width="300" height="120"' in first and 'loading="lazy"' in first and 'decoding="async"' in first
    assert 'loading="eager"' in second and 'loading="lazy"' not in second
    assert '<header><img src="logo.svg"></header>' in new  # outside the article: untouched


# --- One stylesheet --------------------------------------------------------------------------

def make_site(tmp_path: Path) -> tuple[Path, Path]:
    static = tmp_path / "_static"
    (static / "styles").mkdir(parents=True)
    (static / "basic.css").write_text("body { margin: 0 }\n")
    (static / "styles" / "theme.css").write_text('@import "../basic.css";\n.a { background: url(../img/x.png) }\n'
                                                  '.fa-rocket:before{content:"\\f135"}.fa-xmark:before{content:"\\f00d"}\n'
                                                  "/*# sourceMappingURL=theme.css.map */\n")
    (static / "custom.css").write_text(".b { color: red }\n")
    page = tmp_path / "book" / "page.html"
    page.parent.mkdir()
    page.write_text('<html><head>\n  <link href="../_static/styles/theme.css?digest=1" rel="stylesheet" />\n'
                    '    <link rel="stylesheet" type="text/css" href="../_static/custom.css?v=2" />\n'
                    '    <link rel="stylesheet" href="../_static/print.css" media="print" />\n</head><body></body></html>')
    return static, page


def test_stylesheets_become_one_bundle_in_order(tmp_path):
    static, page = make_site(tmp_path)
    new = site_assets.bundle_stylesheets(page.read_text(), page, static, {})
    links = re.findall(r"<link [^>]*>", new)
    assert len(links) == 2 and 'media="print"' in links[1]  # a print-only sheet stays apart
    href = re.search(r'href="([^"]+)"', links[0]).group(1)
    bundle = (page.parent / href).resolve().read_text()
    assert re.fullmatch(r"\.\./_static/bundle\.[0-9a-f]{12}\.css", href)
    assert bundle.index("margin: 0") < bundle.index("background") < bundle.index("color: red")  # @import inlined first
    assert 'url("img/x.png")' in bundle  # made relative to _static
    assert "fa-rocket" not in bundle and "fa-xmark" in bundle  # icon rules go, except those theme JS still uses
    assert "sourceMappingURL" not in bundle


def test_the_same_stylesheets_share_one_bundle(tmp_path):
    static, page = make_site(tmp_path)
    cache = {}
    first = site_assets.bundle_stylesheets(page.read_text(), page, static, cache)
    second = site_assets.bundle_stylesheets(page.read_text(), page, static, cache)
    assert first == second and len(list(static.glob("bundle.*.css"))) == 1


def test_font_awesome_fonts_are_cut_to_the_glyphs_the_css_draws(tmp_path):
    from fontTools.ttLib import TTFont

    css = ('@font-face{font-display:block;font-family:Font Awesome\\ 6 Free;font-style:normal;font-weight:900;'
           'src:url("vendor/fontawesome/webfonts/fa-solid-900.woff2") format("woff2"),url("vendor/fontawesome/webfonts/fa-solid-900.ttf") format("truetype")}'
           '.admonition-title:after{content:"\\f05a";font:var(--fa-font-solid)} .x{--pst-icon-lightbulb:"\uf0eb"}')
    new = site_assets.subset_fontawesome(css, tmp_path)
    url = re.search(r'src:url\("(fonts/fa-solid-900\.[0-9a-f]+\.woff)"\) format\("woff"\)', new).group(1)
    font = TTFont(tmp_path / url)
    assert set(font.getBestCmap()) == {0xF05A, 0xF0EB}
    assert (tmp_path / url).stat().st_size < 5000


def test_a_page_left_as_it_was_follows_an_edited_stylesheet(tmp_path):
    """Sphinx rewrites no page when only custom.css changed: the bundle must follow it anyway."""
    static, page = make_site(tmp_path)
    bundled = site_assets.bundle_stylesheets(page.read_text(), page, static, {})
    (static / "custom.css").write_text(".b { color: green }\n")
    again = site_assets.bundle_stylesheets(bundled, page, static, {})
    href = re.search(r'href="(\.\./_static/bundle[^"]+)"', again).group(1)
    assert href not in bundled and "color: green" in (page.parent / href).resolve().read_text()
    assert again.count("<link") == bundled.count("<link")
    page.write_text(again)
    site_assets.remove_unused_bundles(tmp_path)
    assert [p.name for p in static.glob("bundle.*.css")] == [href.rsplit("/", 1)[1]]  # the old one is gone


# --- On the session's build ------------------------------------------------------------------

@pytest.fixture(scope="module")
def site_html(book_build):
    if book_build.returncode != 0:
        pytest.fail(f"the book did not build; see test_build.py:\n{book_build.log[-3000:]}")
    return book_build.html


def built_pages(html: Path) -> list[Path]:
    return [path for path in sorted(html.rglob("*.html")) if "_static" not in path.relative_to(html).parts]


@pytest.mark.build
def test_no_page_loads_a_script_or_stylesheet_from_another_host(site_html):
    for path in built_pages(site_html):
        page = path.read_text(encoding="utf-8")
        outside = re.findall(r'<(?:script|link)\b[^>]*(?:src|href)="((?:https?:)?//[^"]+)"', page)
        assert not outside, f"{path.relative_to(site_html)} loads {outside}"
        assert "cdn.jsdelivr" not in page and "unpkg.com" not in page, path.name


@pytest.mark.build
def test_every_page_uses_one_current_bundle_and_no_font_awesome_script(site_html):
    static = site_html / "_static"
    assert not (static / "scripts" / "fontawesome.js").exists()
    pages_with_bundle = 0
    for path in built_pages(site_html):
        page = path.read_text(encoding="utf-8")
        if "<head>" not in page:
            continue  # the root index.html is a redirect
        stylesheets = re.findall(r'<link\b[^>]*rel="stylesheet"[^>]*>', page)
        assert len(stylesheets) == 1, f"{path.name}: {stylesheets}"
        assert "fontawesome.js" not in page and not re.search(r'<i class="[^"]*\bfa-', page), path.name
        # The bundle on disk is the one its sources make now (no stale stylesheet).
        assert site_assets.bundle_stylesheets(page, path, static, {}) == page, f"{path.name}: its bundle is out of date"
        pages_with_bundle += 1
    assert pages_with_bundle >= len(__import__("book_pages").pages())
    assert (static / "mathjax" / site_assets.MATHJAX_COMPONENT).is_file()
