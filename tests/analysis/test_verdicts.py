"""Every verdict rule reaches each of its outcomes on synthetic estimates."""

from __future__ import annotations

import pytest

from ablate.analysis import verdicts
from ablate.analysis.stats import Estimate

UP = Estimate(0.05, 0.02, 0.08, 10)
DOWN = Estimate(-0.05, -0.08, -0.02, 10)
FLAT = Estimate(0.01, -0.02, 0.04, 10)


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
    v = verdicts.c3_strided_vs_pool(diff, per_arch, flops, params)
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
    v = verdicts.c4_depth(diffs, limits)
    assert v.verdict == expected
    assert {f"diff_{a}" for a in diffs} <= set(v.numbers)
    if limits:
        assert "stops" in v.key_number


def test_c4_needs_some_evidence():
    with pytest.raises(verdicts.MissingEvidence):
        verdicts.c4_depth({}, {})


def test_an_undecided_comparison_says_how_many_replicates_it_would_need():
    flat = Estimate(0.01, -0.02, 0.04, 4, p=0.5, sd=0.03, unit="cells")
    text = verdicts.c3_strided_vs_pool(flat, {"plain": flat}, 1.5, 1.2).explanation
    assert "n = 4 cells" in text and "~71" in text


def test_a_single_value_never_decides():
    one = Estimate(0.5, 0.5, 0.5, 1)
    assert one.compare() == "overlap"
    assert verdicts.c4_depth({"resnet": one}, {}).verdict == "inconclusive"
    no_ci = Estimate(0.9, float("nan"), float("nan"), 1)
    assert verdicts.w1_small_init({"relu": no_ci}, no_ci, no_ci, 0.015, 0.1).verdict == (
        "inconclusive"
    )
    assert verdicts.a3_zero_init(0.0, no_ci, 0.1).verdict == "inconclusive"
