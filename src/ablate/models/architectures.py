"""Network families by name, built from the activation/norm/downsampling registries.

Every conv family is stem -> `stages` stages (width doubling, resolution halving between
them) -> global average pool -> linear head, so families differ only in their blocks.
The downsampling closes a stage, where the classic stack puts its pool (conv -> pool).
`depth` is blocks per stage (hidden layers for the MLP).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import nn

from ablate.models.activations import ACTIVATIONS
from ablate.models.downsampling import DOWNSAMPLING
from ablate.models.inits import apply_init
from ablate.models.norms import NORMS, norm_act
from ablate.probes.layers import ACT_TAG
from ablate.registry import Registry


class ModelSpec(Protocol):
    """The fields of the model config that the builders read."""

    arch: str
    activation: str
    init: str
    init_std: float
    norm: str
    norm_position: str
    downsampling: str
    width: int
    depth: int
    stages: int
    bottleneck: bool
    stem: str
    head: str


STEM = re.compile(r"^k(\d+)s(\d+)p(\d+)$")


def parse_stem(stem: str) -> tuple[int, int, int]:
    """'k3s2p1' -> (kernel 3, stride 2, padding 1) for the first convolution."""
    match = STEM.match(stem)
    if not match or int(match[1]) < 1 or int(match[2]) < 1:
        raise ValueError(
            f"model.stem={stem!r} must look like k<kernel>s<stride>p<padding>, e.g. k3s1p1"
        )
    k, s, p = (int(v) for v in match.groups())
    return k, s, p


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
        return norm_act(channels, dims, self.spec.norm, self.act(), self.spec.norm_position)

    def unit(
        self, cin: int, cout: int, k: int = 3, stride: int = 1, padding: int | None = None
    ) -> nn.Sequential:
        pad = k // 2 if padding is None else padding
        return nn.Sequential(nn.Conv2d(cin, cout, k, stride, pad), *self.after(cout))

    def pre_norm(self, channels: int) -> nn.Module:
        """The norm that closes a residual branch before the sum (pre-activation position)."""
        if self.spec.norm_position == "pre":
            return NORMS[self.spec.norm](channels, 2)
        return nn.Identity()


class ResidualBlock(nn.Module):
    """ResNet basic block (two 3x3 convs) or bottleneck block (1x1 -> 3x3 -> 1x1)."""

    def __init__(self, parts: Parts, cin: int, cout: int, stride: int, bottleneck: bool) -> None:
        super().__init__()
        if bottleneck:
            mid = max(cout // 4, 1)
            self.branch = nn.Sequential(
                parts.unit(cin, mid, 1),
                parts.unit(mid, mid, 3, stride),
                nn.Conv2d(mid, cout, 1),
                parts.pre_norm(cout),
            )
        else:
            self.branch = nn.Sequential(
                parts.unit(cin, cout, 3, stride),
                nn.Conv2d(cout, cout, 3, 1, 1),
                parts.pre_norm(cout),
            )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride), parts.pre_norm(cout))
        # After the sum: the activation, then the norm when it sits after the activation.
        post = parts.after(cout)
        self.out = nn.Sequential(*(post if parts.spec.norm_position == "post" else post[-1:]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.branch(x) + self.shortcut(x))

    def start_as_identity(self) -> None:
        """Zero the branch's last conv, so the block starts as its shortcut: without a norm
        to tame it, the sum of L branches otherwise grows with depth at init (the Fixup
        remedy, Zhang et al. 2019)."""
        last = [m for m in self.branch.modules() if isinstance(m, nn.Conv2d)][-1]
        nn.init.zeros_(last.weight)


class InceptionBlock(nn.Module):
    """Four parallel branches (1x1, 3x3, 5x5, pool) concatenated, GoogLeNet style.

    With `bottleneck`, a 1x1 convolution reduces the channels before the 3x3 and 5x5
    convolutions (Szegedy et al. 2014, Fig. 2b); without it, they read every input channel.
    """

    def __init__(self, parts: Parts, cin: int, cout: int, stride: int, bottleneck: bool) -> None:
        super().__init__()
        b = cout // 4
        reduce = max(b // 2, 1)

        def wide(k: int) -> nn.Sequential:
            if not bottleneck:
                return parts.unit(cin, b, k, stride)
            return nn.Sequential(parts.unit(cin, reduce, 1), parts.unit(reduce, b, k, stride))

        self.branches = nn.ModuleList(
            [
                parts.unit(cin, b, 1, stride),
                wide(3),
                wide(5),
                nn.Sequential(nn.MaxPool2d(3, stride, 1), parts.unit(cin, cout - 3 * b, 1)),
            ]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], dim=1)


class PlainBlock(nn.Sequential):
    """Conv -> norm -> act (the classic stack of the notes)."""

    def __init__(self, parts: Parts, cin: int, cout: int, stride: int, bottleneck: bool) -> None:
        super().__init__(*parts.unit(cin, cout, 3, stride))


class NoSkipBlock(ResidualBlock):
    """The ResNet block without its shortcut: the plain control that differs from the
    ResNet in the shortcut alone (same convs, norms and activations)."""

    def __init__(self, parts: Parts, cin: int, cout: int, stride: int, bottleneck: bool) -> None:
        super().__init__(parts, cin, cout, stride, bottleneck)
        self.shortcut = nn.Identity()  # unused: no parameters of its own

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.branch(x))

    def start_as_identity(self) -> None:
        """No shortcut to start as: keep the init's weights."""


BlockFactory = Callable[[Parts, int, int, int, bool], nn.Module]
ARCHITECTURES: Registry[BlockFactory | None] = Registry("architecture")
ARCHITECTURES.register("plain")(PlainBlock)
ARCHITECTURES.register("resnet")(ResidualBlock)
ARCHITECTURES.register("resnet_noskip")(NoSkipBlock)
ARCHITECTURES.register("inception")(InceptionBlock)
ARCHITECTURES.register("mlp")(None)  # no conv blocks: built by `build_mlp`
ARCHITECTURES.register("linear")(None)  # one linear map: the baseline of question A1

# Families that honour `bottleneck` (the others reject it rather than ignore it).
BOTTLENECK_ARCHS = ("resnet", "resnet_noskip", "inception")


def build_conv_net(spec: ModelSpec, in_shape: tuple[int, int, int], classes: int) -> nn.Sequential:
    parts = Parts(spec)
    block = ARCHITECTURES[spec.arch]
    assert block is not None
    width = spec.width
    k, s, p = parse_stem(spec.stem)
    layers: list[nn.Module] = [parts.unit(in_shape[0], width, k, s, p)]
    cin = width
    for stage in range(spec.stages):
        cout = spec.width * 2**stage
        # Every stage but the last ends by halving the map: a pool after its blocks, or
        # the stride folded into its last block, or an extra stride-2 conv layer.
        down = DOWNSAMPLING[spec.downsampling](cout, parts.after)
        last = stage == spec.stages - 1
        for i in range(spec.depth):
            stride = down.stride if not last and i == spec.depth - 1 else 1
            layers.append(block(parts, cin, cout, stride, spec.bottleneck))
            cin = cout
        if not last:
            layers += down.before
    layers += HEADS[spec.head](cin, _out_pixels(layers, in_shape), classes)
    return nn.Sequential(*layers)


def _out_pixels(layers: list[nn.Module], in_shape: tuple[int, int, int]) -> int:
    """Pixels of the last feature map (what a flatten head reads)."""
    with torch.no_grad():  # eval mode: BN cannot take batch statistics of one 1x1 map
        probe = nn.Sequential(*layers).eval()
        pixels = int(probe(torch.zeros(1, *in_shape)).shape[-2:].numel())
    probe.train()
    return pixels


# The classifier on top of the conv stack: global average pool then linear (the modern
# head), or flatten then linear (the classic LeNet head: more parameters, and on small
# nets it learns much faster, since a narrow last stage gives GAP few features).
HEADS: Registry[Callable[[int, int, int], list[nn.Module]]] = Registry("head")
HEADS.register("gap")(
    lambda ch, pixels, classes: [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(ch, classes)]
)
HEADS.register("flatten")(
    lambda ch, pixels, classes: [nn.Flatten(), nn.Linear(ch * pixels, classes)]
)


def build_mlp(spec: ModelSpec, in_shape: tuple[int, int, int], classes: int) -> nn.Sequential:
    parts = Parts(spec)
    features = in_shape[0] * in_shape[1] * in_shape[2]
    layers: list[nn.Module] = [nn.Flatten()]
    for _ in range(spec.depth):
        layers += [nn.Linear(features, spec.width), *parts.after(spec.width, dims=1)]
        features = spec.width
    layers.append(nn.Linear(features, classes))
    return nn.Sequential(*layers)


def build_linear(spec: ModelSpec, in_shape: tuple[int, int, int], classes: int) -> nn.Sequential:
    return nn.Sequential(nn.Flatten(), nn.Linear(in_shape[0] * in_shape[1] * in_shape[2], classes))


BUILDERS = {"mlp": build_mlp, "linear": build_linear}


def build_model(spec: ModelSpec, in_shape: tuple[int, int, int], classes: int) -> nn.Module:
    """Build and initialise the network that `spec` describes, for images of `in_shape`."""
    ARCHITECTURES[spec.arch]  # an unknown family fails here, naming the valid ones
    if spec.bottleneck and spec.arch not in BOTTLENECK_ARCHS:
        raise ValueError(
            f"model.bottleneck=true needs model.arch in {BOTTLENECK_ARCHS}, got {spec.arch!r}"
        )
    build = BUILDERS.get(spec.arch, build_conv_net)
    net = apply_init(build(spec, in_shape, classes), spec.init, spec.init_std)
    if spec.norm == "none":
        with torch.no_grad():
            for block in net.modules():
                if isinstance(block, ResidualBlock):
                    block.start_as_identity()
    return net
