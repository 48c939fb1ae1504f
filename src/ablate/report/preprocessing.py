"""Data preprocessing question D1: why zero-centred inputs?"""

from __future__ import annotations

import pandas as pd

from ablate.analysis.paired import paired_diff, paired_on_units
from ablate.analysis.rules import preprocessing as rules
from ablate.analysis.rules.common import MissingEvidence, margin
from ablate.analysis.significance import holm_family
from ablate.analysis.stats import Estimate, mean_ci
from ablate.report import figures
from ablate.report.context import Context, Section
from ablate.report.init import LOSS, steps_or_budget
from ablate.report.markdown import table

CENTRED = "center"
WITH_MEAN = ("raw", "shift")  # levels whose inputs keep a mean, compared with centred ones


def highest_trainable(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (preprocessing, activation) arm: the highest rate at which every run trained,
    and the lowest rate above it at which one did not (NaN when none failed above it: the
    search stopped short of the edge)."""
    rows = []
    for (level, act), g in runs.groupby(["preprocessing", "activation"]):
        ok = g.groupby("lr")["trained"].apply(lambda t: bool(t.astype(bool).all()))
        good = ok[ok].index
        top = float(good.max()) if len(good) else float("nan")
        above = ok[(~ok) & (ok.index > top)].index if len(good) else ok[~ok].index
        rows.append(
            {
                "preprocessing": level,
                "activation": act,
                "highest": top,
                "fails_at": float(above.min()) if len(above) else float("nan"),
            }
        )
    return pd.DataFrame(rows, columns=["preprocessing", "activation", "highest", "fails_at"])


def _rate(value: float) -> str:
    return "—" if value != value else f"{value:g}"


def _sign_fact(df: pd.DataFrame) -> str:
    """The one-sign share per level, as the arithmetic fact it is."""
    col = "probe_sign_agreement_init"
    if col not in df or df[col].isna().all():
        return ""
    parts = []
    for level, g in df.groupby("preprocessing"):
        values = g[col].dropna()
        lo, hi = values.min(), values.max()
        share = f"{lo:.0%} in all {len(values)} runs" if lo == hi else f"{lo:.0%}-{hi:.0%}"
        parts.append(f"{level} {share}")
    return (
        "First-layer units whose per-example weight-gradient row has a single sign, at init: "
        + ", ".join(parts)
        + ". This is arithmetic, not a finding: a unit's weight-gradient row is its error "
        "times the input, so every entry shares one sign whenever every input is positive "
        "(raw, shifted) and almost never once inputs are centred. What it costs is the "
        "question, and that is what is tested: LeCun et al. (1998, Efficient BackProp) argue "
        "that a mean in the inputs makes the weights of a unit move together and zig-zag "
        "toward their optimum, so descent is slow, and that the mean adds a large eigenvalue "
        "to the first layer's curvature, which caps the rate that stays stable."
    )


def d1(ctx: Context) -> Section:
    df = ctx.study("preprocessing", status=None)
    levels = set(df["preprocessing"])
    compared = [level for level in WITH_MEAN if level in levels]
    if CENTRED not in levels or not compared:
        raise MissingEvidence("preprocessing needs centred runs and raw or shifted ones")
    df = df.assign(steps_censored=steps_or_budget(df, "steps_to_loss"))
    acts = sorted(df["activation"].unique())
    pair = [a for a in ("depth",) if df[a].nunique() > 1] + ["seed"]
    per_act: dict[tuple[str, str], Estimate] = {}
    acc: dict[tuple[str, str], Estimate] = {}
    for act in acts:
        g = df[df["activation"] == act]
        for level in compared:
            per_act[(level, act)] = paired_diff(
                g, "preprocessing", level, CENTRED, pair, "steps_censored"
            )
            acc[(level, act)] = paired_diff(g, "preprocessing", CENTRED, level, pair)
    speed = holm_family(_pool_agreeing(df, per_act, compared, acts))
    acc = holm_family(acc)  # context only: every stratum
    centred = df[(df["preprocessing"] == CENTRED) & (df["status"] == "ok")]["test_acc"].mean()
    centred_steps = df[df["preprocessing"] == CENTRED]["steps_censored"].median()
    verdict = rules.d1_centering(
        speed, acc, LOSS, margin(centred), rules.STEP_SHARE * centred_steps
    )
    edges = _edges(ctx)
    rows = []
    for (level, act), g in df.groupby(["preprocessing", "activation"]):
        edge = edges.loc[(level, act)] if (level, act) in edges.index else None
        reached = g["steps_to_loss"].dropna()
        rows.append(
            [
                level,
                act,
                _eig(g),
                "/".join(f"{lr:g}" for lr in sorted(g["lr"].dropna().unique())),
                "—" if edge is None else _rate(edge["highest"]),
                "—" if edge is None else _rate(edge["fails_at"]),
                f"{reached.median():.0f} ({len(reached)}/{len(g)} reached)"
                if len(reached)
                else f"— (0/{len(g)} reached)",
                mean_ci(g["test_acc"]).fmt(),
            ]
        )
    curves = ctx.curves("preprocessing")
    curves = curves[curves["train_loss"].notna()]
    path, link = ctx.figure("d1_loss_curves.png")
    figures.lines(
        curves,
        "step",
        "train_loss",
        "preprocessing",
        path,
        "Training loss by input preprocessing, each arm at its own rate",
        col="activation",
        xlabel="step",
        ylabel="training loss",
    )
    paired = "; ".join(
        f"{act}: {level} − centred {per_act[(level, act)].fmt(signed=True, digits=0)} steps "
        f"(unadjusted), Δacc centred − {level} {acc[(level, act)].fmt(signed=True)}"
        for (level, act) in sorted(per_act)
    )
    body = "\n\n".join(
        [
            ctx.describe("preprocessing"),
            _sign_fact(df[df["status"] == "ok"]),
            f"![Loss curves per preprocessing]({link})",
            table(
                [
                    "preprocessing",
                    "activation",
                    "input λ1/λ2",
                    "own rate",
                    "highest rate that trains",
                    "first rate above it that does not",
                    f"median steps to loss {LOSS:g}",
                    "test accuracy [95% CI]",
                ],
                rows,
            ),
            "`shift` is raw + 1: inputs in [1, 2], every pixel's mean raised by 1, far "
            "above raw's (most MNIST pixels are 0): LeCun's argument at a scale where it must "
            "show. λ1/λ2 is the ratio of the two largest eigenvalues of the inputs' "
            "second-moment matrix E[x xᵀ]: a mean puts one dominant direction along it. "
            "Each arm trained at the rate its own search chose; the search ran every arm "
            "over the same rates, extended past an edge, so the highest rate at which every "
            "run still trained (search and grid runs at that rate) is each arm's stability "
            "limit. Centring lowers the inputs' second moment, so at one shared, "
            "capped rate its first layer would take smaller steps: comparing each arm at "
            "its own best rate removes that confound.",
            "Paired per seed within each activation, each arm at its own rate; steps to a "
            f"smoothed training loss under {LOSS:g} (a run that never got there counts at "
            f"its budget): {paired}. Where the activations agree in sign, the verdict tests "
            "them pooled, the seeds as units with the activations averaged inside each (the nets "
            "of one seed share its init draw and batch order), Holm-adjusted across the "
            "input levels; where they disagree, each activation is its own comparison.",
        ]
    )
    return Section("d1", "D1", body, [verdict])


def _pool_agreeing(
    df: pd.DataFrame,
    speed: dict[tuple[str, str], Estimate],
    levels: list[str],
    acts: list[str],
) -> dict[tuple[str, str], Estimate]:
    """Per input level, the activations pooled where their effects point the same way, with
    the seeds as units and the activations averaged inside each seed (two nets of one seed
    share its init draw and batch order, so they are not independent draws); where they
    disagree, one comparison per activation, so the verdict names the stratum. Per-stratum
    estimates stay in the section's text."""
    decided: dict[tuple[str, str], Estimate] = {}
    for level in levels:
        own = {act: speed[(level, act)] for act in acts if (level, act) in speed}
        signs = {est.mean > 0 for est in own.values() if est.n and est.mean != 0}
        if len(own) > 1 and len(signs) == 1:
            decided[(level, f"{', '.join(own)} pooled")] = paired_on_units(
                df, "preprocessing", level, CENTRED, ["seed"], ["activation"], "steps_censored"
            )
        else:
            decided |= {(level, act): est for act, est in own.items()}
    return decided


def _edges(ctx: Context) -> pd.DataFrame:
    """`highest_trainable` over every run of the study, its rate search and its grid (the
    search run at an arm's chosen rate is a grid run), indexed by arm."""
    runs = ctx.runs[ctx.runs["study"] == "preprocessing"]
    if "trained" not in runs:
        return pd.DataFrame(columns=["highest", "fails_at"])
    return highest_trainable(runs).set_index(["preprocessing", "activation"])


def _eig(group: pd.DataFrame) -> str:
    if "input_eig_top_ratio" not in group or group["input_eig_top_ratio"].isna().all():
        return "—"
    return f"{group['input_eig_top_ratio'].median():.1f}"
