"""How many independent units a comparison would need: statsmodels' t-test power, with the
project's floor (a paired design never needs fewer units than the exact sign-flip test
needs to reach p < 0.05).
"""

from __future__ import annotations

import math

from scipy import stats as sps
from statsmodels.stats.power import TTestIndPower, TTestPower

from ablate.analysis.significance import least_units
from ablate.analysis.stats import ALPHA, Estimate
from ablate.registry import Registry

POWER: Registry[type[TTestPower] | type[TTestIndPower]] = Registry("design")
POWER.register("paired")(TTestPower)  # one difference per unit: d = effect / sd
POWER.register("two_sample")(TTestIndPower)  # two groups, n per arm; sd: both arms' spread


def power_n(
    estimate: Estimate,
    power: float = 0.8,
    effect: float | None = None,
    design: str = "paired",
) -> int | None:
    """Independent units a comparison would need for its two-sided 5% test to find
    `effect` with probability `power`, at the spread `estimate.sd` (statsmodels'
    TTestPower for paired units, TTestIndPower for two groups, n per arm).

    `effect` is the difference the claim predicts: its direction times the smallest
    effect of interest (e.g. +0.01 accuracy for "strided conv is at least as good"). The
    statement then points toward the claim: an observed mean on the other side never
    makes the claim look a few seeds from decided. A paired design never needs fewer than
    `least_units()` (6), the least n at which the exact sign-flip test can reach p < 0.05.
    None when no n can be named (effect 0, spread unknown or 0).

    Without `effect` (the older call, `power_n(est)`, kept unchanged for rules that name no
    claimed effect yet and print "normal approximation"): the observed mean stands in, and
    n = ((z_0.975 + z_power) * sd / |mean|)^2, at least 6. It does not point toward the
    claim; rules should pass `effect`."""
    solver = POWER[design]()
    target = estimate.mean if effect is None else effect
    if not (math.isfinite(target) and math.isfinite(estimate.sd)) or target == 0:
        return None
    if effect is None:
        z = sps.norm.ppf(1 - ALPHA / 2) + sps.norm.ppf(power)
        return max(least_units(), math.ceil((z * estimate.sd / abs(target)) ** 2))
    if estimate.sd <= 0:
        return None
    pooled = estimate.sd / math.sqrt(2) if design == "two_sample" else estimate.sd
    size = abs(target) / pooled
    least = least_units() if design == "paired" else 2
    # Positional: the n argument is `nobs` in one class and `nobs1` (per arm) in the other.
    if solver.power(size, least, ALPHA) >= power:
        return least  # already there: the solver cannot search below it
    n = solver.solve_power(size, None, ALPHA, power)
    return max(least, math.ceil(float(n))) if math.isfinite(n) else None


def points_toward(estimate: Estimate, effect: float) -> bool:
    """Does the observed mean lie on the side of 0 that the claim (`effect`) predicts?"""
    return math.isfinite(estimate.mean) and estimate.mean * effect > 0
