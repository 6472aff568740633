"""Small helpers for chapters: put computed numbers into the prose with myst-nb ``glue``."""

from __future__ import annotations

import numbers

import numpy as np


def plain(value):
    """Convert numpy scalars to plain Python numbers (``{glue:text}`` formatting needs them)."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError("glue a number, not a boolean")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        if not np.isfinite(value):
            raise ValueError("refusing to glue a non-finite number into the prose")
        return value
    if isinstance(value, str):
        return value
    raise TypeError(f"cannot glue {type(value).__name__}; glue numbers or strings")


def glue_values(values: dict) -> dict:
    """Glue each name -> number (without displaying it) and return the converted mapping."""
    from myst_nb import glue

    converted = {name: plain(value) for name, value in values.items()}
    for name, value in converted.items():
        glue(name, value, display=False)
    return converted
