"""Convolution questions answered by the main grid: C3 (pool vs strided conv), C4 (families)."""

from __future__ import annotations

import pandas as pd

from ablate.analysis import verdicts
from ablate.analysis.stats import bootstrap, paired_diff
from ablate.report import figures
from ablate.report.context import Context, Section
from ablate.report.main_grid import MAIN_AXES
from ablate.report.markdown import si, table


def require(df: pd.DataFrame, axis: str, levels: list[str]) -> None:
    """Raise MissingEvidence unless every level of `axis` has finished runs."""
    missing = [lv for lv in levels if lv not in set(df[axis])]
    if missing:
        raise verdicts.MissingEvidence(f"the grid has no finished runs with {axis} in {missing}")


def _pair_on(axis: str) -> list[str]:
    return [a for a in MAIN_AXES if a != axis] + ["seed"]


def _cost_table(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per cell of `by`: accuracy with CI, and median params, FLOPs and throughput."""
    rows = []
    for keys, group in df.groupby(by, sort=True):
        est = bootstrap(group["test_acc"])
        rows.append(
            {
                **dict(zip(by, keys if isinstance(keys, tuple) else (keys,), strict=True)),
                "n": est.n,
                "mean": est.mean,
                "lo": est.lo,
                "hi": est.hi,
                "params": group["params"].median(),
                "flops": group["flops_per_image"].median(),
                "mflops": group["flops_per_image"].median() / 1e6,
                "img_s": group["train_images_per_s"].median(),
            }
        )
    return pd.DataFrame(rows)


def c3(ctx: Context) -> Section:
    df = ctx.tuned("main", MAIN_AXES)
    pool, stride = "maxpool", "strided_conv"
    require(df, "downsampling", [pool, stride])
    diff = paired_diff(df, "downsampling", stride, pool, _pair_on("downsampling"))
    per_arch = {
        arch: paired_diff(group, "downsampling", stride, pool, _pair_on("downsampling"))
        for arch, group in df.groupby("arch", sort=True)
    }
    costs = _cost_table(df, ["arch", "downsampling"])
    by_ds = costs.groupby("downsampling")[["params", "flops"]].mean()
    flops_ratio = by_ds.loc[stride, "flops"] / by_ds.loc[pool, "flops"]
    params_ratio = by_ds.loc[stride, "params"] / by_ds.loc[pool, "params"]
    verdict = verdicts.c3_strided_vs_pool(diff, per_arch, flops_ratio, params_ratio)
    path, link = ctx.figure("c3_accuracy_vs_flops.png")
    figures.accuracy_vs_cost(
        costs,
        "mflops",
        "forward MFLOPs per image",
        "downsampling",
        "arch",
        path,
        "Pooling vs strided conv",
    )
    rows = [
        [
            r["arch"],
            r["downsampling"],
            f"{r['mean']:.3f} [{r['lo']:.3f}, {r['hi']:.3f}]",
            si(r["params"]),
            si(r["flops"]),
            f"{r['img_s']:.0f}",
        ]
        for _, r in costs.iterrows()
    ]
    diffs = [[arch, est.fmt(signed=True), est.n] for arch, est in per_arch.items()]
    diffs.append(["all", diff.fmt(signed=True), diff.n])
    body = "\n\n".join(
        [
            ctx.describe("main"),
            f"![Accuracy against FLOPs for pooling and strided conv]({link})",
            "*Mean test accuracy (95% CI) against forward FLOPs per image, per family.*",
            table(
                [
                    "arch",
                    "downsampling",
                    "test accuracy [95% CI]",
                    "params",
                    "FLOPs/image",
                    "train images/s",
                ],
                rows,
            ),
            "Paired difference (strided conv − max-pool), matched on every other axis and seed:",
            table(["arch", "Δ test accuracy [95% CI]", "pairs"], diffs),
            "`strided_conv` folds the stride into the conv before the pool, which then runs on a "
            "quarter of the positions; the All-CNN way, an extra stride-2 conv layer in place of "
            "the pool, is the registry's `conv_layer`.",
        ]
    )
    return Section("c3", "C3", body, [verdict])


def c4(ctx: Context) -> Section:
    df = ctx.tuned("main", MAIN_AXES)
    base = "plain"
    require(df, "arch", [base])
    if df["arch"].nunique() < 2:
        raise verdicts.MissingEvidence("the grid has only one architecture family")
    diffs = {
        arch: paired_diff(df, "arch", arch, base, _pair_on("arch"))
        for arch in sorted(df["arch"].unique())
        if arch != base
    }
    verdict = verdicts.c4_architectures(diffs, base)
    costs = _cost_table(df, ["arch"])
    path, link = ctx.figure("c4_architectures.png")
    figures.bars(
        df, "arch", "test_acc", figures.ACC, path, "Families at the same budget", hue="norm"
    )
    rows = [
        [
            r["arch"],
            f"{r['mean']:.3f} [{r['lo']:.3f}, {r['hi']:.3f}]",
            si(r["params"]),
            si(r["flops"]),
            f"{r['img_s']:.0f}",
        ]
        for _, r in costs.iterrows()
    ]
    body = "\n\n".join(
        [
            ctx.describe("main"),
            f"![Test accuracy per architecture family, with and without BN]({link})",
            "*Mean test accuracy per family (95% CI), split by batch norm.*",
            table(
                ["arch", "test accuracy [95% CI]", "params", "FLOPs/image", "train images/s"], rows
            ),
            "Paired difference from the plain stack, matched on every other axis and seed:",
            table(
                ["arch", f"Δ vs {base} [95% CI]", "pairs"],
                [[a, d.fmt(signed=True), d.n] for a, d in diffs.items()],
            ),
        ]
    )
    return Section("c4", "C4", body, [verdict])
