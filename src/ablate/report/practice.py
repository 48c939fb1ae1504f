"""Training-practice questions: T1 (overfit a tiny subset), T2/T3 (what the loss curve
says about the learning rate), T4 (choose hyperparameters by cross-validation)."""

from __future__ import annotations

import pandas as pd

from ablate.analysis import counterfactual
from ablate.analysis.rules import practice as rules
from ablate.analysis.rules.common import MissingEvidence, margin
from ablate.analysis.selection import optimism_by_count, selection_regret
from ablate.analysis.stats import mean_ci
from ablate.report import figures
from ablate.report.context import Context, Section
from ablate.report.markdown import table

OVERFIT_LOSS = 0.05


def _lowest_losses(curves: pd.DataFrame) -> dict[str, list[float]]:
    """Per family, each run's lowest logged training loss."""
    return {
        str(arch): g.groupby("key")["train_loss"].min().tolist()
        for arch, g in curves.groupby("arch", sort=True)
    }


def _steps_below(curves: pd.DataFrame) -> dict[str, int | None]:
    """Per family, the step by which every run is below OVERFIT_LOSS (None: some never)."""
    out: dict[str, int | None] = {}
    for arch, g in curves.groupby("arch", sort=True):
        firsts = [
            run.loc[run["train_loss"] < OVERFIT_LOSS, "step"].min() for _, run in g.groupby("key")
        ]
        out[str(arch)] = None if any(pd.isna(f) for f in firsts) else int(max(firsts))
    return out


def t1(ctx: Context) -> Section:
    curves = ctx.curves("overfit_tiny")
    if curves.empty:
        raise MissingEvidence("overfit_tiny has no loss curves")
    curves = curves[curves["train_loss"].notna()].assign(labels="true")
    bugged = ctx.curves("overfit_scrambled")
    if not bugged.empty:
        bugged = bugged[bugged["train_loss"].notna()].assign(labels="scrambled every step")
    reached, control = _lowest_losses(curves), _lowest_losses(bugged) if len(bugged) else {}
    verdict = rules.t1_overfit(reached, control, OVERFIT_LOSS)
    rows = []
    for labels, frame, lows in (("true", curves, reached), ("scrambled", bugged, control)):
        steps = _steps_below(frame) if len(frame) else {}
        rows += [
            [
                arch,
                labels,
                f"{sum(v < OVERFIT_LOSS for v in runs)}/{len(runs)}",
                f"{max(runs):.4f}",
                steps[arch] if steps.get(arch) is not None else "never",
            ]
            for arch, runs in lows.items()
        ]
    shown = pd.concat([curves, bugged], ignore_index=True) if len(bugged) else curves
    path, link = ctx.figure("t1_overfit.png")
    figures.lines(
        shown.assign(train_loss=shown["train_loss"].clip(lower=1e-4)),
        "step",
        "train_loss",
        "arch",
        path,
        "Overfitting a tiny subset, with true and scrambled labels",
        style="labels",
        logy=True,
        xlabel="step",
        ylabel="training loss",
    )
    body = "\n\n".join(
        [
            ctx.describe("overfit_tiny"),
            *([ctx.describe("overfit_scrambled")] if len(bugged) else []),
            "The check passes when the training loss on the subset falls below "
            f"{OVERFIT_LOSS}. It is only worth running if it can fail: the negative control "
            "trains the same nets on the same images with the labels permuted anew at every "
            "step (the bug of shuffling images and labels apart), which no net can fit. "
            "Per family and labels, the runs that pass, the lowest loss of the worst run, "
            "and the step by which every run passes:",
            f"![Loss curves on a tiny subset]({link})",
            table(
                [
                    "arch",
                    "labels",
                    f"runs reaching loss < {OVERFIT_LOSS}",
                    "lowest loss (worst run)",
                    f"steps to loss < {OVERFIT_LOSS} (all runs)",
                ],
                rows,
            ),
        ]
    )
    return Section("t1", "T1", body, [verdict])


def _labels(ctx: Context) -> pd.DataFrame:
    """Every run of every study (grid and rate-search) with its curve class and cure."""
    runs = ctx.study("lr_range", status=None)
    if runs.empty or runs["lr"].nunique() < 3:
        raise MissingEvidence("lr_range needs at least three learning rates")
    return counterfactual.cures(counterfactual.label_runs(ctx.runs, ctx.history))


def _cure_table(labelled: pd.DataFrame, kind: str) -> str:
    counts = counterfactual.cure_counts(labelled, kind)
    claimed = counterfactual.CLAIMED.get(kind)
    rows = [
        [study, *(int(r[c]) for c in counterfactual.CURES), int(r["no curve"])]
        for study, r in counts.iterrows()
    ]
    header = [
        "study",
        "raising" + (" (claimed)" if claimed == "raising" else ""),
        "lowering" + (" (claimed)" if claimed == "lowering" else ""),
        "either",
        "no rate tried",
        "untested",
        "judged without a curve",
    ]
    return (
        table(header, rows)
        if rows
        else f"No run of any study is `{kind}` under these rules, so none needs a cure."
    )


RULES = (
    "Curve classes, the first rule that applies: `diverged` if the run stopped as diverged, "
    "the loss became NaN/inf, or the mean of its last 10% of logged losses is above 1.5x the "
    "mean of its first 10%; `stalled` if the loss barely changed: its total fall (first-window "
    "mean minus last-window mean, windows of 10% of the points, at least 3) is within 2 sds of "
    "the batch noise and under 10% of the first window's mean, the noise estimated from the "
    "successive differences of the logged losses (median absolute deviation, so a few spikes "
    "do not inflate it); `chance` if the loss moved but the net ends no better than guessing "
    "(it predicts one class on the test split, or its test accuracy is within 0.1 of the "
    "majority-class share, however many classes it predicts); otherwise `healthy`. The rates "
    "warm up and decay to 0, so every curve is flat at its end: no rule reads the final "
    "slope. A finished run without a logged curve is classed by its accuracy alone "
    "(`chance` or `healthy`), a failed one by its status."
)


def _first_unhealthy(runs: pd.DataFrame) -> float | None:
    """The smallest rate above the last healthy one from which no run of the sweep is
    healthy (None if the largest rate still trains)."""
    healthy = runs.groupby("lr")["curve"].apply(lambda c: (c == "healthy").any())
    top = healthy[healthy].index.max() if healthy.any() else None
    above = [lr for lr in healthy.index if top is None or lr > top]
    return min(above) if above else None


def _lr_section(ctx: Context, qid: str, kind: str) -> Section:
    labelled = _labels(ctx)
    cured = labelled[labelled["curve"] == kind]
    verdict = rules.t2_t3_counterfactual(
        qid, kind, {c: int((cured["cure"] == c).sum()) for c in counterfactual.CURES}
    )
    runs = labelled[labelled["key"].isin(ctx.study("lr_range", status=None)["key"])]
    first = {
        n: min((lr for lr, c in g.groupby("lr")["curve"] if (c == "diverged").all()), default=None)
        for n, g in runs.groupby("norm")
    }
    broken = {n: _first_unhealthy(g) for n, g in runs.groupby("norm")}
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
    claimed = counterfactual.CLAIMED[kind]
    parts += [
        table(["lr", "norm", "curve classes", "test accuracy [95% CI]"], table_rows),
        RULES
        + " Smallest lr in lr_range whose runs all diverge: "
        + ", ".join(f"{n} {v:g}" if pd.notna(v) else f"{n} none" for n, v in first.items())
        + "; smallest lr from which no run is `healthy`: "
        + ", ".join(f"{n} {v:g}" if pd.notna(v) else f"{n} none" for n, v in broken.items())
        + ".",
        f"**Does changing only the rate cure a `{kind}` curve?** Runs that differ only in "
        "the rate (same study, config and seed: the lr_range and bn sweeps, and each tuned "
        "arm's rate search on seeds 0 and 1 with its extensions) form a group. Per study, the "
        f"`{kind}` runs by which change of rate gave "
        + (
            "a curve that does not diverge (what the claim blames on the rate; whether the "
            "net then trains is T2's and W1's question)"
            if kind == "diverged"
            else "a `healthy` curve"
        )
        + " in their group: only a higher rate (raising), only a lower one (lowering), both "
        "(either), none of the rates tried, or no other rate tried (untested; most grid runs "
        f"of tuned studies, which train at one rate). The claim predicts {claimed}.",
        _cure_table(labelled, kind),
    ]
    if qid == "T2":
        parts += [
            "Not part of the verdict, since their loss did move: the `chance` runs (the loss "
            "fell, typically from a high initial loss to the uniform-guess plateau, and the "
            "net ends no better than guessing), by the same counterfactual. A too-small rate "
            "shows up here when a run is stopped early on that plateau, and so does a "
            "too-large one:",
            _cure_table(labelled, "chance"),
        ]
    return Section(qid.lower(), qid, "\n\n".join(parts), [verdict])


def t2(ctx: Context) -> Section:
    return _lr_section(ctx, "T2", "stalled")


def t3(ctx: Context) -> Section:
    return _lr_section(ctx, "T3", "diverged")


# Numbers of configurations compared, and how many studies must have that many runs for
# the average over studies to mean something.
COUNTS = [2, 4, 8, 16, 32, 64, 128]
MIN_GROUPS = 3


def selection_pool(ctx: Context) -> pd.DataFrame:
    """The runs one could choose among: every finished run that trains, of every study
    that trains on the standard split (not cross-validation folds, a tiny subset or
    scrambled labels), grid and rate-search runs alike."""
    runs = ctx.runs[ctx.runs["status"] == "ok"]
    standard = runs["folds"].fillna(0).eq(0) & runs["train_limit"].isna()
    if "scramble_labels" in runs:
        standard &= ~runs["scramble_labels"].fillna(False).astype(bool)
    majority = runs["majority_acc"].fillna(0.1) if "majority_acc" in runs else 0.1
    return runs[standard & (runs["test_acc"] > majority + 0.1)]


def t4(ctx: Context) -> Section:
    df = ctx.study("cv_select")
    if df.empty or df["fold"].nunique() < 2 or df["lr"].nunique() < 2:
        raise MissingEvidence("cv_select needs two folds and two learning rates")
    by = df.groupby("lr")[["val_acc", "test_acc"]].mean()
    cv_choice, test_choice = float(by["val_acc"].idxmax()), float(by["test_acc"].idxmax())
    regret, optimism = selection_regret(df)
    rates = sorted(by.index)
    pool = selection_pool(ctx)
    growth = optimism_by_count(pool, COUNTS, min_groups=MIN_GROUPS)
    verdict = rules.t4_cv(
        cv_choice,
        test_choice,
        cv_choice in (rates[0], rates[-1]),
        regret,
        optimism,
        float(by.loc[cv_choice, "val_acc"] - by.loc[cv_choice, "test_acc"]),
        growth,
        margin(float(by.loc[test_choice, "test_acc"])),
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
            "**How much peeking inflates, by how many configurations are compared.** The "
            "rates above barely differ, so picking among them on the test set can gain "
            "little; the inflation grows with the number of configurations one picks from. "
            f"From the {len(pool)} finished runs that train on the standard split (every "
            "study's grid and rate-search runs; "
            f"{pool['study'].nunique()} studies), per number k of configurations drawn at "
            "random from one study: how far the test accuracy of the test-best of the k "
            "lies above its validation accuracy (its held-out counterpart, untouched by the "
            "choice), minus the same gap for one random run (the splits' own offset for "
            "that study); exact over all draws, averaged over the studies with at least k "
            f"runs (shown where at least {MIN_GROUPS} have), 95% intervals from 1,000 "
            "bootstrap resamples of runs within studies:",
            table(
                ["configurations compared", "inflation of the reported accuracy [95% CI]", "runs"],
                [[k, est.fmt(signed=True), est.n] for k, est in growth.items()],
            ),
        ]
    )
    return Section("t4", "T4", body, [verdict])
