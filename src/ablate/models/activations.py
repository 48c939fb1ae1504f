"""Activation functions by name."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ablate.registry import Registry


class CenteredSigmoid(nn.Module):
    """sigma(x) - 1/2: sigmoid's slope (at most 1/4) with zero-centred outputs, so a study can
    separate the cost of sigmoid's offset from the cost of its small slope (tanh = 2 sigma(2x) - 1
    is zero-centred too, but with 4x the slope)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(x) - 0.5


class Abs(nn.Module):
    """|x|: unit slope everywhere (it never saturates) and no exact zeros (it is not sparse),
    with ReLU's kink: A5 separates ReLU's sparsity from its unit slope with it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.abs()


ACTIVATIONS: Registry[Callable[[], nn.Module]] = Registry("activation")

ACTIVATIONS.register("identity")(nn.Identity)
ACTIVATIONS.register("sigmoid")(nn.Sigmoid)
ACTIVATIONS.register("sigmoid_centered")(CenteredSigmoid)
ACTIVATIONS.register("tanh")(nn.Tanh)
ACTIVATIONS.register("relu")(nn.ReLU)
ACTIVATIONS.register("leaky_relu")(lambda: nn.LeakyReLU(0.01))
ACTIVATIONS.register("elu")(nn.ELU)
ACTIVATIONS.register("gelu")(nn.GELU)
# A5's property ablation: activations that have one of ReLU's properties without the others.
ACTIVATIONS.register("abs")(Abs)  # unit slope, not sparse, a kink
ACTIVATIONS.register("softplus")(nn.Softplus)  # ReLU made smooth: unit slope, not sparse
ACTIVATIONS.register("hardtanh")(nn.Hardtanh)  # saturates (clip to [-1, 1]) with a kink

# Activations whose outputs have hard bounds, and those bounds: the saturation probes use them.
BOUNDS: dict[str, tuple[float, float]] = {
    "sigmoid": (0.0, 1.0),
    "sigmoid_centered": (-0.5, 0.5),
    "tanh": (-1.0, 1.0),
    "hardtanh": (-1.0, 1.0),
}
