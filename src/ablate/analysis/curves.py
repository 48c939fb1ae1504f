"""Loss-curve classification (questions T2, T3) by explicit, noise-relative rules.

A logged training loss is a noisy mini-batch estimate, so "barely changes" is judged
against that noise, not against a fixed share of the first loss. The schedules warm up and
decay the rate to 0, so every curve flattens at its end: the rules compare the first and
last windows of the whole curve, never the final slope alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

WINDOW = 0.1  # the first and last 10% of the logged points...
MIN_WINDOW = 3  # ...and at least 3 points each
STALL_NOISE = 2.0  # a total fall within 2 sds of the batch noise...
STALL_SHARE = 0.10  # ...and under 10% of the first window's loss: the loss barely changed
GROWTH = 1.5  # a curve whose last window is 50% above its first is diverging
BLOWUP = 10.0  # a logged loss an order of magnitude above the first window blew up
MAD_TO_SD = 1.4826  # a normal sample's sd from its median absolute deviation
CLASSES = ("healthy", "stalled", "chance", "diverged")


def batch_noise(losses: Sequence[float]) -> float:
    """The sd of one logged loss around its trend, from successive differences: the trend
    moves slowly between two logged steps, so the spread of the differences is the batch
    noise times sqrt(2). Median absolute deviation, so a spike or a fast early fall does not
    inflate it."""
    diffs = np.diff(np.asarray(losses, dtype=float))
    if len(diffs) == 0:
        return math.nan
    mad = float(np.median(np.abs(diffs - np.median(diffs))))
    return MAD_TO_SD * mad / math.sqrt(2)


def _width(n: int) -> int:
    """Points per window: 10% of the curve, at least 3, at most half of it."""
    return max(1, min(n // 2, max(MIN_WINDOW, int(n * WINDOW))))


def total_fall(losses: Sequence[float]) -> float:
    """Mean of the first window minus mean of the last (positive: the loss fell)."""
    values = np.asarray(losses, dtype=float)
    width = _width(len(values))
    return float(values[:width].mean() - values[-width:].mean())


def classify(losses: Sequence[float], status: str, guessing: bool = False) -> str:
    """One run's class, the first rule that applies:
    `diverged`: stopped as diverged, a NaN/inf loss, the last window 1.5x above the first,
    or a logged loss 10x above the first one, the loss before any step (it blew up, even if
    the decaying rate then let it fall back to a plateau);
    `stalled`: the total fall is within 2 batch-noise sds and under 10% of the first
    window's loss (barely changed: a spiky curve that fell to ~0 has a large noise, not a
    stall);
    `chance`: the loss moved, but the net ends no better than guessing (`guessing`: see
    `counterfactual.label_runs`);
    `healthy` otherwise. A finished run without a logged curve is judged by `guessing`
    alone; one that did not finish, by its status (diverged)."""
    raw = [v for v in losses if v is not None]
    if status == "diverged" or any(not math.isfinite(v) for v in raw):
        return "diverged"
    if not raw:
        return "diverged" if status != "ok" else "chance" if guessing else "healthy"
    first = float(np.mean(raw[: _width(len(raw))]))
    fall = total_fall(raw)
    if first - fall > GROWTH * first or max(raw) > BLOWUP * raw[0]:
        return "diverged"
    flat = fall <= STALL_NOISE * batch_noise(raw) and fall < STALL_SHARE * first
    if flat and len(raw) >= 2 * MIN_WINDOW:  # the noise needs a few differences
        return "stalled"
    return "chance" if guessing else "healthy"
