"""sigmoid_centered: sigmoid's slope with a zero mean, the control that separates offset
from slope in question A2."""

import torch

from ablate.models.activations import ACTIVATIONS, BOUNDS
from ablate.probes.layers import SLOPE_FROM_OUTPUT


def test_centered_sigmoid_has_sigmoids_slope_and_zero_mean():
    x = torch.linspace(-6, 6, 1001, requires_grad=True)
    centered = ACTIVATIONS["sigmoid_centered"]()(x)
    assert abs(centered.mean().item()) < 1e-6  # symmetric inputs give a zero mean
    (slope,) = torch.autograd.grad(centered.sum(), x)
    assert torch.allclose(slope, torch.sigmoid(x) * (1 - torch.sigmoid(x)), atol=1e-6)
    from_output = SLOPE_FROM_OUTPUT["sigmoid_centered"](centered.detach())
    assert torch.allclose(from_output, slope, atol=1e-6)
    lo, hi = BOUNDS["sigmoid_centered"]
    assert lo < centered.min().item() and centered.max().item() < hi and hi - lo == 1.0
