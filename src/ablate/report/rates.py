"""The report's table of learning rates: each arm's rate from its study's search, its
validation accuracy at every searched rate, and a flag where the choice sits at an edge
of the searched range (the best rate may lie beyond it)."""

from __future__ import annotations

from ablate.report.context import Context, Section
from ablate.report.markdown import table


def section(ctx: Context) -> Section | None:
    rows = []
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
    if not rows:
        return None
    body = (
        "No arm is judged at a rate chosen for another. A study with a rate search trains "
        "each arm at every searched rate on seed 0 and keeps the one with the best "
        "validation accuracy (a diverged run scores lowest); its grid then reuses that "
        "rate for every seed and every other axis. Studies whose grid sweeps the rate "
        "itself (`bn`, `lr_range`, `dead_units`, `cv_select`) keep each cell's "
        "best-validated rate in their comparisons. A rate chosen at the edge of the "
        "searched range is flagged: the best may lie beyond it.\n\n"
        + table(["study", "arm", "rate", "validation accuracy per rate", "flag"], rows)
    )
    return Section("rates", "Learning rate of each arm", body)
