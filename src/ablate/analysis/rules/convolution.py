"""Rules of the convolution section: C1 pointwise reduction, C2 stride fit, C3 strided conv
vs pooling, C4 depth and shortcuts."""

from __future__ import annotations

from ablate.analysis.rules.common import (
    EQUIVALENCE,
    MissingEvidence,
    Verdict,
    _equivalent,
    from_parts,
    needs,
)
from ablate.analysis.stats import Estimate

MATCH_TOLERANCE = 0.10  # "matched FLOPs": within ±10% of the control's FLOPs per image


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


def depth_limit(acc: dict[tuple[str, int], Estimate], chance: float) -> dict[str, int | None]:
    """Per family, the smallest depth whose accuracy CI lies below chance + 0.1 (None: all
    depths train)."""
    out: dict[str, int | None] = {}
    for (arch, depth), est in sorted(acc.items()):
        out.setdefault(arch, None)
        if out[arch] is None and est.hi < chance + 0.1:
            out[arch] = depth
    return out
