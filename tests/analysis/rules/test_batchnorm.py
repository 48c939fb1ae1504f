"""The batchnorm rules (B1, B2) reach every outcome they can give, on synthetic numbers."""

from __future__ import annotations

import pytest

from ablate.analysis.rules import batchnorm

from .estimates import DOWN, FLAT, UP


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
    assert batchnorm.b1_position(strata).verdict == expected


def test_b1_names_where_each_position_wins():
    strata = {("conv", "kaiming"): (FLAT, DOWN), ("mlp", "kaiming"): (UP, FLAT)}
    text = batchnorm.b1_position(strata).explanation
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
    verdict = batchnorm.b2_why_bn(bn, none, beta)
    assert verdict.verdict == expected
    if bn and none:
        assert (
            verdict.numbers["top_lr_ratio"] == bn / none
            and f"(×{bn / none:g})" in verdict.key_number
        )
