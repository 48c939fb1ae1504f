"""The report's table of learning rates: each arm's rate from its study's search, its mean
validation accuracy at every rate tried (the half-decade extensions past the searched range
included), and why a choice was left where it is: the next rate diverged, the extensions
ran out, or the arm trains at no rate tried."""

from __future__ import annotations

import pandas as pd

from ablate.analysis.collect import AXES
from ablate.analysis.outcomes import LEARNED_MARGIN
from ablate.analysis.tuning import select_best_lr
from ablate.report.context import Context, Section
from ablate.report.markdown import table

NOT_CELLS = {"fold"}
# Why a searched arm's rate stays where it is (`lr_search.EDGES`); an interior choice: ''.
FLAGS = {
    False: "",
    "diverged-next": "the next half-decade diverged",
    "limit": "**still at the edge after 3 extensions**",
    "no-train": "**trains at no rate tried**",
    "cliff": "backed off from {cliff_from:g}: the next rate up falls off",
}  # cross-validation folds are replicates, not cells


def kept_rates(ctx: Context, study: str) -> str:
    """For a study whose grid sweeps the rate: each cell's kept (best-validated) rate."""
    ok = ctx.study(study)
    swept = sorted(ctx.study(study, status=None)["lr"].dropna().unique())
    if study in ctx.tuning or ok.empty or len(swept) < 2:
        return ""  # a searched study's rates are in the table above
    if "fold" in ok and ok["fold"].nunique() > 1:
        return ""
    axes = [a for a in [*AXES, "preprocessing"] if a in ok and ok[a].nunique() > 1]
    if not axes:
        return ""
    best = select_best_lr(ok, axes)
    floor = best["majority_acc"].fillna(1.0 / best["classes"]) + LEARNED_MARGIN
    kept = (
        best.assign(learned=best["val_acc"] > floor)
        .groupby(axes, dropna=False)
        .agg(lr=("lr", "first"), learned=("learned", "mean"))
        .reset_index()
    )
    # The best-validated rate per cell, before the sweep's back-off from a cliff.
    plain = select_best_lr(ok.drop(columns="kept_lr", errors="ignore"), axes)
    best_val = plain.groupby(axes, dropna=False)["lr"].first()
    kept = kept.merge(best_val.rename("best_lr").reset_index(), on=axes, how="left")
    low, high = swept[0], swept[-1]

    def flag(r: pd.Series) -> str:
        if r["learned"] < 0.5:  # most seeds at the floor at the best rate: none trains
            return "**trains at no rate tried**"
        if r["best_lr"] > r["lr"]:
            return FLAGS["cliff"].format(cliff_from=r["best_lr"])
        return "**at the edge**" if r["lr"] in (low, high) else ""

    rows = [
        [*(str(r[a]) for a in axes), f"{r['lr']:g}", flag(r)]
        for _, r in kept.sort_values(axes).iterrows()
    ]
    return (
        f"<details><summary><code>{study}</code>: the kept rate of each of its "
        f"{len(rows)} cells (swept: {', '.join(f'{lr:g}' for lr in swept)})"
        "</summary>\n\n" + table([*axes, "kept rate", "flag"], rows) + "\n\n</details>"
    )


def _searched_at(ctx: Context) -> list[str]:
    """Per tuned study, the axes that vary in its grid but not in its arms, and the level
    its rate search ran them at (read from the search runs themselves)."""
    found = []
    runs = ctx.runs
    for study, table_ in sorted(ctx.tuning.items()):
        rows = runs[runs["study"] == study]
        if "role" not in rows or rows.empty:
            continue
        grid, search = rows[rows["role"] == "grid"], rows[rows["role"] == "lr_search"]
        by = {b.removeprefix("model.").removeprefix("data.") for b in table_.get("by", [])}
        fixed = [
            f"{axis} = {search[axis].iloc[0]}"
            for axis in AXES
            if axis in rows
            and axis not in by
            and axis != "lr"
            and grid[axis].nunique() > 1
            and search[axis].nunique() == 1
        ]
        if fixed:
            found.append(f"`{study}`: {', '.join(fixed)}")
    return found


def section(ctx: Context) -> Section | None:
    swept = [kept_rates(ctx, s) for s in ctx.params.get("studies", [])]
    swept = [text for text in swept if text]
    rows: list[list[str]] = []
    for study, found in sorted(ctx.tuning.items()):
        if study not in ctx.params.get("studies", []):
            continue
        levels = found["levels"]
        for arm, entry in found["arms"].items():
            added = {f"{lr:g}" for lr in entry["extended"]}
            scores = ", ".join(
                f"{f'*{lr}*' if lr in added else lr}: "
                + ("—" if score["mean"] is None else f"{score['mean']:.3f}")
                for lr, score in entry["scores"].items()
            )
            arm_text = arm.replace("model.", "").replace("data.", "").replace(",", ", ")
            flag = FLAGS[entry["edge"]].format(**entry)
            rows.append([f"`{study}`", arm_text, f"{entry['lr']:g}", scores, flag])
        seeds = ", ".join(str(s) for s in found["seeds"])
        searched = f"*searched: {', '.join(f'{lr:g}' for lr in levels)}; seeds {seeds}*"
        rows.append(["", searched, "", "", ""])
    if not rows and not swept:
        return None
    sweeping = [
        s
        for s in ctx.params.get("studies", [])
        if s not in ctx.tuning
        and ctx.missing_reason(s) is None
        and ctx.study(s, status=None)["lr"].nunique() > 1
    ]
    body = (
        "A study with a rate search trains each arm (a combination of the axes named in "
        "`study.tune.by`) at every searched rate on two seeds and keeps the one with the best "
        "mean validation accuracy (a diverged run scores 0). A best rate next to a cliff (the "
        "next rate up loses more than 0.1 of accuracy, or a seed diverges there) backs off "
        "to the next rate down when that one scores within one standard error of it "
        "(binomial, on the validation images): two seeds cannot show that a third would "
        "fall off the cliff, and the lower rate is as good within noise. A choice at an edge "
        "of the rates tried adds the next half-decade rate (*in italics*) until the choice "
        "is interior, the next rate diverges, or three were added. An arm no better than the "
        "majority class + 0.1 at every rate trains at no rate tried: it is flagged, and its "
        "grid runs at its lowest rate that did not diverge. Its grid then reuses the chosen rate "
        "for every seed and for every level of the axes outside the arm. Those axes are "
        "judged at a rate chosen on one of their levels (`study.tune.at`): a confound in "
        "favour of that level, which the verdicts on those axes inherit"
        + (f" ({'; '.join(searched_at)})" if (searched_at := _searched_at(ctx)) else "")
        + ". Studies whose grid sweeps the rate "
        f"itself ({', '.join(f'`{s}`' for s in sweeping) or 'none here'}) keep each "
        "cell's best-validated rate in their comparisons; a kept rate at the edge of its "
        "sweep is flagged: the best may lie beyond it.\n\n"
        + (
            table(["study", "arm", "rate", "validation accuracy per rate", "flag"], rows)
            if rows
            else ""
        )
        + ("\n\n" + "\n\n".join(swept) if swept else "")
    )
    return Section("rates", "Learning rate of each arm", body)
