#!/usr/bin/env python3
"""Lighthouse page-speed audits of the built book, served compressed as GitHub Pages serves it.

    python scripts/lighthouse.py                        # every page in _toc.yml, 3 runs each
    python scripts/lighthouse.py book/02_rapid_onset     # one page (docname, or a path ending in .html)
    python scripts/lighthouse.py --runs 1 --json out.json --check

Serves a built site (default ``_build/html``) on 127.0.0.1 with gzip, runs the npm package
Lighthouse 12 (installed by ``npm ci`` from the committed lock) on each page with its mobile
defaults (simulated slow 4G, 4x CPU slowdown, a Moto G Power sized screen), driving Debian's
Chromium (``CHROME_PATH``; never a downloaded browser), and prints one JSON object: per page
the median over the runs of the performance score, largest and first contentful paint, total
blocking time, cumulative layout shift, the accessibility score and the bytes transferred, and
each run's figures. ``--check`` exits 1 when a page misses the book's targets (performance >= 90,
LCP <= 2.5 s, accessibility 100). Importable: ``audit(site, pages, runs)`` returns the same dict.

The server answers as GitHub Pages does in the respects Lighthouse measures: text types
(HTML, CSS, JavaScript, JSON, SVG, XML) gzip-compressed when the browser accepts it, images and
fonts as they are, ``Cache-Control: max-age=600``, HTTP/1.1 keep-alive. (Pages serves HTTP/2;
Lighthouse's simulation then shares one connection instead of up to six, which makes little
difference to these pages.)
"""

from __future__ import annotations

import argparse
import gzip
import json
import mimetypes
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = ROOT / "node_modules" / "lighthouse" / "cli" / "index.js"
PREFIX: list[str] = []  # e.g. ["nice", "-n", "-10"]
TARGETS = {"performance": 90, "lcp_ms": 2500, "accessibility": 100}
COMPRESSED = {"text/html", "text/css", "text/javascript", "application/javascript", "application/json",
              "image/svg+xml", "text/xml", "application/xml", "text/plain"}
# Chromium as root in a container, with nothing phoning home on this closed network.
CHROME_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-default-apps", "--disable-extensions"]


class PagesHandler(SimpleHTTPRequestHandler):
    """Static files with gzip for text types, as GitHub Pages answers."""

    protocol_version = "HTTP/1.1"
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript", ".mjs": "text/javascript",
                      ".woff2": "font/woff2", ".woff": "font/woff", ".svg": "image/svg+xml", ".json": "application/json"}
    _cache: dict[tuple[str, float], bytes] = {}
    _lock = threading.Lock()

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            if not self.path.split("?")[0].endswith("/"):
                return super().send_head()  # the base class's redirect to the folder with a slash
            path = path / "index.html"
        if not path.is_file():
            self.send_error(404, "File not found")
            return None
        ctype = self.guess_type(str(path))
        body = path.read_bytes()
        encoding = None
        if ctype.split(";")[0] in COMPRESSED and "gzip" in self.headers.get("Accept-Encoding", ""):
            key = (str(path), path.stat().st_mtime)
            with self._lock:
                if key not in self._cache:
                    self._cache[key] = gzip.compress(body, compresslevel=6, mtime=0)
                body = self._cache[key]
            encoding = "gzip"
        self.send_response(200)
        self.send_header("Content-Type", ctype if ctype.startswith(("image/", "font/")) or "charset" in ctype else f"{ctype}; charset=utf-8")
        if encoding:
            self.send_header("Content-Encoding", encoding)
            self.send_header("Vary", "Accept-Encoding")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=600")
        self.end_headers()
        return _Body(body)


class _Body:
    """What send_head returns: the base class copies it to the socket, then closes it."""

    def __init__(self, data: bytes):
        self.data = data

    def read(self, *_):
        data, self.data = self.data, b""
        return data

    def close(self):
        pass


class Server:
    """The site on a free port of 127.0.0.1, served from a thread (a context manager)."""

    def __init__(self, site: Path):
        self.site = Path(site)
        if not (self.site / "index.html").is_file():
            raise FileNotFoundError(f"{self.site} holds no built site (no index.html): run `make book` first")

    def __enter__(self) -> str:
        mimetypes.init()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(PagesHandler, directory=str(self.site)))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return f"http://127.0.0.1:{self.httpd.server_port}"

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


def chrome_path() -> str:
    path = os.environ.get("CHROME_PATH") or shutil.which("chromium")
    if not path:
        raise RuntimeError("Chromium is not installed: run `make test` (scripts/install_system_packages.sh installs it)")
    return path


def toc_pages(root: Path = ROOT) -> list[str]:
    """Every page in _toc.yml, as site paths (``book/intro.html``)."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc.get("parts", toc.get("chapters", [])))
    return [f"{file}.html" for file in files]


def chapter_pages(root: Path = ROOT) -> list[str]:
    """The pages of the numbered parts of _toc.yml (the chapters), as site paths."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    return [f"{chapter['file']}.html" for part in toc.get("parts", []) if part.get("numbered")
            for chapter in part.get("chapters", [])]


def page_path(page: str) -> str:
    page = page.lstrip("/")
    return page if page.endswith(".html") else f"{page}.html"


def run_once(url: str, timeout: int = 240) -> dict:
    """One Lighthouse run (mobile defaults); the figures this script reports, and the report's key facts."""
    if not LIGHTHOUSE.is_file():
        raise RuntimeError("Lighthouse is not installed: run `npm ci` in the repository (make test does)")
    with tempfile.TemporaryDirectory(prefix="lighthouse-") as tmp:
        out = Path(tmp) / "report.json"
        env = dict(os.environ, CHROME_PATH=chrome_path(), TMPDIR=tmp)
        command = [*PREFIX, "node", str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={out}",
                   "--only-categories=performance,accessibility", f"--chrome-flags={' '.join(CHROME_FLAGS)}",
                   "--max-wait-for-load=60000"]
        process = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
        if process.returncode != 0 or not out.is_file():
            raise RuntimeError(f"Lighthouse failed on {url} (exit {process.returncode}):\n{process.stderr[-3000:]}")
        report = json.loads(out.read_text(encoding="utf-8"))
    if report.get("runtimeError"):
        raise RuntimeError(f"Lighthouse on {url}: {report['runtimeError']}")
    audits = report["audits"]
    numeric = lambda name: audits[name].get("numericValue")  # noqa: E731
    lcp_element = audits.get("largest-contentful-paint-element", {}).get("details", {})
    lcp_node = None
    for item in lcp_element.get("items", []):
        for entry in item.get("items", [item]):
            if isinstance(entry.get("node"), dict):
                lcp_node = entry["node"].get("snippet")
                break
        if lcp_node:
            break
    blocking = [item["url"] for item in audits.get("render-blocking-resources", {}).get("details", {}).get("items", [])]
    return {
        "performance": round(100 * report["categories"]["performance"]["score"]),
        "lcp_ms": round(numeric("largest-contentful-paint")),
        "fcp_ms": round(numeric("first-contentful-paint")),
        "tbt_ms": round(numeric("total-blocking-time")),
        "cls": round(numeric("cumulative-layout-shift"), 4),
        "speed_index_ms": round(numeric("speed-index")),
        "accessibility": round(100 * report["categories"]["accessibility"]["score"]),
        "transfer_bytes": round(numeric("total-byte-weight")),
        "requests": len(audits.get("network-requests", {}).get("details", {}).get("items", [])),
        "lcp_element": lcp_node,
        "render_blocking": [u.split("/", 3)[-1] for u in blocking],
        "failed_accessibility_audits": sorted(
            ref["id"] for ref in report["categories"]["accessibility"]["auditRefs"]
            if ref.get("weight") and audits[ref["id"]].get("score") not in (None, 1)),
        "lighthouse_version": report.get("lighthouseVersion"),
    }


METRICS = ("performance", "lcp_ms", "fcp_ms", "tbt_ms", "cls", "speed_index_ms", "accessibility", "transfer_bytes")


def summarise(runs: list[dict]) -> dict:
    """Median of each metric over the runs (each metric separately), and the runs themselves."""
    summary = {metric: statistics.median(run[metric] for run in runs) for metric in METRICS}
    for metric in ("performance", "lcp_ms", "fcp_ms", "tbt_ms", "speed_index_ms", "accessibility", "transfer_bytes"):
        summary[metric] = round(summary[metric])
    # What the median run (by performance score, then LCP) showed.
    middle = sorted(runs, key=lambda run: (run["performance"], -run["lcp_ms"]))[len(runs) // 2]
    summary.update(requests=middle["requests"], lcp_element=middle["lcp_element"], render_blocking=middle["render_blocking"],
                   failed_accessibility_audits=middle["failed_accessibility_audits"])
    summary["meets_targets"] = (summary["performance"] >= TARGETS["performance"] and summary["lcp_ms"] <= TARGETS["lcp_ms"]
                                and summary["accessibility"] >= TARGETS["accessibility"])
    summary["runs"] = [{metric: run[metric] for metric in METRICS} for run in runs]
    return summary


def audit(site: Path | str = ROOT / "_build" / "html", pages: list[str] | None = None, runs: int = 3,
          progress=None) -> dict:
    """Audit ``pages`` (site paths or docnames; default every page in _toc.yml) ``runs`` times each."""
    site = Path(site)
    pages = [page_path(page) for page in (pages or toc_pages())]
    started = time.monotonic()
    results = {}
    with Server(site) as base:
        for page in pages:
            if not (site / page).is_file():
                raise FileNotFoundError(f"{page} is not in the built site {site}")
            page_runs = []
            for number in range(runs):
                page_runs.append(run_once(f"{base}/{page}"))
                if progress:
                    progress(f"{page}: run {number + 1}/{runs}: performance {page_runs[-1]['performance']}, "
                             f"LCP {page_runs[-1]['lcp_ms'] / 1000:.2f} s")
            results[page] = summarise(page_runs)
    return {
        "tool": f"lighthouse {page_runs[-1]['lighthouse_version'] if pages else '?'} (mobile defaults: simulated slow 4G, 4x CPU slowdown)",
        "served": "127.0.0.1, gzip for text types, HTTP/1.1 keep-alive, Cache-Control max-age=600",
        "runs_per_page": runs,
        "statistic": "median of the runs, each metric separately",
        "targets": TARGETS,
        "seconds": round(time.monotonic() - started, 1),
        "pages": results,
        "all_meet_targets": all(result["meets_targets"] for result in results.values()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pages", nargs="*", help="pages to audit: docnames (book/02_rapid_onset) or site paths; default every page in _toc.yml")
    parser.add_argument("--chapters", action="store_true", help="audit the chapters (the numbered parts of _toc.yml)")
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "html", help="the built site (default _build/html)")
    parser.add_argument("--runs", type=int, default=3, help="runs per page; the median is reported (default 3)")
    parser.add_argument("--json", type=Path, help="also write the JSON to this file")
    parser.add_argument("--check", action="store_true", help="exit 1 if a page misses the targets")
    args = parser.parse_args(argv)
    pages = args.pages or (chapter_pages() if args.chapters else None)
    result = audit(args.site, pages, args.runs, progress=lambda line: print(line, file=sys.stderr, flush=True))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n", encoding="utf-8")
    if args.check and not result["all_meet_targets"]:
        missed = [page for page, r in result["pages"].items() if not r["meets_targets"]]
        print(f"below target (performance >= 90, LCP <= 2.5 s, accessibility 100): {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
