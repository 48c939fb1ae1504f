"""Each rule of questions C1-T4 reaches every outcome it can give, on synthetic numbers."""

from __future__ import annotations

import pytest

from ablate.analysis import verdicts as v
from ablate.analysis.stats import Estimate

UP = Estimate(0.05, 0.02, 0.08, 10)
DOWN = Estimate(-0.05, -0.08, -0.02, 10)
FLAT = Estimate(0.01, -0.02, 0.04, 10)
GOOD = Estimate(0.9, 0.88, 0.92, 10)
CHANCE_ACC = Estimate(0.1, 0.09, 0.11, 10)
WIDE = Estimate(0.2, 0.1, 0.3, 10)  # spans chance + 0.1


def test_from_parts_covers_all_outcomes():
    assert v.from_parts("X", {"a": True, "b": True}, "", {}, "d").verdict == "supported"
    assert v.from_parts("X", {"a": False, "b": False}, "", {}, "d").verdict == "refuted"
    assert v.from_parts("X", {"a": True, "b": False}, "", {}, "d").verdict == "nuanced"
    assert v.from_parts("X", {"a": True, "b": None}, "", {}, "d").verdict == "inconclusive"
    text = v.from_parts("X", {"a": True, "b": False}, "", {}, "d").explanation
    assert "holds: a" in text and "fails: b" in text


NO_LOSS = Estimate(0.001, -0.004, 0.006, 6)  # CI within ±0.01
TOO_WIDE = Estimate(-0.002, -0.037, 0.033, 4)  # spans 0, wider than ±0.01


@pytest.mark.parametrize(
    ("mixing", "matched", "flops", "params", "matched_flops", "expected"),
    [
        (UP, UP, 0.1, 0.4, 1.0, "supported"),
        (UP, NO_LOSS, 0.1, 0.4, 1.0, "supported"),  # no loss at matched FLOPs
        (UP, DOWN, 0.1, 0.4, 1.0, "nuanced"),  # costs accuracy even at matched FLOPs
        (DOWN, UP, 0.1, 0.4, 1.0, "nuanced"),  # subsampling beats mixing
        (FLAT, UP, 0.1, 0.4, 1.0, "inconclusive"),  # mixing undecided
        (NO_LOSS, NO_LOSS, 0.1, 0.4, 1.0, "nuanced"),  # mixing makes no difference
        (UP, TOO_WIDE, 0.1, 0.4, 1.0, "inconclusive"),
        (UP, UP, 0.1, 0.4, 1.3, "inconclusive"),  # FLOPs not matched: cost undecided
        (DOWN, DOWN, 1.2, 1.1, 1.0, "refuted"),
    ],
)
def test_c1(mixing, matched, flops, params, matched_flops, expected):
    verdict = v.c1_bottleneck(mixing, matched, flops, params, matched_flops)
    assert verdict.verdict == expected
    assert verdict.numbers["matched_flops_ratio"] == matched_flops


def test_c1_needs_a_test_that_agrees_after_holm():
    """A CI above 0 whose (Holm-adjusted) p-value is not under 0.05 decides nothing."""
    adjusted = Estimate(0.05, 0.02, 0.08, 10, p=0.2)
    assert v.c1_bottleneck(adjusted, UP, 0.1, 0.4, 1.0).verdict == "inconclusive"


NONE = Estimate(0.001, -0.004, 0.006, 6)  # within ±0.01: no asymmetry


@pytest.mark.parametrize(
    ("unread", "remainder", "expected"),
    [
        ({"4px": UP}, {"4px": UP}, "supported"),
        ({"2px": FLAT, "4px": UP}, {"4px": NONE}, "nuanced"),
        ({"4px": NONE}, {"4px": NONE}, "refuted"),
        ({"4px": FLAT}, {"4px": NONE}, "inconclusive"),
        ({"4px": UP}, {"4px": FLAT}, "inconclusive"),
        ({"4px": UP}, {}, "supported"),
        ({"4px": DOWN}, {}, "inconclusive"),  # asymmetric the other way: not the claim
    ],
)
def test_c2(unread, remainder, expected):
    verdict = v.c2_stride_fit(unread, remainder, 0.0002, 0.8)
    assert verdict.verdict == expected and "costs less compute" in verdict.explanation
    assert "0.02%" in verdict.explanation


def test_depth_limit_finds_first_failing_depth():
    acc = {
        ("plain", 1): GOOD,
        ("plain", 4): GOOD,
        ("plain", 10): CHANCE_ACC,
        ("resnet", 1): GOOD,
        ("resnet", 10): GOOD,
    }
    assert v.depth_limit(acc, 0.1) == {"plain": 10, "resnet": None}


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
    assert v.a1_linear_collapse(ident_r2, nonlin_r2, gain, FLAT).verdict == expected


def test_a1_names_the_linear_reference_as_optimisation_not_capacity():
    better = v.a1_linear_collapse(1.0, 0.8, UP, UP)
    assert better.verdict == "supported" and "not a larger function class" in better.explanation
    worse = v.a1_linear_collapse(1.0, 0.8, UP, DOWN)
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
    assert v.a2_sigmoid(shrink, vs_relu, sat, centering, step).verdict == expected


def test_a2_gradients_do_not_shrink_when_relu_shrinks_as_much():
    same_as_relu = Estimate(0.0, -0.1, 0.1, 4)
    verdict = v.a2_sigmoid(SHRINKS, same_as_relu, 0.3, UP, SLOWER)
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
    assert v.a3_zero_init(grad, acc, 0.1).verdict == expected


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
    assert v.a4_leaky(overall, per_lr, 0.3, 0.1).verdict == expected


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
    verdict = v.a5_relu(vs, {"relu": 1.0, "tanh": 0.1}, 0.5, {"relu": 1.0})
    assert verdict.verdict == expected and "50%" in verdict.explanation


@pytest.mark.parametrize(
    ("sign", "acc", "expected"),
    [
        (UP, UP, "supported"),
        (DOWN, DOWN, "refuted"),
        (UP, DOWN, "nuanced"),
        (FLAT, UP, "inconclusive"),
    ],
)
def test_d1(sign, acc, expected):
    assert v.d1_centering(sign, acc).verdict == expected


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
    assert v.w1_small_init({"relu": shallow}, deep, slope, BAND, 0.1).verdict == expected


def test_w1_judges_every_activation_in_small_nets():
    verdict = v.w1_small_init(
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
    assert v.w2_xavier(tanh, relu, BAND, deep, 0.1).verdict == expected


def test_w2_a_steady_seven_percent_loss_per_layer_is_not_stable():
    verdict = v.w2_xavier(SLOW_LOSS, SHRINKING, BAND, GOOD, 0.1)
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
    assert v.w3_kaiming(xavier, small, STABLE).verdict == expected


@pytest.mark.parametrize(
    ("strata", "expected"),
    [
        ({("conv", "kaiming"): (FLAT, UP), ("mlp", "kaiming"): (UP, FLAT)}, "supported"),
        ({("conv", "kaiming"): (DOWN, FLAT), ("mlp", "small"): (FLAT, DOWN)}, "refuted"),
        # one position wins in one family, the other in the other: directions differ
        ({("conv", "kaiming"): (FLAT, DOWN), ("mlp", "kaiming"): (UP, FLAT)}, "nuanced"),
        # the two measures disagree within one stratum
        ({("conv", "kaiming"): (UP, DOWN), ("mlp", "kaiming"): (UP, FLAT)}, "nuanced"),
        # after wins in one init, the intervals overlap in the other: not across init
        (
            {
                ("conv", "kaiming"): (FLAT, DOWN),
                ("conv", "small"): (FLAT, FLAT),
                ("mlp", "kaiming"): (DOWN, FLAT),
            },
            "inconclusive",
        ),
        # the same direction in one family only
        ({("conv", "kaiming"): (DOWN, DOWN), ("conv", "small"): (FLAT, DOWN)}, "inconclusive"),
        ({("conv", "kaiming"): (FLAT, FLAT), ("mlp", "kaiming"): (FLAT, FLAT)}, "inconclusive"),
        ({}, "inconclusive"),
    ],
)
def test_b1(strata, expected):
    assert v.b1_position(strata).verdict == expected


def test_b1_names_where_each_position_wins():
    strata = {("conv", "kaiming"): (FLAT, DOWN), ("mlp", "kaiming"): (UP, FLAT)}
    text = v.b1_position(strata).explanation
    assert "before wins in mlp/kaiming" in text and "after wins in conv/kaiming" in text


@pytest.mark.parametrize(
    ("bn", "none", "beta", "expected"),
    [
        (1.0, 0.1, DOWN, "supported"),
        (0.1, 1.0, UP, "refuted"),
        (1.0, 0.1, UP, "nuanced"),
        (1.0, 0.1, FLAT, "inconclusive"),
        (1.0, None, DOWN, "supported"),  # no rate trains without BN
    ],
)
def test_b2(bn, none, beta, expected):
    verdict = v.b2_why_bn(bn, none, beta)
    assert verdict.verdict == expected
    if bn and none:
        assert (
            verdict.numbers["top_lr_ratio"] == bn / none
            and f"(×{bn / none:g})" in verdict.key_number
        )


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ({"plain": 40, "resnet": 30}, "supported"),
        ({"plain": None, "resnet": None}, "refuted"),
        ({"plain": 40, "resnet": None}, "nuanced"),
    ],
)
def test_t1(steps, expected):
    assert v.t1_overfit(steps, 0.05).verdict == expected


@pytest.mark.parametrize(
    ("kind", "counts", "expected"),
    [
        ("stalled", {"raising": 3, "untested": 9}, "supported"),
        ("stalled", {"lowering": 2}, "refuted"),
        ("stalled", {"raising": 2, "lowering": 1}, "nuanced"),
        ("stalled", {"raising": 1, "untested": 20}, "inconclusive"),
        ("diverged", {"lowering": 4}, "supported"),
        ("diverged", {"lowering": 4, "none": 1}, "nuanced"),  # one diverged from init
        ("diverged", {"none": 2}, "refuted"),
        ("diverged", {"either": 3}, "inconclusive"),
    ],
)
def test_t2_t3_counterfactual(kind, counts, expected):
    assert v.t2_t3_counterfactual("T2", kind, counts).verdict == expected


@pytest.mark.parametrize(
    ("cv", "test", "edge", "regret", "expected"),
    [
        (0.001, 0.001, False, Estimate(0, 0, 0, 4), "supported"),
        (0.001, 0.003, True, UP, "refuted"),
        (0.01, 0.01, True, Estimate(0, 0, 0, 4), "nuanced"),
        (0.001, 0.003, False, FLAT, "inconclusive"),
        # regret CI within ±0.01 (it is >= 0 by construction): as good as peeking
        (0.01, 0.01, False, Estimate(0.001, -0.003, 0.005, 4), "supported"),
        # the same choice as the pooled test set, though the per-fold regret's CI is wide
        (0.03, 0.03, False, Estimate(0.005, -0.001, 0.0101, 4), "supported"),
    ],
)
def test_t4(cv, test, edge, regret, expected):
    verdict = v.t4_cv(cv, test, edge, regret, UP, 0.01)
    assert verdict.verdict == expected
    assert verdict.numbers["optimism"] == UP.mean and "optimism" in verdict.key_number
