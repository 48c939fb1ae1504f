"""Weight initialisations by name, applied to every conv and linear layer.

Biases are zeroed by every scheme except `default`, which keeps PyTorch's own init, so the
schemes differ only in how the weights are drawn.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from ablate.registry import Registry

InitFn = Callable[[torch.Tensor, float], None]
INITS: Registry[InitFn] = Registry("init")


@INITS.register("default")
def _default(weight: torch.Tensor, std: float) -> None:
    """PyTorch's own init (kaiming-uniform with a=sqrt(5)); left untouched."""


@INITS.register("zeros")
def _zeros(weight: torch.Tensor, std: float) -> None:
    nn.init.zeros_(weight)


@INITS.register("small_normal")
def _small_normal(weight: torch.Tensor, std: float) -> None:
    nn.init.normal_(weight, 0.0, std)


@INITS.register("xavier")
def _xavier(weight: torch.Tensor, std: float) -> None:
    nn.init.xavier_normal_(weight)


@INITS.register("kaiming")
def _kaiming(weight: torch.Tensor, std: float) -> None:
    nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="relu")


def apply_init(model: nn.Module, name: str, std: float = 0.01) -> nn.Module:
    """Initialise every conv/linear weight of `model` with scheme `name`; biases to zero."""
    init = INITS[name]
    if name == "default":
        return model
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                init(module.weight, std)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
    return model


def expected_std(name: str, fan_in: int, fan_out: int, std: float = 0.01) -> float:
    """The weight std a scheme aims for; the unit tests check the draws against it."""
    return {
        "zeros": 0.0,
        "small_normal": std,
        "xavier": math.sqrt(2.0 / (fan_in + fan_out)),
        "kaiming": math.sqrt(2.0 / fan_in),
    }[name]
