"""Per-layer trends of a probe through depth: the fitted slope of log10 value against layer
index, per run. A slope with an interval over runs says how fast a signal grows or dies per
layer; an endpoint ratio cannot (it hides a steady 7% loss per layer, and is 0/0 when the
signal has died)."""

from __future__ import annotations

from dataclasses import dataclass

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


# Two models of a signal's scale s(l) at layer l = 1..L (input -> output), each fitted per run
# by least squares in log10 space with two parameters, so their residuals compare directly:
# a constant factor per layer (s ∝ r^l, the product of equal per-layer gains) and a power law
# (s ∝ l^k, what mean-field theory gives for tanh at Xavier's variance: s ∝ l^-0.5).
MODELS = ("constant factor", "power law")


def layer_fits(layers: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per run (`key`), over its layers with a positive value: each model's parameter
    (`factor`: log10 change per layer; `exponent`: k), residual sum of squares
    (`rss_factor`, `rss_power`), and the log10 change from the first to the last layer it
    predicts (`change_factor`, `change_power`). Runs with fewer than MIN_LAYERS such layers
    are left out."""

    def fit(g: pd.DataFrame) -> pd.Series:
        g = g[g[column] > 0]
        if g["layer_idx"].nunique() < MIN_LAYERS:
            return pd.Series(dtype=float)
        layer = g["layer_idx"].to_numpy(dtype=float) + 1
        y = np.log10(g[column].to_numpy(dtype=float))
        out = {}
        for name, x in (("factor", layer), ("power", np.log10(layer))):
            coef, rss, *_ = np.polyfit(x, y, 1, full=True)
            out[name] = coef[0]
            out[f"rss_{name}"] = float(rss[0]) if len(rss) else 0.0
            out[f"change_{name}"] = coef[0] * (x.max() - x.min())
        return pd.Series(out).rename({"power": "exponent"})

    if layers.empty:
        return pd.DataFrame()
    fits = layers.groupby("key")[["layer_idx", column]].apply(fit)
    return fits.unstack() if isinstance(fits, pd.Series) else fits.dropna(how="all")


@dataclass(frozen=True)
class SignalFit:
    """How one signal's scale changes through depth in a set of runs: the better-fitting of
    MODELS (the smaller summed residual), in how many runs it fits better, its parameter,
    and the log10 change from the first to the last layer it predicts, each over runs."""

    model: str
    wins: int  # runs in which `model` fits better
    runs: int
    param: Estimate  # log10 factor per layer, or the power law's exponent
    change: Estimate  # log10 (last layer / first layer), predicted by `model`

    def param_text(self) -> str:
        p = self.param
        if self.model == MODELS[0]:
            return f"×{10**p.mean:.3g} [{10**p.lo:.3g}, {10**p.hi:.3g}] per layer"
        return f"∝ layer^{self.param.fmt(digits=2, signed=True)}"

    def change_text(self) -> str:
        c = self.change
        return f"×{10**c.mean:.3g} [{10**c.lo:.3g}, {10**c.hi:.3g}] first → last layer"


def signal_fit(layers: pd.DataFrame, column: str, keys: pd.Series) -> SignalFit | None:
    """Both models fitted per run over the runs `keys`; None when no run can be fitted."""
    fits = layer_fits(layers[layers["key"].isin(keys)], column)
    if fits.empty:
        return None
    power_wins = int((fits["rss_power"] < fits["rss_factor"]).sum())
    power = fits["rss_power"].sum() < fits["rss_factor"].sum()
    model, param, change = (
        (MODELS[1], "exponent", "change_power") if power else (MODELS[0], "factor", "change_factor")
    )
    wins = power_wins if power else len(fits) - power_wins
    return SignalFit(
        model, wins, len(fits), mean_ci(fits[param].to_numpy()), mean_ci(fits[change].to_numpy())
    )
