"""seaborn figures with one plain style; each written atomically as PNG."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402

from ablate.analysis.stats import mean_ci  # noqa: E402

sns.set_theme(style="whitegrid", context="paper", palette="colorblind")
ACC = "test accuracy"


def t_interval(values: pd.Series) -> tuple[float, float]:
    """Error bars: the same 95% Student-t interval as the report's tables."""
    est = mean_ci(values)
    return est.lo, est.hi


def save(fig: plt.Figure, path: Path) -> Path:
    """Write `fig` to `path` through a temporary file, so a reader never sees half a PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.fig.tmp")
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
        errorbar=t_interval,
        sharex=False,
        col_wrap=min(3, len(axes)),
        height=2.6,
        aspect=1.2,
    )
    grid.set_titles("{col_name}").set_axis_labels("", ACC)
    for ax in grid.axes.flat:
        ax.tick_params(axis="x", rotation=20)
    grid.figure.suptitle("Main effects (mean, 95% Student-t CI)", y=1.03)
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
    sns.barplot(data=df, x=x, y=y, hue=hue, errorbar=t_interval, ax=ax)
    ax.set(ylabel=ylabel, title=title)
    return save(fig, path)


def scatter(
    df: pd.DataFrame,
    x: str,
    y: str,
    hue: str,
    path: Path,
    title: str,
    *,
    style: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
) -> Path:
    """One point per run: how two outcomes of the same runs go together."""
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    sns.scatterplot(data=df, x=x, y=y, hue=hue, style=style, s=40, alpha=0.8, ax=ax)
    ax.set(xlabel=xlabel or x, ylabel=ylabel or y, title=title)
    return save(fig, path)


def lines(
    df: pd.DataFrame,
    x: str,
    y: str,
    hue: str,
    path: Path,
    title: str,
    *,
    style: str | None = None,
    col: str | None = None,
    logx: bool = False,
    logy: bool = False,
    xlabel: str | None = None,
    ylabel: str | None = None,
) -> Path:
    """seaborn line plot (mean and 95% CI over seeds), optionally one panel per `col`."""
    numeric = pd.api.types.is_numeric_dtype(df[hue])
    spread = bool(numeric and df[hue].min() > 0 and df[hue].max() / df[hue].min() > 20)
    grid = sns.relplot(
        data=df,
        x=x,
        y=y,
        hue=hue,
        style=style,
        col=col,
        kind="line",
        errorbar=t_interval,
        height=3,
        aspect=1.3,
        palette="viridis" if numeric else None,
        hue_norm=LogNorm() if spread else None,
        facet_kws={"sharey": True},
    )
    for ax in grid.axes.flat:
        if logx:
            ax.set_xscale("log")
        if logy:
            ax.set_yscale("log")
    grid.set_axis_labels(xlabel or x, ylabel or y)
    grid.figure.suptitle(title, y=1.04)
    return save(grid.figure, path)


def layer_heatmaps(panels: dict[str, pd.DataFrame], path: Path, title: str, ncols: int) -> Path:
    """One heatmap per panel: rows are histogram bins, columns layers (the classic figure)."""
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.6 * ncols, 2.8 * nrows), constrained_layout=True, squeeze=False
    )
    for ax, (name, table) in zip(axes.flat, panels.items(), strict=False):
        sns.heatmap(table, ax=ax, cmap="magma", cbar=False, xticklabels=5, yticklabels=10)
        ax.set_title(name, fontsize=9)
        ax.set(xlabel="layer", ylabel="activation value")
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    fig.suptitle(title)
    return save(fig, path)


def coverage_maps(maps: dict[str, object], path: Path, title: str) -> Path:
    """How often each input pixel is read, one panel per kernel/stride/padding."""
    fig, axes = plt.subplots(
        1, len(maps), figsize=(2.6 * len(maps), 2.8), constrained_layout=True, squeeze=False
    )
    for ax, (name, grid) in zip(axes.flat, maps.items(), strict=True):
        sns.heatmap(
            grid,
            ax=ax,
            cmap="viridis",
            cbar=False,
            xticklabels=False,
            yticklabels=False,
            square=True,
        )
        ax.set_title(name, fontsize=9)
    fig.suptitle(title)
    return save(fig, path)
