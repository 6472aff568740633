"""Content stamps: skip build-finished work whose inputs have not changed since it last succeeded.

The reader notebooks (``reader_sphinx``) and the chapter bundles (``bundles``) are written at the
end of every build from the executed notebooks, the sources and the course package. Written again
on a build that changed nothing, they cost seconds of a no-change rebuild for the same bytes. A
stamp records the SHA-256 of every input (names and contents, never modification times) once the
work has succeeded; the next build skips the work only when the inputs hash to the same key and
every output is still there. Any edited, added or removed input, or a missing output, runs it again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path


def files_under(folder: Path, pattern: str = "**/*") -> list[Path]:
    """Files below ``folder`` matching ``pattern``, without caches (empty if the folder is missing)."""
    if not folder.is_dir():
        return []
    return [p for p in folder.glob(pattern) if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts]


def content_key(paths: Iterable[Path], *extra: str) -> str:
    """One hash of the names and contents of ``paths`` (in sorted order) and of ``extra`` strings."""
    digest = hashlib.sha256()
    for text in extra:
        digest.update(text.encode("utf-8") + b"\0")
    for path in sorted({Path(p).resolve() for p in paths}):
        digest.update(str(path).encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest() if path.is_file() else b"missing")
    return digest.hexdigest()


def unchanged(stamp: Path, key: str, outputs: Iterable[Path] = ()) -> dict | None:
    """The stamp's recorded data if its key is ``key`` and every output exists; otherwise None."""
    try:
        data = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("key") != key or not all(Path(p).exists() for p in outputs):
        return None
    return data


def record(stamp: Path, key: str, **data) -> None:
    """Write the stamp (call only after the work succeeded)."""
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps({"key": key, **data}, indent=1, sort_keys=True), encoding="utf-8")


def forget(stamp: Path) -> None:
    """Remove the stamp, so that the next build does the work again."""
    stamp.unlink(missing_ok=True)
