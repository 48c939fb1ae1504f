"""B2's test of the normality hypothesis: Santurkar et al.'s (2018) noisy BN (study
`bn_noise`), and whether BN makes what enters the nonlinearity more normal."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ablate.analysis.paired import paired_units
from ablate.analysis.rules import batchnorm as rules
from ablate.analysis.rules import common
from ablate.analysis.significance import holm_family
from ablate.analysis.stats import Estimate, mean_ci
from ablate.analysis.tuning import select_best_lr
from ablate.report.bn_measures import (
    PAIRS,
    median_text,
    rate_seed_units,
    scored,
    top_rate,
    trained,
)
from ablate.report.context import Context
from ablate.report.markdown import table

SKEWED = "skewed"  # the `skewed_batch` arm: BN bent to a fixed log-normal shape


def noise_experiment(
    ctx: Context,
) -> tuple[Estimate, dict[float, rules.NoiseLevel], float, str, rules.ShapeArm | None]:
    """Santurkar et al.'s noisy-BN test (study `bn_noise`): per noise amplitude, noisy BN
    minus no BN and minus BN over (rate, seed) pairs (test accuracy, failed runs at the
    floor), and log10 of its noise's per-step shift of the distribution entering each
    nonlinearity over the shift a training step gives the net without BN. Also BN minus
    no BN in the same net, the equivalence margin, the section's text, and the stable but
    log-normal BN (`skewed`) against no BN and BN, where it ran."""
    df = ctx.study("bn_noise", status=None)
    empty = paired_units([], PAIRS)
    if df.empty:
        return empty, {}, common.MIN_MARGIN, "", None
    noise = df["norm_noise"] if "norm_noise" in df else pd.Series(np.nan, df.index)
    arm = df["norm"].where(df["norm"] != "noisy_batch", "noisy " + noise.map("{:g}".format))
    arm = arm.where(arm != "skewed_batch", SKEWED)
    df = df.assign(arm=arm, score=scored(df), trains=trained(df))
    bn_adv = rate_seed_units(df, "arm", "batch", "none", "score")
    bn_best = select_best_lr(df[(df["arm"] == "batch") & (df["status"] == "ok")], [])
    bound = common.margin(bn_best["test_acc"].mean() if len(bn_best) else float("nan"))
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
                median_text(best, "steps_to_loss", 0),
                median_text(g, "probe_drift_noise_mean", 3),
                median_text(g, "probe_drift_step_mean", 3),
                median_text(g, "probe_act_in_skew"),
                median_text(g, "probe_act_in_kurt"),
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
    skewed = None
    if SKEWED in set(df["arm"]):
        ok = df[df["status"] == "ok"]
        kurtosis = (
            rate_seed_units(ok, "arm", SKEWED, "batch", "probe_act_in_kurt")
            if "probe_act_in_kurt" in ok
            else empty
        )
        skewed = rules.ShapeArm(
            rate_seed_units(df, "arm", SKEWED, "none", "score"),
            rate_seed_units(df, "arm", SKEWED, "batch", "score"),
            kurtosis,
            rate_seed_units(
                df.assign(trains=df["trains"].astype(float)), "arm", SKEWED, "batch", "trains"
            ),
            _failed_loss(df[df["arm"] == SKEWED], ctx.history),
            int(df["classes"].dropna().iloc[0])
            if "classes" in df and df["classes"].notna().any()
            else 10,
        )
    # Any arm may decide, so the deciding comparisons are Holm-adjusted across the noise
    # levels and the skewed arm together.
    family: dict[object, Estimate] = {a: lv.vs_none for a, lv in levels.items()}
    if skewed is not None:
        family[SKEWED] = skewed.vs_none
    adjusted = holm_family(family)
    levels = {a: rules.NoiseLevel(adjusted[a], lv.vs_bn, lv.drift) for a, lv in levels.items()}
    if skewed is not None:
        skewed = replace(skewed, vs_none=adjusted[SKEWED])
    contrasts = "; ".join(
        f"noise {a:g}: − none {lv.vs_none.fmt(signed=True)}, − BN {lv.vs_bn.fmt(signed=True)}, "
        f"log10 shift ratio {lv.drift.fmt(signed=True, digits=2)}"
        for a, lv in levels.items()
    )
    shape = where_none_trains(df, [*levels, *([SKEWED] if skewed is not None else [])])
    shape += shape_sentence(df)
    if skewed is not None:
        shape += (
            f" **Normal apart from fixed.** The `{SKEWED}` arm bends each BN output by a fixed "
            "exponential before BN's learned scale and shift (g(z) = (e^(z/2) − e^(1/8)) / sd: "
            "mean 0 and variance 1 for a normal z, but log-normal, skewness 1.75 and excess "
            "kurtosis 5.9), so what enters each nonlinearity is as fixed as BN's and far "
            "from normal. Over the same pairs: skewed − no BN "
            f"{skewed.vs_none.fmt(signed=True)} (Holm-adjusted with the noise levels), "
            f"skewed − BN {skewed.vs_bn.fmt(signed=True)}; share of pairs that trained, skewed − "
            f"BN {skewed.trains_vs_bn.fmt(signed=True)}; its excess kurtosis minus BN's "
            f"{skewed.kurtosis.fmt(signed=True, digits=2)}."
        )
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
            f"Over the {PAIRS} (test accuracy, a run that diverged or collapsed counted at "
            "the majority-class share): BN − no "
            f"BN {bn_adv.fmt(signed=True)}; {contrasts or 'no noisy arm ran'}. The shift "
            "ratio compares the noise's shift with the shift a training step gives the net "
            "without BN at the same rate and seed (> 0: the noise moves the distribution "
            "more). Noisy − no BN is Holm-adjusted across the noise levels. An advantage "
            f"counts as lost when its CI lies within ±{bound:.3f} (a quarter of BN's error "
            "rate) or below zero." + shape,
        ]
    )
    return bn_adv, levels, bound, text, skewed


def where_none_trains(df: pd.DataFrame, arms: list[object]) -> str:
    """Each arm minus no BN over only the (rate, seed) pairs where the net without BN
    trains: the part of an advantage that is not just training at rates where no BN fails."""
    none = df[(df["arm"] == "none") & df["trains"]]
    pairs = set(zip(none["lr"], none["seed"], strict=True))
    if not pairs:
        return ""
    kept = df[[(lr, seed) in pairs for lr, seed in zip(df["lr"], df["seed"], strict=True)]]
    names = {a: a if isinstance(a, str) else f"noise {a:g}" for a in arms}
    arm_of = {a: a if isinstance(a, str) else f"noisy {a:g}" for a in arms}
    parts = [f"BN {rate_seed_units(kept, 'arm', 'batch', 'none', 'score').fmt(signed=True)}"]
    parts += [
        f"{names[a]} {rate_seed_units(kept, 'arm', arm_of[a], 'none', 'score').fmt(signed=True)}"
        for a in arms
    ]
    rates = ", ".join(f"{lr:g}" for lr in sorted({lr for lr, _ in pairs}))
    return (
        f" Over only the {len(pairs)} {PAIRS} where the net without BN trains (lr {rates}), "
        f"arm − no BN: {'; '.join(parts)}: what is left of each advantage once the rates "
        "where no BN fails are set aside."
    )


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


def _failed_loss(runs: pd.DataFrame, history: pd.DataFrame) -> float:
    """Median over the runs that did not train of each one's highest logged training loss
    (NaN where all trained or no curve is logged): a blow-up peaks far above ln(classes)."""
    if history.empty or not {"key", "train_loss"} <= set(history) or "key" not in runs:
        return float("nan")
    failed = runs.loc[~runs["trains"].astype(bool), "key"]
    peaks = history[history["key"].isin(failed)].groupby("key")["train_loss"].max()
    return float(peaks.median()) if peaks.notna().any() else float("nan")
