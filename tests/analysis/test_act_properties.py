"""Activation properties are measured on the modules, and A5's strata differ in one."""

from __future__ import annotations

import pytest

from ablate.analysis.act_properties import measure, one_apart, table


@pytest.mark.parametrize(
    ("name", "sparse", "saturating", "smooth"),
    [
        ("relu", True, False, False),
        ("leaky_relu", False, False, False),
        ("abs", False, False, False),
        ("softplus", False, False, True),
        ("elu", False, False, True),
        ("gelu", False, False, True),
        ("tanh", False, True, True),
        ("hardtanh", False, True, False),
        ("sigmoid", False, True, True),
    ],
)
def test_measured_properties(name, sparse, saturating, smooth):
    assert measure(name) == {"sparse": sparse, "saturating": saturating, "smooth": smooth}


def test_each_stratum_differs_in_one_property_only():
    props = table(["relu", "leaky_relu", "abs", "softplus", "elu", "gelu", "tanh", "hardtanh"])
    assert one_apart(props, "sparse") == {
        "not saturating, not smooth": (["relu"], ["abs", "leaky_relu"])
    }
    assert one_apart(props, "saturating") == {
        "not sparse, not smooth": (["hardtanh"], ["abs", "leaky_relu"]),
        "not sparse, smooth": (["tanh"], ["elu", "gelu", "softplus"]),
    }
    assert set(one_apart(props, "smooth")) == {
        "not sparse, not saturating",
        "not sparse, saturating",
    }


def test_an_unknown_property_is_named():
    with pytest.raises(ValueError, match="'bounded'.*sparse, saturating, smooth"):
        one_apart({}, "bounded")
