"""Reader notebooks: each chapter as a Jupyter notebook whose prose reads as the web page does.

The MyST Markdown chapters (``book/*.md``) are the one source that authors edit. The web book
(Sphinx, myst-nb) resolves their roles and directives: ``{glue:text}`` becomes a number,
``{cite:p}`` an author-year citation, ``{numref}`` "Fig. 2.3", ``{exercise}`` a numbered box, and
``{bibliography}`` the chapter's reference list. JupyterLab (with jupyterlab-myst) shows the same
source with variable names, raw bibliography keys and labels instead. This module generates, from
the source and one execution of it, a notebook in which all of that is resolved as the web page
resolves it:

- glued values formatted by myst-nb's own ``format_plain_text``;
- citations formatted by sphinxcontrib-bibtex's own reference style (``bibtex_reference_style``)
  and linking to a reference list at the end of the notebook, whose entries are formatted by the
  pybtex style of the book (``bibtex_default_style``), with their DOI links;
- figure, table and exercise numbers computed from ``_toc.yml`` the way Sphinx numbers them
  (``numfig_secnum_depth``), and checked against Sphinx's own numbers in every book build
  (``ketamine_course.reader_sphinx``);
- ``{ref}``, ``{doc}`` and ``{term}`` as their text; sphinx-exercise boxes as admonitions, gated
  solutions folded (Markdown in dropdowns, code cells collapsed), ``build-check`` cells dropped,
  ``hide-input`` and ``remove-input`` as JupyterLab's collapsed inputs;
- one note at the top: the numbers in the text were computed with the chapter's original settings.

Anything the module does not know raises :class:`ReaderError` naming the file, line and construct,
so that a new role or directive is handled deliberately rather than shown raw.

Two routes share this code:

- Binder and a local JupyterLab (``postBuild``, ``make notebooks``) run
  ``python -m ketamine_course.reader``, which executes each chapter once with nbclient (seconds
  per chapter, no book build) and writes ``notebooks/<chapter>.ipynb`` and
  ``notebooks/student/<chapter>.ipynb``;
- the book build (``ketamine_course.reader_sphinx``) converts the notebooks myst-nb executed
  (``_build/jupyter_execute``) into ``_build/reader/``, for download.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses as dc
import json
import re
import sys
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath

import nbformat
import yaml

EDITIONS = ("full", "student")
NOTEBOOK_DIR = "notebooks"  # where Binder and `make notebooks` put the reader notebooks (gitignored)
NOTE_TITLE = "About this notebook"

# Sphinx's default numfig formats, plus sphinx-exercise's.
NUMFIG_FORMAT = {"section": "Section %s", "figure": "Fig. %s", "table": "Table %s", "code-block": "Listing %s", "exercise": "Exercise %s"}

# Directives that jupyterlab-myst renders as the web book does: kept, with their text resolved.
PASSTHROUGH_DIRECTIVES = {
    "admonition", "note", "tip", "hint", "important", "warning", "caution", "attention", "danger", "error", "seealso",
    "dropdown", "card", "grid", "grid-item", "grid-item-card", "tab-set", "tab-item", "margin", "aside", "sidebar",
    "topic", "epigraph", "math", "code-block", "code", "sourcecode", "image",
}
# Directives this module converts into something jupyterlab-myst renders well.
CONVERTED_DIRECTIVES = {"exercise", "solution", "solution-start", "solution-end", "bibliography", "figure"}
# Roles jupyterlab-myst renders as the web book does.
PASSTHROUGH_ROLES = {"math", "sub", "sup", "abbr", "kbd"}
CODE_CELL_HIDDEN = {"hide-input", "hide-cell", "remove-input", "remove-cell"}
OUTPUT_HIDDEN = {"hide-output", "hide-cell", "remove-output", "remove-cell"}
BUILD_CHECK = "build-check"

# A role, or a bare code span (kept as it is): scanning both left to right keeps roles inside
# code spans (`` `{cite:p}` `` in a sentence about MyST) from being resolved.
ROLE_OR_CODE = re.compile(r"(?:\{(?P<name>[A-Za-z][\w.:+-]*)\})?(?P<ticks>`+)(?P<content>.+?)(?<!`)(?P=ticks)(?!`)", re.S)
TEXT_TARGET = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
LINK = re.compile(r"(?<![!\\])\[(?P<text>[^\[\]]*)\]\((?P<target>[^()\s]*)\)")
MD_SPECIAL = re.compile(r"([\\`*_\[\]<>$&|~])")


class ReaderError(ValueError):
    """The source uses something that the reader notebooks cannot (yet) show as the web page does."""


def escape(text: str) -> str:
    """Backslash-escape the characters that mean something in (MyST) Markdown inline text."""
    return MD_SPECIAL.sub(r"\\\1", text)


def notebook_relpath(docname: str, edition: str = "full") -> str:
    """Where a page's reader notebook goes, relative to the reader folder.

    ``book/02_rapid_onset`` -> ``02_rapid_onset.ipynb`` (full) or ``student/02_rapid_onset.ipynb``.
    The launch buttons open ``lab/tree/notebooks/<this>`` in Binder.
    """
    if edition not in EDITIONS:
        raise ValueError(f"edition must be one of {EDITIONS}, not {edition!r}")
    parts = PurePosixPath(docname).parts
    rel = PurePosixPath(*parts[1:]) if parts[0] == "book" and len(parts) > 1 else PurePosixPath(docname)
    rel = rel.with_suffix(".ipynb")
    return str(rel if edition == "full" else PurePosixPath("student") / rel)


def anchor(key: str) -> str:
    """The label of a bibliography entry in the reader notebook's reference list."""
    return "cite-" + re.sub(r"[^a-z0-9_-]+", "-", key.lower()).strip("-")


# ---------------------------------------------------------------------------------------------
# The book: configuration, table of contents, targets and their numbers, bibliography
# ---------------------------------------------------------------------------------------------


@dataclass
class Target:
    """Something a page can refer to: a section, a numbered figure/table/exercise, or a page."""

    label: str
    doc: str
    kind: str  # "section", "figure", "table", "exercise", "doc", "label"
    title: str | None = None  # Markdown (already resolved) or None
    number: tuple[int, ...] | None = None
    enumerable: bool = False  # counted by numfig (has a caption/title and is not :nonumber:)


@dataclass
class Page:
    doc: str
    path: Path
    text: str  # the source in this edition
    notebook: nbformat.NotebookNode  # as myst-nb reads it (the web book's cells)
    title: str = ""
    enumerables: list[Target] = field(default_factory=list)
    cited: list[str] = field(default_factory=list)  # keys in citation order
    has_bibliography: bool = False

    @property
    def code_cells(self):
        return [cell for cell in self.notebook.cells if cell.cell_type == "code"]


def sphinx_config(root: Path) -> dict:
    """The Sphinx configuration that ``jupyter-book build`` derives from ``_config.yml``."""
    from jupyter_book.config import get_final_config

    config, _ = get_final_config(
        user_yaml=root / "_config.yml", sourcedir=root, cli_config={"latex_individualpages": False}, validate=False
    )
    return config


def student_text(text: str) -> str:
    """The student edition of a page's source (the logic of ``ketamine_course.editions``)."""
    from .editions import student_text as transform

    return transform(text)


class Book:
    """Everything a page's prose can refer to, read from the sources of one edition of the book."""

    def __init__(self, root: Path, edition: str = "full", config: dict | None = None):
        if edition not in EDITIONS:
            raise ValueError(f"edition must be one of {EDITIONS}, not {edition!r}")
        self.root = Path(root)
        self.edition = edition
        self.config = config if config is not None else sphinx_config(self.root)
        self.numfig_format = {**NUMFIG_FORMAT, **(self.config.get("numfig_format") or {})}
        from myst_parser.config.main import MdParserConfig

        self.md_config = MdParserConfig(enable_extensions=set(self.config.get("myst_enable_extensions", [])))
        self.substitutions = dict(self.config.get("myst_substitutions") or {})
        self.bibliography = Bibliography(self.root, self.config)
        self.docs, self._tree = self._read_toc()
        self.pages: dict[str, Page] = {}
        self.targets: dict[str, Target] = {}
        for doc in self.docs:
            self._index(doc)
        self._number()

    # -- table of contents and numbering ------------------------------------------------------
    def _read_toc(self):
        from sphinx_external_toc.parsing import parse_toc_yaml

        site = parse_toc_yaml(self.root / self.config.get("external_toc_path", "_toc.yml"))
        docs: list[str] = []

        def walk(doc):
            docs.append(doc)
            for subtree in site[doc].subtrees:
                for item in subtree.items:
                    if isinstance(item, str):
                        walk(item)

        walk(site.root.docname)
        return docs, site

    def _number(self) -> None:
        """Number figures, tables and exercises as Sphinx does (``assign_figure_numbers``)."""
        depth = int(self.config.get("numfig_secnum_depth", 1))
        if depth > 1:  # numbers would then also depend on the sections inside a page
            raise ReaderError(f"numfig_secnum_depth {depth} is not supported by the reader notebooks (1 or 0 is)")
        numfig = bool(self.config.get("numfig", True))
        counters: dict[tuple[str, tuple[int, ...]], int] = {}
        self.secnum: dict[str, tuple[int, ...]] = {}

        def walk(doc: str, parent_secnum: tuple[int, ...], own: tuple[int, ...] | None) -> None:
            secnum = own if own else parent_secnum
            self.secnum[doc] = own or ()
            for target in self.pages[doc].enumerables:
                if numfig and target.enumerable:
                    key = (target.kind, secnum[:depth])
                    counters[key] = counters.get(key, 0) + 1
                    target.number = (*secnum[:depth], counters[key])
            chapter = 0
            for subtree in self._tree[doc].subtrees:
                if subtree.restart_numbering:
                    chapter = 0
                for item in subtree.items:
                    if not isinstance(item, str):
                        continue
                    child = None
                    if subtree.numbered and (subtree.numbered is True or len(own or ()) < int(subtree.numbered)):
                        chapter += 1
                        child = (*(own or ()), chapter)
                    walk(item, secnum, child)

        walk(self.docs[0], (), None)

    def number_text(self, target: Target) -> str:
        if target.number is None:
            raise ReaderError(f"{target.label!r} ({target.kind}) has no number: numfig is off or it is not numbered")
        return self.numfig_format[target.kind] % ".".join(map(str, target.number))

    # -- pages ---------------------------------------------------------------------------------
    def source_path(self, doc: str) -> Path:
        for suffix in (".md", ".ipynb"):
            path = self.root / f"{doc}{suffix}"
            if path.is_file():
                return path
        raise ReaderError(f"no source file for the _toc.yml entry {doc!r}")

    def read_notebook(self, text: str, path: Path) -> nbformat.NotebookNode:
        """The cells of a MyST Markdown notebook, as myst-nb (the web book) reads them."""
        if path.suffix == ".ipynb":
            return nbformat.reads(text, as_version=4)
        from myst_nb.core.read import read_myst_markdown_notebook

        return read_myst_markdown_notebook(text, self.md_config, add_source_map=True, path=path)

    def _index(self, doc: str) -> None:
        path = self.source_path(doc)
        text = path.read_text(encoding="utf-8")
        if self.edition == "student":
            text = student_text(text)
        notebook = self.read_notebook(text, path)
        page = Page(doc, path, text, notebook)
        self.pages[doc] = page
        source_map = notebook.metadata.get("source_map") or [0] * len(notebook.cells)
        for cell, line in zip(notebook.cells, source_map):
            if cell.cell_type == "markdown":
                self._index_markdown(page, cell.source, line)
            elif cell.cell_type == "code":
                figure = cell.metadata.get("mystnb", {}).get("figure", {})
                if BUILD_CHECK in cell.metadata.get("tags", []):
                    continue
                if figure.get("caption"):
                    self._note_citations(page, figure["caption"])
                if figure.get("name"):
                    self._add(Target(figure["name"], doc, "figure", title=None, enumerable=bool(figure.get("caption"))), page)
        if not page.title:
            page.title = escape(path.stem)

    def _add(self, target: Target, page: Page) -> None:
        if target.label in self.targets:
            other = self.targets[target.label]
            raise ReaderError(f"the label {target.label!r} is defined twice ({other.doc} and {target.doc})")
        self.targets[target.label] = target
        if target.kind in ("figure", "table", "exercise"):
            page.enumerables.append(target)

    def _note_citations(self, page: Page, text: str) -> None:
        for match in ROLE_OR_CODE.finditer(text):
            name = match.group("name") or ""
            if name == "cite" or name.startswith("cite:"):
                from sphinxcontrib.bibtex.citation_target import parse_citation_targets

                for target in parse_citation_targets(match.group("content")):
                    if target.key not in page.cited:
                        page.cited.append(target.key)

    def _index_markdown(self, page: Page, text: str, line: int) -> None:
        tokens = self.block_tokens(text)
        pending_labels: list[str] = []
        for index, token in enumerate(tokens):
            if token.type == "myst_target":
                pending_labels.append(token.content.strip())
                continue
            if token.type == "heading_open":
                title = tokens[index + 1].content.strip()
                if token.tag == "h1" and not page.title:
                    page.title = title
                for label in pending_labels:
                    self._add(Target(label, page.doc, "section", title=title), page)
                pending_labels = []
                continue
            if token.type in ("fence", "colon_fence") and token.info.startswith("{"):
                for label in pending_labels:
                    self._add(Target(label, page.doc, "label"), page)
                pending_labels = []
                name, args, options, body = parse_directive(token)
                if name == "exercise" and options.get("label"):
                    self._add(Target(options["label"], page.doc, "exercise", title=args or None, enumerable="nonumber" not in options), page)
                elif name in ("figure", "table", "list-table", "csv-table") and options.get("name"):
                    kind = "figure" if name == "figure" else "table"
                    caption = body.strip().split("\n\n")[0] if name == "figure" else args
                    self._add(Target(options["name"], page.doc, kind, title=caption or None, enumerable=bool(caption)), page)
                elif name == "bibliography":
                    page.has_bibliography = True
                self._note_citations(page, args)
                # directives nest: index their bodies too (labels, citations)
                if name not in ("code-block", "code", "sourcecode", "math"):
                    self._index_markdown(page, body, line)
                continue
            if token.level == 0 and token.map is not None:
                for label in pending_labels:
                    self._add(Target(label, page.doc, "label"), page)
                pending_labels = []
            if token.type == "inline":
                self._note_citations(page, token.content)
        for label in pending_labels:
            self._add(Target(label, page.doc, "label"), page)

    def block_tokens(self, text: str):
        """Block-level tokens of MyST Markdown (inline syntax left as text), as myst-nb parses cells."""
        return self._block_parser.parse(text + ("\n" if not text.endswith("\n") else ""))

    @cached_property
    def _block_parser(self):
        from markdown_it.renderer import RendererHTML
        from myst_parser.parsers.mdit import create_md_parser

        config = dc.replace(self.md_config, disable_syntax=[*self.md_config.disable_syntax, "inline"])
        return create_md_parser(config, RendererHTML)

    def reader_docs(self) -> list[str]:
        """The pages that get a reader notebook: those with code cells (the ones a reader runs)."""
        return [doc for doc in self.docs if self.pages[doc].code_cells]


def parse_directive(token) -> tuple[str, str, dict, str]:
    """(name, argument, options, body) of a fenced MyST directive, as MyST writes them."""
    match = re.match(r"\{(?P<name>[^}\s]+)\}\s*(?P<args>.*)$", token.info.strip())
    if not match:
        raise ReaderError(f"not a directive: {token.info!r}")
    name, args = match.group("name"), match.group("args").strip()
    content = token.content
    options: dict = {}
    lines = content.splitlines(keepends=True)
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        if end is None:
            raise ReaderError(f"{{{name}}}: the YAML options block is not closed with ---")
        options = yaml.safe_load("".join(lines[1:end])) or {}
        rest = lines[end + 1 :]
    else:
        i = 0
        while i < len(lines):
            option = re.match(r"^:(?P<key>[\w-]+):(?:\s+(?P<value>.*?))?\s*$", lines[i])
            if not option:
                break
            options[option.group("key")] = option.group("value") or ""
            i += 1
        rest = lines[i:]
    body = "".join(rest)
    return name, args, {str(k): ("" if v is None else str(v)) for k, v in options.items()}, body


def option_lines(token) -> str:
    """The option lines of a directive exactly as written (for directives passed through)."""
    lines = token.content.splitlines(keepends=True)
    if lines and lines[0].strip() == "---":
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
        return "".join(lines[: end + 1])
    out = []
    for line in lines:
        if not re.match(r"^:[\w-]+:", line):
            break
        out.append(line)
    return "".join(out)


def fence_for(body: str, minimum: int = 3) -> str:
    """A backtick fence longer than any fence inside ``body``."""
    longest = max((len(m.group(1)) for m in re.finditer(r"^\s*(`{3,})", body, re.M)), default=0)
    return "`" * max(minimum, longest + 1)


def register_book_styles(config: dict) -> None:
    """Register the citation styles that the book's own Sphinx extensions add (outside Sphinx too).

    An extension of the course package (``ketamine_course.*`` in ``extensions``) that registers
    pybtex or sphinxcontrib-bibtex styles in its ``setup`` does so through a module-level
    ``register()``; calling it here lets Binder format citations with the same styles.
    """
    import importlib

    for name in config.get("extensions", []):
        if isinstance(name, str) and name.startswith("ketamine_course."):
            module = importlib.import_module(name)
            if callable(getattr(module, "register", None)):
                module.register()


class Bibliography:
    """Citations and reference lists formatted by the book's own sphinxcontrib-bibtex and pybtex styles."""

    def __init__(self, root: Path, config: dict):
        import pybtex.plugin
        from sphinxcontrib.bibtex.bibfile import parse_bibdata

        files = [root / name for name in config.get("bibtex_bibfiles", [])]
        self.entries = parse_bibdata(files, config.get("bibtex_encoding", "utf-8-sig")).data.entries if files else {}
        from sphinxcontrib.bibtex.plugin import find_plugin

        register_book_styles(config)
        self.reference_style = find_plugin("sphinxcontrib.bibtex.style.referencing", config.get("bibtex_reference_style", "label"))()
        self.style = pybtex.plugin.find_plugin("pybtex.style.formatting", config.get("bibtex_default_style", "alpha"))()
        # Labels as for the book's full bibliography (the list that web citations link to).
        ordered = list(self.style.sort(self.entries.values()))
        self.formatted = {entry.key: self.style.format_entry(label, entry) for label, entry in zip(self.style.format_labels(ordered), ordered)}
        self.position = {key: index for index, key in enumerate(self.formatted)}

    def entry(self, key: str):
        if key not in self.entries:
            raise ReaderError(f"the citation key {key!r} is not in the bibliography")
        return self.entries[key]

    def cite(self, role: str, content: str, doc: str) -> tuple[str, str]:
        """(Markdown, plain text) of a citation role, e.g. ``("\\[[Berman *et al.*, 2000](#cite-...)\\]", "[Berman et al., 2000]")``."""
        from sphinxcontrib.bibtex.citation_target import parse_citation_targets
        from sphinxcontrib.bibtex.style.referencing import format_references
        from sphinxcontrib.bibtex.style.template import SphinxReferenceInfo

        typ = "p" if role == "cite" else role.split(":", 1)[1]
        if typ not in self.reference_style.role_names():
            raise ReaderError(f"{{{role}}} is not a citation role of the {type(self.reference_style).__name__} style")
        try:
            targets = list(parse_citation_targets(content))
        except ValueError as error:
            raise ReaderError(str(error)) from None
        for t in targets:
            self.entry(t.key)
        # sphinxcontrib-bibtex lists the keys of one citation in the order of the bibliography they
        # link to (sorted by the style), not in the order written.
        targets.sort(key=lambda t: self.position[t.key])
        references = [
            (
                self.entry(t.key),
                self.formatted[t.key],
                SphinxReferenceInfo(builder=None, fromdocname=doc, todocname=doc, citation_id=anchor(t.key), title=None, pre_text=t.pre, post_text=t.post),
            )
            for t in targets
        ]
        text = format_references(self.reference_style, typ, references)
        return rich_to_markdown(text), rich_to_plain(text)

    def reference_list(self, keys: list[str], list_type: str = "bullet") -> tuple[str, list[str]]:
        """A Markdown list of the entries (sorted by the book's style), each with its label, and their plain texts."""
        entries = list(self.style.sort([self.entry(key) for key in keys]))
        blocks, plain = [], []
        for number, entry in enumerate(entries, start=1):
            text = self.formatted[entry.key].text
            marker = f"{number}." if list_type == "enumerated" else "-"
            blocks.append(f"({anchor(entry.key)})=\n{marker} {rich_to_markdown(text)}\n")
            plain.append(rich_to_plain(text))
        return "\n".join(blocks), plain


SYMBOLS = {"nbsp": "\u00a0", "ndash": "\u2013", "newblock": " "}


def _rich_parts(text):
    return getattr(text, "parts", None)


def rich_to_markdown(text) -> str:
    """Render pybtex rich text (as sphinxcontrib-bibtex builds it) as MyST Markdown."""
    from pybtex.richtext import HRef, String, Symbol, Tag
    from sphinxcontrib.bibtex.style.template import SphinxReferenceText

    if isinstance(text, str):
        return escape(text)
    if isinstance(text, String):
        return escape(text.value)
    if isinstance(text, Symbol):
        return SYMBOLS.get(text.name, "")
    inner = "".join(rich_to_markdown(part) for part in _rich_parts(text) or [])
    if isinstance(text, SphinxReferenceText):
        return f"[{inner}](#{text.info[0].citation_id})"
    if isinstance(text, Tag):
        if text.name in ("em", "i"):
            return f"*{inner}*" if inner.strip() else inner
        if text.name in ("strong", "b"):
            return f"**{inner}**" if inner.strip() else inner
        return inner
    if isinstance(text, HRef):
        url = text.url
        if "".join(rich_to_plain(part) for part in text.parts) == url:
            inner = escape(theme_link_text(url))
        destination = url if url.count("(") == url.count(")") and " " not in url else f"<{url}>"
        return f"[{inner}]({destination})"
    return inner


def theme_link_text(url: str) -> str:
    """A link's text where it is its URL, as the web theme shows it (pydata-sphinx-theme shortens
    GitHub and GitLab URLs to ``owner/repo``; its own code does it here)."""
    from types import SimpleNamespace
    from urllib.parse import urlparse

    from pydata_sphinx_theme.short_link import ShortenLinkTransform

    parsed = urlparse(url)
    platform = ShortenLinkTransform.supported_platform.get(parsed.netloc)
    if platform is None:
        return url
    return str(ShortenLinkTransform.parse_url(SimpleNamespace(platform=platform), parsed))


def rich_to_plain(text) -> str:
    from pybtex.richtext import HRef, String, Symbol

    if isinstance(text, str):
        return text
    if isinstance(text, String):
        return text.value
    if isinstance(text, Symbol):
        return SYMBOLS.get(text.name, "")
    inner = "".join(rich_to_plain(part) for part in _rich_parts(text) or [])
    if isinstance(text, HRef) and inner == text.url:
        return theme_link_text(text.url)
    return inner


# ---------------------------------------------------------------------------------------------
# Converting one page
# ---------------------------------------------------------------------------------------------


@dataclass
class Piece:
    """A piece of converted Markdown, or a solution gate."""

    kind: str  # "md", "solution-start", "solution-end"
    text: str = ""
    label: str = ""
    dropdown: bool = True


class PageConverter:
    """Converts one page of a :class:`Book` with the glue values of one execution."""

    def __init__(self, book: Book, doc: str, glue: dict):
        self.book, self.doc, self.glue = book, doc, glue
        self.page = book.pages[doc]
        self.resolved: list[dict] = []
        self.location = f"{self.page.path.relative_to(book.root).as_posix()}"
        self.line = 0
        self.sections: list[int] = []  # numbers of the current section below the page's own

    def section_number(self, level: int) -> str | None:
        """The number Sphinx gives a heading of this level ("1.", "1.3.", "1.3.1.") on a numbered page."""
        secnum = self.book.secnum.get(self.doc)
        if not secnum:
            return None
        if level > 1:
            depth = level - 1
            self.sections = (self.sections + [0] * depth)[:depth]
            self.sections[-1] += 1
        number = ".".join(map(str, (*secnum, *(self.sections if level > 1 else [])))) + "."
        self.record("section", str(level), number)
        return number

    def error(self, message: str) -> ReaderError:
        return ReaderError(f"{self.location}:{self.line + 1}: {message}")

    def record(self, role: str, target: str, text: str) -> None:
        self.resolved.append({"role": role, "target": target, "text": text})

    # -- inline ---------------------------------------------------------------------------------
    def inline(self, text: str) -> str:
        """Resolve the roles, label links and substitutions of a piece of inline Markdown."""
        out, last = [], 0
        for match in ROLE_OR_CODE.finditer(text):
            out.append(self.links(text[last : match.start()]))
            name = match.group("name")
            if name:
                replacement = self.role(name, match.group("content"))
                at_line_start = "".join(out).rstrip(" ").endswith("\n") or not "".join(out).strip(" ")
                out.append(protect_line_start(replacement, text[match.end() :]) if at_line_start else replacement)
            else:
                out.append(match.group(0))
            last = match.end()
        out.append(self.links(text[last:]))
        return "".join(out)

    def role(self, name: str, content: str) -> str:
        content = " ".join(content.split())
        if name in ("glue:text", "glue", "glue:", "glue:any", "glue:md"):
            return self.glue_role(name, content)
        if name == "cite" or name.startswith("cite:"):
            try:
                markdown, plain = self.book.bibliography.cite(name, content, self.doc)
            except ReaderError as error:
                raise self.error(str(error)) from None
            self.record(name, content, plain)
            return markdown
        if name == "numref":
            return self.numref(content)
        if name == "ref":
            return self.ref(content)
        if name == "doc":
            return self.doc_role(content)
        if name == "term":
            match = TEXT_TARGET.match(content)
            text = match.group("text") if match else content
            self.record(name, content, text)
            return escape(text)
        if name in PASSTHROUGH_ROLES:
            return f"{{{name}}}`{content}`"
        raise self.error(
            f"the role {{{name}}} is not supported in reader notebooks: teach ketamine_course/reader.py "
            f"(PageConverter.role) to show it as the web page does"
        )

    def glue_role(self, name: str, content: str) -> str:
        from myst_nb.core.variables import format_plain_text

        key, fmt = content, ""
        if name in ("glue:text", "glue:md"):
            parts = content.rsplit(":", 1)
            key, fmt = (parts[0], parts[1]) if len(parts) == 2 else (content, "s" if name == "glue:text" else "commonmark")
        if "::" in key:
            raise self.error(f"{{{name}}}`{content}`: glue from another document is not supported in reader notebooks")
        if key not in self.glue:
            raise self.error(f"{{{name}}}`{content}`: no value was glued as {key!r} when the chapter ran")
        data = self.glue[key].get("data", {})
        if name == "glue:md":
            if "text/markdown" not in data:
                raise self.error(f"{{{name}}}`{content}`: {key!r} has no text/markdown")
            text = data["text/markdown"]
            self.record(name, content, text)
            return self.inline(text)
        if "text/plain" not in data:
            raise self.error(f"{{{name}}}`{content}`: {key!r} has no text/plain")
        if name == "glue:text":
            try:
                text = format_plain_text(data["text/plain"], fmt)
            except Exception as error:  # noqa: BLE001 - the web build reports the same failure
                raise self.error(f"{{{name}}}`{content}`: cannot format {data['text/plain']!r} with {fmt!r}: {error}") from None
        else:
            if set(data) - {"text/plain"}:
                raise self.error(f"{{{name}}}`{content}`: only plain values can be glued inline in reader notebooks, {key!r} has {sorted(data)}")
            text = data["text/plain"]
            if self.glue[key].get("metadata", {}).get("strip_text_quotes") and re.match(r"^['\"].*['\"]$", text):
                text = text[1:-1]
        self.record(name, content, text)
        return escape(text)

    def target(self, label: str, role: str) -> Target:
        if label not in self.book.targets:
            raise self.error(f"{{{role}}}`{label}`: no figure, table, exercise, section or label called {label!r} in the book")
        return self.book.targets[label]

    def link(self, text_md: str, target: Target) -> str:
        """Link within this notebook; text only for a target on another page (no notebook to link to)."""
        if target.doc == self.doc and target.kind != "doc":
            return f"[{text_md}](#{target.label})"
        return text_md

    def numref(self, content: str) -> str:
        match = TEXT_TARGET.match(content)
        label = match.group("target") if match else content
        target = self.target(label, "numref")
        if target.kind not in ("figure", "table", "exercise"):
            raise self.error(f"{{numref}}`{content}`: numbered references to a {target.kind} are not supported in reader notebooks")
        number = ".".join(map(str, target.number or ()))
        if not target.number:
            raise self.error(f"{{numref}}`{content}`: {label!r} is not numbered")
        if match:
            text = match.group("text")
            if "%s" in text:
                text = text % number
            elif "{number}" in text or "{name}" in text:
                text = text.format(number=number, name=target.title or "")
        else:
            text = self.book.number_text(target)
        self.record("numref", content, text)
        return self.link(escape(text), target)

    def ref(self, content: str) -> str:
        match = TEXT_TARGET.match(content)
        label = match.group("target") if match else content
        target = self.target(label, "ref")
        if match:
            text_md = escape(match.group("text"))
        elif target.title:
            text_md = self.inline(target.title)
        else:
            raise self.error(f"{{ref}}`{content}`: {label!r} labels something without a title; give the link text")
        self.record("ref", content, markdown_to_plain(text_md))
        return self.link(text_md, target)

    def doc_role(self, content: str) -> str:
        match = TEXT_TARGET.match(content)
        path = match.group("target") if match else content
        doc = self.resolve_doc(path)
        if doc is None:
            raise self.error(f"{{doc}}`{content}`: no page {path!r} in _toc.yml")
        text_md = escape(match.group("text")) if match else self.inline(self.book.pages[doc].title)
        self.record("doc", content, markdown_to_plain(text_md))
        return text_md

    def resolve_doc(self, path: str) -> str | None:
        path = re.sub(r"\.(md|ipynb)$", "", path.split("#", 1)[0])
        if path.startswith("/"):
            doc = path.lstrip("/")
        else:
            doc = str(PurePosixPath(self.doc).parent / path)
            parts: list[str] = []
            for part in PurePosixPath(doc).parts:
                if part == "..":
                    parts.pop()
                elif part != ".":
                    parts.append(part)
            doc = "/".join(parts)
        return doc if doc in self.book.pages else None

    def links(self, text: str) -> str:
        """Markdown links to labels and pages: within this notebook as links, to other pages as text."""

        def replace(match: re.Match) -> str:
            text_md, target = match.group("text"), match.group("target")
            if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
                return match.group(0)  # a URL (http:, mailto:, ...)
            label = target[1:] if target.startswith("#") else target
            if label in self.book.targets:
                found = self.book.targets[label]
                if not text_md:
                    text_md = self.inline(found.title) if found.title else escape(self.book.number_text(found))
                self.record("link", target, markdown_to_plain(text_md))
                return self.link(text_md, found)
            if not target.startswith("#"):
                doc = self.resolve_doc(target)
                if doc is not None:
                    text_md = text_md or self.inline(self.book.pages[doc].title)
                    self.record("link", target, markdown_to_plain(text_md))
                    return text_md
            return match.group(0)  # a heading anchor or a file: left as it is

        text = LINK.sub(replace, text)
        if self.book.substitutions and "{{" in text:
            text = re.sub(
                r"\{\{\s*([\w-]+)\s*\}\}",
                lambda m: self.inline(str(self.book.substitutions[m.group(1)])) if m.group(1) in self.book.substitutions else m.group(0),
                text,
            )
        return text

    # -- blocks ---------------------------------------------------------------------------------
    def markdown(self, text: str, line: int = 0, *, top: bool = True) -> list[Piece]:
        """Convert the Markdown of one cell (or one directive body) into pieces."""
        tokens = self.book.block_tokens(text)
        lines = text.splitlines(keepends=True)
        pieces: list[Piece] = []
        buffer: list[str] = []
        position = 0

        def flush():
            if buffer:
                pieces.append(Piece("md", "".join(buffer)))
                buffer.clear()

        for index, token in enumerate(tokens):
            if token.level != 0 or token.map is None:
                continue
            start, end = token.map
            buffer.append("".join(lines[position:start]))
            block = "".join(lines[start:end])
            self.line = line + start
            if token.type in ("fence", "colon_fence") and token.info.startswith("{"):
                for piece in self.directive(token, line + start, top=top):
                    if piece.kind == "md":
                        buffer.append(piece.text)
                    else:
                        flush()
                        pieces.append(piece)
            elif token.type in ("fence", "code_block", "colon_fence", "html_block"):
                buffer.append(block)
            elif token.type == "heading_open" and top:
                number = self.section_number(int(token.tag[1]))
                text = self.inline(block)
                if number:  # after the ATX hashes, or at the start of a setext heading
                    text = re.sub(r"^(\s*#{1,6}[ \t]+)?", lambda m: f"{m.group(0)}{number} ", text, count=1)
                buffer.append(text)
            else:
                self.no_nested_conversions(tokens, index, start, end, line)
                buffer.append(self.inline(block))
            position = end
        buffer.append("".join(lines[position:]))
        flush()
        return pieces

    def no_nested_conversions(self, tokens, index: int, start: int, end: int, line: int) -> None:
        for token in tokens[index + 1 :]:
            if token.map and token.map[0] >= end:
                break
            if token.type in ("fence", "colon_fence") and token.info.startswith("{"):
                name = parse_directive(token)[0]
                if name not in PASSTHROUGH_DIRECTIVES:
                    self.line = line + token.map[0]
                    raise self.error(f"{{{name}}} inside a list or quote is not supported in reader notebooks; put it at the top level")

    def directive(self, token, line: int, *, top: bool) -> list[Piece]:
        name, args, options, body = parse_directive(token)
        markup = token.markup
        body_line = line + 1 + len(option_lines(token).splitlines())
        if name == "image":
            args = self.image_path(args.strip())
        if name in PASSTHROUGH_DIRECTIVES:
            inner = body if name in ("math", "code-block", "code", "sourcecode") else self.body(body, body_line)
            head = f"{markup}{{{name}}}" + (f" {self.inline(args) if name != 'image' else args}" if args else "")
            return [Piece("md", f"{head}\n{option_lines(token)}{inner}{closing(inner, markup)}")]
        if name == "exercise":
            return [Piece("md", self.exercise(markup, args, options, body, body_line))]
        if name == "solution-start":
            if not top:
                raise self.error("{solution-start} must be at the top level of the page")
            return [Piece("solution-start", label=args.strip(), dropdown="dropdown" in options.get("class", "").split())]
        if name == "solution-end":
            return [Piece("solution-end")]
        if name == "solution":
            title = self.solution_title(args.strip())
            inner = self.body(body, body_line)
            kind = "dropdown" if "dropdown" in options.get("class", "").split() else "admonition"
            fence = fence_for(inner)
            return [Piece("md", f"{fence}{{{kind}}} {title}\n{inner}{closing(inner, fence)}")]
        if name == "bibliography":
            return [Piece("md", self.bibliography(options))]
        if name == "figure":
            return [Piece("md", self.figure(markup, args, options, body, body_line))]
        raise self.error(
            f"the directive {{{name}}} is not supported in reader notebooks: teach ketamine_course/reader.py "
            f"(PageConverter.directive) to show it as the web page does"
        )

    def body(self, body: str, line: int) -> str:
        pieces = self.markdown(body, line, top=False)
        if any(piece.kind != "md" for piece in pieces):
            raise self.error("solution gates inside another directive are not supported")
        return "".join(piece.text for piece in pieces)

    def exercise_title(self, label: str) -> str:
        """"Exercise 2.1 (Title)", as sphinx-exercise titles the exercise box (Markdown)."""
        target = self.target(label, "solution")
        if target.kind != "exercise":
            raise self.error(f"{label!r} is not an exercise")
        number = escape(self.book.number_text(target)) if target.enumerable else "Exercise"
        return f"{number} ({self.inline(target.title)})" if target.title else number

    def solution_title(self, label: str) -> str:
        title = f"Solution to {self.exercise_title(label)}"
        self.record("solution", label, markdown_to_plain(title))
        return title

    def exercise(self, markup: str, args: str, options: dict, body: str, line: int) -> str:
        label = options.get("label")
        if label:
            title = self.exercise_title(label)
        else:
            title = f"Exercise ({self.inline(args)})" if args else "Exercise"
        self.record("exercise", label or args, markdown_to_plain(title))
        classes = " ".join(["note", *[c for c in options.get("class", "").split() if c == "dropdown"]])
        inner = self.body(body, line).lstrip("\n")
        fence = fence_for(inner, len(markup) if markup.startswith("`") else 3)
        head = f"({label})=\n" if label else ""
        return f"{head}{fence}{{admonition}} {title}\n:class: {classes}\n\n{inner}{closing(inner, fence)}"

    def bibliography(self, options: dict) -> str:
        unsupported = set(options) - {"filter", "list", "all", "cited", "style", "enumtype", "start"}
        if unsupported or options.get("style"):
            raise self.error(f"{{bibliography}} options {sorted(unsupported | ({'style'} if options.get('style') else set()))} are not supported in reader notebooks")
        filter_ = " ".join(options.get("filter", "").split())
        if "all" in options:
            keys = list(self.book.bibliography.entries)
        elif filter_ in ("docname in docnames", "") or "cited" in options:
            keys = list(self.page.cited)
        else:
            raise self.error(f"{{bibliography}} :filter: {filter_} is not supported in reader notebooks")
        markdown, plain = self.book.bibliography.reference_list(keys, options.get("list", "citation"))
        for text in plain:
            self.record("reference", "", text)
        return markdown

    def image_path(self, image: str) -> str:
        """A page's image path as seen from its reader notebook in ``notebooks/``."""
        if re.match(r"^[a-z][a-z0-9+.-]*:", image, re.I) or image.startswith("/"):
            return image
        source = (self.page.path.parent / image).resolve().relative_to(self.book.root.resolve())
        folder = PurePosixPath(NOTEBOOK_DIR, notebook_relpath(self.doc)).parent
        return str(PurePosixPath(*([".."] * len(folder.parts)), source.as_posix()))

    def figure(self, markup: str, args: str, options: dict, body: str, line: int) -> str:
        image = self.image_path(args.strip())
        keep = "".join(f":{k}: {v}\n" for k, v in options.items() if k in ("alt", "width", "height", "align", "class"))
        caption = self.body(body, line).strip()
        name = options.get("name")
        head = ""
        if name:
            target = self.target(name, "figure")
            if target.number:
                head = f"**{escape(self.book.number_text(target))}** "
                self.record("figure", name, self.book.number_text(target))
        label = f"({name})=\n" if name else ""
        return f"{markup}{{image}} {image}\n{keep}{markup}\n\n{label}{head}{caption}\n"


def protect_line_start(text: str, following: str = "") -> str:
    """Keep a value that starts a source line from starting a list, quote or heading.

    ``text`` replaces a role at the start of a line and ``following`` is the source text after the
    role: ``2000`` followed by ``. Then`` would start an ordered list, ``-`` followed by a space a
    bullet list. The marker is backslash-escaped (CommonMark escapes any ASCII punctuation).
    """
    combined = text + following[:2]
    match = re.match(r"^(\d{1,9})([.)])(?=\s|$)", combined)
    if match:
        digits = len(match.group(1))
        return text[:digits] + "\\" + text[digits:] if digits < len(text) else text + "\\"
    if re.match(r"^[-+*#](?=\s|$)", combined) or combined.startswith(">"):
        return "\\" + text
    return text


def closing(inner: str, fence: str) -> str:
    return ("" if inner.endswith("\n") or not inner else "\n") + fence + "\n"


def markdown_to_plain(text: str) -> str:
    """Rough plain text of converted inline Markdown (for the record of what was resolved)."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\*\*?([^*]+)\*\*?", r"\1", text)
    return re.sub(r"\\(.)", r"\1", text)


# ---------------------------------------------------------------------------------------------
# Assembling the notebook
# ---------------------------------------------------------------------------------------------


def strip_glue(cell) -> dict:
    """Remove glue records from a code cell's outputs (as myst-nb does); return them by name."""
    from myst_nb.ext.glue import extract_glue_data_cell

    return dict(extract_glue_data_cell(cell))


def pair_code_cells(source_cells, executed_cells) -> list:
    """For each code cell of this edition, the executed cell with the same code (in order)."""
    executed = [cell for cell in executed_cells if cell.cell_type == "code"]
    paired, position = [], 0
    for cell in source_cells:
        while position < len(executed) and executed[position].source != cell.source:
            position += 1
        if position == len(executed):
            raise ReaderError("the executed notebook does not match the source (was the chapter edited after it ran?)")
        paired.append(executed[position])
        position += 1
    return paired


def note_text(book: Book, doc: str) -> str:
    source = book.pages[doc].path.relative_to(book.root).as_posix()
    kind = "chapter" if book.secnum.get(doc) else "page"
    edition = " This is the student edition: the worked solutions are removed." if book.edition == "student" else ""
    return (
        f"```{{admonition}} {NOTE_TITLE}\n:class: note\n\n"
        f"This notebook shows the {kind} as the web book does. The numbers quoted in the text were "
        f"computed with the {kind}'s original settings: if you change a parameter and re-run the code, "
        "the outputs under the code cells update, but the numbers in the text do not. "
        f"It is generated from `{source}`; edit that file, not this notebook, to change the {kind}.{edition}\n```\n"
    )


def code_metadata(cell) -> dict:
    metadata = copy.deepcopy(dict(cell.metadata))
    tags = set(metadata.get("tags", []))
    jupyter = dict(metadata.get("jupyter", {}))
    if tags & CODE_CELL_HIDDEN:
        jupyter["source_hidden"] = True
    if tags & OUTPUT_HIDDEN:
        jupyter["outputs_hidden"] = True
    if jupyter:
        metadata["jupyter"] = jupyter
    return metadata


def reader_notebook(book: Book, doc: str, executed: nbformat.NotebookNode, glue: dict) -> nbformat.NotebookNode:
    """The reader notebook of one page, from its source, one execution of it and that execution's glue."""
    converter = PageConverter(book, doc, glue)
    page = book.pages[doc]
    source_map = page.notebook.metadata.get("source_map") or [0] * len(page.notebook.cells)
    executed_cells = pair_code_cells(page.code_cells, executed.cells)
    run = dict(zip(map(id, page.code_cells), executed_cells))
    items: list = []  # Piece, or code cell
    for cell, line in zip(page.notebook.cells, source_map):
        if cell.cell_type == "markdown":
            items.extend(converter.markdown(cell.source, line))
            items.append(Piece("cell-break"))
        elif cell.cell_type == "code":
            if BUILD_CHECK in cell.metadata.get("tags", []):
                continue
            done = copy.deepcopy(run[id(cell)])
            strip_glue(done)
            for output in done.outputs:  # shown as not yet run in this session: "[ ]:" with its outputs
                if "execution_count" in output:
                    output["execution_count"] = None
            items.append(nbformat.v4.new_code_cell(cell.source, metadata=code_metadata(cell), outputs=done.outputs, execution_count=None))
            figure = cell.metadata.get("mystnb", {}).get("figure", {})
            if figure.get("caption"):
                converter.line = line
                caption = converter.inline(" ".join(str(figure["caption"]).split()))
                name = figure.get("name")
                if name and book.targets[name].number:
                    number = book.number_text(book.targets[name])
                    converter.record("figure", name, number)
                    caption = f"({name})=\n**{escape(number)}** {caption}"
                items.append(Piece("md", caption + "\n"))
                items.append(Piece("cell-break"))
        else:
            items.append(copy.deepcopy(cell))
    if page.cited and not page.has_bibliography:
        markdown, plain = book.bibliography.reference_list(page.cited, "bullet")
        items.append(Piece("md", "## References\n\n" + markdown))
        for text in plain:
            converter.record("reference", "", text)

    cells = assemble(converter, items)
    insert_note(book, cells, note_text(book, doc))
    notebook = nbformat.v4.new_notebook()
    notebook.cells = cells
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index:03d}"
    for key in ("kernelspec", "language_info"):
        if key in executed.metadata or key in page.notebook.metadata:
            notebook.metadata[key] = copy.deepcopy(executed.metadata.get(key) or page.notebook.metadata.get(key))
    notebook.metadata["ketamine_course"] = {
        "source": page.path.relative_to(book.root).as_posix(),
        "edition": book.edition,
        "generated_by": "ketamine_course.reader",
        "resolved": converter.resolved,
    }
    nbformat.validate(notebook)
    return notebook


def assemble(converter: PageConverter, items: list) -> list:
    """Group pieces into Markdown cells; fold gated solutions (Markdown in dropdowns, code collapsed)."""
    cells: list = []
    buffer: list[str] = []
    solution: dict | None = None

    def flush():
        text = "".join(buffer).strip("\n")
        buffer.clear()
        if text.strip():
            cells.append(nbformat.v4.new_markdown_cell(text + "\n"))

    for item in items:
        if isinstance(item, Piece):
            if item.kind == "cell-break":
                flush()
            elif item.kind == "solution-start":
                flush()
                if solution is not None:
                    raise converter.error("a {solution-start} inside another solution")
                solution = {"title": converter.solution_title(item.label), "dropdown": item.dropdown, "opened": False}
                if not item.dropdown:
                    cells.append(nbformat.v4.new_markdown_cell(f"**{solution['title']}**\n"))
                    solution["opened"] = True
            elif item.kind == "solution-end":
                flush()
                if solution is None:
                    raise converter.error("a {solution-end} without its {solution-start}")
                solution = None
            elif solution is not None and solution["dropdown"]:
                if item.text.strip():
                    flush()
                    title = solution["title"] + (" (continued)" if solution["opened"] else "")
                    body = item.text.strip("\n") + "\n"
                    fence = fence_for(body)
                    cells.append(nbformat.v4.new_markdown_cell(f"{fence}{{dropdown}} {title}\n{body}{fence}\n"))
                    solution["opened"] = True
            else:
                buffer.append(item.text)
        else:
            flush()
            if solution is not None and solution["dropdown"]:
                if not solution["opened"]:
                    cells.append(nbformat.v4.new_markdown_cell(
                        f"**{solution['title']}.** The solution's code is folded below: click the dots (•••) to show it.\n"))
                    solution["opened"] = True
                if item.cell_type == "code":
                    item.metadata.setdefault("jupyter", {}).update({"source_hidden": True, "outputs_hidden": True})
            cells.append(item)
    flush()
    if solution is not None:
        raise converter.error("a {solution-start} without its {solution-end}")
    return cells


def insert_note(book: Book, cells: list, note: str) -> None:
    """Put the note under the page's title and the boxes right after it (a content note stays first)."""
    for cell in cells:
        if cell.cell_type != "markdown":
            continue
        tokens = [t for t in book.block_tokens(cell.source) if t.level == 0 and t.map is not None]
        for index, token in enumerate(tokens):
            if token.type == "heading_open" and token.tag == "h1":
                end = token.map[1]
                for following in tokens[index + 1 :]:
                    if following.type in ("fence", "colon_fence") and following.info.startswith("{") and following.map[0] <= end + 1:
                        end = following.map[1]
                    else:
                        break
                lines = cell.source.splitlines(keepends=True)
                before = "".join(lines[:end])
                cell.source = before + ("" if before.endswith("\n") else "\n") + "\n" + note + "\n" + "".join(lines[end:]).lstrip("\n")
                return
        break
    cells.insert(0, nbformat.v4.new_markdown_cell(note))


# ---------------------------------------------------------------------------------------------
# Executing and writing
# ---------------------------------------------------------------------------------------------


def execute(book: Book, doc: str) -> tuple[nbformat.NotebookNode, dict]:
    """Run a page's full source once, as the book build does (same working directory and timeout)."""
    from nbclient import NotebookClient

    path = book.source_path(doc)
    notebook = book.read_notebook(path.read_text(encoding="utf-8"), path)
    kernel = notebook.metadata.get("kernelspec", {}).get("name", "python3")
    client = NotebookClient(
        notebook,
        timeout=int(book.config.get("nb_execution_timeout", 300)),
        kernel_name=kernel,
        allow_errors=bool(book.config.get("nb_execution_allow_errors", False)),
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    glue: dict = {}
    for cell in notebook.cells:
        if cell.cell_type == "code":
            glue.update(strip_glue(copy.deepcopy(cell)))
    return notebook, glue


def from_build(executed_dir: Path, doc: str) -> tuple[nbformat.NotebookNode, dict]:
    """A page as the book build executed it: myst-nb's notebook and glue data in ``_build/jupyter_execute``."""
    notebook_path = executed_dir / f"{doc}.ipynb"
    if not notebook_path.is_file():
        raise ReaderError(f"{doc}: no executed notebook in {executed_dir.name}/ (build the book first)")
    glue_path = executed_dir / f"{doc}.glue.json"
    glue = json.loads(glue_path.read_text(encoding="utf-8")) if glue_path.is_file() else {}
    return nbformat.read(notebook_path, as_version=4), glue


def write_reader_notebooks(
    root: Path,
    out: Path,
    editions=EDITIONS,
    executed_dir: Path | None = None,
    trust: bool = False,
    config: dict | None = None,
    log=print,
) -> list[Path]:
    """Write the reader notebook of every page with code, in each edition; return their paths."""
    root = Path(root)
    config = config if config is not None else sphinx_config(root)
    runs: dict[str, tuple] = {}
    written = []
    for edition in editions:
        book = Book(root, edition, config=config)
        for doc in book.reader_docs():
            if doc not in runs:
                start = time.monotonic()
                runs[doc] = from_build(executed_dir, doc) if executed_dir else execute(book, doc)
                if not executed_dir:
                    log(f"ran {doc} in {time.monotonic() - start:.1f} s")
            executed, glue = runs[doc]
            notebook = reader_notebook(book, doc, executed, glue)
            if trust:
                from nbformat.sign import NotebookNotary

                NotebookNotary().sign(notebook)
            path = out / notebook_relpath(doc, edition)
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, path)
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    from .paths import repo_root

    parser = argparse.ArgumentParser(
        prog="python -m ketamine_course.reader",
        description="Write reader notebooks: the chapters with their prose resolved as on the web page.",
    )
    parser.add_argument("--out", default=NOTEBOOK_DIR, help="folder for the notebooks, relative to the repository (default: notebooks)")
    parser.add_argument("--edition", choices=[*EDITIONS, "all"], default="all")
    parser.add_argument("--from-build", metavar="DIR", help="use the notebooks a book build executed (e.g. _build/jupyter_execute) instead of running the chapters")
    parser.add_argument("--no-trust", action="store_true", help="do not mark the notebooks as trusted in this Jupyter installation")
    args = parser.parse_args(argv)
    root = repo_root()
    start = time.monotonic()
    editions = EDITIONS if args.edition == "all" else (args.edition,)
    try:
        written = write_reader_notebooks(
            root, root / args.out, editions, executed_dir=root / args.from_build if args.from_build else None, trust=not args.no_trust
        )
    except ReaderError as error:
        print(f"reader notebooks: {error}", file=sys.stderr)
        return 1
    print(f"reader notebooks: wrote {len(written)} notebook(s) to {args.out}/ in {time.monotonic() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
