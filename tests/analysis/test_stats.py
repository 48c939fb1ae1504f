from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ablate.analysis.stats import bootstrap, intervals_overlap, level_means, paired_diff


def test_bootstrap_ci_brackets_the_mean_and_shrinks_with_n():
    rng = np.random.default_rng(1)
    small = bootstrap(rng.normal(0.5, 0.1, 10))
    large = bootstrap(rng.normal(0.5, 0.1, 1000))
    assert small.lo < small.mean < small.hi
    assert (large.hi - large.lo) < (small.hi - small.lo)
    assert large.lo < 0.5 < large.hi


def test_bootstrap_is_repeatable_and_ignores_nan():
    values = [0.1, 0.4, float("nan"), 0.3]
    assert bootstrap(values) == bootstrap(values)
    assert bootstrap(values).n == 3
    assert bootstrap([]).n == 0


def test_paired_diff_matches_on_other_axes():
    df = pd.DataFrame(
        {
            "ds": ["pool", "stride"] * 4,
            "arch": ["a", "a", "b", "b"] * 2,
            "seed": [0, 0, 0, 0, 1, 1, 1, 1],
            "test_acc": [0.5, 0.6, 0.7, 0.75, 0.52, 0.61, 0.69, 0.76],
        }
    )
    est = paired_diff(df, "ds", "stride", "pool", ["arch", "seed"])
    assert est.n == 4
    assert est.mean == pytest.approx(np.mean([0.1, 0.05, 0.09, 0.07]))
    assert est.compare() == "higher"


def test_level_means_and_overlap():
    df = pd.DataFrame(
        {
            "act": ["relu"] * 5 + ["tanh"] * 5,
            "test_acc": [0.9, 0.91, 0.92, 0.9, 0.91, 0.5, 0.52, 0.51, 0.5, 0.49],
        }
    )
    means = level_means(df, "act").set_index("act")
    assert means.loc["relu", "mean"] == pytest.approx(0.908)
    assert means.loc["tanh", "n"] == 5
    a, b = bootstrap(df["test_acc"][:5]), bootstrap(df["test_acc"][5:])
    assert not intervals_overlap(a, b) and intervals_overlap(a, a)
