"""Run outcomes the activation questions (A2, A4, A5) share: whether a run trained, and
how a diverged run enters a comparison (at the majority-class share, not left out)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def failed_at_floor(df: pd.DataFrame) -> pd.DataFrame:
    """Diverged runs enter at the majority-class share, what a net that names one class
    scores: failing to train then counts against its arm instead of taking its pair out of
    the comparison. A run that failed for another reason (an error) keeps no value."""
    ok = df["status"] == "ok"
    floor = df.loc[ok, "majority_acc"].median() if ok.any() else np.nan
    if not np.isfinite(floor):
        floor = 1.0 / float(df["classes"].dropna().iloc[0]) if df["classes"].notna().any() else 0.1
    return df.assign(test_acc=df["test_acc"].mask(df["status"] == "diverged", floor))


def trained(df: pd.DataFrame) -> pd.Series:
    """Per run: it trained (finished ok, test accuracy above the majority share + 0.1)."""
    if "trained" in df:
        return df["trained"].fillna(False).astype(bool)
    floor = df["majority_acc"].fillna(1.0 / df["classes"].fillna(10))
    return (df["status"] == "ok") & (df["test_acc"] > floor + 0.1)


def either_trained(df: pd.DataFrame, arms: list[str], keys: list[str]) -> tuple[pd.DataFrame, int]:
    """The runs of `arms` whose pair (same `keys`) has at least one run that trained, and the
    number of pairs left out: two runs that both failed say nothing about which arm is
    better (the runs tables count them)."""
    rows = df[df["activation"].isin(arms)]
    either = rows.assign(ok=trained(rows)).groupby(keys)["ok"].transform("any")
    return rows[either], int(rows[~either].groupby(keys).ngroups)


def count(df: pd.DataFrame) -> str:
    """'trained 5/8, diverged 2/8'."""
    n = len(df)
    return (
        f"trained {int(trained(df).sum())}/{n}, diverged {int((df['status'] == 'diverged').sum())}"
        f"/{n}"
    )
