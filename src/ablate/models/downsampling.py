"""How a stage halves the feature map: a pooling layer, or a stride-2 convolution.

Each entry returns the layers that close a stage (or none) and the stride to give the
stage's last block. The two strided variants are the two ways to drop a pool, which
cost opposite things (see question C3): `strided_conv` folds the stride into the conv
before the pool, which then runs on a quarter of the positions (fewer FLOPs, no new parameters);
`conv_layer` replaces the pool by an extra stride-2 conv layer, the All-CNN way (more
parameters and FLOPs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from ablate.registry import Registry


@dataclass
class Downsample:
    before: list[nn.Module]
    stride: int


DownsampleFactory = Callable[[int, Callable[[int], list[nn.Module]]], Downsample]
DOWNSAMPLING: Registry[DownsampleFactory] = Registry("downsampling")

DOWNSAMPLING.register("maxpool")(lambda ch, norm_act: Downsample([nn.MaxPool2d(2)], 1))
DOWNSAMPLING.register("avgpool")(lambda ch, norm_act: Downsample([nn.AvgPool2d(2)], 1))
DOWNSAMPLING.register("strided_conv")(lambda ch, norm_act: Downsample([], 2))
DOWNSAMPLING.register("conv_layer")(
    lambda ch, norm_act: Downsample([nn.Conv2d(ch, ch, 3, 2, 1), *norm_act(ch)], 1)
)
