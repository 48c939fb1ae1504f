"""The preprocessing rule (D1) reaches every outcome it can give, on synthetic numbers."""

from __future__ import annotations

import pytest

from ablate.analysis.rules import preprocessing

from .estimates import DOWN, FLAT, UP


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
    assert preprocessing.d1_centering(sign, acc).verdict == expected
