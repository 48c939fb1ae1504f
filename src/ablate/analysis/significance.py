"""The tests behind the project's comparisons, from the libraries that own them: the
sign-flip test on paired units is scipy's `permutation_test`, Holm is statsmodels'
`multipletests`. The helpers add the project's rules: a fixed seed for the Monte Carlo
patterns, NaNs that do not count as tests, the smallest p a test can reach on n units,
and the confidence interval that inverts the sign-flip test, so an interval excludes 0
exactly when the test rejects (scipy gives the test, not its interval).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TypeVar

import numpy as np
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from ablate.analysis.stats import ALPHA, NAN, Estimate, finite_values
from ablate.registry import Registry

EXACT_MAX = 16  # sign-flip test: all 2^n patterns up to here, Monte Carlo beyond
MC_DRAWS = 20_000
K = TypeVar("K")


def sign_flip_p(values: Sequence[float] | np.ndarray) -> float:
    """Two-sided p-value of "the units' differences are symmetric about 0": scipy's paired
    permutation test (`permutation_type="samples"` on one sample flips signs) of their mean.
    Exact (all 2^n patterns) for n <= 16, else a Monte Carlo of 20,000 patterns from a fixed
    seed, so a rerun gives the same p. Ties count (scipy's relative tolerance)."""
    x = finite_values(values)
    if len(x) == 0:
        return NAN
    if len(x) == 1:  # both patterns, +x and -x, are as extreme (scipy needs two units)
        return 1.0
    exact = len(x) <= EXACT_MAX
    result = sps.permutation_test(
        (x,),
        _mean,
        permutation_type="samples",
        vectorized=True,
        n_resamples=np.inf if exact else MC_DRAWS,
        alternative="two-sided",
        rng=np.random.default_rng(0),
    )
    return float(result.pvalue)


def _patterns(n: int) -> np.ndarray:
    """The sign patterns the test weighs: all 2^n for n <= EXACT_MAX, else MC_DRAWS drawn
    from a fixed seed plus the identity (as scipy counts the observed pattern)."""
    if n <= EXACT_MAX:
        bits = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
        return 1.0 - 2.0 * bits
    draws = np.random.default_rng(0).choice([-1.0, 1.0], size=(MC_DRAWS, n))
    return np.vstack([np.ones(n), draws])


def sign_flip_ci(values: Sequence[float] | np.ndarray, level: float = 1 - ALPHA):
    """The `level` interval of the mean that inverts the sign-flip test: every shift d for
    which "the units' differences from d are symmetric about 0" is not rejected. Where the
    t-interval and the exact test disagree (a skewed handful of units, all of one sign),
    this one agrees with the p-value. Each end found by bisection to 1e-9 of the range;
    (nan, nan) where the test cannot reject at any shift (fewer than `least_units`)."""
    x = finite_values(values)
    n, alpha = len(x), 1 - level
    if n < 2 or smallest_p(n) >= alpha:
        return NAN, NAN
    signs = _patterns(n)
    sums, counts = signs @ x, signs.sum(axis=1)

    def p_at(d: float) -> float:
        observed = abs(x.sum() - n * d)
        return float(np.mean(np.abs(sums - d * counts) >= observed * (1 - 1e-12) - 1e-15))

    mean, ends = float(x.mean()), []
    for far in (float(x.min()), float(x.max())):
        inside, outside = mean, far
        if p_at(outside) >= alpha:  # a unit tied with the extreme keeps it accepted
            ends.append(outside)
            continue
        for _ in range(60):
            mid = (inside + outside) / 2
            inside, outside = (mid, outside) if p_at(mid) >= alpha else (inside, mid)
            if abs(outside - inside) <= 1e-9 * (float(x.max() - x.min()) or 1.0):
                break
        ends.append(inside)
    return ends[0], ends[1]


def _mean(x: np.ndarray, axis: int) -> np.ndarray:
    return np.mean(x, axis=axis)


SMALLEST_P: Registry[Callable[[int], float]] = Registry("test")  # smallest p on n units


@SMALLEST_P.register("sign_flip")
def _sign_flip_floor(n: int) -> float:
    return min(1.0, 2.0 / 2.0**n)  # all signs alike: 2 of the 2^n patterns


def smallest_p(n: int, test: str = "sign_flip") -> float:
    """The smallest p-value `test` can reach on `n` units, whatever the data: the exact
    sign-flip test on 3 units never goes below 2/2^3 = 0.25, so n = 3 cannot reach
    p < 0.05 (say so rather than call the comparison a null result)."""
    return SMALLEST_P[test](n)


def least_units(alpha: float = ALPHA, test: str = "sign_flip") -> int:
    """The fewest units on which `test` can reach p < `alpha` (6 for the sign-flip test at
    0.05: 2/2^6 = 0.031)."""
    n = 1
    while smallest_p(n, test) >= alpha:
        n += 1
    return n


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (statsmodels' `multipletests`), in the order given;
    NaN stays NaN and does not count as a test: reject sub-claim i at 5% familywise error
    when adjusted p_i < 0.05."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full(len(p), NAN)
    finite = np.isfinite(p)
    if finite.any():
        out[finite] = multipletests(p[finite], alpha=ALPHA, method="holm")[1]
    return out.tolist()


def holm_family(estimates: Mapping[K, Estimate]) -> dict[K, Estimate]:
    """The sub-claims of one verdict with their p-values Holm-adjusted as one family."""
    adjusted = holm([e.p for e in estimates.values()])
    return {k: replace(e, p=p) for (k, e), p in zip(estimates.items(), adjusted, strict=True)}
