"""Activation questions: A1 (linear collapse), A2 (sigmoid), A3 (zero init), A4 (leaky
ReLU), A5 (why ReLU)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ablate.analysis.depth_trend import factor_text, log_slopes
from ablate.analysis.rules import activations as rules
from ablate.analysis.rules.common import MissingEvidence, pow10_fmt
from ablate.analysis.stats import (
    diff_of_means,
    holm_family,
    mean_ci,
    paired_by_stratum,
    paired_diff,
)
from ablate.probes.capacity import MAX_IMAGES
from ablate.report import activation_measures as measures
from ablate.report import figures
from ablate.report.context import Context, Section
from ablate.report.markdown import table


def _deepest(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["depth"] == df["depth"].max()]


def _ratio(df: pd.DataFrame, top: str, bottom: str) -> float:
    return float((df[top] / df[bottom]).median()) if len(df) else float("nan")


def a1(ctx: Context) -> Section:
    df = ctx.study("linear_collapse")
    linear = df[df["arch"] == "linear"]
    mlp = df[df["arch"] == "mlp"]
    if linear.empty or "identity" not in set(mlp["activation"]):
        raise MissingEvidence("linear_collapse needs linear runs and identity MLPs")
    ident = mlp[mlp["activation"] == "identity"]
    nonlin = {a: g for a, g in mlp.groupby("activation") if a != "identity"}
    if not nonlin:
        raise MissingEvidence("linear_collapse has no nonlinear MLP runs")
    if "logit_affine_r2" not in df or df["logit_affine_r2"].isna().all():
        raise MissingEvidence(
            "linear_collapse runs lack the capacity probe (probes.capacity: true)"
        )
    best = max(nonlin, key=lambda a: nonlin[a]["val_acc"].mean())  # select on validation
    depth_gain = paired_diff(
        mlp, "activation", best, "identity", ["depth", "seed"], metric="train_fit_acc"
    )
    vs_linear = diff_of_means(ident["train_fit_acc"], linear["train_fit_acc"])
    nonlinear = mlp[mlp["activation"] != "identity"]
    verdict = rules.a1_linear_collapse(
        float(ident["logit_affine_r2"].min()),
        float(nonlinear["logit_affine_r2"].max()),
        depth_gain,
        vs_linear,
    )
    shown = df.assign(
        model=df["arch"].where(df["arch"] == "linear", "mlp/" + df["activation"].astype(str))
    )
    path, link = ctx.figure("a1_linear_collapse.png")
    figures.bars(
        shown,
        "model",
        "test_acc",
        figures.ACC,
        path,
        "Deep linear nets vs a linear classifier",
        hue=None if shown["depth"].nunique() < 2 else "depth",
    )
    rows = [
        [
            m,
            int(d) if m != "linear" else "—",
            mean_ci(g["train_fit_acc"]).fmt(),
            f"{g['train_fit_loss'].mean():.3f}",
            f"{g['logit_affine_r2'].min():.4f} – {g['logit_affine_r2'].max():.4f}",
            mean_ci(g["test_acc"]).fmt(),
        ]
        for (m, d), g in shown.groupby(["model", "depth"])
    ]
    body = "\n\n".join(
        [
            ctx.describe("linear_collapse"),
            f"![Accuracy of linear and deep models]({link})",
            table(
                [
                    "model",
                    "hidden layers",
                    "training accuracy [95% CI]",
                    "training loss",
                    "R² logits ~ affine(input)",
                    "test accuracy [95% CI]",
                ],
                rows,
            ),
            "A product of linear maps is one linear map, so an identity-activation MLP can only "
            "represent what the linear classifier represents. The claim is about capacity, so it "
            "is tested on what the trained nets compute, not on test accuracy: the adjusted R² "
            "of the best affine map of the input to the trained net's logits, fitted by least "
            f"squares on up to {MAX_IMAGES:,} training images (1 for an affine net; the identity "
            f"net counts as affine from {rules.AFFINE_R2}), and the fit to the whole training "
            f"split (eval mode) of the nonlinear MLP ({best}, chosen on validation accuracy) "
            "against the identity MLP at the same depths and seeds: "
            f"{depth_gain.fmt(signed=True)} ({depth_gain.n} {depth_gain.unit}). The one-layer "
            "linear classifier is the same function class as the identity MLP; their training "
            f"fits differ by {vs_linear.fmt(signed=True)} (identity − linear), which is "
            "optimisation, not capacity.",
        ]
    )
    return Section("a1", "A1", body, [verdict])


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
    # Saturation where it can show: sigmoid nets of any depth that learned, at the end of
    # training (a net that never trained is still at init); at init in the deepest nets.
    sigmoid = study[study["activation"] == "sigmoid"]
    learned = sigmoid[sigmoid["test_acc"] > sigmoid["majority_acc"].fillna(0.1) + 0.1]
    sat = float(learned["probe_sat_frac_end"].median()) if len(learned) else float("nan")
    sat_init = float(sig["probe_sat_frac_init"].median())
    centering = measures.centering(study)
    step = measures.step_ratio(ctx, "sigmoid")
    verdict = rules.a2_sigmoid(
        mean_ci(by_act.get("sigmoid", pd.Series(dtype=float))),
        diff_of_means(by_act.get("sigmoid", []), by_act.get("relu", [])),
        sat,
        centering,
        step,
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
    centred_rows = [
        [a, mean_ci(g["test_acc"]).fmt(), f"{g['probe_slope_mean_init'].median():.3f}"]
        for a, g in df[df["init"] == "xavier"].groupby("activation")
        if "probe_slope_mean_init" in g
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
            measures.slope_table(acts),
            f"Saturation (outputs within 2% of 0 or 1; the claim needs at least "
            f"{rules.SATURATED:.0%}): {sat:.1%} at the end of training in the "
            f"{len(learned)} sigmoid runs that learned (depth "
            f"{', '.join(map(str, sorted(learned['depth'].unique().astype(int))))}; median over "
            f"runs), against {sat_init:.2%} at init in the deepest nets. So the deep nets' "
            "gradients shrink at init, before anything saturates: that part is the slope bound "
            "σ′ ≤ 1/4; saturation is what training drives the units into.",
            "Offset against slope: σ(x) − ½ (`sigmoid_centered`) has sigmoid's slope and a zero "
            "mean, so its difference from sigmoid isolates the cost of the non-zero mean; tanh "
            "is zero-centred with 4× the slope. Deepest nets, xavier, test accuracy:",
            table(["activation", "test accuracy [95% CI]", "mean slope at init"], centred_rows),
            f"σ(x) − ½ minus sigmoid at every depth and init where either learned "
            f"(paired by depth, init and seed): {centering.fmt(signed=True)} "
            f"({centering.n} {centering.unit}).",
            "Cost: sigmoid's time per training step over relu's in the main grid's networks "
            f"(paired by every other axis and seed): ×{pow10_fmt(step)} ({step.n} "
            f"{step.unit}). For scale, one activation op alone on a "
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
            "The notes say sigmoid and another activation both squash to [0, 1]: in the table "
            "only sigmoid does; tanh spans [-1, 1] and ReLU is unbounded above.",
        ]
    )
    return Section("a2", "A2", body, [verdict])


def a3(ctx: Context) -> Section:
    df = ctx.study("zero_init")
    zero_relu = df[(df["init"] == "zeros") & (df["activation"] == "relu")]
    if zero_relu.empty:
        raise MissingEvidence("zero_init has no relu runs with zero init")
    grads = ctx.layers("zero_init", "grad")
    zero_grads = grads[(grads["init"] == "zeros") & (grads["activation"] == "relu")]
    chance = ctx.chance("zero_init")
    verdict = rules.a3_zero_init(
        float(zero_grads["grad_norm"].max()), mean_ci(zero_relu["test_acc"]), chance
    )
    both = pd.concat(
        [grads.assign(when="init"), ctx.layers("zero_init", "grad", "end").assign(when="end")]
    )
    path, link = ctx.figure("a3_zero_init_gradients.png")
    figures.lines(
        both.assign(grad_norm=both["grad_norm"] + 1e-12),
        "layer_idx",
        "grad_norm",
        "activation",
        path,
        "Weight-gradient norm per layer (+1e-12 to show zeros)",
        style="init",
        col="when",
        logy=True,
        xlabel="layer",
        ylabel="weight-gradient norm",
    )
    rows = []
    for (init, act), g in df.groupby(["init", "activation"]):
        layer = grads[(grads["init"] == init) & (grads["activation"] == act)]
        rows.append([init, act, f"{layer['grad_norm'].max():.3g}", mean_ci(g["test_acc"]).fmt()])
    body = "\n\n".join(
        [
            ctx.describe("zero_init"),
            f"![Gradient norms with zero init]({link})",
            table(
                [
                    "init",
                    "activation",
                    "largest weight-gradient norm at init",
                    "test accuracy [95% CI]",
                ],
                rows,
            ),
            f"Chance is {chance:.3f}. With zero weights every hidden output is act(0): 0 for "
            "ReLU and tanh, so every weight gradient (upstream gradient × input) is 0 and only "
            "the output bias learns (the class prior). Sigmoid(0) = 0.5 is not zero, so its "
            "weights do get gradients, but every unit of a layer stays identical (symmetry).",
        ]
    )
    return Section("a3", "A3", body, [verdict])


def a4(ctx: Context) -> Section:
    df = ctx.study("dead_units")
    levels = set(df["activation"])
    if not {"relu", "leaky_relu"} <= levels:
        raise MissingEvidence("dead_units needs relu and leaky_relu runs")
    pair = ["lr", "init", "seed"]
    overall = paired_diff(df, "activation", "leaky_relu", "relu", pair, drop_failed=True)
    per_lr = {
        float(lr): est
        for lr, est in paired_by_stratum(df, "lr", "activation", "leaky_relu", "relu", pair).items()
    }
    # Dead units over the runs both arms finished (same rate, init and seed): a rate where
    # one arm diverged would otherwise weigh in for the other arm alone.
    both = (
        df[df["activation"].isin(["relu", "leaky_relu"])]
        .pivot_table(index=pair, columns="activation", values="probe_dead_frac_end")
        .dropna()
    )
    dead = both.mean() if len(both) else pd.Series({"relu": np.nan, "leaky_relu": np.nan})
    verdict = rules.a4_leaky(overall, per_lr, float(dead["relu"]), float(dead["leaky_relu"]))
    path, link = ctx.figure("a4_dead_units.png")
    figures.lines(
        df,
        "lr",
        "probe_dead_frac_end",
        "activation",
        path,
        "Units never positive on a validation batch, end of training",
        style="init",
        logx=True,
        xlabel="learning rate",
        ylabel="dead-unit fraction",
    )
    rows = [
        [a, lr, f"{g['probe_dead_frac_end'].mean():.1%}", mean_ci(g["test_acc"]).fmt()]
        for (a, lr), g in df.groupby(["activation", "lr"])
    ]
    body = "\n\n".join(
        [
            ctx.describe("dead_units"),
            f"![Dead units by learning rate]({link})",
            table(["activation", "lr", "dead units (end)", "test accuracy [95% CI]"], rows),
            "Paired difference leaky − relu per learning rate: "
            + "; ".join(
                f"lr {lr:g}: {e.fmt(signed=True)}" + (f" ({e.dropped_note()})" if e.dropped else "")
                for lr, e in per_lr.items()
            )
            + " (p-values Holm-adjusted over the learning rates; pairs where either arm "
            "collapsed to one class or failed are left out and counted). "
            "A Leaky ReLU unit that is never positive still passes 1% of its gradient, so it is "
            "not dead in the ReLU sense.",
        ]
    )
    return Section("a4", "A4", body, [verdict])


def a5(ctx: Context) -> Section:
    df = _deepest(ctx.study("depth_init"))
    df = df[df["activation"] != "sigmoid_centered"]  # A2's control of sigmoid's offset
    if "relu" not in set(df["activation"]) or df["activation"].nunique() < 2:
        raise MissingEvidence("depth_init needs relu and another activation")
    best = {}
    for act, g in df.groupby("activation"):
        init = g.groupby("init")["val_acc"].mean().idxmax()  # select on validation
        best[act] = g[g["init"] == init]
    acc_vs = holm_family(
        {
            a: diff_of_means(best["relu"]["test_acc"], g["test_acc"])
            for a, g in best.items()
            if a != "relu"
        }
    )
    ratio = {
        a: _ratio(g, "probe_grad_norm_first_init", "probe_grad_norm_last_init")
        for a, g in best.items()
    }
    zero = float(best["relu"]["probe_zero_frac_init"].median())
    verdict = rules.a5_relu(acc_vs, ratio, zero, measures.cost_ms(ctx))
    rows = [
        [
            a,
            g["init"].iloc[0],
            mean_ci(g["test_acc"]).fmt(),
            f"{ratio[a]:.3g}",
            f"{g['probe_zero_frac_init'].median():.0%}",
        ]
        for a, g in best.items()
    ]
    body = "\n\n".join(
        [
            ctx.describe("depth_init"),
            f"Deepest nets ({int(df['depth'].max())} hidden layers), each activation at the "
            "init with its best validation accuracy (p-values Holm-adjusted over the "
            "activations):",
            table(
                [
                    "activation",
                    "best init (validation)",
                    "test accuracy [95% CI]",
                    "gradient first/last layer",
                    "outputs exactly 0",
                ],
                rows,
            ),
            "ReLU's derivative is exactly 1 where it is active, so gradients pass through depth "
            "without the per-layer shrinking of a saturating derivative (at most 0.25 for "
            "sigmoid); it is also one comparison per element, and about half its outputs are "
            "exactly 0 (sparse). He et al. (2015) pair it with an init that keeps the signal's "
            "scale: see W3.",
        ]
    )
    return Section("a5", "A5", body, [verdict])
