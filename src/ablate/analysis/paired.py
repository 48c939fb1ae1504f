"""Paired differences at the level of the design: seeds are averaged within each cell, and
the cells are the independent units, each with an exact sign-flip p-value and the interval
that inverts that test (a t-interval below 6 units, where the test cannot reject);
where both arms ran the same rates and seeds, each (rate, seed) is a unit instead
(`paired_on_units`). Pairs where an arm has no value, or (on request) collapsed or failed,
are left out and counted, never shown as effects.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from ablate.analysis.floor import flag_collapsed
from ablate.analysis.significance import holm_family, sign_flip_ci, sign_flip_p
from ablate.analysis.stats import (
    ACCURACY_DIFF,
    NAN,
    Estimate,
    clip,
    finite_values,
    is_accuracy,
    mean_ci,
)

SURVIVOR = "the other seeds of a cell where one failed"


def _units_estimate(
    units: np.ndarray, unit: str, dropped: Mapping[str, int], bounds: tuple[float, float] | None
) -> Estimate:
    """Mean, interval and p of paired units. Where the sign-flip test can reject (n >= 6),
    the interval is the one that inverts it, so it excludes 0 exactly when p < 0.05; on
    fewer units, where no p can go below 0.05, the t-interval describes the spread."""
    est = mean_ci(units, bounds)
    lo, hi = sign_flip_ci(units)
    if np.isfinite(lo) and np.isfinite(hi):
        est = clip(replace(est, lo=lo, hi=hi), bounds)
    return replace(est, p=sign_flip_p(units), unit=unit, dropped=dict(dropped))


def paired_units(differences: Sequence[float] | np.ndarray, unit: str) -> Estimate:
    """Paired differences already reduced to one per independent unit: their mean with a
    t-interval and the exact sign-flip p-value, as `paired_diff` gives."""
    return _units_estimate(finite_values(differences), unit, {}, None)


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
    the pairs left out, by reason, and the keys of those pairs."""
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
    return diffs, dropped, joined.index[~keep.to_numpy()].to_frame(index=False)


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
    not finish ok: they are shown as counts, never as effects. With cells as units, a cell
    with such a pair is left out whole (its other seeds counted as SURVIVOR)."""
    keys = list(pair_on)
    bounds = ACCURACY_DIFF if is_accuracy(metric) else None
    diffs, dropped, lost = _paired_frame(df, axis, a, b, keys, metric, drop_failed)
    if diffs.empty:
        return Estimate(NAN, NAN, NAN, 0, dropped=dict(dropped))
    cells = [k for k in keys if k != seed_col]
    has_seeds = seed_col in keys
    n_cells = len(diffs.groupby(cells, dropna=False)) if cells else 1
    n_seeds = diffs[seed_col].nunique() if has_seeds else 1
    if has_seeds and (n_cells < 2 or n_cells < n_seeds):
        units = diffs.groupby(seed_col, sort=True)["d"].mean().to_numpy()
        return _units_estimate(units, "seeds", dropped, bounds)
    if cells and has_seeds and len(lost):
        # A cell whose seed failed leaves out whole: a mean over the seeds that trained
        # would be conditioned on success (survivors only), and weigh unlike the others.
        hit = diffs.merge(lost[cells].drop_duplicates(), on=cells, how="left", indicator=True)
        survivors = (hit["_merge"] == "both").to_numpy()
        if survivors.any():
            dropped[SURVIVOR] += int(survivors.sum())
        diffs = diffs[~survivors]
        if diffs.empty:
            return Estimate(NAN, NAN, NAN, 0, dropped=dict(dropped))
    if cells:
        units = diffs.groupby(cells, sort=True, dropna=False)["d"].mean().to_numpy()
    else:
        units = diffs["d"].to_numpy()
    return _units_estimate(units, "cells", dropped, bounds)


def noninferiority_p(
    df: pd.DataFrame,
    axis: str,
    a: str,
    b: str,
    pair_on: Sequence[str],
    margin: float,
    metric: str = "test_acc",
    drop_failed: bool = False,
) -> float:
    """p of "a is worse than b by `margin` or more", on `paired_diff`'s units: the sign-flip
    test of the differences shifted up by the margin, two-sided so that p < 0.05 exactly
    when the 95% interval's lower end lies above -margin (1 where the shifted mean is not
    above 0). It is the test that decides a "no cost" sub-claim, so it is the one a Holm
    family of sub-claims should hold, not the superiority p of the same difference."""
    shifted = df.assign(**{metric: df[metric] + np.where(df[axis] == a, margin, 0.0)})
    est = paired_diff(shifted, axis, a, b, pair_on, metric, drop_failed)
    return float(est.p) if est.n and est.mean > 0 else 1.0


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
    diffs, dropped, _ = _paired_frame(df, axis, a, b, keys, metric, drop_failed)
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
