"""Whether a net trains at all, apart from how well it does once it trains.

In a grid where some choices leave nets at the floor, test accuracy is almost a two-valued
outcome: a decomposition of its variance then measures which runs sit at the floor. This
module measures that part on its own: the share of runs that train per level and per pair
of levels (exact Clopper-Pearson CIs, statsmodels' `proportion_confint`), and a logistic
model of trained ~ main effects (statsmodels' GLM Binomial) with odds ratios and their CIs.

A run trains when it finished ok and its test accuracy beats the majority-class share by
more than 0.1 (`trained`). Failed and timed-out runs measured nothing and are left out;
diverged runs are results (not trained). Perfect separation is the usual case here (every
run with BN trains): a level whose runs all train, or none, has no finite odds ratio. Such
levels are reported as such, with their exact binomial CI, and taken out one step at a time
(`separation`); the model is fitted on what remains, if its outcome still varies, and a fit
that still separates (a combination of levels) is reported as not estimable, never as a
number.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from statsmodels.stats.proportion import proportion_confint
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

from ablate.analysis import outcomes
from ablate.analysis.stats import ALPHA
from ablate.analysis.tuning import select_best_lr

MARGIN = outcomes.LEARNED_MARGIN  # accuracy above the majority-class share: learned
MEASURED = ("ok", "diverged")  # failed and timeout runs measured nothing
MAX_LOG_ODDS = 10.0  # |coefficient| or SE beyond this: the fit ran off to a separation
SHARE_COLUMNS = ["kind", "axis", "level", "trained", "runs", "share", "lo", "hi"]
ODDS_COLUMNS = ["axis", "level", "reference", "odds_ratio", "lo", "hi", "p"]


def trained(runs: pd.DataFrame) -> pd.Series:
    """Per run: did it train? The table's own `trained` column where it has one, else the
    rule of `outcomes.trained` (ok, test accuracy > majority-class share + MARGIN)."""
    computed = outcomes.trained(runs)
    if "trained" in runs:
        given = runs["trained"].map({True: True, False: False, "True": True, "False": False})
        computed = given.where(given.notna(), computed)
    return computed.astype(bool).rename("trained")


def measured(runs: pd.DataFrame, axes: list[str]) -> pd.DataFrame:
    """The runs that say whether a net trains, with `trained`: finished ok or diverged, and
    where the study sweeps the rate as a nuisance, each cell's best-validated rate."""
    rows = runs[runs["status"].isin(MEASURED)]
    rows = rows.assign(trained=trained(rows))
    cell_axes = [a for a in axes if a in rows and rows[a].nunique(dropna=True) > 1]
    if "lr" in rows and cell_axes:
        rows = select_best_lr(rows, cell_axes)
    return rows


def interval(k: int, n: int) -> tuple[float, float]:
    lo, hi = proportion_confint(k, n, alpha=ALPHA, method="beta")  # Clopper-Pearson: exact
    return float(lo), float(hi)


def _share_row(kind: str, axis: str, level: str, group: pd.Series) -> dict:
    k, n = int(group.sum()), len(group)
    lo, hi = interval(k, n)
    return dict(zip(SHARE_COLUMNS, [kind, axis, level, k, n, k / n, lo, hi], strict=True))


def shares(rows: pd.DataFrame, axes: list[str]) -> pd.DataFrame:
    """Share of runs that train per level (kind `level`) and per pair of levels of two
    axes (kind `pair`, axis `a:b`, level `x:y`), with exact 95% CIs."""
    out = [
        _share_row("level", axis, str(level), g["trained"])
        for axis in axes
        for level, g in rows.groupby(axis, sort=True)
    ]
    for a, b in combinations(axes, 2):
        for (x, y), g in rows.groupby([a, b], sort=True):
            out.append(_share_row("pair", f"{a}:{b}", f"{x}:{y}", g["trained"]))
    return pd.DataFrame(out, columns=SHARE_COLUMNS)


def separation(rows: pd.DataFrame, axes: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Levels that decide training on their own, found step by step: at each step, every
    level of the remaining runs where all runs train or none does (while the remaining runs
    themselves disagree) is recorded with its exact CI and its runs are set aside. Returns
    (steps: `step` + the `shares` columns, the runs left for the model)."""
    steps, rest, step = [], rows, 0
    while rest["trained"].nunique() > 1:
        step += 1
        found = [
            (axis, level, g)
            for axis in axes
            if rest[axis].nunique() > 1
            for level, g in rest.groupby(axis, sort=True)
            if g["trained"].nunique() == 1
        ]
        if not found:
            break
        for axis, level, g in found:
            steps.append({"step": step, **_share_row("level", axis, str(level), g["trained"])})
        drop = np.zeros(len(rest), dtype=bool)
        for axis, level, _ in found:
            drop |= (rest[axis] == level).to_numpy()
        rest = rest[~drop]
    return pd.DataFrame(steps, columns=["step", *SHARE_COLUMNS]), rest


@dataclass(frozen=True)
class Model:
    """The logistic model of trained ~ main effects on the runs left after separation:
    `odds` (ODDS_COLUMNS, empty when not fitted) and `note`, what was fitted or why not."""

    odds: pd.DataFrame
    note: str
    runs: int
    trained: int = 0


def logistic(rest: pd.DataFrame, axes: list[str], set_aside: bool = False) -> Model:
    """GLM Binomial of trained ~ C(axis) + ... over the axes still varied in `rest` (the
    runs left once `separation` has `set_aside` the deciding levels); odds ratios against
    each axis's first level, with Wald 95% CIs."""
    empty = pd.DataFrame(columns=ODDS_COLUMNS)
    n, k = len(rest), int(rest["trained"].sum()) if len(rest) else 0
    if n == 0:
        return Model(empty, "no runs left once the deciding levels are set aside", 0)
    if k in (0, n):
        which = "trained" if k == n else "failed to train"
        return Model(empty, f"not fitted: all {n} {'remaining ' * set_aside}runs {which}", n, k)
    terms = [a for a in axes if rest[a].nunique() > 1]
    if not terms:
        return Model(empty, "not fitted: no axis varies among the remaining runs", n, k)
    data = rest[terms].astype(str).assign(trained=rest["trained"].astype(float))
    formula = "trained ~ " + " + ".join(f"C({a})" for a in terms)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        try:
            fit = smf.glm(formula, data, family=sm.families.Binomial()).fit()
        except PerfectSeparationWarning:
            fit = None
    if fit is None or not _finite_fit(fit):
        note = "not estimable: a combination of levels separates the remaining runs"
        return Model(empty, note, n, k)
    ci = fit.conf_int(alpha=ALPHA)
    rows = []
    for name in fit.params.index.drop("Intercept"):
        axis, level = name[2 : name.index(")")], name.split("[T.", 1)[1].rstrip("]")
        reference = sorted(data[axis].unique())[0]
        rows.append(
            [axis, level, reference, *np.exp([fit.params[name], *ci.loc[name]]), fit.pvalues[name]]
        )
    return Model(pd.DataFrame(rows, columns=ODDS_COLUMNS), f"fitted on {n} runs", n, k)


def _finite_fit(fit) -> bool:
    coef, se = fit.params.drop("Intercept").abs(), fit.bse.drop("Intercept")
    values = [*coef, *se]
    return all(math.isfinite(v) for v in values) and max(values, default=0) < MAX_LOG_ODDS


@dataclass(frozen=True)
class Trainability:
    """One study's trainability part: shares, the deciding levels and the model. `mixed`:
    the cells (of `cells`) whose seeds disagree; where none do, a cell's runs are not
    independent draws of the outcome, and run-level CIs are narrower than the cells justify."""

    runs: int
    trained: int
    cells: int
    mixed: int
    shares: pd.DataFrame
    steps: pd.DataFrame
    model: Model


def trainability(runs: pd.DataFrame, axes: list[str]) -> Trainability:
    """Everything the trainability part reports for one study's runs over `axes`."""
    rows = measured(runs, axes)
    axes = [a for a in axes if a in rows and rows[a].nunique(dropna=True) > 1]
    steps, rest = separation(rows, axes)
    model = logistic(rest, axes, set_aside=len(steps) > 0)
    agree = rows.groupby(axes, sort=True)["trained"].nunique() if axes else pd.Series([1])
    return Trainability(
        len(rows),
        int(rows["trained"].sum()),
        len(agree),
        int((agree > 1).sum()),
        shares(rows, axes),
        steps,
        model,
    )


TABLE_COLUMNS = [
    *["study", "part", "step", "axis", "level", "reference"],
    *["trained", "runs", "value", "lo", "hi", "p", "note"],
]


def as_table(study: str, result: Trainability) -> pd.DataFrame:
    """One study's trainability as rows of `results/trainability.csv`, by `part`: `level`
    and `pair` (value: the share that trains), `decides` (the levels that decide alone, by
    step), `odds_ratio` (value: the model's odds ratio against `reference`) and `model`
    (`note`: what was fitted, or why not)."""
    parts = [
        result.shares.rename(columns={"kind": "part", "share": "value"}),
        result.steps.rename(columns={"share": "value"}).assign(part="decides"),
        result.model.odds.rename(columns={"odds_ratio": "value"}).assign(part="odds_ratio"),
        pd.DataFrame([{"part": "model", "runs": result.model.runs, "note": result.model.note}]),
    ]
    frames = [p for p in parts if len(p)]
    return pd.concat(frames, ignore_index=True).assign(study=study).reindex(columns=TABLE_COLUMNS)
