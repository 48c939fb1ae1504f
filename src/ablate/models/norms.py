"""Normalisation layers by name, and where they sit relative to the activation."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ablate.registry import Registry

# (channels, spatial dims 1 or 2, noise amplitude) -> layer; only `noisy_batch` reads the noise.
NormFactory = Callable[[int, int, float], nn.Module]
NORMS: Registry[NormFactory] = Registry("norm")


class NoisyBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch norm whose output, in training, is moved by a random per-channel scale and
    shift drawn anew at every step: y = s * BN(x) + m, with s ~ U(1, 1 + noise) and
    m ~ U(-noise, noise) per channel (Santurkar et al. 2018's "noisy BatchNorm": a
    distribution after BN that has a non-zero mean and a non-unit variance and changes at
    every step). Evaluation is plain BN: the noise only perturbs training."""

    def __init__(self, channels: int, noise: float) -> None:
        if noise < 0:
            raise ValueError(f"model.norm_noise must be >= 0, got {noise}")
        super().__init__(channels)
        self.noise = noise

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() not in (2, 4):
            raise ValueError(f"expected a 2D or 4D input, got {input.dim()}D")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = super().forward(x)
        if not self.training or self.noise == 0:
            return out
        shape = (1, out.shape[1]) + (1,) * (out.dim() - 2)
        scale = 1 + self.noise * torch.rand(shape, device=out.device, dtype=out.dtype)
        shift = self.noise * (2 * torch.rand(shape, device=out.device, dtype=out.dtype) - 1)
        return out * scale + shift


class SkewedBatchNorm(nn.Module):
    """Batch norm whose normalised output is bent by a fixed exponential before the learned
    scale and shift: y = gamma * g(x_hat) + beta, g(z) = (e^(z/2) - e^(1/8)) / sd. For a
    normal x_hat, g(x_hat) keeps mean 0 and variance 1 but is log-normal: skewness 1.75,
    excess kurtosis 5.9, whatever gamma and beta learn. The distribution after it is as
    fixed as BN's and far from normal: B2's test of normality apart from stability."""

    E = 2.718281828459045
    SD = ((E**0.25 - 1) * E**0.25) ** 0.5

    def __init__(self, channels: int, dims: int) -> None:
        super().__init__()
        bn = nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d
        self.norm = bn(channels, affine=False)
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bent = (torch.exp(self.norm(x) / 2) - self.E**0.125) / self.SD
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return bent * self.weight.view(shape) + self.bias.view(shape)


NORMS.register("none")(lambda channels, dims, _: nn.Identity())
NORMS.register("batch")(
    lambda channels, dims, _: nn.BatchNorm2d(channels) if dims == 2 else nn.BatchNorm1d(channels)
)
NORMS.register("noisy_batch")(lambda channels, dims, noise: NoisyBatchNorm(channels, noise))
NORMS.register("skewed_batch")(lambda channels, dims, _: SkewedBatchNorm(channels, dims))

# `pre`: layer -> norm -> act (Ioffe & Szegedy, and the notes); `post`: layer -> act -> norm.
NORM_POSITIONS = ("pre", "post")


def norm_act(
    channels: int, dims: int, norm: str, act: nn.Module, position: str, noise: float = 0.0
) -> list[nn.Module]:
    """The norm and activation modules that follow a conv/linear layer, in order."""
    if position not in NORM_POSITIONS:
        raise ValueError(f"unknown norm position {position!r}; valid: {', '.join(NORM_POSITIONS)}")
    layer = NORMS[norm](channels, dims, noise)
    if norm == "none":
        return [act]
    return [layer, act] if position == "pre" else [act, layer]
