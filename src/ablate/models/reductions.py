"""Channel reductions before a block's wide convolutions, by name (question C1).

`pointwise` is the 1x1 convolution of bottleneck and Inception blocks: every reduced channel
is a learned mix of every input channel. `subsample` is its non-mixing control of the same
output dimension: it keeps evenly spaced input channels and gives each its own scale and
shift (a depthwise 1x1), so each reduced channel reads exactly one input channel; but it
drops the other channels, and the block's 3x3 conv and 1x1 expansion still mix what is
left. `grouped` reads every channel yet keeps the block's whole branch free of mixing across
groups: the reduction is a 1x1 conv with one group per reduced channel (each reads only its
own cin/reduced input channels), and the block builds its 3x3 conv and 1x1 expansion with
the same groups (`GroupedReduction.groups`), so no information crosses between groups inside
the branch, against every channel with `pointwise`.
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


class GroupedReduction(nn.Sequential):
    """A 1x1 conv with one group per output channel; `groups` tells the block to keep its
    later convs in the same groups."""

    def __init__(self, parts: Parts, cin: int, cout: int) -> None:
        if cin % cout:
            raise ValueError(
                f"a grouped reduction of {cin} channels to {cout} needs {cout} to divide {cin} "
                "(any model.width that is a multiple of 4 does)"
            )
        super().__init__(nn.Conv2d(cin, cout, 1, groups=cout), *parts.after(cout))
        self.groups = cout


def branch_groups(reduction: nn.Module) -> int:
    """Groups the convs after `reduction` keep (1: they mix every channel)."""
    return reduction.groups if isinstance(reduction, GroupedReduction) else 1


@REDUCTIONS.register("pointwise")
def pointwise(parts: Parts, cin: int, cout: int) -> nn.Module:
    return parts.unit(cin, cout, 1)


@REDUCTIONS.register("subsample")
def subsample(parts: Parts, cin: int, cout: int) -> nn.Module:
    # The depthwise 1x1 gives the kept channels the scale and bias a 1x1 conv would have.
    return nn.Sequential(
        ChannelSubsample(cin, cout), nn.Conv2d(cout, cout, 1, groups=cout), *parts.after(cout)
    )


REDUCTIONS.register("grouped")(GroupedReduction)
