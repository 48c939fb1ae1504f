"""Noisy batch norm (Santurkar et al. 2018): BN, then a random per-channel scale and shift
drawn anew at every training step; plain BN in evaluation."""

from __future__ import annotations

import pytest
import torch

from ablate.config import ModelConfig
from ablate.models import NORMS, build_model
from ablate.models.norms import NoisyBatchNorm

X = torch.randn(256, 4, 6, 6) * 3 + 2


def test_noise_moves_each_channels_mean_and_std_and_changes_every_step():
    layer = NORMS["noisy_batch"](4, 2, 0.5).train()
    first, second = layer(X), layer(X)
    mean, std = first.mean(dim=(0, 2, 3)), first.std(dim=(0, 2, 3))
    assert (mean.abs() > 1e-3).all() and (mean.abs() <= 0.5).all()  # shift in U(-0.5, 0.5)
    assert (std > 1.0).all() and (std <= 1.5 + 1e-3).all()  # scale in U(1, 1.5)
    assert not torch.allclose(first, second)  # a fresh draw at every forward pass


def test_without_noise_or_in_evaluation_it_is_plain_batch_norm():
    plain, noisy = NORMS["batch"](4, 2, 0.0), NORMS["noisy_batch"](4, 2, 1.0)
    quiet = NORMS["noisy_batch"](4, 2, 0.0)
    assert torch.allclose(quiet.train()(X), plain.train()(X), atol=1e-6)
    noisy.train()(X)  # the running statistics move as plain BN's do, noise aside
    assert torch.allclose(noisy.running_mean, plain.running_mean)
    assert torch.allclose(noisy.eval()(X), plain.eval()(X), atol=1e-6)


def test_noisy_net_trains_its_noise_in_every_layer_and_the_norm_is_found_as_bn():
    spec = ModelConfig(arch="mlp", norm="noisy_batch", norm_noise=0.3, width=16, depth=3)
    net = build_model(spec, (1, 8, 8), 10)
    layers = [m for m in net.modules() if isinstance(m, NoisyBatchNorm)]
    assert len(layers) == 3 and all(m.noise == 0.3 for m in layers)
    assert all(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in layers)


def test_negative_noise_is_refused_by_name():
    with pytest.raises(ValueError, match="norm_noise"):
        NoisyBatchNorm(4, -0.1)


def test_skewed_batch_norm_is_standardised_but_log_normal_and_stable():
    layer = NORMS["skewed_batch"](8, 1, 0.0).train()
    out = layer(torch.randn(20000, 8) * 3 + 5).detach()
    z = (out - out.mean(0)) / out.std(0)
    assert out.mean(0).abs().max() < 0.05 and (out.var(0) - 1).abs().max() < 0.05
    assert (z**3).mean().item() == pytest.approx(1.75, abs=0.2)  # normal: 0
    assert ((z**4).mean() - 3).item() == pytest.approx(5.9, abs=1.5)  # normal: 0
    fixed = NORMS["skewed_batch"](4, 2, 0.0).train()
    assert torch.allclose(fixed(X), fixed(X))  # no draw: the same shape at every step
    spec = ModelConfig(arch="mlp", norm="skewed_batch", width=16, depth=3)
    net = build_model(spec, (1, 8, 8), 10)
    assert net(torch.randn(5, 1, 8, 8)).shape == (5, 10)
