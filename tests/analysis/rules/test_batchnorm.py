"""The batchnorm rules (B1, B2) reach every outcome they can give, on synthetic numbers."""

from __future__ import annotations

import pytest

from ablate.analysis.rules import batchnorm
from ablate.analysis.rules.batchnorm import NoiseLevel, PositionStratum, ShapeArm
from ablate.analysis.stats import Estimate

from .estimates import DOWN, FLAT, UP

ZERO = Estimate(0.0, 0.0, 0.0, 10, p=1.0)  # every pair trains alike
TINY = Estimate(0.001, -0.002, 0.004, 10, p=0.5)  # within any margin


def s(trains: Estimate, acc: Estimate) -> PositionStratum:
    return PositionStratum(trains, acc, margin=0.01)


@pytest.mark.parametrize(
    ("strata", "expected"),
    [
        ({("conv", "k"): s(ZERO, UP), ("mlp", "k"): s(UP, TINY)}, "supported"),
        ({("conv", "k"): s(DOWN, TINY), ("mlp", "s"): s(ZERO, DOWN)}, "refuted"),
        # equivalent everywhere: "no difference larger than the margin"
        ({("conv", "k"): s(ZERO, TINY), ("mlp", "k"): s(ZERO, TINY)}, "refuted"),
        # no difference for ReLU, the measures part ways for sigmoid: what B1 found
        ({("conv", "k"): s(ZERO, TINY), ("mlp/sigmoid", "x"): s(UP, DOWN)}, "nuanced"),
        # before wins in one family, no difference in the other
        ({("conv", "k"): s(ZERO, TINY), ("mlp", "k"): s(UP, TINY)}, "nuanced"),
        ({("conv", "k"): s(ZERO, DOWN), ("mlp", "k"): s(UP, FLAT)}, "nuanced"),
        # after wins in one stratum, the rest undecided: not across every stratum
        ({("conv", "k"): s(ZERO, DOWN), ("mlp", "k"): s(FLAT, FLAT)}, "inconclusive"),
        # one family only
        ({("conv", "k"): s(DOWN, DOWN), ("conv", "s"): s(ZERO, DOWN)}, "inconclusive"),
        ({}, "inconclusive"),
    ],
)
def test_b1(strata, expected):
    assert batchnorm.b1_position(strata).verdict == expected


def test_b1_names_the_strata_and_what_decides_in_each():
    strata = {("conv", "k"): s(ZERO, TINY), ("mlp/sigmoid", "x"): s(UP, DOWN)}
    verdict = batchnorm.b1_position(strata)
    assert "in mlp/sigmoid/x, before trains at more rates, after is more accurate" in (
        verdict.explanation
    )
    assert "no difference in conv/k" in verdict.explanation
    assert "[" in verdict.key_number and "pairs" in verdict.key_number  # numbers with CIs


def test_b1_says_when_too_few_pairs_differ_for_the_trains_test_to_decide():
    few = PositionStratum(FLAT, TINY, margin=0.01, differ=3)  # 2/2^3 = 0.25 at best
    enough = PositionStratum(FLAT, TINY, margin=0.01, differ=6)
    key = batchnorm.b1_position({("conv", "k"): few, ("mlp", "k"): enough}).key_number
    assert key.count("that differ: too few for p < 0.05") == 1
    assert "3 that differ" in key


SHIFTS = UP  # the noise moves the distribution more than training does without BN
STILL = DOWN  # ... less


@pytest.mark.parametrize(
    ("bn_adv", "levels", "expected"),
    [
        # noisy BN keeps the advantage though its distribution moves more: Santurkar's result
        (UP, {0.1: NoiseLevel(UP, TINY, SHIFTS), 1.0: NoiseLevel(DOWN, DOWN, SHIFTS)}, "refuted"),
        # every destabilising level loses it (worse than, or no better than, no BN)
        (
            UP,
            {0.3: NoiseLevel(TINY, DOWN, SHIFTS), 1.0: NoiseLevel(DOWN, DOWN, SHIFTS)},
            "supported",
        ),
        # only a level whose noise moves the distribution less than training keeps it
        (
            UP,
            {0.1: NoiseLevel(UP, TINY, STILL), 1.0: NoiseLevel(FLAT, DOWN, SHIFTS)},
            "inconclusive",
        ),
        (UP, {0.1: NoiseLevel(UP, TINY, STILL)}, "inconclusive"),  # no level destabilises
        (FLAT, {0.1: NoiseLevel(UP, TINY, SHIFTS)}, "inconclusive"),  # nothing to explain
        (UP, {}, "inconclusive"),  # not run
    ],
)
def test_b2_answers_the_normality_hypothesis_with_noisy_bn(bn_adv, levels, expected):
    verdict = batchnorm.b2_why_bn(1.0, 0.1, DOWN, {"main": UP}, bn_adv, levels, 0.01)
    assert verdict.verdict == expected
    assert "Measured apart: BN makes training easier: holds" in verdict.explanation


def test_b2_keeps_rates_and_smoothness_apart_from_the_verdict():
    levels = {0.1: NoiseLevel(UP, TINY, SHIFTS)}
    verdict = batchnorm.b2_why_bn(1.0, 0.1, UP, {"main": FLAT}, UP, levels, 0.01)
    assert verdict.verdict == "refuted"
    assert "landscape smoother (β): fails" in verdict.explanation
    assert "BN makes training easier: unclear" in verdict.explanation
    assert verdict.numbers["top_lr_ratio"] == 10 and "(×10)" in verdict.key_number
    assert "noise 0.1 (deciding)" in verdict.key_number


def test_b2_names_bn_s_best_position_and_a_rate_at_the_top_of_the_sweep_as_a_bound():
    levels = {0.1: NoiseLevel(UP, TINY, SHIFTS)}
    best = "BN before the activation"
    verdict = batchnorm.b2_why_bn(
        1.0, 0.1, UP, {"main": UP}, UP, levels, 0.01, bn_arm=best, at_top=(True, False)
    )
    assert f"{best} ≥1, none 0.1 (×≥10)" in verdict.key_number
    assert "higher learning rates: holds" in verdict.explanation
    # no BN still trains at the top rate: which trains higher cannot be told
    censored = batchnorm.b2_why_bn(
        1.0, 1.0, UP, {"main": UP}, UP, levels, 0.01, at_top=(True, True)
    )
    assert "none ≥1" in censored.key_number and "(×" not in censored.key_number
    assert "higher learning rates: unclear" in censored.explanation


@pytest.mark.parametrize(
    ("noisy", "skewed", "expected"),
    [
        # stability not needed (noise keeps it), normality not needed (bent BN keeps it)
        (NoiseLevel(UP, TINY, SHIFTS), ShapeArm(UP, TINY, UP), "refuted"),
        # noise loses it, and a fixed log-normal BN keeps it: stability helps, normality not
        (NoiseLevel(TINY, DOWN, SHIFTS), ShapeArm(UP, TINY, UP), "nuanced"),
        # noise keeps it, the bent BN trains at fewer rates than BN: the shape matters
        (NoiseLevel(UP, TINY, SHIFTS), ShapeArm(FLAT, FLAT, UP, DOWN), "nuanced"),
        # noise keeps it, the bent BN's half undecided: half tested
        (NoiseLevel(UP, TINY, SHIFTS), ShapeArm(FLAT, FLAT, UP, FLAT), "inconclusive"),
        # both lose it: the account holds in both halves
        (NoiseLevel(TINY, DOWN, SHIFTS), ShapeArm(DOWN, DOWN, UP), "supported"),
        # the bent BN is no less normal than BN's output: its half is untested
        (NoiseLevel(TINY, DOWN, SHIFTS), ShapeArm(UP, TINY, FLAT), "inconclusive"),
        # it beats no BN but falls short of BN: the shape carries part of the advantage
        (NoiseLevel(UP, TINY, SHIFTS), ShapeArm(UP, DOWN, UP), "nuanced"),
    ],
)
def test_b2_tests_normal_apart_from_fixed_with_a_bent_bn(noisy, skewed, expected):
    verdict = batchnorm.b2_why_bn(1.0, 0.1, DOWN, {"main": UP}, UP, {0.3: noisy}, 0.01, skewed)
    assert verdict.verdict == expected
    assert "fixed log-normal BN − no BN" in verdict.key_number
    assert verdict.numbers["skewed_kurtosis_minus_bn"] == skewed.kurtosis.mean


def test_b2_a_bent_bn_that_fails_by_blowing_up_names_its_heavy_tail():
    skewed = ShapeArm(FLAT, FLAT, UP, DOWN, failed_loss=500.0)
    noisy = {0.3: NoiseLevel(UP, TINY, SHIFTS)}
    verdict = batchnorm.b2_why_bn(1.0, 0.1, DOWN, {"main": UP}, UP, noisy, 0.01, skewed)
    assert verdict.verdict == "nuanced"  # stability not needed; the bent shape costs rates
    assert "peaks at 500 (median)" in verdict.explanation and "heavy right tail" in (
        verdict.explanation
    )
