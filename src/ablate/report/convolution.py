"""Convolution questions answered by the main grid: C3 (pool vs strided conv), C4 (families)."""

from __future__ import annotations

import pandas as pd

from ablate.analysis import verdicts
from ablate.analysis.stats import (
    Estimate,
    diff_of_means,
    holm_family,
    mean_ci,
    paired_by_stratum,
    paired_diff,
)
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
        est = mean_ci(group["test_acc"])
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


def _cost_cells(r: pd.Series) -> list[str]:
    """Accuracy with its CI, parameters, FLOPs and throughput of one `_cost_table` row."""
    return [
        Estimate(r["mean"], r["lo"], r["hi"], int(r["n"])).fmt(),
        si(r["params"]),
        si(r["flops"]),
        f"{r['img_s']:.0f}",
    ]


VARIANTS = {
    "conv_layer": "an extra stride-2 conv layer (All-CNN)",
    "strided_conv": "the stride folded into the conv before the pool",
}


def _per_pool(costs: pd.DataFrame, df: pd.DataFrame, pool: str) -> list[list[str]]:
    """Parameters and FLOPs each replaced pool adds (or saves), per family and variant."""
    pools = max(int(df["stages"].median()) - 1, 1)  # every stage but the last closes with one
    rows = []
    for arch, group in costs.groupby("arch", sort=True):
        base = group[group["downsampling"] == pool].iloc[0]
        for _, r in group[group["downsampling"] != pool].iterrows():
            rows.append(
                [
                    arch,
                    r["downsampling"],
                    f"{(r['params'] - base['params']) / pools:+,.0f}",
                    f"{(r['flops'] - base['flops']) / pools / 1e6:+.3f}",
                    f"×{r['flops'] / base['flops']:.2f}",
                ]
            )
    return rows


def c3(ctx: Context) -> Section:
    df = ctx.tuned("main", MAIN_AXES)
    pool = "maxpool"
    levels = set(df["downsampling"])
    variants = [v for v in VARIANTS if v in levels]
    if pool not in levels or not variants:
        require(df, "downsampling", [pool, "conv_layer"])
    claim = variants[0]  # the All-CNN layer where the grid has it: the notes' setting
    on = _pair_on("downsampling")
    diffs = {v: paired_diff(df, "downsampling", v, pool, on, drop_failed=True) for v in variants}
    per_arch = paired_by_stratum(df, "arch", "downsampling", claim, pool, on)
    costs = _cost_table(df, ["arch", "downsampling"])
    by_ds = costs.groupby("downsampling")[["params", "flops"]].mean()
    flops_ratio = by_ds.loc[claim, "flops"] / by_ds.loc[pool, "flops"]
    params_ratio = by_ds.loc[claim, "params"] / by_ds.loc[pool, "params"]
    verdict = verdicts.c3_strided_vs_pool(
        diffs[claim], per_arch, flops_ratio, params_ratio, VARIANTS[claim]
    )
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
    rows = [[r["arch"], r["downsampling"], *_cost_cells(r)] for _, r in costs.iterrows()]
    paired = [
        [
            f"{v} − {pool}",
            arch,
            est.fmt(signed=True),
            f"{est.n} {est.unit}",
            est.dropped_note() or "none",
        ]
        for v in variants
        for arch, est in [
            *(paired_by_stratum(df, "arch", "downsampling", v, pool, on).items()),
            ("all", diffs[v]),
        ]
    ]
    body = "\n\n".join(
        [
            ctx.describe("main", tuned=True),
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
            "What each replaced pool adds, per family (the notes' claim is about the "
            "All-CNN replacement, `conv_layer`; `strided_conv` is the other way to drop a "
            "pool, and it costs the opposite):",
            table(
                ["arch", "replaced by", "params per pool", "MFLOPs per pool", "FLOPs vs pool"],
                _per_pool(costs, df, pool),
            ),
            "Paired differences from max-pool, matched on every other axis and seed; seeds "
            "are averaged within each cell and the cells are the units of the t-interval and "
            "of the exact sign-flip p-value (Holm-adjusted over the families). Pairs where "
            "either arm collapsed to one class are left out of the effect and counted. The "
            f"verdict reads `{claim}`:",
            table(
                ["comparison", "arch", "Δ test accuracy [95% CI], p", "units", "left out"], paired
            ),
        ]
    )
    return Section("c3", "C3", body, [verdict])


def c4(ctx: Context) -> Section:
    df = ctx.tuned("main", MAIN_AXES)
    base = "plain"
    require(df, "arch", [base])
    diffs = holm_family(
        {
            arch: paired_diff(df, "arch", arch, base, _pair_on("arch"), drop_failed=True)
            for arch in sorted(df["arch"].unique())
            if arch != base
        }
    )
    depth_text, limits = depth_table(ctx)
    verdict = verdicts.c4_depth(diffs, limits, base)
    costs = _cost_table(df, ["arch"])
    path, link = ctx.figure("c4_architectures.png")
    figures.bars(
        df, "arch", "test_acc", figures.ACC, path, "Families at the same budget", hue="norm"
    )
    rows = [[r["arch"], *_cost_cells(r)] for _, r in costs.iterrows()]
    body = "\n\n".join(
        [
            ctx.describe("main", tuned=True),
            f"![Test accuracy per architecture family, with and without BN]({link})",
            "*Mean test accuracy per family (95% CI), split by batch norm.*",
            table(
                ["arch", "test accuracy [95% CI]", "params", "FLOPs/image", "train images/s"], rows
            ),
            "Paired difference from the plain stack, matched on every other axis and seed "
            "(cells as units, p-values Holm-adjusted over the families; pairs with a collapsed "
            "arm left out and counted):",
            table(
                ["arch", f"Δ vs {base} [95% CI], p", "units", "left out"],
                [
                    [a, d.fmt(signed=True), f"{d.n} {d.unit}", d.dropped_note() or "none"]
                    for a, d in diffs.items()
                ],
            ),
            "Does the shortcut keep a deep stack training? Depth sweep without BN, the "
            "ResNet block against the same block without its shortcut (`resnet_noskip`):",
            depth_text,
        ]
    )
    return Section("c4", "C4", body, [verdict])


C1_CONTROL, C1_POINTWISE, C1_SUBSAMPLE = "none", "pointwise", "subsample"
C1_MATCHED = " @ matched FLOPs"


def c1_arms(df: pd.DataFrame) -> pd.Series:
    """Each run's C1 arm: its reduction, marked when widened to the control's FLOPs (the
    control has nothing to widen, so it is one arm whatever its `match_flops`)."""
    widened = df["match_flops"].astype(bool) & (df["reduction"] != C1_CONTROL)
    return df["reduction"].astype(str) + widened.map({True: C1_MATCHED, False: ""})


def c1(ctx: Context) -> Section:
    df = ctx.study("bottleneck")
    if "reduction" not in df:
        raise verdicts.MissingEvidence("the bottleneck runs predate model.reduction: rerun them")
    df = df.assign(arm=c1_arms(df))
    arms = [C1_CONTROL, C1_POINTWISE, C1_SUBSAMPLE, C1_POINTWISE + C1_MATCHED]
    require(df, "arm", arms)
    tests = holm_family(
        {
            name: paired_diff(df, "arm", a, b, ["seed"], drop_failed=True)
            for name, (a, b) in {
                "mixing": (C1_POINTWISE, C1_SUBSAMPLE),
                "mixing at matched FLOPs": (C1_POINTWISE + C1_MATCHED, C1_SUBSAMPLE + C1_MATCHED),
                "matched cost": (C1_POINTWISE + C1_MATCHED, C1_CONTROL),
            }.items()
            if b in set(df["arm"])
        }
    )
    costs = _cost_table(df, ["arm"]).set_index("arm")
    ratio = costs[["flops", "params"]] / costs.loc[C1_CONTROL, ["flops", "params"]]
    verdict = verdicts.c1_bottleneck(
        tests["mixing"],
        tests["matched cost"],
        ratio.loc[C1_POINTWISE, "flops"],
        ratio.loc[C1_POINTWISE, "params"],
        ratio.loc[C1_POINTWISE + C1_MATCHED, "flops"],
    )
    infer = df.groupby("arm")["infer_images_per_s"].median()
    path, link = ctx.figure("c1_bottleneck.png")
    figures.accuracy_vs_cost(
        costs.reset_index().assign(
            reduction=lambda t: t["arm"].str.replace(C1_MATCHED, "", regex=False),
            flops_matched=lambda t: (
                t["arm"].str.endswith(C1_MATCHED).map({True: "matched", False: "equal width"})
            ),
        ),
        "mflops",
        "forward MFLOPs per image",
        "reduction",
        "flops_matched",
        path,
        "Channel reductions: accuracy against cost",
    )
    rows = [
        [
            arm,
            *_cost_cells(r),
            f"×{ratio.loc[arm, 'flops']:.2f}",
            f"×{ratio.loc[arm, 'params']:.2f}",
            f"{infer[arm]:.0f}",
        ]
        for arm, r in costs.loc[
            [a for a in arms + [C1_SUBSAMPLE + C1_MATCHED] if a in costs.index]
        ].iterrows()
    ]
    labels = {
        "mixing": f"{C1_POINTWISE} − {C1_SUBSAMPLE} (equal width)",
        "mixing at matched FLOPs": f"{C1_POINTWISE} − {C1_SUBSAMPLE}, both{C1_MATCHED}",
        "matched cost": f"{C1_POINTWISE}{C1_MATCHED} − {C1_CONTROL}",
    }
    body = "\n\n".join(
        [
            ctx.describe("bottleneck", tuned=True),
            "Arms: `none` is the basic ResNet block (two 3x3 convs), the control; `pointwise` "
            "the bottleneck block (1x1 reduction to a quarter of the channels -> 3x3 -> 1x1); "
            "`subsample` the same block whose reduction keeps every 4th channel, each with its "
            "own scale (a reduction to the same width that mixes no channels); "
            f"`{C1_MATCHED.strip()}`: the net widened until its FLOPs per image are closest "
            "to the control's.",
            f"![Accuracy against FLOPs per channel reduction]({link})",
            table(
                [
                    "arm",
                    "test accuracy [95% CI]",
                    "params",
                    "FLOPs/image",
                    "train images/s",
                    "FLOPs vs control",
                    "params vs control",
                    "inference images/s",
                ],
                rows,
            ),
            "Paired over seeds (p-values Holm-adjusted over these comparisons):",
            table(
                ["comparison", "Δ test accuracy [95% CI], p", "units", "left out"],
                [
                    [labels[k], d.fmt(signed=True), f"{d.n} {d.unit}", d.dropped_note() or "none"]
                    for k, d in tests.items()
                ],
            ),
            "Szegedy et al. (2014) introduced 1x1 reductions to cut the cost of the wide "
            f"convolutions; at equal width the pointwise bottleneck changes FLOPs "
            f"×{verdict.numbers['flops_ratio']:.2f} and parameters "
            f"×{verdict.numbers['params_ratio']:.2f}; widened, it runs at "
            f"×{verdict.numbers['matched_flops_ratio']:.2f} the control's FLOPs with "
            f"×{ratio.loc[C1_POINTWISE + C1_MATCHED, 'params']:.2f} its parameters.",
        ]
    )
    return Section("c1", "C1", body, [verdict])


def c2(ctx: Context) -> Section:
    from ablate.analysis.coverage import coverage, summary
    from ablate.models.architectures import parse_stem

    df = ctx.study("stride_fit")
    stems = sorted(df["stem"].unique())
    if len(stems) < 2:
        raise verdicts.MissingEvidence("the stride_fit grid has fewer than two stems")
    size = {"digits": 8, "cifar10": 32}.get(str(df["dataset"].iloc[0]), 28)
    geometry = {stem: {s: summary(s, *parse_stem(stem)) for s in (28, 32, 8)} for stem in stems}
    fits = [s for s in stems if geometry[s][size]["fits"]]
    misfits = [s for s in stems if not geometry[s][size]["fits"]]
    if not fits or not misfits:
        raise verdicts.MissingEvidence(
            f"the stems do not include both fitting and misfitting ones at {size} px"
        )
    acc = diff_of_means(
        df[df["stem"].isin(misfits)]["test_acc"], df[df["stem"].isin(fits)]["test_acc"]
    )
    flops = df.groupby("stem")["flops_per_image"].median()
    unread = sum(geometry[s][size]["unread_frac"] for s in misfits) / len(misfits)
    verdict = verdicts.c2_stride_fit(unread, acc, flops[misfits].mean() / flops[fits].mean())
    path, link = ctx.figure("c2_coverage.png")
    figures.coverage_maps(
        {f"{s} on {size}px": coverage(size, *parse_stem(s)) for s in stems},
        path,
        "How often the first conv reads each input pixel",
    )
    accs = {s: mean_ci(g["test_acc"]) for s, g in df.groupby("stem")}
    rows = [
        [
            s,
            "yes" if geometry[s][size]["fits"] else "no",
            *(f"{geometry[s][n]['unread_frac']:.1%}" for n in (28, 32, 8)),
            geometry[s][size]["out"],
            si(flops[s]),
            accs[s].fmt(),
        ]
        for s in stems
    ]
    body = "\n\n".join(
        [
            ctx.describe("stride_fit"),
            f"![Coverage maps of the first convolution]({link})",
            "*Reads per input pixel (darkest: never read). A stem is kNsNpN: kernel, stride, "
            "padding of the first convolution.*",
            table(
                [
                    "stem",
                    f"reads every pixel at {size}px",
                    "unread at 28px",
                    "unread at 32px",
                    "unread at 8px",
                    "output size",
                    "FLOPs/image",
                    "test accuracy [95% CI]",
                ],
                rows,
            ),
        ]
    )
    return Section("c2", "C2", body, [verdict])


def depth_table(ctx: Context) -> tuple[str, dict[str, int | None]]:
    """C4's second half: accuracy by depth for plain and ResNet without BN."""
    df = ctx.study("depth_arch")
    if df.empty:
        return "", {}
    acc = {(a, int(d)): mean_ci(g["test_acc"]) for (a, d), g in df.groupby(["arch", "depth"])}
    layers = df.groupby(["arch", "depth"])["probe_act_layers"].median()
    limits = verdicts.depth_limit(acc, ctx.chance("depth_arch"))
    rows = [[a, d, int(layers.get((a, d), 0)), e.fmt()] for (a, d), e in sorted(acc.items())]
    text = (
        ctx.describe("depth_arch")
        + "\n\n"
        + table(["arch", "blocks per stage", "nonlinear layers", "test accuracy [95% CI]"], rows)
        + "\n\nFirst depth (blocks per stage) whose accuracy CI lies below chance + 0.1: "
        + ", ".join(
            f"{a}: {d if d is not None else 'none (trains at every depth)'}"
            for a, d in limits.items()
        )
        + "."
    )
    return text, limits
