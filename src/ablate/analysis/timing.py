"""Where a pipeline's training time went, per study: runs, training time summed over runs
(as `metrics.training_minutes` sums it), the share of the total, and how many runs stopped
early (stalled or converged) and so cost little."""

from __future__ import annotations

import pandas as pd


def time_per_study(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per study, most expensive first (wall time summed over its runs)."""
    stopped = runs["stopped"].notna() if "stopped" in runs else pd.Series(False, runs.index)
    table = (
        runs.assign(stopped_early=stopped)
        .groupby("study")
        .agg(
            runs=("key", "size"),
            minutes=("wall_time_s", lambda s: s.sum() / 60),  # = metrics.training_minutes
            median_s=("wall_time_s", "median"),
            stopped_early=("stopped_early", "sum"),
        )
        .sort_values("minutes", ascending=False)
    )
    return table.assign(share=table["minutes"] / table["minutes"].sum()).reset_index()


def render_time(table: pd.DataFrame) -> str:
    lines = [
        "| study | runs | training min | median s/run | share | stopped early |",
        "|---|---|---|---|---|---|",
    ]
    for _, r in table.iterrows():
        lines.append(
            f"| {r['study']} | {r['runs']} | {r['minutes']:.1f} | {r['median_s']:.1f} | "
            f"{r['share']:.0%} | {int(r['stopped_early'])} |"
        )
    total = table["minutes"].sum()
    lines.append(f"| all | {int(table['runs'].sum())} | {total:.1f} | | 100% | |")
    return "\n".join(lines) + "\n"
