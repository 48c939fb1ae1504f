import itertools

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from ablate.analysis.importance import as_metrics, trainability_table
from ablate.analysis.trainability import (
    logistic,
    measured,
    separation,
    shares,
    trainability,
    trained,
)

MAJORITY = 0.12


def grid(rule, seeds: int = 2, **levels: list[str]) -> pd.DataFrame:
    """One run per combination of `levels` and seed; `rule(row)` says whether it trains."""
    rows = []
    for i, values in enumerate(itertools.product(*levels.values(), range(seeds))):
        row = dict(zip([*levels, "seed"], values, strict=True))
        acc = 0.9 if rule(row) else MAJORITY
        rows.append(
            {
                "study": "main",
                "key": f"k{i:03d}",
                "status": "ok",
                **row,
                "lr": 0.1,
                "val_acc": acc,
                "test_acc": acc,
                "majority_acc": MAJORITY,
                "classes": 10,
            }
        )
    return pd.DataFrame(rows)


def main_like() -> pd.DataFrame:
    """Every BN net trains; without BN, only Kaiming init with a non-sigmoid activation."""
    return grid(
        lambda r: r["norm"] == "batch" or (r["init"] == "kaiming" and r["activation"] != "sig"),
        activation=["relu", "sig", "tanh"],
        init=["kaiming", "small"],
        norm=["batch", "none"],
    )


def test_trained_is_ok_and_above_the_majority_share_by_a_margin():
    df = pd.DataFrame(
        {
            "status": ["ok", "ok", "diverged", "ok", "ok"],
            "test_acc": [0.9, 0.21, np.nan, 0.23, 0.3],
            "majority_acc": [0.12, 0.12, 0.12, 0.12, np.nan],
            "classes": [10, 10, 10, 10, 5],  # the last falls back to 1/classes = 0.2
        }
    )
    assert trained(df).tolist() == [True, False, False, True, False]
    given = df.assign(trained=[False, True, None, True, True])  # another rule's column wins
    assert trained(given).tolist() == [False, True, False, True, True]


def test_shares_have_exact_binomial_intervals():
    rows = measured(main_like(), ["activation", "init", "norm"])
    table = shares(rows, ["activation", "init", "norm"]).set_index(["kind", "axis", "level"])
    none = table.loc[("level", "norm", "none")]
    assert (none["trained"], none["runs"]) == (4, 12)
    lo, hi = proportion_confint(4, 12, alpha=0.05, method="beta")
    assert (none["lo"], none["hi"]) == pytest.approx((lo, hi))
    pair = table.loc[("pair", "init:norm", "small:none")]
    assert (pair["trained"], pair["runs"], pair["share"]) == (0, 6, 0.0)
    assert pair["lo"] == 0.0 and 0 < pair["hi"] < 1  # never a degenerate [0, 0]


def test_separation_sets_aside_the_deciding_levels_step_by_step():
    result = trainability(main_like(), ["activation", "init", "norm"])
    steps = result.steps.set_index(["step", "axis", "level"])
    assert list(steps.index) == [
        (1, "norm", "batch"),
        (2, "activation", "sig"),
        (2, "init", "small"),
    ]
    assert steps.loc[(1, "norm", "batch"), "share"] == 1.0
    assert steps.loc[(1, "norm", "batch"), "lo"] == pytest.approx(0.025 ** (1 / 12))
    assert result.model.odds.empty  # nothing left to estimate, and no number printed
    assert result.model.note == "not fitted: all 4 remaining runs trained"
    assert (result.runs, result.trained) == (24, 16)


def test_logistic_odds_ratio_where_nothing_separates():
    # a: 3 of 4 seeds train, b: 1 of 4, at each of two levels of `other` (no effect).
    rule = {"a": {0, 1, 2}, "b": {0}}
    df = grid(lambda r: r["seed"] in rule[r["x"]], seeds=4, x=["a", "b"], other=["p", "q"])
    rows = measured(df, ["x", "other"])
    steps, rest = separation(rows, ["x", "other"])
    assert steps.empty and len(rest) == 16
    odds = logistic(rest, ["x", "other"]).odds.set_index("axis")
    assert odds.loc["x", "level"] == "b" and odds.loc["x", "reference"] == "a"
    assert odds.loc["x", "odds_ratio"] == pytest.approx((1 / 3) / 3)  # odds 1:3 over 3:1
    assert odds.loc["x", "lo"] < odds.loc["x", "odds_ratio"] < odds.loc["x", "hi"]
    assert odds.loc["other", "odds_ratio"] == pytest.approx(1.0)


def test_a_combination_that_separates_is_reported_not_estimated():
    # Trains when at least two of three switches are on: no level decides alone (shares
    # 1/4 and 3/4), but the main effects separate the runs perfectly.
    df = grid(
        lambda r: (r["x"] == "on") + (r["y"] == "on") + (r["z"] == "on") >= 2,
        x=["off", "on"],
        y=["off", "on"],
        z=["off", "on"],
    )
    result = trainability(df, ["x", "y", "z"])
    assert result.steps.empty and result.model.odds.empty
    assert "not estimable" in result.model.note


def test_trainability_table_and_headline_metrics():
    table = trainability_table(main_like())
    assert set(table["part"]) == {"level", "pair", "decides", "model"}
    decides = table[table["part"] == "decides"]
    assert decides["value"].tolist() == [1.0, 0.0, 0.0]
    headline = as_metrics(pd.DataFrame(columns=["study", "scope", "term", "share"]), table)
    assert headline == {
        "main": {
            "trainability": {
                "all": 0.6667,
                "norm=batch": 1.0,
                "activation=sig": 0.0,
                "init=small": 0.0,
            }
        }
    }
