"""Run measures the batch-normalisation questions (B1, B2) share: whether a run trains,
its score with failed runs at the floor, differences paired by (rate, seed), runs that train
per rate, and per-run medians over probe points."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ablate.analysis.floor import flag_collapsed
from ablate.analysis.paired import paired_units
from ablate.analysis.stats import Estimate

PAIRS = "(rate, seed) pairs"


def median_text(rows: pd.DataFrame, column: str, digits: int = 2) -> str:
    """The median of `column` over `rows` as text; '—' where the column has no value."""
    if column not in rows or rows[column].isna().all():
        return "—"
    return f"{rows[column].median():.{digits}f}"


def bn_arms(df: pd.DataFrame) -> pd.Series:
    """Each run's arm: `none`, or `batch/<position>` (BN before or after the activation)."""
    return df["norm"].where(df["norm"] == "none", "batch/" + df["norm_position"].astype(str))


POSITIONS = {
    "none": "no BN",
    "batch/pre": "BN before the activation",
    "batch/post": "BN after the activation",
}


def position_name(arm: str) -> str:
    """How the report names an arm of `bn_arms`."""
    return POSITIONS.get(arm, arm)


def trained(df: pd.DataFrame) -> pd.Series:
    """Whether each run trains: the run table's `trained` where it has one, else the same
    rule (finished ok, test accuracy more than 0.1 above always guessing the commonest
    class)."""
    if "trained" in df and df["trained"].notna().all():
        return df["trained"].astype(bool)
    majority = df["majority_acc"] if "majority_acc" in df else pd.Series(0.1, df.index)
    return (df["status"] == "ok") & (df["test_acc"].fillna(0) > majority.fillna(0.1) + 0.1)


def scored(df: pd.DataFrame) -> pd.Series:
    """Test accuracy, a run that did not finish ok or collapsed to one class counting at
    the floor (the majority-class share, else 1/classes): over a rate sweep, one number
    that charges a failure as the loss it is, the same whichever way the net failed, so a
    pair where both arms fail differs by exactly 0."""
    floor = 1.0 / (df["classes"] if "classes" in df else pd.Series(10.0, df.index))
    if "majority_acc" in df:
        floor = df["majority_acc"].fillna(floor)
    failed = (df["status"] != "ok") | flag_collapsed(df)["collapsed"]
    return df["test_acc"].mask(failed, floor)


def rate_seed_diffs(
    df: pd.DataFrame,
    arm: str,
    a: object,
    b: object,
    value: str,
    only_where: str | None = None,
    within: tuple[str, ...] = ("init",),
) -> np.ndarray:
    """a − b in `value` per (rate, seed) pair where both arms ran (pairs are also matched
    on the `within` columns present, and anything else is averaged within a pair); with
    `only_where`, only the pairs where that boolean column holds for both."""
    index = ["lr", "seed", *(c for c in within if c in df)]
    wide = df.pivot_table(index=index, columns=arm, values=value, aggfunc="mean")
    if a not in wide or b not in wide:
        return np.array([])
    diff = wide[a] - wide[b]
    if only_where is not None:
        ok = df.pivot_table(index=index, columns=arm, values=only_where, aggfunc="min")
        diff = diff[(ok[a] > 0) & (ok[b] > 0)]
    return diff.dropna().to_numpy()


def rate_seed_units(df: pd.DataFrame, *pair: Any, **where: Any) -> Estimate:
    """`rate_seed_diffs` (same arguments) as paired units, each (rate, seed) pair one."""
    return paired_units(rate_seed_diffs(df, *pair, **where), PAIRS)


def outcome_counts(df: pd.DataFrame, arm: str) -> tuple[list[str], list[list[str]]]:
    """Per arm and rate: runs that train / runs, and how many diverged."""
    rates = sorted(df["lr"].unique())
    rows = []
    for level, g in df.groupby(arm, sort=True):
        cells = []
        for lr in rates:
            h = g[g["lr"] == lr]
            div = int((h["status"] == "diverged").sum())
            cells.append(
                f"{int(h['trains'].sum())}/{len(h)}" + (f" ({div} div.)" if div else "")
                if len(h)
                else "—"
            )
        rows.append([str(level), *cells])
    return [arm, *(f"lr {lr:g}" for lr in rates)], rows


def top_rate(arm: pd.DataFrame) -> float | None:
    """The highest swept rate at which at least half the runs of one arm train."""
    share = arm.groupby("lr")["trains"].mean()
    rates = share[share >= 0.5].index
    return float(max(rates)) if len(rates) else None


def run_medians(runs: pd.DataFrame, probes: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """`runs` with each `probe_<x>` column replaced by the median of `<x>` over the run's
    probe points (the run's own summary, a mean over points, is kept where no points were
    logged): points of one run share its weights and are not independent replicates."""
    names = {c: c.removeprefix("probe_") for c in columns}
    if probes.empty or not set(names.values()) <= set(probes.columns):
        return runs
    points = probes[probes["key"].isin(runs["key"])].groupby("key")[list(names.values())]
    medians = points.median().rename(columns={v: k for k, v in names.items()})
    by_key = runs.set_index("key")
    return by_key.assign(
        **{c: medians[c].reindex(by_key.index).fillna(by_key[c]) for c in columns}
    ).reset_index()
