"""Activation functions by name."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from ablate.registry import Registry

ACTIVATIONS: Registry[Callable[[], nn.Module]] = Registry("activation")

ACTIVATIONS.register("identity")(nn.Identity)
ACTIVATIONS.register("sigmoid")(nn.Sigmoid)
ACTIVATIONS.register("tanh")(nn.Tanh)
ACTIVATIONS.register("relu")(nn.ReLU)
ACTIVATIONS.register("leaky_relu")(lambda: nn.LeakyReLU(0.01))
ACTIVATIONS.register("elu")(nn.ELU)
ACTIVATIONS.register("gelu")(nn.GELU)

# Activations whose outputs have hard bounds, and those bounds: the saturation probes use them.
BOUNDS: dict[str, tuple[float, float]] = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}
