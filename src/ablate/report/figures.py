"""seaborn figures with one plain style; each written atomically as PNG."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

sns.set_theme(style="whitegrid", context="paper", palette="colorblind")
ACC = "test accuracy"


def save(fig: plt.Figure, path: Path) -> Path:
    """Write `fig` to `path` through a temporary file, so a reader never sees half a PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    plt.close(fig)
    os.replace(tmp, path)
    return path


def main_effects(df: pd.DataFrame, axes: list[str], path: Path) -> Path:
    """Test accuracy per level of each axis, averaged over every other axis and seed."""
    long = df.melt(id_vars=["test_acc"], value_vars=axes, var_name="axis", value_name="level")
    long["level"] = long["level"].astype(str)
    grid = sns.catplot(
        data=long,
        x="level",
        y="test_acc",
        col="axis",
        kind="point",
        errorbar=("ci", 95),
        seed=0,
        sharex=False,
        col_wrap=min(3, len(axes)),
        height=2.6,
        aspect=1.2,
    )
    grid.set_titles("{col_name}").set_axis_labels("", ACC)
    for ax in grid.axes.flat:
        ax.tick_params(axis="x", rotation=20)
    grid.figure.suptitle("Main effects (mean, 95% bootstrap CI)", y=1.03)
    return save(grid.figure, path)


def interactions(df: pd.DataFrame, pairs: list[tuple[str, str]], path: Path) -> Path:
    """Heatmaps of mean test accuracy for each pair of axes."""
    fig, axes = plt.subplots(
        1, len(pairs), figsize=(4.8 * len(pairs), 3.6), constrained_layout=True
    )
    for ax, (rows, cols) in zip(list(getattr(axes, "flat", [axes])), pairs, strict=True):
        cells = df.pivot_table(index=rows, columns=cols, values="test_acc", aggfunc="mean")
        sns.heatmap(
            cells,
            annot=True,
            fmt=".2f",
            cmap="viridis",
            vmin=0,
            vmax=1,
            ax=ax,
            cbar=ax is list(getattr(axes, "flat", [axes]))[-1],
            cbar_kws={"label": f"mean {ACC}"},
        )
        ax.set_title(f"{rows} x {cols}")
    return save(fig, path)


def accuracy_vs_cost(
    summary: pd.DataFrame, x: str, xlabel: str, hue: str, style: str, path: Path, title: str
) -> Path:
    """Mean accuracy (with CI bars) against a cost, one point per (hue, style) cell."""
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    sns.scatterplot(data=summary, x=x, y="mean", hue=hue, style=style, s=90, ax=ax)
    ax.errorbar(
        summary[x],
        summary["mean"],
        yerr=[summary["mean"] - summary["lo"], summary["hi"] - summary["mean"]],
        fmt="none",
        ecolor="grey",
        elinewidth=1,
        capsize=2,
        zorder=0,
    )
    ax.set(xlabel=xlabel, ylabel=ACC, title=title)
    ax.legend(bbox_to_anchor=(1.02, 1), loc="upper left", frameon=False)
    return save(fig, path)


def bars(
    df: pd.DataFrame, x: str, y: str, ylabel: str, path: Path, title: str, hue: str | None = None
) -> Path:
    fig, ax = plt.subplots(figsize=(5, 3.4))
    sns.barplot(data=df, x=x, y=y, hue=hue, errorbar=("ci", 95), seed=0, ax=ax)
    ax.set(ylabel=ylabel, title=title)
    return save(fig, path)
