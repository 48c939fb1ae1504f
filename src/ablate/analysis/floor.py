"""Runs at the floor: a net that predicts (almost) one class has learned nothing but at most
the class prior. Such runs are shown and counted, but kept out of effect estimates, like
diverged ones: a pair with both arms at the floor dilutes an effect, a pair with one arm
there inflates it."""

from __future__ import annotations

import numpy as np
import pandas as pd

MARGIN = 0.01  # accuracy and loss tolerance around the floor


def flag_collapsed(df: pd.DataFrame) -> pd.DataFrame:
    """`df` with a boolean column `collapsed`, decided per run by the best evidence it has:
    1. `test_classes_predicted` <= 1 (the net predicts one class on the whole test split);
    2. else test loss >= ln(classes) - 0.01 (no better than a uniform guess) with test
       accuracy <= the test split's majority-class share (`majority_acc`) + 0.01;
    3. else the same loss test with test accuracy <= 1/classes + 0.01.
    Runs without a finite loss (diverged, failed) are not collapsed: they have their status."""
    acc = _column(df, "test_acc")
    classes = _column(df, "classes")
    floor = _column(df, "majority_acc").fillna(1.0 / classes)
    by_loss = (_column(df, "test_loss") >= np.log(classes) - MARGIN) & (acc <= floor + MARGIN)
    predicted = _column(df, "test_classes_predicted")
    collapsed = (predicted <= 1).where(predicted.notna(), by_loss)
    return df.assign(collapsed=collapsed.astype(bool))


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    """A numeric column, all NaN where the runs do not record it."""
    if name not in df.columns:
        return pd.Series(np.nan, index=df.index, dtype=float)
    return pd.to_numeric(df[name], errors="coerce").astype(float)
