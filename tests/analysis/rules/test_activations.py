"""The activation rules (A1-A5) reach every outcome they can give, on synthetic numbers."""

from __future__ import annotations

import pytest

from ablate.analysis.rules import activations, common
from ablate.analysis.stats import Estimate

from .estimates import CHANCE_ACC, DOWN, FLAT, GOOD, UP, WIDE

NONE = Estimate(0.001, -0.004, 0.005, 6, unit="seeds")  # resolved absence at margin 0.01


@pytest.mark.parametrize(
    ("est", "margin", "expected"),
    [(UP, 0.01, "higher"), (DOWN, 0.01, "lower"), (NONE, 0.01, "none"), (NONE, 0.0, "unclear")],
)
def test_reading(est, margin, expected):
    assert activations.reading(est, margin) == expected


def test_equivalence_margin_follows_the_error_rate():
    assert common.margin(0.97) == pytest.approx(0.0075)
    assert common.margin(0.80) == pytest.approx(0.05)


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


def test_a1_depths_that_disagree_make_it_nuanced_and_are_named():
    verdict = activations.a1_linear_collapse(1.0, 0.8, UP, FLAT, {3: UP, 8: DOWN})
    assert verdict.verdict == "nuanced"
    assert "depth 3: higher" in verdict.explanation and "depth 8: lower" in verdict.explanation


def test_a1_names_the_linear_reference_as_optimisation_not_capacity():
    better = activations.a1_linear_collapse(1.0, 0.8, UP, UP)
    assert better.verdict == "supported" and "not a larger function class" in better.explanation
    worse = activations.a1_linear_collapse(1.0, 0.8, UP, DOWN)
    assert "optimisation shortfall" in worse.explanation


SHRINKS = Estimate(-0.5, -0.6, -0.4, 4)  # log10 factor per layer toward the input
COSTLIER = Estimate(0.1, 0.05, 0.15, 15)  # log10 op-time ratio, timed side by side


def _a2(shrink=SHRINKS, sat=0.3, centering=None, cost=COSTLIER):
    vs_relu = Estimate(shrink.mean - 0.1, shrink.lo - 0.1, shrink.hi - 0.1, 4)
    centering = {2: UP, 5: UP} if centering is None else centering
    return activations.a2_sigmoid(shrink, vs_relu, sat, centering, 0.01, cost)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, "supported"),
        (
            {
                "shrink": Estimate(0.1, 0.05, 0.15, 4),
                "sat": 0.0,
                "centering": {2: NONE, 5: DOWN},
                "cost": DOWN,
            },
            "refuted",
        ),
        ({"sat": 0.0003, "centering": {2: NONE, 5: NONE}}, "nuanced"),
        (
            {"shrink": Estimate(-0.1, -0.3, 0.1, 4), "centering": {2: FLAT}, "cost": FLAT},
            "inconclusive",
        ),
    ],
)
def test_a2(kwargs, expected):
    assert _a2(**kwargs).verdict == expected


def test_a2_depths_that_disagree_make_it_nuanced_and_are_named():
    verdict = _a2(
        shrink=Estimate(0.1, 0.05, 0.15, 4), sat=0.0, cost=DOWN, centering={2: NONE, 5: UP}
    )
    assert verdict.verdict == "nuanced"  # every other part fails: still not "refuted"
    assert "depth 2: no effect" in verdict.explanation and "depth 5: higher" in verdict.explanation
    # each depth is its own sub-claim: it holds at 5 and fails at 2, not "fails" as a whole
    assert verdict.parts["its non-zero mean costs accuracy at depth 5"] is True
    assert verdict.parts["its non-zero mean costs accuracy at depth 2"] is False
    assert _a2(centering={}).parts["its non-zero mean costs accuracy (no stratum measured)"] is None


def test_a2_cost_is_decided_by_its_side_of_one_alone():
    assert "CI above 1" in _a2().key_number
    assert "unclear (CI spans the threshold): it is costlier" in _a2(cost=FLAT).explanation


def test_a2_gradients_do_not_shrink_when_relu_shrinks_as_much():
    same_as_relu = Estimate(0.0, -0.1, 0.1, 4)
    verdict = activations.a2_sigmoid(SHRINKS, same_as_relu, 0.3, {2: UP}, 0.01, COSTLIER)
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


DEAD = {0.03: 0.0, 0.1: 0.2, 0.3: 0.7}  # ReLU's dead share per rate


@pytest.mark.parametrize(
    ("trains", "pooled", "per_lr", "expected"),
    [
        (FLAT, UP, {0.1: UP, 0.3: UP}, "supported"),
        (UP, FLAT, {0.1: FLAT, 0.3: FLAT}, "supported"),  # trains where ReLU does not
        (FLAT, DOWN, {0.1: DOWN, 0.3: FLAT}, "refuted"),
        (DOWN, FLAT, {0.1: FLAT, 0.3: FLAT}, "refuted"),  # diverges where ReLU trains
        (DOWN, UP, {0.1: UP, 0.3: FLAT}, "nuanced"),  # better when it trains, trains less
        (FLAT, FLAT, {0.1: DOWN, 0.3: UP}, "nuanced"),
        (FLAT, UP, {0.1: NONE, 0.3: FLAT}, "nuanced"),  # the pooled gain lives at 0.3
        (FLAT, FLAT, {0.1: FLAT, 0.3: FLAT}, "inconclusive"),
        (FLAT, NONE, {0.1: NONE, 0.3: FLAT}, "refuted"),  # within the margin: no effect
    ],
)
def test_a4(trains, pooled, per_lr, expected):
    per_lr = {0.03: DOWN, **per_lr}
    assert activations.a4_leaky(trains, pooled, per_lr, 0.01, DEAD).verdict == expected


def test_a4_equivalence_is_worded_with_its_margin():
    verdict = activations.a4_leaky(FLAT, NONE, {0.1: NONE, 0.3: NONE}, 0.01, DEAD)
    assert "no accuracy difference beyond ±0.010" in verdict.explanation


def test_a4_says_trainability_before_accuracy():
    verdict = activations.a4_leaky(DOWN, UP, {0.1: UP, 0.3: UP}, 0.01, DEAD)
    assert verdict.explanation.index("trains less often") < verdict.explanation.index(
        "more accurate"
    )
    assert "trained share leaky − relu -0.050" in verdict.key_number


def test_a4_undecided_names_the_units_the_claims_effect_would_need():
    spread = Estimate(-0.002, -0.02, 0.016, 16, sd=0.034, unit="(rate, seed) pairs")
    verdict = activations.a4_leaky(FLAT, spread, {0.1: spread, 0.3: FLAT}, 0.01, DEAD)
    assert verdict.verdict == "inconclusive"
    assert "Finding a gain of +0.010" in verdict.explanation
    assert "(rate, seed) pairs (80% power)" in verdict.explanation


def test_a4_a_rate_resolved_against_and_none_for_refutes():
    verdict = activations.a4_leaky(FLAT, FLAT, {0.1: NONE, 0.15: FLAT, 0.3: FLAT}, 0.01, DEAD)
    assert verdict.verdict == "refuted"
    assert "lr 0.1: no effect" in verdict.explanation
    assert "lr 0.15" not in verdict.explanation  # 0.15 has no dead share: not a stratum


def test_a4_rates_where_units_live_do_not_decide():
    # lr 0.03 (no dead units) disagrees with the dying rates: it is not a stratum of the claim
    per_lr = {0.03: DOWN, 0.1: UP, 0.3: UP}
    assert activations.a4_leaky(FLAT, UP, per_lr, 0.01, DEAD).verdict == "supported"


def test_a4_without_dying_units_is_inconclusive_and_says_why():
    verdict = activations.a4_leaky(FLAT, UP, {0.1: UP}, 0.01, {0.1: 0.014, 0.03: 0.0})
    assert verdict.verdict == "inconclusive" and "barely die" in verdict.explanation


FASTER = Estimate(1.0, 0.6, 1.4, 6, unit="seeds")  # log2 steps ratio: twice as many steps
SAME = Estimate(0.01, -0.1, 0.1, 6, unit="seeds")  # within x1.25


def _a5(cells=UP, by=None, speed=FASTER, sat=None, sparse=SAME):
    props = {
        "saturating": sat or {"kinked": FASTER, "smooth": FASTER},
        "sparse": {"kinked": sparse},
    }
    return activations.a5_relu(cells, by or {"batch": UP, "none": FLAT}, (16, 18), speed, props)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, "supported"),
        (
            {
                "cells": DOWN,
                "by": {"batch": DOWN},
                "speed": Estimate(-1, -1.4, -0.6, 6),
                "sat": {"k": SAME},
            },
            "refuted",
        ),
        ({"sat": {"kinked": FASTER, "smooth": SAME}}, "nuanced"),  # strata disagree
        ({"by": {"batch": UP, "none": DOWN}}, "nuanced"),
        ({"speed": FLAT}, "inconclusive"),
    ],
)
def test_a5(kwargs, expected):
    assert _a5(**kwargs).verdict == expected


def test_a5_names_what_else_matters():
    verdict = _a5(sparse=Estimate(-1.0, -1.4, -0.6, 6, unit="seeds"))
    assert "exact zeros (sparsity): speeds training" in verdict.explanation
    assert "relu ahead in 16 of 18" in verdict.key_number
    small = _a5(sparse=Estimate(-0.1, -0.15, -0.05, 6, unit="seeds"))
    assert "speeds training, by less than ×1.25" in small.explanation


def test_a_real_difference_within_the_margin_is_no_cost_worth_the_name():
    small = Estimate(0.005, 0.002, 0.008, 12, p=0.008, unit="seeds")
    assert activations.reading(small, 0.016) == "higher"
    assert activations.practical(small, 0.016) == "none"
    assert activations.practical(UP, 0.01) == "higher"


def test_a5_relu_that_trains_in_fewer_cells_is_not_the_better_arm():
    args = (UP, {"batch": UP}, (8, 9), FASTER, {})
    assert "trains in as many" not in activations.a5_relu(*args).explanation  # not measured
    verdict = activations.a5_relu(*args, cells_trains=DOWN)
    assert "fails: relu trains in as many of those cells as tanh" in verdict.explanation
    assert verdict.key_number.startswith("relu − tanh share of seeds that trained per cell")
    unclear = activations.a5_relu(*args, cells_trains=FLAT).explanation  # FLAT dips below 0
    assert "threshold): relu trains in as many of those cells as tanh" in unclear
    same = Estimate(0.0, 0.0, 0.0, 9, unit="cells")  # every cell trains in both arms
    held = activations.a5_relu(*args, cells_trains=same).explanation
    assert "holds: relu is more accurate" in held and "relu trains in as many" in held
