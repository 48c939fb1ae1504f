from __future__ import annotations

import pandas as pd
import pytest

from ablate.report.batchnorm import cell_means, run_medians

COL = "probe_smooth_beta_scaled"


def test_a_run_counts_once_by_the_median_of_its_probe_points():
    runs = pd.DataFrame({"key": ["a", "b"], COL: [99.0, 5.0]})  # a: its mean over points
    probes = pd.DataFrame(
        {"key": ["a"] * 4 + ["x"], "smooth_beta_scaled": [400.0, 1.0, 2.0, 3.0, 7.0]}
    )
    out = run_medians(runs, probes, [COL]).set_index("key")[COL]
    assert out.to_dict() == {"a": 2.5, "b": 5.0}  # b has no points: its own summary


def test_seeds_of_a_cell_are_one_unit():
    runs = pd.DataFrame(
        {"norm": ["batch", "batch", "none"], "lr": [0.1, 0.1, 0.1], "seed": [0, 1, 0]}
    ).assign(**{COL: [1.0, 3.0, 8.0]})
    units = cell_means(runs, ["norm", "lr"], COL)
    assert len(units) == 2
    assert units.set_index("norm")[COL].to_dict() == pytest.approx({"batch": 2.0, "none": 8.0})
