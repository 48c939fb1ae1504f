"""Weight-initialisation questions W1-W3: the depth sweep (depth_init), Glorot & Bengio's
per-layer measurement at init (init_signal) and He et al.'s 30-layer test (init_depth30)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ablate.analysis.depth_trend import SignalFit, factor_text, log_slopes, signal_fit
from ablate.analysis.paired import paired_diff
from ablate.analysis.rules import init as rules
from ablate.analysis.rules.common import MissingEvidence
from ablate.analysis.rules.init import Count
from ablate.analysis.significance import holm_family
from ablate.analysis.stats import mean_ci
from ablate.report import figures
from ablate.report.context import Context, Section
from ablate.report.markdown import table

BINS = np.round(np.linspace(-2.45, 2.45, 50), 2)
LOSS = 0.5  # the smoothed training loss behind `steps_to_loss` (analysis.trainability)
SIGNALS = {"act_std": "activation std", "act_grad_norm": "back-propagated ‖∂L/∂h‖"}


def _study(ctx: Context) -> pd.DataFrame:
    df = ctx.study("depth_init", status=None)
    if df.empty or df["depth"].nunique() < 2:
        raise MissingEvidence("depth_init needs at least two depths")
    return _with_trained(df)


def _with_trained(df: pd.DataFrame) -> pd.DataFrame:
    if "trained" not in df:
        raise MissingEvidence("the runs table lacks the `trained` column (analysis.collect)")
    return df


def _count(rows: pd.DataFrame) -> Count:
    return Count(int(rows["trained"].astype(bool).sum()), len(rows))


def _cell(df: pd.DataFrame, init: str, act: str, depth: int) -> pd.DataFrame:
    rows = df[(df["init"] == init) & (df["activation"] == act) & (df["depth"] == depth)]
    if rows.empty:
        raise MissingEvidence(f"depth_init has no {init}/{act} runs at depth {depth}")
    return rows


def _small(value: float) -> str:
    """A norm that float32 may have flushed to 0 says so, rather than printing a bare 0."""
    return "0 (below float32 resolution)" if value == 0 else f"{value:.2g}"


def _grad_first(cell: pd.DataFrame) -> float:
    return float(cell["probe_grad_norm_first_init"].median())


def _signal(ctx: Context, init: str, act: str, column: str) -> SignalFit | None:
    """The init_signal runs of one init and activation, `column` fitted through depth."""
    df = ctx.study("init_signal")
    if df.empty:
        return None
    keys = df[(df["init"] == init) & (df["activation"] == act)]["key"]
    return signal_fit(ctx.layers("init_signal", "act"), column, keys)


def classic_figures(ctx: Context) -> str:
    """Layer-by-layer histograms at init and activation std by layer (shared by W1-W3)."""
    acts = ctx.layers("depth_init", "act")
    if acts.empty:
        return ""
    deep = acts[acts["depth"] == acts["depth"].max()]
    panels = {}
    for init in ["small_normal", "xavier", "kaiming"]:
        for act in ["tanh", "relu"]:
            rows = deep[(deep["init"] == init) & (deep["activation"] == act) & (deep["seed"] == 0)]
            if rows.empty or not rows["hist"].astype(str).str.len().gt(0).all():
                continue
            counts = np.array([[float(v) for v in h.split()] for h in rows["hist"]]).T
            counts = counts / counts.sum(axis=0, keepdims=True)
            panels[f"{init} / {act}"] = pd.DataFrame(
                np.log10(counts + 1e-4)[::-1],
                index=BINS[::-1],
                columns=rows["layer_idx"].astype(int) + 1,
            )
    hist_path, hist_link = ctx.figure("w_histograms.png")
    figures.layer_heatmaps(
        panels,
        hist_path,
        "Activation distribution per layer at init (log10 share of values per bin)",
        ncols=2,
    )
    std_path, std_link = ctx.figure("w_std_by_layer.png")
    figures.lines(
        deep[deep["activation"].isin(["tanh", "relu"])],
        "layer_idx",
        "act_std",
        "init",
        std_path,
        "Activation std by layer at init",
        col="activation",
        logy=True,
        xlabel="layer",
        ylabel="activation std",
    )
    return (
        f"![Layer-by-layer activation histograms at init]({hist_link})\n\n"
        f"![Activation std by layer at init]({std_link})\n\n"
        "*The classic figure: each column is one layer's distribution of activation "
        "values at init; a band that collapses to the centre is a signal dying with "
        "depth, one that spreads to the edges is saturation.*"
    )


def _depth_table(ctx: Context, df: pd.DataFrame, acts: list[str]) -> str:
    """Per init, activation and depth: how the activation std changes per layer (input ->
    output) and the weight-gradient norm per layer toward the input, both at init and fitted
    over layers per run, the runs that trained, and the test accuracy."""
    std = log_slopes(ctx.layers("depth_init", "act"), "act_std")
    grad = log_slopes(ctx.layers("depth_init", "grad"), "grad_norm")
    rows = [
        [
            init,
            act,
            int(depth),
            factor_text(std.reindex(g["key"]), "×"),
            factor_text(-grad.reindex(g["key"]), "×"),
            _count(g).fmt(),
            mean_ci(g["test_acc"]).fmt(),
        ]
        for (init, act, depth), g in df[df["activation"].isin(acts)].groupby(
            ["init", "activation", "depth"]
        )
    ]
    return table(
        [
            "init",
            "activation",
            "hidden layers",
            "activation std per layer",
            "weight gradient per layer toward the input",
            "runs that trained",
            "test accuracy [95% CI]",
        ],
        rows,
    ) + (
        "\n\n*Per-layer factors are fitted per run (log value against layer, at init) and "
        "averaged; — where fewer than three layers carry a non-zero value (too shallow a net, "
        "or a dead signal). A run trained when it finished and its test accuracy beat the "
        "majority class by 0.1; each cell ran at its own searched rate.*"
    )


def _fits_table(ctx: Context, inits: list[str]) -> str:
    """Per init, activation and signal of init_signal: the two models' verdict and numbers."""
    df = ctx.study("init_signal")
    rows = []
    for init in inits:
        for act in sorted(df["activation"].unique()):
            for column, name in SIGNALS.items():
                fit = _signal(ctx, init, act, column)
                if fit is None:
                    continue
                rows.append(
                    [
                        init,
                        act,
                        name,
                        f"{fit.model} ({fit.wins}/{fit.runs})",
                        fit.param_text(),
                        fit.change_text(),
                    ]
                )
    depth = int(df["depth"].iloc[0])
    return table(
        ["init", "activation", "signal", "better fit (runs)", "fitted", "over the net"], rows
    ) + (
        f"\n\n*Study `init_signal`: {depth}-layer MLPs probed at init, "
        f"{df['seed'].nunique()} seeds per cell. Per run, log10 of the signal is fitted "
        "against the layer l (a constant factor per layer, s ∝ r^l) and against log10 l (a "
        "power law, s ∝ l^k); both have two parameters, so the smaller residual is the better "
        "fit. 'Over the net' is the first → last layer change the better model predicts, "
        "averaged over runs with its 95% CI.*"
    )


def w1(ctx: Context) -> Section:
    df = _study(ctx)
    shallow, deep = int(df["depth"].min()), int(df["depth"].max())
    acts = [a for a in sorted(df["activation"].unique()) if a != "sigmoid_centered"]
    small = df[df["init"] == "small_normal"]
    # A deep stratum whose Kaiming control does not train either says nothing about small
    # init: it is set aside and named, never pooled with the strata whose control learned.
    failed = [
        a
        for a in acts
        if (k := _count(_cell(df, "kaiming", a, deep))).runs and 2 * k.trained < k.runs
    ]
    verdict = rules.w1_small_init(
        {a: _count(_cell(small, "small_normal", a, shallow)) for a in acts},
        {a: _count(_cell(small, "small_normal", a, deep)) for a in acts if a not in failed},
        _signal(ctx, "small_normal", "relu", "act_std"),
        _signal(ctx, "small_normal", "relu", "act_grad_norm"),
    )
    if failed:
        verdict.explanation += (
            f" Set aside at {deep} layers: {', '.join(failed)}, where Kaiming init does not "
            "train either, so the failure there is not small init's."
        )
    counts = [
        [a, int(d)]
        + [_count(_cell(df, init, a, int(d))).fmt() for init in ("small_normal", "kaiming")]
        for a in acts
        for d in sorted(df["depth"].unique())
    ]
    signal = _fits_table(ctx, ["small_normal"]) if not ctx.study("init_signal").empty else ""
    body = "\n\n".join(
        [
            ctx.describe("depth_init"),
            classic_figures(ctx),
            "Does small init train, per depth and activation? Runs that trained (finished, "
            "test accuracy above the majority class by 0.1), small init beside Kaiming, each "
            "cell at its own searched rate; no stop rule cut a run short:",
            table(["activation", "hidden layers", "small init", "Kaiming"], counts),
            _depth_table(ctx, small, ["tanh", "relu", "sigmoid"]),
            f"With std 0.01 each layer multiplies the signal's scale by about 0.01·√width "
            f"(≈{0.01 * np.sqrt(df['width'].iloc[0]):.2f} here), so after {deep} layers the "
            "activations are orders of magnitude smaller: the notes' guess, measured (the "
            "per-layer factor above, and through the deeper nets of `init_signal` below). "
            "The back-propagated signal ‖∂L/∂h‖ shrinks the same way toward the input, so "
            "the weight gradients, built from both, are tiny in every layer: the first "
            f"layer's weight-gradient norm at init in the {deep}-layer relu nets is "
            f"{_small(_grad_first(_cell(df, 'small_normal', 'relu', deep)))} with small init "
            f"against {_grad_first(_cell(df, 'kaiming', 'relu', deep)):.2g} with Kaiming "
            "(medians).",
            signal,
        ]
    )
    return Section("w1", "W1", body, [verdict])


def _drift(ctx: Context) -> str:
    """How Xavier/tanh's layer-to-layer std ratio moves from the first to the last layer."""
    rows = ctx.layers("init_signal", "act")
    rows = rows[(rows["init"] == "xavier") & (rows["activation"] == "tanh")]
    ratio = (
        rows.sort_values("layer_idx")
        .groupby("key")["act_std"]
        .apply(lambda s: (s / s.shift()).dropna().reset_index(drop=True))
    )
    per_layer = ratio.groupby(level=1).median()
    if len(per_layer) < 2:
        return "too few layers to show it"
    return (
        f"the std's layer-to-layer ratio rises from {per_layer.iloc[0]:.2f} after the first "
        f"layer to {per_layer.iloc[-1]:.2f} at the last, medians over runs"
    )


def w2(ctx: Context) -> Section:
    df = ctx.study("init_signal")
    if df.empty or not {"tanh", "relu"} <= set(df["activation"]):
        raise MissingEvidence("init_signal needs xavier runs of tanh and relu")
    depth = int(df["depth"].iloc[0])
    verdict = rules.w2_xavier(
        _signal(ctx, "xavier", "tanh", "act_std"),
        _signal(ctx, "xavier", "tanh", "act_grad_norm"),
        _signal(ctx, "xavier", "relu", "act_std"),
    )
    body = "\n\n".join(
        [
            ctx.describe("init_signal"),
            _fits_table(ctx, [i for i in ("xavier", "kaiming") if i in set(df["init"])]),
            "Glorot & Bengio (2010) call an init stable when the activations' variance and "
            "the back-propagated gradients' variance stay roughly constant from layer to "
            "layer; here that means the change from the first to the last of "
            f"{depth} layers, as the better-fitting model predicts it, stays within 2× "
            "either way (its 95% CI inside ×0.5-×2). Xavier draws weights with variance "
            "2/(fan_in + fan_out), which keeps a unit-slope, symmetric activation's variance "
            "constant only while it stays in its linear range. tanh bends below it, so the "
            "spread decays, but slowly: mean-field theory gives std ∝ layer^-1/2 for tanh at "
            "this variance, a power law, which a single per-layer factor misreads "
            f"({_drift(ctx)}). ReLU zeroes half of its inputs, halving the variance at every "
            "layer: a "
            "constant factor of 1/√2 in the std. See the figures in W1.",
        ]
    )
    return Section("w2", "W2", body, [verdict])


def steps_or_budget(df: pd.DataFrame, column: str) -> pd.Series:
    """Steps to a threshold (`column`), a run that never reached it counted at its budget:
    the steps it ran if it finished, else its configured maximum."""
    if column not in df:
        raise MissingEvidence(f"the runs table lacks `{column}` (analysis.trainability)")
    return df[column].fillna(df["steps"].where(df["status"] == "ok", df["max_steps"]))


def _reached(df: pd.DataFrame, column: str) -> str:
    hit = df[column].dropna()
    median = f"{hit.median():.0f}" if len(hit) else "—"
    return f"{median} ({len(hit)}/{len(df)} reached)"


def _shallower(ctx: Context) -> str:
    """The depth sweep's ReLU nets, for context (empty when the sweep was not run)."""
    try:
        df = _study(ctx)
    except MissingEvidence:
        return ""
    relu = df[df["activation"] == "relu"]
    return "The shallower nets of the depth sweep, for context:\n\n" + _depth_table(
        ctx, relu, ["relu"]
    )


def w3(ctx: Context) -> Section:
    df = _with_trained(ctx.study("init_depth30", status=None))
    if not {"kaiming", "xavier"} <= set(df["init"]):
        raise MissingEvidence("init_depth30 needs kaiming and xavier runs")
    depth = int(df["depth"].iloc[0])
    df = df.assign(steps_censored=steps_or_budget(df, "steps_to_loss"))
    vs = holm_family(
        {
            "steps": paired_diff(df, "init", "xavier", "kaiming", ["seed"], "steps_censored"),
            "acc": paired_diff(df, "init", "kaiming", "xavier", ["seed"]),
        }
    )
    by_init = {i: df[df["init"] == i] for i in ("kaiming", "xavier")}
    xavier = by_init["xavier"]
    reached = rules.Count(int(xavier["steps_to_loss"].notna().sum()), len(xavier))
    verdict = rules.w3_kaiming(
        _count(by_init["kaiming"]), _count(xavier), vs["steps"], vs["acc"], depth, LOSS, reached
    )
    rows = [
        [
            init,
            f"{g['lr'].iloc[0]:g}",
            _count(g).fmt(),
            _reached(g, "steps_to_plateau_exit"),
            _reached(g, "steps_to_loss"),
            mean_ci(g["test_acc"]).fmt(),
        ]
        for init, g in by_init.items()
    ]
    path, link = ctx.figure("w3_loss_curves.png")
    figures.lines(
        ctx.curves("init_depth30").dropna(subset=["train_loss"]),
        "step",
        "train_loss",
        "init",
        path,
        f"Training loss of {depth}-layer ReLU MLPs by init",
        xlabel="step",
        ylabel="training loss",
    )
    body = "\n\n".join(
        [
            ctx.describe("init_depth30"),
            f"![Training loss by init]({link})",
            table(
                [
                    "init",
                    "rate",
                    "runs that trained",
                    "median steps to leave the ln(classes) plateau",
                    f"median steps to loss {LOSS:g}",
                    "test accuracy [95% CI]",
                ],
                rows,
            ),
            "Steps count the first logged step where the rolling mean of five logged training "
            "losses falls under 0.97·ln(classes) (leaving the uniform-guess plateau) or under "
            f"{LOSS:g}; in the paired comparison a run that never got there counts at its "
            "budget. Each init ran at the rate its own search chose.",
            "He et al. (2015) double Xavier's variance for ReLU (2/fan_in), undoing the "
            "halving, so the scale holds through depth (W2's table); they report that a "
            "30-layer ReLU net converges with it where Xavier stalls, and that at 22 layers "
            "Xavier still converges, only slower. The scaling here: a width-"
            f"{int(df['width'].iloc[0])} MLP on `{df['dataset'].iloc[0]}` for the budget "
            "above, where they trained a conv net on ImageNet for many epochs. In an MLP "
            "of equal widths fan_in = fan_out, so Xavier's variance is exactly half "
            "Kaiming's and ReLU loses the same 1/√2 of its std at every layer (W2's "
            "table), as in their conv nets; what the small scale changes is the time axis: "
            "a stall here means no progress within this budget at the best searched rate, "
            "not forever.",
            _shallower(ctx),
        ]
    )
    return Section("w3", "W3", body, [verdict])
