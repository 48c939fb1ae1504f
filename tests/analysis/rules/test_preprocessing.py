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
