"""Batch-normalisation questions B1 (what and where) and B2 (why it helps)."""

from __future__ import annotations

import pandas as pd

from ablate.analysis.rules import batchnorm as rules
from ablate.analysis.rules.common import MissingEvidence
from ablate.analysis.stats import (
    Estimate,
    diff_of_means,
    holm_family,
    mean_ci,
    paired_diff,
    paired_units,
)
from ablate.analysis.tuning import select_best_lr
from ablate.report import figures
from ablate.report.context import Context, Section
from ablate.report.markdown import table


def _median(rows: pd.DataFrame, column: str) -> str:
    if column not in rows or rows[column].isna().all():
        return "—"
    return f"{rows[column].median():.2f}"


def _arms(df: pd.DataFrame) -> pd.Series:
    return df["norm"].where(df["norm"] == "none", "batch/" + df["norm_position"].astype(str))


def sigmoid_experiment(ctx: Context) -> str:
    """Ioffe & Szegedy's deep-sigmoid experiment (study `bn_sigmoid`), per arm: its
    best-validated rate, the test accuracy there, and the highest rate at which it trains."""
    df = ctx.study("bn_sigmoid", status=None)
    if df.empty:
        return ""
    df = df.assign(arm=_arms(df))
    trains, bar = mark_trains(df, ["arm", "lr"], ctx.chance("bn_sigmoid"))
    rows = []
    for arm, g in trains.groupby("arm"):
        tuned = select_best_lr(g[g["status"] == "ok"], [])
        top = top_rate(g)
        rows.append(
            [
                arm,
                f"{tuned['lr'].iloc[0]:g}" if len(tuned) else "—",
                mean_ci(tuned["test_acc"]).fmt() if len(tuned) else "—",
                "none" if top is None else f"{top:g}",
                f"{g['status'].eq('diverged').mean():.0%}",
            ]
        )
    depth = int(df["depth"].iloc[0])
    return (
        f"Ioffe & Szegedy's sigmoid experiment (study `bn_sigmoid`): a {depth}-layer "
        "fully connected sigmoid net, with BN before or after the activation, or none. A "
        f"run trains when it gets halfway from chance to the best cell ({bar:.3f}):\n\n"
        + table(
            [
                "arm",
                "best-validated lr",
                "test accuracy there",
                "highest lr that trains",
                "diverged",
            ],
            rows,
        )
    )


# The B1 families: study -> the name the report gives it.
FAMILIES = {"bn": "conv", "bn_mlp": "mlp/relu", "bn_sigmoid": "mlp/sigmoid"}


def position_strata(
    ctx: Context,
) -> tuple[dict[tuple[str, str], tuple[Estimate, Estimate]], list[list[str]], list[str]]:
    """Per (family, init): BN-before minus BN-after in the share of the rate sweep that
    trains (paired by rate and seed) and in test accuracy given it trains, each position at
    its own best-validated rate; Holm-adjusted as one family. Also the table rows, one per
    stratum and position, and per family measured its study and bar for "trains"."""
    raw: dict[tuple[str, str], tuple[Estimate, Estimate]] = {}
    rows: list[list[str]] = []
    bars: list[str] = []
    for study, family in FAMILIES.items():
        df = ctx.study(study, status=None)
        bn = df[df["norm"] == "batch"] if len(df) else df
        if bn.empty or not {"pre", "post"} <= set(bn["norm_position"]):
            continue
        trains, bar = mark_trains(
            df.assign(arm=_arms(df)), ["arm", "init", "lr"], ctx.chance(study)
        )
        bars.append(f"{family} (`{study}`) {bar:.3f}")
        for init, g in trains[trains["norm"] == "batch"].groupby("init"):
            if g["norm_position"].nunique() < 2:
                continue
            success = paired_diff(
                g.assign(trained=g["trains"].astype(float)),
                "norm_position",
                "pre",
                "post",
                ["lr", "seed"],
                metric="trained",
                seed_col="",  # each (rate, seed) pair a unit: 5-6 rates alone cannot decide
            )
            given = {}
            for position, h in g.groupby("norm_position"):
                best = select_best_lr(h[h["status"] == "ok"], [])
                given[position] = best[best["trains"]]
                rows.append(
                    [
                        family,
                        str(init),
                        str(position),
                        f"{h['trains'].sum()}/{len(h)}",
                        f"{best['lr'].iloc[0]:g}" if len(best) else "—",
                        mean_ci(given[position]["test_acc"]).fmt(),
                        _median(h, "probe_bn_out_mean_end"),
                        _median(h, "probe_bn_out_std_end"),
                    ]
                )
            acc = diff_of_means(given["pre"]["test_acc"], given["post"]["test_acc"])
            raw[(family, str(init))] = (success, acc)
    flat = holm_family(
        {(*k, m): e for k, pair in raw.items() for m, e in zip(("s", "a"), pair, strict=True)}
    )
    strata = {k: (flat[(*k, "s")], flat[(*k, "a")]) for k in raw}
    return strata, rows, bars


def b1(ctx: Context) -> Section:
    df = ctx.study("bn", status=None)
    ok = ctx.study("bn")
    if not {"pre", "post"} <= set(ok[ok["norm"] == "batch"]["norm_position"]):
        raise MissingEvidence("bn needs BN runs both before and after the activation")
    strata, position_rows, bars = position_strata(ctx)
    verdict = rules.b1_position(strata)
    shown = df.assign(arm=_arms(df), test_acc=df["test_acc"].fillna(ctx.chance("bn")))
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
    acts = ctx.layers("bn", "act", "end")
    stats = (
        acts.assign(arm=_arms(acts)).groupby("arm")[["act_mean", "act_std"]].mean()
        if not acts.empty
        else pd.DataFrame()
    )
    rows = [
        [
            arm,
            f"{g['status'].eq('ok').mean():.0%}",
            mean_ci(g["test_acc"]).fmt(),
            f"{stats.loc[arm, 'act_mean']:.2f}" if arm in stats.index else "—",
            f"{stats.loc[arm, 'act_std']:.2f}" if arm in stats.index else "—",
            _median(g, "probe_bn_out_mean_end"),
            _median(g, "probe_bn_out_std_end"),
        ]
        for arm, g in shown.groupby("arm")
    ]
    body = "\n\n".join(
        [
            ctx.describe("bn"),
            *([ctx.describe("bn_mlp")] if ctx.missing_reason("bn_mlp") is None else []),
            f"![Accuracy by learning rate and BN position]({link})",
            table(
                [
                    "arm",
                    "runs ok",
                    "test accuracy [95% CI]",
                    "activation mean (end)",
                    "activation std (end)",
                    "BN output |mean| (end)",
                    "BN output std (end)",
                ],
                rows,
            ),
            "The activation columns are read at the nonlinearity (in the *post* arm that is "
            "before BN); the BN columns at BN's own output, which BN's learned scale and "
            "shift are free to move away from 0 and 1.",
            sigmoid_experiment(ctx),
            "Ioffe & Szegedy (2015) put BN before the nonlinearity, as the notes do; many later "
            "nets put it after. Each position is compared in every family of net and init, on "
            "two measures kept apart: how much of the rate sweep trains (a run trains when its "
            "test accuracy gets halfway from chance to its study's best cell: "
            f"{', '.join(bars) or 'no family has both positions'}), and the test accuracy of "
            "the runs that train at the position's own best-validated rate. The BN columns are "
            "read at BN's "
            "output, in both positions:",
            table(
                [
                    "family",
                    "init",
                    "BN position",
                    "runs that train (over lr, seeds)",
                    "best-validated lr",
                    "test accuracy there, given it trains [95% CI]",
                    "BN output |mean| (end)",
                    "BN output std (end)",
                ],
                position_rows,
            ),
            "Before − after, per family and init (Holm-adjusted over all "
            f"{2 * len(strata)} comparisons; the share that trains is paired by rate and "
            "seed, each pair of runs a unit): "
            + "; ".join(
                f"{family}/{init}: trains {success.fmt(signed=True, digits=2)}, accuracy "
                f"given it trains {acc.fmt(signed=True)}"
                for (family, init), (success, acc) in strata.items()
            )
            + ". The claim is read as refuted (or supported) only when one position wins in "
            "every family and init.",
        ]
    )
    return Section("b1", "B1", body, [verdict])


def mark_trains(df: pd.DataFrame, cells: list[str], chance: float) -> tuple[pd.DataFrame, float]:
    """Flag the runs that train: at least halfway from chance to the best cell's mean."""
    best = df.groupby(cells)["test_acc"].mean().max()
    bar = chance + (best - chance) / 2
    return df.assign(trains=df["test_acc"].fillna(0) >= bar), bar


def top_rate(arm: pd.DataFrame) -> float | None:
    """The highest swept rate at which at least half the runs of one arm train."""
    share = arm.groupby("lr")["trains"].mean()
    rates = share[share >= 0.5].index
    return float(max(rates)) if len(rates) else None


def b2(ctx: Context) -> Section:
    df = ctx.study("bn", status=None)
    if df["norm"].nunique() < 2:
        raise MissingEvidence("bn needs runs with and without BN")
    trains, bar = mark_trains(df, ["norm", "norm_position", "init", "lr"], ctx.chance("bn"))
    by_lr = trains.groupby(["norm", "lr"])["trains"].mean().unstack(0)
    top = {norm: top_rate(trains[trains["norm"] == norm]) for norm in ("batch", "none")}
    ok = trains[trains["status"] == "ok"]
    # Smoothness only where both arms learned, at the same rates: a net that never moved
    # sits on a plateau, which is trivially smooth.
    both = sorted(
        set(ok[ok["trains"] & (ok["norm"] == "batch")]["lr"])
        & set(ok[ok["trains"] & (ok["norm"] == "none")]["lr"])
    )
    beta_col = (
        "probe_smooth_beta_scaled" if "probe_smooth_beta_scaled" in ok else "probe_smooth_beta"
    )
    smooth_cols = [beta_col, "probe_smooth_loss_range", "probe_smooth_grad_norm"]
    matched = run_medians(ok[ok["trains"] & ok["lr"].isin(both)], ctx.probes, smooth_cols)
    units = cell_means(matched, ["norm", "norm_position", "init", "lr"], beta_col)
    # Paired by rate (and init): β scales with the step size, so BN at one rate is compared
    # with no BN at the same rate; BN's positions are averaged within the pair.
    per_rate = units.groupby(["norm", "init", "lr"])[beta_col].mean().unstack("norm")
    pairs = per_rate.dropna(subset=[c for c in ("batch", "none") if c in per_rate])
    beta = paired_units(
        (pairs["batch"] - pairs["none"]).to_numpy() if {"batch", "none"} <= set(pairs) else [],
        "rates",
    )
    verdict = rules.b2_why_bn(top["batch"], top["none"], beta)
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
    smooth = [
        [
            arm,
            f"{g[beta_col].median():.3g}",
            f"{g['probe_smooth_loss_range'].median():.3g}",
            f"{g['probe_smooth_grad_norm'].median():.3g}",
        ]
        for arm, g in matched.assign(arm=_arms(matched)).groupby("arm")
    ]
    init_spread = (
        {
            n: g.groupby("init")["test_acc"].mean().agg(lambda s: s.max() - s.min())
            for n, g in ok.groupby("norm")
        }
        if ok["init"].nunique() > 1
        else {}
    )
    body = "\n\n".join(
        [
            ctx.describe("bn"),
            f"![Loss curves per learning rate with and without BN]({link})",
            "For a saturating net, see the deep sigmoid experiment in [B1](#b1): the highest "
            "rate that trains, with BN and without.",
            f"Share of runs that train (test accuracy ≥ {bar:.3f}, halfway from chance to the "
            "study's best cell), per learning rate; the highest rate at which at least half "
            f"train is {top['batch'] or '—'} with BN and {top['none'] or '—'} without:",
            table(["lr", "no BN", "BN"], rows),
            "Along the gradient direction (Santurkar et al. 2018), compared only between runs "
            "that both train, at the rates where both arms train "
            f"({', '.join(f'{lr:g}' for lr in both) or 'none'}); each run's value is the "
            "median over its probe points (so the points of one run, which are not "
            "independent, count once), and BN − none is paired by rate (seeds and BN "
            f"positions averaged; {beta.n} {beta.unit}: {beta.fmt(signed=True)}, sign-flip "
            "p). Per arm, the medians over runs of β-smoothness "
            f"(`{beta_col.removeprefix('probe_')}`: gradient change per unit step"
            + (
                ", times the squared weight norm, so BN's scale invariance does not inflate it"
                if beta_col.endswith("scaled")
                else ""
            )
            + "), loss range over the probed steps, and gradient norm:",
            table(["arm", "β-smoothness", "loss range", "gradient norm"], smooth),
            (
                "Spread of accuracy across inits: "
                + ", ".join(f"{n} {v:.3f}" for n, v in init_spread.items())
                + ". "
                if init_spread
                else "This conv study sweeps one init here (the MLP family of [B1](#b1) sweeps "
                "two); how BN changes the effect of init is the norm × init interaction of the "
                "main grid ([What matters most](#what-matters)). "
            )
            + "Santurkar et al. found BN "
            "helps by smoothing the landscape, not by keeping distributions fixed (the notes' "
            "guess); the numbers above say which this run sees.",
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


def cell_means(runs: pd.DataFrame, cell: list[str], column: str) -> pd.DataFrame:
    """One row per cell: `column` averaged over its seeds, the independent units."""
    return runs.groupby(cell, dropna=False, as_index=False)[column].mean()
