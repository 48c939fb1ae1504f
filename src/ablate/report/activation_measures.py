"""The per-activation measures the activation section (A2, A5) quotes beside its verdicts:
op cost and step-time ratios, and the per-layer slope table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ablate.analysis.paired import paired_diff
from ablate.analysis.stats import Estimate, mean_ci
from ablate.report.context import Context
from ablate.report.markdown import table


def cost_ratio(ctx: Context, name: str, base: str = "relu") -> Estimate:
    """log10 of name's time over base's, per repeat (timed side by side), averaged: a
    geometric mean, which one repeat slowed by a busy machine moves less than a mean."""
    if ctx.cost.empty:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    wide = ctx.cost.pivot_table(index="repeat", columns="activation", values="seconds")
    return mean_ci(np.log10(wide[name] / wide[base]).to_numpy())


def cost_ms(ctx: Context) -> dict[str, float]:
    if ctx.cost.empty:
        return {}
    return (ctx.cost.groupby("activation")["seconds"].median() * 1e3).to_dict()


def slope_table(acts: pd.DataFrame) -> str:
    """Per activation: mean |f'(z)| per layer at init, and the backward gain it implies over
    the net (the product of the layers' mean slopes) next to the 0.25^L bound of sigmoid.
    The slope, not the saturation fraction, is what shrinks a sigmoid net's gradients."""
    if acts.empty or "mean_slope" not in acts or acts["mean_slope"].isna().all():
        return ""
    rows = []
    for act, g in acts.groupby("activation"):
        per_layer = g.groupby("layer_idx")["mean_slope"].mean()
        if per_layer.isna().all():
            continue
        layers = len(per_layer)
        rows.append(
            [
                act,
                f"{per_layer.mean():.3f}",
                f"{per_layer.min():.3f} – {per_layer.max():.3f}",
                f"{float(per_layer.prod()):.2g}",
                f"{0.25**layers:.2g}",
                f"{g['sat_frac'].mean():.2%}" if "sat_frac" in g else "—",
            ]
        )
    return (
        "Mean slope |f′(z)| of each activation at init, per layer of the deepest net: a "
        "backward pass multiplies the gradient by it at every layer. Sigmoid's slope is at "
        "most 1/4 (σ′ = σ(1 − σ)), tanh's at most 1 (tanh = 2σ(2x) − 1: the same curve, "
        "zero-centred, with 4× the slope), so their product over L layers is the part of "
        "the vanishing gradient that comes from the slope alone:\n\n"
        + table(
            [
                "activation",
                "mean slope",
                "range over layers",
                "product over layers",
                "0.25^L",
                "saturated values",
            ],
            rows,
        )
    )


HOLDS, DIES = 0.9, 0.5  # per-layer factors: a weight gradient that holds, a signal that dies


def masked(by_act: dict[str, pd.Series], signal: pd.Series, acts: pd.DataFrame) -> str:
    """Name the activations whose weight gradients hold their size (factor ≥ 0.9 per layer)
    while the backward signal dies (< 0.5 per layer): inputs that shrink forward as fast as
    the signal shrinks backward hide the vanishing gradient from a weight-gradient plot."""
    hidden = []
    for act, weight in by_act.items():
        sig = signal.reindex(acts[acts["activation"] == act]["key"].unique()).dropna()
        if (
            len(weight.dropna())
            and len(sig)
            and 10 ** weight.mean() >= HOLDS
            and 10 ** sig.mean() < DIES
        ):
            hidden.append(act)
    if not hidden:
        return "here no activation's weight gradients hide a dying signal."
    return (
        f"{', '.join(hidden)} keep{'s' if len(hidden) == 1 else ''} weight gradients of one "
        "size through depth while the signal dies: their inputs shrink forward as fast as "
        "the signal shrinks backward."
    )


def step_ratio(ctx: Context, act: str, base: str = "relu") -> Estimate:
    """log10 of act's time per training step over base's, paired over the main grid's
    cells and seeds (runs that trained their whole budget): exp's cost as a share of a real
    network's step, not of one op."""
    main = ctx.study("main")  # whole budgets only: a stopped run spreads its fixed costs
    main = main[main["stopped"].isna() & (main["steps"].fillna(0) >= 20)].assign(
        log_step=lambda d: np.log10(d["fit_time_s"] / d["steps"])
    )
    pair_on = [c for c in ("init", "norm", "downsampling", "arch", "seed") if c in main]
    return paired_diff(main, "activation", act, base, pair_on, metric="log_step")
