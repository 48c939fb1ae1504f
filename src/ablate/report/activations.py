"""Activation questions: A1 (linear collapse), A3 (zero init), A4 (leaky ReLU); A2
(sigmoid) is in `sigmoid.py`, A5 (why ReLU) in `why_relu.py`."""

from __future__ import annotations

import pandas as pd
from scipy import stats as sps

from ablate.analysis.contrasts import by_stratum, contrast
from ablate.analysis.paired import paired_diff
from ablate.analysis.rules import activations as rules
from ablate.analysis.rules import common
from ablate.analysis.rules.common import MissingEvidence
from ablate.analysis.stats import mean_ci
from ablate.probes.capacity import MAX_IMAGES
from ablate.report import activation_outcomes as outcomes
from ablate.report import figures
from ablate.report.context import Context, Section
from ablate.report.markdown import table


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
    # The seeds are the units: the depths of one seed share it and are averaged inside it.
    fit = "train_fit_acc"
    depth_gain = contrast(mlp, "activation", [best], ["identity"], fit, within=["depth"])
    per_depth = by_stratum(mlp, "depth", "activation", [best], ["identity"], fit)
    per_depth = {int(d): e for d, e in per_depth.items()}
    # The linear classifier trains once per seed; the identity MLP per depth and seed.
    arms = pd.concat([ident.assign(arm="identity"), linear.assign(arm="linear")])
    vs_linear = contrast(arms, "arm", ["identity"], ["linear"], fit)
    nonlinear = mlp[mlp["activation"] != "identity"]
    verdict = rules.a1_linear_collapse(
        float(ident["logit_affine_r2"].min()),
        float(nonlinear["logit_affine_r2"].max()),
        depth_gain,
        vs_linear,
        per_depth,
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
            "against the identity MLP at the same depths and seeds, the seeds as units (the "
            "depths of one seed share it, so they are averaged inside it, never counted as "
            f"two units): {depth_gain.fmt(signed=True)} ({depth_gain.n} {depth_gain.unit}); "
            "per depth: "
            + "; ".join(f"{d}: {e.fmt(signed=True)} ({e.n} {e.unit})" for d, e in per_depth.items())
            + ". The one-layer linear classifier is the same function class as the identity "
            "MLP; their training fits differ by "
            f"{vs_linear.fmt(signed=True)} (identity, depths averaged, − linear; "
            f"{vs_linear.n} {vs_linear.unit}), which is optimisation, not capacity.",
        ]
    )
    return Section("a1", "A1", body, [verdict])


def a3(ctx: Context) -> Section:
    df = ctx.study("zero_init")
    zero_relu = df[(df["init"] == "zeros") & (df["activation"] == "relu")]
    if zero_relu.empty:
        raise MissingEvidence("zero_init has no relu runs with zero init")
    grads = ctx.layers("zero_init", "grad")
    zero_grads = grads[(grads["init"] == "zeros") & (grads["activation"] == "relu")]
    # Guessing the test split's most frequent class: the accuracy of a net that learned nothing.
    majority = zero_relu["majority_acc"].max() if "majority_acc" in zero_relu else float("nan")
    floor = majority if majority == majority else ctx.chance("zero_init")
    verdict = rules.a3_zero_init(
        float(zero_grads["grad_norm"].max()), mean_ci(zero_relu["test_acc"]), floor
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
            f"The majority-class share (guessing the most frequent class) is {floor:.3f}. "
            "With zero weights every hidden output is act(0): 0 for "
            "ReLU and tanh, so every weight gradient (upstream gradient × input) is 0 and only "
            "the output bias can move: the net gives every image the same class. Sigmoid(0) = "
            "0.5 is not zero, so its "
            "weights do get gradients, but every unit of a layer stays identical (symmetry).",
        ]
    )
    return Section("a3", "A3", body, [verdict])


def a4(ctx: Context) -> Section:
    df = ctx.study("dead_units", status=None)
    if not {"relu", "leaky_relu"} <= set(df["activation"]):
        raise MissingEvidence("dead_units needs relu and leaky_relu runs")
    df = df[df["activation"].isin(["relu", "leaky_relu"])]
    df = df.assign(trained_share=outcomes.trained(df).astype(float))
    relu = df[df["activation"] == "relu"]
    dead = relu[relu["status"] == "ok"].groupby("lr")["probe_dead_frac_end"].mean().dropna()
    dead_relu = {float(lr): float(v) for lr, v in dead.items()}
    dying = rules.dying_rates(dead_relu)
    at_dying = df[df["lr"].isin(dying)]
    trains = contrast(
        at_dying, "activation", ["leaky_relu"], ["relu"], "trained_share", units=["lr", "seed"]
    )
    both, left_out = _both_trained(df)
    per_lr = {
        float(lr): e
        for lr, e in by_stratum(both, "lr", "activation", ["leaky_relu"], ["relu"]).items()
        if e.n
    }
    pooled = contrast(
        both[both["lr"].isin(dying)], "activation", ["leaky_relu"], ["relu"], units=["lr", "seed"]
    )
    # The margin is set by ReLU where it trains best: its error rate at its best rate.
    reference = float(relu.groupby("lr")["test_acc"].mean().max())
    margin = common.margin(reference)
    runs = {a: outcomes.count(g) for a, g in at_dying.groupby("activation")}
    verdict = rules.a4_leaky(trains, pooled, per_lr, margin, dead_relu, runs)
    finished = df[df["status"] == "ok"]
    rho = _dead_vs_acc(finished[finished["activation"] == "relu"])
    path, link = ctx.figure("a4_dead_units.png")
    figures.scatter(
        finished,
        "probe_dead_frac_end",
        "test_acc",
        "activation",
        path,
        "Dead units against accuracy, per run (no BN)",
        style="lr",
        xlabel="units never positive on a validation batch, end of training",
        ylabel=figures.ACC,
    )
    rows = [
        [
            a,
            f"{lr:g}",
            outcomes.count(g),
            f"{g['probe_dead_frac_end'].mean():.1%}",
            mean_ci(g.loc[g["trained_share"] > 0, "test_acc"]).fmt(),
        ]
        for (a, lr), g in df.groupby(["activation", "lr"])
    ]
    body = "\n\n".join(
        [
            ctx.describe("dead_units"),
            f"![Dead units against accuracy]({link})",
            table(
                [
                    "activation",
                    "lr",
                    "runs",
                    "units never positive (end, finished runs; dead for ReLU only)",
                    "test accuracy of the runs that trained [95% CI]",
                ],
                rows,
            ),
            f"ReLU units die (≥ {rules.DYING:.0%} never positive at the end) at lr "
            f"{', '.join(f'{lr:g}' for lr in dying) or 'none of the rates tried'}. Trainability "
            "first: leaky − relu share of runs that trained over the dying rates' (rate, seed) "
            f"pairs, {trains.fmt(signed=True)} ({trains.n} {trains.unit}); a diverged run and a "
            "run whose units all died both count as not trained. Then accuracy where both arms "
            "trained, leaky − relu per rate, the seeds as units: "
            + (rules.strata_text(per_lr, margin, "lr") or "no pair")
            + f"; pooled over the dying rates' pairs: {pooled.fmt(signed=True)} "
            f"({pooled.n} {pooled.unit}; {left_out} (rate, seed) pair"
            f"{'s' if left_out != 1 else ''} where an arm did not train left out of the "
            f"accuracy comparison). Equivalence margin ±{margin:.3f}: "
            f"{common.ERROR_SHARE:.0%} of ReLU's error rate at its best rate "
            f"({1 - reference:.3f}). {_at_best_rates(df)} "
            f"Dead share against test accuracy over ReLU's finished runs: {rho}. "
            "A Leaky ReLU unit that is never positive still passes 1% of its gradient, so it is "
            "not dead in the ReLU sense." + _across_inits(ctx),
        ]
    )
    return Section("a4", "A4", body, [verdict])


def _both_trained(df: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The runs whose (rate, seed) pair trained in both arms, and how many pairs are left
    out because an arm did not train (the trainability comparison counts them)."""
    keys = ["lr", "seed"]
    both = df.groupby(keys)["trained_share"].transform("min") > 0
    return df[both], int(df[~both].groupby(keys).ngroups)


def _at_best_rates(df: pd.DataFrame) -> str:
    """Context (not deciding): each arm at its own best rate, chosen on mean validation
    accuracy over the seeds, leaky − relu test accuracy paired by seed."""
    best = {
        a: float(g.groupby("lr")["val_acc"].mean().idxmax())
        for a, g in df[df["status"] == "ok"].groupby("activation")
    }
    if set(best) != {"leaky_relu", "relu"}:
        return ""
    at = pd.concat([df[(df["activation"] == a) & (df["lr"] == lr)] for a, lr in best.items()])
    e = contrast(at, "activation", ["leaky_relu"], ["relu"])
    return (
        f"At each arm's own best rate on validation (leaky {best['leaky_relu']:g}, ReLU "
        f"{best['relu']:g}), for context: leaky − relu {e.fmt(signed=True)} ({e.n} {e.unit})."
    )


def _across_inits(ctx: Context) -> str:
    """Context across inits (not deciding): leaky − relu in the main grid's conv cells per
    init, each arm at its own searched rate, cells as units; pairs where either arm failed
    or collapsed left out and counted."""
    main = ctx.study("main", status=None)
    if not {"relu", "leaky_relu"} <= set(main["activation"]):
        return ""
    pair_on = [c for c in ("norm", "downsampling", "arch", "seed") if c in main]
    parts = []
    for init, g in main.groupby("init", sort=True):
        e = paired_diff(g, "activation", "leaky_relu", "relu", pair_on, drop_failed=True)
        if e.n:
            left = f"; {e.dropped_note()}" if e.dropped else ""
            parts.append(f"{init}: {e.fmt(signed=True)} ({e.n} {e.unit}{left})")
    if not parts:
        return ""
    relu = main[(main["activation"] == "relu") & outcomes.trained(main)]
    dead = (
        f"; ReLU's units never positive there: median {relu['probe_dead_frac_end'].median():.0%}"
        f", up to {relu['probe_dead_frac_end'].max():.0%} over its runs that trained"
        if "probe_dead_frac_end" in relu and relu["probe_dead_frac_end"].notna().any()
        else ""
    )
    return (
        " Across inits, for context (the main grid's conv nets, with and without BN, at the "
        f"rates searched for them{dead}): leaky − relu per init, " + "; ".join(parts) + "."
    )


def _dead_vs_acc(runs: pd.DataFrame) -> str:
    """Spearman's rank correlation of the dead-unit share with test accuracy over runs."""
    both = runs[["probe_dead_frac_end", "test_acc"]].dropna()
    if len(both) < 3 or both["probe_dead_frac_end"].nunique() < 2:
        return "too few runs with dead units to correlate"
    rho, p = sps.spearmanr(both["probe_dead_frac_end"], both["test_acc"])
    return f"Spearman ρ = {rho:+.2f} (p = {p:.2g}, {len(both)} runs)"
