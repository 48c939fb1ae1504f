"""Training-practice questions: T1 (overfit a tiny subset), T2/T3 (what the loss curve
says about the learning rate), T4 (choose hyperparameters by cross-validation)."""

from __future__ import annotations

import pandas as pd

from ablate.analysis import verdicts
from ablate.analysis.curves import classify
from ablate.analysis.selection import selection_regret
from ablate.analysis.stats import mean_ci
from ablate.report import figures
from ablate.report.context import Context, Section
from ablate.report.markdown import table

OVERFIT_LOSS = 0.05


def t1(ctx: Context) -> Section:
    curves = ctx.curves("overfit_tiny")
    if curves.empty:
        raise verdicts.MissingEvidence("overfit_tiny has no loss curves")
    curves = curves[curves["train_loss"].notna()]
    steps: dict[str, int | None] = {}
    rows = []
    for arch, g in curves.groupby("arch"):
        firsts = []
        for _, run in g.groupby("key"):
            below = run[run["train_loss"] < OVERFIT_LOSS]["step"]
            firsts.append(int(below.min()) if len(below) else None)
        steps[arch] = None if None in firsts else max(firsts)
        rows.append(
            [
                arch,
                f"{g.groupby('key')['train_loss'].min().max():.4f}",
                steps[arch] if steps[arch] is not None else "never",
                len(firsts),
            ]
        )
    verdict = verdicts.t1_overfit(steps, OVERFIT_LOSS)
    path, link = ctx.figure("t1_overfit.png")
    figures.lines(
        curves.assign(train_loss=curves["train_loss"].clip(lower=1e-4)),
        "step",
        "train_loss",
        "arch",
        path,
        "Overfitting a tiny subset",
        logy=True,
        xlabel="step",
        ylabel="training loss",
    )
    body = "\n\n".join(
        [
            ctx.describe("overfit_tiny"),
            f"![Loss curves on a tiny subset]({link})",
            table(
                ["arch", "lowest loss (worst seed)", f"steps to loss < {OVERFIT_LOSS}", "seeds"],
                rows,
            ),
        ]
    )
    return Section("t1", "T1", body, [verdict])


def _labels(ctx: Context) -> pd.DataFrame:
    curves = ctx.curves("lr_range")
    runs = ctx.study("lr_range", status=None)
    if runs.empty or runs["lr"].nunique() < 3:
        raise verdicts.MissingEvidence("lr_range needs at least three learning rates")
    losses = curves.dropna(subset=["train_loss"]).groupby("key")["train_loss"].apply(list)
    classes = int(runs["classes"].dropna().iloc[0]) if runs["classes"].notna().any() else 10
    keys, statuses = runs["key"], runs["status"]
    labels = [classify(losses.get(k, []), s, classes) for k, s in zip(keys, statuses, strict=True)]
    return runs.assign(curve=labels)


def _lr_section(ctx: Context, qid: str, kind: str) -> Section:
    runs = _labels(ctx)
    arms = {
        str(norm): {float(lr): list(g["curve"]) for lr, g in rows.groupby("lr")}
        for norm, rows in runs.groupby("norm")
    }
    verdict = verdicts.t2_t3_lr(qid, arms, kind)
    first = {n: g[g["curve"] == "diverged"]["lr"].min() for n, g in runs.groupby("norm")}
    table_rows = [
        [
            f"{lr:g}",
            n,
            ", ".join(sorted(g["curve"])),
            mean_ci(g["test_acc"]).fmt() if g["test_acc"].notna().any() else "—",
        ]
        for (lr, n), g in runs.groupby(["lr", "norm"])
    ]
    parts = [ctx.describe("lr_range")]
    if qid == "T2":
        curves = ctx.curves("lr_range").dropna(subset=["train_loss"])
        path, link = ctx.figure("t_loss_by_lr.png")
        figures.lines(
            curves.assign(train_loss=curves["train_loss"].clip(upper=1e3)),
            "step",
            "train_loss",
            "lr",
            path,
            "Training loss per learning rate",
            col="norm",
            logy=True,
            xlabel="step",
            ylabel="training loss (clipped at 1e3)",
        )
        parts.append(f"![Loss curves per learning rate]({link})")
    parts += [
        table(["lr", "norm", "curve classes", "test accuracy [95% CI]"], table_rows),
        "Rules: `diverged` if the loss became NaN/inf or ended above 1.5x its first value; "
        "`stalled` if it lost less than 10% of its first value or ended above 95% of "
        "ln(classes), the loss of a uniform guess; otherwise `healthy`. "
        "Smallest diverging lr: "
        + ", ".join(f"{n} {v:g}" if pd.notna(v) else f"{n} none" for n, v in first.items())
        + ".",
    ]
    return Section(qid.lower(), qid, "\n\n".join(parts), [verdict])


def t2(ctx: Context) -> Section:
    return _lr_section(ctx, "T2", "stalled")


def t3(ctx: Context) -> Section:
    return _lr_section(ctx, "T3", "diverged")


def t4(ctx: Context) -> Section:
    df = ctx.study("cv_select")
    if df.empty or df["fold"].nunique() < 2 or df["lr"].nunique() < 2:
        raise verdicts.MissingEvidence("cv_select needs two folds and two learning rates")
    by = df.groupby("lr")[["val_acc", "test_acc"]].mean()
    cv_choice, test_choice = float(by["val_acc"].idxmax()), float(by["test_acc"].idxmax())
    regret, optimism = selection_regret(df)
    rates = sorted(by.index)
    verdict = verdicts.t4_cv(
        cv_choice,
        test_choice,
        cv_choice in (rates[0], rates[-1]),
        regret,
        optimism,
        float(by.loc[cv_choice, "val_acc"] - by.loc[cv_choice, "test_acc"]),
    )
    long = df.melt(
        id_vars=["lr", "fold"],
        value_vars=["val_acc", "test_acc"],
        var_name="estimate",
        value_name="accuracy",
    )
    path, link = ctx.figure("t4_cv.png")
    figures.lines(
        long,
        "lr",
        "accuracy",
        "estimate",
        path,
        "Cross-validated vs test accuracy per learning rate",
        logx=True,
        xlabel="learning rate",
        ylabel="accuracy",
    )
    rows = [
        [
            f"{lr:g}",
            f"{r['val_acc']:.3f}",
            f"{r['test_acc']:.3f}",
            ("CV" if lr == cv_choice else "") + (" test" if lr == test_choice else ""),
        ]
        for lr, r in by.iterrows()
    ]
    body = "\n\n".join(
        [
            ctx.describe("cv_select"),
            f"![CV and test accuracy per learning rate]({link})",
            table(
                ["lr", f"CV accuracy ({df['fold'].nunique()} folds)", "test accuracy", "chosen by"],
                rows,
            ),
            "Picking on the test set makes the test number an optimistic estimate of the chosen "
            "model; the CV estimate is made without touching the test set, and the gap between "
            "it and the test accuracy at the CV choice is what a reader can expect. Per fold, "
            "the best test accuracy of that fold's models (what peeking reports) lies "
            f"{regret.fmt(signed=True)} above the lr that CV on the other folds picks (the "
            f"regret), and {optimism.fmt(signed=True)} above the lr that the other folds' test "
            "scores pick (the optimism of reporting a number one selected on); means over "
            f"{regret.n} folds with t-intervals, rough ones since folds share training data.",
        ]
    )
    return Section("t4", "T4", body, [verdict])
