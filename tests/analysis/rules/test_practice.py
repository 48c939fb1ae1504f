"""The practice rules (T1-T4) reach every outcome they can give, on synthetic numbers."""

from __future__ import annotations

import pytest

from ablate.analysis.rules import practice
from ablate.analysis.stats import Estimate

from .estimates import FLAT, UP


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ({"plain": 40, "resnet": 30}, "supported"),
        ({"plain": None, "resnet": None}, "refuted"),
        ({"plain": 40, "resnet": None}, "nuanced"),
    ],
)
def test_t1(steps, expected):
    assert practice.t1_overfit(steps, 0.05).verdict == expected


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
    assert practice.t2_t3_counterfactual("T2", kind, counts).verdict == expected


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
    verdict = practice.t4_cv(cv, test, edge, regret, UP, 0.01)
    assert verdict.verdict == expected
    assert verdict.numbers["optimism"] == UP.mean and "optimism" in verdict.key_number
