"""Rules of the activations section: A1 linear collapse, A2 sigmoid, A3 zero init,
A4 leaky ReLU, A5 why ReLU works."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from ablate.analysis.power import power_n
from ablate.analysis.rules.common import (
    Verdict,
    _above,
    _dir,
    _not,
    from_parts,
    pow10_fmt,
)
from ablate.analysis.stats import Estimate

AFFINE_R2 = 0.999  # adjusted R^2 of logits ~ affine(input) at which a net counts as affine
SATURATED = 0.05  # a net "saturates" when at least 5% of its sigmoid outputs sit at a bound
# Equivalence margin on speed (log2 of a ratio of steps to the loss threshold): no change
# larger than x1.25 either way.
STEP_MARGIN = math.log2(1.25)
DYING = 0.05  # ReLU units die at a rate where >= 5% of them are never positive at the end


def _all_true(*values: bool | None) -> bool | None:
    """Three-valued AND: False if any is False, True if all are True, else unclear."""
    if any(v is False for v in values):
        return False
    return True if all(v is True for v in values) else None


def _inside(est: Estimate, margin: float) -> bool:
    """The whole CI lies within ±margin (a margin of 0 never holds one)."""
    return margin > 0 and est.n > 1 and -margin <= est.lo and est.hi <= margin


def reading(est: Estimate, margin: float = 0.0) -> str:
    """`higher` / `lower` (the difference is resolved), `none` (its whole CI lies within
    ±margin: no effect larger than the margin) or `unclear`."""
    side = est.compare()
    if side != "overlap":
        return side
    return "none" if _inside(est, margin) else "unclear"


def practical(est: Estimate, margin: float) -> str:
    """`reading`, but a difference whose whole CI lies within ±margin reads `none` even
    where it excludes 0: for a claim that a choice *costs* accuracy, a real effect smaller
    than the margin is no cost worth the name (the margin says how large one must be)."""
    return "none" if _inside(est, margin) else reading(est, margin)


def mixed(readings: Mapping[object, str], want: str | None = None) -> bool:
    """Strata disagree: resolved effects of opposite sign, or (with `want`, the reading the
    claim predicts) the claim resolved true in one stratum and resolved false (the opposite
    effect, or no effect beyond the margin) in another. Unclear strata disagree with
    nothing."""
    resolved = {r for r in readings.values() if r != "unclear"}
    if {"higher", "lower"} <= resolved:
        return True
    return want is not None and want in resolved and len(resolved) > 1


WORDS = {"higher": "higher", "lower": "lower", "none": "no effect", "unclear": "unclear"}


def strata_text(
    estimates: Mapping[object, Estimate],
    margin: float,
    name: str,
    read: Callable[[Estimate, float], str] = reading,
) -> str:
    """'depth 2: no effect (+0.001 [-0.004, +0.006], 6 seeds); depth 5: higher (...)'."""
    return "; ".join(
        f"{name} {k}: {WORDS[read(e, margin)]} ({e.fmt(signed=True)}, {e.n} {e.unit})"
        for k, e in estimates.items()
    )


def per_stratum_parts(
    readings: Mapping[object, str], want: str, claim: str, stratum: str
) -> dict[str, bool | None]:
    """One sub-claim per stratum, `claim` followed by `stratum` formatted with its name:
    true where it reads `want`, unclear where its CI cannot tell, false where it reads
    otherwise. So a claim that holds at depth 5 and not at depth 2 says exactly that, not
    "fails" as a whole. With no stratum measured, the claim is one unclear part."""
    if not readings:
        return {f"{claim} (no stratum measured)": None}
    answer = {want: True, "unclear": None}
    return {f"{claim} {stratum.format(k)}": answer.get(r, False) for k, r in readings.items()}


def _nuanced_if(verdict: Verdict, split: list[str]) -> Verdict:
    """Strata that disagree make the verdict nuanced and are named."""
    if split:
        verdict.verdict = "nuanced"
        verdict.explanation += " Strata disagree: " + "; ".join(split) + "."
    return verdict


def a1_linear_collapse(
    identity_r2: float,
    nonlinear_r2: float,
    depth_gain: Estimate,
    vs_linear: Estimate,
    per_depth: Mapping[object, Estimate] | None = None,
) -> Verdict:
    """Claim: without a nonlinearity any depth collapses to one linear map. Tested on what
    the trained nets compute, not on test accuracy: the deep identity-activation net's logits
    are an affine function of its input (`identity_r2`, its lowest adjusted R^2 of logits ~
    affine(input), >= AFFINE_R2), the nonlinear nets' are not (`nonlinear_r2`, their highest),
    and the nonlinearity is what buys capacity: at the same depths, the nonlinear net fits the
    training split better than the identity net (`depth_gain`: the seeds are the units, the
    depths of one seed averaged inside it; `per_depth`: the same per depth). `vs_linear`
    (identity minus the one-layer linear classifier's training fit, per seed) is context:
    both are affine maps, so a difference is optimisation, not capacity; it is named."""
    per_depth = dict(per_depth or {})
    numbers = {
        "identity_r2": identity_r2,
        "nonlinear_r2": nonlinear_r2,
        "nonlinear_minus_identity_fit": depth_gain.mean,
        "identity_minus_linear_fit": vs_linear.mean,
    }
    key = (
        f"logits ~ affine(input) R² identity ≥ {identity_r2:.4f}, nonlinear ≤ "
        f"{nonlinear_r2:.4f}; training accuracy nonlinear − identity "
        f"{depth_gain.fmt(signed=True)} ({depth_gain.n} {depth_gain.unit})"
    )
    readings = {d: reading(e) for d, e in per_depth.items()}
    gain = False if mixed(readings) else _dir(depth_gain)
    parts = {
        f"the deep identity net is affine (R² ≥ {AFFINE_R2})": None
        if math.isnan(identity_r2)
        else identity_r2 >= AFFINE_R2,
        "nonlinear nets are not affine": None
        if math.isnan(nonlinear_r2)
        else nonlinear_r2 < AFFINE_R2,
        "a nonlinearity fits the training split better at the same depth": gain,
    }
    verdict = from_parts("A1", parts, key, numbers, "Deep linear nets vs nonlinear ones")
    if per_depth:
        verdict.explanation += " Per depth: " + strata_text(per_depth, 0.0, "depth") + "."
    _nuanced_if(verdict, ["the depths above differ in sign"] if mixed(readings) else [])
    if vs_linear.compare() == "higher":
        verdict.explanation += (
            f" The deep identity net fits the training split better than the one-layer linear"
            f" classifier ({vs_linear.fmt(signed=True)}, {vs_linear.n} {vs_linear.unit})"
            " though both are affine: the deep factorisation trains faster in the same budget"
            " (Arora et al. 2018), not a larger function class."
        )
    elif vs_linear.compare() == "lower":
        verdict.explanation += (
            f" The deep identity net fits the training split worse than the linear classifier"
            f" ({vs_linear.fmt(signed=True)}, {vs_linear.n} {vs_linear.unit}): an"
            " optimisation shortfall of the deep net."
        )
    return verdict


def a2_sigmoid(
    shrink: Estimate,
    shrink_vs_relu: Estimate,
    sat_frac: float,
    centering: Mapping[object, Estimate],
    margin: float,
    op_ratio: Estimate,
    trained: Mapping[object, str] | None = None,
) -> Verdict:
    """Claim: sigmoid saturates so gradients shrink layer by layer, its outputs are not
    zero-centred, and exp() makes it costly. Each part is measured, not defined:
    `shrink`: log10 of the per-layer factor of the weight-gradient norm toward the input at
    init in the deepest sigmoid nets (below 0: it shrinks), `shrink_vs_relu` its difference
    from relu's; `sat_frac`: the share of outputs within 2% of a bound at the end of training
    in sigmoid nets that learned, the smallest over depths (one that never trained still
    shows its init);
    `centering`: per depth (the strata), accuracy of sigma - 1/2 (same slope, zero mean)
    minus sigmoid's with the seeds as units, `margin` its equivalence margin and `trained`
    per depth the runs that trained per arm, in words; `op_ratio`: log10 of sigmoid's time
    over relu's for one op, timed side by side in one process. Only its side of 1 decides
    ("costlier": the CI lies above 1): a magnitude timed on one machine does not carry to
    another, so none is claimed."""
    trained = dict(trained or {})
    readings = {d: practical(e, margin) for d, e in centering.items()}
    split = mixed(readings, "higher")
    numbers = {
        "shrink_per_layer": 10**shrink.mean,
        "sat_frac": sat_frac,
        "op_ratio": 10**op_ratio.mean,
        **{f"centering_gain_depth_{d}": e.mean for d, e in centering.items()},
    }
    cost = _above(op_ratio, 0.0)
    cost_words = {True: "above", False: "below", None: "spans"}[cost]
    key = (
        f"gradient ×{pow10_fmt(shrink)} per layer toward the input; "
        f"≥ {sat_frac:.1%} saturated once trained (every depth); centred − sigmoid by depth: "
        + ", ".join(f"{d}: {e.fmt(signed=True)}" for d, e in centering.items())
        + f"; sigmoid/relu op time side by side: CI {cost_words} 1"
    )
    parts = {
        "gradients shrink layer by layer": _all_true(
            _not(_above(shrink, 0.0)), _not(_above(shrink_vs_relu, 0.0))
        ),
        "it saturates": None if math.isnan(sat_frac) else sat_frac >= SATURATED,
        **per_stratum_parts(readings, "higher", "its non-zero mean costs accuracy", "at depth {}"),
        "it is costlier than relu (side by side, CI above 1)": cost,
    }
    verdict = from_parts("A2", parts, key, numbers, "Sigmoid in deep nets")

    def named(d: object) -> str:
        e = centering[d]
        runs = f", trained {trained[d]}" if d in trained else ""
        return f"depth {d}: {WORDS[readings[d]]} ({e.fmt(signed=True)}, {e.n} {e.unit}{runs})"

    if centering:
        verdict.explanation += (
            f" Centred − sigmoid per depth (equivalence ±{margin:.3f}): "
            + "; ".join(map(named, centering))
            + "."
        )
    else:
        verdict.explanation += " No depth has a sigmoid and a σ − ½ run that trained."
    return _nuanced_if(
        verdict,
        ["the non-zero mean costs accuracy at some depths and not at others"] if split else [],
    )


def a3_zero_init(max_weight_grad: float, acc: Estimate, chance: float) -> Verdict:
    """Claim: ReLU with zero weights and biases outputs zeros, every weight gradient is 0,
    and the net cannot learn (accuracy stays at `chance`: the majority-class share)."""
    numbers = {"max_weight_grad": max_weight_grad, "acc": acc.mean, "chance": chance}
    key = (
        f"max weight-gradient norm at init {max_weight_grad:.3g}; accuracy {acc.fmt()} "
        f"(majority-class share {chance:.3f})"
    )
    parts = {
        "every weight gradient is 0": max_weight_grad == 0.0,
        "it cannot learn": _not(_above(acc, chance + 0.05)),
    }
    return from_parts("A3", parts, key, numbers, "ReLU with all-zero init")


def dying_rates(dead_relu: Mapping[float, float]) -> list[float]:
    """The rates at which ReLU units die: a share >= DYING never positive at the end."""
    return sorted(lr for lr, dead in dead_relu.items() if dead >= DYING)


def a4_leaky(
    trains: Estimate,
    pooled: Estimate,
    per_lr: Mapping[float, Estimate],
    margin: float,
    dead_relu: Mapping[float, float],
    runs: Mapping[str, str] | None = None,
) -> Verdict:
    """Claim: Leaky ReLU improves on ReLU by avoiding dead units. Tested where units die
    (`dying_rates` of `dead_relu`, ReLU's dead share per rate), trainability first:
    `trains`, leaky minus relu share of runs that trained over the (rate, seed) pairs of the
    dying rates (a diverged leaky run and a ReLU run whose units all died both fail to
    train; neither is scored as an accuracy). Then accuracy where both arms trained:
    `per_lr` per rate with the seeds as units (each rate a stratum), `pooled` over the dying
    rates' (rate, seed) pairs. So a net that fails cannot pull a pair by 0.8 and hide what
    the trained nets show. `margin`: the equivalence margin (`margin` of ReLU's control).
    `runs`: per arm, trained and diverged runs in words. Strata that disagree make the
    accuracy reading mixed; only where no rate decides does the pooled estimate. A resolved
    trainability difference and an accuracy reading that point opposite ways are nuanced."""
    dying = dying_rates(dead_relu)
    worst = max(dead_relu.values(), default=float("nan"))
    numbers = {
        "acc_diff": pooled.mean,
        "trained_diff": trains.mean,
        "dead_relu_max": worst,
        "margin": margin,
    }
    counts = "; ".join(f"{arm} {text}" for arm, text in (runs or {}).items())
    rates = ", ".join(f"{lr:g}" for lr in dying) or "—"
    key = (
        f"trained share leaky − relu {trains.fmt(signed=True)} ({trains.n} {trains.unit} at lr "
        f"{rates}); Δacc where both trained {pooled.fmt(signed=True)} ({pooled.n} "
        f"{pooled.unit}); ReLU dead units up to {worst:.0%}" + (f"; {counts}" if counts else "")
    )
    if not dying:
        return Verdict(
            "A4",
            "inconclusive",
            key,
            f"ReLU units barely die at any rate tried (at most {worst:.1%} never positive; the "
            f"claim needs {DYING:.0%}): the regime the claim is about was not produced.",
            numbers,
        )
    readings = {lr: reading(per_lr[lr], margin) for lr in dying if lr in per_lr}
    strata = strata_text({lr: per_lr[lr] for lr in readings}, margin, "lr") or "no rate"
    resolved = {r for r in readings.values() if r != "unclear"}
    pooled_side = reading(pooled, margin)
    # A rate resolved to no effect beside a pooled gain: the gain lives in other rates.
    if mixed(readings, "higher") or (resolved == {"none"} and pooled_side == "higher"):
        acc = "mixed"
    elif resolved:
        acc = "higher" if "higher" in resolved else "lower" if "lower" in resolved else "none"
    else:
        acc = pooled_side
    acc_words = {
        "mixed": f"where both train, the rates disagree ({strata}; pooled "
        f"{pooled.fmt(signed=True)}, {pooled.n} {pooled.unit})",
        "higher": f"where both train, Leaky ReLU is more accurate ({strata})",
        "lower": f"where both train, Leaky ReLU is less accurate ({strata})",
        "none": f"where both train, no accuracy difference beyond ±{margin:.3f} ({strata})",
        "unclear": f"where both train, the accuracy difference is unresolved ({strata})",
    }[acc]
    train_side = trains.compare()
    share = f"(share of runs that trained, leaky − relu: {trains.fmt(signed=True)})"
    train_words = {
        "higher": f"Leaky ReLU trains more often {share}",
        "lower": f"Leaky ReLU trains less often {share}",
        "overlap": f"neither arm trains more often {share}",
    }[train_side]
    says = f"Where ReLU units die (lr {rates}): {train_words}; {acc_words}."
    opposed = {train_side, acc} == {"higher", "lower"}  # trains more often, less accurate
    if acc == "mixed" or opposed:
        verdict = "nuanced"
    elif train_side == "higher" or acc == "higher":
        verdict = "supported"
    elif train_side == "lower" or acc in ("lower", "none"):
        verdict = "refuted"
    else:
        verdict = "inconclusive"
        says += _toward(pooled, margin)
    return Verdict("A4", verdict, key, says, numbers)


def _toward(est: Estimate, effect: float) -> str:
    """How many units would find the effect the claim predicts (`effect`, not the observed
    mean) at the observed spread, with 80% power."""
    n = power_n(est, effect=effect)
    if n is None:
        return ""
    return (
        f" Finding a gain of {effect:+.3f} (the claim's direction, the margin's size) at this "
        f"spread would take ~{n} {est.unit} (80% power)."
    )


def ratio_fmt(est: Estimate) -> str:
    """A log2-scale estimate as a factor with its CI."""
    if est.n == 0:
        return "n/a"
    if not (math.isfinite(est.lo) and math.isfinite(est.hi)):
        return f"×{2**est.mean:.3g}"
    return f"×{2**est.mean:.3g} [{2**est.lo:.3g}, {2**est.hi:.3g}]"


PROPERTY_WORDS = {  # property -> what a lower step count of the arms that have it means
    "saturating": "a saturating slope",
    "sparse": "exact zeros (sparsity)",
    "smooth": "a smooth slope",
}


def property_text(prop: str, strata: Mapping[str, Estimate]) -> str:
    """'exact zeros (sparsity): no effect larger than ×1.25 among not saturating, not smooth
    activations (×1.02 [0.95, 1.09], 6 seeds)'. A resolved effect whose whole interval lies
    within the margin says so: it is real and small."""
    effect = {
        "higher": "slows training",
        "lower": "speeds training",
        "none": f"no effect larger than ×{2**STEP_MARGIN:.3g}",
        "unclear": "unclear",
    }

    def said(e: Estimate) -> str:
        side = reading(e, STEP_MARGIN)
        small = side in ("higher", "lower") and e.lo >= -STEP_MARGIN and e.hi <= STEP_MARGIN
        return effect[side] + (f", by less than ×{2**STEP_MARGIN:.3g}" if small else "")

    return f"{PROPERTY_WORDS.get(prop, prop)}: " + "; ".join(
        f"{said(e)} among {k} activations ({ratio_fmt(e)}, {e.n} {e.unit})"
        for k, e in strata.items()
    )


def a5_relu(
    cells: Estimate,
    cells_by: Mapping[object, Estimate],
    wins: tuple[int, int],
    speed_vs_tanh: Estimate,
    props: Mapping[str, Mapping[str, Estimate]],
    cells_trains: Estimate | None = None,
) -> Verdict:
    """Open question: why does ReLU work so well? Tested as the common answer states it
    (Krizhevsky et al. 2012; Glorot et al. 2011): ReLU trains better than the saturating
    tanh, and its non-saturating slope is what does it. `cells`: relu minus tanh test
    accuracy over the main grid's conv cells (the units; `cells_by` per stratum, `wins`
    cells where relu is ahead, of all); `speed_vs_tanh`: log2 of tanh's steps to the
    training-loss threshold over relu's in a deep MLP, the seeds as units (above 0: relu is
    faster); `props[p][stratum]`: log2 of the steps of the activations that have property
    p over those that lack it, in a stratum where they agree on the other properties
    (above 0: p slows training). Sparsity and smoothness are named as what else matters.
    `cells_trains`: relu minus tanh share of seeds that trained per cell, decided first: an
    arm that trains in fewer cells is not the better one, whatever its accuracy where both
    train."""
    sat = {k: reading(e, STEP_MARGIN) for k, e in props.get("saturating", {}).items()}
    by_cell = {k: reading(e) for k, e in cells_by.items()}
    numbers = {
        "acc_relu_minus_tanh_cells": cells.mean,
        "log2_steps_tanh_over_relu": speed_vs_tanh.mean,
        **{f"log2_steps_saturating_{k}": e.mean for k, e in props.get("saturating", {}).items()},
    }
    key = (
        f"relu − tanh accuracy {cells.fmt(signed=True)} over {cells.n} {cells.unit} "
        f"(relu ahead in {wins[0]} of {wins[1]}); steps to the loss threshold tanh / relu "
        f"{ratio_fmt(speed_vs_tanh)} ({speed_vs_tanh.n} {speed_vs_tanh.unit})"
    )
    trains = cells_trains.compare() if cells_trains is not None else "overlap"
    if cells_trains is not None and cells_trains.n:
        key = (
            f"relu − tanh share of seeds that trained per cell {cells_trains.fmt(signed=True)}; "
            + key
        )
        key = key.replace("relu − tanh accuracy", "where both trained, relu − tanh accuracy", 1)
    parts = {
        "relu is more accurate than tanh where both train in the main grid's conv cells": False
        if mixed(by_cell, "higher")
        else _dir(cells),
        **(
            {
                "relu trains in as many of those cells as tanh": (
                    False if trains == "lower" else True if cells_trains.lo >= 0 else None
                )
            }
            if cells_trains is not None and cells_trains.n
            else {}
        ),
        "relu reaches the training-loss threshold in fewer steps than tanh": _dir(speed_vs_tanh),
        **per_stratum_parts(
            sat, "higher", "a saturating slope slows training", "among {} activations"
        ),
    }
    verdict = from_parts("A5", parts, key, numbers, "ReLU against tanh, and saturation apart")
    found = [property_text(p, s) for p, s in props.items() if s]
    if found:
        verdict.explanation += " What each property does: " + " | ".join(found) + "."
    split = []
    if mixed(by_cell, "higher"):
        split.append(
            "relu − tanh by cell group: "
            + "; ".join(
                f"{k}: {WORDS[r]} ({cells_by[k].fmt(signed=True)})" for k, r in by_cell.items()
            )
        )
    if mixed(sat, "higher"):
        split.append(property_text("saturating", props["saturating"]))
    return _nuanced_if(verdict, split)
