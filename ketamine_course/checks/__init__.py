"""Self-checks for computational exercises: right or wrong, within a tolerance, without the answer.

A chapter's checks live in ``ketamine_course/checks/<chapter stem without number>.py`` (for example
``rapid_onset.py``), one function per exercise part::

    from ketamine_course.checks import register, Result

    @register("ex-dose-duration", part="core", solution=lambda: 240.1)
    def _(answer):
        expected = ...   # computed from the package's model or data, never typed in
        return Result.close(answer, expected, rel=0.02, hint="Peak concentration is in ng/mL.")

A student's starter cell ends with ``check("ex-dose-duration", my_answer)``, which prints whether
the answer is right, never the expected value. ``solution`` (optional, but the test suite asks for
it) returns the answer that the chapter's worked solution gives; ``tests/test_checks.py`` shows
every registered check accepting it and rejecting wrong answers. ``wrong`` adds wrong answers of
your own to those the test derives from the solution.
"""

from __future__ import annotations

import importlib
import math
import numbers
import pkgutil
from dataclasses import dataclass, field
from difflib import get_close_matches
from typing import Any, Callable

PARTS = ("core", "extension")
NO_ANSWER = "no answer yet: fill in the lines marked TODO, then run the cell again."


class UnknownCheckError(LookupError):
    """No check is registered under that label (or part)."""

    def __str__(self) -> str:  # LookupError would quote the message
        return str(self.args[0])


@dataclass(frozen=True)
class Check:
    label: str
    part: str
    function: Callable[[Any], "Result"]
    solution: Callable[[], Any] | None = None
    wrong: tuple = ()
    module: str = ""


_REGISTRY: dict[tuple[str, str], Check] = {}
_loaded = False


def register(label: str, part: str = "core", *, solution: Callable[[], Any] | None = None, wrong=()):
    """Register the decorated function as the check of exercise ``label``, part ``core`` or ``extension``."""
    if not isinstance(label, str) or not label:
        raise ValueError("a check needs an exercise label, for example 'ex-dose-duration'")
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, not {part!r}")

    def decorator(function):
        key = (label, part)
        old = _REGISTRY.get(key)
        module = getattr(function, "__module__", "")
        if old is not None and old.module != module:
            raise ValueError(f"check {label!r} ({part}) is registered twice: in {old.module} and in {module}")
        _REGISTRY[key] = Check(label, part, function, solution, tuple(wrong), module)
        return function

    return decorator


def load_all() -> None:
    """Import every chapter module in this package (once), so that their checks are registered."""
    global _loaded
    if _loaded:
        return
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    _loaded = True


def registered() -> list[Check]:
    """Every registered check, sorted by label and part."""
    load_all()
    return [_REGISTRY[key] for key in sorted(_REGISTRY)]


def find(label: str, part: str | None = None) -> Check:
    load_all()
    parts = [p for (name, p) in _REGISTRY if name == label]
    if not parts:
        labels = sorted({name for name, _ in _REGISTRY})
        near = get_close_matches(label, labels, n=3)
        hint = f" Did you mean {', '.join(repr(n) for n in near)}?" if near else ""
        raise UnknownCheckError(f"there is no check for exercise {label!r}.{hint} Checks exist for: {', '.join(labels) or 'none yet'}.")
    if part is None:
        # a starter cell may leave the part out for the core part (the one every student does)
        if "core" in parts:
            part = "core"
        elif len(parts) > 1:
            raise UnknownCheckError(f"exercise {label!r} has checks for several parts ({', '.join(sorted(parts))}): say which, e.g. part='core'.")
        else:
            part = parts[0]
    if (label, part) not in _REGISTRY:
        raise UnknownCheckError(f"exercise {label!r} has no {part!r} check; it has: {', '.join(sorted(parts))}.")
    return _REGISTRY[(label, part)]


def evaluate(label: str, answer, part: str | None = None) -> "Result":
    """Run the check and return its ``Result`` (``check`` prints it instead)."""
    found = find(label, part)
    if answer is None or answer is Ellipsis:
        result = Result(False, NO_ANSWER, answered=False)
    else:
        result = found.function(answer)
        if not isinstance(result, Result):
            raise TypeError(f"the check for {label!r} ({found.part}) returned {type(result).__name__}, not a Result")
    return result.named(label, found.part)


def check(label: str, answer, part: str | None = None) -> None:
    """Say whether ``answer`` to exercise ``label`` (part ``core``/``extension``) is right, without revealing the answer."""
    print(evaluate(label, answer, part))


def _number(value):
    """A finite float from a plain or numpy number (or a one-element array/Series); None otherwise."""
    if isinstance(value, bool):
        return None
    if hasattr(value, "item") and getattr(value, "size", 1) == 1 and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, TypeError):
            return None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = float(value)
        return value if math.isfinite(value) else None
    return None


def _within(answer: float, expected: float, rel: float, abs_: float) -> bool:
    return math.isclose(answer, expected, rel_tol=rel, abs_tol=abs_)


@dataclass(frozen=True)
class Result:
    """The verdict on one answer. ``str(result)`` is what the student sees; it never contains the expected value."""

    correct: bool
    message: str
    answered: bool = True
    label: str = ""
    part: str = ""
    # Kept for the tests (which check that the message does not reveal it); never shown.
    expected: Any = field(default=None, repr=False, compare=False)

    def __bool__(self) -> bool:
        return self.correct

    @property
    def ok(self) -> bool:
        """Alias of ``correct`` (the name used by chapter 2's provisional stand-in)."""
        return self.correct

    def __str__(self) -> str:
        name = f"{self.label} ({self.part})" if self.label else "check"
        if not self.answered:
            return f"… {name}: {self.message}"
        return f"{'✔ Correct' if self.correct else '✘ Not yet'}: {name}. {self.message}".rstrip()

    def _repr_pretty_(self, printer, cycle):  # IPython shows the verdict, not the fields
        printer.text(str(self))

    def named(self, label: str, part: str) -> "Result":
        return Result(self.correct, self.message, self.answered, label, part, self.expected)

    # ---- constructors for check functions --------------------------------------------------------

    @classmethod
    def right(cls, message: str = "") -> "Result":
        return cls(True, message)

    @classmethod
    def wrong(cls, message: str = "") -> "Result":
        return cls(False, message)

    @classmethod
    def close(cls, answer, expected, rel: float = 0.01, abs: float = 0.0, hint: str | None = None) -> "Result":  # noqa: A002 - math.isclose's name
        """Right if ``answer`` is within ``rel`` (relative) or ``abs`` (absolute) of ``expected``."""
        reference = _number(expected)
        if reference is None:
            raise TypeError(f"the expected value of a close() check must be a finite number, not {expected!r}")
        value = _number(answer)
        if value is None:
            return cls(False, f"Give a single finite number (you gave {type(answer).__name__}). {hint or ''}".strip(), expected=reference)
        tolerance = _describe_tolerance(rel, abs)
        if _within(value, reference, rel, abs):
            return cls(True, f"Your value is within {tolerance} of the expected one.", expected=reference)
        return cls(False, f"Your value is not within {tolerance} of the expected one. {hint or ''}".strip(), expected=reference)

    @classmethod
    def all_close(cls, answer, expected, rel: float = 0.01, abs: float = 0.0, hint: str | None = None) -> "Result":  # noqa: A002
        """Each value of a mapping (dict, Series) or sequence within tolerance; says which keys are off, never their values."""
        expected_items = _items(expected)
        if expected_items is None:
            raise TypeError("the expected value of all_close() must be a mapping or a sequence of numbers")
        answer_items = _items(answer)
        if answer_items is None:
            return cls(False, f"Give a {'mapping' if isinstance(expected, dict) else 'sequence'} of numbers. {hint or ''}".strip(), expected=expected)
        keys = list(expected_items)
        missing = [k for k in keys if k not in answer_items]
        if missing:
            return cls(False, f"Missing: {', '.join(map(str, missing))}. {hint or ''}".strip(), expected=expected)
        off = []
        for key in keys:
            value, reference = _number(answer_items[key]), _number(expected_items[key])
            if value is None or not _within(value, reference, rel, abs):
                off.append(key)
        tolerance = _describe_tolerance(rel, abs)
        if not off:
            return cls(True, f"All {len(keys)} values are within {tolerance} of the expected ones.", expected=expected)
        sequence = not isinstance(expected, dict) and not hasattr(expected, "to_dict")
        names = ", ".join(f"item {k + 1}" if sequence else str(k) for k in off)
        return cls(False, f"{len(keys) - len(off)} of {len(keys)} values are within {tolerance}; not yet: {names}. {hint or ''}".strip(), expected=expected)

    @classmethod
    def equal(cls, answer, expected, hint: str | None = None) -> "Result":
        """Exact match (strings compared without case and surrounding spaces)."""
        if isinstance(expected, str):
            same = isinstance(answer, str) and answer.strip().casefold() == expected.strip().casefold()
        else:
            try:
                same = not isinstance(answer, str) and bool(answer == expected)
            except (TypeError, ValueError):  # e.g. an array compared with a number
                same = False
        return cls(same, "" if same else (hint or ""), expected=expected)

    @classmethod
    def choice(cls, answer, expected, options, hint: str | None = None) -> "Result":
        """One of a fixed set of ``options`` (e.g. 'higher', 'lower', 'unchanged')."""
        options = [str(o).casefold() for o in options]
        given = str(answer).strip().casefold() if isinstance(answer, str) else None
        if given not in options:
            return cls(False, f"Answer with one of: {', '.join(options)}.", expected=expected)
        same = given == str(expected).casefold()
        return cls(same, "" if same else (hint or ""), expected=expected)


def _describe_tolerance(rel: float, abs_: float) -> str:
    parts = []
    if rel:
        parts.append(f"{rel * 100:g}%")
    if abs_:
        parts.append(f"±{abs_:g}")
    return " or ".join(parts) if parts else "rounding"


def _items(value):
    """A dict view of a mapping, pandas Series or sequence (index -> value); None for anything else."""
    if isinstance(value, dict):
        return dict(value)
    if hasattr(value, "to_dict") and hasattr(value, "index") and not hasattr(value, "columns"):
        return dict(value.to_dict())
    if isinstance(value, (str, bytes)):
        return None
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return dict(enumerate(value))
    return None


__all__ = ["register", "check", "evaluate", "registered", "Result", "UnknownCheckError"]
