"""Paired differences between groups of arms, with the units of the design: seeds, or
(rate, seed) pairs where both arms ran the same rates and seeds.

Runs of one seed share its initial weights and batch order, so the settings that vary
within a seed (`within`: e.g. the depths of one seed) are averaged inside it before the
seeds enter a test; they are never counted as independent units. A group of arms (e.g.
leaky_relu and abs, the activations without exact zeros) enters as the mean of its arms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pandas as pd

from ablate.analysis.paired import paired_units
from ablate.analysis.stats import Estimate

UNIT_NAMES = {("seed",): "seeds", ("lr", "seed"): "(rate, seed) pairs"}


def contrast(
    df: pd.DataFrame,
    axis: str,
    a: Sequence[str],
    b: Sequence[str],
    metric: str = "test_acc",
    units: Sequence[str] = ("seed",),
    within: Sequence[str] = (),
) -> Estimate:
    """Mean over arms `a` minus mean over arms `b` of `metric`, one difference per unit
    (per value of `units`), the `within` settings averaged inside each unit. A unit where
    an arm lacks a value at some `within` setting leaves that setting out; a unit with
    none left is dropped and counted ('no value')."""
    a, b, units, within = list(a), list(b), list(units), list(within)
    missing = [c for c in [axis, metric, *units, *within] if c not in df.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the table; it has {list(df.columns)}")
    arms = [*a, *b]
    rows = df[df[axis].isin(arms)]
    wide = rows.pivot_table(
        index=[*units, *within], columns=axis, values=metric, aggfunc="mean", dropna=False
    ).reindex(columns=arms)
    diffs = wide[a].mean(axis=1, skipna=False) - wide[b].mean(axis=1, skipna=False)
    per_unit = diffs.groupby(level=units).mean()  # NaN only where no setting had both
    label = UNIT_NAMES.get(tuple(units), f"({', '.join(units)}) units")
    lost = int(per_unit.isna().sum())
    est = paired_units(per_unit.dropna().to_numpy(), unit=label)
    return replace(est, dropped={"no value": lost} if lost else {})


def by_stratum(
    df: pd.DataFrame,
    stratum: str,
    axis: str,
    a: Sequence[str],
    b: Sequence[str],
    metric: str = "test_acc",
    units: Sequence[str] = ("seed",),
) -> dict[object, Estimate]:
    """`contrast` within each level of `stratum` (e.g. per depth, seeds as units)."""
    return {
        level: contrast(g, axis, a, b, metric, units)
        for level, g in sorted(df.groupby(stratum), key=lambda kv: kv[0])
    }
