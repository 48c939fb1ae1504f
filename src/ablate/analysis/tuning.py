"""The learning rate as a nuisance parameter: tuned per grid cell on the validation split.

Comparing arms at one shared learning rate is unfair to the arms it does not suit, so when
a study sweeps several, each cell keeps the runs of the rate with the best mean validation
accuracy, and only those runs' test accuracy enters the comparisons. Where the sweep
extended the cell's rates it also chose the rate (`kept_lr`: backed off a cliff, the lowest
that ran where none trains), and that choice is kept.
"""

from __future__ import annotations

import pandas as pd


def select_best_lr(df: pd.DataFrame, cell_axes: list[str]) -> pd.DataFrame:
    """Rows of the best-validated learning rate in each cell (all rows if only one rate)."""
    if df.empty or df["lr"].nunique() <= 1:
        return df
    if "kept_lr" in df and df["kept_lr"].notna().all():
        return df[df["lr"] == df["kept_lr"]]
    scored = df.assign(_score=df["val_acc"].fillna(-1.0))  # diverged: never the best
    if not cell_axes:  # one cell: the rate with the best mean validation accuracy
        by_lr = scored.groupby("lr")["_score"].mean()
        return df[df["lr"] == by_lr.idxmax()]
    means = scored.groupby([*cell_axes, "lr"], dropna=False)["_score"].mean().reset_index()
    best = means.loc[means.groupby(cell_axes, dropna=False)["_score"].idxmax(), [*cell_axes, "lr"]]
    return df.merge(best, on=[*cell_axes, "lr"], how="inner")


def select_best_level(df: pd.DataFrame, axis: str, by: list[str]) -> pd.DataFrame:
    """Rows of the level of `axis` with the best mean validation accuracy within each group
    of `by` (a run without a score counts 0; ties go to the first level in sorted order):
    another nuisance setting, e.g. the init that suits each activation."""
    if df.empty or df[axis].nunique() <= 1:
        return df
    scored = df.assign(_score=df["val_acc"].fillna(0.0))
    means = scored.groupby([*by, axis], dropna=False)["_score"].mean().reset_index()
    best = means.loc[means.groupby(by, dropna=False)["_score"].idxmax(), [*by, axis]]
    return df.merge(best, on=[*by, axis], how="inner")
