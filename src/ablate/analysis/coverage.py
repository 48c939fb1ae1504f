"""Analytic coverage maps (question C2): how often a convolution reads each input pixel."""

from __future__ import annotations

import numpy as np


def reads_1d(size: int, kernel: int, stride: int, padding: int) -> np.ndarray:
    """How many output positions read each of `size` input positions along one axis."""
    out = (size + 2 * padding - kernel) // stride + 1
    counts = np.zeros(size, dtype=int)
    for i in range(max(out, 0)):
        start = i * stride - padding
        lo, hi = max(start, 0), min(start + kernel, size)
        counts[lo:hi] += 1
    return counts


def coverage(size: int, kernel: int, stride: int, padding: int) -> np.ndarray:
    """Reads per pixel of a size x size input: the outer product of the two axes."""
    axis = reads_1d(size, kernel, stride, padding)
    return np.outer(axis, axis)


def summary(size: int, kernel: int, stride: int, padding: int) -> dict[str, float]:
    """The two meanings of "fits", kept apart: the window tiles the padded map exactly
    (`tiles`: (size + 2p - k) divisible by s, no remainder) and every input pixel is read
    (`reads_all`). k3s2p1 on 28 px reads every pixel yet leaves a remainder of 1."""
    grid = coverage(size, kernel, stride, padding)
    axis = reads_1d(size, kernel, stride, padding)
    span = size + 2 * padding - kernel
    return {
        "size": size,
        "out": span // stride + 1,
        "remainder": span % stride,
        "tiles": span % stride == 0,
        "reads_all": bool((axis > 0).all()),
        "unread_pixels": int((grid == 0).sum()),
        "unread_frac": float((grid == 0).mean()),
        "unread_rows": int((axis == 0).sum()),
        "asymmetry": int(abs(int((axis[: size // 2]).sum()) - int(axis[size - size // 2 :].sum()))),
    }
