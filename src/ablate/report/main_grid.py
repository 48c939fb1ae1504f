"""The main factorial grid: main effects of each axis and the interactions the notes imply."""

from __future__ import annotations

from ablate.analysis.importance import varied
from ablate.analysis.stats import Estimate, level_means, mean_ci
from ablate.report import figures
from ablate.report.context import Context, Section
from ablate.report.markdown import table

STUDY = "main"  # the main factorial grid
MAIN_AXES = ["activation", "init", "norm", "downsampling", "arch"]
# Pairs whose interaction the notes imply: init needs BN or not, saturating activations
# and BN, and whether dropping the pool matters differently per family.
PAIRS = [("init", "norm"), ("activation", "norm"), ("downsampling", "arch")]


def main_effects(ctx: Context) -> Section | None:
    """Level means of each axis the grid varies; None when it varies none."""
    every = ctx.study("main", status=None)
    axes = varied(every, MAIN_AXES)
    if not axes:
        return None
    df = ctx.tuned("main", MAIN_AXES)
    path, link = ctx.figure("main_effects.png")
    figures.main_effects(df, axes, path)
    rows = []
    for axis in axes:
        for _, r in level_means(df, axis).iterrows():
            bad = every[(every[axis] == r[axis]) & (every["status"] != "ok")]
            rows.append(
                [
                    axis,
                    r[axis],
                    int(r["n"]),
                    Estimate(r["mean"], r["lo"], r["hi"], int(r["n"])).fmt(),
                    len(bad),
                ]
            )
    body = "\n\n".join(
        [
            ctx.describe("main", tuned=True),
            f"![Main effects: test accuracy per level of each axis]({link})",
            "*Each point averages every run at that level, over seeds and every other axis; "
            "bars are 95% Student-t CIs.*",
            table(["axis", "level", "ok runs", "test accuracy [95% CI]", "not ok"], rows),
        ]
    )
    return Section("main-effects", "Main grid: main effects", body)


def interactions(ctx: Context) -> Section | None:
    """The PAIRS whose two axes the grid varies; None when no pair has both."""
    axes = varied(ctx.study("main", status=None), MAIN_AXES)
    pairs = [(a, b) for a, b in PAIRS if a in axes and b in axes]
    if not pairs:
        return None
    df = ctx.tuned("main", MAIN_AXES)
    path, link = ctx.figure("interactions.png")
    figures.interactions(df, pairs, path)
    parts = [
        f"![Interaction heatmaps of mean test accuracy]({link})",
        "*Cell means of test accuracy; the tables give each cell's 95% Student-t CI.*",
    ]
    for rows_axis, cols_axis in pairs:
        cells = []
        for (a, b), group in df.groupby([rows_axis, cols_axis], sort=False):
            est = mean_ci(group["test_acc"])
            cells.append([a, b, est.n, est.fmt()])
        cells.sort(key=lambda c: (str(c[0]), str(c[1])))
        parts.append(
            f"**{rows_axis} x {cols_axis}**\n\n"
            + table([rows_axis, cols_axis, "runs", "test accuracy [95% CI]"], cells)
        )
    return Section("interactions", "Main grid: interactions", "\n\n".join(parts))
