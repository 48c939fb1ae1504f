"""A section for each study of the user's own: a study in params.yaml `studies` whose config
answers no question ID (`study.questions` empty). It says what ran, whether the controls
reached the marks of the dataset the runs trained on, each cell's accuracy and rate, the main
effects and interactions of the axes the grid varies, and what matters most in two parts.

Only what the grid supports is printed: an axis with one level has no effect, an interaction
needs both of its axes varied, and a decomposition needs a full factorial of two or more
axes; a single cell gets its table and nothing else."""

from __future__ import annotations

from dataclasses import replace
from itertools import combinations

import pandas as pd

from ablate.analysis.controls import ControlCheck
from ablate.analysis.importance import CANDIDATE_AXES, SEED, varied
from ablate.analysis.paired import paired_diff
from ablate.analysis.stats import level_means, mean_ci
from ablate.report import figures, importance, trainability
from ablate.report.context import Context, Section, _order
from ablate.report.controls import study_config
from ablate.report.markdown import table


def own_studies(ctx: Context) -> list[str]:
    """The studies of params.yaml `studies` that ran and answer no question ID."""
    return [
        study
        for study in ctx.params.get("studies", [])
        if ctx.missing_reason(study) is None and not study_config(ctx.params, study).study.questions
    ]


def anchor(study: str) -> str:
    return f"study-{study}".replace("_", "-")


def _levels(df: pd.DataFrame, axis: str) -> list:
    return sorted(pd.unique(df[axis].dropna()), key=_order)


def controls_text(checks: list[ControlCheck]) -> str:
    if not checks:
        return "The study names no control arm (`study.controls`): nothing says the grid trained."
    rows = [
        [
            c.arm,
            c.kind,
            "—" if c.mark is None else f"{c.mark:.2f}",
            c.acc.fmt() if c.acc.n else "—",
            "trained" if c.trained else f"**under-trained**: {c.why}",
        ]
        for c in checks
    ]
    failed = [c for c in checks if not c.trained]
    verdict = (
        "Every control reached its mark: the comparisons below are between nets that learned."
        if not failed
        else "A control did not pass: the comparisons below may describe nets that did not "
        "finish learning, not the design choices."
    )
    return "\n\n".join(
        [
            "**Controls**, judged against the marks (`data.marks`) of the dataset the runs "
            "trained on. " + verdict,
            table(["control arm", "net", "mark", "test acc (95% CI)", "status"], rows),
        ]
    )


def cells_table(df: pd.DataFrame, every: pd.DataFrame, axes: list[str]) -> str:
    """One row per cell: its levels, runs, test accuracy with CI and the rate it ran at."""
    rows = []
    groups = df.groupby(axes, sort=True) if axes else [((), df)]
    for levels, group in groups:
        levels = levels if isinstance(levels, tuple) else (levels,)
        cell = every
        for axis, level in zip(axes, levels, strict=True):
            cell = cell[cell[axis] == level]
        rates = sorted(group["lr"].dropna().unique())
        rows.append(
            [
                *levels,
                f"{len(group)}/{len(cell)}",
                mean_ci(group["test_acc"]).fmt(),
                ", ".join(f"{r:g}" for r in rates) or "—",
            ]
        )
    headers = [*axes, "ok runs / runs", "test accuracy [95% CI]", "lr"]
    return "**Per cell** (at each cell's best-validated rate where the rate varies)\n\n" + table(
        headers, rows
    )


def main_effects(df: pd.DataFrame, axes: list[str]) -> str:
    """Each varied axis: its level means, and each level against the first, paired over
    the other axes' cells and seeds."""
    rows = []
    for axis in axes:
        means = level_means(df, axis).set_index(axis)
        levels = _levels(df, axis)
        pair_on = [a for a in axes if a != axis] + ["seed"]
        for level in levels:
            r = means.loc[level]
            diff = "reference"
            if level != levels[0]:
                est = paired_diff(df, axis, level, levels[0], pair_on)
                diff = est.fmt(signed=True) if est.n else "no pairs"
            ci = f"{r['mean']:.3f} [{r['lo']:.3f}, {r['hi']:.3f}]" if r["n"] > 1 else "—"
            rows.append([axis, level, int(r["n"]), ci, diff])
    return "**Main effects**: each level averaged over seeds and every other axis; the " + (
        "difference to the axis's first level is paired on the other axes and the seed "
        "(exact sign-flip test).\n\n"
        + table(["axis", "level", "runs", "test accuracy [95% CI]", "vs first level"], rows)
    )


def interactions(df: pd.DataFrame, pairs: list[tuple[str, str]]) -> str:
    parts = []
    for a, b in pairs:
        cells = [
            [la, lb, mean_ci(g["test_acc"]).n, mean_ci(g["test_acc"]).fmt()]
            for (la, lb), g in df.groupby([a, b], sort=True)
        ]
        parts.append(f"**{a} x {b}**\n\n" + table([a, b, "runs", "test accuracy [95% CI]"], cells))
    return "\n\n".join(parts)


def decomposition(ctx: Context, study: str, axes: list[str]) -> list[str]:
    """What matters most, in two parts: whether nets train, then the variance decomposition
    of results/importance.csv (present for a full factorial of two or more axes)."""
    parts = [trainability.trainability_part(ctx, axes, study)]
    terms = importance.scope(ctx.importance, study)
    if terms.empty or SEED not in terms.index:
        return parts
    path, link = ctx.figure(f"{study}_importance.png")
    importance.chart(terms, path, f"Which choice moves test accuracy (study {study})")
    rows = [
        [importance.name(t), importance.ci(r), importance._p(terms, t)]
        for t, r in importance.ranked(terms).iterrows()
    ]
    rows += [
        [importance.name(t), importance.ci(terms.loc[t]), importance._p(terms, t)]
        for t in (importance.HIGHER, SEED)
        if t in terms.index
    ]
    parts += [
        f"**What moves accuracy.** {int(terms['runs'].iloc[0])} runs, "
        f"{terms['subset'].iloc[0]}: the share of the variance in test accuracy each choice "
        "and pair explains (eta-squared from an ANOVA of every main effect and two-way "
        "interaction, 95% bootstrap CIs over seeds); the seed-to-seed share is the noise floor.",
        f"![Variance in test accuracy explained by each choice and pair]({link})",
        table(["term", "share [95% CI]", "p (F)"], rows),
    ]
    return parts


def section(ctx: Context, study: str, checks: list[ControlCheck]) -> Section:
    every = ctx.study(study, status=None)
    axes = varied(every, CANDIDATE_AXES)
    df = ctx.tuned(study, axes)
    parts = [ctx.describe(study, tuned=True), controls_text(checks)]
    if df.empty:
        parts.append("No run of this study finished ok: there is nothing to compare.")
        return Section(anchor(study), f"Study `{study}`", "\n\n".join(parts))
    parts.append(cells_table(df, every, axes))
    axes = varied(df, axes)  # an axis whose other levels never finished ok has no effect
    if axes:
        path, link = ctx.figure(f"{study}_main_effects.png")
        figures.main_effects(df, axes, path)
        parts += [
            f"![Test accuracy per level of each axis]({link})",
            main_effects(df, axes),
        ]
    pairs = list(combinations(axes, 2))
    if pairs:
        path, link = ctx.figure(f"{study}_interactions.png")
        figures.interactions(df, pairs, path)
        parts += [
            "**Interactions**: cell means of each pair of varied axes.",
            f"![Interaction heatmaps of mean test accuracy]({link})",
            interactions(df, pairs),
        ]
    if axes:
        parts += decomposition(ctx, study, axes)
    parts.append(ctx.reproduce(study))
    return Section(anchor(study), f"Study `{study}`", "\n\n".join(parts))


def point_to(matters: Section, own: list[Section]) -> Section:
    """ "What matters most" decomposes the main grid; where it has nothing to decompose, it
    names the sections that decompose the user's own studies."""
    if not own or not matters.body.startswith("Nothing to decompose"):
        return matters
    links = ", ".join(f"[{s.title}](#{s.anchor})" for s in own)
    body = f"{matters.body} Each study of your own has its decomposition in its section: {links}."
    return replace(matters, body=body)
