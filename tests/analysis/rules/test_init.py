"""The init rules (W1-W3) reach every outcome they can give, on synthetic numbers."""

from __future__ import annotations

import math

import pytest

from ablate.analysis.depth_trend import MODELS, SignalFit
from ablate.analysis.rules import init
from ablate.analysis.rules.init import Count
from ablate.analysis.stats import Estimate

from .estimates import DOWN, FLAT, UP

ALL, NONE, HALF, FEW = Count(8, 8), Count(0, 8), Count(4, 8), Count(3, 3)


def fit(change: float, n: int = 8, model: str = MODELS[0]) -> SignalFit:
    """A fitted signal of 30 layers whose first -> last change is 10**change, tight CIs."""
    per = change / (29 if model == MODELS[0] else math.log10(30))
    return SignalFit(model, n, n, Estimate(per, per, per, n), _tight(change, n))


def _tight(mean: float, n: int) -> Estimate:
    return Estimate(mean, mean - 0.05, mean + 0.05, n)


STABLE = fit(0.0)  # within 2x over the net
SHRINKS = fit(-4.5)  # ReLU under Xavier: 1/sqrt(2) per layer over 30 layers
POWER = fit(math.log10(30**-0.5), model=MODELS[1])  # tanh under Xavier: std ∝ layer^-0.5
GROWS = fit(4.5)


@pytest.mark.parametrize(
    ("shallow", "deep", "acts", "grads", "expected"),
    [
        (ALL, NONE, SHRINKS, GROWS, "supported"),
        (NONE, ALL, STABLE, STABLE, "refuted"),
        (ALL, ALL, SHRINKS, GROWS, "nuanced"),
        (ALL, HALF, SHRINKS, GROWS, "inconclusive"),
    ],
)
def test_w1(shallow, deep, acts, grads, expected):
    verdict = init.w1_small_init({"relu": shallow}, {"relu": deep}, acts, grads)
    assert verdict.verdict == expected


def test_w1_names_an_activation_that_fails_in_small_nets():
    verdict = init.w1_small_init({"relu": ALL, "sigmoid": NONE}, {"relu": NONE}, SHRINKS, GROWS)
    assert verdict.verdict == "nuanced"
    assert "fails: trains in small sigmoid nets" in verdict.explanation


def test_w1_three_seeds_are_counted_but_never_decide():
    verdict = init.w1_small_init({"relu": FEW}, {"relu": Count(0, 3)}, SHRINKS, GROWS)
    assert verdict.verdict == "inconclusive"
    assert "3/3" in verdict.key_number and "rest on 3 seeds per cell" in verdict.explanation


def test_w1_strata_that_agree_are_pooled_and_decide():
    three = {a: Count(3, 3) for a in ("relu", "sigmoid", "tanh")}
    none = {a: Count(0, 3) for a in ("relu", "sigmoid", "tanh")}
    verdict = init.w1_small_init(three, none, SHRINKS, GROWS)
    assert verdict.verdict == "supported"
    assert "pooled" in verdict.explanation and "rest on 3 seeds" not in verdict.explanation
    split = init.w1_small_init(three, {**none, "tanh": Count(3, 3)}, SHRINKS, GROWS)
    assert split.verdict == "inconclusive"  # deep strata disagree: each alone is 3 runs


def test_count_most_needs_six_runs_and_a_clear_majority():
    assert ALL.most() is True and NONE.most() is False and HALF.most() is None
    assert Count(7, 8).most() is None  # its exact CI reaches below 1/2
    assert FEW.most() is None


@pytest.mark.parametrize(
    ("tanh", "grad", "relu", "expected"),
    [
        (STABLE, STABLE, SHRINKS, "supported"),
        (SHRINKS, GROWS, STABLE, "refuted"),
        (POWER, STABLE, SHRINKS, "nuanced"),
        (STABLE, STABLE, fit(-4.5, n=3), "inconclusive"),
    ],
)
def test_w2(tanh, grad, relu, expected):
    assert init.w2_xavier(tanh, grad, relu).verdict == expected


def test_w2_a_power_law_decay_over_the_net_is_not_stable_and_says_which_model_fits():
    verdict = init.w2_xavier(POWER, STABLE, SHRINKS)
    assert "fails: tanh activations keep their scale" in verdict.explanation
    assert "power law fits better in 8/8 runs" in verdict.key_number
    assert "tanh std ∝ layer^-0.50" in verdict.key_number  # the exponent, not a factor


@pytest.mark.parametrize(
    ("kaiming", "xavier", "steps", "acc", "expected"),
    [
        (ALL, NONE, UP, UP, "supported"),
        (NONE, ALL, DOWN, DOWN, "refuted"),
        (ALL, HALF, UP, FLAT, "inconclusive"),
        (ALL, ALL, UP, UP, "nuanced"),
    ],
)
def test_w3(kaiming, xavier, steps, acc, expected):
    assert init.w3_kaiming(kaiming, xavier, steps, acc, 30, 0.5).verdict == expected


def test_w3_reads_stalling_on_runs_that_never_converge():
    steps = Estimate(700.0, 650.0, 750.0, 8, p=0.01, sd=50.0, unit="seeds")
    acc = Estimate(0.6, 0.5, 0.7, 8, p=0.01, sd=0.1, unit="seeds")
    edging = Count(3, 8)  # three Xavier runs edge above chance, none converges
    unclear = init.w3_kaiming(Count(8, 8), edging, steps, acc, 30, 0.5)
    assert unclear.verdict == "inconclusive"
    verdict = init.w3_kaiming(Count(8, 8), edging, steps, acc, 30, 0.5, Count(0, 8))
    assert verdict.verdict == "supported" and "under loss 0.5: 0/8" in verdict.key_number
