"""Rules of the batchnorm section: B1 BN position, B2 what BN changes."""

from __future__ import annotations

import math

from ablate.analysis.rules.common import Verdict, _dir, from_parts, with_needs
from ablate.analysis.stats import Estimate


def _sig(est: Estimate) -> str:
    """An estimate in three significant figures, for quantities with no natural scale."""
    text = f"{est.mean:+.3g} [{est.lo:+.3g}, {est.hi:+.3g}]"
    return text + (f", p={est.p:.3g}" if math.isfinite(est.p) else "")


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
