"""Every combination builds and gives logits of the right shape on every input size."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import pytest
import torch
from torch import nn

from ablate.config import ModelConfig
from ablate.models import (
    ACTIVATIONS,
    ARCHITECTURES,
    DOWNSAMPLING,
    INITS,
    NORM_POSITIONS,
    NORMS,
    apply_init,
    build_model,
)
from ablate.models.architectures import REDUCING_ARCHS, ResidualBlock, flops_matched_width
from ablate.models.flops import count_flops
from ablate.models.inits import expected_std
from ablate.models.parts import Parts
from ablate.models.reductions import REDUCTIONS

SIZES = {"mnist": (1, 28, 28), "cifar": (3, 32, 32), "digits": (1, 8, 8)}


def specs():
    for arch, norm, pos, down in itertools.product(
        ARCHITECTURES, NORMS, NORM_POSITIONS, DOWNSAMPLING
    ):
        for reduction in REDUCTIONS if arch in REDUCING_ARCHS else ("none",):
            if (arch, reduction) == ("inception", "grouped"):  # refused: see below
                continue
            yield ModelConfig(
                arch=arch,
                norm=norm,
                norm_position=pos,
                downsampling=down,
                reduction=reduction,
                width=8,
                depth=1,
                stages=3,
            )


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_every_structure_gives_logits(size):
    for spec in specs():
        net = build_model(spec, size, 10).eval()
        assert net(torch.randn(2, *size)).shape == (2, 10), spec


@pytest.mark.parametrize("activation", ACTIVATIONS.names())
@pytest.mark.parametrize("arch", ARCHITECTURES.names())
def test_every_activation_in_every_family(activation, arch):
    net = build_model(ModelConfig(arch=arch, activation=activation, width=8), (1, 28, 28), 10)
    out = net(torch.randn(3, 1, 28, 28))
    assert out.shape == (3, 10) and torch.isfinite(out).all()


def _params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_parameter_counts_match_hand_counts():
    base = ModelConfig(arch="plain", norm="none", width=8, depth=1, stages=2)
    # stem 1->8 (8*9+8), stage0 8->8 (8*8*9+8), stage1 8->16 (8*16*9+16), head 16*10+10
    plain = 80 + 584 + 1168 + 170
    assert _params(build_model(base, (1, 28, 28), 10)) == plain
    # batch norm adds a scale and a shift per channel: 8 + 8 + 16 channels
    assert _params(build_model(replace(base, norm="batch"), (1, 28, 28), 10)) == plain + 64
    # pooling and folding the stride add nothing; an extra stride-2 layer adds one 8->8 conv
    assert (
        _params(build_model(replace(base, downsampling="strided_conv"), (1, 28, 28), 10)) == plain
    )
    assert (
        _params(build_model(replace(base, downsampling="conv_layer"), (1, 28, 28), 10))
        == plain + 584
    )
    # MLP 64 -> 32 -> 32 -> 10
    mlp = ModelConfig(arch="mlp", norm="none", width=32, depth=2)
    assert _params(build_model(mlp, (1, 8, 8), 10)) == 64 * 32 + 32 + 32 * 32 + 32 + 32 * 10 + 10


@pytest.mark.parametrize("reduction", ["pointwise", "subsample"])
def test_reductions_cut_parameters_and_flops_of_wide_blocks(reduction):
    for arch in REDUCING_ARCHS:
        wide = ModelConfig(arch=arch, width=64, norm="none")
        reduced = build_model(replace(wide, reduction=reduction), (3, 32, 32), 10)
        full = build_model(wide, (3, 32, 32), 10)
        assert _params(reduced) < _params(full)
        assert count_flops(reduced, (3, 32, 32)) < count_flops(full, (3, 32, 32))


def test_reduction_on_plain_is_refused():
    with pytest.raises(ValueError, match="model.reduction='pointwise' needs model.arch"):
        build_model(ModelConfig(arch="plain", reduction="pointwise"), (1, 8, 8), 10)


def test_unknown_reduction_names_the_valid_ones():
    with pytest.raises(ValueError, match="unknown reduction 'lowrank'; valid: none, pointwise"):
        build_model(ModelConfig(arch="resnet", reduction="lowrank"), (1, 8, 8), 10)


def _reduction(name: str, cin: int = 16, cout: int = 4) -> nn.Module:
    parts = Parts(ModelConfig(norm="none", activation="identity"))
    return REDUCTIONS[name](parts, cin, cout).eval()


@pytest.mark.parametrize("name", ["pointwise", "subsample", "grouped"])
def test_reductions_keep_the_map_and_reduce_the_channels(name):
    assert _reduction(name)(torch.randn(2, 16, 7, 7)).shape == (2, 4, 7, 7)


def _reached(name: str) -> list[set[int]]:
    """Per input channel: the reduced channels that perturbing it changes."""
    torch.manual_seed(0)
    reduce, x = _reduction(name), torch.randn(1, 16, 5, 5)
    with torch.no_grad():
        base = reduce(x)
        reached = []
        for i in range(16):
            bumped = x.clone()
            bumped[:, i] += 1.0
            changed = (reduce(bumped) - base).abs().amax(dim=(0, 2, 3)) > 0
            reached.append(set(changed.nonzero().flatten().tolist()))
    return reached


def test_subsample_reduction_mixes_no_channels():
    reached = _reached("subsample")
    # Every 4th input channel feeds exactly one reduced channel; the others feed none.
    assert reached == [{i // 4} if i % 4 == 0 else set() for i in range(16)]


def test_pointwise_reduction_mixes_every_channel():
    assert _reached("pointwise") == [set(range(4))] * 16


def test_grouped_reduction_reads_every_channel_and_mixes_only_its_group():
    assert _reached("grouped") == [{i // 4} for i in range(16)]


def _branch_reach(reduction: str) -> list[set[int]]:
    """Per input channel of a width-16 ResNet bottleneck branch: the output channels that
    perturbing it changes."""
    torch.manual_seed(0)
    parts = Parts(ModelConfig(norm="none", activation="identity"))
    block = ResidualBlock(parts, 16, 16, 1, reduction).eval()
    for conv in block.branch.modules():  # undo nothing the init might zero
        if isinstance(conv, nn.Conv2d):
            nn.init.normal_(conv.weight)
    x = torch.randn(1, 16, 5, 5)
    with torch.no_grad():
        base = block.branch(x)
        reached = []
        for i in range(16):
            bumped = x.clone()
            bumped[:, i] += 1.0
            changed = (block.branch(bumped) - base).abs().amax(dim=(0, 2, 3)) > 1e-6
            reached.append(set(changed.nonzero().flatten().tolist()))
    return reached


def test_grouped_bottleneck_branch_keeps_its_groups_apart():
    # 16 channels in 4 groups of 4: an input channel reaches only its own group's outputs.
    group = [set(range(4 * (i // 4), 4 * (i // 4) + 4)) for i in range(16)]
    assert _branch_reach("grouped") == group
    assert _branch_reach("pointwise") == [set(range(16))] * 16


def test_grouped_reduction_refuses_widths_it_cannot_group():
    with pytest.raises(ValueError, match="5 channels to 2 needs 2 to divide 5"):
        build_model(ModelConfig(arch="resnet", reduction="grouped", width=5), (1, 8, 8), 10)
    with pytest.raises(ValueError, match="needs a ResNet block"):
        build_model(ModelConfig(arch="inception", reduction="grouped", width=8), (1, 8, 8), 10)


@pytest.mark.parametrize("reduction", ["pointwise", "subsample", "grouped"])
def test_match_flops_widens_to_the_unreduced_flops_at_the_cpu_settings(reduction):
    """The C1 study's matched arms, at the cpu profile's settings (width 12, flatten head,
    MNIST shapes): within 10% of the control's FLOPs, and wider than it."""
    base = ModelConfig(arch="resnet", width=12, head="flatten")
    shape = (1, 28, 28)
    control = count_flops(build_model(base, shape, 10), shape)
    matched = replace(base, reduction=reduction, match_flops=True)
    assert count_flops(build_model(matched, shape, 10), shape) == pytest.approx(control, rel=0.1)
    assert flops_matched_width(matched, shape, 10) > base.width


def test_flops_ref_sizes_each_family_to_the_plain_nets_flops():
    """The C4 families study at the cpu settings: ResNet narrowed, Inception kept (its
    four branches cost one 3x3 conv), each within 10% of the plain net's FLOPs."""
    shape = (1, 28, 28)
    plain = ModelConfig(arch="plain", width=8, head="flatten")
    target = count_flops(build_model(plain, shape, 10), shape)
    for arch, narrower in (("resnet", True), ("inception", False)):
        spec = replace(plain, arch=arch, match_flops=True, flops_ref="plain")
        assert count_flops(build_model(spec, shape, 10), shape) == pytest.approx(target, rel=0.1)
        assert (flops_matched_width(spec, shape, 10) < plain.width) is narrower


def test_residual_mlp_differs_from_its_plain_twin_in_the_shortcut_alone():
    spec = ModelConfig(arch="resmlp", width=16, depth=3)
    res, plain = (
        build_model(spec, (1, 8, 8), 10),
        build_model(replace(spec, arch="resmlp_noskip"), (1, 8, 8), 10),
    )
    # stem 64->16, 3 blocks of two 16->16 layers with BN, head 16->10: 2 * 3 + 2 layers
    linears = [m for m in res.modules() if isinstance(m, nn.Linear)]
    assert len(linears) == 8 and _params(res) == _params(plain)
    plain.load_state_dict(res.state_dict())
    x = torch.randn(4, 1, 8, 8)
    res.eval()
    plain.eval()
    block, twin = res[4], plain[4]  # the first block after the stem's linear, BN, ReLU
    h = torch.randn(4, 16)
    assert torch.allclose(block(h), twin.out(twin.branch(h) + h))
    assert not torch.allclose(res(x), plain(x))


def test_match_flops_leaves_the_unreduced_net_alone():
    base = ModelConfig(arch="resnet", width=12)
    shape = (1, 28, 28)
    assert _params(build_model(replace(base, match_flops=True), shape, 10)) == _params(
        build_model(base, shape, 10)
    )


@pytest.mark.parametrize("name", ["small_normal", "xavier", "kaiming"])
def test_init_std_matches_its_formula(name):
    torch.manual_seed(0)
    layer = apply_init(nn.Linear(400, 300), name, std=0.01)
    want = expected_std(name, fan_in=400, fan_out=300, std=0.01)
    assert layer.weight.std().item() == pytest.approx(want, rel=0.03)
    assert layer.weight.mean().item() == pytest.approx(0.0, abs=want * 0.02)
    assert torch.count_nonzero(layer.bias) == 0


def test_kaiming_conv_std_uses_fan_in():
    conv = apply_init(nn.Conv2d(64, 32, 3), "kaiming")
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / (64 * 9)), rel=0.05)


def test_zero_init_zeroes_weights_and_biases():
    net = build_model(ModelConfig(arch="resnet", init="zeros", width=8), (1, 28, 28), 10)
    for module in net.modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            assert torch.count_nonzero(module.weight) == 0
            assert module.bias is None or torch.count_nonzero(module.bias) == 0


def test_default_init_keeps_pytorch_draws():
    torch.manual_seed(0)
    expected = nn.Linear(10, 10)
    torch.manual_seed(0)
    layer = apply_init(nn.Linear(10, 10), "default")
    assert torch.equal(layer.weight, expected.weight) and torch.equal(layer.bias, expected.bias)
    assert "default" in INITS


def test_norm_position_orders_layers():
    pre = build_model(ModelConfig(norm_position="pre", width=8), (1, 8, 8), 10)
    post = build_model(ModelConfig(norm_position="post", width=8), (1, 8, 8), 10)
    assert [type(m).__name__ for m in pre[0]] == ["Conv2d", "BatchNorm2d", "ReLU"]
    assert [type(m).__name__ for m in post[0]] == ["Conv2d", "ReLU", "BatchNorm2d"]


def test_flatten_head_reads_every_pixel_of_the_last_map():
    from ablate.config import ModelConfig

    gap = build_model(ModelConfig(width=8, head="gap"), (1, 28, 28), 10)
    flat = build_model(ModelConfig(width=8, head="flatten"), (1, 28, 28), 10)
    assert gap[-1].in_features == 32 and flat[-1].in_features == 32 * 7 * 7
    assert flat(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_noskip_block_is_the_resnet_block_without_its_shortcut():
    from ablate.config import ModelConfig

    spec = dict(width=8, depth=2, stages=2, norm="batch")
    res = build_model(ModelConfig(arch="resnet", **spec), (1, 16, 16), 10)
    noskip = build_model(ModelConfig(arch="resnet_noskip", **spec), (1, 16, 16), 10)
    shortcut = sum(
        p.numel() for m in res.modules() if hasattr(m, "shortcut") for p in m.shortcut.parameters()
    )
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert shortcut > 0 and count(res) - count(noskip) == shortcut


def test_resnet_without_norm_starts_as_identity_branches():
    from ablate.config import ModelConfig
    from ablate.models.architectures import ResidualBlock

    net = build_model(ModelConfig(arch="resnet", norm="none", width=8, depth=3), (1, 16, 16), 10)
    for block in (m for m in net.modules() if isinstance(m, ResidualBlock)):
        last = [m for m in block.branch.modules() if isinstance(m, torch.nn.Conv2d)][-1]
        assert torch.count_nonzero(last.weight) == 0
    bn = build_model(ModelConfig(arch="resnet", norm="batch", width=8, depth=3), (1, 16, 16), 10)
    blocks = [m for m in bn.modules() if isinstance(m, ResidualBlock)]
    assert all(torch.count_nonzero(b.branch[1].weight) > 0 for b in blocks)


def test_input_condition_sees_the_offset_of_raw_inputs():
    from ablate.probes.layers import input_condition

    gen = torch.Generator().manual_seed(0)
    centred = torch.randn(2000, 1, 4, 4, generator=gen)
    raw = centred * 0.3 + 1.0  # all-positive, like raw pixels
    assert input_condition(raw)["input_eig_top_ratio"] > 10
    assert input_condition(centred)["input_eig_top_ratio"] < 2


def test_a_flatten_head_over_a_one_pixel_map_builds_with_bn():
    from ablate.config import ModelConfig

    spec = ModelConfig(width=8, stages=2, stem="k3s2p0", norm="batch", head="flatten")
    net = build_model(spec, (1, 8, 8), 10)  # 8 px -> 3 -> 1 after one halving
    assert net.training and net(torch.zeros(4, 1, 8, 8)).shape == (4, 10)
