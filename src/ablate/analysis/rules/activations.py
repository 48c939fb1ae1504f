"""Rules of the activations section: A1 linear collapse, A2 sigmoid, A3 zero init,
A4 leaky ReLU, A5 why ReLU works."""

from __future__ import annotations

import math

from ablate.analysis.rules.common import (
    EQUIVALENCE,
    Verdict,
    _above,
    _dir,
    _equivalent,
    _not,
    from_parts,
    needs,
    pow10_fmt,
    with_needs,
)
from ablate.analysis.stats import Estimate

AFFINE_R2 = 0.999  # adjusted R^2 of logits ~ affine(input) at which a net counts as affine
SATURATED = 0.05  # a net "saturates" when at least 5% of its sigmoid outputs sit at a bound


def _all_true(*values: bool | None) -> bool | None:
    """Three-valued AND: False if any is False, True if all are True, else unclear."""
    if any(v is False for v in values):
        return False
    return True if all(v is True for v in values) else None


def a1_linear_collapse(
    identity_r2: float, nonlinear_r2: float, depth_gain: Estimate, vs_linear: Estimate
) -> Verdict:
    """Claim: without a nonlinearity any depth collapses to one linear map. Tested on what
    the trained nets compute, not on test accuracy: the deep identity-activation net's logits
    are an affine function of its input (`identity_r2`, its lowest adjusted R^2 of logits ~
    affine(input), >= AFFINE_R2), the nonlinear nets' are not (`nonlinear_r2`, their highest),
    and the nonlinearity is what buys capacity: at the same depths, the nonlinear net fits the
    training split better than the identity net (`depth_gain`, paired by depth and seed).
    `vs_linear` (identity minus the one-layer linear classifier's training fit) is context:
    both are affine maps, so a difference is optimisation, not capacity; it is named."""
    numbers = {
        "identity_r2": identity_r2,
        "nonlinear_r2": nonlinear_r2,
        "nonlinear_minus_identity_fit": depth_gain.mean,
        "identity_minus_linear_fit": vs_linear.mean,
    }
    key = (
        f"logits ~ affine(input) R² identity ≥ {identity_r2:.4f}, nonlinear ≤ "
        f"{nonlinear_r2:.4f}; training accuracy nonlinear − identity "
        f"{depth_gain.fmt(signed=True)}"
    )
    parts = {
        f"the deep identity net is affine (R² ≥ {AFFINE_R2})": None
        if math.isnan(identity_r2)
        else identity_r2 >= AFFINE_R2,
        "nonlinear nets are not affine": None
        if math.isnan(nonlinear_r2)
        else nonlinear_r2 < AFFINE_R2,
        "a nonlinearity fits the training split better at the same depth": _dir(depth_gain),
    }
    verdict = from_parts("A1", parts, key, numbers, "Deep linear nets vs nonlinear ones")
    if vs_linear.compare() == "higher":
        verdict.explanation += (
            f" The deep identity net fits the training split better than the one-layer linear"
            f" classifier ({vs_linear.fmt(signed=True)}) though both are affine: the deep"
            " factorisation trains faster in the same budget (Arora et al. 2018), not a"
            " larger function class."
        )
    elif vs_linear.compare() == "lower":
        verdict.explanation += (
            f" The deep identity net fits the training split worse than the linear classifier"
            f" ({vs_linear.fmt(signed=True)}): an optimisation shortfall of the deep net."
        )
    return verdict


def a2_sigmoid(
    shrink: Estimate,
    shrink_vs_relu: Estimate,
    sat_frac: float,
    centering: Estimate,
    step_ratio: Estimate,
) -> Verdict:
    """Claim: sigmoid saturates so gradients shrink layer by layer, its outputs are not
    zero-centred, and exp() makes it costly. Each part is measured, not defined:
    `shrink`: log10 of the per-layer factor of the weight-gradient norm toward the input at
    init in the deepest sigmoid nets (below 0: it shrinks), `shrink_vs_relu` its difference
    from relu's; `sat_frac`: the share of outputs within 2% of a bound at the end of training
    in sigmoid nets that learned (one that never trained still shows its init); `centering`:
    accuracy of sigma - 1/2 (same slope, zero mean) minus sigmoid's, paired over cells (does
    the offset cost anything?); `step_ratio`: log10 of sigmoid's time per
    training step over relu's in the same networks."""
    numbers = {
        "shrink_per_layer": 10**shrink.mean,
        "sat_frac": sat_frac,
        "centering_gain": centering.mean,
        "step_ratio": 10**step_ratio.mean,
    }
    key = (
        f"gradient ×{pow10_fmt(shrink)} per layer toward the input; "
        f"{sat_frac:.1%} saturated once trained; "
        f"centred − sigmoid {centering.fmt(signed=True)}; "
        f"step time vs relu ×{pow10_fmt(step_ratio)}"
    )
    parts = {
        "gradients shrink layer by layer": _all_true(
            _not(_above(shrink, 0.0)), _not(_above(shrink_vs_relu, 0.0))
        ),
        "it saturates": None if math.isnan(sat_frac) else sat_frac >= SATURATED,
        "its non-zero mean costs accuracy": _above(centering, 0.0),
        "it makes a training step slower than relu": _above(step_ratio, 0.0),
    }
    return from_parts("A2", parts, key, numbers, "Sigmoid in deep nets")


def a3_zero_init(max_weight_grad: float, acc: Estimate, chance: float) -> Verdict:
    """Claim: ReLU with zero weights and biases outputs zeros, every weight gradient is 0,
    and the net cannot learn (accuracy stays at chance)."""
    numbers = {"max_weight_grad": max_weight_grad, "acc": acc.mean, "chance": chance}
    key = (
        f"max weight-gradient norm at init {max_weight_grad:.3g}; accuracy {acc.fmt()} "
        f"(chance {chance:.3f})"
    )
    parts = {
        "every weight gradient is 0": max_weight_grad == 0.0,
        "it cannot learn": _not(_above(acc, chance + 0.05)),
    }
    return from_parts("A3", parts, key, numbers, "ReLU with all-zero init")


def a4_leaky(
    acc_diff: Estimate, per_lr: dict[float, Estimate], dead_relu: float, dead_leaky: float
) -> Verdict:
    """Claim: Leaky ReLU improves on ReLU by avoiding dead units. `acc_diff`: leaky minus
    relu test accuracy, paired by lr, init and seed; `per_lr` the same per learning rate."""
    numbers = {"acc_diff": acc_diff.mean, "dead_relu": dead_relu, "dead_leaky": dead_leaky}
    key = (
        f"Δacc leaky − relu {acc_diff.fmt(signed=True)}; dead units relu {dead_relu:.1%}, "
        f"never-positive leaky {dead_leaky:.1%} (runs both arms finished)"
    )
    better = [lr for lr, e in per_lr.items() if e.compare() == "higher"]
    if acc_diff.compare() == "higher":
        return Verdict("A4", "supported", key, "Leaky ReLU is more accurate overall.", numbers)
    if acc_diff.compare() == "lower":
        return Verdict("A4", "refuted", key, "ReLU is more accurate overall.", numbers)
    if better:
        return Verdict(
            "A4",
            "nuanced",
            key,
            f"Leaky ReLU helps only at lr {', '.join(f'{lr:g}' for lr in better)}.",
            numbers,
        )
    if _equivalent(acc_diff):
        return Verdict(
            "A4",
            "refuted",
            key,
            f"No improvement: the whole interval lies within ±{EQUIVALENCE} of ReLU, and no "
            "learning rate shows one.",
            numbers,
        )
    return Verdict(
        "A4",
        "inconclusive",
        key,
        "No difference beyond noise at any learning rate." + needs(acc_diff),
        numbers,
    )


def a5_relu(
    acc_vs: dict[str, Estimate],
    grad_ratio: dict[str, float],
    zero_frac: float,
    cost: dict[str, float],
) -> Verdict:
    """Open question: why does ReLU work so well? Measured as: ReLU's accuracy in deep nets
    against each saturating activation (`acc_vs`: relu minus other), with its gradient flow
    (first/last gradient ratio), sparsity and cost as the candidate reasons."""
    numbers = {f"acc_vs_{k}": v.mean for k, v in acc_vs.items()}
    numbers.update({f"grad_ratio_{k}": v for k, v in grad_ratio.items()})
    numbers["zero_frac"] = zero_frac
    key = "; ".join(f"relu − {k} {v.fmt(signed=True)}" for k, v in acc_vs.items())
    parts = {f"relu beats {k}": _dir(v) for k, v in acc_vs.items()}
    flow = ", ".join(f"{k} {v:.2g}" for k, v in grad_ratio.items())
    detail = (
        f"Deep nets: gradient first/last layer {flow}; {zero_frac:.0%} of ReLU outputs "
        "are exactly 0 (sparse); fwd+bwd ms " + ", ".join(f"{k} {v:.2f}" for k, v in cost.items())
    )
    return with_needs(from_parts("A5", parts, key, numbers, detail), *acc_vs.values())
