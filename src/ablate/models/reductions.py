"""Channel reductions before a block's wide convolutions, by name (question C1).

`pointwise` is the 1x1 convolution of bottleneck and Inception blocks: every reduced channel
is a learned mix of every input channel. `subsample` is its non-mixing control of the same
output dimension: it keeps evenly spaced input channels and gives each its own scale and
shift (a depthwise 1x1), so each reduced channel reads exactly one input channel. A grouped
1x1 with groups = reduced channels would still mix the channels inside each group, so it
cannot tell "mixing" from "reducing"; subsampling is the only reduction to the same width
that mixes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ablate.models.parts import Parts
from ablate.registry import Registry

# (parts, input channels, reduced channels) -> the reduction; `none` reads every channel.
ReductionFactory = Callable[[Parts, int, int], nn.Module]
REDUCTIONS: Registry[ReductionFactory | None] = Registry("reduction")
REDUCTIONS.register("none")(None)


class ChannelSubsample(nn.Module):
    """Keep `cout` evenly spaced channels of `cin`: a reduction that mixes nothing."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        if not 1 <= cout <= cin:
            raise ValueError(f"cannot subsample {cin} channels down to {cout}")
        self.register_buffer("index", torch.arange(cout) * cin // cout, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.index_select(1, self.index)


@REDUCTIONS.register("pointwise")
def pointwise(parts: Parts, cin: int, cout: int) -> nn.Module:
    return parts.unit(cin, cout, 1)


@REDUCTIONS.register("subsample")
def subsample(parts: Parts, cin: int, cout: int) -> nn.Module:
    # The depthwise 1x1 gives the kept channels the scale and bias a 1x1 conv would have.
    return nn.Sequential(
        ChannelSubsample(cin, cout), nn.Conv2d(cout, cout, 1, groups=cout), *parts.after(cout)
    )
