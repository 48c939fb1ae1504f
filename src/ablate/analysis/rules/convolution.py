"""Rules of the convolution section: C1 pointwise reduction, C2 stride fit, C3 strided conv
vs pooling, C4 families at matched cost and the shortcut at depth."""

from __future__ import annotations

import math

from ablate.analysis.rules.common import Verdict, from_parts, needs, with_needs, within
from ablate.analysis.stats import ALPHA, Estimate

MATCH_TOLERANCE = 0.10  # "matched FLOPs": within ±10% of the reference's FLOPs per image


def equivalence_note(ests: dict[str, Estimate], margin: float) -> str:
    """The comparisons that resolve no difference and whose CI lies within ±margin, worded
    as the finding they are."""
    equivalent = [
        f"{name} {e.fmt(signed=True)}"
        for name, e in ests.items()
        if e.compare() == "overlap" and within(e, margin)
    ]
    if not equivalent:
        return ""
    return (
        f" No effect larger than ±{margin:.4f} (a quarter of the control's test errors): "
        + "; ".join(equivalent)
        + "."
    )


def _beats(est: Estimate, margin: float) -> bool | None:
    """True if clearly positive; False if clearly negative or no larger than ±margin; None
    otherwise (its CI spans 0 and reaches past the margin)."""
    if est.compare() == "higher":
        return True
    if est.compare() == "lower" or within(est, margin):
        return False
    return None


def _costs(est: Estimate, margin: float) -> bool | None:
    """True if clearly negative (a loss of accuracy); False if clearly positive or no larger
    than ±margin; None otherwise."""
    if est.compare() == "lower":
        return True
    if est.compare() == "higher" or within(est, margin):
        return False
    return None


def c1_bottleneck(
    mixing: Estimate,
    matched_cost: Estimate,
    equal_width_cost: Estimate,
    flops_ratio: float,
    params_ratio: float,
    matched_flops_ratio: float,
    margin: float,
    noninferior_p: float = float("nan"),
    mixing_flops_ratio: float = 1.0,
    mixing_params_ratio: float = 1.0,
) -> Verdict:
    """Claim, as the notes make it: a pointwise (1x1) convolution reduces dimensionality
    (FLOPs and parameters fall at equal width) and mixes information across channels (so it
    beats a branch that mixes none). The accuracy it costs is measured and reported, not a
    sub-claim: the notes claim none.

    `mixing`: pointwise minus the grouped bottleneck (one group per reduced channel, so no
    channel crosses groups inside the branch), the one test that decides a sub-claim; the
    grouped net has `mixing_flops_ratio` and `mixing_params_ratio` pointwise's FLOPs and
    parameters (>= 1: a win for mixing is not capacity); `matched_cost`: the pointwise net
    widened to the control's FLOPs minus the control (no reduction), with `noninferior_p`,
    the test of "worse by the margin or more" (`paired.noninferiority_p`);
    `equal_width_cost`: pointwise minus the control at equal width (the price of the cut);
    all paired over seeds."""
    numbers = {
        "mixing": mixing.mean,
        "matched_cost": matched_cost.mean,
        "equal_width_cost": equal_width_cost.mean,
        "equal_width_cost_lo": equal_width_cost.lo,
        "equal_width_cost_hi": equal_width_cost.hi,
        "flops_ratio": flops_ratio,
        "params_ratio": params_ratio,
        "matched_flops_ratio": matched_flops_ratio,
        "mixing_flops_ratio": mixing_flops_ratio,
        "margin": margin,
    }
    key = (
        f"FLOPs ×{flops_ratio:.2f}, params ×{params_ratio:.2f}, Δacc "
        f"{equal_width_cost.fmt(signed=True)} at equal width; pointwise − grouped "
        f"{mixing.fmt(signed=True)} (grouped at ×{mixing_flops_ratio:.2f} the FLOPs); at "
        f"FLOPs ×{matched_flops_ratio:.2f} Δacc "
        f"{matched_cost.fmt(signed=True)}"
        + (
            f", worse by ≥{margin:.3f}: p={noninferior_p:.3g}"
            if math.isfinite(noninferior_p)
            else ""
        )
    )
    matched = abs(matched_flops_ratio - 1) <= MATCH_TOLERANCE
    parts = {
        "it cuts FLOPs and parameters at equal width": bool(flops_ratio < 1 and params_ratio < 1),
        (
            "its mixing beats a grouped branch that mixes no channel across groups, "
            + (
                f"given ×{mixing_flops_ratio:.2f} the FLOPs and ×{mixing_params_ratio:.2f} "
                "the parameters"
                if mixing_flops_ratio >= 1
                else f"at ×{mixing_flops_ratio:.2f} the FLOPs (capacity not ruled out)"
            )
        ): _beats(mixing, margin),
    }
    if not matched:
        at_matched = "not measured (FLOPs not matched within 10%)"
    elif _costs(matched_cost, margin) is True:
        at_matched = "costs accuracy"
    elif math.isfinite(noninferior_p) and noninferior_p < ALPHA:
        at_matched = f"is not worse by ±{margin:.3f} or more"
    else:
        at_matched = f"may cost up to its CI's lower end ({matched_cost.lo:+.3f})"
    price = {True: "costs accuracy", False: "costs no accuracy beyond the margin"}.get(
        _costs(equal_width_cost, margin), "has an accuracy cost its CI cannot size"
    )
    verdict = from_parts(
        "C1",
        parts,
        key,
        numbers,
        "Pointwise reduction against the basic block and a grouped (non-mixing) branch; at "
        f"equal width the cheaper bottleneck {price} (Δacc {equal_width_cost.fmt(signed=True)}), "
        f"and widened to the control's FLOPs it {at_matched} (reported, not a sub-claim)",
    )
    verdict.explanation += equivalence_note(
        {"pointwise − grouped": mixing, "matched FLOPs − control": matched_cost}, margin
    )
    return with_needs(verdict, mixing)


def c2_stride_fit(
    unread: dict[str, Estimate],
    remainder: dict[str, Estimate],
    ink_share: float,
    flops_ratio: float,
    margin: float,
    shift: int,
) -> Verdict:
    """Claim: a kernel/stride that does not fit the map makes information asymmetric (the
    pixels it leaves unread are lost); open: does it cost more compute? Decided on digits
    moved `shift` px toward the bottom/right edge, where a non-tiling stem's unread pixels
    then hold ink. Per padding pair (kernel and stride fixed; each pair a stratum), test
    accuracy of the arm minus its partner, paired over seeds, Holm-adjusted by the caller:
    `unread`, an arm leaving pixels unread against a partner reading all; `remainder`, an
    arm with a remainder against a partner that tiles, both reading every pixel. A pair
    whose CI lies within ±margin shows no loss. `ink_share`: share of the moved training
    ink in the unread arms' unread pixels; `flops_ratio`: unread arms over partners."""
    numbers = {
        "ink_share": ink_share,
        "flops_ratio": flops_ratio,
        "margin": margin,
        **{f"unread_{k}": e.mean for k, e in unread.items()},
        **{f"remainder_{k}": e.mean for k, e in remainder.items()},
    }
    key = "; ".join(
        [
            *(f"{k} {e.fmt(signed=True)}" for k, e in {**unread, **remainder}.items()),
            f"digits moved {shift}px, ink unread {ink_share:.1%}",
            f"FLOPs ×{flops_ratio:.2f}",
        ]
    )
    parts = {f"unread pixels cost accuracy ({k})": _costs(e, margin) for k, e in unread.items()}
    parts.update(
        {
            f"a remainder alone, every pixel read, costs accuracy ({k})": _costs(e, margin)
            for k, e in remainder.items()
        }
    )
    compute = {-1: "less compute, not more", 0: "the same compute", 1: "more compute"}[
        (flops_ratio > 1) - (flops_ratio < 1)
    ]
    verdict = from_parts(
        "C2",
        parts,
        key,
        numbers,
        f"On digits moved {shift}px toward the unread edge ({ink_share:.1%} of the ink unread); "
        f"the open question: a stem that leaves pixels unread costs ×{flops_ratio:.2f} the "
        f"FLOPs of its partner, {compute}",
    )
    verdict.explanation += equivalence_note({**unread, **remainder}, margin)
    return with_needs(verdict, *unread.values(), *remainder.values())


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


def stops_training(trained: dict[tuple[str, int], tuple[int, int]]) -> dict[str, int | None]:
    """Per family, the first depth at which fewer than half of its runs trained (`trained`:
    (family, depth) -> (runs that trained, runs)); None: at least half train at every depth
    tried. Counted, never read off a CI of few seeds."""
    out: dict[str, int | None] = {}
    for (family, depth), (ok, runs) in sorted(trained.items()):
        out.setdefault(family, None)
        if out[family] is None and 2 * ok < runs:
            out[family] = depth
    return out


def c4_architectures(
    families: dict[str, Estimate],
    flops_ratio: dict[str, float],
    loss_gap: dict[int, Estimate],
    degrade: Estimate,
    trained: dict[tuple[str, int], tuple[int, int]],
    margin: float,
    plain: str = "resmlp_noskip",
    residual: str = "resmlp",
) -> Verdict:
    """Claim: the ResNet (shortcuts) and GoogLeNet (several kernel sizes) families improve on
    the classic stack, and the shortcut keeps a deep stack training where the plain one
    degrades (He et al. 2016). `families`: each family's test accuracy minus the plain
    stack's, both at the plain net's FLOPs (`flops_ratio`: family over plain), paired over
    seeds, Holm-adjusted by the caller; a family off by more than MATCH_TOLERANCE is not
    matched and stays undecided. `loss_gap`: per depth (weight layers), the plain stack's
    final training loss minus the residual one's, paired over seeds; `degrade`: the plain
    stack's final training loss at the deepest depth minus the shallowest, paired by seed
    (one unit per seed); `trained`: (family, depth) -> (runs that trained, runs)."""
    deepest, shallowest = max(loss_gap), min(loss_gap)
    gap = loss_gap[deepest]
    limits = stops_training(trained)
    counts = "; ".join(
        f"{f} " + ", ".join(f"{k}/{n}" for (g, _), (k, n) in sorted(trained.items()) if g == f)
        for f in sorted(limits)
    )
    numbers = {
        **{f"diff_{f}": e.mean for f, e in families.items()},
        **{f"flops_ratio_{f}": r for f, r in flops_ratio.items()},
        **{f"loss_gap_{d}": e.mean for d, e in loss_gap.items()},
        "degrade": degrade.mean,
        **{f"depth_limit_{f}": float("nan") if d is None else d for f, d in limits.items()},
        "margin": margin,
    }
    key = "; ".join(
        [
            *(
                f"{f} − plain {e.fmt(signed=True)} at FLOPs ×{flops_ratio[f]:.2f}"
                for f, e in sorted(families.items())
            ),
            f"{deepest} layers: final train loss plain − residual {gap.fmt(signed=True)}",
            f"runs that train per depth {', '.join(str(d) for d in sorted(loss_gap))}: {counts}",
        ]
    )
    parts: dict[str, bool | None] = {}
    for f, e in sorted(families.items()):
        matched = abs(flops_ratio[f] - 1) <= MATCH_TOLERANCE
        parts[f"{f} beats the plain stack at matched FLOPs"] = (
            _beats(e, margin) if matched else None
        )
    direction = {"higher": True, "lower": False, "overlap": None}
    parts[
        f"the plain stack degrades with depth (higher training loss at {deepest} than "
        f"{shallowest} layers)"
    ] = direction[degrade.compare()]
    parts[f"the shortcut trains the {deepest}-layer stack to a lower training loss"] = direction[
        gap.compare()
    ]
    stops = ", ".join(
        f"{f} {'at no depth tried' if d is None else f'from {d} layers'}"
        for f, d in sorted(limits.items())
    )
    verdict = from_parts(
        "C4",
        parts,
        key,
        numbers,
        "Families at matched FLOPs, and He et al. (2016)'s degradation test on residual MLP "
        f"blocks; where fewer than half the runs train: {stops}",
    )
    verdict.explanation += equivalence_note(
        {f"{f} − plain": e for f, e in families.items()}, margin
    )
    return with_needs(verdict, *families.values(), gap, degrade)
