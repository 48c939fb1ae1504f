"""Analytic coverage maps (question C2): how often a convolution reads each input pixel, and
the stem pairs that differ in one factor of it (C2's deciding comparisons)."""

from __future__ import annotations

import numpy as np
import pandas as pd


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


def padding_pairs(geometry: dict[str, dict]) -> list[tuple[str, str, str]]:
    """(kind, arm, partner) for stems of one kernel and stride whose paddings are adjacent
    in the grid, where one factor alone differs: `unread` (the arm leaves pixels unread, the
    partner reads all) or `remainder` (both read all; the arm leaves a remainder, the
    partner tiles the map)."""
    from ablate.models.architectures import parse_stem

    groups: dict[tuple[int, int], list[tuple[int, str]]] = {}
    for stem in geometry:
        k, s, p = parse_stem(stem)
        groups.setdefault((k, s), []).append((p, stem))
    pairs = []
    for members in groups.values():
        ordered = [stem for _, stem in sorted(members)]
        for a, b in zip(ordered, ordered[1:], strict=False):
            ga, gb = geometry[a], geometry[b]
            if ga["reads_all"] != gb["reads_all"]:
                arm, partner = (b, a) if ga["reads_all"] else (a, b)
                pairs.append(("unread", arm, partner))
            elif ga["reads_all"] and ga["tiles"] != gb["tiles"]:
                arm, partner = (b, a) if ga["tiles"] else (a, b)
                pairs.append(("remainder", arm, partner))
    return pairs


def pair_frame(df: pd.DataFrame, pairs: list[tuple[str, str, str]]) -> pd.DataFrame:
    """The runs of `pairs` with `pair` (arm/partner) and `side` (arm | partner) columns."""
    parts = [
        df[df["stem"] == stem].assign(pair=f"{arm}/{partner}", kind=kind, side=side)
        for kind, arm, partner in pairs
        for stem, side in ((arm, "arm"), (partner, "partner"))
    ]
    return pd.concat(parts, ignore_index=True) if parts else df.iloc[:0]
