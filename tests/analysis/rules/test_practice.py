"""The practice rules (T1-T4) reach every outcome they can give, on synthetic numbers."""

from __future__ import annotations

import pytest

from ablate.analysis.rules import practice
from ablate.analysis.stats import Estimate

from .estimates import DOWN, FLAT, UP

FIT = {"plain": [0.003, 0.004, 0.002], "mlp": [0.03, 0.01, 0.02]}
STUCK = {"plain": [2.2, 2.25, 2.21], "mlp": [2.1, 2.2, 2.15]}


@pytest.mark.parametrize(
    ("reached", "control", "expected"),
    [
        (FIT, STUCK, "supported"),
        (STUCK, STUCK, "refuted"),
        ({"plain": FIT["plain"], "mlp": [0.01, 0.9, 0.02]}, STUCK, "nuanced"),
        (FIT, {}, "inconclusive"),  # a check without a negative control cannot fail
        (FIT, {"plain": [0.01, 2.2, 2.2]}, "inconclusive"),  # the broken setup passes too
    ],
)
def test_t1(reached, control, expected):
    assert practice.t1_overfit(reached, control, 0.05).verdict == expected


def test_t1_separation_is_an_exact_rank_test():
    verdict = practice.t1_overfit(FIT, STUCK, 0.05)
    assert verdict.numbers["separation_p"] == pytest.approx(1 / 924)  # 1 / C(12, 6)
    assert "control 0/6" in verdict.key_number


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
        (0.001, 0.003, True, UP, "nuanced"),  # peeking inflates, yet CV picks worse
        (0.01, 0.01, True, Estimate(0, 0, 0, 4), "nuanced"),
        (0.001, 0.003, False, FLAT, "inconclusive"),
        # regret CI within ±0.01 (it is >= 0 by construction): as good as peeking
        (0.01, 0.01, False, Estimate(0.001, -0.003, 0.005, 4), "supported"),
        # the same choice as the pooled test set, though the per-fold regret's CI is wide
        (0.03, 0.03, False, Estimate(0.005, -0.001, 0.0101, 4), "supported"),
    ],
)
def test_t4(cv, test, edge, regret, expected):
    verdict = practice.t4_cv(cv, test, edge, regret, UP, 0.01, {2: FLAT, 8: UP}, 0.01)
    assert verdict.verdict == expected
    assert verdict.numbers["optimism_k8"] == UP.mean
    assert "test-best of 8 configurations" in verdict.key_number


def test_t4_without_measured_inflation_is_not_supported():
    same = Estimate(0, 0, 0, 4)
    assert (
        practice.t4_cv(0.01, 0.01, False, same, UP, 0.0, {8: FLAT}, 0.01).verdict == "inconclusive"
    )
    assert practice.t4_cv(0.01, 0.01, False, same, UP, 0.0, {}, 0.01).verdict == "inconclusive"
    refuted = practice.t4_cv(0.001, 0.003, True, UP, UP, 0.0, {8: DOWN}, 0.01)
    assert refuted.verdict == "refuted"
