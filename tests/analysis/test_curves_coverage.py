from __future__ import annotations

import pytest

from ablate.analysis.coverage import coverage, reads_1d, summary
from ablate.analysis.curves import classify


@pytest.mark.parametrize(
    ("losses", "status", "expected"),
    [
        ([2.3, 1.0, 0.5, 0.4], "ok", "healthy"),
        ([2.3, 2.29, 2.28, 2.27, 2.31, 2.3, 2.29, 2.3], "ok", "stalled"),
        ([2.3, 5.0, 9.0, 20.0], "ok", "diverged"),
        ([2.3, 1.0], "diverged", "diverged"),
        ([2.3, float("inf")], "ok", "diverged"),
        ([], "failed", "diverged"),
    ],
)
def test_curve_classes(losses, status, expected):
    assert classify(losses, status) == expected


def test_reads_count_windows_per_pixel():
    assert reads_1d(5, 3, 1, 1).tolist() == [2, 3, 3, 3, 2]
    assert reads_1d(28, 3, 2, 0)[-1] == 0  # 13 windows stop before the last row
    assert reads_1d(28, 2, 2, 0).tolist() == [1] * 28
    assert coverage(4, 2, 2, 0).sum() == 16


def test_summary_flags_unread_borders():
    fit, misfit = summary(28, 2, 2, 0), summary(28, 5, 3, 0)
    assert fit["tiles"] and fit["reads_all"] and fit["unread_frac"] == 0 and fit["out"] == 14
    assert not misfit["tiles"] and not misfit["reads_all"]
    assert misfit["unread_rows"] == 2 and misfit["out"] == 8
    assert misfit["unread_frac"] == pytest.approx(1 - (26 / 28) ** 2)
    assert misfit["unread_pixels"] == 28 * 28 - 26 * 26


@pytest.mark.parametrize(
    ("stem", "remainder", "reads_all", "unread"),
    [
        ((2, 2, 0), 0, True, 0),
        ((3, 2, 1), 1, True, 0),  # 13.5 windows: reads every pixel, yet does not tile
        ((3, 2, 0), 1, False, 28 * 28 - 27 * 27),
        ((5, 3, 1), 1, True, 0),
        ((5, 3, 2), 0, True, 0),
        ((4, 3, 0), 0, True, 0),
    ],
)
def test_tiling_and_reading_every_pixel_are_separate(stem, remainder, reads_all, unread):
    geo = summary(28, *stem)
    assert geo["remainder"] == remainder and geo["tiles"] == (remainder == 0)
    assert geo["reads_all"] == reads_all and geo["unread_pixels"] == unread
