"""The convolution rules (C1-C4) reach every outcome they can give, on synthetic numbers."""

from __future__ import annotations

import pytest

from ablate.analysis.rules import common, convolution
from ablate.analysis.stats import Estimate

from .estimates import CHANCE_ACC, DOWN, FLAT, GOOD, UP

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
    verdict = convolution.c1_bottleneck(mixing, matched, flops, params, matched_flops)
    assert verdict.verdict == expected
    assert verdict.numbers["matched_flops_ratio"] == matched_flops


def test_c1_needs_a_test_that_agrees_after_holm():
    """A CI above 0 whose (Holm-adjusted) p-value is not under 0.05 decides nothing."""
    adjusted = Estimate(0.05, 0.02, 0.08, 10, p=0.2)
    assert convolution.c1_bottleneck(adjusted, UP, 0.1, 0.4, 1.0).verdict == "inconclusive"


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
    verdict = convolution.c2_stride_fit(unread, remainder, 0.0002, 0.8)
    assert verdict.verdict == expected and "costs less compute" in verdict.explanation
    assert "0.02%" in verdict.explanation


@pytest.mark.parametrize(
    ("diff", "per_arch", "flops", "params", "expected"),
    [
        (UP, {"plain": UP, "resnet": UP}, 1.5, 1.2, "supported"),
        (UP, {"plain": UP, "resnet": FLAT}, 0.5, 1.0, "nuanced"),  # better and cheaper
        (FLAT, {"plain": UP, "resnet": DOWN}, 1.5, 1.2, "nuanced"),  # depends on family
        (FLAT, {"plain": DOWN, "resnet": FLAT}, 1.5, 1.2, "nuanced"),  # one family decides
        (DOWN, {"plain": DOWN, "resnet": FLAT}, 1.5, 1.2, "nuanced"),  # costs as claimed
        (DOWN, {"plain": DOWN, "resnet": FLAT}, 0.5, 0.9, "refuted"),
        (FLAT, {"plain": FLAT, "resnet": FLAT}, 1.5, 1.2, "inconclusive"),
    ],
)
def test_c3_outcomes(diff, per_arch, flops, params, expected):
    v = convolution.c3_strided_vs_pool(diff, per_arch, flops, params)
    assert v.verdict == expected
    assert v.numbers["acc_diff"] == diff.mean and v.numbers["flops_ratio"] == flops
    assert f"{diff.mean:+.3f}" in v.key_number


@pytest.mark.parametrize(
    ("diffs", "limits", "expected"),
    [
        ({"resnet": UP}, {"resnet_noskip": 6, "resnet": None}, "supported"),
        ({"resnet": DOWN}, {"resnet_noskip": None, "resnet": 3}, "refuted"),
        ({"resnet": DOWN}, {"resnet_noskip": 3, "resnet": None}, "nuanced"),
        ({"resnet": FLAT}, {"resnet_noskip": 3, "resnet": None}, "inconclusive"),
        ({"resnet": UP}, {"resnet_noskip": None, "resnet": None}, "inconclusive"),
        ({}, {"resnet_noskip": 3, "resnet": 6}, "supported"),  # the grid has one family
        ({"resnet": UP, "inception": FLAT}, {}, "inconclusive"),
    ],
)
def test_c4_outcomes(diffs, limits, expected):
    v = convolution.c4_depth(diffs, limits)
    assert v.verdict == expected
    assert {f"diff_{a}" for a in diffs} <= set(v.numbers)
    if limits:
        assert "stops" in v.key_number


def test_c4_needs_some_evidence():
    with pytest.raises(common.MissingEvidence):
        convolution.c4_depth({}, {})


def test_depth_limit_finds_first_failing_depth():
    acc = {
        ("plain", 1): GOOD,
        ("plain", 4): GOOD,
        ("plain", 10): CHANCE_ACC,
        ("resnet", 1): GOOD,
        ("resnet", 10): GOOD,
    }
    assert convolution.depth_limit(acc, 0.1) == {"plain": 10, "resnet": None}
