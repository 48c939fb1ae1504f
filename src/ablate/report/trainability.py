"""Part one of "What matters most": what decides whether a net trains at all (shares
trained per level with exact CIs, the levels that decide alone, a logistic model over the
rest; computed from the runs)."""

from __future__ import annotations

from ablate.analysis.trainability import MARGIN, Trainability, interval, trainability
from ablate.report.context import Context
from ablate.report.main_grid import STUDY
from ablate.report.markdown import table


def _count(k: int, n: int) -> str:
    return f"{k}/{n}"


def _share(k: int, n: int, lo: float, hi: float) -> str:
    return f"{100 * k / n:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]"


def _decides(result: Trainability) -> str:
    """The levels that decide training alone, step by step, and what is left, as one
    sentence."""
    if result.steps.empty:
        return "no level decides alone whether a net trains"
    out = []
    for step, rows in result.steps.groupby("step", sort=True):
        said = "; ".join(
            f"**{r.axis}={r.level}**: {'every run trains' if r.share == 1 else 'no run trains'}"
            f" ({_count(r.trained, r.runs)}, exact 95% CI {_share(r.trained, r.runs, r.lo, r.hi)})"
            for r in rows.itertuples()
        )
        out.append(said if step == 1 else f"then, among the other runs, {said}")
    left, k = result.model.runs, result.model.trained
    if left and k in (0, left):
        out.append(f"the {left} runs left {'all train' if k else 'none trains'}")
    return "; ".join(out)


def trainability_part(ctx: Context, axes: list[str], study: str = STUDY) -> str:
    """Part one: shares trained per level, the deciding levels, the logistic model."""
    runs = ctx.study(study, status=None)
    result = trainability(runs, axes)
    if result.runs == 0:
        return "**What decides whether a net trains at all**: no finished runs."
    levels = result.shares[result.shares["kind"] == "level"]
    # Separation is stepwise: a level decides among the runs the earlier steps left.
    deciding = {
        (r.axis, r.level): f"step {r.step}: {'all' if r.share == 1 else 'none'} of "
        f"{'its' if r.step == 1 else 'the rest of its'} {r.runs} runs train"
        for r in result.steps.itertuples()
    }
    rows = [
        [
            r.axis,
            r.level,
            _count(r.trained, r.runs),
            _share(r.trained, r.runs, r.lo, r.hi),
            deciding.get((r.axis, r.level), ""),
        ]
        for r in levels.itertuples()
    ]
    parts = [
        "**What decides whether a net trains at all.** A run trains when it finished ok "
        f"and its test accuracy beats the majority-class share by more than {MARGIN:g}; "
        f"{_overall(result)} of "
        + ("the main grid's runs" if study == STUDY else f"study `{study}`'s runs")
        + " do. Shares with exact (Clopper-Pearson) "
        "95% CIs, runs as the units" + _mixed(result) + ".",
        f"*Reading:* {_decides(result)}.",
        table(
            ["axis", "level", "trained / runs", "share trained [95% CI]", "decides (stepwise)"],
            rows,
        ),
        "Logistic model of trained ~ every main effect (statsmodels GLM Binomial) over the "
        "runs no single level decides (a deciding level has no finite odds ratio): "
        + _model_text(result)
        + ".",
    ]
    return "\n\n".join(parts)


def _overall(result: Trainability) -> str:
    lo, hi = interval(result.trained, result.runs)
    return f"{_count(result.trained, result.runs)} ({_share(result.trained, result.runs, lo, hi)})"


def _mixed(result: Trainability) -> str:
    """Whether the seeds of one cell ever disagree (see `Trainability`)."""
    if result.mixed == 0:
        return (
            f"; in none of the {result.cells} cells do the seeds disagree, so a cell's runs are "
            "not independent draws and these intervals are narrower than the cells justify"
        )
    return f"; in {result.mixed} of {result.cells} cells the seeds disagree"


def _model_text(result: Trainability) -> str:
    model = result.model
    if model.odds.empty:
        return model.note
    effects = ", ".join(
        f"{r.axis}={r.level} vs {r.reference}: odds ratio {r.odds_ratio:.3g} "
        f"[{r.lo:.3g}, {r.hi:.3g}], p = {r.p:.2g}"
        for r in model.odds.itertuples()
    )
    return f"{model.note}: {effects}"
