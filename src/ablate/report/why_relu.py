"""Activation question A5 (why ReLU): steps to a training-loss threshold per activation,
each property (saturating, sparse, smooth) apart, and relu against tanh over the main
grid's cells."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ablate.analysis import act_properties
from ablate.analysis.contrasts import contrast
from ablate.analysis.floor import flag_collapsed
from ablate.analysis.paired import paired_diff, paired_units
from ablate.analysis.rules import activations as rules
from ablate.analysis.rules.common import MissingEvidence
from ablate.analysis.stats import Estimate, mean_ci
from ablate.analysis.tuning import select_best_level
from ablate.report import activation_outcomes as outcomes
from ablate.report import figures
from ablate.report.context import Context, Section
from ablate.report.markdown import table

STEPS = "log2_steps"  # log2 of the steps to the training-loss threshold, censored at the budget


def _speed(df: pd.DataFrame) -> pd.DataFrame:
    """Each run's steps to the training-loss threshold (`steps_to_loss`) on a log2 scale; a run
    that never reached it (or diverged) counts at its budget, a lower bound of its steps."""
    if "steps_to_loss" not in df:
        raise MissingEvidence("relu_properties runs lack steps_to_loss (runs.csv column)")
    steps = df["steps_to_loss"].where(df["steps_to_loss"].notna(), df["max_steps"])
    return df.assign(**{STEPS: np.log2(steps.clip(lower=1).astype(float))})


def _main_cells(
    ctx: Context,
) -> tuple[Estimate, dict[str, Estimate], tuple[int, int], Estimate, str]:
    """relu minus tanh test accuracy over the main grid's conv cells (the units; seeds
    averaged inside a cell; cells where either arm collapsed or failed left out and counted),
    per norm, and in how many cells relu is ahead; no cells where the grid lacks an arm.
    Trainability first: relu minus tanh share of seeds that trained, per cell (every cell a
    unit, so a cell where one arm fails counts against it), and the runs that trained."""
    main = ctx.study("main", status=None)
    none = Estimate(np.nan, np.nan, np.nan, 0, unit="cells")
    if not {"relu", "tanh"} <= set(main["activation"]):  # e.g. a profile's relu-only grid
        return none, {}, (0, 0), none, ""
    pair_on = [c for c in ("init", "norm", "downsampling", "arch", "seed") if c in main]
    arms = main[main["activation"].isin(["relu", "tanh"])]
    share = (
        arms.assign(ok=outcomes.trained(arms).astype(float))
        .pivot_table(index=pair_on[:-1], columns="activation", values="ok", aggfunc="mean")
        .dropna(subset=["relu", "tanh"])
    )
    trains = paired_units((share["relu"] - share["tanh"]).to_numpy(), "cells")
    counts = "; ".join(f"{a} {outcomes.count(g)}" for a, g in arms.groupby("activation"))
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
    return cells, by_norm, (int((per_cell > 0).sum()), len(per_cell)), trains, counts


def _cells_text(
    cells: Estimate,
    by_norm: dict[str, Estimate],
    wins: tuple[int, int],
    trains: Estimate,
    counts: str,
) -> str:
    if not cells.n:
        return "The main grid has no relu and tanh conv cells to pair."
    return (
        "The main grid's conv nets, trainability first: relu − tanh share of seeds that "
        f"trained per cell {trains.fmt(signed=True)} over {trains.n} {trains.unit} "
        f"({counts}). Then relu − tanh test accuracy per cell where both trained (the cells "
        f"are the units, seeds averaged inside a cell): {cells.fmt(signed=True)} over {cells.n} "
        f"{cells.unit}, relu ahead in {wins[0]} of {wins[1]}"
        + (f" ({cells.dropped_note()})" if cells.dropped else "")
        + "; by norm: "
        + "; ".join(f"{n}: {e.fmt(signed=True)} ({e.n} {e.unit})" for n, e in by_norm.items())
        + "."
    )


def a5(ctx: Context) -> Section:
    cells, by_norm, wins, trains, counts = _main_cells(ctx)
    rp = ctx.study("relu_properties", status=None)
    if not {"relu", "tanh"} <= set(rp["activation"]):
        raise MissingEvidence("relu_properties needs relu and tanh runs")
    inits = sorted(rp["init"].unique())
    # Each activation at the init that validates better: one init for all would favour the
    # activations whose signal it keeps (xavier halves relu's variance per layer).
    rp = _speed(outcomes.failed_at_floor(select_best_level(rp, "init", ["activation"])))
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
        trains,
    )
    mark = {True: "yes", False: "—"}
    rows = [
        [
            a,
            mark[props[a]["saturating"]],
            mark[props[a]["sparse"]],
            mark[props[a]["smooth"]],
            g["init"].iloc[0],
            f"{g['lr'].median():g}",
            outcomes.count(g),
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
        curves = curves[curves["key"].isin(rp["key"])]
    if not curves.empty:
        figures.lines(
            curves,
            "step",
            "train_loss",
            "activation",
            path,
            "Training loss, 10-layer MLP, each activation at its own init and rate",
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
            "MNIST images, plain SGD with momentum, no BN, each activation at the init of "
            f"{{{', '.join(inits)}}} that validates better for it (one init for all would "
            "favour the activations whose signal it keeps) and at its own searched rate, "
            f"{budget} steps; speed is the steps until the "
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
                    "init",
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
            _cells_text(cells, by_norm, wins, trains, counts),
            "ReLU's derivative is exactly 1 where it is active, so gradients pass through depth "
            "without the per-layer shrinking of a saturating derivative (at most 0.25 for "
            "sigmoid); about half its outputs are exactly 0 (sparse). He et al. (2015) pair it "
            "with an init that keeps the signal's scale: see W3.",
        ]
    )
    return Section("a5", "A5", body, [verdict])
