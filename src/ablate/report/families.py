"""C4: network families at matched cost, and He et al. (2016)'s degradation test (plain and
residual stacks at growing depth); the other convolution sections are in convolution.py."""

from __future__ import annotations

import pandas as pd

from ablate.analysis.paired import paired_diff
from ablate.analysis.rules import common
from ablate.analysis.rules import convolution as rules
from ablate.analysis.rules.common import MissingEvidence
from ablate.analysis.significance import holm_family
from ablate.analysis.stats import Estimate, mean_ci
from ablate.report import figures
from ablate.report.context import Context, Section
from ablate.report.convolution import require
from ablate.report.costs import cost_cells, cost_table
from ablate.report.main_grid import MAIN_AXES
from ablate.report.markdown import table

FAMILY_BASE = "plain"
PLAIN_MLP, RES_MLP = "resmlp_noskip", "resmlp"


def _need(df: pd.DataFrame, columns: list[str], study: str) -> None:
    missing = [c for c in columns if c not in df]
    if missing:
        raise MissingEvidence(f"the {study} runs lack {missing}: re-collect them")


def layers_of(depth: int) -> int:
    """Weight layers of a residual MLP with `depth` blocks: stem, two per block, head."""
    return 2 * depth + 2


def families_evidence(ctx: Context) -> tuple[pd.DataFrame, dict[str, Estimate], dict[str, float]]:
    """Each family's runs at the plain net's FLOPs: the paired differences from the plain
    stack (seeds as units, Holm over the families) and each family's FLOPs over plain's."""
    df = ctx.tuned("families", ["arch"])
    if df.empty:
        raise MissingEvidence("the families study has no finished runs")
    require(df, "arch", [FAMILY_BASE])
    others = [a for a in sorted(df["arch"].unique()) if a != FAMILY_BASE]
    if not others:
        raise MissingEvidence("the families study has only the plain stack")
    diffs = holm_family(
        {a: paired_diff(df, "arch", a, FAMILY_BASE, ["seed"], drop_failed=True) for a in others}
    )
    flops = df.groupby("arch")["flops_per_image"].median()
    return df, diffs, {a: float(flops[a] / flops[FAMILY_BASE]) for a in others}


def degradation_evidence(
    ctx: Context,
) -> tuple[pd.DataFrame, dict[int, Estimate], Estimate, dict[tuple[str, int], tuple[int, int]]]:
    """He et al. (2016)'s test: per depth (weight layers), the plain stack's final training
    loss minus the residual one's, paired over seeds; the plain stack's loss at the deepest
    depth minus the shallowest, paired by seed; and per (family, layers) the runs that
    trained. Every run counts, whatever its status: not training is the outcome."""
    df = ctx.study("degradation", status=None)
    if df.empty:
        raise MissingEvidence("the degradation study has no runs")
    require(df, "arch", [PLAIN_MLP, RES_MLP])
    _need(df, ["final_train_loss", "trained"], "degradation")
    df = df.assign(layers=df["depth"].astype(int).map(layers_of))
    depths = sorted(df["layers"].unique())
    if len(depths) < 2:
        raise MissingEvidence("the degradation study has fewer than two depths")
    gap = {
        int(d): paired_diff(g, "arch", PLAIN_MLP, RES_MLP, ["seed"], metric="final_train_loss")
        for d, g in df.groupby("layers")
    }
    plain = df[df["arch"] == PLAIN_MLP]
    ends = plain[plain["layers"].isin([depths[0], depths[-1]])].assign(
        end=lambda t: t["layers"].map({depths[0]: "shallow", depths[-1]: "deep"})
    )
    degrade = paired_diff(ends, "end", "deep", "shallow", ["seed"], metric="final_train_loss")
    trained = {
        (str(a), int(d)): (int(g["trained"].astype(bool).sum()), len(g))
        for (a, d), g in df.groupby(["arch", "layers"])
    }
    deciding = holm_family({"gap": gap[depths[-1]], "degrade": degrade})  # the verdict's two
    gap[int(depths[-1])] = deciding["gap"]
    return df, gap, deciding["degrade"], trained


def c4(ctx: Context) -> Section:
    fam_df, diffs, flops_ratio = families_evidence(ctx)
    deg_df, gap, degrade, trained = degradation_evidence(ctx)
    control = fam_df[fam_df["arch"] == FAMILY_BASE]["test_acc"].mean()
    margin = common.margin(control)
    verdict = rules.c4_architectures(
        diffs, flops_ratio, gap, degrade, trained, margin, PLAIN_MLP, RES_MLP
    )
    costs = cost_table(fam_df, ["arch"])
    fam_rows = [
        [
            r["arch"],
            *cost_cells(r),
            f"×{r['flops'] / costs.set_index('arch').loc[FAMILY_BASE, 'flops']:.2f}",
        ]
        for _, r in costs.iterrows()
    ]
    runs_per = fam_df.groupby("arch").size()
    path, link = ctx.figure("c4_degradation.png")
    figures.lines(
        deg_df.dropna(subset=["final_train_loss"]),
        "layers",
        "final_train_loss",
        "arch",
        path,
        "Residual MLP blocks with and without shortcuts (BN, one step budget)",
        xlabel="weight layers",
        ylabel="final training loss",
    )
    deg_rows = [
        [
            str(d),
            *(f"{trained[(a, d)][0]}/{trained[(a, d)][1]}" for a in (RES_MLP, PLAIN_MLP)),
            *(
                mean_ci(
                    deg_df[(deg_df["arch"] == a) & (deg_df["layers"] == d)]["final_train_loss"]
                ).fmt()
                for a in (RES_MLP, PLAIN_MLP)
            ),
            gap[d].fmt(signed=True),
        ]
        for d in sorted(gap)
    ]
    main = ctx.tuned("main", MAIN_AXES) if not ctx.study("main").empty else pd.DataFrame()
    grid_text = ""
    if not main.empty and main["arch"].nunique() > 1:
        main_costs = cost_table(main, ["arch"])
        grid_text = "\n\n".join(
            [
                "For reference, the main grid's families at *equal width* (not at matched cost, "
                "so not deciding: the ResNet block holds two convs and shortcuts):",
                table(
                    ["arch", "test accuracy [95% CI]", "params", "FLOPs/image", "train images/s"],
                    [[r["arch"], *cost_cells(r)] for _, r in main_costs.iterrows()],
                ),
            ]
        )
    body = "\n\n".join(
        [
            "**Families at matched cost.** " + ctx.describe("families", tuned=True),
            "Each family is sized to the FLOPs per image of the plain stack at the study's "
            "width (`model.match_flops`, `model.flops_ref=plain`): Inception's four branches "
            "(1x1, 3x3, 5x5, pool-1x1, a quarter of the channels each) cost exactly one 3x3 "
            "conv at equal width, so it keeps the width; the ResNet block is narrowed.",
            table(
                [
                    "arch",
                    "test accuracy [95% CI]",
                    "params",
                    "FLOPs/image",
                    "train images/s",
                    "FLOPs vs plain",
                ],
                fam_rows,
            ),
            f"Paired difference from the plain stack over seeds ({int(runs_per.min())} runs per "
            "family; p-values Holm-adjusted over the families). No effect means a CI within "
            f"±{margin:.4f}, a quarter of the plain stack's test errors:",
            table(
                ["arch", f"Δ vs {FAMILY_BASE} [95% CI], p", "units", "left out"],
                [
                    [a, d.fmt(signed=True), f"{d.n} {d.unit}", d.dropped_note() or "none"]
                    for a, d in diffs.items()
                ],
            ),
            "**He et al. (2016)'s degradation test, scaled down.** "
            + ctx.describe("degradation", tuned=True),
            "The paper's test is the training loss of plain and residual stacks as depth "
            "grows at one budget, with BN: a plain stack that trains worse when deeper is "
            "the degradation the shortcut removes. Here the blocks are residual MLP blocks "
            "(linear → BN → ReLU → linear → BN, + identity, ReLU; `resmlp_noskip` drops the "
            "identity) on MNIST, not conv blocks on CIFAR-10/ImageNet: conv stacks of 50 "
            "layers do not fit the cpu budget. What the scaling changes: MLP blocks have "
            "no spatial structure, and a few hundred steps on 3,600 images show whether a "
            "stack trains, not the final error of a long schedule. A run trains when it "
            "finishes with test accuracy above the majority class by 0.1. Depth counts "
            "weight layers: `depth` blocks (the runs table's column) give 2 × depth + 2 "
            "(stem, two per block, head): "
            + ", ".join(
                f"{int(d)} blocks = {layers_of(int(d))} layers"
                for d in sorted(ctx.study("degradation", status=None)["depth"].dropna().unique())
            )
            + ".",
            f"![Final training loss against depth]({link})",
            table(
                [
                    "weight layers",
                    f"{RES_MLP} runs that train",
                    f"{PLAIN_MLP} runs that train",
                    f"{RES_MLP} final train loss",
                    f"{PLAIN_MLP} final train loss",
                    "plain − residual, paired over seeds",
                ],
                deg_rows,
            ),
            f"The plain stack's final training loss at {max(gap)} minus at {min(gap)} layers, "
            f"paired by seed: {degrade.fmt(signed=True)} ({degrade.n} {degrade.unit}).",
            grid_text,
        ]
    )
    return Section("c4", "C4", body.rstrip(), [verdict])
