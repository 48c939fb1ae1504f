from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ablate.analysis.floor import flag_collapsed
from ablate.analysis.paired import paired_diff

LN10 = math.log(10)


def test_collapsed_by_classes_predicted_when_recorded():
    df = pd.DataFrame(
        {
            "test_classes_predicted": [1, 10, np.nan],
            "test_acc": [0.5, 0.09, 0.087],  # the 2nd predicts every class: not collapsed
            "test_loss": [LN10 + 1, LN10 + 1, LN10 + 0.2],
            "classes": [10, 10, 10],
        }
    )
    assert flag_collapsed(df)["collapsed"].tolist() == [True, False, True]


def test_collapsed_by_loss_and_majority_share():
    df = pd.DataFrame(
        {
            "test_acc": [0.118, 0.118, 0.118, 0.9, np.nan],
            "test_loss": [LN10, LN10, 1.0, LN10, np.nan],
            "majority_acc": [0.118, np.nan, 0.118, 0.118, 0.118],
            "classes": [10] * 5,
        }
    )
    # 2nd: no majority share recorded, so the floor is 1/classes and 0.118 is above it;
    # 3rd: a loss well below ln(10) is learning; 5th: diverged, not collapsed.
    assert flag_collapsed(df)["collapsed"].tolist() == [True, False, False, False, False]


def test_a_collapsed_run_is_left_out_of_the_effect_and_counted():
    df = pd.DataFrame(
        {
            "arm": ["leaky", "relu"] * 4,
            "lr": [0.01, 0.01, 0.1, 0.1, 0.3, 0.3, 1.0, 1.0],
            "seed": [0] * 8,
            "status": ["ok"] * 6 + ["diverged", "ok"],
            "test_acc": [0.90, 0.88, 0.91, 0.90, 0.89, 0.087, np.nan, 0.5],
            "test_loss": [0.3, 0.4, 0.3, 0.3, 0.3, LN10 + 0.5, np.nan, 1.5],
            "classes": [10] * 8,
        }
    )
    kept = paired_diff(df, "arm", "leaky", "relu", ["lr", "seed"], drop_failed=True)
    assert kept.n == 2 and kept.mean == pytest.approx(0.015)
    assert kept.dropped == {"collapsed: relu": 1, "diverged: leaky": 1}
    assert kept.dropped_note() == "2 pairs left out (collapsed: relu 1, diverged: leaky 1)"
    # Without the option the floor run inflates the effect; the diverged pair has no value.
    inflated = paired_diff(df, "arm", "leaky", "relu", ["lr", "seed"])
    assert inflated.n == 3 and inflated.mean > 0.2
    assert inflated.dropped == {"diverged: leaky": 1}


def test_a_cell_where_one_seed_collapsed_is_left_out_whole():
    # Three cells of two seeds; in cell "b" seed 1's maxpool run collapsed, and its seed 0
    # (trained, but at the edge of training) differs wildly: it must not stand for "b".
    rows = []
    for cell, (d0, d1) in {"a": (-0.01, -0.012), "b": (0.3, None), "c": (-0.011, -0.009)}.items():
        for seed, d in enumerate((d0, d1)):
            collapsed = d is None
            rows += [
                {"cell": cell, "arm": "conv", "seed": seed, "test_acc": 0.6 + (d or 0.0)},
                {"cell": cell, "arm": "pool", "seed": seed, "test_acc": 0.1 if collapsed else 0.6},
            ]
    df = pd.DataFrame(rows).assign(
        status="ok",
        classes=10,
        test_classes_predicted=lambda d: np.where(d["test_acc"] == 0.1, 1, 10),
    )
    est = paired_diff(df, "arm", "conv", "pool", ["cell", "seed"], drop_failed=True)
    assert est.unit == "cells" and est.n == 2 and est.mean == pytest.approx(-0.0105)
    assert est.dropped == {"collapsed: pool": 1, "the other seeds of a cell where one failed": 1}
