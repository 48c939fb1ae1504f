"""Paired group contrasts count seeds (or (rate, seed) pairs) as units, never the settings
that share a seed."""

from __future__ import annotations

import pandas as pd
import pytest

from ablate.analysis.contrasts import by_stratum, contrast


def _runs(effect_by_depth: dict[int, float], seeds: int = 6) -> pd.DataFrame:
    rows = []
    for seed in range(seeds):
        for depth, effect in effect_by_depth.items():
            base = 0.5 + 0.01 * seed
            rows += [
                {"seed": seed, "depth": depth, "activation": "relu", "acc": base + effect},
                {"seed": seed, "depth": depth, "activation": "tanh", "acc": base},
            ]
    return pd.DataFrame(rows)


def test_depths_of_one_seed_are_averaged_not_counted():
    est = contrast(
        _runs({2: 0.1, 8: 0.3}), "activation", ["relu"], ["tanh"], "acc", within=["depth"]
    )
    assert est.n == 6 and est.unit == "seeds"
    assert est.mean == pytest.approx(0.2)
    assert est.p == pytest.approx(2 / 2**6)  # the least p six units allow


def test_strata_are_reported_apart():
    per = by_stratum(_runs({2: 0.1, 8: 0.3}), "depth", "activation", ["relu"], ["tanh"], "acc")
    assert list(per) == [2, 8]
    assert per[2].mean == pytest.approx(0.1) and per[8].mean == pytest.approx(0.3)


def test_a_group_enters_as_the_mean_of_its_arms():
    df = _runs({2: 0.2})
    extra = df[df["activation"] == "tanh"].assign(activation="abs", acc=lambda d: d["acc"] + 0.1)
    est = contrast(pd.concat([df, extra]), "activation", ["relu"], ["tanh", "abs"], "acc")
    assert est.mean == pytest.approx(0.15)


def test_rate_seed_pairs_and_missing_partners_are_counted():
    df = pd.concat([_runs({2: 0.1}).assign(lr=lr) for lr in (0.1, 0.3)])
    df = df[~((df["lr"] == 0.3) & (df["seed"] == 0) & (df["activation"] == "relu"))]
    est = contrast(df, "activation", ["relu"], ["tanh"], "acc", units=["lr", "seed"])
    assert est.unit == "(rate, seed) pairs" and est.n == 11 and est.dropped == {"no value": 1}


def test_a_missing_column_is_named():
    with pytest.raises(ValueError, match="'lr'"):
        contrast(_runs({2: 0.1}), "activation", ["relu"], ["tanh"], "acc", units=["lr", "seed"])
