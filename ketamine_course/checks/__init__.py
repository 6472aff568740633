"""Self-checks for computational exercises (PROVISIONAL stand-in).

The coursework helper owns this module; this minimal version implements the agreed
interface (``register``, ``Result``, ``check``) so that chapter 2's starter cells run
until the real mechanism lands on main, which then replaces this file.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from typing import Callable

_REGISTRY: dict[tuple[str, str], Callable] = {}
_CHAPTER_MODULES = ("rapid_onset",)


@dataclass(frozen=True)
class Result:
    ok: bool
    message: str

    @classmethod
    def close(cls, answer, expected, rel: float = 0.02, hint: str = "") -> "Result":
        if answer is None:
            return cls(False, "No answer yet: replace the None in the starter cell.")
        try:
            value = float(answer)
        except (TypeError, ValueError):
            return cls(False, f"Expected a number, got {type(answer).__name__}. {hint}".strip())
        if math.isclose(value, expected, rel_tol=rel):
            return cls(True, "Correct (within the tolerance).")
        return cls(False, f"Not quite. {hint}".strip())


def register(exercise: str, part: str = "core"):
    def decorator(function):
        _REGISTRY[(exercise, part)] = function
        return function

    return decorator


def _load():
    for name in _CHAPTER_MODULES:
        importlib.import_module(f"{__name__}.{name}")


def evaluate(exercise: str, answer, part: str = "core") -> Result:
    _load()
    try:
        function = _REGISTRY[(exercise, part)]
    except KeyError:
        raise KeyError(f"no self-check registered for {exercise!r} part {part!r}") from None
    return function(answer)


def check(exercise: str, answer, part: str = "core") -> Result:
    """Print whether ``answer`` is right, without revealing the expected value."""
    result = evaluate(exercise, answer, part)
    print(("✓ " if result.ok else "✗ ") + f"{exercise} ({part}): {result.message}")
    return result
