"""abs, softplus and hardtanh: the activations A5 uses to separate ReLU's properties (unit
slope, exact zeros, a kink) from one another."""

import torch

from ablate.models.activations import ACTIVATIONS, BOUNDS
from ablate.probes.layers import SLOPE_FROM_OUTPUT

X = torch.linspace(-6, 6, 1201)


def _value_and_slope(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    x = X.clone().requires_grad_(True)
    out = ACTIVATIONS[name]()(x)
    (slope,) = torch.autograd.grad(out.sum(), x)
    return out.detach(), slope


def test_abs_has_unit_slope_everywhere_and_no_zeros_but_at_zero():
    out, slope = _value_and_slope("abs")
    assert torch.equal(out, X.abs())
    nonzero = X != 0
    assert torch.equal(slope[nonzero].abs(), torch.ones(int(nonzero.sum())))
    assert int((out == 0).sum()) == int((~nonzero).sum())  # not sparse
    assert torch.equal(SLOPE_FROM_OUTPUT["abs"](out)[nonzero], slope[nonzero].abs())


def test_softplus_is_a_smooth_relu_without_exact_zeros():
    out, slope = _value_and_slope("softplus")
    assert (out > 0).all()  # no exact zeros
    assert torch.allclose(slope, torch.sigmoid(X), atol=1e-6)  # smooth, tends to 1
    assert torch.allclose(SLOPE_FROM_OUTPUT["softplus"](out), slope, atol=1e-5)
    assert slope[-1] > 0.99 and slope[0] < 0.01


def test_hardtanh_saturates_at_its_bounds_with_unit_slope_inside():
    out, slope = _value_and_slope("hardtanh")
    assert torch.equal(out, X.clamp(-1, 1))
    assert BOUNDS["hardtanh"] == (-1.0, 1.0)
    inside = X.abs() < 1
    assert torch.equal(slope[inside], torch.ones(int(inside.sum())))
    assert torch.equal(slope[X.abs() > 1], torch.zeros(int((X.abs() > 1).sum())))
    assert torch.equal(SLOPE_FROM_OUTPUT["hardtanh"](out), slope)
