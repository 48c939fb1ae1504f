"""Loss-curve classification (questions T2, T3) by explicit rules."""

from __future__ import annotations

import math
from collections.abc import Sequence

STALL_DROP = 0.10  # a curve that loses less than 10% of its first loss has stalled...
UNIFORM_MARGIN = 0.95  # ...and so has one that ends above 95% of a uniform guess's loss
GROWTH = 1.5  # a curve that ends 50% above its first loss is diverging


def classify(losses: Sequence[float], status: str, classes: int = 10) -> str:
    """`diverged` (NaN/inf, stopped as diverged, or ending well above its start),
    `stalled` (barely moved, or never got clearly below the loss of guessing uniformly,
    ln(classes): a large init can start far above it and fall to it without learning) or
    `healthy`."""
    values = [v for v in losses if v is not None and not math.isnan(v)]
    if status == "diverged" or any(math.isinf(v) for v in values) or not values:
        return "diverged"
    first = values[0]
    tail = values[-3:]
    last = sum(tail) / len(tail)
    if last > GROWTH * first:
        return "diverged"
    if (first - last) / first < STALL_DROP or last > UNIFORM_MARGIN * math.log(classes):
        return "stalled"
    return "healthy"
