"""Batch-normalisation questions B1 (what and where) and B2 (why it helps); B2's noisy-BN
test is in `bn_noise.py`, the run measures both share in `bn_measures.py`."""

from __future__ import annotations

import numpy as np

from ablate.analysis.paired import paired_units
from ablate.analysis.rules import batchnorm as rules
from ablate.analysis.rules import common
from ablate.analysis.rules.common import MissingEvidence
from ablate.analysis.significance import holm_family
from ablate.analysis.stats import Estimate, mean_ci
from ablate.analysis.tuning import select_best_lr
from ablate.report import figures
from ablate.report.bn_measures import (
    PAIRS,
    bn_arms,
    median_text,
    outcome_counts,
    position_name,
    rate_seed_diffs,
    rate_seed_units,
    run_medians,
    scored,
    top_rate,
    trained,
)
from ablate.report.bn_noise import noise_experiment
from ablate.report.context import Context, Section
from ablate.report.markdown import table

# The B1 families: study -> the name the report gives it.
FAMILIES = {"bn": "conv/relu", "bn_mlp": "mlp/relu", "bn_sigmoid": "mlp/sigmoid"}


def position_strata(
    ctx: Context,
) -> tuple[dict[tuple[str, str], rules.PositionStratum], list[str], list[list[str]]]:
    """Per (family, init): BN-before minus BN-after, paired by (rate, seed), in whether the
    run trains and in test accuracy where both train; Holm-adjusted as one family of
    tests. Also, per family, a table of runs that train (and diverge) per arm and rate,
    and per stratum and position the accuracy at its own best-validated rate."""
    raw: dict[tuple[str, str], tuple[Estimate, Estimate, float, int]] = {}
    counts: list[str] = []
    best_rows: list[list[str]] = []
    for study, family in FAMILIES.items():
        df = ctx.study(study, status=None)
        if df.empty or not {"pre", "post"} <= set(df[df["norm"] == "batch"]["norm_position"]):
            continue
        df = df.assign(arm=bn_arms(df), trains=trained(df))
        for init, g in df.groupby("init", sort=True):
            headers, rows = outcome_counts(g, "arm")
            counts.append(f"{family}, init {init} (`{study}`):\n\n" + table(headers, rows))
            bn = g[g["norm"] == "batch"].assign(trains=lambda d: d["trains"].astype(float))
            if bn["norm_position"].nunique() < 2:
                continue
            trains_diff = rate_seed_diffs(bn, "norm_position", "pre", "post", "trains")
            acc = rate_seed_units(bn, "norm_position", "pre", "post", "test_acc", "trains")
            best_acc = {}
            for position, h in bn.groupby("norm_position"):
                best = select_best_lr(h[h["status"] == "ok"], [])
                best_acc[position] = best["test_acc"].mean() if len(best) else float("nan")
                best_rows.append(
                    [
                        family,
                        str(init),
                        str(position),
                        f"{best['lr'].iloc[0]:g}" if len(best) else "—",
                        mean_ci(best["test_acc"]).fmt() if len(best) else "—",
                        median_text(h, "probe_bn_out_mean_end"),
                        median_text(h, "probe_bn_out_std_end"),
                        median_text(h, "probe_bn_out_skew_end"),
                        median_text(h, "probe_bn_out_kurt_end"),
                    ]
                )
            raw[(family, str(init))] = (
                paired_units(trains_diff, PAIRS),
                acc,
                common.margin(max(best_acc.values())),
                int(np.count_nonzero(trains_diff)),  # pairs where only one position trains
            )
    # Each measure is its own question (does it train? how well, where both do?), asked
    # of every stratum: Holm-adjusted across the strata, per measure.
    trains = holm_family({k: s for k, (s, *_) in raw.items()})
    accs = holm_family({k: a for k, (_, a, *_) in raw.items()})
    strata = {
        k: rules.PositionStratum(trains[k], accs[k], bound, differ)
        for k, (_, _, bound, differ) in raw.items()
    }
    return strata, counts, best_rows


def b1(ctx: Context) -> Section:
    df = ctx.study("bn", status=None)
    ok = ctx.study("bn")
    if not {"pre", "post"} <= set(ok[ok["norm"] == "batch"]["norm_position"]):
        raise MissingEvidence("bn needs BN runs both before and after the activation")
    strata, counts, best_rows = position_strata(ctx)
    verdict = rules.b1_position(strata)
    shown = df.assign(arm=bn_arms(df), test_acc=scored(df))
    path, link = ctx.figure("b1_accuracy_by_lr.png")
    figures.lines(
        shown,
        "lr",
        "test_acc",
        "arm",
        path,
        "Accuracy by learning rate and BN position (failed runs at the majority share)",
        style="init",
        logx=True,
        xlabel="learning rate",
        ylabel=figures.ACC,
    )
    estimates = "; ".join(
        f"**{family}/{init}** ({rules.SIDE_WORDS[s.side()]}): trains "
        f"{s.trains.fmt(signed=True, digits=2)}, accuracy where both train "
        f"{s.acc.fmt(signed=True)} over {s.acc.n} pairs (margin ±{s.margin:.3f})"
        for (family, init), s in strata.items()
    )
    body = "\n\n".join(
        [
            ctx.describe("bn"),
            *(ctx.describe(s) for s in ("bn_mlp", "bn_sigmoid") if ctx.missing_reason(s) is None),
            f"![Accuracy by learning rate and BN position]({link})",
            "Ioffe & Szegedy (2015) put BN before the nonlinearity, as the notes do, and ran "
            "a deep sigmoid net to show it; many later nets put it after. Strata first: each "
            "family of net (activation) and init is read alone. A run *trains* when it "
            "finishes and its test accuracy is more than 0.1 above always guessing the "
            "commonest class. Runs that train over the runs of each arm, per rate (diverged "
            "runs counted apart):",
            *counts,
            "Before − after, per stratum, each (rate, seed) pair of runs that differ only in "
            "the position one unit (each rate draws its own init and batch order from the "
            "seed, `trainer.seed_by_rate`, so seed 0 at two rates is two draws): the "
            "difference in whether it trains (the share of the "
            "sweep), and in test accuracy over the pairs where both train, each with a "
            "an exact sign-flip p and its interval, Holm-adjusted per measure over the "
            f"{len(strata)} strata. Accuracy near the ceiling leaves few errors to "
            f"win, so *no difference* means a CI within ±{common.ERROR_SHARE:.0%} of the "
            "better position's error rate (at least "
            f"±{common.MIN_MARGIN}), and for training within ±{rules.TRAIN_MARGIN:.0%} of "
            f"the sweep: {estimates or 'no stratum has both positions'}.",
            "Each position at its own best-validated rate (design rule 3; with few seeds "
            "this table describes and does not decide), with what BN outputs at the end of "
            "training (mean |mean|, std, mean |skewness| and excess kurtosis per unit; a "
            "normal distribution has 0 and 0):",
            table(
                [
                    "family",
                    "init",
                    "BN position",
                    "best-validated lr",
                    "test accuracy there [95% CI]",
                    "BN output |mean|",
                    "BN output std",
                    "BN output |skew|",
                    "BN output kurtosis",
                ],
                best_rows,
            ),
        ]
    )
    return Section("b1", "B1", body, [verdict])


def easier_units(ctx: Context) -> tuple[dict[str, Estimate], list[list[str]]]:
    """BN minus no BN where it shows most: the conv rate sweep (`bn`, BN's positions
    averaged within a pair; paired by rate and seed) and the main grid per init (each arm
    at its own searched rate; paired by activation, family, downsampling and seed), in
    test accuracy with runs that failed at the floor. Also the rows of runs that train."""
    out: dict[str, Estimate] = {}
    rows: list[list[str]] = []
    bn = ctx.study("bn", status=None)
    if len(bn) and bn["norm"].nunique() > 1:
        bn = bn.assign(score=scored(bn), trains=trained(bn))
        for init, g in bn.groupby("init", sort=True):
            out[f"conv sweep, {init}"] = rate_seed_units(g, "norm", "batch", "none", "score")
            rows += [
                [f"conv rate sweep (`bn`), {init}", n, f"{int(h['trains'].sum())}/{len(h)}"]
                for n, h in g.groupby("norm")
            ]
    main = ctx.study("main", status=None)
    if len(main) and main["norm"].nunique() > 1:
        main = main.assign(score=scored(main), trains=trained(main))
        cell = [c for c in ("activation", "arch", "downsampling", "seed") if c in main]
        for init, g in main.groupby("init", sort=True):
            wide = g.pivot_table(index=cell, columns="norm", values="score", aggfunc="mean")
            if {"batch", "none"} <= set(wide):
                diff = (wide["batch"] - wide["none"]).dropna().to_numpy()
                out[f"main grid, {init}"] = paired_units(diff, "(cell, seed) pairs")
            rows += [
                [f"main grid, {init}", n, f"{int(h['trains'].sum())}/{len(h)}"]
                for n, h in g.groupby("norm")
            ]
    return out, rows


def b2(ctx: Context) -> Section:
    df = ctx.study("bn", status=None)
    if df["norm"].nunique() < 2:
        raise MissingEvidence("bn needs runs with and without BN")
    trains = df.assign(trains=trained(df), arm=bn_arms)
    by_lr = trains.groupby(["arm", "lr"])["trains"].mean().unstack(0)
    # Each BN position is its own arm: pooled, a position that still trains at the top
    # rate would be averaged with one that diverges there.
    top: dict[str, float | None] = {}
    at_top: dict[str, bool] = {}  # its highest trainable rate is its sweep's top: a bound
    for arm, g in trains.groupby("arm"):
        top[arm] = top_rate(g)
        at_top[arm] = top[arm] is not None and top[arm] >= g["lr"].max()
    positions = sorted((a for a in top if a != "none"), key=lambda a: -(top[a] or 0))
    best = positions[0] if positions else "none"
    ok = trains[trains["status"] == "ok"]
    # Smoothness only where both arms trained, pair by pair: a net that never moved sits on
    # a plateau, which is trivially smooth; β scales with the step, so pairs share a rate.
    beta_col = (
        "probe_smooth_beta_scaled" if "probe_smooth_beta_scaled" in ok else "probe_smooth_beta"
    )
    smooth_cols = [beta_col, "probe_smooth_loss_range", "probe_smooth_grad_norm"]
    matched = run_medians(ok[ok["trains"]], ctx.probes, smooth_cols)
    beta = rate_seed_units(matched, "norm", "batch", "none", beta_col)
    easier, easy_rows = easier_units(ctx)
    bn_adv, levels, bound, noise_text, skewed = noise_experiment(ctx)
    verdict = rules.b2_why_bn(
        top.get(best),
        top.get("none"),
        beta,
        easier,
        bn_adv,
        levels,
        bound,
        skewed,
        bn_arm=position_name(best),
        at_top=(at_top.get(best, False), at_top.get("none", False)),
    )
    curves = ctx.curves("bn")
    curves = curves[curves["train_loss"].notna()].assign(arm=lambda d: bn_arms(d))
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
    arms = ["none", *sorted(a for a in by_lr.columns if a != "none")]
    rows = [
        [f"{lr:g}", *("—" if by_lr[c].isna()[lr] else f"{by_lr.loc[lr, c]:.0%}" for c in arms)]
        for lr in by_lr.index
    ]

    def top_text(arm: str) -> str:
        if top.get(arm) is None:
            return f"no rate with {position_name(arm)}"
        edge = " (the top of its sweep: at least that)" if at_top[arm] else ""
        return f"{top[arm]:g} with {position_name(arm)}{edge}"

    both = sorted(
        set(matched.loc[matched["norm"] == "batch", "lr"])
        & set(matched.loc[matched["norm"] == "none", "lr"])
    )
    smooth = [
        [
            arm,
            f"{g[beta_col].median():.3g}",
            f"{g['probe_smooth_loss_range'].median():.3g}",
            f"{g['probe_smooth_grad_norm'].median():.3g}",
        ]
        for arm, g in matched[matched["lr"].isin(both)].assign(arm=bn_arms).groupby("arm")
    ]
    body = "\n\n".join(
        [
            "The question has a claim (BN makes nets easier to train) and a hypothesis for "
            "why (the data stays normally distributed). They are measured apart: first how "
            "much easier, then the paper's test of the hypothesis, then the two other "
            "accounts (wider trainable rates, a smoother landscape).",
            "**Easier to train.** BN − no BN in test accuracy (a run that diverged or "
            "collapsed to one class at the majority-class share; a pair where both fail "
            "differs by 0), "
            "each unit a pair of runs that differ only in BN: "
            + (
                "; ".join(
                    f"{name}: {est.fmt(signed=True)} ({est.n} {est.unit})"
                    for name, est in easier.items()
                )
                or "no study ran both"
            )
            + ". Runs that train, per setting and arm:",
            table(["setting", "norm", "runs that train"], easy_rows),
            noise_text or "The noisy-BN study (`bn_noise`) has not run.",
            "**Wider trainable rates.** " + ctx.describe("bn"),
            f"![Loss curves per learning rate with and without BN]({link})",
            "Share of runs that train, per learning rate and arm; the highest rate at which "
            "at least half train is "
            + ", ".join(top_text(a) for a in [*positions, "none"] if a in top)
            + " (for a saturating net, see the deep sigmoid counts in [B1](#b1)):",
            table(["lr", *(position_name(a) for a in arms)], rows),
            "**Smoother landscape.** Along the gradient direction (Santurkar et al. 2018), "
            "compared only between runs that both train; each run's value is the median over "
            "its probe points (points of one run are not independent), BN's positions "
            "averaged, and BN − none paired by rate and seed "
            f"({beta.n} {beta.unit}: {beta.fmt(signed=True)}). Per arm, over the rates where "
            f"both train ({', '.join(f'{lr:g}' for lr in both) or 'none'}), the medians of "
            f"β-smoothness (`{beta_col.removeprefix('probe_')}`: gradient change per unit step"
            + (
                ", times the squared weight norm, so BN's scale invariance does not inflate it"
                if beta_col.endswith("scaled")
                else ""
            )
            + "), loss range over the probed steps, and gradient norm:",
            table(["arm", "β-smoothness", "loss range", "gradient norm"], smooth),
            "Santurkar et al. found that noisy BN trains as well as BN while its "
            "distributions shift more than without BN, and that BN smooths the landscape; "
            "the verdict says which of these this run reproduces.",
        ]
    )
    return Section("b2", "B2", body, [verdict])
