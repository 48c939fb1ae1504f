"""Probe statistics on small nets where the right answer is known by construction."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ablate.config import ModelConfig
from ablate.models import ACTIVATIONS, build_model
from ablate.probes.callback import summarise
from ablate.probes.cost import activation_cost
from ablate.probes.layers import (
    channel_moments,
    distribution_shift,
    first_layer_sign_agreement,
    layer_stats,
    smoothness,
)

X = torch.randn(64, 1, 8, 8)
Y = torch.randint(0, 10, (64,))


def test_zero_init_relu_has_zero_weight_gradients_and_dead_units():
    net = build_model(ModelConfig(init="zeros", norm="none", width=8), (1, 8, 8), 10)
    stats = layer_stats(net, X, Y)
    assert all(g["grad_norm"] == 0.0 for g in stats["gradients"])
    assert all(a["dead_frac"] == 1.0 and a["zero_frac"] == 1.0 for a in stats["activations"])
    assert len(stats["activations"]) == 4  # stem + one block in each of three stages


def test_saturation_is_measured_for_bounded_activations_only():
    big = build_model(
        ModelConfig(
            activation="tanh",
            init="small_normal",
            init_std=5.0,
            norm="none",
            arch="mlp",
            width=32,
            depth=3,
        ),
        (1, 8, 8),
        10,
    )
    stats = layer_stats(big, X, Y)
    assert all(a["sat_frac"] > 0.5 for a in stats["activations"])
    relu = build_model(ModelConfig(arch="mlp", width=32, depth=3), (1, 8, 8), 10)
    assert all(a["sat_frac"] != a["sat_frac"] for a in layer_stats(relu, X, Y)["activations"])


def test_all_positive_inputs_give_one_sign_gradient_rows_in_a_linear_first_layer():
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 10))
    positive = torch.rand(32, 1, 8, 8) + 0.1
    assert first_layer_sign_agreement(net, positive, Y[:32]) == pytest.approx(1.0)
    assert first_layer_sign_agreement(net, positive - 0.6, Y[:32]) < 0.1


def test_probes_leave_bn_statistics_and_gradients_untouched():
    net = build_model(ModelConfig(width=8), (1, 8, 8), 10)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    layer_stats(net, X, Y)
    smoothness(net, X, Y, [0.1, 1.0])
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for p in net.parameters())


def test_smoothness_reports_finite_change_along_the_gradient():
    net = build_model(ModelConfig(arch="mlp", width=16, depth=2), (1, 8, 8), 10)
    out = smoothness(net, X, Y, [0.01, 0.1])
    assert out["grad_norm"] > 0 and out["beta"] > 0 and out["loss_range"] >= 0


def test_summary_names_first_and_last_layers():
    net = build_model(ModelConfig(arch="mlp", width=16, depth=3, norm="none"), (1, 8, 8), 10)
    point = {"when": "init", "step": 0, **layer_stats(net, X, Y)}
    summary = summarise([point])
    assert summary["act_layers"] == 3
    assert summary["grad_norm_first_init"] == point["gradients"][0]["grad_norm"]
    assert summary["act_std_last_init"] == point["activations"][-1]["act_std"]


def test_activation_cost_times_every_activation_and_reports_ranges():
    table = activation_cost(shape=(4, 4, 8, 8), repeats=2)
    assert len(table) == 2 * len(ACTIVATIONS.names())
    ranges = table.groupby("activation")[["out_min", "out_max"]].first()
    assert ranges.loc["sigmoid"].tolist() == pytest.approx([0.0, 1.0], abs=1e-4)
    assert ranges.loc["relu", "out_min"] == 0.0 and ranges.loc["tanh", "out_min"] < -0.99


def test_slopes_and_backward_signal_per_layer():
    x, y = torch.randn(64, 1, 8, 8), torch.randint(0, 10, (64,))
    for act, bound in (("sigmoid", 0.25), ("tanh", 1.0), ("relu", 1.0)):
        net = build_model(
            ModelConfig(arch="mlp", activation=act, init="xavier", norm="none", width=32, depth=4),
            (1, 8, 8),
            10,
        )
        stats = layer_stats(net, x, y)
        slopes = [a["mean_slope"] for a in stats["activations"]]
        assert all(0 < s <= bound + 1e-6 for s in slopes), (act, slopes)
        assert all(a["act_grad_norm"] > 0 for a in stats["activations"])
        assert all(g["weight_norm"] > 0 for g in stats["gradients"])
    summary = summarise([{"when": "init", **stats}])
    assert {"slope_mean_init", "act_grad_first_init", "act_grad_last_init"} <= set(summary)


def test_scaled_smoothness_follows_the_weight_scale():
    x, y = torch.randn(64, 1, 8, 8), torch.randint(0, 10, (64,))
    net = build_model(ModelConfig(arch="mlp", width=16, depth=2, norm="batch"), (1, 8, 8), 10)
    base = smoothness(net, x, y, [0.01, 0.1])
    weights = sum(
        m.weight.pow(2).sum().item()
        for m in net.modules()
        if hasattr(m, "weight") and m.weight is not None and m.weight.dim() > 1
    )
    assert base["beta_scaled"] == pytest.approx(base["beta"] * weights, rel=1e-6)


def test_bn_outputs_are_standardised_at_init():
    x, y = torch.randn(128, 1, 8, 8) * 5 + 3, torch.randint(0, 10, (128,))
    net = build_model(
        ModelConfig(width=8, stages=2, norm="batch", norm_position="post"), (1, 8, 8), 10
    )
    norms = layer_stats(net, x, y)["norms"]
    assert len(norms) >= 2
    assert all(abs(n["bn_mean"]) < 0.1 and abs(n["bn_std"] - 1) < 0.1 for n in norms)


def test_channel_moments_read_the_shape_of_known_distributions():
    torch.manual_seed(0)
    normal = channel_moments(torch.randn(20000, 2))
    skewed = channel_moments(torch.empty(20000, 2).exponential_())  # skew 2, excess kurt 6
    assert normal["skew"].abs().max() < 0.1 and normal["kurt"].abs().max() < 0.2
    assert skewed["skew"].min() > 1.6 and skewed["kurt"].min() > 4
    flat = channel_moments(torch.ones(100, 3))
    assert flat["skew"].isnan().all()  # no spread, no shape


def _drift(norm: str, noise: float = 0.0):
    torch.manual_seed(0)
    net = build_model(ModelConfig(arch="mlp", norm=norm, norm_noise=noise, depth=2), (1, 8, 8), 10)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    return net, opt, distribution_shift(net, X, Y, opt)


def test_drift_separates_a_noisy_norms_draw_from_the_weight_update():
    _, _, none = _drift("none")
    _, _, noisy = _drift("noisy_batch", 1.0)
    assert none["drift_noise_mean"] == 0 and none["drift_step_mean"] > 0
    assert noisy["drift_noise_mean"] > 10 * noisy["drift_step_mean"]
    assert noisy["drift_noise_std"] > 0


def test_drift_probe_restores_weights_optimizer_state_and_random_state():
    torch.manual_seed(0)
    net = build_model(ModelConfig(arch="mlp", norm="noisy_batch", norm_noise=1.0), (1, 8, 8), 10)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    F.cross_entropy(net(X), Y).backward()
    opt.step()  # a momentum buffer the probe's trial step must not move
    state = {k: v.clone() for k, v in net.state_dict().items()}
    buffers = [opt.state[p]["momentum_buffer"].clone() for p in net.parameters()]
    rng = torch.get_rng_state()
    distribution_shift(net, X, Y, opt)
    assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())
    assert all(
        torch.equal(b, opt.state[p]["momentum_buffer"])
        for b, p in zip(buffers, net.parameters(), strict=True)
    )
    assert torch.equal(rng, torch.get_rng_state())


def test_summaries_carry_bn_output_shape_and_drift():
    net = build_model(ModelConfig(width=8), (1, 8, 8), 10)
    point = {"step": 0, "when": "end", **layer_stats(net, X, Y)}
    point["drift"] = distribution_shift(net, X, Y, None)
    out = summarise([point])
    assert math.isfinite(out["bn_out_skew_end"]) and math.isfinite(out["bn_out_kurt_end"])
    assert out["drift_noise_mean"] == 0 and math.isnan(out["drift_step_mean"])
    assert math.isfinite(out["act_in_kurt"])
