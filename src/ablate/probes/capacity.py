"""What a trained net can represent (question A1), measured once at the end of training.

Test accuracy mixes capacity with optimisation and generalisation; a capacity claim ("a
deep net without a nonlinearity is one affine map") is tested directly instead: how well
the net fits its own training split, and how much of its logits' variance an affine map
of the input explains.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

CHUNK = 1024  # images per forward pass
MAX_IMAGES = 4000  # images the affine fit reads: several per coefficient at 784 pixels


@torch.no_grad()
def _logits(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return torch.cat([net(x[i : i + CHUNK]) for i in range(0, len(x), CHUNK)])


def training_fit(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """Accuracy and mean cross-entropy on the whole training split, in eval mode (BN on its
    running statistics, as the net is used)."""
    was_training = net.training
    net.eval()
    try:
        logits = _logits(net, x).float()
    finally:
        net.train(was_training)
    return {
        "train_fit_acc": (logits.argmax(1) == y).float().mean().item(),
        "train_fit_loss": F.cross_entropy(logits, y).item(),
    }


def _least_squares(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, int]:
    """Residuals of the least-squares fit b ~ [a, 1], and the coefficients it spends.

    Constant columns (blank pixels) carry nothing beyond the intercept and are dropped;
    the rest, centred, are solved through their Gram matrix with a ridge of 1e-9 of its
    mean diagonal, which keeps it invertible at no visible cost to the fit (an affine
    target leaves residuals ~1e-12 of its variance). Many times cheaper than an SVD of a
    3,600 x 785 design, which matters on one shared CPU thread."""
    centred = a - a.mean(axis=0)
    kept = centred[:, np.ptp(a, axis=0) > 0]
    target = b - b.mean(axis=0)
    gram = kept.T @ kept
    gram[np.diag_indices_from(gram)] += 1e-9 * np.trace(gram) / max(len(gram), 1)
    coef = np.linalg.solve(gram, kept.T @ target)
    return target - kept @ coef, kept.shape[1] + 1


def affine_r2(
    net: nn.Module, x: torch.Tensor, max_images: int = MAX_IMAGES, seed: int = 0
) -> float:
    """Adjusted R^2 of the best affine map of the input to the net's logits (eval mode),
    fitted by least squares on up to `max_images` images: 1 for an affine net, below 1 as
    far as the net uses its nonlinearity. Adjusted for the coefficients the fit spends
    (one per pixel that varies, and the intercept), so at n = 3,600 images of 784 pixels
    an unrelated target scores ~0, not ~0.2. In-sample, not on held-out images: a pixel
    that is blank in every fitting image but inked in a held-out one would make even an
    exactly affine net miss there. NaN when the fit has no spare degrees of freedom."""
    n = min(len(x), max_images)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n]
    images = x[order.to(x.device)]
    was_training = net.training
    net.eval()
    try:
        logits = _logits(net, images).double().cpu().numpy()
    finally:
        net.train(was_training)
    inputs = images.flatten(1).double().cpu().numpy()
    residuals, rank = _least_squares(inputs, logits)
    total = ((logits - logits.mean(axis=0)) ** 2).sum()
    if n <= rank or total == 0:
        return float("nan")
    return float(1 - ((residuals**2).sum() / total) * (n - 1) / (n - rank))


def capacity(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """The result fields of the capacity probe (`probes.capacity`)."""
    return {**training_fit(net, x, y), "logit_affine_r2": affine_r2(net, x)}
