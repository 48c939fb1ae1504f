"""Activation question A2 (sigmoid): its gradient shrinking toward the input at init,
saturation, the cost of its non-zero mean (σ − ½ against σ per depth, study
`sigmoid_offset`) and its cost per op against relu."""

from __future__ import annotations

import pandas as pd

from ablate.analysis.contrasts import by_stratum, contrast
from ablate.analysis.depth_trend import factor_text, log_slopes
from ablate.analysis.paired import paired_units
from ablate.analysis.rules import activations as rules
from ablate.analysis.rules import common
from ablate.analysis.rules.common import MissingEvidence, pow10_fmt
from ablate.analysis.significance import holm_family
from ablate.analysis.stats import mean_ci
from ablate.report import activation_measures as measures
from ablate.report import activation_outcomes as outcomes
from ablate.report import figures
from ablate.report.context import Context, Section
from ablate.report.markdown import table


def _deepest(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["depth"] == df["depth"].max()]


def _offset_runs(ctx: Context) -> pd.DataFrame:
    """A2's runs of sigmoid and sigma - 1/2 per depth (the sigmoid_offset study: six seeds a
    depth), diverged runs at the majority share."""
    df = ctx.study("sigmoid_offset", status=None)
    if not {"sigmoid", "sigmoid_centered"} <= set(df["activation"]):
        raise MissingEvidence("sigmoid_offset needs sigmoid and σ − ½ runs")
    return outcomes.failed_at_floor(df)


def _offset_margin(df: pd.DataFrame) -> float:
    """Equivalence margin of the offset comparison: a fifth of the error of the control (relu
    at the shallowest depth), else of the best arm and depth."""
    relu = df[(df["activation"] == "relu") & (df["depth"] == df["depth"].min())]
    ref = relu if len(relu) else df
    acc = ref.groupby(["activation", "depth"])["test_acc"].mean().max()
    return common.margin(float(acc))


def _shrink_runs(ctx: Context, offset: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Per run of the deepest nets of A2's offset study: the log10 factor per layer of the
    weight-gradient norm toward the input at init (below 0: it shrinks), with the run's
    activation, init and seed, so sigmoid and relu pair by seed."""
    deepest = offset[offset["depth"] == offset["depth"].max()]
    grads = ctx.layers("sigmoid_offset", "grad")
    grads = grads[grads["key"].isin(deepest["key"])] if not grads.empty else grads
    shrink = -log_slopes(grads, "grad_norm")
    runs = deepest[["key", "activation", "init", "seed"]].assign(
        shrink=lambda d: d["key"].map(shrink).astype(float)
    )
    return runs.dropna(
        subset=["shrink"]
    ), f"sigmoid_offset, {int(deepest['depth'].max())} hidden layers"


def _exp_text(ctx: Context) -> str:
    """What the op timing can and cannot say about exp(): an activation without exp() that
    costs as much over relu as sigmoid does says the cost is not exp()'s alone."""
    if ctx.cost.empty or "abs" not in set(ctx.cost["activation"]):
        return ""
    sig, no_exp = measures.cost_ratio(ctx, "sigmoid"), measures.cost_ratio(ctx, "abs")
    return (
        f"The timing shows sigmoid costing more than relu (×{pow10_fmt(sig)}), not that exp() "
        f"is why: abs, one comparison and no exp(), costs ×{pow10_fmt(no_exp)} relu's on the "
        "same tensor."
    )


def a2(ctx: Context) -> Section:
    study = ctx.study("depth_init")
    df = _deepest(study)
    if {"sigmoid", "relu"} - set(df["activation"]):
        raise MissingEvidence("depth_init needs deep sigmoid and relu runs")
    depth = int(df["depth"].max())
    grads = ctx.layers("depth_init", "grad")
    grads = grads[(grads["depth"] == depth) & grads["init"].isin(["xavier", "kaiming"])]
    shrink = -log_slopes(grads, "grad_norm")  # log10 factor per layer toward the input
    by_act = {a: shrink.reindex(g["key"].unique()).dropna() for a, g in grads.groupby("activation")}
    acts = ctx.layers("depth_init", "act")
    acts = acts[(acts["init"] == "xavier") & (acts["depth"] == depth)]
    sig = df[df["activation"] == "sigmoid"]
    # Saturation where it can show: the deciding study's sigmoid nets that learned, at the
    # end of training (a net that never trained is still at init); at init in the deepest.
    offset = _offset_runs(ctx)
    sigmoid = offset[offset["activation"] == "sigmoid"]
    learned = sigmoid[sigmoid["test_acc"] > sigmoid["majority_acc"].fillna(0.1) + 0.1]
    # Per depth, never pooled: the claim holds when every depth saturates (the smallest).
    sat_by_depth = learned.groupby("depth")["probe_sat_frac_end"].agg(["median", "size"])
    sat = float(sat_by_depth["median"].min()) if len(sat_by_depth) else float("nan")
    sat_init = float(sig["probe_sat_frac_init"].median())
    pair = ["sigmoid_centered"], ["sigmoid"]
    both, neither = outcomes.either_trained(offset, [*pair[0], *pair[1]], ["depth", "seed"])
    # one comparison per depth, Holm-adjusted across the depths as C2 and B1 adjust theirs
    centering = holm_family(
        {int(d): e for d, e in by_stratum(both, "depth", "activation", *pair).items()}
    )
    margin = _offset_margin(offset)
    counts = {
        int(d): ", ".join(
            f"{'σ − ½' if a == 'sigmoid_centered' else a} {int(outcomes.trained(r).sum())}/{len(r)}"
            for a, r in g.groupby("activation")
            if a in ("sigmoid_centered", "sigmoid")
        )
        for d, g in offset.groupby("depth")
    }
    op_ratio = measures.cost_ratio(ctx, "sigmoid")
    step = measures.step_ratio(ctx, "sigmoid")  # context: timed in separate runs, never deciding
    shrink_runs, shrink_from = _shrink_runs(ctx, offset)
    sigmoid_shrink = shrink_runs[shrink_runs["activation"] == "sigmoid"]
    verdict_shrink = paired_units(sigmoid_shrink.groupby("seed")["shrink"].mean(), "seeds")
    verdict_vs_relu = contrast(
        shrink_runs, "activation", ["sigmoid"], ["relu"], "shrink", within=["init"]
    )
    centred = shrink_runs[shrink_runs["activation"] == "sigmoid_centered"]
    centred_shrink = paired_units(centred.groupby("seed")["shrink"].mean(), "seeds")
    verdict = rules.a2_sigmoid(
        verdict_shrink,
        verdict_vs_relu,
        sat,
        centering,
        margin,
        op_ratio,
        counts,
    )
    path, link = ctx.figure("a2_gradient_by_layer.png")
    figures.lines(
        grads[grads["init"] == "xavier"],
        "layer_idx",
        "grad_norm",
        "activation",
        path,
        f"Weight-gradient norm by layer at init ({depth} hidden layers, xavier)",
        logy=True,
        xlabel="layer (input → output)",
        ylabel="weight-gradient norm",
    )
    # The backward signal itself, ‖∂L/∂h_l‖ at each activation: a weight gradient is that
    # signal times the layer's input, so an input that shrinks forward can hide it.
    acts_all = ctx.layers("depth_init", "act")
    acts_all = acts_all[(acts_all["depth"] == depth) & acts_all["init"].isin(["xavier", "kaiming"])]
    signal = (
        -log_slopes(acts_all, "act_grad_norm")
        if "act_grad_norm" in acts_all
        else pd.Series(dtype=float)
    )
    shrink_rows = [
        [
            a,
            factor_text(v),
            f"{(10 ** float(v.mean())) ** depth:.2g}",
            factor_text(signal.reindex(acts_all[acts_all["activation"] == a]["key"].unique())),
            len(v),
        ]
        for a, v in by_act.items()
        if len(v)
    ]
    ranges = (
        ctx.cost.groupby("activation")[["out_min", "out_max"]].first()
        if not ctx.cost.empty
        else pd.DataFrame()
    )
    ms = measures.cost_ms(ctx)
    rows = [
        [
            a,
            f"[{r['out_min']:.3g}, {r['out_max']:.3g}]",
            f"{ms.get(a, float('nan')):.2f}",
            pow10_fmt(measures.cost_ratio(ctx, a)),
        ]
        for a, r in ranges.iterrows()
    ]
    offset_rows = [
        [
            int(d),
            a,
            f"{g['lr'].iloc[0]:g}"
            if g["lr"].nunique() == 1
            else f"{g['lr'].min():g}–{g['lr'].max():g}",
            f"{int(outcomes.trained(g).sum())}/{len(g)}",
            mean_ci(g["test_acc"]).fmt(),
        ]
        for (d, a), g in offset.groupby(["depth", "activation"])
    ]
    body = "\n\n".join(
        [
            ctx.describe("depth_init"),
            f"![Gradient norm by layer]({link})",
            f"Per-layer factor toward the input at init (the fitted slope of log norm against "
            f"layer, {depth} hidden layers, xavier and kaiming runs; below 1 it shrinks) of the "
            "weight-gradient norm, what it compounds to over the net, and of the backward signal "
            "‖∂L/∂h‖ at each activation. A weight gradient is that signal times the layer's "
            "input, so the two can part: " + measures.masked(by_act, signal, acts_all),
            table(
                [
                    "activation",
                    "weight gradient, per layer",
                    f"over {depth} layers",
                    "backward signal ‖∂L/∂h‖, per layer",
                    "runs",
                ],
                shrink_rows,
            ),
            f"The gradient part is decided on `{shrink_from}`, where sigmoid and relu share "
            f"seeds: sigmoid's factor per layer ×{pow10_fmt(verdict_shrink)} "
            f"({verdict_shrink.n} {verdict_shrink.unit}), and its log10 difference from relu's "
            f"{verdict_vs_relu.fmt(signed=True)} ({verdict_vs_relu.n} {verdict_vs_relu.unit}, "
            "paired by seed)."
            + (
                f" σ − ½, with sigmoid's slope and a zero mean: ×{pow10_fmt(centred_shrink)} "
                f"({centred_shrink.n} {centred_shrink.unit}). A weight gradient is the backward "
                "signal times the layer's input: sigmoid's inputs keep the norm of their ½ mean "
                "at every layer, σ − ½'s do not, so the weight-gradient factor measures the "
                "slope together with the offset, not the slope alone."
                if centred_shrink.n
                else ""
            ),
            measures.slope_table(acts),
            f"Saturation (outputs within 2% of 0 or 1; the claim needs at least "
            f"{rules.SATURATED:.0%} at every depth), at the end of training in the sigmoid "
            "runs of `sigmoid_offset` that learned, median over runs per depth: "
            + "; ".join(
                f"depth {int(d)}: {r['median']:.1%} ({int(r['size'])} runs)"
                for d, r in sat_by_depth.iterrows()
            )
            + f"; against {sat_init:.2%} at init in `depth_init`'s deepest nets. So the deep "
            "nets' backward signal shrinks at init, before anything saturates: that part is "
            "the slope bound σ′ ≤ 1/4; saturation is what training drives the units into.",
            ctx.describe("sigmoid_offset"),
            "Offset against slope: σ(x) − ½ (`sigmoid_centered`) has sigmoid's slope and a zero "
            "mean, so its difference from sigmoid isolates the cost of the non-zero mean; tanh "
            "is zero-centred with 4× the slope. Runs of `sigmoid_offset`, per depth (the strata; "
            "each arm and depth at its own rate; a diverged run counts at the majority-class "
            "share):",
            table(["depth", "activation", "lr", "trained", "test accuracy [95% CI]"], offset_rows),
            "σ(x) − ½ minus sigmoid per depth, the seeds as units, p Holm-adjusted across the "
            "depths (equivalence margin "
            f"±{margin:.3f}, {common.ERROR_SHARE:.0%} of the control's error rate; a "
            "difference whose whole CI lies within it is no cost worth the name, even where "
            "it excludes 0): "
            + rules.strata_text(centering, margin, "depth", rules.practical)
            + f". {neither} (depth, seed) pair{'s' if neither != 1 else ''} where neither arm "
            "trained are left out (two failures do not say which is better; the table counts "
            "them). Where depths disagree the verdict names them rather than pool them.",
            "Cost, decided side by side: one sigmoid op against one relu op on the same "
            "tensor, timed alternately in one process (below); the cost part holds when the "
            f"ratio's 95% CI lies above 1 ({pow10_fmt(op_ratio)}, {op_ratio.n} repeats). Only "
            "that side of 1 is claimed: a magnitude timed on one machine does not carry to "
            "another. For context, not deciding: sigmoid's time per training step over relu's "
            "in the main grid's runs (paired by every other axis and seed, but timed in "
            f"separate runs) ×{pow10_fmt(step)} ({step.n} {step.unit}). One activation op "
            "alone on a "
            f"{int(ctx.cost['elements'].iloc[0]) if not ctx.cost.empty else 0:,}-element tensor "
            "(median of repeats, one thread):",
            table(
                [
                    "activation",
                    "output range",
                    "fwd+bwd ms (median)",
                    "time / relu, geometric mean [95% CI]",
                ],
                rows,
            ),
            _exp_text(ctx),
            "The notes say sigmoid and another activation both squash to [0, 1]: in the table "
            "only sigmoid does; tanh spans [-1, 1] and ReLU is unbounded above.",
        ]
    )
    return Section("a2", "A2", body, [verdict])
