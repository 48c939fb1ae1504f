"""The trained guard: a study's verdicts stand only if its control arms learned.

Each study names its control arm(s) (`study.controls`: the settings the literature expects
to train) and the kind of net they are (`study.mark`); each dataset sets the accuracy each
kind must reach (`data.marks`, set beforehand by `ablate.sweep.calibrate` on seeds no
study uses). A control cell runs `profile.control_seeds` seeds (4 on the cpu and gpu
profiles) even where its grid has fewer. A control counts as trained when its mean test
accuracy over seeds, at its best-validated rate, reaches the mark and its validation loss had
plateaued: over the last fifth of training it fell by at most `PLATEAU_DROP` of its value
or by at most `PLATEAU_NATS` (a small loss moves a lot in relative terms while accuracy
stands still). A run that stopped as `converged` (training loss ~0) has plateaued.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ablate.analysis.stats import Estimate, mean_ci
from ablate.analysis.tuning import select_best_lr

PLATEAU_DROP = 0.10  # the largest relative fall of the val loss over the last fifth...
PLATEAU_NATS = 0.02  # ...or the largest absolute one


@dataclass(frozen=True)
class ControlCheck:
    study: str
    arm: str  # "norm=batch, activation=relu"
    kind: str  # conv | mlp | deep_mlp
    mark: float | None
    acc: Estimate
    seeds: int  # distinct seeds behind `acc`
    steps: float  # median steps the control runs took
    lr: float | None  # the rate the control was judged at
    val_drop: float  # relative fall of the val loss over the last fifth (NaN: unknown)
    trained: bool
    why: str  # empty when trained


def column(axis: str) -> str:
    """`model.norm` -> the run table's `norm` column (`optim.lr` -> `lr`)."""
    return axis.rsplit(".", 1)[-1]


def control_rows(runs: pd.DataFrame, arm: dict[str, Any]) -> pd.DataFrame:
    """The finished runs of one control arm, at the rate its extra control seeds ran at
    (the sweep put them at the arm's kept rate), else at its best-validated rate."""
    rows = runs[runs["status"] == "ok"]
    for axis, level in arm.items():
        col = column(axis)
        if col not in rows:
            return rows.iloc[0:0]
        rows = rows[rows[col].astype(str) == str(level)]
    if not len(rows) or "lr" not in rows:
        return rows
    extra = rows[rows["role"] == "control"] if "role" in rows else rows.iloc[0:0]
    if extra["lr"].nunique() == 1:
        return rows[rows["lr"] == extra["lr"].iloc[0]]
    return select_best_lr(rows, [])


def val_drop(history: pd.DataFrame, keys: list[str], absolute: bool = False) -> float:
    """Median over `keys` of the fall of the validation loss between 80% of the steps and
    the end, relative to its value there (0: flat; 0.3: still falling fast), or in nats."""
    if history.empty or "val_loss" not in history:
        return float("nan")
    drops = []
    for _, curve in history[history["key"].isin(keys)].groupby("key"):
        val = curve.dropna(subset=["val_loss"]).sort_values("step")
        if len(val) < 2:
            continue
        end = val.iloc[-1]
        earlier = val[val["step"] <= 0.8 * end["step"]]
        if earlier.empty or earlier.iloc[-1]["val_loss"] <= 0:
            continue
        start = earlier.iloc[-1]["val_loss"]
        drops.append((start - end["val_loss"]) / (1.0 if absolute else start))
    return float(np.median(drops)) if drops else float("nan")


def check(
    study: str,
    runs: pd.DataFrame,
    history: pd.DataFrame,
    arm: dict[str, Any],
    kind: str,
    marks: dict[str, float],
    dataset: str = "this dataset",
) -> ControlCheck:
    """Did this control arm learn? `runs` are the study's grid runs with its extra control
    seeds (any status); `marks` are those of `dataset`, the data the runs trained on."""
    rows = control_rows(runs, arm)
    label = ", ".join(f"{column(a)}={v}" for a, v in arm.items())
    mark = marks.get(kind)
    acc = mean_ci(rows["test_acc"]) if len(rows) else Estimate(*[float("nan")] * 3, 0)
    # A run stopped as converged (training loss ~0) has plateaued: judge the others.
    converged = rows["stopped"] == "converged" if "stopped" in rows else rows["key"].isna()
    keys = list(rows.loc[~converged, "key"])
    drop = val_drop(history, keys) if keys else float("nan")
    nats = val_drop(history, keys, absolute=True) if keys else float("nan")
    falling = np.isfinite(drop) and drop > PLATEAU_DROP and nats > PLATEAU_NATS
    lr = float(rows["lr"].iloc[0]) if len(rows) and "lr" in rows else None
    steps = float(rows["steps"].median()) if len(rows) else float("nan")
    if mark is None:
        why = f"no mark set for `{kind}` nets on {dataset} (data.marks)"
    elif rows.empty:
        why = "the control arm has no finished run"
    elif acc.mean < mark:
        why = f"control accuracy {acc.mean:.3f} < mark {mark:.2f}"
    elif falling:
        why = f"validation loss still falling ({drop:.0%}, {nats:.3f} nats, over the last fifth)"
    elif keys and not np.isfinite(drop):
        why = "no validation curve to tell whether it plateaued"
    else:
        why = ""
    seeds = int(rows["seed"].nunique()) if "seed" in rows else 0
    return ControlCheck(study, label, kind, mark, acc, seeds, steps, lr, drop, not why, why)


def check_study(
    study: str,
    runs: pd.DataFrame,
    history: pd.DataFrame,
    arms: list[dict[str, Any]],
    kind: str,
    marks: dict[str, float],
    dataset: str = "this dataset",
) -> list[ControlCheck]:
    """Check every control arm; an arm may name its own kind of net with a `mark` entry
    (e.g. a 20-layer MLP control in a study of shallow and deep nets)."""
    checks = []
    for arm in arms:
        axes = {axis: level for axis, level in arm.items() if axis != "mark"}
        checks.append(check(study, runs, history, axes, arm.get("mark", kind), marks, dataset))
    return checks
