"""Per-layer trends: a fitted slope per run, never an endpoint ratio."""

import numpy as np
import pandas as pd
import pytest

from ablate.analysis.depth_trend import (
    layer_fits,
    log_slopes,
    signal_fit,
    slope_estimate,
    stable_band,
)


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


def _curve(key: str, values: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"key": key, "layer_idx": range(len(values)), "act_std": values})


def test_a_power_law_is_told_from_a_constant_factor_and_read_over_the_net():
    noise = [1.0, 1.01, 0.99]
    power = pd.concat(
        [
            _curve(k, [n * (i + 1) ** -0.5 for i in range(30)])
            for k, n in zip("abc", noise, strict=True)
        ]
    )
    fit = signal_fit(power, "act_std", pd.Series(list("abc")))
    assert fit.model == "power law" and (fit.wins, fit.runs) == (3, 3)
    assert fit.param.mean == pytest.approx(-0.5)
    assert 10**fit.change.mean == pytest.approx(30**-0.5)  # first -> last layer
    steady = pd.concat([_curve(k, [0.7**i for i in range(30)]) for k in "de"])
    fit = signal_fit(steady, "act_std", pd.Series(list("de")))
    assert fit.model == "constant factor" and 10**fit.param.mean == pytest.approx(0.7)
    assert 10**fit.change.mean == pytest.approx(0.7**29)


def test_layer_fits_leave_out_runs_without_three_live_layers():
    rows = pd.concat([_curve("a", [1.0, 0.5, 0.25, 0.1]), _curve("b", [1.0, 0.0, 0.0, 0.0])])
    assert list(layer_fits(rows, "act_std").index) == ["a"]
    assert signal_fit(rows, "act_std", pd.Series(["b"])) is None
