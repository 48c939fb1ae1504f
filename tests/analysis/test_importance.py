import itertools

import numpy as np
import pandas as pd
import pytest

from ablate.analysis.importance import (
    as_metrics,
    decompose,
    factorial_axes,
    importance_table,
    prepare,
    study_importance,
    trained_block,
)

BIG = np.array([-0.1, 0.0, 0.1])  # main effect of `big`, per level
TWIST = np.array([-0.04, 0.0, 0.04])  # big x mod: added at mod=u, subtracted at mod=v
SIGMA, SEEDS = 0.02, 6


def synthetic(seed: int = 0) -> pd.DataFrame:
    """A full factorial big (3) x null (2) x mod (2): `big` matters, `null` does nothing, and
    `mod` only changes how much `big` matters (an interaction with no main effect)."""
    rng = np.random.default_rng(seed)
    rows = [
        {
            "big": big,
            "null": null,
            "mod": mod,
            "seed": s,
            "test_acc": 0.7 + BIG[i] + TWIST[i] * (1 if mod == "u" else -1) + rng.normal(0, SIGMA),
        }
        for (i, big), null, mod, s in itertools.product(enumerate("xyz"), "pq", "uv", range(SEEDS))
    ]
    return pd.DataFrame(rows)


def expected_shares() -> dict[str, float]:
    """E[SS_term] / E[SS_total] of this design: N * variance of the effect plus the noise
    that its degrees of freedom carry."""
    n = 12 * SEEDS
    var = {"big": np.mean(BIG**2), "big:mod": np.mean(TWIST**2)}
    df = {"big": 2, "null": 1, "mod": 1, "big:null": 2, "big:mod": 2, "null:mod": 1}
    df |= {"higher-order": 2, "seed-to-seed": n - 12}
    total = n * sum(var.values()) + (n - 1) * SIGMA**2
    return {t: (n * var.get(t, 0.0) + d * SIGMA**2) / total for t, d in df.items()}


def test_recovers_known_effects():
    # Over 20 generator seeds these 95% intervals held the truth 19 (big), 18 (big:mod) and
    # 16 (seed-to-seed) times, and every time for the null terms; seed 0 is the first one.
    result = decompose(synthetic(), ["big", "null", "mod"], resamples=300).set_index("term")
    assert result["share"].sum() == pytest.approx(1.0)
    assert result.loc["big", "share"] > 0.7
    assert result.loc["null", "share"] < 0.01 and result.loc["null", "lo"] == 0.0
    assert result.loc["mod", "share"] < 0.01  # no main effect: only the interaction
    assert result.loc["big:mod", "lo"] > 0.05
    for term, truth in expected_shares().items():
        assert result.loc[term, "lo"] <= truth <= result.loc[term, "hi"], term
    # The F tests against seed noise tell the real terms from the null one.
    assert result.loc["big", "p"] < 1e-6 and result.loc["big:mod", "p"] < 1e-3
    assert result.loc["null", "p"] > 0.05 and result["p"].isna()["seed-to-seed"]
    kinds = result["kind"].to_dict()
    assert kinds["big"] == "main" and kinds["big:mod"] == "interaction"
    assert kinds["higher-order"] == "higher_order" and kinds["seed-to-seed"] == "residual"


def test_is_deterministic_and_ignores_row_order():
    df = synthetic()
    first = decompose(df, ["big", "null", "mod"], resamples=50)
    shuffled = decompose(df.sample(frac=1, random_state=1), ["big", "null", "mod"], resamples=50)
    pd.testing.assert_frame_equal(first, shuffled)


def test_unbalanced_grid_uses_type_ii():
    df = synthetic().iloc[1:]  # one run fewer in one cell
    result = decompose(df, ["big", "null", "mod"], resamples=20).set_index("term")
    assert result.loc["big", "share"] > 0.7 and result.loc["null", "share"] < 0.01


def test_one_varied_axis_and_one_run_per_cell():
    df = synthetic().query("seed == 0 and null == 'p' and mod == 'u'")
    result = decompose(df, ["big", "null", "mod"], resamples=10).set_index("term")
    assert list(result.index) == ["big", "higher-order", "seed-to-seed"]
    assert result.loc["big", "share"] == pytest.approx(1.0)


def runs(statuses: dict[int, str] | None = None) -> pd.DataFrame:
    """A tiny main study: activation x norm x arch (2 x 2 x 3), two seeds, two rates."""
    rows = []
    for i, (act, norm, arch, seed, lr) in enumerate(
        itertools.product(
            ["relu", "tanh"],
            ["none", "batch"],
            ["plain", "resnet", "inception"],
            [0, 1],
            [0.1, 0.01],
        )
    ):
        acc = (
            0.9 - 0.2 * (act == "tanh") - 0.1 * (norm == "none") + 0.01 * seed - 0.05 * (lr == 0.1)
        )
        rows.append(
            {
                "study": "main",
                "key": f"k{i:03d}",
                "status": "ok",
                "activation": act,
                "norm": norm,
                "arch": arch,
                "init": "kaiming",
                "seed": seed,
                "lr": lr,
                "val_acc": acc,
                "test_acc": acc,
                "classes": 10,
            }
        )
    df = pd.DataFrame(rows)
    for index, status in (statuses or {}).items():
        df.loc[index, ["status", "val_acc", "test_acc"]] = [status, np.nan, np.nan]
    return df


def test_prepare_counts_diverged_at_chance_drops_failed_and_tunes_lr():
    df = runs({1: "diverged", 3: "failed"})  # relu/none/plain at lr 0.01, its better rate
    rows = prepare(df, ["activation", "norm", "arch"])
    first = rows["key"].isin(["k000", "k002"])
    assert set(rows.loc[first, "lr"]) == {0.1} and set(rows.loc[~first, "lr"]) == {0.01}
    assert len(rows) == len(df) // 2 and "failed" not in set(rows["status"])
    df = runs().assign(lr=0.01)
    df.loc[0, ["status", "test_acc"]] = ["diverged", np.nan]
    rows = prepare(df, ["activation", "norm", "arch"]).set_index("key")
    assert rows.loc["k000", "test_acc"] == pytest.approx(0.1)  # 1 / classes
    rows = prepare(df.assign(majority_acc=0.12), ["activation", "norm"]).set_index("key")
    assert rows.loc["k000", "test_acc"] == pytest.approx(0.12)


def test_factorial_axes_needs_every_combination():
    df = runs()
    assert factorial_axes(df) == ["activation", "norm", "arch"]
    assert factorial_axes(df.iloc[4:]) == []  # relu/none/plain is missing


def test_importance_table_has_whole_grid_families_and_metrics():
    other = runs().assign(study="one_axis", norm="none", arch="plain")  # not factorial
    table = importance_table(pd.concat([runs(), other]), resamples=10)
    assert set(table["study"]) == {"main"}
    assert set(table["scope"]) == {"all", "arch=plain", "arch=resnet", "arch=inception"}
    family = table[table["scope"] == "arch=plain"].set_index("term")
    assert "arch" not in family.index and family.loc["activation", "share"] > 0.5
    assert table["label"].is_unique
    metrics = as_metrics(table)
    assert metrics["main"]["all"]["activation"] == pytest.approx(
        table.set_index(["scope", "term"]).loc[("all", "activation"), "share"], abs=1e-4
    )


def floor_runs() -> pd.DataFrame:
    """Without BN, small init sits at the floor (majority share 0.1); every other cell
    trains, where activation moves accuracy by 0.1 and seeds by about 0.01."""
    rng = np.random.default_rng(0)
    rows = []
    for i, (act, norm, init, arch, seed) in enumerate(
        itertools.product(
            ["relu", "tanh"],
            ["batch", "none"],
            ["kaiming", "small"],
            ["plain", "resnet"],
            [0, 1, 2],
        )
    ):
        floor = norm == "none" and init == "small"
        acc = 0.1 if floor else 0.8 + 0.1 * (act == "relu") + rng.normal(0, 0.01)
        rows.append(
            {
                "study": "main",
                "key": f"k{i:03d}",
                "status": "ok",
                "activation": act,
                "norm": norm,
                "init": init,
                "arch": arch,
                "seed": seed,
                "lr": 0.1,
                "val_acc": acc,
                "test_acc": acc,
                "majority_acc": 0.1,
                "classes": 10,
            }
        )
    return pd.DataFrame(rows)


def test_main_study_decomposes_accuracy_among_trained_cells_only():
    axes = ["activation", "init", "norm", "arch"]
    rows = prepare(floor_runs(), axes)
    assert trained_block(rows, axes) == {
        "activation": ["relu", "tanh"],
        "init": ["kaiming"],  # the first of two equal ways to drop the floor cells
        "norm": ["batch", "none"],
        "arch": ["plain", "resnet"],
    }
    table = importance_table(floor_runs(), resamples=20)
    whole = table[table["scope"] == "all"].set_index("term")
    assert "init" not in whole.index and set(whole["runs"]) == {24}
    assert whole.loc["activation", "share"] > 0.9  # not swamped by the floor
    assert set(whole["subset"]) == {
        "cells where every seed trained: 8 of 16, within init = kaiming "
        "(4 more trained cells outside that grid left out)"
    }
    everything = study_importance(floor_runs(), axes, resamples=20).query("scope == 'all'")
    everything = everything.set_index("term")
    assert everything.loc["init", "share"] > 0.1  # the floor, when every run enters
    assert set(everything["subset"]) == {"every finished run"}
