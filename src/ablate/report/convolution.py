"""Convolution questions answered by the main grid: C3 (pool vs strided conv), C4 (families)."""

from __future__ import annotations

import pandas as pd

from ablate.analysis.coverage import padding_pairs, pair_frame
from ablate.analysis.rules import convolution as rules
from ablate.analysis.rules.common import MissingEvidence
from ablate.analysis.stats import (
    holm_family,
    mean_ci,
    paired_by_stratum,
    paired_diff,
)
from ablate.report import figures
from ablate.report.context import Context, Section
from ablate.report.costs import cost_cells, cost_table, per_pool
from ablate.report.main_grid import MAIN_AXES
from ablate.report.markdown import si, table


def require(df: pd.DataFrame, axis: str, levels: list[str]) -> None:
    """Raise MissingEvidence unless every level of `axis` has finished runs."""
    missing = [lv for lv in levels if lv not in set(df[axis])]
    if missing:
        raise MissingEvidence(f"the grid has no finished runs with {axis} in {missing}")


def _pair_on(axis: str) -> list[str]:
    return [a for a in MAIN_AXES if a != axis] + ["seed"]


VARIANTS = {
    "conv_layer": "an extra stride-2 conv layer (All-CNN)",
    "strided_conv": "the stride folded into the conv before the pool",
}


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
    costs = cost_table(df, ["arch", "downsampling"])
    by_ds = costs.groupby("downsampling")[["params", "flops"]].mean()
    flops_ratio = by_ds.loc[claim, "flops"] / by_ds.loc[pool, "flops"]
    params_ratio = by_ds.loc[claim, "params"] / by_ds.loc[pool, "params"]
    verdict = rules.c3_strided_vs_pool(
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
    rows = [[r["arch"], r["downsampling"], *cost_cells(r)] for _, r in costs.iterrows()]
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
                per_pool(costs, df, pool),
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
    verdict = rules.c4_depth(diffs, limits, base)
    costs = cost_table(df, ["arch"])
    path, link = ctx.figure("c4_architectures.png")
    figures.bars(
        df, "arch", "test_acc", figures.ACC, path, "Families at the same step budget", hue="norm"
    )
    rows = [[r["arch"], *cost_cells(r)] for _, r in costs.iterrows()]
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
        raise MissingEvidence("the bottleneck runs predate model.reduction: rerun them")
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
    costs = cost_table(df, ["arm"]).set_index("arm")
    ratio = costs[["flops", "params"]] / costs.loc[C1_CONTROL, ["flops", "params"]]
    verdict = rules.c1_bottleneck(
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
            *cost_cells(r),
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
    import re

    from ablate.analysis.coverage import coverage, summary
    from ablate.models.architectures import parse_stem

    df = ctx.study("stride_fit")
    stems = sorted(df["stem"].unique())
    if len(stems) < 2:
        raise MissingEvidence("the stride_fit grid has fewer than two stems")
    size = {"digits": 8, "cifar10": 32}.get(str(df["dataset"].iloc[0]), 28)
    geometry = {stem: summary(size, *parse_stem(stem)) for stem in stems}
    pairs = padding_pairs(geometry)
    if not any(kind == "unread" for kind, _, _ in pairs):
        raise MissingEvidence(
            f"no two stems of one kernel and stride differ only in reading every pixel at {size}px"
        )
    shifts = sorted(
        int(m[1]) for c in df.columns if (m := re.fullmatch(r"probe_shift_acc_br_(\d+)", c))
    )
    if not shifts or "probe_unread_ink_share" not in df:
        raise MissingEvidence(
            "the stride_fit runs carry no shifted-digit accuracy or ink share "
            "(probes.shifts, probes.stem_coverage)"
        )
    df = df.assign(  # accuracy moved away from the remainder edge minus toward it
        **{
            f"asym_{n}": df[f"probe_shift_acc_tl_{n}"] - df[f"probe_shift_acc_br_{n}"]
            for n in shifts
        }
    )
    paired = pair_frame(df, pairs)
    pooled = holm_family(
        {
            (kind, n): paired_diff(
                paired[paired["kind"] == kind],
                "side",
                "arm",
                "partner",
                ["pair", "seed"],
                metric=f"asym_{n}",
                drop_failed=True,
            )
            for kind in ("unread", "remainder")
            if (paired["kind"] == kind).any()
            for n in shifts
        }
    )
    flops = df.groupby("stem")["flops_per_image"].median()
    ink = df.groupby("stem")["probe_unread_ink_share"].median()
    var = df.groupby("stem")["probe_unread_var_share"].median()
    unread_arms = [(arm, partner) for kind, arm, partner in pairs if kind == "unread"]
    verdict = rules.c2_stride_fit(
        {f"{n}px": e for (kind, n), e in pooled.items() if kind == "unread"},
        {f"{n}px": e for (kind, n), e in pooled.items() if kind == "remainder"},
        float(ink[[a for a, _ in unread_arms]].mean()),
        float(sum(flops[a] / flops[b] for a, b in unread_arms) / len(unread_arms)),
    )
    path, link = ctx.figure("c2_coverage.png")
    figures.coverage_maps(
        {f"{s} on {size}px": coverage(size, *parse_stem(s)) for s in stems},
        path,
        "How often the first conv reads each input pixel",
    )
    accs = {s: mean_ci(g["test_acc"]) for s, g in df.groupby("stem")}
    lrs = df.groupby("stem")["lr"].agg(lambda v: ", ".join(f"{x:g}" for x in sorted(set(v))))
    rows = [
        [
            s,
            f"{'yes' if g['tiles'] else 'no'} ({g['remainder']})",
            "yes" if g["reads_all"] else "no",
            f"{g['unread_pixels']} ({g['unread_frac']:.1%})",
            f"{ink[s]:.3%}",
            f"{var[s]:.3%}",
            g["out"],
            si(flops[s]),
            lrs[s],
            accs[s].fmt(),
        ]
        for s, g in geometry.items()
    ]
    per_stem = [
        [s, *(mean_ci(group[f"asym_{n}"]).fmt(signed=True) for n in shifts)]
        for s, group in df.groupby("stem")
    ]
    per_pair = [
        [
            kind,
            f"{arm} − {partner}",
            *(
                paired_diff(
                    paired[paired["pair"] == f"{arm}/{partner}"],
                    "side",
                    "arm",
                    "partner",
                    ["seed"],
                    metric=metric,
                    drop_failed=True,
                ).fmt(signed=True)
                for metric in ("test_acc", *(f"asym_{n}" for n in shifts))
            ),
        ]
        for kind, arm, partner in pairs
    ]
    body = "\n\n".join(
        [
            ctx.describe("stride_fit"),
            f"![Coverage maps of the first convolution]({link})",
            "*Reads per input pixel (darkest: never read). A stem is kNsNpN: kernel, stride, "
            "padding of the first convolution.*",
            f'Two meanings of "fits" at {size}px, kept apart: the window *tiles* the padded '
            "map when (size + 2·padding − kernel) is divisible by the stride (the remainder in "
            "brackets; PyTorch drops it at the bottom and right); a stem *reads every pixel* "
            "when no input pixel falls outside all windows. Ink and variance: the share of the "
            "training images' summed raw intensity, and of their per-pixel variance, that lies "
            "in the unread pixels.",
            table(
                [
                    "stem",
                    "tiles (remainder)",
                    "reads every pixel",
                    "unread pixels",
                    "ink unread",
                    "variance unread",
                    "output size",
                    "FLOPs/image",
                    "lr",
                    "test accuracy [95% CI]",
                ],
                rows,
            ),
            "Shift asymmetry per stem: test accuracy on the test digits moved n pixels up and "
            "left minus moved n pixels down and right (toward the edge a remainder leaves "
            "unread), vacated pixels filled with background; mean over seeds [95% CI]:",
            table(["stem", *(f"asymmetry at {n}px" for n in shifts)], per_stem),
            "The deciding comparisons hold kernel and stride fixed and change the padding "
            "alone: `unread` pairs differ only in whether pixels go unread, `remainder` pairs "
            "(both reading every pixel) only in whether the window tiles the map. Paired "
            "differences over seeds (arm − partner; t-interval, exact sign-flip p):",
            table(
                [
                    "pair kind",
                    "arm − partner",
                    "Δ test accuracy",
                    *(f"Δ asymmetry at {n}px" for n in shifts),
                ],
                per_pair,
            ),
            "Pooled over the pairs of each kind (seeds as units, p-values Holm-adjusted over "
            "kinds and shifts); the verdict reads these: "
            + "; ".join(
                f"{kind} at {n}px {e.fmt(signed=True)} ({e.n} {e.unit})"
                for (kind, n), e in pooled.items()
            )
            + ".",
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
    limits = rules.depth_limit(acc, ctx.chance("depth_arch"))
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
