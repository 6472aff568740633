"""Sphinx extension: a site that reads offline and loads fast on a phone, and links its PDF edition.

Registered in ``_config.yml`` (``sphinx: extra_extensions``); it acts on the HTML builder only.
``tests/test_site_assets.py`` tests each transformation on its own; ``tests/test_offline.py`` and
``tests/test_site_functions.py`` test the built site in Chromium; ``scripts/lighthouse.py``
measures it (README, "Page speed").

MathJax from the site itself, loaded when math comes near
    Sphinx loads MathJax 3 from a CDN, so an offline reader, or a school network that blocks the
    CDN, sees raw TeX. MathJax 3.2.2 comes from PyPI (``sphinx-mathjax-offline``; its files are
    byte-identical to the ``es5`` folder of the official npm package ``mathjax@3.2.2``) and the
    parts a page can use are copied to ``_static/mathjax/`` (3.7 MB of the package's 24 MB: the
    TeX-to-HTML component, its fonts, the TeX extensions it loads on demand, the menu and the
    accessibility parts). A page does not load it up front: a 1 kB inline loader fetches it when
    an equation (or a quiz, whose questions may hold TeX) comes within a screen of the viewport,
    or when the page is printed. On a phone that saves 264 kB and about 0.3 s of blocked main
    thread for a reader who never reaches an equation, and nothing for one who does.
    ``window.MathJax`` stays undefined until then, so a ``jupyterquiz`` quiz does not fetch its
    own MathJax from a CDN (it does that only when it finds a MathJax object without
    ``typeset``); once MathJax has started, the loader typesets the quizzes too.

Font Awesome icons as inline SVG, and its fonts cut to what the stylesheets draw
    The theme draws about twenty icons with Font Awesome's 1.5 MB script (540 kB compressed).
    Each ``<i class="fa-...">`` in a written page is replaced by that icon's SVG, taken at build
    time from the theme's own copy of Font Awesome, and the script is no longer loaded. The
    theme's stylesheets also draw a few icons with Font Awesome's web fonts (admonition titles,
    links to GitHub: 275 kB of fonts); those fonts are cut to the glyphs the stylesheets name.

One stylesheet
    A page's ten stylesheets (one of which @imports an eleventh) are joined, in order, into one
    file named by its content's hash, without the 1,900 ``.fa-NAME:before`` rules that only
    served the icon classes now drawn as SVG. One request instead of eleven on the critical path.

Scripts that do not block the first paint
    Every script a page loads from a file is deferred (run in order once the page is parsed, as
    their ``DOMContentLoaded`` handlers expect); the 300-byte ``documentation_options.js`` is
    inlined so that the inline settings that follow it still find it. The search page keeps
    Sphinx's order (its search tools run with the index). Sphinx-thebe's files are dropped unless
    the book switches Thebe on (``launch_buttons: thebe``): nothing on a page uses them. The theme's
    search tools and search index, loaded on every page for a search-as-you-type mode this book
    leaves off, are left out of every page but the search page (``book/_templates/layout.html``).

Images
    Content images get their pixel size (the page keeps their space before they arrive),
    ``loading="lazy"`` and ``decoding="async"``: a phone fetches a figure when the reader nears it.

The PDF edition
    Every page's download menu links the PDF of the whole book, named after ``latex_documents``
    (``make pdf`` builds it and puts it at the site's root).
"""

from __future__ import annotations

import hashlib
import html
import json
import posixpath
import re
import shutil
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

# --- MathJax -------------------------------------------------------------------------------

MATHJAX_DIST = "sphinx-mathjax-offline"
MATHJAX_COMPONENT = "tex-chtml.js"
MATHJAX_PARTS = (
    MATHJAX_COMPONENT,
    "output/chtml/fonts/woff-v2",  # the fonts the HTML output uses
    "input/tex/extensions",  # TeX packages that \require or autoload fetch on first use
    "ui",  # the right-click menu's lazy parts
    "a11y",  # the accessibility tools the menu can switch on ...
    "sre/mathmaps/base.json",  # ... and the speech rules they read, English and Nemeth braille
    "sre/mathmaps/en.json",
    "sre/mathmaps/nemeth.json",
)
MATHJAX_DIR = "mathjax"  # under _static/
# Where TeX can appear: Sphinx's math nodes, notebook outputs, and the self-check quizzes
# (ketamine_course.quiz draws them with jupyterquiz's code into <section class="kc-quiz">; a
# quiz shown by jupyterquiz's own display_quiz has a div with its data-* settings).
QUIZ_SELECTOR = ".kc-quiz, [data-shufflequestions]"
MATH_SELECTOR = f".math, .output_area, {QUIZ_SELECTOR}"
QUIZ_MARKERS = ('class="kc-quiz"', "show_questions(", "data-shufflequestions")

MATHJAX_LOADER = """\
/* MathJax, from this site, loaded when TeX comes within a screen of the viewport or the page is
   printed (ketamine_course/site_assets.py). */
(function () {
  var src = %(src)s, config = %(config)s, selector = %(selector)s, quizzes = %(quizzes)s, started = false;
  config.startup = config.startup || {};
  config.startup.pageReady = function () {
    return MathJax.startup.defaultPageReady().then(function () {
      var found = document.querySelectorAll(quizzes);
      return found.length ? MathJax.typesetPromise(Array.prototype.slice.call(found)) : null;
    });
  };
  function load() {
    if (started) return;
    started = true;
    window.MathJax = config;
    var script = document.createElement("script");
    script.src = src;
    script.async = true;
    script.id = "MathJax-script";
    document.head.appendChild(script);
  }
  function watch() {
    var targets = document.querySelectorAll(selector);
    if (!targets.length || started) return;
    if (!("IntersectionObserver" in window)) return load();
    var observer = new IntersectionObserver(function (entries) {
      for (var i = 0; i < entries.length; i++) {
        if (entries[i].isIntersecting) { observer.disconnect(); load(); return; }
      }
    }, {rootMargin: "100%% 0px"});
    for (var i = 0; i < targets.length; i++) observer.observe(targets[i]);
  }
  window.addEventListener("beforeprint", load);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", watch);
  else watch();
})();"""


def mathjax_source() -> Path:
    """The MathJax ``es5`` folder that the pinned PyPI package installed."""
    try:
        dist = metadata.distribution(MATHJAX_DIST)
    except metadata.PackageNotFoundError as error:
        raise RuntimeError(f"{MATHJAX_DIST} is not installed: pip install -r requirements.txt") from error
    folder = Path(dist.locate_file("sphinx-mathjax-offline/static/mathjax"))
    if not (folder / MATHJAX_COMPONENT).is_file():
        raise RuntimeError(f"{MATHJAX_DIST} has no {MATHJAX_COMPONENT} in {folder}")
    return folder


def copy_mathjax(static: Path) -> Path:
    """Copy MATHJAX_PARTS to ``static/mathjax`` (skipped when that copy is already current)."""
    source = mathjax_source()
    target = static / MATHJAX_DIR
    stamp = target / ".copied-from"
    version = f"{MATHJAX_DIST} {metadata.version(MATHJAX_DIST)}: {', '.join(MATHJAX_PARTS)}"
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == version and (target / MATHJAX_COMPONENT).is_file():
        return target
    if target.exists():
        shutil.rmtree(target)
    for part in MATHJAX_PARTS:
        src, dst = source / part, target / part
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)
    stamp.write_text(version, encoding="utf-8")
    return target


def has_quiz(body: str) -> bool:
    return any(marker in body for marker in QUIZ_MARKERS)


def mathjax_loader(src: str, config: dict | None) -> str:
    """The inline script that loads MathJax from ``src`` when TeX nears the viewport."""
    return MATHJAX_LOADER % {
        "src": json.dumps(src),
        "config": json.dumps(config or {}),
        "selector": json.dumps(MATH_SELECTOR),
        "quizzes": json.dumps(QUIZ_SELECTOR),
    }


# --- Font Awesome ----------------------------------------------------------------------------

FA_PREFIXES = {"fa-solid": "fas", "fas": "fas", "fa-regular": "far", "far": "far", "fa-brands": "fab", "fab": "fab"}
FA_MODIFIERS = {"lg", "xs", "sm", "xl", "2xs", "2xl", "fw", "1x", "2x", "3x", "spin", "pulse", "inverse", "border"}
ICON_ELEMENT = re.compile(r'<(i|span)\s+class="(?P<classes>[^"]*\bfa-[^"]*)"(?P<attrs>[^>]*)>\s*</\1>')
FA_SCRIPT = re.compile(r'\s*<script defer src="[^"]*_static/scripts/fontawesome\.js[^"]*"></script>')
_ICON = re.compile(r'(?:"(?P<q>[a-z0-9-]+)"|(?P<n>[a-z0-9]+)):\[(?P<w>\d+),(?P<h>\d+),\[(?P<aliases>[^\]]*)\],"[0-9a-f]+","(?P<d>[^"]+)"\]')
_PACK = re.compile(r'\b[a-zA-Z_$][\w$]*\("(fa[srb])",([a-zA-Z_$][\w$]*)\)')


def theme_static() -> Path:
    import pydata_sphinx_theme

    return Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static"


@lru_cache(maxsize=2)
def fontawesome_icons(script: Path | None = None) -> dict[tuple[str, str], tuple[int, int, str]]:
    """{(style, name): (width, height, path)} for every icon in the theme's Font Awesome script.

    The script defines each style's icons as one object literal, ``var p={name:[w,h,[aliases],
    "unicode","path"],...}``, handed to ``d("fas",p)`` (solid), ``d("far",p)`` or ``d("fab",p)``.
    Aliases (``pencil-alt`` for ``pencil``) map to the same icon.
    """
    script = script or theme_static() / "scripts" / "fontawesome.js"
    text = script.read_text(encoding="utf-8")
    icons: dict[tuple[str, str], tuple[int, int, str]] = {}
    for call in _PACK.finditer(text):
        style, var = call.group(1), call.group(2)
        start = text.rfind(f"var {var}={{", 0, call.start())
        if start < 0:
            continue
        for icon in _ICON.finditer(text, start, call.start()):
            shape = (int(icon["w"]), int(icon["h"]), icon["d"])
            for name in [icon["q"] or icon["n"], *re.findall(r'"([a-z0-9-]+)"', icon["aliases"])]:
                icons.setdefault((style, name), shape)
    if not icons:
        raise RuntimeError(f"no icons found in {script}: has the theme's Font Awesome changed its format?")
    return icons


def inline_icons(page: str, icons: dict[tuple[str, str], tuple[int, int, str]]) -> tuple[str, list[str]]:
    """Replace each empty ``<i|span class="fa-... fa-NAME">`` with the icon's inline SVG.

    The element's classes (minus the style prefix) and attributes stay on the ``<svg>``, with
    ``svg-inline--fa`` (sized by custom.css, as Font Awesome's script would) and ``aria-hidden``:
    every icon here sits beside a text label or inside a labelled button.
    Returns the page and the class lists of icons not found (those elements are left as they were).
    """
    missing: list[str] = []

    def replace(match: re.Match) -> str:
        classes = match["classes"].split()
        style = next((FA_PREFIXES[c] for c in classes if c in FA_PREFIXES), "fas")
        for name in (c[3:] for c in classes if c.startswith("fa-") and c not in FA_PREFIXES and c[3:] not in FA_MODIFIERS):
            if (style, name) in icons:
                width, height, path = icons[(style, name)]
                kept = " ".join(c for c in classes if c not in FA_PREFIXES)
                attrs = match["attrs"].rstrip()
                return (f'<svg class="svg-inline--fa {kept}"{attrs} aria-hidden="true" focusable="false" '
                        f'xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}">'
                        f'<path fill="currentColor" d="{path}"/></svg>')
        missing.append(match["classes"])
        return match.group(0)

    return ICON_ELEMENT.sub(replace, page), missing


# --- One stylesheet --------------------------------------------------------------------------

STYLESHEET = re.compile(r'[ \t]*<link\b(?=[^>]*\brel="stylesheet")[^>]*>\n?')
FA_ICON_RULE = re.compile(r'\.fa-[a-z0-9-]+:before\{content:"[^"]*"\}')
# Icon classes the theme's JavaScript still creates (the close button of its banners).
FA_KEEP = {"xmark"}
_IMPORT = re.compile(r'@import\s+(?:url\()?\s*["\']([^"\']+)["\']\s*\)?\s*;')
_URL = re.compile(r'url\(\s*(["\']?)([^"\')]+)\1\s*\)')
_SOURCE_MAP = re.compile(r'/\*#\s*sourceMappingURL=[^*]*\*/')
_FONT_FACE = re.compile(r'@font-face\{[^}]*\}')
_FA_FONT_SRC = re.compile(r'src:url\((?:["\']?)([^"\')]*vendor/fontawesome/webfonts/(fa-[a-z]+-\d+))\.woff2["\']?\)\s*format\("woff2"\)\s*,\s*url\([^)]*\.ttf["\']?\)\s*format\("truetype"\)')
_ICON_CODEPOINT = re.compile(r'\\(f[0-9a-f]{3})|([\ue000-\uf8ff])', re.I)


def _read_css(path: Path, static: Path, seen: tuple[Path, ...] = ()) -> str:
    """One stylesheet with its @imports inlined and its url()s made relative to ``static``."""
    if path in seen:
        return ""
    css = path.read_text(encoding="utf-8")
    css = _SOURCE_MAP.sub("", css)
    css = _IMPORT.sub(lambda m: _read_css((path.parent / m.group(1)).resolve(), static, (*seen, path)), css)

    def rebase(match: re.Match) -> str:
        url = match.group(2).strip()
        if url.startswith(("data:", "http:", "https:", "//", "/", "#")):
            return match.group(0)
        target = (path.parent / url.split("#")[0].split("?")[0]).resolve()
        suffix = url[len(url.split("#")[0].split("?")[0]):]
        return f'url("{posixpath.relpath(target.as_posix(), static.resolve().as_posix())}{suffix}")'

    return _URL.sub(rebase, css)


def icon_codepoints(css: str) -> set[int]:
    """The Font Awesome code points a stylesheet draws (``content:"\\f05a"`` or the literal glyph)."""
    return {int(m.group(1), 16) if m.group(1) else ord(m.group(2)) for m in _ICON_CODEPOINT.finditer(css)}


def subset_fontawesome(css: str, static: Path) -> str:
    """Cut each Font Awesome font the stylesheet names to the glyphs it draws; point @font-face at the cut."""
    codepoints = sorted(icon_codepoints(css))
    webfonts = theme_static() / "vendor" / "fontawesome" / "webfonts"

    def face(match: re.Match) -> str:
        rule = match.group(0)
        src = _FA_FONT_SRC.search(rule)
        if not src:
            return rule
        name = src.group(2)
        source = webfonts / f"{name}.ttf"
        if not source.is_file():
            return rule
        digest = hashlib.sha256(source.read_bytes() + repr(codepoints).encode()).hexdigest()[:10]
        target = static / "fonts" / f"{name}.{digest}.woff"
        if not target.is_file():
            _write_subset(source, target, codepoints)
        return rule.replace(src.group(0), f'src:url("fonts/{target.name}") format("woff")')

    return _FONT_FACE.sub(face, css)


def _write_subset(source: Path, target: Path, codepoints: list[int]) -> None:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.flavor = "woff"  # zlib; woff2 would need the brotli module
    options.notdef_outline = True
    font = TTFont(source)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=codepoints)
    subsetter.subset(font)
    target.parent.mkdir(parents=True, exist_ok=True)
    font.flavor = "woff"
    font.save(target)


def _bundle(paths: list[Path], static: Path, cache: dict) -> str:
    """The bundle of these stylesheets (in order) in ``static``; returns its file name."""
    key = tuple((str(path), path.stat().st_mtime_ns, path.stat().st_size) for path in paths)
    if key not in cache:
        root = static.parent.resolve()
        css = "\n".join(f"/* {path.relative_to(root).as_posix()} */\n{_read_css(path, static.resolve())}" for path in paths)
        css = FA_ICON_RULE.sub(lambda m: m.group(0) if m.group(0)[4:m.group(0).index(":")] in FA_KEEP else "", css)
        css = subset_fontawesome(css, static)
        name = f"bundle.{hashlib.sha256(css.encode()).hexdigest()[:12]}.css"
        target = static / name
        if not target.is_file():
            target.write_text(css, encoding="utf-8")
        cache[key] = name
    return cache[key]


def bundle_stylesheets(page: str, page_file: Path, static: Path, cache: dict) -> str:
    """Replace the page's local stylesheets with one bundle in ``static`` (same order, same rules).

    The bundle's ``<link>`` names its sources (``data-sources``, paths from the site's root), so
    a later build that leaves the page as it was still brings its bundle up to date when one of
    those stylesheets changed (Sphinx rewrites no page for an edited custom.css).
    """
    head_end = page.find("</head>")
    root = static.parent.resolve()
    sheets: list[tuple[re.Match, list[Path]]] = []
    for link in STYLESHEET.finditer(page, 0, head_end if head_end > 0 else len(page)):
        tag = link.group(0)
        sources = re.search(r'\bdata-sources="([^"]+)"', tag)
        if sources:  # a bundle written by an earlier build
            paths = [root / source for source in html.unescape(sources.group(1)).split()]
            if all(path.is_file() for path in paths):
                sheets.append((link, paths))
            continue
        href = re.search(r'\bhref="([^"]+)"', tag)
        if not href or re.search(r'\bmedia="(?!all")', tag) or href.group(1).startswith(("http:", "https:", "//")):
            continue
        path = (page_file.parent / html.unescape(href.group(1)).split("?")[0]).resolve()
        if path.is_file() and path.is_relative_to(root):
            sheets.append((link, [path]))
    paths = [path for _, group in sheets for path in group]
    if len(paths) < 2:
        return page
    name = _bundle(paths, static, cache)
    href = posixpath.relpath((static / name).resolve().as_posix(), page_file.parent.resolve().as_posix())
    sources = " ".join(path.relative_to(root).as_posix() for path in paths)
    out, last = [], 0
    for index, (match, _) in enumerate(sheets):
        out.append(page[last:match.start()])
        if index == 0:
            indent = re.match(r"[ \t]*", match.group(0)).group(0)
            out.append(f'{indent}<link rel="stylesheet" href="{href}" data-sources="{html.escape(sources)}" />\n')
        last = match.end()
    out.append(page[last:])
    return "".join(out)


def remove_unused_bundles(outdir: Path) -> None:
    """Delete bundles (and cut fonts) that no page of the site uses any more, left by earlier builds."""
    static = outdir / "_static"
    used = set()
    for path in outdir.rglob("*.html"):
        used.update(re.findall(r"bundle\.[0-9a-f]{12}\.css", path.read_text(encoding="utf-8")))
    fonts = set()
    for bundle in static.glob("bundle.*.css"):
        if bundle.name in used:
            fonts.update(re.findall(r"fonts/([\w.-]+\.woff)", bundle.read_text(encoding="utf-8")))
        else:
            bundle.unlink()
    for font in (static / "fonts").glob("*.woff"):
        if font.name not in fonts:
            font.unlink()


# --- Scripts ---------------------------------------------------------------------------------

def defer_tag(tag: str) -> str:
    """``<script src=...>`` without async, defer or a type becomes deferred; anything else stays."""
    if not tag.startswith("<script ") or " src=" not in tag:
        return tag
    opening = tag[: tag.index(">")]
    if re.search(r"\b(async|defer)\b|\btype=", opening):
        return tag
    return tag.replace("<script ", "<script defer ", 1)


# --- Images ----------------------------------------------------------------------------------

IMG = re.compile(r"<img\b[^>]*>")
ARTICLE = re.compile(r'<article class="bd-article">.*?</article>', re.S)


@lru_cache(maxsize=1024)
def _image_size(path: Path, mtime: float) -> tuple[int, int] | None:
    from PIL import Image

    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, ValueError):
        return None


def lazy_images(page: str, page_file: Path) -> str:
    """Content images (inside the article): their pixel size, lazy loading and async decoding."""

    def image(match: re.Match) -> str:
        tag = match.group(0)
        additions = []
        src = re.search(r'\ssrc="([^"]+)"', tag)
        if src and " width=" not in tag and " height=" not in tag and not src.group(1).startswith(("http:", "https:", "data:", "//")):
            path = (page_file.parent / html.unescape(src.group(1)).split("#")[0].split("?")[0]).resolve()
            if path.is_file() and path.suffix.lower() in {".png", ".jpg", ".jpeg", ".gif", ".webp"}:
                size = _image_size(path, path.stat().st_mtime)
                if size:
                    additions.append(f'width="{size[0]}" height="{size[1]}"')
        if " loading=" not in tag:
            additions.append('loading="lazy"')
        if " decoding=" not in tag:
            additions.append('decoding="async"')
        return tag.replace("<img ", f"<img {' '.join(additions)} ", 1) if additions else tag

    return ARTICLE.sub(lambda article: IMG.sub(image, article.group(0)), page)


# --- The written page ------------------------------------------------------------------------

def transform_page(page: str, page_file: Path, static: Path, icons, cache: dict) -> tuple[str, list[str]]:
    """Everything this extension changes in one written HTML page; returns it and any icon not found."""
    page, missing = inline_icons(page, icons)
    if not missing:
        page = FA_SCRIPT.sub("\n  <!-- Icons: Font Awesome Free (icons CC BY 4.0, fontawesome.com/license/free), inlined as SVG. -->", page, count=1)
    page = bundle_stylesheets(page, page_file, static, cache)
    page = lazy_images(page, page_file)
    return page, missing


# --- Sphinx ----------------------------------------------------------------------------------

def _is_html(app) -> bool:
    return app.builder.format == "html" and app.builder.name in {"html", "dirhtml"}


def _filename(asset) -> str:
    """The file name of a Sphinx script or stylesheet entry ('' for an inline script)."""
    return str(getattr(asset, "filename", asset) or "")


def _body(asset) -> str:
    return getattr(asset, "attributes", {}).get("body", "") or ""


def pdf_name(app) -> str | None:
    documents = app.config.latex_documents
    return str(Path(documents[0][1]).with_suffix(".pdf")) if documents else None


def config_inited(app, config) -> None:
    config.mathjax_path = f"{MATHJAX_DIR}/{MATHJAX_COMPONENT}"


def builder_inited(app) -> None:
    app._site_assets_written = set()


@lru_cache(maxsize=1)
def _documentation_options_template() -> str:
    import sphinx

    return (Path(sphinx.__file__).parent / "themes" / "basic" / "static" / "documentation_options.js.jinja").read_text(encoding="utf-8")


def _javascript_class():
    from sphinx.builders.html._assets import _JavaScript  # Sphinx 7.4's script entry (pinned)

    return _JavaScript


def page_context(app, pagename: str, templatename: str, context: dict[str, Any], doctree) -> None:
    if not _is_html(app):
        return
    app._site_assets_written.add(app.builder.get_outfilename(pagename))
    scripts = list(context["script_files"])

    # MathJax: Sphinx's config and <script> become one lazy loader; a quiz page without
    # equations gets the loader too.
    mathjax_file = next((js for js in scripts if _filename(js).endswith(f"{MATHJAX_DIR}/{MATHJAX_COMPONENT}")), None)
    if mathjax_file is not None or has_quiz(context.get("body", "")):
        scripts = [js for js in scripts if js is not mathjax_file and not _body(js).startswith("window.MathJax = ")]
        src = context["pathto"](f"_static/{MATHJAX_DIR}/{MATHJAX_COMPONENT}", 1)
        scripts.append(_javascript_class()("", body=mathjax_loader(src, app.config.mathjax3_config)))

    # Sphinx-thebe's files, unless the book switches Thebe on.
    launch = app.config.html_theme_options.get("launch_buttons", {}) or {}
    if not launch.get("thebe"):
        scripts = [js for js in scripts if "sphinx-thebe" not in _filename(js) and "THEBE_JS_URL" not in _body(js)]
        context["css_files"] = [css for css in context["css_files"] if "sphinx-thebe" not in _filename(css)]
    context["script_files"] = scripts

    # Deferred scripts; documentation_options inlined (the search page keeps Sphinx's order).
    if pagename != "search":
        original = context["js_tag"]
        options = app.builder.templates.render_string(_documentation_options_template(), context).strip()

        def js_tag(js) -> str:
            if _filename(js).endswith("documentation_options.js"):
                return f"<script>{options}</script>"
            return defer_tag(original(js))

        context["js_tag"] = js_tag

    # The PDF edition in the download menu.
    name = pdf_name(app)
    if name:
        for button in context.get("header_buttons", []):
            if button.get("label") == "download-buttons":
                button["buttons"].insert(0, {
                    "type": "link",
                    "url": context["pathto"](name, 1),
                    "text": "Book (PDF)",
                    "tooltip": "Download the whole book as a PDF",
                    "icon": "fas fa-book",
                    "label": "download-book-pdf-button",
                })


def build_finished(app, exception) -> None:
    if not _is_html(app):
        return
    outdir = Path(app.outdir)
    static = outdir / "_static"
    if exception is None:
        copy_mathjax(static)
        if not app._site_assets_written and (static / "documentation_options.js").is_file():
            # Sphinx found no page out of date, so it copied no static file either: an edited
            # book/_static/custom.css would not reach the site. Copy the project's own static
            # files (Sphinx skips those that are unchanged); the bundles below then follow them.
            # (book/_static holds no templates, which would need the page context Sphinx skipped.)
            app.builder.copy_html_static_files(getattr(app.builder, "globalcontext", {}).copy())
    icons = fontawesome_icons()
    keeps_script = False
    cache: dict = {}
    for name in sorted(app._site_assets_written):
        path = Path(name)
        if not path.is_file():
            continue
        page = path.read_text(encoding="utf-8")
        new, missing = transform_page(page, path, static, icons, cache)
        if missing:
            keeps_script = True
            from sphinx.util import logging

            logging.getLogger(__name__).warning(
                "site_assets: no Font Awesome icon for %s in %s; the page keeps Font Awesome's script", sorted(set(missing)), path.name)
        if new != page:
            path.write_text(new, encoding="utf-8")
    # Pages this build left as they were: their bundle follows any stylesheet that changed.
    written = {str(Path(name)) for name in app._site_assets_written}
    for path in sorted(outdir.rglob("*.html")):
        if str(path) in written or "_static" in path.relative_to(outdir).parts:
            continue
        page = path.read_text(encoding="utf-8")
        if "data-sources=" in page:
            new = bundle_stylesheets(page, path, static, cache)
            if new != page:
                path.write_text(new, encoding="utf-8")
    app._site_assets_written.clear()
    remove_unused_bundles(outdir)
    # The theme copies Font Awesome's script (3 MB with its source map) on every build; no page
    # loads it now, unless one had an icon this extension could not draw (warned above).
    if not keeps_script:
        for leftover in ("fontawesome.js", "fontawesome.js.map"):
            (static / "scripts" / leftover).unlink(missing_ok=True)


# --- The PDF edition's structure -------------------------------------------------------------

PDF_FRONT_TITLE = "Welcome"


def _raw_latex(text: str):
    from docutils import nodes

    return nodes.raw("", text, format="latex")


def latex_book_structure(app, doctree, docname: str) -> None:
    """Give the PDF the book's structure (Sphinx's own LaTeX writer, without sphinx-jupyterbook-latex).

    Sphinx writes the root page's title as the book's title and each of its sections as a
    chapter, so the welcome page's seven sections would become chapters 1 to 7 and the book's
    chapters would start at 8. Here the root page's own content becomes one unnumbered chapter
    (``Welcome``, with its sections as sections; its label, which Sphinx drops with the title, is
    kept so that links to it resolve), each table-of-contents caption of ``_toc.yml`` becomes a
    ``\\part``, and chapters are numbered only in numbered parts, from 1, as on the web site.
    Code that the web page folds away (cells tagged ``hide-input`` or ``hide-cell``: imports and
    plotting) is left out of the PDF, which keeps the prose, the figures and the analysis code.
    """
    from docutils import nodes
    from sphinx import addnodes

    if app.builder.name != "latex" or docname != app.config.root_doc:
        return
    for cell in list(doctree.findall(nodes.container)):
        if "cell" in cell["classes"] and {"tag_hide-input", "tag_hide-cell"} & set(cell["classes"]):
            for part in [child for child in cell.children if "cell_input" in child.get("classes", [])]:
                cell.remove(part)
    # Exercises: sphinx-exercise labels each one ``exercise:<label>`` in LaTeX, but a reference
    # from another page (the instructors' alignment table) asks for ``<docname>:<label>`` and
    # prints ``\ref`` of it. Give each exercise that label too, carrying its own number.
    registry = getattr(app.env, "sphinx_exercise_registry", {})
    fignumbers = getattr(app.env, "toc_fignumbers", {})
    for node in list(doctree.findall(lambda n: type(n).__name__ in {"exercise_enumerable_node", "exercise_node"})):
        label = node.get("label")
        docname_of = (registry.get(label) or {}).get("docname")
        if not label or not docname_of or node.parent is None:
            continue
        numbers = fignumbers.get(docname_of, {}).get("exercise", {})
        number = next((numbers[i] for i in node.get("ids", []) if i in numbers), None)
        text = ".".join(map(str, number)) if number else ""
        node.parent.insert(node.parent.index(node), _raw_latex(
            rf"\phantomsection{{\expandafter\def\csname @currentlabel\endcsname{{{text}}}"
            rf"\label{{\detokenize{{{docname_of}:{label}}}}}}}" "\n"))
    root = doctree.next_node(nodes.section)
    if root is None:
        return
    toctrees = list(app.env.get_doctree(app.config.root_doc).findall(addnodes.toctree))
    wrappers = [child for child in root.children if isinstance(child, nodes.compound) and "toctree-wrapper" in child["classes"]]
    if not wrappers:
        return
    title = root.next_node(nodes.title)
    first = root.index(wrappers[0])
    own = [child for child in root.children[:first] if child is not title]

    welcome = nodes.section(ids=[], names=[])
    welcome += nodes.title(PDF_FRONT_TITLE, PDF_FRONT_TITLE)
    welcome += _raw_latex("".join(rf"\phantomsection\label{{\detokenize{{{docname}:{i}}}}}" for i in root["ids"]))
    for child in own:
        root.remove(child)
        welcome += child
    root.insert(root.index(wrappers[0]), _raw_latex(r"\setcounter{secnumdepth}{-1}"))
    root.insert(root.index(wrappers[0]), welcome)

    numbered_before = False
    for wrapper, toctree in zip(wrappers, toctrees):
        caption = toctree.get("caption")
        numbered = bool(toctree.get("numbered"))
        commands = []
        if caption:
            commands.append(rf"\part{{{caption}}}")
        if numbered:
            if not numbered_before:
                commands.append(r"\setcounter{chapter}{0}")
            commands.append(r"\setcounter{secnumdepth}{2}")
            numbered_before = True
        else:
            commands.append(r"\setcounter{secnumdepth}{-1}")
        wrapper.insert(0, _raw_latex("\n".join(commands) + "\n"))


def setup(app):
    app.connect("config-inited", config_inited)
    app.connect("doctree-resolved", latex_book_structure)
    app.connect("builder-inited", builder_inited)
    app.connect("html-page-context", page_context, priority=900)
    # Last: the theme rewrites pygments.css, myst-nb and sphinx-exercise write their CSS, in build-finished.
    app.connect("build-finished", build_finished, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": False}
