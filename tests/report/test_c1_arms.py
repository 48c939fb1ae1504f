"""C1's arms: a reduction, widened or not; the control is one arm whatever its flag."""

from __future__ import annotations

import pandas as pd

from ablate.report.convolution import c1_arms


def test_control_is_one_arm_and_widened_reductions_are_marked():
    runs = pd.DataFrame(
        {
            "reduction": ["none", "none", "pointwise", "pointwise", "subsample"],
            "match_flops": [False, True, False, True, True],
        }
    )
    assert c1_arms(runs).tolist() == [
        "none",
        "none",
        "pointwise",
        "pointwise @ matched FLOPs",
        "subsample @ matched FLOPs",
    ]
