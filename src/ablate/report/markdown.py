"""Small markdown helpers: tables and number formatting."""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

MISSING = "—"
_NAN_TEXT = re.compile(r"[+-]?nan%?", re.IGNORECASE)  # a number pre-formatted from NaN


def fmt(value: Any, digits: int = 3) -> str:
    """One table cell. A missing number (None, NaN, or a cell already formatted from NaN)
    prints as '—': a reader should never meet `nan` in a table."""
    if value is None or value is pd.NA or value is pd.NaT:
        return MISSING
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isnan(value):
        return MISSING
    if isinstance(value, float | np.floating):
        return f"{value:.{digits}f}"
    text = str(value)
    if _NAN_TEXT.fullmatch(text.strip()):
        return MISSING
    return text.replace("|", "\\|").replace("\n", " ")


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def si(value: float) -> str:
    """1234567 -> '1.23 M': FLOPs and parameter counts at a glance."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.2f} {unit}"
    return f"{value:.0f}"
