"""Statistics for a factorial grid: intervals that keep their 95% coverage at the few
replicates a study can afford.

Means get Student-t intervals (a percentile bootstrap over 2-4 values returns little more
than [min, max] and covers the true mean far less than 95% of the time). Paired
differences are taken at the level of the design: seeds are averaged within each cell, and
the cells are the independent units, each with a t-interval and an exact sign-flip p-value;
where both arms ran the same rates and seeds, each (rate, seed) is a unit instead
(`paired_on_units`). The tests come from the libraries that own them: the sign-flip test is
scipy's `permutation_test`, Holm is statsmodels' `multipletests`, power is statsmodels'
t-test power; the helpers here add the project's rules (units, labels, NaNs, bounds).
Everything is deterministic: a rerun on the same runs, in any row order, prints the same
numbers. A t-interval on a few values can reach past what a metric can take, so intervals
of accuracies (columns named `*_acc`) are cut to [0, 1], and those of accuracy differences
to [-1, 1]; the mean and the test are untouched, and a wide interval stays wide.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestIndPower, TTestPower

from ablate.analysis.floor import flag_collapsed
from ablate.registry import Registry

LEVEL = 0.95
ALPHA = 1 - LEVEL
EXACT_MAX = 16  # sign-flip test: all 2^n patterns up to here, Monte Carlo beyond
MC_DRAWS = 20_000
NAN = float("nan")
K = TypeVar("K")


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


def _finite(values: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
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
    x = _finite(values)
    if len(x) == 0:
        return Estimate(NAN, NAN, NAN, 0)
    mean = float(x.mean())
    if len(x) == 1:
        return Estimate(mean, NAN, NAN, 1)
    sd = float(x.std(ddof=1))
    half = _t_half(sd, len(x), len(x) - 1)
    return clip(Estimate(mean, mean - half, mean + half, len(x), sd=sd), bounds)


def sign_flip_p(values: Sequence[float] | np.ndarray) -> float:
    """Two-sided p-value of "the units' differences are symmetric about 0": scipy's paired
    permutation test (`permutation_type="samples"` on one sample flips signs) of their mean.
    Exact (all 2^n patterns) for n <= 16, else a Monte Carlo of 20,000 patterns from a fixed
    seed, so a rerun gives the same p. Ties count (scipy's relative tolerance)."""
    x = _finite(values)
    if len(x) == 0:
        return NAN
    if len(x) == 1:  # both sign patterns reach |x|: scipy refuses a single observation
        return 1.0
    exact = len(x) <= EXACT_MAX
    result = sps.permutation_test(
        (x,),
        _mean,
        permutation_type="samples",
        vectorized=True,
        n_resamples=np.inf if exact else MC_DRAWS,
        alternative="two-sided",
        rng=np.random.default_rng(0),
    )
    return float(result.pvalue)


def _mean(x: np.ndarray, axis: int) -> np.ndarray:
    return np.mean(x, axis=axis)


SMALLEST_P: Registry[Callable[[int], float]] = Registry("test")  # smallest p on n units


@SMALLEST_P.register("sign_flip")
def _sign_flip_floor(n: int) -> float:
    return min(1.0, 2.0 / 2.0**n)  # all signs alike: 2 of the 2^n patterns


def smallest_p(n: int, test: str = "sign_flip") -> float:
    """The smallest p-value `test` can reach on `n` units, whatever the data: the exact
    sign-flip test on 3 units never goes below 2/2^3 = 0.25, so n = 3 cannot reach
    p < 0.05 (say so rather than call the comparison a null result)."""
    return SMALLEST_P[test](n)


def least_units(alpha: float = ALPHA, test: str = "sign_flip") -> int:
    """The fewest units on which `test` can reach p < `alpha` (6 for the sign-flip test at
    0.05: 2/2^6 = 0.031)."""
    n = 1
    while smallest_p(n, test) >= alpha:
        n += 1
    return n


def _units_estimate(
    units: np.ndarray, unit: str, dropped: Mapping[str, int], bounds: tuple[float, float] | None
) -> Estimate:
    est = mean_ci(units, bounds)
    return replace(est, p=sign_flip_p(units), unit=unit, dropped=dict(dropped))


def paired_units(differences: Sequence[float] | np.ndarray, unit: str) -> Estimate:
    """Paired differences already reduced to one per independent unit: their mean with a
    t-interval and the exact sign-flip p-value, as `paired_diff` gives."""
    return _units_estimate(_finite(differences), unit, {}, None)


def _failures(side: pd.DataFrame, metric: str, drop_failed: bool) -> pd.Series:
    """Per pair, why this arm cannot enter the effect ('' if it can)."""
    status = side["status"].astype(str) if "status" in side else pd.Series("ok", side.index)
    no_value = ~np.isfinite(side[metric].to_numpy(dtype=float))
    collapsed = side["collapsed"].eq(True).to_numpy() if "collapsed" in side else False
    not_ok = (status != "ok").to_numpy()
    reason = np.select(
        [no_value & not_ok, no_value, drop_failed & not_ok, drop_failed & collapsed],
        [status, "no value", status, "collapsed"],
        "",
    )
    return pd.Series(reason, index=side.index)


def _label(why_a: str, why_b: str, a: str, b: str) -> str:
    """'collapsed: both', 'diverged: relu' or 'diverged: relu + collapsed: leaky_relu'."""
    if why_a and why_a == why_b:
        return f"{why_a}: both"
    return " + ".join(f"{why}: {arm}" for why, arm in ((why_a, a), (why_b, b)) if why)


def _paired_frame(
    df: pd.DataFrame,
    axis: str,
    a: str,
    b: str,
    keys: list[str],
    metric: str,
    drop_failed: bool,
) -> tuple[pd.DataFrame, Counter]:
    """One row per matched pair (`keys` and `d` = metric(a) - metric(b)), sorted by `keys`,
    and the pairs left out, by reason."""
    rows = df[df[axis].isin([a, b])]
    if drop_failed and "collapsed" not in rows.columns:
        rows = flag_collapsed(rows)
    cols = [c for c in (metric, "status", "collapsed") if c in rows.columns]
    rows = rows.sort_values([*keys, axis, metric], kind="mergesort")
    left = rows[rows[axis] == a].set_index(keys)[cols]
    right = rows[rows[axis] == b].set_index(keys)[cols]
    joined = left.merge(right, left_index=True, right_index=True, suffixes=("_a", "_b"))
    joined = joined.sort_index()
    left, right = (joined[[f"{c}_{s}" for c in cols]].set_axis(cols, axis=1) for s in ("a", "b"))
    why_a, why_b = _failures(left, metric, drop_failed), _failures(right, metric, drop_failed)
    dropped = Counter(_label(x, y, a, b) for x, y in zip(why_a, why_b, strict=True) if x or y)
    keep = (why_a == "") & (why_b == "")
    diffs = (left[metric][keep] - right[metric][keep]).rename("d").reset_index()
    return diffs, dropped


def paired_diff(
    df: pd.DataFrame,
    axis: str,
    a: str,
    b: str,
    pair_on: Sequence[str],
    metric: str = "test_acc",
    drop_failed: bool = False,
    seed_col: str = "seed",
) -> Estimate:
    """Mean of metric(a) - metric(b) over runs matched on `pair_on` (other axes and seed).

    Differences are averaged over seeds within each cell (`pair_on` less the seed), and the
    cells are the units of the t-interval and the sign-flip test. With fewer cells than
    seeds, or a single cell, the seeds (averaged over cells) are the units instead; `unit`
    says which. Pairs without a value are left out and counted in `dropped`; with
    `drop_failed`, so are pairs where either arm collapsed to one class (`floor.py`) or did
    not finish ok: they are shown as counts, never as effects."""
    keys = list(pair_on)
    bounds = ACCURACY_DIFF if is_accuracy(metric) else None
    diffs, dropped = _paired_frame(df, axis, a, b, keys, metric, drop_failed)
    if diffs.empty:
        return Estimate(NAN, NAN, NAN, 0, dropped=dict(dropped))
    cells = [k for k in keys if k != seed_col]
    has_seeds = seed_col in keys
    n_cells = len(diffs.groupby(cells, dropna=False)) if cells else 1
    n_seeds = diffs[seed_col].nunique() if has_seeds else 1
    if has_seeds and (n_cells < 2 or n_cells < n_seeds):
        units = diffs.groupby(seed_col, sort=True)["d"].mean().to_numpy()
        return _units_estimate(units, "seeds", dropped, bounds)
    if cells:
        units = diffs.groupby(cells, sort=True, dropna=False)["d"].mean().to_numpy()
    else:
        units = diffs["d"].to_numpy()
    return _units_estimate(units, "cells", dropped, bounds)


UNIT_NAMES = {("lr", "seed"): "(rate, seed) pairs", ("seed",): "seeds", ("lr",): "rates"}
UNMATCHED = "no partner"


def unit_name(units: Sequence[str]) -> str:
    """What one unit is, in words: `["lr", "seed"]` -> '(rate, seed) pairs'."""
    key = tuple(units)
    return UNIT_NAMES.get(key, f"({', '.join(key)}) units" if len(key) > 1 else f"{key[0]}s")


def paired_on_units(
    df: pd.DataFrame,
    axis: str,
    a: str,
    b: str,
    units: Sequence[str] = ("lr", "seed"),
    strata: Sequence[str] = (),
    metric: str = "test_acc",
    drop_failed: bool = False,
) -> Estimate:
    """metric(a) - metric(b) with one independent unit per value of `units`: where both
    arms ran the same rates and seeds, each (rate, seed) is a pair. Runs are matched on
    `units` and `strata` (the other axes held equal); the differences of one unit are
    averaged over its strata, since they share the unit's seed and are not independent.
    Runs whose unit the other arm lacks are counted in `dropped` as 'no partner', with
    pairs left out by `paired_diff`'s rules. The unit label names the units."""
    units, strata = list(units), list(strata)
    if not units:
        raise ValueError("units must name at least one column, e.g. ['lr', 'seed']")
    missing = [c for c in [axis, *units, *strata] if c not in df.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the table; it has {list(df.columns)}")
    keys = [*units, *strata]
    bounds = ACCURACY_DIFF if is_accuracy(metric) else None
    diffs, dropped = _paired_frame(df, axis, a, b, keys, metric, drop_failed)
    arms = df[df[axis].isin([a, b])].groupby(axis)
    sides = {arm: set(map(tuple, g[keys].itertuples(index=False))) for arm, g in arms}
    lone = len(sides.get(a, set()) ^ sides.get(b, set()))
    if lone:
        dropped[UNMATCHED] += lone
    label = unit_name(units)
    if diffs.empty:
        return Estimate(NAN, NAN, NAN, 0, unit=label, dropped=dict(dropped))
    per_unit = diffs.groupby(units, sort=True, dropna=False)["d"].mean().to_numpy()
    return _units_estimate(per_unit, label, dropped, bounds)


def paired_per_seed(
    df: pd.DataFrame,
    axis: str,
    a: str,
    b: str,
    within: Sequence[str],
    metric: str = "test_acc",
    drop_failed: bool = False,
) -> Estimate:
    """metric(a) - metric(b) with the seeds as units, the `within` axes (e.g. the depths of
    one seed, which share it and are not independent) averaged inside each seed."""
    return paired_on_units(df, axis, a, b, ["seed"], within, metric, drop_failed)


def paired_by_stratum(
    df: pd.DataFrame,
    stratum: str,
    axis: str,
    a: str,
    b: str,
    pair_on: Sequence[str],
    metric: str = "test_acc",
) -> dict[str, Estimate]:
    """Per level of `stratum` (e.g. arch): the paired difference a - b among pairs where both
    arms learned (neither collapsed nor failed), with its p-value Holm-adjusted across the
    strata, so `compare()` decides a stratum only after the correction."""
    return holm_family(
        {
            str(level): paired_diff(g, axis, a, b, pair_on, metric, drop_failed=True)
            for level, g in df.groupby(stratum, sort=True)
        }
    )


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (statsmodels' `multipletests`), in the order given;
    NaN stays NaN and does not count as a test: reject sub-claim i at 5% familywise error
    when adjusted p_i < 0.05."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full(len(p), NAN)
    finite = np.isfinite(p)
    if finite.any():
        out[finite] = multipletests(p[finite], alpha=ALPHA, method="holm")[1]
    return out.tolist()


def holm_family(estimates: Mapping[K, Estimate]) -> dict[K, Estimate]:
    """The sub-claims of one verdict with their p-values Holm-adjusted as one family."""
    adjusted = holm([e.p for e in estimates.values()])
    return {k: replace(e, p=p) for (k, e), p in zip(estimates.items(), adjusted, strict=True)}


POWER: Registry[type[TTestPower] | type[TTestIndPower]] = Registry("design")
POWER.register("paired")(TTestPower)  # one difference per unit: d = effect / sd
POWER.register("two_sample")(TTestIndPower)  # two groups, n per arm; sd: both arms' spread


def power_n(
    estimate: Estimate,
    power: float = 0.8,
    effect: float | None = None,
    design: str = "paired",
) -> int | None:
    """Independent units a comparison would need for its two-sided 5% test to find
    `effect` with probability `power`, at the spread `estimate.sd` (statsmodels'
    TTestPower for paired units, TTestIndPower for two groups, n per arm).

    `effect` is the difference the claim predicts: its direction times the smallest
    effect of interest (e.g. +0.01 accuracy for "strided conv is at least as good"). The
    statement then points toward the claim: an observed mean on the other side never
    makes the claim look a few seeds from decided. A paired design never needs fewer than
    `least_units()` (6), the least n at which the exact sign-flip test can reach p < 0.05.
    None when no n can be named (effect 0, spread unknown or 0).

    Without `effect` (the older call, `power_n(est)`, kept unchanged for rules that name no
    claimed effect yet and print "normal approximation"): the observed mean stands in, and
    n = ((z_0.975 + z_power) * sd / |mean|)^2, at least 6. It does not point toward the
    claim; rules should pass `effect`."""
    solver = POWER[design]()
    target = estimate.mean if effect is None else effect
    if not (math.isfinite(target) and math.isfinite(estimate.sd)) or target == 0:
        return None
    if effect is None:
        z = sps.norm.ppf(1 - ALPHA / 2) + sps.norm.ppf(power)
        return max(least_units(), math.ceil((z * estimate.sd / abs(target)) ** 2))
    if estimate.sd <= 0:
        return None
    pooled = estimate.sd / math.sqrt(2) if design == "two_sample" else estimate.sd
    size = abs(target) / pooled
    least = least_units() if design == "paired" else 2
    # Positional: the n argument is `nobs` in one class and `nobs1` (per arm) in the other.
    if solver.power(size, least, ALPHA) >= power:
        return least  # already there: the solver cannot search below it
    n = solver.solve_power(size, None, ALPHA, power)
    return max(least, math.ceil(float(n))) if math.isfinite(n) else None


def points_toward(estimate: Estimate, effect: float) -> bool:
    """Does the observed mean lie on the side of 0 that the claim (`effect`) predicts?"""
    return math.isfinite(estimate.mean) and estimate.mean * effect > 0


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
    x, y = _finite(a), _finite(b)
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
