"""The report's trained guard: a table of every study's control arms, and the rule that
turns each verdict of a study whose control did not learn into *inconclusive:
under-trained*, with the number."""

from __future__ import annotations

from dataclasses import replace

from ablate.analysis.controls import PLATEAU_DROP, PLATEAU_NATS, ControlCheck, check_study
from ablate.analysis.rules.common import NOT_RUN, Verdict
from ablate.config import compose
from ablate.report.context import Context, Section
from ablate.report.markdown import table

UNDER_TRAINED = "inconclusive"


def study_checks(ctx: Context) -> dict[str, list[ControlCheck]]:
    """Every run study's control checks, from its config (`study.controls`, `study.mark`)
    and the dataset's marks (`data.marks`) under the report's profile."""
    profile = ctx.params.get("profile", "cpu")
    out: dict[str, list[ControlCheck]] = {}
    for study in ctx.params.get("studies", []):
        if ctx.missing_reason(study) is not None:
            continue
        cfg = compose([f"profile={profile}", f"study={study}"])
        arms = [dict(arm) for arm in cfg.study.controls]
        if not arms:
            continue
        runs = ctx.runs[ctx.runs["study"] == study]
        if "role" in runs:  # the grid and its control cells' extra seeds
            runs = runs[runs["role"].fillna("grid").isin(["grid", "control"])]
        out[study] = check_study(
            study, runs, ctx.history, arms, cfg.study.mark, dict(cfg.data.marks)
        )
    return out


def guard(verdict: Verdict, checks: list[ControlCheck]) -> Verdict:
    """The verdict, unless a control missed its mark: then inconclusive, with the number."""
    failed = [c for c in checks if not c.trained]
    if verdict.verdict == NOT_RUN or not failed:
        return verdict
    why = "; ".join(f"{c.arm}: {c.why}" for c in failed)
    return replace(
        verdict,
        verdict=UNDER_TRAINED,
        key_number=f"under-trained: {why}",
        explanation=(
            f"**Under-trained**: {why}. A verdict from a control that did not learn "
            f"describes the start of training, not the design choice, so none is given "
            f"(the rule alone would have said *{verdict.verdict}*: {verdict.key_number})."
        ),
    )


def section(checks: dict[str, list[ControlCheck]]) -> Section:
    rows = []
    for study, found in sorted(checks.items()):
        for c in found:
            rows.append(
                [
                    f"`{study}`",
                    c.arm,
                    c.kind,
                    "—" if c.mark is None else f"{c.mark:.2f}",
                    c.acc.fmt() if c.acc.n else "—",
                    str(c.seeds),
                    "—" if c.lr is None else f"{c.lr:g}",
                    "—" if c.steps != c.steps else f"{c.steps:.0f}",
                    "—" if c.val_drop != c.val_drop else f"{c.val_drop:+.0%}",
                    "trained" if c.trained else f"**under-trained**: {c.why}",
                ]
            )
    body = (
        "Each study names its control arm: the settings the literature expects to train. "
        "It runs more seeds than a compared cell (`profile.control_seeds`), and its mean test "
        "accuracy over them (at its best-validated rate) must reach the dataset's mark for "
        "its kind of net, a mark set beforehand from a calibration on seeds no study uses "
        "(`python -m ablate.sweep.calibrate`), and its validation loss must have plateaued "
        f"(fallen by at most {PLATEAU_DROP:.0%}, or at most {PLATEAU_NATS} nats, over the last "
        "fifth of training; a run stopped as converged has plateaued). Where a control missed, "
        "every verdict of its study reads *inconclusive: under-trained*.\n\n"
        + table(
            [
                "study",
                "control arm",
                "net",
                "mark",
                "test acc (95% CI)",
                "seeds",
                "lr",
                "steps",
                "val-loss fall, last fifth (negative: rose)",
                "status",
            ],
            rows,
        )
    )
    return Section("controls", "Did the controls learn?", body)
