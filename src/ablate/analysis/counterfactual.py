"""The learning-rate counterfactual behind T2 and T3: a curve blamed on the rate should be
cured by changing the rate alone. Runs that differ only in the rate (same study, config and
seed: the lr_range and bn sweeps, each tuned arm's rate search) form a group; a stalled or
diverged run is cured by a rate of its group whose curve is healthy."""

from __future__ import annotations

import pandas as pd

from ablate.analysis.collect import AXES, BUDGET, SETUP
from ablate.analysis.curves import classify
from ablate.analysis.floor import flag_collapsed
from ablate.analysis.outcomes import LEARNED_MARGIN

# Everything that fixes a run except its rate; result and bookkeeping columns are left out.
CONFIG = ["study", "seed", *AXES, *SETUP, *BUDGET]
CURES = ("raising", "lowering", "either", "none", "untested")
# The direction each claim blames: a stalled curve on too small a rate, a diverged one on
# too large a rate.
CLAIMED = {"stalled": "raising", "diverged": "lowering"}


def guessing(runs: pd.DataFrame) -> pd.Series:
    """Per run: ends no better than guessing, i.e. collapsed to one class
    (`floor.flag_collapsed`) or a test accuracy within 0.01 of the majority-class share
    (1/classes where the share is not recorded), however many classes it predicts."""
    acc, classes = _number(runs, "test_acc"), _number(runs, "classes").fillna(10)
    floor = _number(runs, "majority_acc").fillna(1 / classes)
    return flag_collapsed(runs)["collapsed"] | (acc <= floor + LEARNED_MARGIN)


def _number(df: pd.DataFrame, name: str) -> pd.Series:
    """A numeric column, all NaN where the runs do not record it."""
    if name not in df.columns:
        return pd.Series(float("nan"), index=df.index)
    return pd.to_numeric(df[name], errors="coerce").astype(float)


def label_runs(runs: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """`runs` (one row per key) with `curve` (`curves.classify`) and `has_curve`."""
    runs = runs.drop_duplicates("key")
    runs = runs.assign(guessing=guessing(runs))
    losses = (
        history.dropna(subset=["train_loss"]).sort_values("step").groupby("key")["train_loss"]
        if not history.empty
        else None
    )
    curves = losses.apply(list) if losses is not None else pd.Series(dtype=object)
    labels = [
        classify(curves.get(key, []), status, bool(guess))
        for key, status, guess in zip(runs["key"], runs["status"], runs["guessing"], strict=True)
    ]
    return runs.assign(curve=labels, has_curve=runs["key"].isin(curves.index))


def cures(labelled: pd.DataFrame) -> pd.DataFrame:
    """Per run, `cure`: which change of rate, all else fixed, cured its curve. A stalled
    (or any other unhealthy) curve is cured by a rate whose curve is healthy; a diverged
    one by a rate whose curve does not diverge, since that is what T3 blames on the rate
    (a net that then trains at no rate has another fault besides, which T2 and W1 show).
    `raising` / `lowering`: only a higher / only a lower rate of its group did; `either`:
    both did; `none`: other rates were tried and none did; `untested`: its group has no
    other rate. Healthy runs get ''."""
    out = []
    cols = [c for c in CONFIG if c in labelled.columns]
    for _, group in labelled.groupby(cols, dropna=False, sort=False):
        healthy = group.loc[group["curve"] == "healthy", "lr"]
        finite = group.loc[group["curve"] != "diverged", "lr"]
        rates = group["lr"].nunique()
        for idx, row in group.iterrows():
            if row["curve"] == "healthy":
                cure = ""
            elif rates < 2:
                cure = "untested"
            else:
                good = finite if row["curve"] == "diverged" else healthy
                up, down = (good > row["lr"]).any(), (good < row["lr"]).any()
                cure = {
                    (True, True): "either",
                    (True, False): "raising",
                    (False, True): "lowering",
                    (False, False): "none",
                }[(bool(up), bool(down))]
            out.append((idx, cure))
    return labelled.assign(cure=pd.Series(dict(out)))


def cure_counts(cured: pd.DataFrame, curve: str) -> pd.DataFrame:
    """Per study, how the runs of class `curve` were cured: one column per `CURES`, plus
    `no curve` (how many of them were judged without a logged curve)."""
    rows = cured[cured["curve"] == curve]
    counts = pd.crosstab(rows["study"], rows["cure"]).reindex(columns=list(CURES), fill_value=0)
    no_curve = (~rows["has_curve"]).groupby(rows["study"]).sum()
    return counts.assign(**{"no curve": no_curve.reindex(counts.index).astype(int)})
