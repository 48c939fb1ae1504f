"""Verdict rules: explicit functions from measured estimates to a verdict.

Each rule states the claim it tests and returns `supported`, `refuted`, `nuanced` (true only
under conditions it names) or `inconclusive` (a deciding interval spans zero). Rules take
estimates, not tables, so unit tests can reach every outcome with synthetic numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ablate.analysis.stats import Estimate

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


def c3_strided_vs_pool(
    acc_diff: Estimate, per_arch: dict[str, Estimate], flops_ratio: float, params_ratio: float
) -> Verdict:
    """Claim: strided conv keeps information pooling drops (accuracy at least as high), but
    costs more parameters and compute. `acc_diff` is strided minus pooled test accuracy,
    paired by cell and seed; the ratios are strided over pooled."""
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
    cost = f"strided conv costs ×{flops_ratio:.2f} the FLOPs and ×{params_ratio:.2f} the parameters"
    if "higher" in per.values() and "lower" in per.values():
        better = [a for a, d in per.items() if d == "higher"]
        worse = [a for a, d in per.items() if d == "lower"]
        return Verdict(
            "C3",
            "nuanced",
            key,
            f"Strided conv wins in {', '.join(better)} but loses in {', '.join(worse)}; {cost}.",
            numbers,
        )
    if direction == "overlap":
        return Verdict(
            "C3",
            "inconclusive",
            key,
            f"The accuracy difference's 95% CI spans 0; {cost}. More seeds or "
            "epochs would be needed to separate them.",
            numbers,
        )
    if direction == "lower":
        return Verdict("C3", "refuted", key, f"Pooling is more accurate here; {cost}.", numbers)
    if costs_more:
        return Verdict(
            "C3",
            "supported",
            key,
            f"Strided conv is more accurate, and {cost}: the trade-off as claimed.",
            numbers,
        )
    return Verdict(
        "C3",
        "nuanced",
        key,
        f"Strided conv is more accurate without the claimed cost: {cost} "
        "(folding the stride into a conv makes it run on a quarter of the "
        "positions).",
        numbers,
    )


def c4_architectures(diffs: dict[str, Estimate], baseline: str = "plain") -> Verdict:
    """Claim: the newer families (ResNet shortcuts, Inception multi-scale) improve on the
    classic stack. `diffs` maps each family to its test-accuracy difference from
    `baseline`, paired by cell and seed."""
    better = sorted(a for a, d in diffs.items() if d.compare() == "higher")
    worse = sorted(a for a, d in diffs.items() if d.compare() == "lower")
    numbers = {f"diff_{a}": d.mean for a, d in diffs.items()}
    key = "; ".join(f"{a} − {baseline} {d.fmt(signed=True)}" for a, d in sorted(diffs.items()))
    if diffs and len(better) == len(diffs):
        return Verdict(
            "C4", "supported", key, f"Every newer family beats the {baseline} stack.", numbers
        )
    if diffs and len(worse) == len(diffs):
        return Verdict(
            "C4",
            "refuted",
            key,
            f"The {baseline} stack beats every newer family at this budget.",
            numbers,
        )
    if better or worse:
        parts = []
        if better:
            parts.append(f"{', '.join(better)} beat{'s' if len(better) == 1 else ''} {baseline}")
        if worse:
            parts.append(f"{', '.join(worse)} trail{'s' if len(worse) == 1 else ''} it")
        return Verdict("C4", "nuanced", key, "; ".join(parts) + " at this budget.", numbers)
    return Verdict(
        "C4",
        "inconclusive",
        key,
        f"Every difference from {baseline} has a 95% CI spanning 0.",
        numbers,
    )
