"""Activation questions: A1 (linear collapse), A2 (sigmoid), A3 (zero init), A4 (leaky
ReLU), A5 (why ReLU)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from ablate.analysis import act_properties
from ablate.analysis.contrasts import by_stratum, contrast
from ablate.analysis.depth_trend import factor_text, log_slopes
from ablate.analysis.floor import flag_collapsed
from ablate.analysis.rules import activations as rules
from ablate.analysis.rules.common import MissingEvidence, pow10_fmt
from ablate.analysis.stats import Estimate, mean_ci, paired_diff, paired_units
from ablate.probes.capacity import MAX_IMAGES
from ablate.report import activation_measures as measures
from ablate.report import figures
from ablate.report.context import Context, Section
from ablate.report.markdown import table


def _deepest(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["depth"] == df["depth"].max()]


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


def _failed_at_floor(df: pd.DataFrame) -> pd.DataFrame:
    """Diverged runs enter at the majority-class share, what a net that names one class
    scores: failing to train then counts against its arm instead of taking its pair out of
    the comparison. A run that failed for another reason (an error) keeps no value."""
    ok = df["status"] == "ok"
    floor = df.loc[ok, "majority_acc"].median() if ok.any() else np.nan
    if not np.isfinite(floor):
        floor = 1.0 / float(df["classes"].dropna().iloc[0]) if df["classes"].notna().any() else 0.1
    return df.assign(test_acc=df["test_acc"].mask(df["status"] == "diverged", floor))


def _trained(df: pd.DataFrame) -> pd.Series:
    """Per run: it trained (finished ok, test accuracy above the majority share + 0.1)."""
    if "trained" in df:
        return df["trained"].fillna(False).astype(bool)
    floor = df["majority_acc"].fillna(1.0 / df["classes"].fillna(10))
    return (df["status"] == "ok") & (df["test_acc"] > floor + 0.1)


def _either_trained(df: pd.DataFrame, arms: list[str], keys: list[str]) -> tuple[pd.DataFrame, int]:
    """The runs of `arms` whose pair (same `keys`) has at least one run that trained, and the
    number of pairs left out: two runs that both failed say nothing about which arm is
    better (the runs tables count them)."""
    rows = df[df["activation"].isin(arms)]
    either = rows.assign(ok=_trained(rows)).groupby(keys)["ok"].transform("any")
    return rows[either], int(rows[~either].groupby(keys).ngroups)


def _count(df: pd.DataFrame) -> str:
    """'trained 5/8, diverged 2/8'."""
    n = len(df)
    return (
        f"trained {int(_trained(df).sum())}/{n}, diverged {int((df['status'] == 'diverged').sum())}"
        f"/{n}"
    )


def _offset_runs(ctx: Context) -> pd.DataFrame:
    """A2's runs of sigmoid and sigma - 1/2 per depth (the sigmoid_offset study: six seeds a
    depth), diverged runs at the majority share."""
    df = ctx.study("sigmoid_offset", status=None)
    if not {"sigmoid", "sigmoid_centered"} <= set(df["activation"]):
        raise MissingEvidence("sigmoid_offset needs sigmoid and σ − ½ runs")
    return _failed_at_floor(df)


def _offset_margin(df: pd.DataFrame) -> float:
    """Equivalence margin of the offset comparison: a fifth of the error of the control (relu
    at the shallowest depth), else of the best arm and depth."""
    relu = df[(df["activation"] == "relu") & (df["depth"] == df["depth"].min())]
    ref = relu if len(relu) else df
    acc = ref.groupby(["activation", "depth"])["test_acc"].mean().max()
    return rules.margin(float(acc))


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
    offset = _offset_runs(ctx)
    pair = ["sigmoid_centered"], ["sigmoid"]
    both, neither = _either_trained(offset, [*pair[0], *pair[1]], ["depth", "seed"])
    centering = {int(d): e for d, e in by_stratum(both, "depth", "activation", *pair).items()}
    margin = _offset_margin(offset)
    counts = {
        int(d): ", ".join(
            f"{'σ − ½' if a == 'sigmoid_centered' else a} {int(_trained(r).sum())}/{len(r)}"
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
            f"{int(_trained(g).sum())}/{len(g)}",
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
            "paired by seed).",
            measures.slope_table(acts),
            f"Saturation (outputs within 2% of 0 or 1; the claim needs at least "
            f"{rules.SATURATED:.0%}): {sat:.1%} at the end of training in the "
            f"{len(learned)} sigmoid runs that learned (depth "
            f"{', '.join(map(str, sorted(learned['depth'].unique().astype(int))))}; median over "
            f"runs), against {sat_init:.2%} at init in the deepest nets. So the deep nets' "
            "gradients shrink at init, before anything saturates: that part is the slope bound "
            "σ′ ≤ 1/4; saturation is what training drives the units into.",
            ctx.describe("sigmoid_offset"),
            "Offset against slope: σ(x) − ½ (`sigmoid_centered`) has sigmoid's slope and a zero "
            "mean, so its difference from sigmoid isolates the cost of the non-zero mean; tanh "
            "is zero-centred with 4× the slope. Runs of `sigmoid_offset`, per depth (the strata; "
            "each arm and depth at its own rate; a diverged run counts at the majority-class "
            "share):",
            table(["depth", "activation", "lr", "trained", "test accuracy [95% CI]"], offset_rows),
            "σ(x) − ½ minus sigmoid per depth, the seeds as units (equivalence margin "
            f"±{margin:.3f}, {rules.ERROR_SHARE:.0%} of the control's error rate): "
            + rules.strata_text(centering, margin, "depth")
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
    df = _failed_at_floor(ctx.study("dead_units", status=None))
    if not {"relu", "leaky_relu"} <= set(df["activation"]):
        raise MissingEvidence("dead_units needs relu and leaky_relu runs")
    df = df[df["activation"].isin(["relu", "leaky_relu"])]
    relu = df[df["activation"] == "relu"]
    dead = relu[relu["status"] == "ok"].groupby("lr")["probe_dead_frac_end"].mean().dropna()
    dead_relu = {float(lr): float(v) for lr, v in dead.items()}
    dying = rules.dying_rates(dead_relu)
    pairs, neither = _either_trained(df, ["leaky_relu", "relu"], ["lr", "seed"])
    per_lr = {
        float(lr): e
        for lr, e in by_stratum(pairs, "lr", "activation", ["leaky_relu"], ["relu"]).items()
    }
    at_dying = pairs[pairs["lr"].isin(dying)]
    pooled = contrast(at_dying, "activation", ["leaky_relu"], ["relu"], units=["lr", "seed"])
    # The margin is set by ReLU where it trains best: its error rate at its best rate.
    reference = float(relu.groupby("lr")["test_acc"].mean().max())
    margin = rules.margin(reference)
    runs = {a: _count(g) for a, g in df[df["lr"].isin(dying)].groupby("activation")}
    verdict = rules.a4_leaky(pooled, per_lr, margin, dead_relu, runs)
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
            _count(g),
            f"{g['probe_dead_frac_end'].mean():.1%}",
            mean_ci(g["test_acc"]).fmt(),
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
                    "dead units (end, finished runs)",
                    "test accuracy [95% CI] (diverged at the majority share)",
                ],
                rows,
            ),
            f"ReLU units die (≥ {rules.DYING:.0%} never positive at the end) at lr "
            f"{', '.join(f'{lr:g}' for lr in dying) or 'none of the rates tried'}. Leaky − relu "
            "test accuracy per rate, the seeds as units: "
            + rules.strata_text(per_lr, margin, "lr")
            + f"; pooled over the dying rates' (rate, seed) pairs: {pooled.fmt(signed=True)} "
            f"({pooled.n} {pooled.unit}). Equivalence margin ±{margin:.3f}: "
            f"{rules.ERROR_SHARE:.0%} of ReLU's error rate at its best rate "
            f"({1 - reference:.3f}). A diverged run counts at the majority-class share, so "
            "an arm that fails to train loses the pair rather than leaving it out; "
            f"{neither} (rate, seed) pair{'s' if neither != 1 else ''} where neither arm trained "
            "are left out (two failures do not say which arm is better; the table counts "
            "them). "
            f"Dead share against test accuracy over ReLU's finished runs: {rho}. "
            "A Leaky ReLU unit that is never positive still passes 1% of its gradient, so it is "
            "not dead in the ReLU sense.",
        ]
    )
    return Section("a4", "A4", body, [verdict])


def _dead_vs_acc(runs: pd.DataFrame) -> str:
    """Spearman's rank correlation of the dead-unit share with test accuracy over runs."""
    both = runs[["probe_dead_frac_end", "test_acc"]].dropna()
    if len(both) < 3 or both["probe_dead_frac_end"].nunique() < 2:
        return "too few runs with dead units to correlate"
    rho, p = sps.spearmanr(both["probe_dead_frac_end"], both["test_acc"])
    return f"Spearman ρ = {rho:+.2f} (p = {p:.2g}, {len(both)} runs)"


STEPS = "log2_steps"  # log2 of the steps to the training-loss threshold, censored at the budget


def _speed(df: pd.DataFrame) -> pd.DataFrame:
    """Each run's steps to the training-loss threshold (`steps_to_loss`) on a log2 scale; a run
    that never reached it (or diverged) counts at its budget, a lower bound of its steps."""
    if "steps_to_loss" not in df:
        raise MissingEvidence("relu_properties runs lack steps_to_loss (runs.csv column)")
    steps = df["steps_to_loss"].where(df["steps_to_loss"].notna(), df["max_steps"])
    return df.assign(**{STEPS: np.log2(steps.clip(lower=1).astype(float))})


def _main_cells(ctx: Context) -> tuple[Estimate, dict[str, Estimate], tuple[int, int]]:
    """relu minus tanh test accuracy over the main grid's conv cells (the units; seeds
    averaged inside a cell; cells where either arm collapsed or failed left out and counted),
    per norm, and in how many cells relu is ahead; no cells where the grid lacks an arm."""
    main = ctx.study("main", status=None)
    if not {"relu", "tanh"} <= set(main["activation"]):  # e.g. a profile's relu-only grid
        return Estimate(np.nan, np.nan, np.nan, 0, unit="cells"), {}, (0, 0)
    pair_on = [c for c in ("init", "norm", "downsampling", "arch", "seed") if c in main]
    cells = paired_diff(main, "activation", "relu", "tanh", pair_on, drop_failed=True)
    by_norm = {
        str(n): paired_diff(g, "activation", "relu", "tanh", pair_on, drop_failed=True)
        for n, g in main.groupby("norm")
    }
    kept = flag_collapsed(main)
    kept = kept[(kept["status"] == "ok") & ~kept["collapsed"]]
    wide = kept.pivot_table(index=pair_on, columns="activation", values="test_acc").dropna(
        subset=["relu", "tanh"]
    )
    per_cell = (wide["relu"] - wide["tanh"]).groupby(level=pair_on[:-1]).mean()
    return cells, by_norm, (int((per_cell > 0).sum()), len(per_cell))


def _cells_text(cells: Estimate, by_norm: dict[str, Estimate], wins: tuple[int, int]) -> str:
    if not cells.n:
        return "The main grid has no relu and tanh conv cells to pair."
    return (
        "The main grid's conv nets, relu − tanh test accuracy per cell (the cells are the "
        f"units, seeds averaged inside a cell): {cells.fmt(signed=True)} over {cells.n} "
        f"{cells.unit}, relu ahead in {wins[0]} of {wins[1]}"
        + (f" ({cells.dropped_note()})" if cells.dropped else "")
        + "; by norm: "
        + "; ".join(f"{n}: {e.fmt(signed=True)} ({e.n} {e.unit})" for n, e in by_norm.items())
        + "."
    )


def a5(ctx: Context) -> Section:
    cells, by_norm, wins = _main_cells(ctx)
    rp = ctx.study("relu_properties", status=None)
    if not {"relu", "tanh"} <= set(rp["activation"]):
        raise MissingEvidence("relu_properties needs relu and tanh runs")
    rp = _speed(_failed_at_floor(rp))
    props = act_properties.table(sorted(rp["activation"].unique()))
    contrasts = {
        prop: {
            words: (has, lacks, contrast(rp, "activation", has, lacks, STEPS))
            for words, (has, lacks) in act_properties.one_apart(props, prop).items()
        }
        for prop in act_properties.PROPERTIES
    }
    speed_vs_tanh = contrast(rp, "activation", ["tanh"], ["relu"], STEPS)
    verdict = rules.a5_relu(
        cells,
        by_norm,
        wins,
        speed_vs_tanh,
        {p: {w: e for w, (_, _, e) in s.items()} for p, s in contrasts.items()},
    )
    mark = {True: "yes", False: "—"}
    rows = [
        [
            a,
            mark[props[a]["saturating"]],
            mark[props[a]["sparse"]],
            mark[props[a]["smooth"]],
            f"{g['lr'].median():g}",
            _count(g),
            f"{int(g['steps_to_loss'].notna().sum())}/{len(g)}",
            f"{2 ** g[STEPS].median():.0f}",
            mean_ci(g["test_acc"]).fmt(),
            f"{g['probe_zero_frac_init'].median():.0%}" if "probe_zero_frac_init" in g else "—",
        ]
        for a, g in rp.groupby("activation")
    ]
    contrast_rows = [
        [
            rules.PROPERTY_WORDS[prop],
            words,
            f"{', '.join(has)} vs {', '.join(lacks)}",
            rules.ratio_fmt(est),
            contrast(rp, "activation", has, lacks).fmt(signed=True),
        ]
        for prop, strata in contrasts.items()
        for words, (has, lacks, est) in strata.items()
    ]
    path, link = ctx.figure("a5_training_loss.png")
    curves = ctx.curves("relu_properties")
    if not curves.empty:
        figures.lines(
            curves,
            "step",
            "train_loss",
            "activation",
            path,
            "Training loss, 10-layer MLP, each activation at its own rate",
            logy=True,
            xlabel="step",
            ylabel="training loss",
        )
    budget = int(rp["max_steps"].max())
    depth = int(rp["depth"].iloc[0])
    body = "\n\n".join(
        [
            ctx.describe("relu_properties"),
            *([f"![Training loss by activation]({link})"] if not curves.empty else []),
            "Krizhevsky et al. (2012, Fig. 1) measured ReLU's advantage as speed: a 4-layer CNN "
            "on CIFAR-10 reached 25% training error six times sooner with ReLU than with tanh. "
            f"Scaled down here: a {depth}-layer MLP of width {int(rp['width'].iloc[0])} on "
            "MNIST images, plain SGD with momentum, each activation at its own searched rate "
            f"and one init ({rp['init'].iloc[0]}), {budget} steps; speed is the steps until the "
            "smoothed training loss falls under 0.5 (`steps_to_loss`). A run that never gets there "
            f"counts at the budget ({budget}), a lower bound of its steps. MNIST is easier and "
            "the MLP deeper than their net, so the ratio need not match theirs; an MLP has no "
            "weight sharing, so what it shows is about the activation, not the convolution.",
            "Each activation's properties are measured on its own module (outputs and autograd "
            f"slopes on [-{act_properties.SPAN:g}, {act_properties.SPAN:g}]): saturating = the "
            f"slope falls under {act_properties.SATURATED_SLOPE} on both sides; sparse = at least "
            f"{act_properties.SPARSE_SHARE:.0%} exact zeros; smooth = no jump of the slope "
            f"larger than {act_properties.KINK}.",
            table(
                [
                    "activation",
                    "saturating",
                    "sparse",
                    "smooth",
                    "lr",
                    "runs",
                    "reached loss 0.5",
                    "steps to it (median)",
                    "test accuracy [95% CI]",
                    "outputs exactly 0 (init)",
                ],
                rows,
            ),
            "Each property apart: the activations that have it against those that lack it, "
            "where both agree on the other two properties (a group enters as the mean of its "
            "activations; the seeds are the units). Steps ratio above 1: the property slows "
            f"training; within ×{2**rules.STEP_MARGIN:.3g} either way counts as no effect.",
            table(
                [
                    "property",
                    "stratum (the other two)",
                    "has vs lacks",
                    "steps to loss 0.5, has / lacks [95% CI]",
                    "test accuracy, has − lacks [95% CI]",
                ],
                contrast_rows,
            ),
            _cells_text(cells, by_norm, wins),
            "ReLU's derivative is exactly 1 where it is active, so gradients pass through depth "
            "without the per-layer shrinking of a saturating derivative (at most 0.25 for "
            "sigmoid); about half its outputs are exactly 0 (sparse). He et al. (2015) pair it "
            "with an init that keeps the signal's scale: see W3.",
        ]
    )
    return Section("a5", "A5", body, [verdict])
