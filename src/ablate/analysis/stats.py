"""Statistics for a factorial grid: intervals that keep their 95% coverage at the few
replicates a study can afford.

Means get Student-t intervals (a percentile bootstrap over 2-4 values returns little more
than [min, max] and covers the true mean far less than 95% of the time); two groups get
Welch's. Paired differences are in `paired.py`, the sign-flip and Holm tests in
`significance.py`, power in `power.py`. Everything is deterministic: a rerun on the same
runs, in any row order, prints the same numbers. A t-interval on a few values can reach past
what a metric can take, so intervals of accuracies (columns named `*_acc`) are cut to
[0, 1], and those of accuracy differences to [-1, 1]; the mean and the test are untouched,
and a wide interval stays wide.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import stats as sps

LEVEL = 0.95
ALPHA = 1 - LEVEL
NAN = float("nan")


@dataclass(frozen=True)
class Estimate:
    """A mean with its 95% CI and the number of independent units behind it.

    `p`: a two-sided p-value for "the mean is 0" where a test gives one (NaN otherwise);
    `sd`: the spread of one unit (for a difference of two groups, of one replicate per arm),
    which `power_n` needs; `unit`: what `n` counts; `dropped`: pairs left out, by reason."""

    mean: float
    lo: float
    hi: float
    n: int
    p: float = NAN
    sd: float = NAN
    unit: str = "values"
    dropped: Mapping[str, int] = field(default_factory=dict, hash=False)

    def fmt(self, digits: int = 3, signed: bool = False) -> str:
        if self.n == 0:
            return "n/a"
        sign = "+" if signed else ""
        if not (math.isfinite(self.lo) and math.isfinite(self.hi)):
            return f"{self.mean:{sign}.{digits}f} (n={self.n}, no CI)"
        text = (
            f"{self.mean:{sign}.{digits}f} [{self.lo:{sign}.{digits}f}, {self.hi:{sign}.{digits}f}]"
        )
        return text + (f", p={self.p:.3g}" if math.isfinite(self.p) else "")

    def compare(self) -> str:
        """For a difference: `higher` / `lower` when the CI excludes 0 and, where a test gave
        a p-value, that test agrees (p < 0.05); else `overlap`. One value has no interval
        at all, so it never decides."""
        if self.n < 2 or (math.isfinite(self.p) and self.p >= ALPHA):
            return "overlap"
        if self.lo > 0:
            return "higher"
        if self.hi < 0:
            return "lower"
        return "overlap"

    def dropped_note(self) -> str:
        """'3 pairs left out (collapsed: relu 2, diverged: both 1)', or '' if none."""
        total = sum(self.dropped.values())
        if not total:
            return ""
        parts = ", ".join(f"{k} {v}" for k, v in sorted(self.dropped.items()))
        return f"{total} pair{'s' if total != 1 else ''} left out ({parts})"


def finite_values(values: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
    """The finite values of `values` as floats (NaNs and infinities dropped)."""
    x = np.asarray(values, dtype=float)
    return x[np.isfinite(x)]


def _t_half(sd: float, n: int, df: float) -> float:
    return float(sps.t.ppf(1 - ALPHA / 2, df) * sd / math.sqrt(n))


ACCURACY = (0.0, 1.0)
ACCURACY_DIFF = (-1.0, 1.0)


def is_accuracy(name: object) -> bool:
    """An accuracy column (`test_acc`, `val_acc`, `best_val_acc`): its values lie in [0, 1]."""
    return isinstance(name, str) and name.endswith("_acc")


def clip(est: Estimate, bounds: tuple[float, float] | None) -> Estimate:
    """`est` with its interval cut to `bounds`, the range its metric can take."""
    if bounds is None or not (math.isfinite(est.lo) and math.isfinite(est.hi)):
        return est
    return replace(est, lo=max(est.lo, bounds[0]), hi=min(est.hi, bounds[1]))


def mean_ci(
    values: Sequence[float] | np.ndarray | pd.Series, bounds: tuple[float, float] | None = None
) -> Estimate:
    """Mean and 95% Student-t CI of `values` (NaNs dropped); one value gets no interval.
    The interval is cut to `bounds`; by default to [0, 1] for a Series of an accuracy
    column."""
    if bounds is None and isinstance(values, pd.Series) and is_accuracy(values.name):
        bounds = ACCURACY
    x = finite_values(values)
    if len(x) == 0:
        return Estimate(NAN, NAN, NAN, 0)
    mean = float(x.mean())
    if len(x) == 1:
        return Estimate(mean, NAN, NAN, 1)
    sd = float(x.std(ddof=1))
    half = _t_half(sd, len(x), len(x) - 1)
    return clip(Estimate(mean, mean - half, mean + half, len(x), sd=sd), bounds)


def level_means(df: pd.DataFrame, axis: str, metric: str = "test_acc") -> pd.DataFrame:
    """Per level of `axis`: mean of `metric` over seeds and every other axis, with its CI."""
    rows = []
    for level, group in df.groupby(axis, sort=False):
        est = mean_ci(group[metric])
        rows.append({axis: level, "n": est.n, "mean": est.mean, "lo": est.lo, "hi": est.hi})
    return pd.DataFrame(rows)


def intervals_overlap(a: Estimate, b: Estimate) -> bool:
    return not (a.lo > b.hi or b.lo > a.hi)


def diff_of_means(
    a: Sequence[float] | np.ndarray | pd.Series, b: Sequence[float] | np.ndarray | pd.Series
) -> Estimate:
    """mean(a) - mean(b) with a 95% Welch t-interval and Welch's p-value (unequal
    variances); `n` is the smaller group, and a group of one gives no interval. The
    interval is cut to [-1, 1] when both are Series of an accuracy column."""
    names = [v.name if isinstance(v, pd.Series) else None for v in (a, b)]
    bounds = ACCURACY_DIFF if all(is_accuracy(n) for n in names) else None
    x, y = finite_values(a), finite_values(b)
    if len(x) == 0 or len(y) == 0:
        return Estimate(NAN, NAN, NAN, 0)
    mean = float(x.mean() - y.mean())
    n = min(len(x), len(y))
    if n < 2:
        return Estimate(mean, NAN, NAN, n)
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    se = math.sqrt(vx + vy)
    sd = float(math.sqrt(x.var(ddof=1) + y.var(ddof=1)))
    if se == 0:
        return Estimate(mean, mean, mean, n, p=0.0 if mean else 1.0, sd=sd)
    df = (vx + vy) ** 2 / (vx**2 / (len(x) - 1) + vy**2 / (len(y) - 1))
    half = float(sps.t.ppf(1 - ALPHA / 2, df) * se)
    p = float(2 * sps.t.sf(abs(mean) / se, df))
    return clip(Estimate(mean, mean - half, mean + half, n, p=p, sd=sd), bounds)
