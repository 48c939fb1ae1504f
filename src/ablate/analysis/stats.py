"""Statistics for a factorial grid: bootstrap CIs, level means, paired differences.

Every interval is a 95% percentile bootstrap with a fixed seed, so a rerun of the report
on the same runs prints the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

RESAMPLES = 2000
LEVEL = 0.95


@dataclass(frozen=True)
class Estimate:
    """A mean with its 95% CI and the number of values behind it."""

    mean: float
    lo: float
    hi: float
    n: int

    def fmt(self, digits: int = 3, signed: bool = False) -> str:
        if self.n == 0:
            return "n/a"
        sign = "+" if signed else ""
        return (
            f"{self.mean:{sign}.{digits}f} [{self.lo:{sign}.{digits}f}, {self.hi:{sign}.{digits}f}]"
        )

    def compare(self) -> str:
        """For a difference: `higher` / `lower` when the CI excludes 0, else `overlap`.
        One value has no interval at all, so it never decides."""
        if self.n < 2:
            return "overlap"
        if self.lo > 0:
            return "higher"
        if self.hi < 0:
            return "lower"
        return "overlap"


def bootstrap(values: Sequence[float] | np.ndarray, seed: int = 0) -> Estimate:
    """Mean and 95% percentile-bootstrap CI of `values` (NaNs dropped)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    if len(x) == 1:
        return Estimate(float(x[0]), float(x[0]), float(x[0]), 1)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(RESAMPLES, len(x)))].mean(axis=1)
    tail = (1 - LEVEL) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return Estimate(float(x.mean()), float(lo), float(hi), len(x))


def level_means(df: pd.DataFrame, axis: str, metric: str = "test_acc") -> pd.DataFrame:
    """Per level of `axis`: mean of `metric` over seeds and every other axis, with its CI."""
    rows = []
    for level, group in df.groupby(axis, sort=False):
        est = bootstrap(group[metric])
        rows.append({axis: level, "n": est.n, "mean": est.mean, "lo": est.lo, "hi": est.hi})
    return pd.DataFrame(rows)


def paired_diff(
    df: pd.DataFrame, axis: str, a: str, b: str, pair_on: Sequence[str], metric: str = "test_acc"
) -> Estimate:
    """Mean of metric(a) - metric(b) over runs matched on `pair_on` (other axes and seed)."""
    left = df[df[axis] == a].set_index(list(pair_on))[metric]
    right = df[df[axis] == b].set_index(list(pair_on))[metric]
    joined = pd.concat([left.rename("a"), right.rename("b")], axis=1, join="inner")
    return bootstrap((joined["a"] - joined["b"]).to_numpy())


def intervals_overlap(a: Estimate, b: Estimate) -> bool:
    return not (a.lo > b.hi or b.lo > a.hi)


def diff_of_means(
    a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, seed: int = 0
) -> Estimate:
    """mean(a) - mean(b) with a 95% CI, resampling the two groups independently."""
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if len(x) == 0 or len(y) == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    rng = np.random.default_rng(seed)
    diffs = x[rng.integers(0, len(x), size=(RESAMPLES, len(x)))].mean(axis=1) - y[
        rng.integers(0, len(y), size=(RESAMPLES, len(y)))
    ].mean(axis=1)
    tail = (1 - LEVEL) / 2 * 100
    lo, hi = np.percentile(diffs, [tail, 100 - tail])
    n = min(len(x), len(y))
    mean = float(x.mean() - y.mean())
    return Estimate(mean, float(lo), float(hi), n) if n > 1 else Estimate(mean, mean, mean, 1)
