"""The init rules (W1-W3) reach every outcome they can give, on synthetic numbers."""

from __future__ import annotations

import pytest

from ablate.analysis.rules import init
from ablate.analysis.stats import Estimate

from .estimates import CHANCE_ACC, DOWN, FLAT, GOOD, UP, WIDE

BAND = 0.015  # log10(2) / 20 layers
STABLE = Estimate(0.001, -0.005, 0.007, 6)
SHRINKING = Estimate(-0.15, -0.17, -0.13, 6)  # ReLU under Xavier: 1/sqrt(2) per layer
SLOW_LOSS = Estimate(-0.03, -0.035, -0.025, 6)  # tanh losing 7% per layer


@pytest.mark.parametrize(
    ("shallow", "deep", "slope", "expected"),
    [
        (GOOD, CHANCE_ACC, SHRINKING, "supported"),
        (CHANCE_ACC, GOOD, STABLE, "refuted"),
        (GOOD, GOOD, SHRINKING, "nuanced"),
        (GOOD, WIDE, SHRINKING, "inconclusive"),
    ],
)
def test_w1(shallow, deep, slope, expected):
    assert init.w1_small_init({"relu": shallow}, deep, slope, BAND, 0.1).verdict == expected


def test_w1_judges_every_activation_in_small_nets():
    verdict = init.w1_small_init(
        {"relu": GOOD, "sigmoid": CHANCE_ACC}, CHANCE_ACC, SHRINKING, BAND, 0.1
    )
    assert (
        verdict.verdict == "nuanced" and "fails: works in small sigmoid nets" in verdict.explanation
    )


@pytest.mark.parametrize(
    ("tanh", "relu", "deep", "expected"),
    [
        (STABLE, SHRINKING, GOOD, "supported"),
        (SHRINKING, STABLE, CHANCE_ACC, "refuted"),
        (STABLE, STABLE, GOOD, "nuanced"),
        (STABLE, SHRINKING, WIDE, "inconclusive"),
    ],
)
def test_w2(tanh, relu, deep, expected):
    assert init.w2_xavier(tanh, relu, BAND, deep, 0.1).verdict == expected


def test_w2_a_steady_seven_percent_loss_per_layer_is_not_stable():
    verdict = init.w2_xavier(SLOW_LOSS, SHRINKING, BAND, GOOD, 0.1)
    assert verdict.verdict == "nuanced" and "fails: stable for tanh" in verdict.explanation


@pytest.mark.parametrize(
    ("xavier", "small", "expected"),
    [
        (UP, UP, "supported"),
        (DOWN, DOWN, "refuted"),
        (UP, DOWN, "nuanced"),
        (FLAT, UP, "inconclusive"),
    ],
)
def test_w3(xavier, small, expected):
    assert init.w3_kaiming(xavier, small, STABLE).verdict == expected
