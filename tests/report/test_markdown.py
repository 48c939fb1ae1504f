from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ablate.analysis.stats import mean_ci
from ablate.report.markdown import fmt, table


@pytest.mark.parametrize(
    "missing", [None, float("nan"), np.float32("nan"), np.nan, pd.NA, "nan", "-nan", "nan%"]
)
def test_a_missing_number_prints_as_a_dash(missing):
    assert fmt(missing) == "—"


def test_numbers_and_text_still_print():
    assert fmt(0.12345) == "0.123"
    assert fmt(np.float32(0.5), digits=1) == "0.5"
    assert fmt(3) == "3" and fmt(True) == "True"
    assert fmt("loss nan at step 1") == "loss nan at step 1"  # a quoted message, not a number
    assert fmt("a|b") == "a\\|b"


def test_a_table_never_prints_nan():
    ratio = float("nan")
    text = table(["a", "b", "c"], [[ratio, f"{ratio:.3g}", mean_ci([0.5]).fmt()]])
    assert "nan" not in text.lower()
