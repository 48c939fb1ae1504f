"""Small tables shaped for `dvc plots`: the main effects and the learning curves."""

from __future__ import annotations

import pandas as pd

from ablate.analysis.stats import level_means

MAIN_AXES = ["activation", "init", "norm", "downsampling", "arch"]


def main_effects(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (axis, level) of the main grid: mean test accuracy and its 95% CI."""
    ok = runs[(runs["study"] == "main") & (runs["status"] == "ok")]
    frames = []
    for axis in MAIN_AXES:
        if axis in ok and not ok.empty:
            table = level_means(ok, axis).rename(columns={axis: "level"})
            frames.append(table.assign(axis=axis, arm=axis + "=" + table["level"].astype(str)))
    columns = ["arm", "axis", "level", "n", "mean", "lo", "hi"]
    return pd.concat(frames)[columns] if frames else pd.DataFrame(columns=columns)


def learning_curves(runs: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Mean training loss per step of the main grid, without and with batch norm."""
    if history.empty:
        return pd.DataFrame(columns=["step", "none", "batch"])
    main = runs[(runs["study"] == "main") & (runs["status"] == "ok")][["key", "norm"]]
    curves = history.dropna(subset=["train_loss"]).merge(main, on="key")
    wide = curves.pivot_table(index="step", columns="norm", values="train_loss", aggfunc="mean")
    return wide.reindex(columns=["none", "batch"]).reset_index()
