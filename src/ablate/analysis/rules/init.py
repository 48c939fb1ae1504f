"""Rules of the init section: W1 small Gaussian init, W2 Xavier, W3 Kaiming."""

from __future__ import annotations

import math

from ablate.analysis.rules.common import (
    Verdict,
    _above,
    _dir,
    _not,
    from_parts,
    pow10_fmt,
    with_needs,
)
from ablate.analysis.stats import Estimate


def _within(est: Estimate, band: float) -> bool | None:
    """True if the CI lies inside [-band, band], False if wholly outside it, else unclear."""
    if not (math.isfinite(est.lo) and math.isfinite(est.hi)):
        return None
    if -band <= est.lo and est.hi <= band:
        return True
    return False if est.hi < -band or est.lo > band else None


def w1_small_init(
    shallow: dict[str, Estimate],
    deep: Estimate,
    std_slope: Estimate,
    band: float,
    chance: float,
    works: dict[str, float] | None = None,
) -> Verdict:
    """Claim: std-0.01 init works in small nets, but in deep nets activations and gradients
    shrink towards 0 and training stalls. `shallow`: per activation, the shallow small-init
    nets' accuracy, which must reach `works[activation]` (that activation's shallow Kaiming
    control, less a margin; chance + 0.1 if not given). `deep`, `std_slope`: the deep
    small-init nets of the control activation (accuracy, and per-layer log10 slope of the
    activation std at init; it shrinks when its CI lies below -`band`)."""
    bar = chance + 0.1
    numbers = {f"shallow_acc_{a}": e.mean for a, e in shallow.items()}
    numbers |= {"deep_acc": deep.mean, "std_factor_per_layer": 10**std_slope.mean}
    key = (
        "acc shallow "
        + ", ".join(f"{a} {e.fmt()}" for a, e in sorted(shallow.items()))
        + f" vs deep {deep.fmt()}; activation std ×{pow10_fmt(std_slope)} per layer"
    )
    parts = {
        f"works in small {a} nets": _above(e, (works or {}).get(a, bar))
        for a, e in sorted(shallow.items())
    }
    parts["stalls in deep nets"] = _not(_above(deep, bar))
    parts["activations shrink with depth"] = _not(_above(std_slope, -band))
    return from_parts("W1", parts, key, numbers, "Small Gaussian init (std 0.01)")


def w2_xavier(
    tanh_slope: Estimate, relu_slope: Estimate, band: float, deep_tanh: Estimate, chance: float
) -> Verdict:
    """Claim (from the literature, the notes are empty): Xavier keeps the activation scale
    stable through depth for tanh, but not for ReLU (which halves its variance per layer).
    `*_slope`: per-layer log10 slope of the activation std at init in the deepest nets, with
    its CI over runs; stable when the CI lies within ±`band`, shrinking when below it."""
    numbers = {
        "tanh_std_factor_per_layer": 10**tanh_slope.mean,
        "relu_std_factor_per_layer": 10**relu_slope.mean,
        "deep_tanh_acc": deep_tanh.mean,
    }
    key = (
        f"std per layer: tanh ×{pow10_fmt(tanh_slope)}, relu ×{pow10_fmt(relu_slope)} "
        f"(stable = within ×{10**band:.3f} either way); deep tanh acc {deep_tanh.fmt()}"
    )
    parts = {
        "stable for tanh": _within(tanh_slope, band),
        "shrinks for relu": _not(_above(relu_slope, -band)),
        "deep tanh trains": _above(deep_tanh, chance + 0.1),
    }
    return from_parts("W2", parts, key, numbers, "Xavier init through depth")


def w3_kaiming(vs_xavier: Estimate, vs_small: Estimate, std_slope: Estimate) -> Verdict:
    """Claim: deep ReLU nets train with Kaiming init where Xavier or small init stall.
    `vs_*`: kaiming minus the other's test accuracy in the deepest ReLU nets; `std_slope`:
    the per-layer log10 slope of Kaiming's activation std there (context, not a part)."""
    numbers = {
        "vs_xavier": vs_xavier.mean,
        "vs_small": vs_small.mean,
        "std_factor_per_layer": 10**std_slope.mean,
    }
    key = (
        f"deep relu: kaiming − xavier {vs_xavier.fmt(signed=True)}, kaiming − small "
        f"{vs_small.fmt(signed=True)}; kaiming std ×{pow10_fmt(std_slope)} per layer"
    )
    parts = {"beats xavier": _dir(vs_xavier), "beats small init": _dir(vs_small)}
    return with_needs(
        from_parts("W3", parts, key, numbers, "Kaiming init in deep ReLU nets"),
        vs_xavier,
        vs_small,
    )
