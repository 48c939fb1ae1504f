"""Probes of the first convolution's geometry (question C2): how much of the data lies in
pixels the stem never reads, and how the trained net copes with digits moved toward the
edge where a convolution drops its remainder (bottom/right in PyTorch) or away from it."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ablate.data.translate import shift


def reads(size: int, kernel: int, stride: int, padding: int) -> torch.Tensor:
    """Windows reading each pixel of a size x size map: the transposed convolution of an
    all-ones output with an all-ones kernel, i.e. the conv's own arithmetic."""
    out = (size + 2 * padding - kernel) // stride + 1
    ones = torch.ones(1, 1, out, out, dtype=torch.float64)
    full = F.conv_transpose2d(
        ones, torch.ones(1, 1, kernel, kernel, dtype=torch.float64), None, stride
    )
    # The transposed conv covers the padded map from its top-left corner: crop the padding.
    padded = torch.zeros(size + 2 * padding, size + 2 * padding, dtype=torch.float64)
    h = min(full.shape[-1], padded.shape[-1])
    padded[:h, :h] = full[0, 0, :h, :h]
    return padded[padding : padding + size, padding : padding + size]


def unread_share(images: torch.Tensor, kernel: int, stride: int, padding: int) -> dict[str, float]:
    """Share of the ink (summed intensity of raw [0, 1] images, N x C x H x W, square) and
    of the per-pixel variance over images that lies in pixels the stem never reads: what an
    unread border could cost, which a count of pixels does not say."""
    mask = reads(images.shape[-1], kernel, stride, padding) == 0
    x = images.double()
    ink = x.sum(dim=(0, 1))
    var = x.var(dim=0).sum(dim=0) if len(x) > 1 else torch.zeros_like(ink)
    return {
        "unread_pixels": int(mask.sum()),
        "unread_ink_share": float(ink[mask].sum() / ink.sum()) if ink.sum() > 0 else 0.0,
        "unread_var_share": float(var[mask].sum() / var.sum()) if var.sum() > 0 else 0.0,
    }


@torch.no_grad()
def shifted_accuracy(
    net: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    shifts: list[int],
    fill: torch.Tensor,
    batch: int = 512,
) -> dict[str, float]:
    """Test accuracy of the trained net on the images moved toward the remainder edge
    (`shift_acc_br_<n>`: down+right) and away from it (`shift_acc_tl_<n>`: up+left)."""
    was_training = net.training
    net.eval()
    out: dict[str, float] = {}
    for n in shifts:
        for tag, signed in (("br", n), ("tl", -n)):
            correct = 0
            for start in range(0, len(y), batch):
                moved = shift(x[start : start + batch], signed, fill)
                correct += int((net(moved).argmax(1) == y[start : start + batch]).sum())
            out[f"shift_acc_{tag}_{n}"] = correct / len(y)
    net.train(was_training)
    return out
