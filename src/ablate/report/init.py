"""Weight-initialisation questions W1-W3, from the deep-MLP depth sweep."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ablate.analysis.depth_trend import factor_text, log_slopes, slope_estimate, stable_band
from ablate.analysis.rules import init as rules
from ablate.analysis.rules.common import MissingEvidence
from ablate.analysis.stats import Estimate, diff_of_means, holm_family, mean_ci
from ablate.report import figures
from ablate.report.context import Context, Section
from ablate.report.markdown import table

BINS = np.round(np.linspace(-2.45, 2.45, 50), 2)
WORKS_MARGIN = 0.02  # a small-init net within this of the Kaiming control "works"


def _study(ctx: Context) -> pd.DataFrame:
    df = ctx.study("depth_init")
    if df.empty or df["depth"].nunique() < 2:
        raise MissingEvidence("depth_init needs at least two depths")
    return df


def _std_slope(ctx: Context, cell: pd.DataFrame) -> Estimate:
    """Per-layer log10 slope of the activation std at init over the cell's runs."""
    return slope_estimate(ctx.layers("depth_init", "act"), "act_std", cell["key"])


def _small(value: float) -> str:
    """A norm that float32 may have flushed to 0 says so, rather than printing a bare 0."""
    return "0 (below float32 resolution)" if value == 0 else f"{value:.2g}"


def _grad_first(cell: pd.DataFrame) -> float:
    return float(cell["probe_grad_norm_first_init"].median())


def _cell(df: pd.DataFrame, init: str, act: str, depth: int) -> pd.DataFrame:
    rows = df[(df["init"] == init) & (df["activation"] == act) & (df["depth"] == depth)]
    if rows.empty:
        raise MissingEvidence(f"depth_init has no finished {init}/{act} runs at depth {depth}")
    return rows


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
    over layers per run, and the test accuracy."""
    std = log_slopes(ctx.layers("depth_init", "act"), "act_std")
    grad = log_slopes(ctx.layers("depth_init", "grad"), "grad_norm")
    rows = []
    for (init, act, depth), g in df[df["activation"].isin(acts)].groupby(
        ["init", "activation", "depth"]
    ):
        rows.append(
            [
                init,
                act,
                int(depth),
                factor_text(std.reindex(g["key"]), "×"),
                factor_text(-grad.reindex(g["key"]), "×"),
                mean_ci(g["test_acc"]).fmt(),
            ]
        )
    return table(
        [
            "init",
            "activation",
            "hidden layers",
            "activation std per layer",
            "gradient per layer toward the input",
            "test accuracy [95% CI]",
        ],
        rows,
    ) + (
        "\n\n*Per-layer factors are fitted per run (log value against layer, at init) and "
        "averaged; — where fewer than three layers carry a non-zero value (too shallow a net, "
        "or a dead signal).*"
    )


def w1(ctx: Context) -> Section:
    df = _study(ctx)
    shallow, deep = int(df["depth"].min()), int(df["depth"].max())
    act = "relu"  # the activation of the study's controls
    small_deep = _cell(df, "small_normal", act, deep)
    control = mean_ci(_cell(df, "kaiming", act, shallow)["test_acc"])
    acts = [a for a in sorted(df["activation"].unique()) if a != "sigmoid_centered"]
    verdict = rules.w1_small_init(
        {a: mean_ci(_cell(df, "small_normal", a, shallow)["test_acc"]) for a in acts},
        mean_ci(small_deep["test_acc"]),
        _std_slope(ctx, small_deep),
        stable_band(deep),
        ctx.chance("depth_init"),
        {
            a: mean_ci(_cell(df, "kaiming", a, shallow)["test_acc"]).mean - WORKS_MARGIN
            for a in acts
        },
    )
    per_act = [
        [
            a,
            mean_ci(_cell(df, "small_normal", a, shallow)["test_acc"]).fmt(),
            mean_ci(_cell(df, "kaiming", a, shallow)["test_acc"]).fmt(),
            mean_ci(_cell(df, "small_normal", a, deep)["test_acc"]).fmt(),
        ]
        for a in sorted(df["activation"].unique())
    ]
    body = "\n\n".join(
        [
            ctx.describe("depth_init"),
            classic_figures(ctx),
            f"Does small init work in a small net? It counts as working when a {shallow}-layer "
            f"small-init net gets within {WORKS_MARGIN:g} of the Kaiming net of the same "
            f"activation and depth ({control.fmt()} for {act}, the study's control). Every "
            "activation, each at its searched rate:",
            table(
                [
                    "activation",
                    f"small init, {shallow} layers",
                    f"Kaiming, {shallow} layers",
                    f"small init, {deep} layers",
                ],
                per_act,
            ),
            _depth_table(ctx, df[df["init"] == "small_normal"], ["tanh", "relu", "sigmoid"]),
            f"With std 0.01 each layer multiplies the signal's scale by about 0.01·√width "
            f"(≈{0.01 * np.sqrt(df['width'].iloc[0]):.2f} here), so after {deep} layers the "
            "activations are orders of magnitude smaller: the notes' guess, measured (the "
            "per-layer factor above). The weight gradients are built from those activations "
            "and from a backward signal that shrinks the same way, so they are tiny in every "
            "layer rather than shrinking further toward the input: the first layer's weight-"
            f"gradient norm at init in the {deep}-layer {act} nets is "
            f"{_small(_grad_first(small_deep))} with small init against "
            f"{_grad_first(_cell(df, 'kaiming', act, deep)):.2g} with Kaiming (medians).",
        ]
    )
    return Section("w1", "W1", body, [verdict])


def w2(ctx: Context) -> Section:
    df = _study(ctx)
    deep = int(df["depth"].max())
    band = stable_band(deep)
    verdict = rules.w2_xavier(
        _std_slope(ctx, _cell(df, "xavier", "tanh", deep)),
        _std_slope(ctx, _cell(df, "xavier", "relu", deep)),
        band,
        mean_ci(_cell(df, "xavier", "tanh", deep)["test_acc"]),
        ctx.chance("depth_init"),
    )
    body = "\n\n".join(
        [
            _depth_table(ctx, df[df["init"] == "xavier"], ["tanh", "relu"]),
            f"Stable means the per-layer factor's 95% CI lies within ×{10**band:.3f} either "
            f"way: the change that compounds to 2× over {deep} layers.",
            "Xavier (Glorot & Bengio 2010) draws weights with variance 2/(fan_in + fan_out), "
            "which keeps the variance of a symmetric, unit-slope-at-0 activation like tanh "
            "constant through depth; ReLU zeroes half of its inputs and so halves the variance "
            "at every layer. See the figures in W1.",
        ]
    )
    return Section("w2", "W2", body, [verdict])


def w3(ctx: Context) -> Section:
    df = _study(ctx)
    deep = int(df["depth"].max())
    kaiming = _cell(df, "kaiming", "relu", deep)["test_acc"]
    vs = holm_family(
        {
            other: diff_of_means(kaiming, _cell(df, other, "relu", deep)["test_acc"])
            for other in ("xavier", "small_normal")
        }
    )
    verdict = rules.w3_kaiming(
        vs["xavier"], vs["small_normal"], _std_slope(ctx, _cell(df, "kaiming", "relu", deep))
    )
    body = "\n\n".join(
        [
            _depth_table(ctx, df[df["activation"] == "relu"], ["relu"]),
            "Kaiming (He et al. 2015) doubles Xavier's variance for ReLU (2/fan_in), undoing the "
            "halving, so the activation scale holds through depth; He et al. report that deep "
            "ReLU nets converge with it where Xavier stalls. Compare the rows above.",
        ]
    )
    return Section("w3", "W3", body, [verdict])
