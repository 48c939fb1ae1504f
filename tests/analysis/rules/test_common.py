"""The shared rule helpers: how sub-claims combine, what an undecided comparison
would need, and that one value never decides."""

from __future__ import annotations

from ablate.analysis.rules import activations, common, convolution, init
from ablate.analysis.stats import Estimate


def test_from_parts_covers_all_outcomes():
    assert common.from_parts("X", {"a": True, "b": True}, "", {}, "d").verdict == "supported"
    assert common.from_parts("X", {"a": False, "b": False}, "", {}, "d").verdict == "refuted"
    assert common.from_parts("X", {"a": True, "b": False}, "", {}, "d").verdict == "nuanced"
    assert common.from_parts("X", {"a": True, "b": None}, "", {}, "d").verdict == "inconclusive"
    assert common.from_parts("X", {"a": False, "b": None}, "", {}, "d").verdict == "refuted"
    text = common.from_parts("X", {"a": True, "b": False}, "", {}, "d").explanation
    assert "holds: a" in text and "fails: b" in text


def test_an_undecided_comparison_says_how_many_replicates_it_would_need():
    flat = Estimate(0.01, -0.02, 0.04, 4, p=0.5, sd=0.03, unit="cells")
    text = convolution.c3_strided_vs_pool(flat, {"plain": flat}, 1.5, 1.2).explanation
    assert "n = 4 cells" in text and "~71" in text


def test_a_single_value_never_decides():
    one = Estimate(0.5, 0.5, 0.5, 1)
    assert one.compare() == "overlap"
    assert convolution.c3_strided_vs_pool(one, {"plain": one}, 1.5, 1.2).verdict == ("inconclusive")
    no_ci = Estimate(0.9, float("nan"), float("nan"), 1)
    w3 = init.w3_kaiming(init.Count(8, 8), init.Count(0, 8), no_ci, no_ci, 30, 0.5)
    assert w3.verdict == "inconclusive"
    assert activations.a3_zero_init(0.0, no_ci, 0.1).verdict == "inconclusive"
