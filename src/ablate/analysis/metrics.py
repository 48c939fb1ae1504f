"""Headline numbers for `dvc metrics show`: run counts, compute, and each study's best cell."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ablate.analysis.collect import AXES

STATUSES = ("ok", "diverged", "timeout", "failed")


def headline(runs: pd.DataFrame) -> dict[str, Any]:
    counts = runs["status"].value_counts()
    metrics: dict[str, Any] = {
        "runs": {"total": len(runs), **{s: int(counts.get(s, 0)) for s in STATUSES}},
        "compute_minutes": round(float(runs["wall_time_s"].sum()) / 60, 2),
    }
    for study, group in runs[runs["status"] == "ok"].groupby("study", sort=True):
        varied = [a for a in AXES if group[a].nunique() > 1] or ["study"]
        cells = group.groupby(varied)["test_acc"].mean().sort_values(ascending=False)
        best = cells.index[0] if len(cells) else None
        metrics[study] = {
            "mean_test_acc": round(float(group["test_acc"].mean()), 4),
            "best_test_acc": round(float(cells.iloc[0]), 4),
            "best_cell": "/".join(map(str, best if isinstance(best, tuple) else (best,))),
        }
    return metrics
