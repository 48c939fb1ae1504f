"""The capacity probe on nets whose answer is known by construction: a product of linear
maps is affine (R^2 = 1 whatever its depth), a ReLU net is not."""

from __future__ import annotations

import math

import torch

from ablate.config import ModelConfig
from ablate.models import build_model
from ablate.probes.capacity import affine_r2, capacity, training_fit

SHAPE = (1, 8, 8)  # 64 inputs: 600 images leave 535 spare degrees of freedom


def _mlp(activation: str, norm: str = "none") -> torch.nn.Module:
    cfg = ModelConfig(
        arch="mlp", activation=activation, init="kaiming", norm=norm, width=64, depth=6
    )
    torch.manual_seed(0)
    return build_model(cfg, SHAPE, 10)


def _images(n: int = 600) -> torch.Tensor:
    return torch.randn(n, *SHAPE, generator=torch.Generator().manual_seed(1))


def test_deep_identity_net_is_affine_in_its_input():
    assert affine_r2(_mlp("identity"), _images()) > 0.99999


def test_deep_identity_net_with_batch_norm_is_affine_in_eval_mode():
    net = _mlp("identity", norm="batch")
    net(_images())  # move BN's running statistics away from their initial values
    assert affine_r2(net, _images()) > 0.99999


def test_relu_net_is_not_affine():
    assert affine_r2(_mlp("relu"), _images()) < 0.99


def test_no_spare_degrees_of_freedom_is_nan():
    assert math.isnan(affine_r2(_mlp("identity"), _images(65)))


def test_training_fit_scores_the_labels_in_eval_mode():
    net = _mlp("relu", norm="batch").train()
    x = _images()
    y = net.eval()(x).argmax(1)
    net.train()
    fit = training_fit(net, x, y)
    assert fit["train_fit_acc"] == 1.0 and fit["train_fit_loss"] > 0
    assert net.training  # the mode the probe found is restored


def test_capacity_reports_every_field():
    x = _images()
    out = capacity(_mlp("tanh"), x, torch.zeros(len(x), dtype=torch.long))
    assert set(out) == {"train_fit_acc", "train_fit_loss", "logit_affine_r2"}


class _Noise(torch.nn.Module):
    """Logits unrelated to the input: what an affine fit can only overfit."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.randn(len(x), 10, generator=torch.Generator().manual_seed(len(x)))


def test_r2_is_adjusted_for_the_coefficients_the_fit_spends():
    # In-sample R^2 of noise on 65 coefficients and 600 images is ~65/600; adjusted, ~0.
    assert abs(affine_r2(_Noise(), _images())) < 0.05
