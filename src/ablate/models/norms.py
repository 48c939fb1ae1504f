"""Normalisation layers by name, and where they sit relative to the activation."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from ablate.registry import Registry

NormFactory = Callable[[int, int], nn.Module]  # (channels, spatial dims 1 or 2) -> layer
NORMS: Registry[NormFactory] = Registry("norm")

NORMS.register("none")(lambda channels, dims: nn.Identity())
NORMS.register("batch")(
    lambda channels, dims: nn.BatchNorm2d(channels) if dims == 2 else nn.BatchNorm1d(channels)
)

# `pre`: layer -> norm -> act (Ioffe & Szegedy, and the notes); `post`: layer -> act -> norm.
NORM_POSITIONS = ("pre", "post")


def norm_act(channels: int, dims: int, norm: str, act: nn.Module, position: str) -> list[nn.Module]:
    """The norm and activation modules that follow a conv/linear layer, in order."""
    if position not in NORM_POSITIONS:
        raise ValueError(f"unknown norm position {position!r}; valid: {', '.join(NORM_POSITIONS)}")
    layer = NORMS[norm](channels, dims)
    if norm == "none":
        return [act]
    return [layer, act] if position == "pre" else [act, layer]
