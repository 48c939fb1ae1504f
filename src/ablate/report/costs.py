"""Accuracy and cost per cell (parameters, FLOPs, throughput): the tables the convolution
questions (C1, C3, C4) set beside their accuracy differences."""

from __future__ import annotations

import pandas as pd

from ablate.analysis.stats import Estimate, mean_ci
from ablate.report.markdown import si


def cost_table(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per cell of `by`: accuracy with CI, and median params, FLOPs and throughput."""
    rows = []
    for keys, group in df.groupby(by, sort=True):
        est = mean_ci(group["test_acc"])
        rows.append(
            {
                **dict(zip(by, keys if isinstance(keys, tuple) else (keys,), strict=True)),
                "n": est.n,
                "mean": est.mean,
                "lo": est.lo,
                "hi": est.hi,
                "params": group["params"].median(),
                "flops": group["flops_per_image"].median(),
                "mflops": group["flops_per_image"].median() / 1e6,
                "img_s": group["train_images_per_s"].median(),
            }
        )
    return pd.DataFrame(rows)


def cost_cells(r: pd.Series) -> list[str]:
    """Accuracy with its CI, parameters, FLOPs and throughput of one `cost_table` row."""
    return [
        Estimate(r["mean"], r["lo"], r["hi"], int(r["n"])).fmt(),
        si(r["params"]),
        si(r["flops"]),
        f"{r['img_s']:.0f}",
    ]


def per_pool(costs: pd.DataFrame, df: pd.DataFrame, pool: str) -> list[list[str]]:
    """Parameters and FLOPs each replaced pool adds (or saves), per family and variant."""
    pools = max(int(df["stages"].median()) - 1, 1)  # every stage but the last closes with one
    rows = []
    for arch, group in costs.groupby("arch", sort=True):
        base = group[group["downsampling"] == pool].iloc[0]
        for _, r in group[group["downsampling"] != pool].iterrows():
            rows.append(
                [
                    arch,
                    r["downsampling"],
                    f"{(r['params'] - base['params']) / pools:+,.0f}",
                    f"{(r['flops'] - base['flops']) / pools / 1e6:+.3f}",
                    f"×{r['flops'] / base['flops']:.2f}",
                ]
            )
    return rows
