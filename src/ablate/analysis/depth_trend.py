"""Per-layer trends of a probe through depth: the fitted slope of log10 value against layer
index, per run. A slope with an interval over runs says how fast a signal grows or dies per
layer; an endpoint ratio cannot (it hides a steady 7% loss per layer, and is 0/0 when the
signal has died)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ablate.analysis.stats import Estimate, mean_ci

MIN_LAYERS = 3  # a slope needs at least three layers with a positive value


def log_slopes(layers: pd.DataFrame, column: str) -> pd.Series:
    """Per run (`key`): the least-squares slope of log10(column) against `layer_idx`
    (input -> output), over the layers where the value is positive; NaN with too few."""

    def fit(g: pd.DataFrame) -> float:
        g = g[g[column] > 0]
        if g["layer_idx"].nunique() < MIN_LAYERS:
            return float("nan")
        return float(np.polyfit(g["layer_idx"], np.log10(g[column]), 1)[0])

    if layers.empty:
        return pd.Series(dtype=float)
    return layers.groupby("key")[["layer_idx", column]].apply(fit)


def slope_estimate(layers: pd.DataFrame, column: str, keys: pd.Series) -> Estimate:
    """Mean per-layer log10 slope over the runs `keys`, with a t-interval over runs."""
    slopes = log_slopes(layers[layers["key"].isin(keys)], column)
    return mean_ci(slopes.dropna().to_numpy())


def stable_band(layers: int) -> float:
    """The per-layer log10 change that compounds to a factor of 2 over `layers` layers:
    within it, a signal keeps its scale to within 2x through the deepest net."""
    return float(np.log10(2) / layers)


def factor_text(log_factors: pd.Series, prefix: str = "") -> str:
    """The mean of per-run log10 factors as a factor per layer ('—' when none could be fit)."""
    values = log_factors.dropna()
    return f"{prefix}{10 ** float(values.mean()):.3g}" if len(values) else "—"
