"""Per-layer trends: a fitted slope per run, never an endpoint ratio."""

import numpy as np
import pandas as pd
import pytest

from ablate.analysis.depth_trend import log_slopes, slope_estimate, stable_band


def _layers(key: str, factor: float, layers: int = 10, dead_from: int | None = None):
    values = [factor**i for i in range(layers)]
    if dead_from is not None:
        values = [v if i < dead_from else 0.0 for i, v in enumerate(values)]
    return pd.DataFrame({"key": key, "layer_idx": range(layers), "act_std": values})


def test_slope_recovers_a_steady_per_layer_factor_that_an_endpoint_band_would_pass():
    rows = pd.concat([_layers("a", 0.93), _layers("b", 0.925), _layers("c", 0.935)])
    slopes = log_slopes(rows, "act_std")
    assert 10 ** slopes["a"] == pytest.approx(0.93)
    est = slope_estimate(rows, "act_std", pd.Series(["a", "b", "c"]))
    assert est.hi < -stable_band(20)  # 7-8% per layer is outside "within 2x over 20 layers"
    assert 0.93**9 > 0.2  # ...yet last/first stays inside the old 0.2-5 band


def test_dead_layers_are_left_out_and_too_few_give_nan():
    rows = pd.concat([_layers("a", 0.5, dead_from=5), _layers("b", 0.5, dead_from=2)])
    slopes = log_slopes(rows, "act_std")
    assert 10 ** slopes["a"] == pytest.approx(0.5) and np.isnan(slopes["b"])


def test_stable_band_compounds_to_two_over_the_net():
    assert (10 ** stable_band(20)) ** 20 == pytest.approx(2.0)
