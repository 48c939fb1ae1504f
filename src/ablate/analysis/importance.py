"""Which choice matters most: the share of the variation in test accuracy that each axis of
a factorial study, and each pair of axes, explains, with 95% bootstrap CIs over seeds.

Where some nets never train, test accuracy is nearly two-valued (floor or learned) and its
variance mostly says which runs sit at the floor; whether a net trains is measured apart
(`trainability.py`). For the studies in TRAINED_ONLY the decomposition is therefore taken
among nets that train: over the cells where every seed trained (at least two seeds, so
seed noise is measured), restricted to the largest full grid of such cells that a greedy
search finds (`trained_block`: it drops, one at a time, the level whose removal leaves the
most trained share), so the design stays factorial and each share is measured. The column
`subset` says which cells entered.

The share is eta-squared, SS_term / SS_total (not partial eta-squared), so shares of one
decomposition add up and compare across terms. SS_term comes from statsmodels' ANOVA
(`anova_lm`: type II, or type I where the grid is balanced, which then gives the same sums)
of an OLS model with every main effect and every two-way interaction.
What that model leaves is split in two: the seed-to-seed variation inside a grid cell (the
residual of an OLS with one mean per cell: the noise floor no design choice can beat) and
the interactions of three or more axes (the rest). In a balanced grid the shares sum to 1.

Which runs enter, explicitly:
- only axes with more than one level are terms;
- `failed` and `timeout` runs, and any run without a test accuracy, measured nothing: they
  are left out (the report lists them with the runs that did not finish ok);
- a `diverged` run is a result: it counts at the accuracy of a constant predictor, the
  column `majority_acc` where the table has it, else 1 / `classes`;
- where a study sweeps the learning rate as a nuisance axis, each cell first keeps the rows
  of its best-validated rate (`select_best_lr`), as every other comparison does.

The CIs resample seeds with replacement inside each cell (rows sorted first, fixed RNG seed,
so a rerun prints the same numbers), with the deviations from the cell mean scaled by
sqrt(n / (n - 1)), the modified-residual bootstrap of Davison & Hinkley (1997, sec. 6.2.3).
The interval is the resampled shares' spread around their own mean, placed on the estimate,
and clipped to [0, 1]. Not their percentiles: seed noise adds to every term's sum of squares
(the more, the more degrees of freedom it has), and a resample adds that noise once more, so
percentiles sit above the estimate and never reach 0 for a choice with no effect. The
interval says how far a share would move if every seed were drawn again. With two seeds a
cell the intervals are rough.
"""

from __future__ import annotations

import re
import warnings
from itertools import product
from math import prod

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from statsmodels.stats.anova import anova_lm

from ablate.analysis.collect import AXES
from ablate.analysis.stats import LEVEL
from ablate.analysis.trainability import TABLE_COLUMNS, as_table, trainability, trained
from ablate.analysis.tuning import select_best_lr

RESAMPLES = 200  # each refits two OLS models; 200 keep the aggregate stage within seconds
CANDIDATE_AXES = [*AXES, "preprocessing"]  # design axes; lr is a nuisance, fold a CV split
FAMILY = "arch"  # a study that varies it gets one decomposition per architecture family
HIGHER = "higher-order"
SEED = "seed-to-seed"
KINDS = ("main", "interaction", "higher_order", "residual")
COLUMNS = [
    *["study", "scope", "term", "kind", "share", "lo", "hi", "p", "runs", "cells", "subset"],
    "label",
]
TRAINED_ONLY = ("main",)  # studies whose decomposition is taken among nets that train
MIN_SEEDS = 2  # a cell needs two seeds to show seed noise


def prepare(runs: pd.DataFrame, axes: list[str], metric: str = "test_acc") -> pd.DataFrame:
    """The rows that enter a decomposition, by the rules in the module docstring."""
    rows = runs[runs["status"].isin(["ok", "diverged"])].copy()
    diverged = rows["status"] == "diverged"
    constant = 1.0 / rows["classes"].astype(float)
    if "majority_acc" in rows:  # a diverged run never measured it: fall back to 1/classes
        constant = rows["majority_acc"].fillna(constant)
    rows.loc[diverged, metric] = constant[diverged]
    rows = rows.dropna(subset=[metric])
    cell_axes = varied(rows, axes)
    if "lr" in rows and cell_axes:
        rows = select_best_lr(rows, cell_axes)
    return rows


def varied(df: pd.DataFrame, axes: list[str]) -> list[str]:
    """The axes of `axes` with more than one level in `df`."""
    return [a for a in axes if a in df and df[a].nunique(dropna=True) > 1]


def factorial_axes(df: pd.DataFrame, candidates: list[str] = CANDIDATE_AXES) -> list[str]:
    """The varied axes when `df` holds every combination of their levels and at least two
    vary (a full factorial), else [] (one axis alone needs no decomposition)."""
    axes = varied(df, candidates)
    if len(axes) < 2 or df[axes].isna().any().any():
        return []
    cells = len(df.drop_duplicates(axes))
    return axes if cells == prod(df[a].nunique() for a in axes) else []


def decompose(
    df: pd.DataFrame,
    axes: list[str],
    metric: str = "test_acc",
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> pd.DataFrame:
    """eta-squared of each main effect and two-way interaction of `axes` (those varied in
    `df`), of the higher-order rest and of the seed-to-seed residual, with 95% CIs.

    `df` holds finished rows only (see `prepare`). Columns: term, kind, share, lo, hi."""
    axes = varied(df, axes)
    if not axes or len(df) < 2:
        return pd.DataFrame(columns=["term", "kind", "share", "lo", "hi"])
    df = df.sort_values([*axes, *(c for c in ("seed", "key") if c in df)], ignore_index=True)
    df = df[[*axes, metric]].assign(**{a: df[a].astype(str) for a in axes})
    cells = df.groupby(axes, sort=True).ngroup().to_numpy()
    dummies = np.eye(cells.max() + 1)[cells]  # one mean per cell: its residual is seed noise
    formula = f"{metric} ~ ({' + '.join(f'C({a})' for a in axes)})"
    if len(axes) > 1:
        formula += "**2"
    counts = np.bincount(cells)
    # Type II respects marginality in an unbalanced grid; in a balanced one type I gives the
    # same sums of squares, faster, and also when a saturated model leaves no residual df.
    typ = 1 if counts.min() == counts.max() else 2
    template = smf.ols(formula, data=df)  # parsed once: resamples change y, never the design
    design = (template.exog, template.data.model_spec, dummies, typ)
    y = template.endog
    point = _shares(y, *design)
    rng = np.random.default_rng(seed)
    draws = np.tile(np.arange(len(y)), (resamples, 1))
    for cell, size in enumerate(counts):
        members = np.flatnonzero(cells == cell)
        draws[:, members] = members[rng.integers(0, size, (resamples, size))]
    # A cell's mean plus its runs' deviations drawn with replacement, each scaled by
    # sqrt(n / (n - 1)): plain resampling shrinks a cell's spread by (n - 1) / n (half, at
    # two seeds), and would move the seed-to-seed share out of its own interval.
    fitted = (np.bincount(cells, y) / counts)[cells]
    deviations = (y - fitted) * np.sqrt(counts / np.maximum(counts - 1, 1))[cells]
    boot = pd.DataFrame([_shares(fitted + deviations[d], *design) for d in draws])
    tail = (1 - LEVEL) / 2
    spread = boot - boot.mean()  # centred: see the module docstring
    out = pd.DataFrame(
        {
            "term": point.index,
            "share": point.to_numpy(),
            "lo": (point + spread.quantile(tail)).clip(0, 1).to_numpy(),
            "hi": (point + spread.quantile(1 - tail)).clip(0, 1).to_numpy(),
        }
    )
    out.insert(1, "kind", [_kind(t) for t in out["term"]])
    return out.assign(p=out["term"].map(_f_tests(y, *design)))


def _f_tests(y: np.ndarray, exog: np.ndarray, spec, dummies: np.ndarray, typ: int) -> pd.Series:
    """term -> p-value of its F test against seed-to-seed noise: the term's mean square
    over the within-cell mean square (each term's sum of squares per degree of freedom:
    a share alone, compared with the noise share, ignores how many df each one spends)."""
    from scipy.stats import f as f_dist

    fit = sm.OLS(y, exog, model_spec=spec, hasconst=True).fit(method="qr")
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = anova_lm(fit, typ=typ).drop(index="Residual")
    noise = sm.OLS(y, dummies, hasconst=True).fit(method="qr")
    noise_df = len(y) - dummies.shape[1]
    if noise_df <= 0 or noise.ssr <= 0:
        return pd.Series(dtype=float)
    noise_ms = noise.ssr / noise_df
    names = [":".join(re.findall(r"C\((\w+)\)", n)) for n in table.index]
    p = {
        n: float(f_dist.sf(ss / df / noise_ms, df, noise_df))
        for n, ss, df in zip(names, table["sum_sq"], table["df"], strict=True)
        if df > 0
    }
    higher_df = fit.df_resid - noise_df
    if higher_df > 0:
        p[HIGHER] = float(
            f_dist.sf((fit.ssr - noise.ssr) / higher_df / noise_ms, higher_df, noise_df)
        )
    return pd.Series(p)


def _shares(y: np.ndarray, exog: np.ndarray, spec, dummies: np.ndarray, typ: int) -> pd.Series:
    """One decomposition of `y` on a fixed design: term -> SS_term / SS_total."""
    fit = sm.OLS(y, exog, model_spec=spec, hasconst=True).fit(method="qr")  # `ols`, unparsed
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # F tests are not used; a saturated fit has no df left
        table = anova_lm(fit, typ=typ)
    terms = table.drop(index="Residual")["sum_sq"]
    terms.index = [":".join(re.findall(r"C\((\w+)\)", name)) for name in terms.index]
    noise = sm.OLS(y, dummies, hasconst=True).fit(method="qr").ssr
    shares = pd.concat([terms, pd.Series({HIGHER: max(fit.ssr - noise, 0.0), SEED: noise})])
    total = fit.centered_tss
    return shares / total if total > 0 else shares * np.nan


def _kind(term: str) -> str:
    if term == HIGHER:
        return "higher_order"
    if term == SEED:
        return "residual"
    return "interaction" if ":" in term else "main"


def trained_block(rows: pd.DataFrame, axes: list[str]) -> dict[str, list[str]]:
    """axis -> levels of the largest full grid (found greedily) whose every cell trained on
    every seed (at least MIN_SEEDS); {} when no cell did. `rows`: `prepare`d runs."""
    good = _good_cells(rows, axes)
    if not good:
        return {}
    levels = {a: sorted(rows[a].unique(), key=str) for a in axes}

    def score(block: dict[str, list]) -> tuple[float, int]:
        cells = list(product(*block.values())) if len(axes) > 1 else [(v,) for v in block[axes[0]]]
        hits = sum(((c if len(c) > 1 else c[0]) in good) for c in cells)
        return hits / len(cells), hits

    while score(levels)[0] < 1:
        options = [
            {**levels, a: [v for v in levels[a] if v != level]}
            for a in axes
            if len(levels[a]) > 1
            for level in levels[a]
        ]
        levels = max(options, key=score)  # first of equals: axis, then level order
    return {a: [str(v) for v in vs] for a, vs in levels.items()}


def _in_block(rows: pd.DataFrame, block: dict[str, list[str]]) -> pd.Series:
    keep = pd.Series(True, index=rows.index)
    for axis, levels in block.items():
        keep &= rows[axis].astype(str).isin(levels)
    return keep


def _describe(rows: pd.DataFrame, block: dict[str, list[str]], axes: list[str], good: int) -> str:
    """'cells where every seed trained: 36 of 72, within norm = batch (12 more trained cells
    outside that grid left out)'."""
    total = len(rows.drop_duplicates(axes))
    inside = len(rows[_in_block(rows, block)].drop_duplicates(axes))
    fixed = [f"{a} = {', '.join(v)}" for a, v in block.items() if len(v) < rows[a].nunique()]
    text = f"cells where every seed trained: {inside} of {total}"
    text += f", within {'; '.join(fixed)}" if fixed else ""
    left = good - inside
    return text + (f" ({left} more trained cells outside that grid left out)" if left else "")


def _good_cells(rows: pd.DataFrame, axes: list[str]) -> set:
    """The cells (tuples of levels) where every seed, at least MIN_SEEDS, trained."""
    by_cell = rows.assign(_t=trained(rows)).groupby(axes, sort=True)["_t"].agg(["all", "size"])
    return set(by_cell.index[by_cell["all"] & (by_cell["size"] >= MIN_SEEDS)])


def accuracy_rows(
    runs: pd.DataFrame, axes: list[str], trained_only: bool = False
) -> tuple[pd.DataFrame, str]:
    """The rows a study's decomposition uses and, in words, which cells they are: every
    finished run (`prepare`), or with `trained_only` the trained block of cells."""
    rows = prepare(runs, axes)
    if not trained_only:
        return rows, "every finished run"
    cells = varied(rows, axes)
    block = trained_block(rows, cells) if cells else {}
    if not block:
        return rows.iloc[0:0], f"no cell trained on every seed, with at least {MIN_SEEDS} seeds"
    subset = _describe(rows, block, cells, len(_good_cells(rows, cells)))
    return rows[_in_block(rows, block)], subset


def study_importance(
    runs: pd.DataFrame, axes: list[str], resamples: int = RESAMPLES, trained_only: bool = False
) -> pd.DataFrame:
    """The decomposition of one study over the whole grid (scope `all`), and per family
    (scope `arch=<level>`) when the architecture is an axis beside at least two others.
    With `trained_only`, over the trained block of cells (`trained_block`) instead."""
    rows, subset = accuracy_rows(runs, axes, trained_only)
    axes = varied(rows, axes)

    def one(part: pd.DataFrame, terms: list[str], where: str) -> pd.DataFrame:
        cells = len(part.drop_duplicates(terms)) if terms else 0
        result = decompose(part, terms, resamples=resamples)
        return result.assign(scope=where, runs=len(part), cells=cells, subset=subset)

    out = [one(rows, axes, "all")]
    others = [a for a in axes if a != FAMILY]
    if FAMILY in axes and len(others) >= 2:
        for family, part in rows.groupby(FAMILY, sort=True):
            out.append(one(part, others, f"{FAMILY}={family}"))
    return pd.concat(out, ignore_index=True)


def importance_table(runs: pd.DataFrame, resamples: int = RESAMPLES) -> pd.DataFrame:
    """Every factorial study's decomposition, for `results/importance.csv`: one row per
    (study, scope, term); `label` names the row alone, for `dvc plots`."""
    frames = []
    for study, group in runs.groupby("study", sort=True):
        axes = factorial_axes(prepare(group, CANDIDATE_AXES))
        if axes:
            result = study_importance(group, axes, resamples, study in TRAINED_ONLY)
            if len(result):  # none where no cell trained on every seed
                frames.append(result.assign(study=study))
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    table = pd.concat(frames, ignore_index=True)
    scope = table["study"].where(table["scope"] == "all", table["study"] + " " + table["scope"])
    return table.assign(label=scope + ": " + table["term"])[COLUMNS]


def trainability_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Every factorial study's trainability part (`trainability.as_table`), for
    `results/trainability.csv`."""
    frames = []
    for study, group in runs.groupby("study", sort=True):
        axes = factorial_axes(prepare(group, CANDIDATE_AXES))
        if axes:
            frames.append(as_table(str(study), trainability(group, axes)))
    if not frames:
        return pd.DataFrame(columns=TABLE_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def as_metrics(
    table: pd.DataFrame, trainable: pd.DataFrame | None = None
) -> dict[str, dict[str, dict[str, float | None]]]:
    """study -> scope -> term -> share, for `dvc metrics diff`; with `trainable` (the
    trainability table), also study -> `trainability` -> the share of runs that train
    (`all`) and of each level that decides training alone (`norm=batch`)."""
    metrics: dict[str, dict[str, dict[str, float | None]]] = {}
    for row in table.itertuples():
        share = None if pd.isna(row.share) else round(float(row.share), 4)
        metrics.setdefault(row.study, {}).setdefault(row.scope, {})[row.term] = share
    if trainable is None:
        return metrics
    for study, rows in trainable.groupby("study", sort=True):
        levels = rows[rows["part"] == "level"]
        headline: dict[str, float | None] = {}
        if len(levels):
            one_axis = levels[levels["axis"] == levels["axis"].iloc[0]]  # holds every run
            headline["all"] = round(float(one_axis["trained"].sum() / one_axis["runs"].sum()), 4)
        for r in rows[rows["part"] == "decides"].itertuples():
            headline[f"{r.axis}={r.level}"] = round(float(r.value), 4)
        metrics.setdefault(study, {})["trainability"] = headline
    return metrics
