from __future__ import annotations

import pandas as pd

from ablate.report.bn_measures import run_medians

COL = "probe_smooth_beta_scaled"


def test_a_run_counts_once_by_the_median_of_its_probe_points():
    runs = pd.DataFrame({"key": ["a", "b"], COL: [99.0, 5.0]})  # a: its mean over points
    probes = pd.DataFrame(
        {"key": ["a"] * 4 + ["x"], "smooth_beta_scaled": [400.0, 1.0, 2.0, 3.0, 7.0]}
    )
    out = run_medians(runs, probes, [COL]).set_index("key")[COL]
    assert out.to_dict() == {"a": 2.5, "b": 5.0}  # b has no points: its own summary
