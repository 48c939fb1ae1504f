"""Per-layer statistics of a network on one fixed batch: activations and weight gradients.

Activation modules are tagged when built (`ablate.models.parts.Parts.act`), so the
probes find exactly the nonlinearities, in forward order, whatever the family.
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ablate.models.activations import BOUNDS

ACT_TAG = "_ablate_activation"  # attribute set on every activation module: its registry name
HIST_EDGES = torch.linspace(-2.5, 2.5, 51)
SATURATION_MARGIN = 0.02  # within 2% of the output range from a bound counts as saturated

# The slope f'(z) of each activation, from its output a = f(z): what a backward pass
# multiplies the gradient by at that unit (sigmoid's is at most 1/4, tanh's at most 1).
SLOPE_FROM_OUTPUT = {
    "identity": lambda a: torch.ones_like(a),
    "sigmoid": lambda a: a * (1 - a),
    "sigmoid_centered": lambda a: (a + 0.5) * (0.5 - a),
    "tanh": lambda a: 1 - a**2,
    "relu": lambda a: (a > 0).float(),
    "abs": lambda a: (a > 0).float(),  # |f'| = 1 except at 0
    "softplus": lambda a: 1 - torch.exp(-a),  # sigma(z) = 1 - exp(-softplus(z))
    "hardtanh": lambda a: (a.abs() < 1).float(),
}


def activation_modules(net: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(name, m) for name, m in net.named_modules() if hasattr(m, ACT_TAG)]


def weight_layers(net: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in net.named_modules() if isinstance(m, nn.Conv2d | nn.Linear)]


@contextlib.contextmanager
def preserved_state(net: nn.Module) -> Iterator[None]:
    """Probe in train mode (batch statistics, as training sees them) without moving BN's
    running statistics or leaving gradients behind."""
    buffers = {
        k: v.clone() for k, v in net.state_dict().items() if "running" in k or "num_batches" in k
    }
    grads = {p: p.grad for p in net.parameters()}
    was_training = net.training
    net.train()
    try:
        yield
    finally:
        net.load_state_dict(buffers, strict=False)
        for p, g in grads.items():
            p.grad = g
        net.train(was_training)


def _unit_view(out: torch.Tensor) -> torch.Tensor:
    """(batch, units, ...) -> (units, values): a conv unit is a channel over all positions."""
    return out.transpose(0, 1).reshape(out.shape[1], -1)


def channel_moments(out: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per unit (a conv channel over all positions): mean, std, skewness and excess
    kurtosis (0 and 0 for a normal distribution). Units with zero spread have no shape:
    their skewness and kurtosis are NaN."""
    u = _unit_view(out.detach().float())
    mean = u.mean(dim=1)
    centred = u - mean[:, None]
    std = centred.pow(2).mean(dim=1).sqrt()
    z = centred / std[:, None]
    spread = std > 1e-8
    nan = torch.full_like(std, float("nan"))
    return {
        "mean": mean,
        "std": std,
        "skew": torch.where(spread, z.pow(3).mean(dim=1), nan),
        "kurt": torch.where(spread, z.pow(4).mean(dim=1) - 3, nan),
    }


def _shape(moments: dict[str, torch.Tensor]) -> dict[str, float]:
    """A layer's distance from normal: mean |skewness| and mean excess kurtosis over units."""
    return {
        "skew": moments["skew"].abs().nanmean().item(),
        "kurt": moments["kurt"].nanmean().item(),
    }


def activation_stats(name: str, kind: str, out: torch.Tensor) -> dict[str, Any]:
    x = out.detach().float()
    per_unit = _unit_view(x)
    stats: dict[str, Any] = {
        "layer": name,
        "activation": kind,
        "act_mean": x.mean().item(),
        "act_std": x.std().item(),
        "dead_frac": (per_unit.max(dim=1).values <= 0).float().mean().item(),
        "zero_frac": (x == 0).float().mean().item(),
        "sat_frac": float("nan"),
        "hist": torch.histc(x.clamp(-2.5, 2.5), bins=50, min=-2.5, max=2.5).tolist(),
    }
    if kind in BOUNDS:
        lo, hi = BOUNDS[kind]
        margin = SATURATION_MARGIN * (hi - lo)
        stats["sat_frac"] = ((x <= lo + margin) | (x >= hi - margin)).float().mean().item()
    slope = SLOPE_FROM_OUTPUT.get(kind)
    stats["mean_slope"] = slope(x).abs().mean().item() if slope else float("nan")
    return stats


def first_layer_sign_agreement(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of first-layer units whose per-example weight-gradient row has one sign.

    Per example, the first layer's weight gradient is (upstream gradient) x (input patch):
    with all-positive inputs every entry of a unit's row shares the sign of the upstream
    gradient (LeCun et al. 1998). Computed per example from the layer's input and output
    gradient, so no per-example backward passes are needed."""
    first = weight_layers(net)[0][1]
    captured: dict[str, torch.Tensor] = {}

    def keep_input(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor):
        captured["x"] = inputs[0].detach()
        output.register_hook(lambda g: captured.__setitem__("g", g.detach()))

    handle = first.register_forward_hook(keep_input)
    try:
        F.cross_entropy(net(x), y).backward()
    finally:
        handle.remove()
    inp, grad = captured["x"], captured["g"]
    if isinstance(first, nn.Conv2d):
        patches = F.unfold(inp, first.kernel_size, padding=first.padding, stride=first.stride)
        rows = torch.einsum("bop,bkp->bok", grad.flatten(2), patches)
    else:
        rows = torch.einsum("bo,bk->bok", grad, inp.flatten(1))
    nonzero = rows.abs() > 0
    positive = ((rows > 0) | ~nonzero).all(dim=2)
    negative = ((rows < 0) | ~nonzero).all(dim=2)
    active = nonzero.any(dim=2)
    single = (positive | negative) & active
    return (single.sum() / active.sum().clamp(min=1)).item()


def layer_stats(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
    """Activation statistics per nonlinearity and weight-gradient norm per layer."""
    acts = activation_modules(net)
    outputs: dict[str, torch.Tensor] = {}
    out_grads: dict[str, torch.Tensor] = {}

    def keep(name: str, output: torch.Tensor) -> None:
        outputs[name] = output
        if output.requires_grad:
            output.register_hook(lambda g: out_grads.__setitem__(name, g.detach()))

    handles = [m.register_forward_hook(lambda mod, i, o, n=n: keep(n, o)) for n, m in acts]
    norms = [
        (n, m) for n, m in net.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
    ]
    norm_out: dict[str, torch.Tensor] = {}
    handles += [
        m.register_forward_hook(lambda mod, i, o, n=n: norm_out.__setitem__(n, o.detach()))
        for n, m in norms
    ]
    with preserved_state(net):
        try:
            net.zero_grad(set_to_none=True)
            loss = F.cross_entropy(net(x), y)
            loss.backward()
        finally:
            for h in handles:
                h.remove()
        layers = [activation_stats(n, getattr(m, ACT_TAG), outputs[n]) for n, m in acts]
        for layer, (n, _) in zip(layers, acts, strict=True):
            # ||dL/dh|| per example: the backward signal reaching this layer's outputs.
            g = out_grads.get(n)
            layer["act_grad_norm"] = (
                (g.flatten(1).norm(dim=1).mean().item() * len(g)) if g is not None else 0.0
            )
        grads = [
            {
                "layer": n,
                "grad_norm": m.weight.grad.norm().item() if m.weight.grad is not None else 0.0,
                "weight_norm": m.weight.norm().item(),
            }
            for n, m in weight_layers(net)
        ]
        net.zero_grad(set_to_none=True)
        sign = first_layer_sign_agreement(net, x[:32], y[:32])
    # What BN itself outputs (in the post position the activation stats are read before it).
    bn = [
        {
            "layer": n,
            "bn_mean": norm_out[n].float().mean().item(),
            "bn_std": norm_out[n].float().std().item(),
            **{f"bn_{k}": v for k, v in _shape(channel_moments(norm_out[n])).items()},
        }
        for n, _ in norms
        if n in norm_out
    ]
    return {
        "loss": loss.item(),
        "activations": layers,
        "gradients": grads,
        "norms": bn,
        "sign_agreement": sign,
    }


def _activation_inputs(net: nn.Module, x: torch.Tensor) -> list[dict[str, torch.Tensor]]:
    """Per nonlinearity, in forward order, the moments of what enters it: the norm's output
    when the norm sits before the activation, the layer's own output without a norm."""
    captured: dict[str, torch.Tensor] = {}
    acts = activation_modules(net)
    handles = [
        m.register_forward_pre_hook(lambda mod, inp, n=n: captured.__setitem__(n, inp[0]))
        for n, m in acts
    ]
    try:
        with torch.no_grad():
            net(x)
    finally:
        for h in handles:
            h.remove()
    return [channel_moments(captured[n]) for n, _ in acts if n in captured]


def _relative_change(
    before: list[dict[str, torch.Tensor]], after: list[dict[str, torch.Tensor]]
) -> tuple[float, float]:
    """Mean over layers and units of |Δ mean| / std and |Δ std| / std (std before): how far
    a unit's input distribution moved, in units of its own spread."""
    means, stds = [], []
    for b, a in zip(before, after, strict=True):
        ok = b["std"] > 1e-8
        if ok.any():
            means.append(((a["mean"] - b["mean"]).abs()[ok] / b["std"][ok]).mean().item())
            stds.append(((a["std"] - b["std"]).abs()[ok] / b["std"][ok]).mean().item())
    nan = float("nan")
    return (sum(means) / len(means), sum(stds) / len(stds)) if means else (nan, nan)


def distribution_shift(
    net: nn.Module, x: torch.Tensor, y: torch.Tensor, optimizer: torch.optim.Optimizer | None
) -> dict[str, float]:
    """How much the distribution entering each nonlinearity moves in one training step,
    on a fixed batch, from two sources measured apart: the weight update (one step of the
    run's own optimizer, at its current rate and momentum, on this batch's gradient; the
    "internal covariate shift" of Ioffe & Szegedy) and a noisy norm's fresh random draw
    (two forward passes, same weights). Each as the relative change of per-unit mean and
    std; everything (weights, optimizer state, BN statistics, random state) is restored.
    Also the shape (|skewness|, excess kurtosis) of those inputs, averaged over layers."""
    devices = [x.device] if x.device.type == "cuda" else []
    with preserved_state(net), torch.random.fork_rng(devices=devices):
        torch.manual_seed(0)
        base = _activation_inputs(net, x)
        torch.manual_seed(1)
        noise = _relative_change(base, _activation_inputs(net, x))
        step = (math.nan, math.nan)
        if optimizer is not None:
            params = [p for g in optimizer.param_groups for p in g["params"]]
            originals = [p.detach().clone() for p in params]
            state = copy.deepcopy(optimizer.state_dict())
            try:
                net.zero_grad(set_to_none=True)
                F.cross_entropy(net(x), y).backward()
                optimizer.step()
                torch.manual_seed(0)  # the same noise draw as `base`: the weights alone moved
                step = _relative_change(base, _activation_inputs(net, x))
            finally:
                with torch.no_grad():
                    for p, o in zip(params, originals, strict=True):
                        p.copy_(o)
                optimizer.load_state_dict(state)
                net.zero_grad(set_to_none=True)
    shapes = [_shape(m) for m in base]
    return {
        "act_in_skew": sum(v["skew"] for v in shapes) / len(shapes) if shapes else math.nan,
        "act_in_kurt": sum(v["kurt"] for v in shapes) / len(shapes) if shapes else math.nan,
        "drift_noise_mean": noise[0],
        "drift_noise_std": noise[1],
        "drift_step_mean": step[0],
        "drift_step_std": step[1],
    }


def smoothness(net: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: list[float]) -> dict:
    """Loss and gradient change along the gradient direction (Santurkar et al. 2018).

    For each step size eta: L(w - eta g) and ||grad(w - eta g) - g|| / ||eta g||, an
    empirical beta-smoothness; a smoother landscape changes less along the same step."""
    params = [p for p in net.parameters() if p.requires_grad]
    with preserved_state(net):

        def loss_and_grad() -> tuple[float, list[torch.Tensor]]:
            net.zero_grad(set_to_none=True)
            loss = F.cross_entropy(net(x), y)
            loss.backward()
            return loss.item(), [
                p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p)
                for p in params
            ]

        base_loss, base_grad = loss_and_grad()
        norm = torch.sqrt(sum((g**2).sum() for g in base_grad)).item()
        losses, betas = [], []
        originals = [p.detach().clone() for p in params]
        try:
            for eta in steps:
                with torch.no_grad():
                    for p, g in zip(params, base_grad, strict=True):
                        p.sub_(eta * g)
                loss, grad = loss_and_grad()
                change = torch.sqrt(
                    sum(((a - b) ** 2).sum() for a, b in zip(grad, base_grad, strict=True))
                )
                losses.append(loss)
                betas.append(change.item() / max(eta * norm, 1e-12))
                with torch.no_grad():
                    for p, o in zip(params, originals, strict=True):
                        p.copy_(o)
        finally:
            with torch.no_grad():
                for p, o in zip(params, originals, strict=True):
                    p.copy_(o)
        net.zero_grad(set_to_none=True)
    finite = [v for v in losses if v == v and abs(v) != float("inf")]
    weights = sum(m.weight.detach().pow(2).sum().item() for _, m in weight_layers(net))
    beta = max(betas) if betas else float("nan")
    return {
        "loss": base_loss,
        "grad_norm": norm,
        "loss_range": (max(finite) - min(finite)) if finite else float("nan"),
        "beta": beta,
        # BN makes the loss invariant to the scale of the weights before it, so raw beta
        # grows like 1/||W||^2; beta ||W||^2 compares nets of different weight scales.
        "beta_scaled": beta * weights,
    }


def input_condition(x: torch.Tensor) -> dict[str, float]:
    """How well conditioned the inputs are for a linear first layer: the eigenvalues of
    their second-moment matrix E[x xᵀ] (not the covariance: an offset shows up here). All
    positive inputs give one dominant eigenvalue along the mean, which gradient descent
    must crawl around; centring removes it (LeCun et al. 1998, "Efficient BackProp")."""
    flat = x.reshape(len(x), -1).double()
    eig = torch.linalg.eigvalsh(flat.T @ flat / len(flat)).flip(0)
    return {
        "input_eig_top_ratio": float(eig[0] / eig[1]),  # largest over second largest
        "input_eig_top_share": float(eig[0] / eig.sum()),  # share of the total energy
    }
