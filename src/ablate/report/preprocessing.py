"""Data preprocessing question D1: why zero-centred inputs?"""

from __future__ import annotations

from ablate.analysis import verdicts
from ablate.analysis.stats import holm_family, mean_ci, paired_diff
from ablate.report import figures
from ablate.report.context import Context, Section
from ablate.report.markdown import table


def d1(ctx: Context) -> Section:
    df = ctx.study("preprocessing")
    levels = set(df["preprocessing"])
    centred = "center" if "center" in levels else "standardize"
    if "raw" not in levels or centred not in levels:
        raise verdicts.MissingEvidence("preprocessing needs raw and centred runs")
    pair = ["activation", "seed"]
    parts = holm_family(
        {
            "sign": paired_diff(
                df, "preprocessing", "raw", centred, pair, "probe_sign_agreement_init"
            ),
            "acc": paired_diff(df, "preprocessing", centred, "raw", pair, drop_failed=True),
        }
    )
    verdict = verdicts.d1_centering(parts["sign"], parts["acc"])
    curves = ctx.curves("preprocessing")
    curves = curves[curves["train_loss"].notna()]
    path, link = ctx.figure("d1_loss_curves.png")
    figures.lines(
        curves,
        "step",
        "train_loss",
        "preprocessing",
        path,
        "Training loss by input preprocessing",
        col="activation",
        xlabel="step",
        ylabel="training loss",
    )
    rows = [
        [p, a, f"{g['probe_sign_agreement_init'].mean():.1%}", mean_ci(g["test_acc"]).fmt()]
        for (p, a), g in df.groupby(["preprocessing", "activation"])
    ]
    body = "\n\n".join(
        [
            ctx.describe("preprocessing"),
            f"![Loss curves per preprocessing]({link})",
            table(
                [
                    "preprocessing",
                    "activation",
                    "first-layer units with one-sign gradient rows",
                    "test accuracy [95% CI]",
                ],
                rows,
            ),
            "A first-layer unit's per-example weight gradient is its upstream gradient times the "
            "input patch: when every input is positive, every entry shares one sign, so the "
            "weights can only all grow or all shrink in one step and must zig-zag towards their "
            "optimum (LeCun et al. 1998, Efficient BackProp). The one-sign fraction is measured "
            "per example on 32 validation images at init.",
        ]
    )
    return Section("d1", "D1", body, [verdict])
