"""Whether, and how fast, a run trained: outcomes measured from its logged training loss.

No stop rule decides trainability: every run trains its budget, and these columns, computed
when the runs are collected, say what happened. They live on the aggregate side, so moving
a threshold re-reads the histories and retrains nothing.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

# The training loss is logged every `trainer.history_every` steps and is noisy batch to batch:
# each outcome reads the rolling mean of this many logged losses (the early stop's window).
WINDOW = 5
# Left the uniform-guess plateau: the smoothed loss fell under this share of ln(classes)
# (3% below it: the early stop's `stall_margin`, the band a net that guesses stays within).
PLATEAU_SHARE = 0.97
# Trained to a useful loss: on 10 balanced classes a cross-entropy of 0.5 means the true
# class gets ~0.6 probability on average, a net that classifies most images right.
LOSS_THRESHOLD = 0.5
# Above the majority-class share by this much in test accuracy: the net has learned (the
# margin of the early stop's validation check and of `counterfactual.guessing`).
LEARNED_MARGIN = 0.1

COLUMNS = ["steps_to_plateau_exit", "steps_to_loss", "final_train_loss"]


def loss_outcomes(history: pd.DataFrame, classes: int | float | None) -> dict[str, float]:
    """From one run's history (`step`, `train_loss`): the first step whose smoothed loss is
    under PLATEAU_SHARE * ln(classes) (`steps_to_plateau_exit`) and under LOSS_THRESHOLD
    (`steps_to_loss`), NaN when it never is; and the mean of the last WINDOW logged losses
    (`final_train_loss`). A step is the last one of its window; a crossing is placed by
    linear interpolation between the two logged steps around it, so runs that cross within
    one logging interval of each other are not tied."""
    logged = history.dropna(subset=["train_loss"]).sort_values("step")
    steps = logged["step"].to_numpy(dtype=float)
    smooth = logged["train_loss"].rolling(WINDOW).mean().to_numpy(dtype=float)
    plateau = PLATEAU_SHARE * math.log(classes) if classes and classes > 1 else math.nan
    tail = logged["train_loss"].to_numpy(dtype=float)[-WINDOW:]
    return {
        "steps_to_plateau_exit": _first_below(steps, smooth, plateau),
        "steps_to_loss": _first_below(steps, smooth, LOSS_THRESHOLD),
        "final_train_loss": float(tail.mean()) if len(tail) else math.nan,
    }


def _first_below(steps: np.ndarray, values: np.ndarray, threshold: float) -> float:
    with np.errstate(invalid="ignore"):
        below = np.flatnonzero(values < threshold)
    if not len(below):
        return math.nan
    at = below[0]
    before = values[at - 1] if at > 0 else math.nan
    if not before >= threshold:  # the first smoothed value is already under it (or NaN)
        return float(steps[at])
    share = (before - threshold) / (before - values[at])
    return float(steps[at - 1] + share * (steps[at] - steps[at - 1]))


def trained(runs: pd.DataFrame) -> pd.Series:
    """Per run: finished `ok` with test accuracy above the majority-class share (1/classes
    where the share is not recorded) by LEARNED_MARGIN."""
    number = runs.reindex(columns=["test_acc", "classes", "majority_acc"]).apply(
        pd.to_numeric, errors="coerce"
    )
    floor = number["majority_acc"].fillna(1 / number["classes"])
    return (runs["status"] == "ok") & (number["test_acc"] > floor + LEARNED_MARGIN)
