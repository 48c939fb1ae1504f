"""Batch-normalisation questions B1 (what and where) and B2 (why it helps)."""

from __future__ import annotations

import pandas as pd

from ablate.analysis import verdicts
from ablate.analysis.stats import diff_of_means, mean_ci, paired_diff
from ablate.report import figures
from ablate.report.context import Context, Section
from ablate.report.markdown import table


def _arms(df: pd.DataFrame) -> pd.Series:
    return df["norm"].where(df["norm"] == "none", "batch/" + df["norm_position"].astype(str))


def b1(ctx: Context) -> Section:
    df = ctx.study("bn", status=None)
    ok = ctx.study("bn")
    if not {"pre", "post"} <= set(ok[ok["norm"] == "batch"]["norm_position"]):
        raise verdicts.MissingEvidence("bn needs BN runs both before and after the activation")
    bn = ok[ok["norm"] == "batch"]
    pre_post = paired_diff(
        df[df["norm"] == "batch"],
        "norm_position",
        "pre",
        "post",
        ["lr", "init", "seed"],
        drop_failed=True,
    )
    verdict = verdicts.b1_position(
        pre_post, diff_of_means(bn["test_acc"], ok[ok["norm"] == "none"]["test_acc"])
    )
    shown = df.assign(arm=_arms(df), test_acc=df["test_acc"].fillna(ctx.chance("bn")))
    path, link = ctx.figure("b1_accuracy_by_lr.png")
    figures.lines(
        shown,
        "lr",
        "test_acc",
        "arm",
        path,
        "Accuracy by learning rate and BN position (diverged runs at chance)",
        style="init",
        logx=True,
        xlabel="learning rate",
        ylabel=figures.ACC,
    )
    acts = ctx.layers("bn", "act", "end")
    stats = (
        acts.assign(arm=_arms(acts)).groupby("arm")[["act_mean", "act_std"]].mean()
        if not acts.empty
        else pd.DataFrame()
    )
    rows = [
        [
            arm,
            f"{g['status'].eq('ok').mean():.0%}",
            mean_ci(g["test_acc"]).fmt(),
            f"{stats.loc[arm, 'act_mean']:.2f}" if arm in stats.index else "—",
            f"{stats.loc[arm, 'act_std']:.2f}" if arm in stats.index else "—",
        ]
        for arm, g in shown.groupby("arm")
    ]
    body = "\n\n".join(
        [
            ctx.describe("bn"),
            f"![Accuracy by learning rate and BN position]({link})",
            table(
                [
                    "arm",
                    "runs ok",
                    "test accuracy [95% CI]",
                    "activation mean (end)",
                    "activation std (end)",
                ],
                rows,
            ),
            "Ioffe & Szegedy (2015) put BN before the nonlinearity, as the notes do; many later "
            "nets put it after. The paired difference before − after (same lr, init and seed; "
            f"{pre_post.n} {pre_post.unit}) is {pre_post.fmt(signed=True)}"
            + (
                f"; {pre_post.dropped_note()}, counted as failures, not as effects."
                if pre_post.dropped
                else "."
            ),
        ]
    )
    return Section("b1", "B1", body, [verdict])


def b2(ctx: Context) -> Section:
    df = ctx.study("bn", status=None)
    if df["norm"].nunique() < 2:
        raise verdicts.MissingEvidence("bn needs runs with and without BN")
    chance = ctx.chance("bn")
    trains = df.assign(trains=df["test_acc"].fillna(0) > chance + 0.1)
    by_lr = trains.groupby(["norm", "lr"])["trains"].mean().unstack(0)
    ok = ctx.study("bn")
    beta = diff_of_means(
        ok[ok["norm"] == "batch"]["probe_smooth_beta"],
        ok[ok["norm"] == "none"]["probe_smooth_beta"],
    )
    verdict = verdicts.b2_why_bn(
        int((by_lr.get("batch", pd.Series()) >= 0.5).sum()),
        int((by_lr.get("none", pd.Series()) >= 0.5).sum()),
        beta,
    )
    curves = ctx.curves("bn")
    curves = curves[curves["train_loss"].notna()].assign(arm=lambda d: _arms(d))
    path, link = ctx.figure("b2_loss_by_lr.png")
    figures.lines(
        curves,
        "step",
        "train_loss",
        "lr",
        path,
        "Training loss per learning rate, with and without BN",
        col="arm",
        logy=True,
        xlabel="step",
        ylabel="training loss",
    )
    rows = [
        [f"{lr:g}", *(f"{by_lr.loc[lr, c]:.0%}" if c in by_lr else "—" for c in ("none", "batch"))]
        for lr in by_lr.index
    ]
    smooth = [
        [
            arm,
            f"{g['probe_smooth_beta'].median():.3g}",
            f"{g['probe_smooth_loss_range'].median():.3g}",
            f"{g['probe_smooth_grad_norm'].median():.3g}",
        ]
        for arm, g in ok.assign(arm=_arms(ok)).groupby("arm")
    ]
    init_spread = {
        n: g.groupby("init")["test_acc"].mean().agg(lambda s: s.max() - s.min())
        for n, g in ok.groupby("norm")
    }
    body = "\n\n".join(
        [
            ctx.describe("bn"),
            f"![Loss curves per learning rate with and without BN]({link})",
            "Share of runs that train (test accuracy above chance + 0.1), per learning rate:",
            table(["lr", "no BN", "BN"], rows),
            "Along the gradient direction (Santurkar et al. 2018): median β-smoothness (gradient "
            "change per unit step), loss range over steps of 0.5-4× the learning rate, and "
            "gradient norm, over the probe points of each run:",
            table(["arm", "β-smoothness", "loss range", "gradient norm"], smooth),
            "Spread of accuracy across inits: "
            + ", ".join(f"{n} {v:.3f}" for n, v in init_spread.items())
            + ". Santurkar et al. found BN "
            "helps by smoothing the landscape, not by keeping distributions fixed (the notes' "
            "guess); the numbers above say which this run sees.",
        ]
    )
    return Section("b2", "B2", body, [verdict])
