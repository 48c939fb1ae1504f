"""The convolution rules (C1-C4) reach every outcome they can give, on synthetic numbers."""

from __future__ import annotations

import pytest

from ablate.analysis.rules import common, convolution
from ablate.analysis.stats import Estimate

from .estimates import DOWN, FLAT, UP

MARGIN = 0.0075  # a quarter of the errors at 0.97
NO_LOSS = Estimate(0.001, -0.004, 0.006, 6)  # CI within ±MARGIN
TOO_WIDE = Estimate(-0.002, -0.037, 0.033, 6)  # spans 0, wider than ±MARGIN
PRICE = Estimate(-0.009, -0.012, -0.006, 6)  # the equal-width cost of the cut


def test_margin_is_a_quarter_of_the_errors_with_a_floor():
    assert common.margin(0.97) == pytest.approx(0.0075)
    assert common.margin(0.999) == common.MIN_MARGIN
    assert common.margin(float("nan")) == common.MIN_MARGIN


@pytest.mark.parametrize(
    ("mixing", "flops", "params", "expected"),
    [
        (UP, 0.1, 0.4, "supported"),
        (DOWN, 0.1, 0.4, "nuanced"),  # the grouped branch beats mixing
        (FLAT, 0.1, 0.4, "inconclusive"),  # mixing undecided
        (NO_LOSS, 0.1, 0.4, "nuanced"),  # mixing makes no difference
        (DOWN, 1.2, 1.1, "refuted"),
    ],
)
def test_c1(mixing, flops, params, expected):
    verdict = convolution.c1_bottleneck(mixing, UP, PRICE, flops, params, 1.0, MARGIN)
    assert verdict.verdict == expected
    assert verdict.numbers["equal_width_cost"] == PRICE.mean


def test_c1_reports_the_equal_width_price_and_which_part_is_unclear():
    verdict = convolution.c1_bottleneck(FLAT, UP, PRICE, 0.1, 0.4, 1.0, MARGIN)
    assert "-0.009 [-0.012, -0.006]" in verdict.key_number
    assert "costs accuracy" in verdict.explanation
    assert "unclear (CI spans the threshold): its mixing beats a grouped" in verdict.explanation


def test_c1_needs_a_test_that_agrees():
    """A CI above 0 whose p-value is not under 0.05 decides nothing."""
    adjusted = Estimate(0.05, 0.02, 0.08, 10, p=0.2)
    verdict = convolution.c1_bottleneck(adjusted, UP, PRICE, 0.1, 0.4, 1.0, MARGIN)
    assert verdict.verdict == "inconclusive"


def test_c1_reports_accuracy_at_matched_flops_without_deciding_on_it():
    """The notes claim reduction and mixing, not accuracy parity: the matched net's cost is
    worded from its non-inferiority test and its CI, and moves no verdict."""
    flat = Estimate(-0.002, -0.006, 0.001, 7, p=0.19)
    costly = Estimate(-0.05, -0.08, -0.02, 7, p=0.01)
    calls = {
        "is not worse by": (flat, 0.016),
        "may cost up to": (flat, 0.4),
        "costs accuracy (reported": (costly, 0.5),
    }
    for words, (matched, p) in calls.items():
        verdict = convolution.c1_bottleneck(UP, matched, PRICE, 0.1, 0.4, 1.0, MARGIN, p)
        assert verdict.verdict == "supported" and len(verdict.parts) == 2
        assert words in verdict.explanation, words
    unmatched = convolution.c1_bottleneck(UP, flat, PRICE, 0.1, 0.4, 1.3, MARGIN, 0.016)
    assert "not measured (FLOPs not matched" in unmatched.explanation


@pytest.mark.parametrize(
    ("unread", "remainder", "expected"),
    [
        ({"k3s2": DOWN, "k5s3": DOWN}, {"k5s3p1": DOWN}, "supported"),
        ({"k3s2": DOWN, "k5s3": DOWN}, {"k5s3p1": NO_LOSS}, "nuanced"),  # a remainder alone: no
        ({"k3s2": NO_LOSS, "k5s3": DOWN}, {}, "nuanced"),  # the strata disagree
        ({"k3s2": NO_LOSS, "k5s3": NO_LOSS}, {"k5s3p1": NO_LOSS}, "refuted"),
        ({"k3s2": FLAT, "k5s3": DOWN}, {}, "inconclusive"),
        ({"k3s2": DOWN, "k5s3": DOWN}, {"k5s3p1": TOO_WIDE}, "inconclusive"),
        ({"k3s2": UP, "k5s3": UP}, {}, "refuted"),  # unread pixels help: not the claim
    ],
)
def test_c2(unread, remainder, expected):
    verdict = convolution.c2_stride_fit(unread, remainder, 0.041, 0.86, MARGIN, 4)
    assert verdict.verdict == expected
    assert "×0.86 the FLOPs" in verdict.explanation and "less compute, not more" in (
        verdict.explanation
    )
    assert "4.1%" in verdict.key_number and "moved 4px" in verdict.key_number


def test_an_equivalence_finding_reads_no_effect_larger_than_the_margin():
    verdict = convolution.c2_stride_fit({"k3s2": NO_LOSS}, {}, 0.04, 0.86, MARGIN, 4)
    assert verdict.verdict == "refuted"
    assert "No effect larger than ±0.0075" in verdict.explanation
    assert "k3s2 +0.001 [-0.004, +0.006]" in verdict.explanation


def test_c2_names_the_stratum_that_disagrees():
    verdict = convolution.c2_stride_fit(
        {"k3s2p0 − k3s2p1": NO_LOSS, "k5s3p0 − k5s3p1": DOWN}, {}, 0.07, 0.86, MARGIN, 4
    )
    assert "holds: unread pixels cost accuracy (k5s3p0 − k5s3p1)" in verdict.explanation
    assert "fails: unread pixels cost accuracy (k3s2p0 − k3s2p1)" in verdict.explanation


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


def _counts(plain_deep: int) -> dict[tuple[str, int], tuple[int, int]]:
    return {
        ("resmlp", 8): (6, 6),
        ("resmlp", 50): (6, 6),
        ("resmlp_noskip", 8): (6, 6),
        ("resmlp_noskip", 50): (plain_deep, 6),
    }


@pytest.mark.parametrize(
    ("families", "ratio", "gap", "degrade", "expected"),
    [
        ({"resnet": UP, "inception": UP}, 1.0, UP, UP, "supported"),
        ({"resnet": UP, "inception": NO_LOSS}, 1.0, UP, UP, "nuanced"),  # one family: no gain
        ({"resnet": UP, "inception": UP}, 1.0, DOWN, UP, "nuanced"),  # no degradation gap
        ({"resnet": NO_LOSS, "inception": DOWN}, 1.0, DOWN, DOWN, "refuted"),
        ({"resnet": UP, "inception": UP}, 1.0, FLAT, UP, "inconclusive"),  # gap undecided
        ({"resnet": UP, "inception": UP}, 1.4, UP, UP, "inconclusive"),  # cost not matched
    ],
)
def test_c4_outcomes(families, ratio, gap, degrade, expected):
    v = convolution.c4_architectures(
        families, dict.fromkeys(families, ratio), {8: FLAT, 50: gap}, degrade, _counts(6), MARGIN
    )
    assert v.verdict == expected
    assert {f"diff_{a}" for a in families} <= set(v.numbers)
    assert "50 layers: final train loss plain − residual" in v.key_number


def test_c4_counts_the_runs_that_train_per_depth():
    v = convolution.c4_architectures(
        {"resnet": UP}, {"resnet": 1.0}, {8: FLAT, 50: UP}, UP, _counts(1), MARGIN
    )
    assert "resmlp 6/6, 6/6; resmlp_noskip 6/6, 1/6" in v.key_number
    assert "resmlp_noskip from 50 layers" in v.explanation
    assert "resmlp at no depth tried" in v.explanation
    assert v.numbers["depth_limit_resmlp_noskip"] == 50


def test_stops_training_is_the_first_depth_where_most_runs_fail():
    counts = {("a", 1): (6, 6), ("a", 3): (3, 6), ("a", 9): (2, 6), ("b", 1): (6, 6)}
    assert convolution.stops_training(counts) == {"a": 9, "b": None}
