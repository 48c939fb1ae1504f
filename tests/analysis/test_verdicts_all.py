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


@pytest.mark.parametrize(
    ("unread", "diff", "expected"),
    [
        (0.07, DOWN, "supported"),
        (0.07, UP, "nuanced"),
        (0.0, UP, "refuted"),
        (0.07, FLAT, "inconclusive"),
    ],
)
def test_c2(unread, diff, expected):
    verdict = v.c2_stride_fit(unread, diff, 0.8)
    assert verdict.verdict == expected and "costs less compute" in verdict.explanation


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
    ("ident", "nonlin", "expected"),
    [
        (FLAT, UP, "supported"),
        (UP, DOWN, "refuted"),
        (FLAT, FLAT, "inconclusive"),
        (UP, UP, "nuanced"),
    ],
)
def test_a1(ident, nonlin, expected):
    assert v.a1_linear_collapse(ident, nonlin).verdict == expected


@pytest.mark.parametrize(
    ("grad", "mean", "cost", "expected"),
    [
        (0.01, 0.5, Estimate(2, 1.5, 2.5, 9), "supported"),
        (2.0, 0.0, Estimate(0.5, 0.4, 0.6, 9), "refuted"),
        (0.01, 0.5, Estimate(0.5, 0.4, 0.6, 9), "nuanced"),
        (0.01, 0.5, Estimate(1.0, 0.8, 1.2, 9), "inconclusive"),
    ],
)
def test_a2(grad, mean, cost, expected):
    assert v.a2_sigmoid(grad, 0.5, mean, cost, 0.3).verdict == expected


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


@pytest.mark.parametrize(
    ("shallow", "deep", "ratio", "expected"),
    [
        (GOOD, CHANCE_ACC, 1e-6, "supported"),
        (CHANCE_ACC, GOOD, 1.0, "refuted"),
        (GOOD, GOOD, 1e-6, "nuanced"),
        (GOOD, WIDE, 1e-6, "inconclusive"),
    ],
)
def test_w1(shallow, deep, ratio, expected):
    assert v.w1_small_init(shallow, deep, ratio, 0.1).verdict == expected


@pytest.mark.parametrize(
    ("tanh", "relu", "deep", "expected"),
    [
        (1.0, 0.01, GOOD, "supported"),
        (0.01, 1.0, CHANCE_ACC, "refuted"),
        (1.0, 1.0, GOOD, "nuanced"),
        (1.0, 0.01, WIDE, "inconclusive"),
    ],
)
def test_w2(tanh, relu, deep, expected):
    assert v.w2_xavier(tanh, relu, deep, 0.1).verdict == expected


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
    assert v.w3_kaiming(xavier, small, 1.0).verdict == expected


@pytest.mark.parametrize(
    ("diff", "expected"), [(UP, "supported"), (DOWN, "refuted"), (FLAT, "inconclusive")]
)
def test_b1(diff, expected):
    assert v.b1_position(diff, UP).verdict == expected


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


STALL_OK = {1e-4: ["stalled"], 1e-2: ["healthy"], 10.0: ["diverged"]}


@pytest.mark.parametrize(
    ("arms", "kind", "expected"),
    [
        ({"none": STALL_OK, "batch": STALL_OK}, "stalled", "supported"),
        ({"none": {1e-4: ["healthy"], 1e-2: ["healthy"], 10.0: ["stalled"]}}, "stalled", "refuted"),
        ({"none": {1e-4: ["stalled"], 1e-2: ["healthy"], 10.0: ["stalled"]}}, "stalled", "nuanced"),
        ({"none": {1e-4: ["healthy"], 1e-2: ["healthy"]}}, "stalled", "inconclusive"),
        (
            {"none": STALL_OK, "batch": {1e-4: ["healthy"], 10.0: ["healthy"]}},
            "diverged",
            "inconclusive",
        ),
        ({"none": STALL_OK}, "diverged", "supported"),
        (
            {"none": {1e-4: ["diverged"], 1e-2: ["healthy"], 10.0: ["healthy"]}},
            "diverged",
            "refuted",
        ),
    ],
)
def test_t2_t3(arms, kind, expected):
    assert v.t2_t3_lr("T2", arms, kind).verdict == expected


@pytest.mark.parametrize(
    ("cv", "test", "edge", "regret", "expected"),
    [
        (0.001, 0.001, False, Estimate(0, 0, 0, 4), "supported"),
        (0.001, 0.003, True, UP, "refuted"),
        (0.01, 0.01, True, Estimate(0, 0, 0, 4), "nuanced"),
        (0.001, 0.003, False, FLAT, "inconclusive"),
        # regret CI within ±0.01 (it is >= 0 by construction): as good as peeking
        (0.01, 0.01, False, Estimate(0.001, -0.003, 0.005, 4), "supported"),
    ],
)
def test_t4(cv, test, edge, regret, expected):
    verdict = v.t4_cv(cv, test, edge, regret, UP, 0.01)
    assert verdict.verdict == expected
    assert verdict.numbers["optimism"] == UP.mean and "optimism" in verdict.key_number
