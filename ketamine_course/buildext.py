"""Sphinx extension: a book build that is never stale, executing only what changed, in parallel.

Why
---
myst-nb executes a notebook only when Sphinx re-reads its document, and Sphinx re-reads a document
only when its own source (or a registered dependency) changed.  A chapter that reads
``data/trial_results.csv`` therefore kept showing the old numbers after that file was edited, and
a corrupted table "built" cleanly because the loader never ran.  This extension closes that gap.

How
---
1. **Record what each chapter actually read.**  Each chapter's kernel is started with
   ``KETAMINE_COURSE_TRACE`` naming a trace file; :mod:`ketamine_course.tracing` (installed when the
   chapter imports the course package) appends to it every file the kernel opens inside the
   repository or the package: data tables, ``data/datapackage.json``, ``references.bib``, quiz files
   and the package's own modules.
2. **Key the execution cache on those files' contents.**  For each chapter, a manifest beside
   myst-nb's jupyter-cache (``_build/.jupyter_cache/ketamine_course_inputs.json``) stores the hash of
   its code cells (jupyter-cache's key), the SHA-256 of every file it read, and a fingerprint of the
   installed packages.  Cached outputs are used only while all of these match; otherwise the stale
   record is deleted and the chapter runs again.
3. **Tell Sphinx.**  Every recorded file is registered with ``env.note_dependency``, and at
   ``env-get-outdated`` every chapter whose inputs' *contents* changed is re-read (so a file restored
   with an old modification time is noticed too).
4. **Run in parallel.**  ``jupyter-book build`` has no ``-j``; at ``env-before-read-docs`` the
   chapters that must run are started together on one kernel per core (``ketamine_execution_workers``,
   default: the number of usable cores) in a background thread, while Sphinx reads the pages that need
   no execution.  Each result goes into jupyter-cache just before myst-nb (``execute_notebooks: cache``)
   looks it up, so myst-nb renders it exactly as if it had executed the notebook itself.  A chapter
   that fails here is left uncached: myst-nb then executes it itself and reports the error as usual
   (``raise_on_error`` fails the build, naming the cell and the error).

5. **Start kernels early.**  At ``config-inited``, before Sphinx loads its environment, a cheap
   guess (chapters in ``_toc.yml`` never run, or whose code cells as text, recorded inputs or
   packages changed) boots one kernel per chapter that will probably run (at most one per core).
   ``ketamine_execution_prewarm: false`` turns this off; ``ketamine_execution_preload`` (default: none)
   lists libraries such kernels import ahead, binding no name in the chapter's namespace.

It also makes the bibliography cheaper to build: pybtex's styles and backends are registered once
(:func:`register_pybtex_plugins`, saving an entry-point scan per citation), and each
reference's formatting is remembered across builds (:class:`BibliographyFormatMemo`).

Each build writes ``_build/execution-report.json``: which chapters ran and why, which came from the
cache, and the recorded inputs of each.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from sphinx.util import logging

from . import tracing

LOGGER = logging.getLogger(__name__)

MANIFEST = "ketamine_course_inputs.json"
MANIFEST_FORMAT = 1
REPORT = "execution-report.json"


# ---- small helpers -----------------------------------------------------------------------------


def file_digest(path: Path) -> str | None:
    """SHA-256 of a file's bytes; ``None`` for a file that does not exist (recorded as absent)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except IsADirectoryError:
        return "directory"


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def environment_fingerprint(requirements: Path | None = None) -> str:
    """A hash of the Python version and the installed version of every package the book runs on.

    A library upgraded by ``pip install -r requirements.txt`` can change a figure, so it invalidates
    every cached chapter.  The packages counted are those ``requirements.txt`` names (all installed
    ones if there is none), so installing the test tools does not; the course package's own files
    are tracked one by one instead.  Versions are read from the ``*.dist-info`` folder names, which
    is fast (no metadata files are opened).
    """
    import sysconfig

    wanted = None
    if requirements is not None and requirements.is_file():
        wanted = set()
        for line in requirements.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*==", line)
            if match:
                wanted.add(_normalise(match.group(1)))
    installed = set()
    for folder in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for entry in names:
            if entry.endswith(".dist-info"):
                name, _, version = entry[: -len(".dist-info")].rpartition("-")
                if wanted is None or _normalise(name) in wanted:
                    installed.add(f"{_normalise(name)}=={version}")
    return hashlib.sha256("\n".join([sys.version, *sorted(installed)]).encode()).hexdigest()[:16]


@dataclass
class Job:
    """One chapter to execute ahead of myst-nb."""

    docname: str
    path: Path
    notebook: object  # nbformat.NotebookNode, as myst-nb reads it
    kernel_name: str
    nb_hash: str
    timeout: int | None
    allow_errors: bool
    cwd: str
    reason: str
    trace: str
    expected_seconds: float = 0.0
    done: threading.Event = field(default_factory=threading.Event)
    seconds: float = 0.0
    error: str | None = None
    collected: bool = False


@dataclass
class WarmKernel:
    """A kernel started before its chapter is known (see :meth:`Executions.prewarm`)."""

    name: str
    cwd: str
    trace: str
    km: object = None
    task: object = None  # the asyncio task that boots it
    claimed: bool = False
    boot_seconds: float = 0.0  # counted in its chapter's run time


CODE_CELL = re.compile(r"^```\{code-cell\}.*?^```\s*$", re.S | re.M)


def code_digest(text: str) -> str:
    """A digest of a MyST notebook's code cells (with their options): unchanged by prose edits."""
    return hashlib.sha256("\n".join(CODE_CELL.findall(text)).encode()).hexdigest()[:16]


class Executions:
    """The state of this build's execution (one per Sphinx application)."""

    def __init__(self, app):
        self.app = app
        self.srcdir = Path(app.srcdir).resolve()
        # Where myst-nb keeps its jupyter-cache (the same rule as myst-nb's, readable before the
        # environment exists, so kernels can be started at config-inited).
        configured = app.config.nb_execution_cache_path
        self.cache_path = (Path(configured) if configured else Path(app.outdir).parent / ".jupyter_cache").resolve()
        self.manifest_path = self.cache_path / MANIFEST
        self.manifest_found = self.manifest_path.is_file()
        self.manifest = self._load_manifest()
        self.digests: dict[str, str | None] = {}
        self._fingerprint: str | None = None
        self._cache = None
        self.jobs: dict[str, Job] = {}
        self.thread: threading.Thread | None = None
        self.loop = self.queue = None
        self.workers_count = 0
        self.closed = False
        self.pool: list[WarmKernel] = []  # kernels booted ahead (used from the execution thread only)
        self.trace_dir = Path(tempfile.mkdtemp(prefix="ketamine-course-trace-"))
        self.fallback: tuple[Job, dict] | None = None  # a chapter myst-nb is executing itself
        self.stale_reasons: dict[str, str] = {}
        self.report = {"executed": {}, "from_cache": [], "failed": {}, "workers": self.workers()}
        self.started = time.perf_counter()

    # -- configuration

    def workers(self) -> int:
        configured = int(self.app.config.ketamine_execution_workers or 0)
        if configured > 0:
            return configured
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - not Linux
            return max(1, os.cpu_count() or 1)

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = environment_fingerprint(self.srcdir / "requirements.txt")
        return self._fingerprint

    @property
    def cache(self):
        if self._cache is None:
            from jupyter_cache import get_cache

            self._cache = get_cache(str(self.cache_path))
        return self._cache

    # -- the manifest of recorded inputs

    def _load_manifest(self) -> dict:
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        if data.get("format") != MANIFEST_FORMAT:
            return {}
        return data.get("documents", {})

    def save_manifest(self) -> None:
        self.cache_path.mkdir(parents=True, exist_ok=True)
        data = {"format": MANIFEST_FORMAT, "documents": dict(sorted(self.manifest.items()))}
        tmp = self.manifest_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        tmp.replace(self.manifest_path)

    def key(self, path: str | Path) -> str:
        """How a file is named in the manifest: relative to the book's root when inside it."""
        full = Path(path).resolve()
        try:
            return full.relative_to(self.srcdir).as_posix()
        except ValueError:
            return str(full)

    def absolute(self, key: str) -> Path:
        return Path(key) if os.path.isabs(key) else self.srcdir / key

    def digest(self, key: str) -> str | None:
        if key not in self.digests:
            self.digests[key] = file_digest(self.absolute(key))
        return self.digests[key]

    def stale_reason(self, entry: dict) -> str | None:
        """Why a chapter's cached outputs no longer hold (``None`` while they do)."""
        if entry.get("environment") != self.fingerprint:
            return "installed packages changed"
        changed = [key for key, digest in entry.get("inputs", {}).items() if self.digest(key) != digest]
        if changed:
            shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
            return f"{shown} changed"
        return None

    # -- reading a chapter the way myst-nb does

    def prepare(self, docname: str):
        """The notebook myst-nb will build for ``docname`` and its execution settings (or ``None``)."""
        from myst_nb.core.read import create_nb_reader

        env = self.app.env
        path = Path(env.doc2path(docname))
        try:
            text = path.read_text(encoding=self.app.config.source_encoding)
        except (OSError, UnicodeDecodeError):
            return None
        nb_config = env.mystnb_config
        reader = create_nb_reader(str(path), env.myst_config, nb_config, text)
        if reader is None:
            return None
        notebook = reader.read(text)
        kernel_name = notebook.metadata.get("kernelspec", {}).get("name")
        if kernel_name is not None and nb_config.kernel_rgx_aliases:
            for rgx, alias in nb_config.kernel_rgx_aliases.items():
                if re.fullmatch(rgx, kernel_name):
                    notebook.metadata["kernelspec"]["name"] = alias
                    break
        if nb_config.metadata_key in notebook.metadata:
            from myst_nb.core.utils import nb_node_to_dict

            overrides = nb_node_to_dict(notebook.metadata[nb_config.metadata_key])
            overrides.pop("output_folder", None)
            try:
                nb_config = nb_config.copy(**overrides)
            except Exception:  # myst-nb warns about it when it parses the page
                pass
        if nb_config.execution_mode != "cache":
            return None
        posix = PurePosixPath(path.as_posix())
        if any(posix.match(pattern) for pattern in nb_config.execution_excludepatterns or ()):
            return None
        return path, notebook, nb_config

    # -- deciding and scheduling

    def plan(self, docnames: list[str]) -> None:
        """Decide which of ``docnames`` must execute, start them, then make the cache agree.

        The decision needs only the manifest (no database), so the kernels start at once; the
        jupyter-cache database is opened while they boot, to delete every record that must not be
        used (stale inputs, or made without this extension) and to catch a record gone missing.
        """
        from jupyter_cache.cache.db import NbCacheRecord

        candidates = []
        for docname in docnames:
            prepared = self.prepare(docname)
            if prepared is None:
                continue
            path, notebook, nb_config = prepared
            _, nb_hash = self.cache.create_hashed_notebook(notebook)  # no database access
            entry = self.manifest.get(docname)
            if entry is None:
                reason = "not executed before"
            elif entry.get("nb_hash") != nb_hash:
                reason = "code cells changed"
            else:
                reason = self.stale_reason(entry)
            candidates.append((docname, path, notebook, nb_config, nb_hash, entry, reason))
        if not candidates:
            self.close()
            return
        for docname, path, notebook, nb_config, nb_hash, entry, reason in candidates:
            if reason is not None:
                self.schedule(docname, path, notebook, nb_config, nb_hash, entry, reason)
        for job in sorted(self.jobs.values(), key=lambda job: -job.expected_seconds):
            self.submit(job)
        manifest_changed = False
        for docname, path, notebook, nb_config, nb_hash, entry, reason in candidates:
            try:
                record = NbCacheRecord.record_from_hashkey(nb_hash, self.cache.db)
            except KeyError:
                record = None
            if reason is not None:
                if record is not None:
                    self.cache.remove_cache(record.pk)  # never let myst-nb use outputs of other inputs
                manifest_changed |= self.manifest.pop(docname, None) is not None
            elif record is None:
                manifest_changed |= self.manifest.pop(docname, None) is not None
                self.schedule(docname, path, notebook, nb_config, nb_hash, entry, "cached outputs missing")
                self.submit(self.jobs[docname])
        if manifest_changed:
            self.save_manifest()
        self.close()

    def schedule(self, docname, path, notebook, nb_config, nb_hash, entry, reason) -> None:
        execution = notebook.metadata.get("execution", {})
        cwd = tempfile.mkdtemp(dir=self.trace_dir) if nb_config.execution_in_temp else str(path.parent)
        code = sum(len(cell.source) for cell in notebook.cells if cell.cell_type == "code")
        self.jobs[docname] = Job(
            docname=docname,
            path=path,
            notebook=notebook,
            kernel_name=notebook.metadata.get("kernelspec", {}).get("name") or "python3",
            nb_hash=nb_hash,
            timeout=execution.get("timeout", nb_config.execution_timeout),
            allow_errors=execution.get("allow_errors", nb_config.execution_allow_errors),
            cwd=cwd,
            reason=reason,
            trace=str(self.trace_dir / (hashlib.sha1(docname.encode()).hexdigest() + ".trace")),
            # The last run time; for a chapter never run, its amount of code (longest first).
            expected_seconds=(entry or {}).get("seconds", 1e6 + code),
        )

    def kernel_variables(self, trace: str) -> dict[str, str]:
        """What a chapter's kernel adds to the build's environment."""
        variables = {tracing.ENV_TRACE: trace, tracing.ENV_ROOT: str(self.srcdir)}
        if (self.srcdir / "ketamine_course" / "__init__.py").is_file():
            # The kernel imports the course package of the book being built (also in a copy of it).
            variables["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.srcdir), os.environ.get("PYTHONPATH")]))
        return variables

    # -- kernels booted ahead of time

    def predict(self) -> tuple[int, str]:
        """A cheap guess, before Sphinx reads anything, of how many chapters will run and where.

        Chapters in ``_toc.yml`` never run before, and chapters whose code cells (as text), recorded
        inputs or installed packages changed. A wrong guess costs little: a kernel booted for nothing
        is shut down at the end; a chapter not foreseen starts its own kernel.
        """
        import yaml

        folders, count = set(), 0
        try:
            toc = yaml.safe_load((self.srcdir / "_toc.yml").read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            toc = None
        files: list[str] = []

        def walk(node):
            if isinstance(node, dict):
                for key in ("root", "file"):
                    if isinstance(node.get(key), str):
                        files.append(node[key])
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for item in node:
                    walk(item)

        walk(toc)
        for docname in dict.fromkeys(files):
            path = self.srcdir / f"{docname}.md"
            try:
                text = path.read_text(encoding="utf-8")
            except OSError:
                continue
            if "kernelspec" not in text.split("\n---", 1)[0]:
                continue
            entry = self.manifest.get(docname)
            if entry is None or entry.get("code_digest") != code_digest(text) or self.stale_reason(entry):
                count += 1
                folders.add(str(path.parent))
        folder = folders.pop() if len(folders) == 1 else str((self.srcdir / self.app.config.root_doc).parent)
        return count, folder

    def prewarm(self) -> None:
        """Boot a kernel for each chapter that will probably run, while Sphinx starts up.

        Each kernel also imports ``ketamine_execution_preload`` (the libraries every chapter
        imports) without binding any name in the chapter's namespace, so the chapter starts with
        them loaded. The chapter itself runs exactly as in a fresh kernel otherwise: nothing of the
        course package is imported ahead, execution counts start at 1, and the inputs it reads are
        recorded as usual. (That a chapter also runs in a kernel with nothing loaded is what the
        Binder test checks.)
        """
        if not self.app.config.ketamine_execution_prewarm:
            return
        count, folder = self.predict()
        count = min(count, self.workers())
        if count == 0:
            return
        self.start()
        preload = list(self.app.config.ketamine_execution_preload or [])
        for number in range(count):
            warm = WarmKernel(name="python3", cwd=folder, trace=str(self.trace_dir / f"warm-{number}.trace"))
            self.loop.call_soon_threadsafe(self._boot, warm, preload)
        LOGGER.info(f"[ketamine_course] booting {count} kernel(s) ahead, with {', '.join(preload) or 'nothing'} imported")

    def _boot(self, warm: WarmKernel, preload: list[str]) -> None:  # in the execution thread
        warm.task = asyncio.ensure_future(self._boot_kernel(warm, preload))
        self.pool.append(warm)

    async def _boot_kernel(self, warm: WarmKernel, preload: list[str]) -> None:
        from jupyter_client.manager import AsyncKernelManager

        began = time.perf_counter()
        km = AsyncKernelManager(kernel_name=warm.name, config=self.ipc_config(Path(warm.trace)))
        await km.start_kernel(cwd=warm.cwd, env={**os.environ, **self.kernel_variables(warm.trace)})
        warm.km = km
        client = km.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=120)
            if preload:
                code = (
                    "def _ketamine_course_preload():\n"
                    "    import importlib\n"
                    f"    for name in {preload!r}:\n"
                    "        try:\n"
                    "            importlib.import_module(name)\n"
                    "        except Exception:\n"
                    "            pass\n"
                    "_ketamine_course_preload()\n"
                    "del _ketamine_course_preload\n"
                )
                await client.execute(code, silent=True, store_history=False, reply=True, timeout=300)
        finally:
            client.stop_channels()
            warm.boot_seconds = time.perf_counter() - began

    def ipc_config(self, trace: Path):
        """Kernels talk to this process over Unix sockets in the build's temporary folder, not TCP on
        the loopback (no open ports, no "running over TCP without encryption" warning); one folder
        per kernel, so that two kernels never pick the same socket names."""
        from traitlets.config import Config

        folder = trace.with_suffix(".kernel")
        folder.mkdir(exist_ok=True)
        return Config({"KernelManager": {"transport": "ipc", "ip": str(folder / "ipc")}})

    async def _claim(self, job: Job) -> WarmKernel | None:
        for warm in self.pool:
            if not warm.claimed and warm.name == job.kernel_name and warm.cwd == job.cwd:
                warm.claimed = True
                try:
                    await warm.task
                except Exception:
                    await self._shutdown(warm)
                    return None
                return warm
        return None

    async def _shutdown(self, warm: WarmKernel) -> None:
        if warm.km is not None:
            try:
                await warm.km.shutdown_kernel(now=True)
            except Exception:
                pass

    # -- the execution thread

    def start(self) -> None:
        """Start the execution thread: ``workers`` queues take the chapters in turn, each on a kernel
        booted ahead when one fits (same kernel and folder), otherwise on a new one."""
        if self.thread is not None:
            return
        workers = self.workers()
        ready = threading.Event()

        async def run(job: Job) -> None:
            from nbclient import NotebookClient

            warm = await self._claim(job)
            if warm is not None:
                job.trace = warm.trace
                client = NotebookClient(job.notebook, km=warm.km, timeout=job.timeout, allow_errors=job.allow_errors,
                                        record_timing=False, resources={"metadata": {"path": job.cwd}})
            else:
                client = NotebookClient(job.notebook, timeout=job.timeout, allow_errors=job.allow_errors,
                                        record_timing=False, resources={"metadata": {"path": job.cwd}},
                                        config=self.ipc_config(Path(job.trace)))
            began = time.perf_counter()
            try:
                await client.async_execute(env={**os.environ, **self.kernel_variables(job.trace)})
            except Exception:  # a failing cell, a timeout, a dead kernel: myst-nb re-runs and reports it
                job.error = traceback.format_exc()
            finally:
                if warm is not None:
                    if client.kc is not None:
                        client.kc.stop_channels()
                    await self._shutdown(warm)
            job.seconds = time.perf_counter() - began + (warm.boot_seconds if warm is not None else 0.0)
            job.done.set()

        async def worker(queue: asyncio.Queue) -> None:
            while (job := await queue.get()) is not None:
                await run(job)

        async def main() -> None:
            self.loop = asyncio.get_running_loop()
            self.queue = asyncio.Queue()
            ready.set()
            await asyncio.gather(*(worker(self.queue) for _ in range(workers)))
            for warm in self.pool:  # booted for a chapter that did not need to run
                if not warm.claimed:
                    warm.claimed = True
                    try:
                        await warm.task
                    except Exception:
                        pass
                    await self._shutdown(warm)

        def thread_main() -> None:
            try:
                asyncio.run(main())
            finally:
                ready.set()
                for job in self.jobs.values():  # never leave a reader waiting
                    if not job.done.is_set():
                        job.error = job.error or "execution did not finish"
                        job.done.set()

        self.workers_count = workers
        self.thread = threading.Thread(target=thread_main, name="ketamine-course-execution", daemon=True)
        self.thread.start()
        ready.wait()
        LOGGER.info(f"[ketamine_course] executing notebooks on up to {workers} kernels at a time")

    def submit(self, job: Job) -> None:
        if self.thread is None:
            self.start()
        LOGGER.info(f"Executing notebook ({job.reason})", location=job.docname)
        self.loop.call_soon_threadsafe(self.queue.put_nowait, job)

    def close(self) -> None:
        """No more chapters: let the kernels' workers finish (idempotent)."""
        if self.thread is not None and not self.closed:
            self.closed = True
            for _ in range(self.workers_count):
                self.loop.call_soon_threadsafe(self.queue.put_nowait, None)

    # -- results, in the main thread

    def inputs_of(self, job: Job) -> dict[str, str | None]:
        own = self.key(job.path)
        keys = sorted({self.key(p) for p in tracing.read_trace(job.trace)} - {own})
        self.digests.clear()  # the files as they are now, right after the run
        return {key: self.digest(key) for key in keys}

    def collect(self, job: Job) -> bool:
        """Put a finished chapter into the cache (True) or leave it to myst-nb (False)."""
        from jupyter_cache.base import CacheBundleIn

        job.done.wait()
        if job.collected:
            return job.error is None
        job.collected = True
        if job.error is not None:
            self.report["failed"][job.docname] = {"reason": job.reason, "seconds": round(job.seconds, 2)}
            LOGGER.info(
                "[ketamine_course] execution failed; myst-nb executes the notebook again and reports the error",
                location=job.docname,
            )
            return False
        self.cache.cache_notebook_bundle(
            CacheBundleIn(job.notebook, str(job.path), data={"execution_seconds": job.seconds}),
            check_validity=False,
            overwrite=True,
        )
        inputs = self.inputs_of(job)
        self.manifest[job.docname] = {
            "source": self.key(job.path),
            "code_digest": code_digest(job.path.read_text(encoding="utf-8")),
            "nb_hash": job.nb_hash,
            "environment": self.fingerprint,
            "seconds": round(job.seconds, 3),
            "inputs": inputs,
        }
        self.save_manifest()
        self.report["executed"][job.docname] = {"reason": job.reason, "seconds": round(job.seconds, 2)}
        LOGGER.info(f"Executed notebook in {job.seconds:.2f} seconds ({len(inputs)} inputs)", location=job.docname)
        return True

    def finish(self, exception) -> None:
        self.close()
        if self.thread is not None:
            self.thread.join()
        for job in self.jobs.values():  # chapters Sphinx never reached (a failed build) still count
            if not job.collected and job.error is None:
                self.collect(job)
        found = getattr(getattr(self.app, "env", None), "found_docs", None) or set(self.manifest)
        gone = [doc for doc in self.manifest if doc not in found]
        for doc in gone:  # pages no longer in the book
            del self.manifest[doc]
        if gone:
            self.save_manifest()
        self.report["seconds"] = round(time.perf_counter() - self.started, 2)
        self.report["succeeded"] = exception is None
        self.report["inputs"] = {doc: sorted(entry.get("inputs", {})) for doc, entry in sorted(self.manifest.items())}
        report = Path(self.app.outdir).parent / REPORT
        try:
            report.write_text(json.dumps(self.report, indent=1) + "\n", encoding="utf-8")
        except OSError:
            pass
        shutil.rmtree(self.trace_dir, ignore_errors=True)


# ---- Sphinx events -----------------------------------------------------------------------------


def state(app) -> Executions:
    if getattr(app, "_ketamine_executions", None) is None:
        app._ketamine_executions = Executions(app)
    return app._ketamine_executions


def on_config_inited(app, config):
    state(app).prewarm()


def on_env_get_outdated(app, env, added, changed, removed):
    """Re-read every chapter whose recorded inputs changed in content (or with no record at all)."""
    run = state(app)
    outdated = []
    if not run.manifest_found:
        # Outputs made before this manifest existed: their inputs are unknown, so re-run them.
        from myst_nb.sphinx_ import NbMetadataCollector

        outdated = [doc for doc in env.all_docs if NbMetadataCollector.get_exec_data(env, doc)]
    for docname, entry in run.manifest.items():
        if docname in env.found_docs and docname not in added and docname not in changed:
            reason = run.stale_reason(entry)
            if reason:
                run.stale_reasons[docname] = reason
                outdated.append(docname)
    return sorted(set(outdated) & env.found_docs)


def on_env_before_read_docs(app, env, docnames):
    run = state(app)
    run.plan(docnames)  # starts the chapters that must run
    if run.jobs:
        # Pages that need no kernel first (Sphinx reads them while the chapters run), then the
        # chapters, the first to finish first.
        order = sorted(run.jobs.values(), key=lambda job: job.expected_seconds)
        rest = [doc for doc in docnames if doc not in run.jobs]
        docnames[:] = rest + [job.docname for job in order]


def on_source_read(app, docname, source):
    run = state(app)
    job = run.jobs.get(docname)
    if job is None:
        return
    if not run.collect(job):
        # myst-nb executes this one itself: its kernel gets the same variables (and records its inputs).
        variables = run.kernel_variables(job.trace)
        run.fallback = (job, {name: os.environ.get(name) for name in variables})
        os.environ.update(variables)


def on_doctree_read(app, doctree):
    run = state(app)
    env = app.env
    docname = env.docname
    if run.fallback is not None and run.fallback[0].docname == docname:
        (job, saved), run.fallback = run.fallback, None
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        from myst_nb.sphinx_ import NbMetadataCollector

        result = NbMetadataCollector.get_exec_data(env, docname) or {}
        if result.get("succeeded"):
            run.manifest[docname] = {
                "source": run.key(job.path),
                "code_digest": code_digest(job.path.read_text(encoding="utf-8")),
                "nb_hash": job.nb_hash,
                "environment": run.fingerprint,
                "seconds": round(result.get("runtime") or 0.0, 3),
                "inputs": run.inputs_of(job),
            }
            run.save_manifest()
            run.report["executed"][docname] = {"reason": job.reason + " (by myst-nb)", "seconds": result.get("runtime")}
    entry = run.manifest.get(docname)
    if entry is None:
        return
    if docname not in run.jobs:
        run.report["from_cache"].append(docname)
    for key in entry.get("inputs", {}):
        env.note_dependency(str(run.absolute(key)) if os.path.isabs(key) else key)


def on_build_finished(app, exception):
    run = getattr(app, "_ketamine_executions", None)
    if run is not None:
        run.finish(exception)


# The pybtex plugins the book's bibliographies look up again and again (sphinxcontrib-bibtex with
# bibtex_default_style plain), as pybtex's own entry points name them.
PYBTEX_PLUGINS = (
    ("pybtex.backends", "plaintext", "pybtex.backends.plaintext", "Backend"),
    ("pybtex.style.formatting", "plain", "pybtex.style.formatting.plain", "Style"),
    ("pybtex.style.names", "plain", "pybtex.style.names.plain", "NameStyle"),
    ("pybtex.style.labels", "number", "pybtex.style.labels.number", "LabelStyle"),
    ("pybtex.style.sorting", "none", "pybtex.style.sorting.none", "SortingStyle"),
    ("pybtex.style.sorting", "author_year_title", "pybtex.style.sorting.author_year_title", "SortingStyle"),
)


def register_pybtex_plugins() -> None:
    """Save sphinxcontrib-bibtex a scan of every installed package's entry points per lookup.

    Its ``resolve_xref`` calls ``pybtex.plugin.find_plugin("pybtex.backends", "plaintext")`` for every
    citation on every page, and each bibliography looks up its formatting, name, label and sorting
    styles; each lookup reads the entry points of every installed distribution (about 5 ms): 138
    citations cost about 0.8 s of a 3.5 s write phase. pybtex looks in its registry of runtime
    plugins first, so these are registered once as the very classes their entry points name.
    (Registering costs one scan each, so only the plugins looked up repeatedly are registered.)
    """
    from importlib import import_module

    import pybtex.plugin

    for group, name, module, attribute in PYBTEX_PLUGINS:
        try:
            plugin = getattr(import_module(module), attribute)
        except (ImportError, AttributeError):  # another pybtex: leave the lookups to it
            continue
        pybtex.plugin.register_plugin(group, name, plugin, force=True)


class BibliographyFormatMemo:
    """Remember how pybtex formatted each reference, across builds.

    sphinxcontrib-bibtex formats every entry of every bibliography again on every build, even when
    nothing changed (its ``env_updated`` handler), and twice when tooltips are on (the default): with
    the three chapters' bibliographies and the book's, about 500 formatted entries, over 1 s of a
    no-change rebuild, growing with each reference added. Formatting is a pure function of the
    style, the label and the entry, so the result is kept, keyed on all of them (the entry's type,
    key, every field and every part of every name), in ``<doctrees>/ketamine_course_bibtex.pickle``.
    An entry with a ``crossref`` (whose formatting reads other entries) is never kept.
    """

    FILE = "ketamine_course_bibtex.pickle"

    def __init__(self):
        self.known: dict = {}
        self.used: set = set()
        self.added = False
        self.path: Path | None = None
        self.version = ""

    def key(self, style, label, entry):
        if "crossref" in entry.fields:
            return None
        names = tuple(
            (role, tuple((tuple(p.first_names), tuple(p.middle_names), tuple(p.prelast_names), tuple(p.last_names),
                          tuple(p.lineage_names)) for p in people))
            for role, people in sorted(entry.persons.items())
        )
        return (
            type(style).__module__, type(style).__qualname__, type(style.name_style).__qualname__,
            bool(style.abbreviate_names), label, entry.type, entry.key, tuple(entry.fields.items()), names,
        )

    def load(self, doctreedir: str) -> None:
        import pickle
        from importlib.metadata import version

        self.path = Path(doctreedir) / self.FILE
        self.version = f"pybtex {version('pybtex')}"
        try:
            stored_version, known = pickle.loads(self.path.read_bytes())
        except Exception:  # none yet, or unreadable: start empty
            return
        if stored_version == self.version:
            self.known = known

    def save(self) -> None:
        import pickle

        if self.path is None or not (self.added or set(self.known) - self.used):
            return
        kept = {key: value for key, value in self.known.items() if key in self.used}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_bytes(pickle.dumps((self.version, kept)))

    def install(self) -> None:
        from pybtex.style.formatting import BaseStyle

        if getattr(BaseStyle.format_entry, "_ketamine_course_memo", None) is self:
            return
        original = getattr(BaseStyle.format_entry, "__wrapped__", BaseStyle.format_entry)
        memo = self

        def format_entry(self, label, entry, bib_data=None):
            key = memo.key(self, label, entry) if bib_data is None else None
            if key is None:
                return original(self, label, entry, bib_data=bib_data)
            memo.used.add(key)
            if key not in memo.known:
                memo.known[key] = original(self, label, entry)
                memo.added = True
            return memo.known[key]

        format_entry.__wrapped__ = original
        format_entry._ketamine_course_memo = self
        BaseStyle.format_entry = format_entry


BIBLIOGRAPHY_MEMO = BibliographyFormatMemo()


def on_build_finished_memo(app, exception):
    if exception is None:
        BIBLIOGRAPHY_MEMO.save()


def setup(app):
    register_pybtex_plugins()
    BIBLIOGRAPHY_MEMO.load(app.doctreedir)
    BIBLIOGRAPHY_MEMO.install()
    app.connect("build-finished", on_build_finished_memo)
    app.setup_extension("myst_nb")
    app.add_config_value("ketamine_execution_workers", 0, "", [int])
    app.add_config_value("ketamine_execution_prewarm", True, "", [bool])
    app.add_config_value("ketamine_execution_preload", [], "", [list])
    app.connect("config-inited", on_config_inited)
    app.connect("env-get-outdated", on_env_get_outdated)
    app.connect("env-before-read-docs", on_env_before_read_docs)
    app.connect("source-read", on_source_read, priority=900)
    app.connect("doctree-read", on_doctree_read)
    app.connect("build-finished", on_build_finished)
    return {"version": "1", "parallel_read_safe": False, "parallel_write_safe": True}
