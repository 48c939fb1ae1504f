"""The preprocessing rule (D1) reaches every outcome it can give, on synthetic numbers."""

from __future__ import annotations

import pytest

from ablate.analysis.rules import preprocessing
from ablate.analysis.stats import Estimate

from .estimates import DOWN, FLAT, UP

SAME_ACC = Estimate(0.002, -0.004, 0.008, 6)


@pytest.mark.parametrize(
    ("shift", "raw", "expected"),
    [
        (UP, UP, "supported"),
        (DOWN, DOWN, "refuted"),
        (UP, DOWN, "nuanced"),
        (UP, FLAT, "inconclusive"),
    ],
)
def test_d1(shift, raw, expected):
    speed = {("shift", "relu"): shift, ("raw", "relu"): raw}
    assert preprocessing.d1_centering(speed, {}, 0.5, 0.0075).verdict == expected


def test_d1_names_the_stratum_that_disagrees():
    speed = {("shift", "relu"): UP, ("shift", "tanh"): DOWN}
    verdict = preprocessing.d1_centering(speed, {}, 0.5, 0.0075)
    assert verdict.verdict == "nuanced"
    assert "fails: centred inputs reach the loss sooner than shift (tanh)" in verdict.explanation


def test_d1_states_an_accuracy_equivalence_with_its_margin():
    speed = {("raw", "relu"): UP}
    acc = {("raw", "relu"): SAME_ACC, ("shift", "relu"): UP}
    text = preprocessing.d1_centering(speed, acc, 0.5, 0.01).explanation
    assert "no effect larger than ±0.010 between centred and raw (relu)" in text
    assert "shift (relu)" not in text.split("Accuracy:")[1]


def test_d1_a_speed_difference_within_the_step_margin_is_no_effect():
    tied = Estimate(-1.0, -5.0, 2.0, 8, p=0.34)  # raw − centred, in steps
    speed = {("shift", "relu"): Estimate(116, 103, 132, 8, p=0.016), ("raw", "relu"): tied}
    # Without a margin the tie is unclear; within ±6 steps it is no effect: nuanced.
    assert preprocessing.d1_centering(speed, {}, 0.5, 0.0075).verdict == "inconclusive"
    verdict = preprocessing.d1_centering(speed, {}, 0.5, 0.0075, step_margin=6.0)
    assert verdict.verdict == "nuanced"
    assert "no difference larger than ±6 steps" in verdict.explanation
    # A margin narrower than the CI decides nothing.
    assert preprocessing.d1_centering(speed, {}, 0.5, 0.0075, 4.0).verdict == "inconclusive"
