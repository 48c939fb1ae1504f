"""The C2 probes: pixels a stem never reads, the ink in them, and shifted test digits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ablate.analysis.coverage import coverage
from ablate.probes.stem import reads, shift, shifted_accuracy, unread_share


@pytest.mark.parametrize("stem", [(2, 2, 0), (3, 2, 1), (3, 2, 0), (5, 3, 0), (5, 3, 2)])
@pytest.mark.parametrize("size", [8, 28, 29])
def test_reads_agree_with_the_analytic_coverage(stem, size):
    assert np.array_equal(reads(size, *stem).numpy().astype(int), coverage(size, *stem))


def test_ink_share_counts_only_unread_border_ink():
    images = torch.zeros(2, 1, 28, 28)
    images[0, :, 10:14, 10:14] = 1.0  # 16 + 8 units of ink in the middle, read by all stems
    images[1, :, 10:14, 10:14] = 0.5
    images[0, 0, 27, 5] = 1.0  # and 1 unit on the last row: unread by k3s2p0, read by k3s2p1
    images[1, 0, 5, 27] = 1.0  # and 1 on the last column
    unread = unread_share(images, 3, 2, 0)
    assert unread["unread_pixels"] == 28 * 28 - 27 * 27
    assert unread["unread_ink_share"] == pytest.approx(2 / 26)
    assert 0 < unread["unread_var_share"] < 1
    read_all = unread_share(images, 3, 2, 1)
    assert read_all["unread_pixels"] == 0 and read_all["unread_ink_share"] == 0


def test_shift_moves_pixels_and_fills_with_background():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    fill = torch.full((1, 1, 1), -1.0)
    down = shift(x, 1, fill)
    assert down[0, 0, 1:, 1:].equal(x[0, 0, :3, :3])  # pixel (0,0) now at (1,1)
    assert (down[0, 0, 0, :] == -1).all() and (down[0, 0, :, 0] == -1).all()
    up = shift(x, -2, fill)
    assert up[0, 0, :2, :2].equal(x[0, 0, 2:, 2:])
    assert (up[0, 0, 2:, :] == -1).all() and (up[0, 0, :, 2:] == -1).all()
    assert shift(x, 4, fill).eq(-1).all()


class _BottomRight(nn.Module):
    """Class 1 when the bottom-right pixel is lit, else class 0."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lit = (x[:, 0, -1, -1] > 0).float()
        return torch.stack([1 - lit, lit], dim=1)


def test_shifted_accuracy_per_direction():
    x = torch.zeros(4, 1, 6, 6)
    x[:, 0, 4, 4] = 1.0  # one pixel a step from the bottom-right corner
    y = torch.zeros(4, dtype=torch.long)
    out = shifted_accuracy(_BottomRight(), x, y, [1], torch.zeros(1, 1, 1), batch=3)
    assert out == {"shift_acc_br_1": 0.0, "shift_acc_tl_1": 1.0}
