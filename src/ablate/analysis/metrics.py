"""Headline numbers for `dvc metrics show` (a handful, so the table fits a terminal), the
per-study detail beside them, and the one definition of the compute a set of runs cost."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ablate.analysis.collect import AXES

STATUSES = ("ok", "diverged", "timeout", "failed")
HEADLINE_STUDY = "main"


def training_minutes(runs: pd.DataFrame) -> float:
    """Training time summed over runs: each run's own wall time (data, fit, test, probes),
    added up. The report header and `metrics.json` both show this, for the same runs; the
    wall time of the pipeline's stages is a different, smaller number on parallel workers."""
    return float(runs["wall_time_s"].sum()) / 60 if len(runs) else 0.0


def _cells(group: pd.DataFrame) -> pd.Series:
    """Mean test accuracy per grid cell (the axes that vary within the study), best first."""
    varied = [a for a in AXES if a in group and group[a].nunique() > 1] or ["study"]
    return group.groupby(varied)["test_acc"].mean().sort_values(ascending=False)


def headline(runs: pd.DataFrame, grid: pd.DataFrame) -> dict[str, Any]:
    """`runs`: every run the report uses (rate searches included); `grid`: the grid runs."""
    ok = int((runs["status"] == "ok").sum())
    metrics: dict[str, Any] = {
        "run_count": len(runs),
        "ok_share": round(ok / len(runs), 4) if len(runs) else None,
        "training_minutes": round(training_minutes(runs), 1),
    }
    main = grid[(grid["study"] == HEADLINE_STUDY) & (grid["status"] == "ok")]
    if len(main):
        metrics[f"{HEADLINE_STUDY}_best_cell_acc"] = round(float(_cells(main).iloc[0]), 4)
    return metrics


def per_study(grid: pd.DataFrame) -> dict[str, Any]:
    """Each study's grid runs by status, mean test accuracy and best cell (studies.json)."""
    table: dict[str, Any] = {}
    for study, group in grid.groupby("study", sort=True):
        counts = group["status"].value_counts()
        entry: dict[str, Any] = {"runs": {s: int(counts.get(s, 0)) for s in STATUSES}}
        ok = group[group["status"] == "ok"]
        if len(ok):
            cells = _cells(ok)
            best = cells.index[0]
            entry |= {
                "mean_test_acc": round(float(ok["test_acc"].mean()), 4),
                "best_test_acc": round(float(cells.iloc[0]), 4),
                "best_cell": "/".join(map(str, best if isinstance(best, tuple) else (best,))),
            }
        table[str(study)] = entry
    return table
