"""Network families by name, built from the activation/norm/downsampling registries.

Every conv family is stem -> `stages` stages (width doubling, resolution halving between
them) -> global average pool -> linear head, so families differ only in their blocks.
The downsampling closes a stage, where the classic stack puts its pool (conv -> pool).
`depth` is blocks per stage (hidden layers for the MLP).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable

import torch
from torch import nn

from ablate.models.downsampling import DOWNSAMPLING
from ablate.models.flops import count_flops
from ablate.models.inits import apply_init
from ablate.models.parts import ModelSpec, Parts
from ablate.models.reductions import REDUCTIONS, branch_groups
from ablate.registry import Registry

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


class ResidualBlock(nn.Module):
    """ResNet basic block (two 3x3 convs) or bottleneck block (reduction -> 3x3 -> 1x1),
    whose reduction (models/reductions.py) is the 1x1 conv of He et al. (2016) or a
    non-mixing control."""

    def __init__(self, parts: Parts, cin: int, cout: int, stride: int, reduction: str) -> None:
        super().__init__()
        reduce = REDUCTIONS[reduction]
        if reduce is not None:
            mid = max(cout // 4, 1)
            reducer = reduce(parts, cin, mid)
            groups = branch_groups(reducer)  # a grouped reduction keeps the branch grouped
            self.branch = nn.Sequential(
                reducer,
                parts.unit(mid, mid, 3, stride, groups=groups),
                nn.Conv2d(mid, cout, 1, groups=groups),
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

    With a `reduction` (a 1x1 convolution in Szegedy et al. 2014, Fig. 2b), the channels are
    reduced before the 3x3 and 5x5 convolutions; with `none`, they read every input channel.
    """

    def __init__(self, parts: Parts, cin: int, cout: int, stride: int, reduction: str) -> None:
        super().__init__()
        b = cout // 4
        mid = max(b // 2, 1)
        reduce = REDUCTIONS[reduction]

        def wide(k: int) -> nn.Sequential:
            if reduce is None:
                return parts.unit(cin, b, k, stride)
            reducer = reduce(parts, cin, mid)
            if branch_groups(reducer) > 1:
                raise ValueError(f"model.reduction={reduction!r} needs a ResNet block")
            return nn.Sequential(reducer, parts.unit(mid, b, k, stride))

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

    def __init__(self, parts: Parts, cin: int, cout: int, stride: int, reduction: str) -> None:
        super().__init__(*parts.unit(cin, cout, 3, stride))


class NoSkipBlock(ResidualBlock):
    """The ResNet block without its shortcut: the plain control that differs from the
    ResNet in the shortcut alone (same convs, norms and activations)."""

    def __init__(self, parts: Parts, cin: int, cout: int, stride: int, reduction: str) -> None:
        super().__init__(parts, cin, cout, stride, reduction)
        self.shortcut = nn.Identity()  # unused: no parameters of its own

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.branch(x))

    def start_as_identity(self) -> None:
        """No shortcut to start as: keep the init's weights."""


BlockFactory = Callable[[Parts, int, int, int, str], nn.Module]
ARCHITECTURES: Registry[BlockFactory | None] = Registry("architecture")
ARCHITECTURES.register("plain")(PlainBlock)
ARCHITECTURES.register("resnet")(ResidualBlock)
ARCHITECTURES.register("resnet_noskip")(NoSkipBlock)
ARCHITECTURES.register("inception")(InceptionBlock)
ARCHITECTURES.register("mlp")(None)  # no conv blocks: built by `build_mlp`
ARCHITECTURES.register("linear")(None)  # one linear map: the baseline of question A1
# Residual MLP blocks, with and without shortcuts: built by `build_res_mlp` (question C4)
ARCHITECTURES.register("resmlp")(None)
ARCHITECTURES.register("resmlp_noskip")(None)

# Families that honour `reduction` (the others reject it rather than ignore it).
REDUCING_ARCHS = ("resnet", "resnet_noskip", "inception")


def build_conv_net(
    spec: ModelSpec,
    in_shape: tuple[int, int, int],
    classes: int,
    width: int,
    reduction: str,
    arch: str | None = None,
) -> nn.Sequential:
    """The conv net of `spec` at `width` and `reduction`, of family `arch` (default
    `spec.arch`): FLOPs matching varies all three."""
    parts = Parts(spec)
    block = ARCHITECTURES[arch or spec.arch]
    assert block is not None
    k, s, p = parse_stem(spec.stem)
    layers: list[nn.Module] = [parts.unit(in_shape[0], width, k, s, p)]
    cin = width
    for stage in range(spec.stages):
        cout = width * 2**stage
        # Every stage but the last ends by halving the map: a pool after its blocks, or
        # the stride folded into its last block, or an extra stride-2 conv layer.
        down = DOWNSAMPLING[spec.downsampling](cout, parts.after)
        last = stage == spec.stages - 1
        for i in range(spec.depth):
            stride = down.stride if not last and i == spec.depth - 1 else 1
            layers.append(block(parts, cin, cout, stride, reduction))
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


class ResidualMLPBlock(nn.Module):
    """The ResNet basic block with linear layers in place of convs (linear -> norm -> act ->
    linear -> norm, plus the identity, then act): He et al. (2016)'s degradation test scaled
    to an MLP. `skip=False` is the same block without its shortcut, the plain stack."""

    def __init__(self, parts: Parts, width: int, skip: bool) -> None:
        super().__init__()
        self.skip = skip
        self.branch = nn.Sequential(
            nn.Linear(width, width),
            *parts.after(width, dims=1),
            nn.Linear(width, width),
            parts.pre_norm(width, dims=1),
        )
        post = parts.after(width, dims=1)
        self.out = nn.Sequential(*(post if parts.spec.norm_position == "post" else post[-1:]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.branch(x) + x if self.skip else self.branch(x))

    def start_as_identity(self) -> None:
        """Without a norm, zero the branch's last layer so the block starts as its shortcut
        (as `ResidualBlock` does); the plain block keeps its init."""
        if self.skip:
            nn.init.zeros_(self.branch[-2].weight)


def build_res_mlp(
    spec: ModelSpec, in_shape: tuple[int, int, int], classes: int, skip: bool
) -> nn.Sequential:
    """Linear stem, `depth` residual MLP blocks at `width`, linear head: 2 * depth + 2
    weight layers, with or without the shortcuts."""
    parts = Parts(spec)
    features = in_shape[0] * in_shape[1] * in_shape[2]
    layers: list[nn.Module] = [
        nn.Flatten(),
        nn.Linear(features, spec.width),
        *parts.after(spec.width, dims=1),
    ]
    layers += [ResidualMLPBlock(parts, spec.width, skip) for _ in range(spec.depth)]
    layers.append(nn.Linear(spec.width, classes))
    return nn.Sequential(*layers)


def build_linear(spec: ModelSpec, in_shape: tuple[int, int, int], classes: int) -> nn.Sequential:
    return nn.Sequential(nn.Flatten(), nn.Linear(in_shape[0] * in_shape[1] * in_shape[2], classes))


BUILDERS = {
    "mlp": build_mlp,
    "linear": build_linear,
    "resmlp": functools.partial(build_res_mlp, skip=True),
    "resmlp_noskip": functools.partial(build_res_mlp, skip=False),
}


def flops_reference(spec: ModelSpec) -> str:
    """The family whose unreduced net at `spec.width` sets the FLOPs to match."""
    return spec.flops_ref or spec.arch


def is_flops_matched(spec: ModelSpec) -> bool:
    """Whether `match_flops` changes the width: a reduction, or another family's cost."""
    return spec.match_flops and (spec.reduction != "none" or flops_reference(spec) != spec.arch)


def flops_matched_width(spec: ModelSpec, in_shape: tuple[int, int, int], classes: int) -> int:
    """The width at which the net with `spec.reduction` has the forward FLOPs per image
    closest to the unreduced net of `flops_reference(spec)` at `spec.width`: a reduction
    (or family) that is cheaper at equal width is compared at equal cost, so a loss of
    accuracy is not mere capacity.
    Inception and grouped widths step by 4 (four branches; four channels per group)."""

    @functools.cache
    def flops(width: int, reduction: str = spec.reduction) -> int:
        return count_flops(build_conv_net(spec, in_shape, classes, width, reduction), in_shape)

    ref = flops_reference(spec)
    target = count_flops(build_conv_net(spec, in_shape, classes, spec.width, "none", ref), in_shape)
    step = 4 if spec.arch == "inception" or spec.reduction == "grouped" else 1
    # Conv FLOPs grow about as width squared: start there, then walk to the least width
    # that reaches the target, and keep it or the one below, whichever is closer.
    guess = spec.width * math.sqrt(target / flops(spec.width))
    width = max(step, round(guess / step) * step)
    while flops(width) < target:
        width += step
    while width > step and flops(width - step) >= target:
        width -= step
    if width > step and target - flops(width - step) < flops(width) - target:
        return width - step
    return width


def build_model(spec: ModelSpec, in_shape: tuple[int, int, int], classes: int) -> nn.Module:
    """Build and initialise the network that `spec` describes, for images of `in_shape`.
    With `match_flops`, a reduced net is widened to the FLOPs of its unreduced self, or a
    family resized to the FLOPs of `flops_ref`'s net at `spec.width`."""
    ARCHITECTURES[spec.arch]  # an unknown family fails here, naming the valid ones
    REDUCTIONS[spec.reduction]  # so does an unknown reduction
    if spec.reduction != "none" and spec.arch not in REDUCING_ARCHS:
        raise ValueError(
            f"model.reduction={spec.reduction!r} needs model.arch in {REDUCING_ARCHS}, "
            f"got {spec.arch!r}"
        )
    if spec.arch in BUILDERS:
        net = BUILDERS[spec.arch](spec, in_shape, classes)
    else:
        matched = is_flops_matched(spec)
        width = flops_matched_width(spec, in_shape, classes) if matched else spec.width
        net = build_conv_net(spec, in_shape, classes, width, spec.reduction)
    net = apply_init(net, spec.init, spec.init_std)
    if spec.norm == "none":
        with torch.no_grad():
            for block in net.modules():
                if isinstance(block, ResidualBlock | ResidualMLPBlock):
                    block.start_as_identity()
    return net
