"""Batch-normalisation questions B1 (what and where) and B2 (why it helps)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ablate.analysis.rules import batchnorm as rules
from ablate.analysis.rules.common import MissingEvidence
from ablate.analysis.stats import Estimate, holm_family, mean_ci, paired_units
from ablate.analysis.tuning import select_best_lr
from ablate.report import figures
from ablate.report.context import Context, Section
from ablate.report.markdown import table

PAIRS = "(rate, seed) pairs"


def _median(rows: pd.DataFrame, column: str, digits: int = 2) -> str:
    if column not in rows or rows[column].isna().all():
        return "—"
    return f"{rows[column].median():.{digits}f}"


def _arms(df: pd.DataFrame) -> pd.Series:
    return df["norm"].where(df["norm"] == "none", "batch/" + df["norm_position"].astype(str))


def trained(df: pd.DataFrame) -> pd.Series:
    """Whether each run trains: the run table's `trained` where it has one, else the same
    rule (finished ok, test accuracy more than 0.1 above always guessing the commonest
    class)."""
    if "trained" in df and df["trained"].notna().all():
        return df["trained"].astype(bool)
    majority = df["majority_acc"] if "majority_acc" in df else pd.Series(0.1, df.index)
    return (df["status"] == "ok") & (df["test_acc"].fillna(0) > majority.fillna(0.1) + 0.1)


def scored(df: pd.DataFrame, chance: float) -> pd.Series:
    """Test accuracy, a run that did not finish ok counting at chance: over a rate sweep,
    one number that charges a diverged run as the loss it is."""
    return df["test_acc"].where(df["status"] == "ok").fillna(chance)


def rate_seed_units(
    df: pd.DataFrame,
    arm: str,
    a: object,
    b: object,
    value: str,
    only_where: str | None = None,
    within: tuple[str, ...] = ("init",),
) -> Estimate:
    """a − b in `value` over the (rate, seed) pairs where both arms ran (each pair one
    unit; pairs are also matched on the `within` columns present, and anything else is
    averaged within a pair); with `only_where`, over the pairs where that boolean column
    holds for both."""
    index = ["lr", "seed", *(c for c in within if c in df)]
    wide = df.pivot_table(index=index, columns=arm, values=value, aggfunc="mean")
    if a not in wide or b not in wide:
        return paired_units([], PAIRS)
    diff = wide[a] - wide[b]
    if only_where is not None:
        ok = df.pivot_table(index=index, columns=arm, values=only_where, aggfunc="min")
        diff = diff[(ok[a] > 0) & (ok[b] > 0)]
    return paired_units(diff.dropna().to_numpy(), PAIRS)


def outcome_counts(df: pd.DataFrame, arm: str) -> tuple[list[str], list[list[str]]]:
    """Per arm and rate: runs that train / runs, and how many diverged."""
    rates = sorted(df["lr"].unique())
    rows = []
    for level, g in df.groupby(arm, sort=True):
        cells = []
        for lr in rates:
            h = g[g["lr"] == lr]
            div = int((h["status"] == "diverged").sum())
            cells.append(
                f"{int(h['trains'].sum())}/{len(h)}" + (f" ({div} div.)" if div else "")
                if len(h)
                else "—"
            )
        rows.append([str(level), *cells])
    return [arm, *(f"lr {lr:g}" for lr in rates)], rows


# The B1 families: study -> the name the report gives it.
FAMILIES = {"bn": "conv/relu", "bn_mlp": "mlp/relu", "bn_sigmoid": "mlp/sigmoid"}


def position_strata(
    ctx: Context,
) -> tuple[dict[tuple[str, str], rules.PositionStratum], list[str], list[list[str]]]:
    """Per (family, init): BN-before minus BN-after, paired by (rate, seed), in whether the
    run trains and in test accuracy where both train; Holm-adjusted as one family of
    tests. Also, per family, a table of runs that train (and diverge) per arm and rate,
    and per stratum and position the accuracy at its own best-validated rate."""
    raw: dict[tuple[str, str], tuple[Estimate, Estimate, float]] = {}
    counts: list[str] = []
    best_rows: list[list[str]] = []
    for study, family in FAMILIES.items():
        df = ctx.study(study, status=None)
        if df.empty or not {"pre", "post"} <= set(df[df["norm"] == "batch"]["norm_position"]):
            continue
        df = df.assign(arm=_arms(df), trains=trained(df))
        for init, g in df.groupby("init", sort=True):
            headers, rows = outcome_counts(g, "arm")
            counts.append(f"{family}, init {init} (`{study}`):\n\n" + table(headers, rows))
            bn = g[g["norm"] == "batch"].assign(trains=lambda d: d["trains"].astype(float))
            if bn["norm_position"].nunique() < 2:
                continue
            success = rate_seed_units(bn, "norm_position", "pre", "post", "trains")
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
                        _median(h, "probe_bn_out_mean_end"),
                        _median(h, "probe_bn_out_std_end"),
                        _median(h, "probe_bn_out_skew_end"),
                        _median(h, "probe_bn_out_kurt_end"),
                    ]
                )
            raw[(family, str(init))] = (success, acc, rules.margin(max(best_acc.values())))
    # Each measure is its own question (does it train? how well, where both do?), asked
    # of every stratum: Holm-adjusted across the strata, per measure.
    trains = holm_family({k: s for k, (s, _, _) in raw.items()})
    accs = holm_family({k: a for k, (_, a, _) in raw.items()})
    strata = {k: rules.PositionStratum(trains[k], accs[k], bound) for k, (*_, bound) in raw.items()}
    return strata, counts, best_rows


def b1(ctx: Context) -> Section:
    df = ctx.study("bn", status=None)
    ok = ctx.study("bn")
    if not {"pre", "post"} <= set(ok[ok["norm"] == "batch"]["norm_position"]):
        raise MissingEvidence("bn needs BN runs both before and after the activation")
    strata, counts, best_rows = position_strata(ctx)
    verdict = rules.b1_position(strata)
    shown = df.assign(arm=_arms(df), test_acc=scored(df, ctx.chance("bn")))
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
            "the position one unit: the difference in whether it trains (the share of the "
            "sweep), and in test accuracy over the pairs where both train, each with a "
            "t-interval and an exact sign-flip p, Holm-adjusted per measure over the "
            f"{len(strata)} strata. Accuracy near the ceiling leaves few errors to "
            f"win, so *no difference* means a CI within ±{rules.ERROR_SHARE:.0%} of the "
            "better position's error rate (at least "
            f"±{rules.MIN_MARGIN}), and for training within ±{rules.TRAIN_MARGIN:.0%} of "
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


def top_rate(arm: pd.DataFrame) -> float | None:
    """The highest swept rate at which at least half the runs of one arm train."""
    share = arm.groupby("lr")["trains"].mean()
    rates = share[share >= 0.5].index
    return float(max(rates)) if len(rates) else None


def easier_units(ctx: Context) -> tuple[dict[str, Estimate], list[list[str]]]:
    """BN minus no BN where it shows most: the conv rate sweep (`bn`, BN's positions
    averaged within a pair; paired by rate and seed) and the main grid per init (each arm
    at its own searched rate; paired by activation, family, downsampling and seed), in
    test accuracy with runs that failed at chance. Also the rows of runs that train."""
    out: dict[str, Estimate] = {}
    rows: list[list[str]] = []
    bn = ctx.study("bn", status=None)
    if len(bn) and bn["norm"].nunique() > 1:
        bn = bn.assign(score=scored(bn, ctx.chance("bn")), trains=trained(bn))
        for init, g in bn.groupby("init", sort=True):
            out[f"conv sweep, {init}"] = rate_seed_units(g, "norm", "batch", "none", "score")
            rows += [
                [f"conv rate sweep (`bn`), {init}", n, f"{int(h['trains'].sum())}/{len(h)}"]
                for n, h in g.groupby("norm")
            ]
    main = ctx.study("main", status=None)
    if len(main) and main["norm"].nunique() > 1:
        main = main.assign(score=scored(main, ctx.chance("main")), trains=trained(main))
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


def noise_experiment(ctx: Context) -> tuple[Estimate, dict[float, rules.NoiseLevel], float, str]:
    """Santurkar et al.'s noisy-BN test (study `bn_noise`): per noise amplitude, noisy BN
    minus no BN and minus BN over (rate, seed) pairs (test accuracy, failed runs at
    chance), and log10 of its noise's per-step shift of the distribution entering each
    nonlinearity over the shift a training step gives the net without BN. Also BN minus
    no BN in the same net, the equivalence margin, and the section's text."""
    df = ctx.study("bn_noise", status=None)
    empty = paired_units([], PAIRS)
    if df.empty:
        return empty, {}, rules.MIN_MARGIN, ""
    chance = ctx.chance("bn_noise")
    noise = df["norm_noise"] if "norm_noise" in df else pd.Series(np.nan, df.index)
    arm = df["norm"].where(df["norm"] != "noisy_batch", "noisy " + noise.map("{:g}".format))
    df = df.assign(arm=arm, score=scored(df, chance), trains=trained(df))
    bn_adv = rate_seed_units(df, "arm", "batch", "none", "score")
    bn_best = select_best_lr(df[(df["arm"] == "batch") & (df["status"] == "ok")], [])
    bound = rules.margin(bn_best["test_acc"].mean() if len(bn_best) else float("nan"))
    # The shift a training step gives the net without BN, per (rate, seed): the reference.
    none = df[(df["arm"] == "none") & (df["status"] == "ok")]
    reference = none.set_index(["lr", "seed"]).get("probe_drift_step_mean")
    levels: dict[float, rules.NoiseLevel] = {}
    rows: list[list[str]] = []
    for name, g in df.groupby("arm", sort=True):
        best = select_best_lr(g[g["status"] == "ok"], [])
        top = top_rate(g)
        rows.append(
            [
                name,
                f"{int(g['trains'].sum())}/{len(g)}",
                "none" if top is None else f"{top:g}",
                f"{best['lr'].iloc[0]:g}" if len(best) else "—",
                mean_ci(best["test_acc"]).fmt() if len(best) else "—",
                _median(best, "steps_to_loss", 0),
                _median(g, "probe_drift_noise_mean", 3),
                _median(g, "probe_drift_step_mean", 3),
                _median(g, "probe_act_in_skew"),
                _median(g, "probe_act_in_kurt"),
            ]
        )
    for amp in sorted(df.loc[df["norm"] == "noisy_batch", "norm_noise"].dropna().unique()):
        name = f"noisy {amp:g}"
        g = df[(df["arm"] == name) & (df["status"] == "ok")].set_index(["lr", "seed"])
        ratio = pd.Series(np.nan, g.index)
        if reference is not None and "probe_drift_noise_mean" in g:
            ratio = np.log10(g["probe_drift_noise_mean"] / reference.reindex(g.index))
        ratio = ratio.replace([np.inf, -np.inf], np.nan).dropna()
        levels[float(amp)] = rules.NoiseLevel(
            rate_seed_units(df, "arm", name, "none", "score"),
            rate_seed_units(df, "arm", name, "batch", "score"),
            paired_units(ratio.to_numpy(), PAIRS),
        )
    # Any level may decide, so the deciding comparisons are Holm-adjusted across levels.
    adjusted = holm_family({a: lv.vs_none for a, lv in levels.items()})
    levels = {a: rules.NoiseLevel(adjusted[a], lv.vs_bn, lv.drift) for a, lv in levels.items()}
    contrasts = "; ".join(
        f"noise {a:g}: − none {lv.vs_none.fmt(signed=True)}, − BN {lv.vs_bn.fmt(signed=True)}, "
        f"log10 shift ratio {lv.drift.fmt(signed=True, digits=2)}"
        for a, lv in levels.items()
    )
    shape = shape_sentence(df)
    text = "\n\n".join(
        [
            ctx.describe("bn_noise"),
            "**Santurkar et al.'s (2018) test of the hypothesis.** If BN helped because it "
            "keeps each layer's input distribution normal and fixed, a BN whose output is "
            "moved by fresh random noise at every step should lose the advantage. After "
            "each BN, a per-unit random scale s ~ U(1, 1 + a) and shift m ~ U(−a, a), drawn "
            "anew at every training step (evaluation is plain BN). Scaled down from the "
            "paper's VGG on CIFAR-10 to the 3-layer, 128-unit ReLU MLP of B1 on MNIST: the "
            "noise is shared by a batch rather than drawn per example, and narrow layers "
            "average out less of it, so the amplitude runs from mild to strong. Per arm: "
            "runs that train over rates × seeds, the highest rate at which half train, the "
            "best-validated rate, the accuracy and median steps to a training loss of 0.5 "
            "there; the median per-step shift of the "
            "distribution entering each nonlinearity (|Δ mean| / std per unit, on a fixed "
            "batch), from the noise's fresh draw and from one step of the run's own optimizer; "
            "and the shape of that distribution (mean |skewness| and excess kurtosis per "
            "unit; 0 and 0 when normal):",
            table(
                [
                    "arm",
                    "runs that train",
                    "highest lr that trains",
                    "best-validated lr",
                    "test accuracy there [95% CI]",
                    "steps to loss < 0.5 there",
                    "shift per step from noise",
                    "shift per step from training",
                    "|skew|",
                    "kurtosis",
                ],
                rows,
            ),
            f"Over the {PAIRS} (test accuracy, a run that failed counted at chance): BN − no "
            f"BN {bn_adv.fmt(signed=True)}; {contrasts or 'no noisy arm ran'}. The shift "
            "ratio compares the noise's shift with the shift a training step gives the net "
            "without BN at the same rate and seed (> 0: the noise moves the distribution "
            "more). Noisy − no BN is Holm-adjusted across the noise levels. An advantage "
            f"counts as lost when its CI lies within ±{bound:.3f} (a quarter of BN's error "
            "rate) or below zero." + shape,
        ]
    )
    return bn_adv, levels, bound, text


def shape_sentence(df: pd.DataFrame) -> str:
    """Whether BN makes what enters the nonlinearity more normal than no BN does: BN minus
    no BN in its mean |skewness| and excess kurtosis, paired by (rate, seed)."""
    parts = []
    for column, what in (("probe_act_in_skew", "|skewness|"), ("probe_act_in_kurt", "kurtosis")):
        if column not in df or df[column].isna().all():
            return ""
        est = rate_seed_units(df[df["status"] == "ok"], "arm", "batch", "none", column)
        parts.append(f"{what} {est.fmt(signed=True, digits=2)}")
    return (
        " Is BN's output more normal than the layer output without BN? BN − no BN over "
        f"{PAIRS} where both finished: {'; '.join(parts)} (BN fixes each unit's mean and "
        "variance, not the shape of its distribution)."
    )


def b2(ctx: Context) -> Section:
    df = ctx.study("bn", status=None)
    if df["norm"].nunique() < 2:
        raise MissingEvidence("bn needs runs with and without BN")
    trains = df.assign(trains=trained(df))
    by_lr = trains.groupby(["norm", "lr"])["trains"].mean().unstack(0)
    top = {norm: top_rate(trains[trains["norm"] == norm]) for norm in ("batch", "none")}
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
    bn_adv, levels, bound, noise_text = noise_experiment(ctx)
    verdict = rules.b2_why_bn(top["batch"], top["none"], beta, easier, bn_adv, levels, bound)
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
        for arm, g in matched[matched["lr"].isin(both)].assign(arm=_arms).groupby("arm")
    ]
    body = "\n\n".join(
        [
            "The question has a claim (BN makes nets easier to train) and a hypothesis for "
            "why (the data stays normally distributed). They are measured apart: first how "
            "much easier, then the paper's test of the hypothesis, then the two other "
            "accounts (wider trainable rates, a smoother landscape).",
            "**Easier to train.** BN − no BN in test accuracy (runs that failed at chance), "
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
            "Share of runs that train, per learning rate; the highest rate at which at least "
            f"half train is {top['batch'] or '—'} with BN and {top['none'] or '—'} without "
            "(for a saturating net, see the deep sigmoid counts in [B1](#b1)):",
            table(["lr", "no BN", "BN"], rows),
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


def run_medians(runs: pd.DataFrame, probes: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """`runs` with each `probe_<x>` column replaced by the median of `<x>` over the run's
    probe points (the run's own summary, a mean over points, is kept where no points were
    logged): points of one run share its weights and are not independent replicates."""
    names = {c: c.removeprefix("probe_") for c in columns}
    if probes.empty or not set(names.values()) <= set(probes.columns):
        return runs
    points = probes[probes["key"].isin(runs["key"])].groupby("key")[list(names.values())]
    medians = points.median().rename(columns={v: k for k, v in names.items()})
    by_key = runs.set_index("key")
    return by_key.assign(
        **{c: medians[c].reindex(by_key.index).fillna(by_key[c]) for c in columns}
    ).reset_index()
