"""What a block is built from: the model config's fields the builders read (`ModelSpec`) and
the layer factories (`Parts`) that turn them into modules. Below both the architectures and
the channel reductions, which take `Parts` and are used by the architectures' blocks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from torch import nn

from ablate.models.activations import ACTIVATIONS
from ablate.models.norms import NORMS, norm_act
from ablate.probes.layers import ACT_TAG


class ModelSpec(Protocol):
    """The fields of the model config that the builders read."""

    arch: str
    activation: str
    init: str
    init_std: float
    norm: str
    norm_position: str
    norm_noise: float
    downsampling: str
    width: int
    depth: int
    stages: int
    reduction: str
    match_flops: bool
    flops_ref: str
    stem: str
    head: str


@dataclass
class Parts:
    """Layer factories for one model, so blocks need not know the registries."""

    spec: ModelSpec

    def act(self) -> nn.Module:
        module = ACTIVATIONS[self.spec.activation]()
        setattr(module, ACT_TAG, self.spec.activation)  # lets the probes find it
        return module

    def after(self, channels: int, dims: int = 2) -> list[nn.Module]:
        """Norm and activation after a conv/linear layer, in the configured order."""
        spec = self.spec
        return norm_act(channels, dims, spec.norm, self.act(), spec.norm_position, spec.norm_noise)

    def unit(
        self,
        cin: int,
        cout: int,
        k: int = 3,
        stride: int = 1,
        padding: int | None = None,
        groups: int = 1,
    ) -> nn.Sequential:
        pad = k // 2 if padding is None else padding
        return nn.Sequential(nn.Conv2d(cin, cout, k, stride, pad, groups=groups), *self.after(cout))

    def pre_norm(self, channels: int, dims: int = 2) -> nn.Module:
        """The norm that closes a residual branch before the sum (pre-activation position)."""
        if self.spec.norm_position == "pre":
            return NORMS[self.spec.norm](channels, dims, self.spec.norm_noise)
        return nn.Identity()
