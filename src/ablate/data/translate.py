"""Images moved by whole pixels: the data variant of question C2 (`data.shift_px`, ink moved
toward the bottom/right edge a non-tiling stem leaves unread) and its shift probes; and
images resampled to a smaller side (`data.image_size`), the cpu profile's cheaper input."""

from __future__ import annotations

import numpy as np
import torch


def shift(x: torch.Tensor, pixels: int, fill: torch.Tensor) -> torch.Tensor:
    """`x` (N x C x H x W) moved `pixels` down and right (negative: up and left); the
    vacated rows and columns take `fill` (per channel, C x 1 x 1: the background)."""
    out = fill.to(x).expand_as(x).clone()
    n = abs(pixels)
    if n >= x.shape[-1] or n >= x.shape[-2]:
        return out
    if pixels > 0:
        out[..., n:, n:] = x[..., :-n, :-n]
    elif pixels < 0:
        out[..., :-n, :-n] = x[..., n:, n:]
    else:
        out = x.clone()
    return out


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """N x H x W x C images (0-255) resampled to size x size by antialiased bilinear
    interpolation, as float32 in 0-255: rounding back to uint8 would add its own noise."""
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).permute(0, 3, 1, 2)
    out = torch.nn.functional.interpolate(
        x, size=(size, size), mode="bilinear", antialias=True, align_corners=False
    )
    return out.clamp_(0, 255).permute(0, 2, 3, 1).contiguous().numpy()


def shift_images(images: np.ndarray, pixels: int) -> np.ndarray:
    """N x H x W x C images moved `pixels` down and right (negative: up and left); the
    vacated pixels are 0, MNIST's background."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
    moved = shift(x, pixels, torch.zeros(x.shape[1], 1, 1, dtype=x.dtype))
    return moved.permute(0, 2, 3, 1).contiguous().numpy()
