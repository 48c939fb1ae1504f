"""The report's table of learning rates: each arm's rate from its study's search, its
validation accuracy at every searched rate, and a flag where the choice sits at an edge
of the searched range (the best rate may lie beyond it)."""

from __future__ import annotations

from ablate.analysis.collect import AXES
from ablate.analysis.tuning import select_best_lr
from ablate.report.context import Context, Section
from ablate.report.markdown import table

NOT_CELLS = {"fold"}  # cross-validation folds are replicates, not cells


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
    kept = select_best_lr(ok, axes).drop_duplicates(axes)
    low, high = swept[0], swept[-1]
    rows = [
        [
            *(str(r[a]) for a in axes),
            f"{r['lr']:g}",
            "**at the edge**" if r["lr"] in (low, high) else "",
        ]
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
            scores = ", ".join(
                f"{lr}: {'—' if score is None else f'{score:.3f}'}"
                for lr, score in entry["scores"].items()
            )
            edge = "**at the edge**" if entry["edge"] else ""
            arm_text = arm.replace("model.", "").replace("data.", "").replace(",", ", ")
            rows.append([f"`{study}`", arm_text, f"{entry['lr']:g}", scores, edge])
        rows.append(["", f"*searched: {', '.join(f'{lr:g}' for lr in levels)}*", "", "", ""])
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
        "`study.tune.by`) at every searched rate on seed 0 and keeps the one with the best "
        "validation accuracy (a diverged run scores lowest); its grid then reuses that rate "
        "for every seed and for every level of the axes outside the arm. Those axes are "
        "judged at a rate chosen on one of their levels (`study.tune.at`): a confound in "
        "favour of that level, which the verdicts on those axes inherit"
        + (f" ({'; '.join(searched_at)})" if (searched_at := _searched_at(ctx)) else "")
        + ". Studies whose grid sweeps the rate "
        f"itself ({', '.join(f'`{s}`' for s in sweeping) or 'none here'}) keep each "
        "cell's best-validated rate in their comparisons. A rate chosen at the edge of the "
        "searched range is flagged: the best may lie beyond it.\n\n"
        + (
            table(["study", "arm", "rate", "validation accuracy per rate", "flag"], rows)
            if rows
            else ""
        )
        + ("\n\n" + "\n\n".join(swept) if swept else "")
    )
    return Section("rates", "Learning rate of each arm", body)
