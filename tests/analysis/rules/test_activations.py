"""The activation rules (A1-A5) reach every outcome they can give, on synthetic numbers."""

from __future__ import annotations

import pytest

from ablate.analysis.rules import activations
from ablate.analysis.stats import Estimate

from .estimates import CHANCE_ACC, DOWN, FLAT, GOOD, UP, WIDE


@pytest.mark.parametrize(
    ("ident_r2", "nonlin_r2", "gain", "expected"),
    [
        (1.0, 0.8, UP, "supported"),
        (0.9, 1.0, DOWN, "refuted"),
        (1.0, 0.8, FLAT, "inconclusive"),
        (1.0, 1.0, UP, "nuanced"),  # nonlinear nets that stayed affine
        (0.9, 0.8, UP, "nuanced"),  # an "identity" net that is not affine
        (float("nan"), 0.8, UP, "inconclusive"),
    ],
)
def test_a1(ident_r2, nonlin_r2, gain, expected):
    assert activations.a1_linear_collapse(ident_r2, nonlin_r2, gain, FLAT).verdict == expected


def test_a1_names_the_linear_reference_as_optimisation_not_capacity():
    better = activations.a1_linear_collapse(1.0, 0.8, UP, UP)
    assert better.verdict == "supported" and "not a larger function class" in better.explanation
    worse = activations.a1_linear_collapse(1.0, 0.8, UP, DOWN)
    assert "optimisation shortfall" in worse.explanation


SHRINKS = Estimate(-0.5, -0.6, -0.4, 4)  # log10 factor per layer toward the input
SLOWER = Estimate(0.1, 0.05, 0.15, 24)  # log10 step-time ratio


@pytest.mark.parametrize(
    ("shrink", "sat", "centering", "step", "expected"),
    [
        (SHRINKS, 0.3, UP, SLOWER, "supported"),
        (Estimate(0.1, 0.05, 0.15, 4), 0.0, DOWN, DOWN, "refuted"),
        # the slope shrinks gradients without saturation, and the offset costs nothing:
        (SHRINKS, 0.0003, DOWN, SLOWER, "nuanced"),
        (Estimate(-0.1, -0.3, 0.1, 4), 0.3, FLAT, FLAT, "inconclusive"),
    ],
)
def test_a2(shrink, sat, centering, step, expected):
    vs_relu = Estimate(shrink.mean - 0.1, shrink.lo - 0.1, shrink.hi - 0.1, 4)
    assert activations.a2_sigmoid(shrink, vs_relu, sat, centering, step).verdict == expected


def test_a2_gradients_do_not_shrink_when_relu_shrinks_as_much():
    same_as_relu = Estimate(0.0, -0.1, 0.1, 4)
    verdict = activations.a2_sigmoid(SHRINKS, same_as_relu, 0.3, UP, SLOWER)
    assert (
        verdict.verdict == "inconclusive"
        and "unclear (CI spans the threshold): gradients" in verdict.explanation
    )


@pytest.mark.parametrize(
    ("grad", "acc", "expected"),
    [
        (0.0, CHANCE_ACC, "supported"),
        (0.3, GOOD, "refuted"),
        (0.0, GOOD, "nuanced"),
        (0.0, WIDE, "inconclusive"),
    ],
)
def test_a3(grad, acc, expected):
    assert activations.a3_zero_init(grad, acc, 0.1).verdict == expected


@pytest.mark.parametrize(
    ("overall", "per_lr", "expected"),
    [
        (UP, {0.1: UP}, "supported"),
        (DOWN, {0.1: DOWN}, "refuted"),
        (FLAT, {0.01: FLAT, 0.3: UP}, "nuanced"),
        (FLAT, {0.1: FLAT}, "inconclusive"),
        (Estimate(-0.001, -0.006, 0.004, 6), {0.1: FLAT}, "refuted"),  # within ±0.01: no gain
    ],
)
def test_a4(overall, per_lr, expected):
    assert activations.a4_leaky(overall, per_lr, 0.3, 0.1).verdict == expected


@pytest.mark.parametrize(
    ("vs", "expected"),
    [
        ({"tanh": UP, "sigmoid": UP}, "supported"),
        ({"tanh": DOWN, "sigmoid": DOWN}, "refuted"),
        ({"tanh": UP, "sigmoid": DOWN}, "nuanced"),
        ({"tanh": UP, "sigmoid": FLAT}, "inconclusive"),
    ],
)
def test_a5(vs, expected):
    verdict = activations.a5_relu(vs, {"relu": 1.0, "tanh": 0.1}, 0.5, {"relu": 1.0})
    assert verdict.verdict == expected and "50%" in verdict.explanation
