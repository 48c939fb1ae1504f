"""Verdict rules: explicit functions from measured estimates to a verdict.

Each rule states the claim it tests and returns `supported`, `refuted`, `nuanced` (true only
under conditions it names) or `inconclusive` (a deciding interval spans zero). Rules take
estimates, not tables, so unit tests can reach every outcome with synthetic numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ablate.analysis.stats import Estimate, power_n

VERDICTS = ("supported", "refuted", "nuanced", "inconclusive")
NOT_RUN = "not run"


@dataclass
class Verdict:
    qid: str
    verdict: str
    key_number: str  # the one-line evidence of the summary table
    explanation: str
    numbers: dict[str, float] = field(default_factory=dict)  # every number the text quotes


class MissingEvidence(LookupError):
    """The runs lack a level or study that a rule needs; the ID is reported as not run."""


def not_run(qid: str, reason: str) -> Verdict:
    return Verdict(qid, NOT_RUN, "—", reason)


def needs(est: Estimate) -> str:
    """For an undecided comparison: how many independent units it would need to decide."""
    n = power_n(est)
    if n is None:
        return ""
    return (
        f" Inconclusive at n = {est.n} {est.unit}: at the observed mean and spread it would "
        f"need ~{n} (80% power, normal approximation)."
    )


def with_needs(verdict: Verdict, *deciding: Estimate) -> Verdict:
    """An inconclusive verdict names the units its first undecided comparison would need."""
    undecided = [e for e in deciding if e.n and e.compare() == "overlap"]
    if verdict.verdict == "inconclusive" and undecided:
        verdict.explanation += needs(undecided[0])
    return verdict


def c3_strided_vs_pool(
    acc_diff: Estimate,
    per_arch: dict[str, Estimate],
    flops_ratio: float,
    params_ratio: float,
    variant: str = "strided conv",
) -> Verdict:
    """Claim: strided conv keeps information pooling drops (accuracy at least as high), but
    costs more parameters and compute. `acc_diff` is strided minus pooled test accuracy,
    paired by cell and seed; the ratios are strided over pooled; `variant` names the way
    the pool was replaced (the claim is about the All-CNN extra stride-2 conv layer)."""
    direction = acc_diff.compare()
    per = {arch: est.compare() for arch, est in per_arch.items()}
    costs_more = flops_ratio > 1 or params_ratio > 1
    numbers = {
        "acc_diff": acc_diff.mean,
        "acc_diff_lo": acc_diff.lo,
        "acc_diff_hi": acc_diff.hi,
        "flops_ratio": flops_ratio,
        "params_ratio": params_ratio,
    }
    key = f"Δacc {acc_diff.fmt(signed=True)}; FLOPs ×{flops_ratio:.2f}; params ×{params_ratio:.2f}"
    cost = f"{variant} costs ×{flops_ratio:.2f} the FLOPs and ×{params_ratio:.2f} the parameters"
    better = [a for a, d in per.items() if d == "higher"]
    worse = [a for a, d in per.items() if d == "lower"]
    if (better and worse) or (direction == "overlap" and (better or worse)):
        split = " but ".join(
            part
            for part in (
                f"wins in {', '.join(better)}" if better else "",
                f"loses in {', '.join(worse)}" if worse else "",
            )
            if part
        )
        return Verdict(
            "C3",
            "nuanced",
            key,
            f"{variant.capitalize()} {split} (per family, Holm-adjusted, among pairs where "
            f"both arms learned), while the pooled difference "
            f"{'spans 0' if direction == 'overlap' else 'does not'}; {cost}.",
            numbers,
        )
    if direction == "overlap":
        return Verdict(
            "C3",
            "inconclusive",
            key,
            f"The accuracy difference's 95% CI spans 0; {cost}." + needs(acc_diff),
            numbers,
        )
    if direction == "lower" and costs_more:
        return Verdict(
            "C3",
            "nuanced",
            key,
            f"The cost half holds ({cost}), the accuracy half does not: pooling is more "
            "accurate here.",
            numbers,
        )
    if direction == "lower":
        return Verdict("C3", "refuted", key, f"Pooling is more accurate here; {cost}.", numbers)
    if costs_more:
        return Verdict(
            "C3",
            "supported",
            key,
            f"{variant.capitalize()} is more accurate, and {cost}: the trade-off as claimed.",
            numbers,
        )
    return Verdict(
        "C3",
        "nuanced",
        key,
        f"{variant.capitalize()} is more accurate without the claimed cost: {cost} "
        "(folding the stride into a conv makes it run on a quarter of the "
        "positions).",
        numbers,
    )


def c4_depth(
    diffs: dict[str, Estimate],
    limits: dict[str, int | None],
    baseline: str = "plain",
    skip: str = "resnet",
    noskip: str = "resnet_noskip",
) -> Verdict:
    """Claim, decided on depth as the notes' contrast is about it: ResNet's shortcuts keep a
    deep stack training where the same blocks without shortcuts (`noskip`) stop; and, in
    the grid, the newer families beat the plain stack. `limits`: per family, the first
    depth at which it no longer trains (None: it trains at every depth tried)."""
    parts: dict[str, bool | None] = {}
    numbers = {f"diff_{a}": d.mean for a, d in diffs.items()}
    key = "; ".join(f"{a} − {baseline} {d.fmt(signed=True)}" for a, d in sorted(diffs.items()))
    if skip in limits and noskip in limits:
        n, r = limits[noskip], limits[skip]
        numbers.update(
            {f"depth_limit_{a}": float("nan") if d is None else d for a, d in limits.items()}
        )
        stops = ", ".join(f"{a} {'never' if d is None else d}" for a, d in sorted(limits.items()))
        key = f"{key}; stops training at depth: {stops}" if key else f"stops at depth: {stops}"
        parts["the shortcut keeps training where the plain blocks stop"] = (
            None if n is None and r is None else n is not None and (r is None or r > n)
        )
    families = sorted(diffs)
    if diffs:
        better = all(d.compare() == "higher" for d in diffs.values())
        worse = any(d.compare() == "lower" for d in diffs.values())
        parts[
            f"{' and '.join(families)} beat{'s' if len(families) == 1 else ''} the plain "
            "stack in the grid"
        ] = True if better else False if worse else None
    if not parts:
        raise MissingEvidence("C4 needs a family comparison or a depth sweep")
    verdict = from_parts(
        "C4", parts, key, numbers, f"Classic stack vs {', '.join(families) or skip}"
    )
    if limits.get(noskip, 0) is None and limits.get(skip, 0) is None:
        verdict.explanation += (
            " Neither family stopped training at the depths tried, so the depth contrast the"
            " shortcut is for was not reached; deeper stacks would decide it."
        )
    return verdict


def from_parts(
    qid: str, parts: dict[str, bool | None], key: str, numbers: dict[str, float], detail: str
) -> Verdict:
    """A claim made of sub-claims, each measured true, false, or unclear (None: its CI spans
    the threshold). All true: supported; all false: refuted; some unclear and none false:
    inconclusive; a mix of true and false: nuanced, naming which part fails."""
    held = [name for name, ok in parts.items() if ok is True]
    failed = [name for name, ok in parts.items() if ok is False]
    unclear = [name for name, ok in parts.items() if ok is None]
    if held and not failed and not unclear:
        verdict = "supported"
    elif failed and not held and not unclear:
        verdict = "refuted"
    elif not failed:
        verdict = "inconclusive"
    else:
        verdict = "nuanced"
    tags = [
        f"holds: {', '.join(held)}" if held else "",
        f"fails: {', '.join(failed)}" if failed else "",
        f"unclear (CI spans the threshold): {', '.join(unclear)}" if unclear else "",
    ]
    return Verdict(qid, verdict, key, f"{detail} ({'; '.join(t for t in tags if t)}).", numbers)


def _dir(est: Estimate) -> bool | None:
    """True if the difference is clearly positive, False if clearly negative, None if not."""
    return {"higher": True, "lower": False, "overlap": None}[est.compare()]


def _above(est: Estimate, bar: float) -> bool | None:
    """True if the CI lies above `bar`, False if below, None if it spans it or there is no
    CI (one value)."""
    return True if est.lo > bar else False if est.hi < bar else None


def _not(value: bool | None) -> bool | None:
    return None if value is None else not value


def _all_true(*values: bool | None) -> bool | None:
    """Three-valued AND: False if any is False, True if all are True, else unclear."""
    if any(v is False for v in values):
        return False
    return True if all(v is True for v in values) else None


EQUIVALENCE = 0.01  # an accuracy difference whose whole CI lies within ±1 point is "no loss"


def _equivalent(est: Estimate) -> bool:
    """Its whole CI lies within ±EQUIVALENCE: no difference worth a point of accuracy."""
    return est.n > 1 and est.lo >= -EQUIVALENCE and est.hi <= EQUIVALENCE


MATCH_TOLERANCE = 0.10  # "matched FLOPs": within ±10% of the control's FLOPs per image


def c1_bottleneck(
    mixing: Estimate,
    matched_cost: Estimate,
    flops_ratio: float,
    params_ratio: float,
    matched_flops_ratio: float,
) -> Verdict:
    """Claim: a pointwise (1x1) convolution reduces dimensionality (so FLOPs and parameters
    fall at equal width) and mixes information across channels (so it beats a non-mixing
    reduction to the same width), at no accuracy cost once compute is equal.

    `mixing`: pointwise minus channel-subsampling test accuracy at equal width;
    `matched_cost`: the pointwise net widened to the control's FLOPs minus the control (no
    reduction); both paired over seeds, p-values Holm-adjusted as one family. The ratios
    are pointwise over control at equal width, and the widened net's FLOPs over the
    control's. "No cost" needs evidence: higher, or a CI within ±EQUIVALENCE; FLOPs off by
    more than MATCH_TOLERANCE leave it undecided, as the comparison is then not matched."""
    numbers = {
        "mixing": mixing.mean,
        "matched_cost": matched_cost.mean,
        "flops_ratio": flops_ratio,
        "params_ratio": params_ratio,
        "matched_flops_ratio": matched_flops_ratio,
    }
    key = (
        f"FLOPs ×{flops_ratio:.2f}, params ×{params_ratio:.2f}; mixing Δacc "
        f"{mixing.fmt(signed=True)}; at FLOPs ×{matched_flops_ratio:.2f} Δacc "
        f"{matched_cost.fmt(signed=True)}"
    )
    matched = abs(matched_flops_ratio - 1) <= MATCH_TOLERANCE
    equivalent = _equivalent(matched_cost)
    no_cost = None  # unmatched FLOPs, or a CI too wide to tell
    if matched and (equivalent or matched_cost.compare() == "higher"):
        no_cost = True
    elif matched and matched_cost.compare() == "lower":
        no_cost = False
    parts = {
        "it cuts FLOPs and parameters at equal width": bool(flops_ratio < 1 and params_ratio < 1),
        "mixing beats a non-mixing reduction of the same width": _beats(mixing),
        f"no accuracy cost at matched FLOPs (CI above 0 or within ±{EQUIVALENCE})": no_cost,
    }
    verdict = from_parts(
        "C1", parts, key, numbers, "Pointwise reduction against control and subsampling"
    )
    undecided = [e for e in (mixing, matched_cost) if e.compare() == "overlap"]
    if verdict.verdict == "inconclusive" and undecided:
        verdict.explanation += needs(undecided[0])
    return verdict


def _sig(est: Estimate) -> str:
    """An estimate in three significant figures, for quantities with no natural scale."""
    text = f"{est.mean:+.3g} [{est.lo:+.3g}, {est.hi:+.3g}]"
    return text + (f", p={est.p:.3g}" if math.isfinite(est.p) else "")


def _beats(est: Estimate) -> bool | None:
    """True if clearly positive; False if clearly negative or its whole CI lies within
    ±EQUIVALENCE (no difference worth a point of accuracy); None otherwise."""
    if est.compare() == "higher":
        return True
    if est.compare() == "lower" or _equivalent(est):
        return False
    return None


def _shows(ests: dict[str, Estimate]) -> bool | None:
    """True if some estimate is clearly positive, False if every CI lies within
    ±EQUIVALENCE (no effect), None otherwise (or with no estimate)."""
    if any(e.compare() == "higher" for e in ests.values()):
        return True
    if ests and all(e.lo > -EQUIVALENCE and e.hi < EQUIVALENCE for e in ests.values()):
        return False
    return None


def c2_stride_fit(
    unread: dict[str, Estimate],
    remainder: dict[str, Estimate],
    ink_share: float,
    flops_ratio: float,
) -> Verdict:
    """Claim: a kernel/stride that does not divide the map evenly makes information
    asymmetric; open: does it cost more compute? Decided on padding pairs (kernel and stride
    fixed): per shift, the paired difference over seeds of the shift asymmetry (accuracy on
    digits moved away from the bottom-right edge minus toward it), `unread`: stem leaving
    pixels unread minus its partner reading all; `remainder`: a stem with a remainder minus
    its partner that tiles, both reading every pixel. p-values Holm-adjusted by the caller.
    `ink_share`: share of the training ink in the unread pixels; `flops_ratio`: unread stems
    over their partners."""
    numbers = {
        "ink_share": ink_share,
        "flops_ratio": flops_ratio,
        **{f"unread_asym_{k}": e.mean for k, e in unread.items()},
        **{f"remainder_asym_{k}": e.mean for k, e in remainder.items()},
    }
    key = "; ".join(
        [
            *(
                f"unread − reads-all asymmetry at {k}: {e.fmt(signed=True)}"
                for k, e in unread.items()
            ),
            *(f"remainder − tiles at {k}: {e.fmt(signed=True)}" for k, e in remainder.items()),
            f"ink unread {ink_share:.2%}",
            f"FLOPs ×{flops_ratio:.2f}",
        ]
    )
    parts = {"unread pixels make accuracy asymmetric under shifts": _shows(unread)}
    if remainder:
        parts["a remainder alone, with every pixel read, makes it asymmetric too"] = _shows(
            remainder
        )
    compute = "costs less compute, not more" if flops_ratio < 1 else "costs more compute"
    verdict = from_parts(
        "C2",
        parts,
        key,
        numbers,
        f"Leaving border pixels unread {compute}; the unread pixels hold {ink_share:.2%} of the "
        "training ink",
    )
    if _shows(unread) is None:  # the deciding comparison is undecided, whatever the rest
        verdict.verdict = "inconclusive"
    return verdict


def depth_limit(acc: dict[tuple[str, int], Estimate], chance: float) -> dict[str, int | None]:
    """Per family, the smallest depth whose accuracy CI lies below chance + 0.1 (None: all
    depths train)."""
    out: dict[str, int | None] = {}
    for (arch, depth), est in sorted(acc.items()):
        out.setdefault(arch, None)
        if out[arch] is None and est.hi < chance + 0.1:
            out[arch] = depth
    return out


AFFINE_R2 = 0.999  # adjusted R^2 of logits ~ affine(input) at which a net counts as affine


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


SATURATED = 0.05  # a net "saturates" when at least 5% of its sigmoid outputs sit at a bound


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


def pow10_fmt(est: Estimate) -> str:
    """A log10-scale estimate as a factor with its CI."""
    if not (math.isfinite(est.lo) and math.isfinite(est.hi)):
        return f"{10**est.mean:.3g}" if math.isfinite(est.mean) else "—"
    return f"{10**est.mean:#.3g} [{10**est.lo:#.3g}, {10**est.hi:#.3g}]"


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


def d1_centering(
    sign_diff: Estimate, acc_diff: Estimate, speed_diff: Estimate | None = None
) -> Verdict:
    """Open question: why zero-centred inputs? Tested guesses: all-positive inputs make a
    unit's weight-gradient row share one sign (`sign_diff`: raw minus centred single-sign
    fraction), centred data trains better (`acc_diff`: centred minus raw accuracy) and
    faster (`speed_diff`: raw minus centred steps to a training-loss threshold)."""
    numbers = {"sign_diff": sign_diff.mean, "acc_diff": acc_diff.mean}
    key = (
        f"single-sign rows raw − centred {sign_diff.fmt(signed=True)}; Δacc centred − raw "
        f"{acc_diff.fmt(signed=True)}"
    )
    parts = {
        "raw inputs give one-sign gradient rows more often": _dir(sign_diff),
        "centred inputs train better": _dir(acc_diff),
    }
    if speed_diff is not None:
        numbers["speed_diff"] = speed_diff.mean
        key += f"; steps to threshold raw − centred {speed_diff.fmt(signed=True, digits=0)}"
        parts["centred inputs train faster"] = _dir(speed_diff)
    return from_parts("D1", parts, key, numbers, "Zero-centred inputs")


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


def _position_side(success: Estimate, acc: Estimate) -> str | None:
    """Which BN position one stratum favours: `pre` or `post` when every decided measure
    points that way, `mixed` when they disagree, None when neither decides."""
    sides = {success.compare(), acc.compare()} - {"overlap"}
    if not sides:
        return None
    return {"higher": "pre", "lower": "post"}[sides.pop()] if len(sides) == 1 else "mixed"


def b1_position(strata: dict[tuple[str, str], tuple[Estimate, Estimate]]) -> Verdict:
    """Claim: BN belongs before the activation (FC -> BN -> act). Per (family, init)
    stratum, two measures, BN-before minus BN-after: the share of the rate sweep at which
    the net trains (paired by rate and seed), and test accuracy given it trains, each
    position at its own best-validated rate. A stratum favours a position when a measure
    decides (Holm-adjusted by the caller) and none points the other way. Supported or
    refuted only when every stratum favours the same position and the strata span at
    least two families; nuanced when strata favour different positions; else
    inconclusive."""
    sides = {key: _position_side(*pair) for key, pair in strata.items()}
    numbers: dict[str, float] = {}
    for (family, init), (success, acc) in strata.items():
        numbers[f"{family}/{init}_success_pre_minus_post"] = success.mean
        numbers[f"{family}/{init}_acc_pre_minus_post"] = acc.mean
    key = "; ".join(
        f"{family}/{init}: trains {success.mean:+.0%}, acc {acc.mean:+.3f}"
        for (family, init), (success, acc) in strata.items()
    )
    key = f"before − after: {key}" if key else "no stratum with both positions"

    def named(side: str | None) -> str:
        return ", ".join(f"{f}/{i}" for (f, i), s in sides.items() if s == side)

    families = {family for family, _ in strata}
    decided = {s for s in sides.values() if s is not None}
    if "mixed" in decided or decided == {"pre", "post"}:
        parts = [f"before wins in {named('pre')}" if named("pre") else ""]
        parts += [f"after wins in {named('post')}" if named("post") else ""]
        parts += [f"the measures disagree in {named('mixed')}" if named("mixed") else ""]
        text = "The better position depends on the setting: " + "; ".join(p for p in parts if p)
        return Verdict("B1", "nuanced", key, text + ".", numbers)
    if len(decided) == 1 and None not in sides.values() and len(families) >= 2:
        side = decided.pop()
        verdict, where = ("supported", "before") if side == "pre" else ("refuted", "after")
        text = (
            f"BN {where} the activation trains at more rates or to higher accuracy in every "
            f"family and init ({', '.join(sorted(families))}), and never the other way."
        )
        return Verdict("B1", verdict, key, text, numbers)
    text = "No position wins across every family and init"
    if decided:
        side = next(iter(decided))
        text += f": {'before' if side == 'pre' else 'after'} wins in {named(side)}"
        text += f", while the intervals overlap in {named(None)}" if named(None) else ""
    if len(families) < 2:
        text += f" (one family measured: {', '.join(sorted(families)) or 'none'})"
    return Verdict("B1", "inconclusive", key, text + ".", numbers)


def b2_why_bn(top_bn: float | None, top_none: float | None, beta_diff: Estimate) -> Verdict:
    """Open question: BN makes training easier; why? Measured: the highest swept learning
    rate that still trains, with and without BN (their ratio is how much BN widens the
    range), and the change of the gradient along the gradient direction between runs that
    both train (`beta_diff`: BN minus none, lower is smoother; Santurkar et al. 2018)."""

    def rate(value: float | None) -> str:
        return "none" if value is None else f"{value:g}"

    ratio = top_bn / top_none if top_bn and top_none else float("nan")
    numbers = {
        "top_lr_bn": float("nan") if top_bn is None else top_bn,
        "top_lr_none": float("nan") if top_none is None else top_none,
        "top_lr_ratio": ratio,
        "beta_diff": beta_diff.mean,
    }
    times = f" (×{ratio:g})" if ratio == ratio else ""
    key = (
        f"highest rate that trains: BN {rate(top_bn)}, none {rate(top_none)}{times}; "
        f"β-smoothness BN − none {_sig(beta_diff)}"
    )
    smoother = _dir(beta_diff)
    wider = None if top_bn is None and top_none is None else (top_bn or 0) > (top_none or 0)
    parts = {
        "BN trains at higher learning rates": wider,
        "BN makes the landscape smoother": None if smoother is None else not smoother,
    }
    return with_needs(from_parts("B2", parts, key, numbers, "What BN changes"), beta_diff)


def t1_overfit(steps: dict[str, int | None], threshold: float) -> Verdict:
    """Claim: with regularisation off, a correct net drives the loss on a tiny subset to
    about 0. `steps`: per family, the first step with loss below `threshold` (None: never)."""
    numbers = {f"steps_{k}": float(v) if v is not None else float("nan") for k, v in steps.items()}
    key = "; ".join(f"{k} {v if v is not None else 'never'}" for k, v in steps.items())
    parts = {f"{k} reaches loss < {threshold:g}": v is not None for k, v in steps.items()}
    return from_parts("T1", parts, key, numbers, "Overfitting a tiny subset")


def t4_cv(
    cv_choice: float,
    test_choice: float,
    on_edge: bool,
    regret: Estimate,
    optimism: Estimate,
    gap: float,
) -> Verdict:
    """Claim: choose hyperparameters on a validation split (k-fold cross-validation), not
    on the test set. `regret`: per fold, the test accuracy of the value the test set picks
    minus that of the value CV on the other folds picks (`selection.selection_regret`);
    `optimism`: how far a fold's best test accuracy lies above that of the value the other
    folds' test scores pick (the winner's curse of reporting what one selected on);
    `gap`: CV estimate minus test accuracy at the CV choice."""
    numbers = {
        "cv_choice": cv_choice,
        "test_choice": test_choice,
        "regret": regret.mean,
        "optimism": optimism.mean,
        "gap": gap,
    }
    key = (
        f"CV picks lr {cv_choice:g}, the test set {test_choice:g}; regret per fold "
        f"{regret.fmt(signed=True)}; optimism of the test-picked accuracy "
        f"{optimism.fmt(signed=True)}; CV − test {gap:+.3f}"
    )
    # Regret is >= 0 by construction: "as good as peeking" needs its CI within EQUIVALENCE.
    within = regret.n > 1 and regret.hi <= EQUIVALENCE
    # The same value as the pooled test-set choice is as good as peeking, whatever the
    # per-fold regret (whose per-fold maximum over noisy test scores is biased upward).
    same = cv_choice == test_choice
    matches = (
        True
        if same or regret.mean == 0 or within
        else None
        if regret.compare() == "overlap"
        else False
    )
    parts = {
        "CV finds a value as good as peeking at the test set": matches,
        "the choice is inside the grid": not on_edge,
    }
    return from_parts("T4", parts, key, numbers, "Cross-validated choice of the learning rate")


MIN_TESTED = 2  # fewer runs with a counterfactual rate than this decide nothing


def t2_t3_counterfactual(qid: str, kind: str, counts: dict[str, int]) -> Verdict:
    """Claims: T2, a loss that barely changes (`stalled`) means the rate is too small, so
    raising it, all else fixed, cures the curve; T3, a NaN or growing loss (`diverged`)
    means it is too large, so lowering it cures the curve. `counts`: how the runs of class
    `kind` were cured (`counterfactual.CURES`), pooled over studies. Counterexamples are
    runs cured only the other way and runs no rate tried cures (e.g. diverged from init).
    Cured as claimed and no counterexample: supported; only counterexamples: refuted; both:
    nuanced; fewer than 2 runs with another rate tried: inconclusive."""
    claimed = "raising" if kind == "stalled" else "lowering"
    other = "lowering" if kind == "stalled" else "raising"
    hits, against, nothing = counts.get(claimed, 0), counts.get(other, 0), counts.get("none", 0)
    tested = hits + against + nothing + counts.get("either", 0)
    key = (
        f"runs whose curve is {kind}, cured by {claimed} the rate: {hits}; only by {other}: "
        f"{against}; by no rate tried: {nothing}; either way: {counts.get('either', 0)}; untested: "
        f"{counts.get('untested', 0)}"
    )
    numbers = {f"{kind}_{k}": float(v) for k, v in counts.items()}
    if tested < MIN_TESTED:
        verdict, why = "inconclusive", f"only {tested} {kind} runs had another rate tried"
    elif hits and not (against or nothing):
        verdict, why = "supported", f"every {kind} run that a rate cures is cured by {claimed} it"
    elif not hits and (against or nothing):
        verdict, why = "refuted", f"no {kind} run is cured by {claimed} the rate"
    elif hits:
        verdict, why = (
            "nuanced",
            f"{claimed} the rate cures {hits} {kind} runs, but {against} are cured only by "
            f"{other} it and {nothing} by no rate tried",
        )
    else:
        verdict, why = "inconclusive", f"every tested {kind} run is cured by a rate either way"
    return Verdict(qid, verdict, key, f"Changing only the rate ({why}).", numbers)
