import pandas as pd

from ablate.analysis.tuning import select_best_level, select_best_lr


def test_each_cell_keeps_its_best_validated_rate():
    df = pd.DataFrame(
        {
            "act": ["relu"] * 4 + ["tanh"] * 4,
            "lr": [0.1, 0.1, 0.01, 0.01] * 2,
            "seed": [0, 1] * 4,
            "val_acc": [0.9, 0.8, 0.7, 0.7, None, None, 0.6, 0.5],  # tanh at 0.1 diverged
            "test_acc": [0.88, 0.79, 0.69, 0.71, None, None, 0.58, 0.52],
        }
    )
    picked = select_best_lr(df, ["act"])
    assert picked.groupby("act")["lr"].unique().map(list).to_dict() == {
        "relu": [0.1],
        "tanh": [0.01],
    }
    assert len(picked) == 4


def test_single_rate_is_left_alone():
    df = pd.DataFrame({"act": ["relu", "tanh"], "lr": [0.1, 0.1], "val_acc": [0.5, 0.4]})
    assert select_best_lr(df, ["act"]).equals(df)


def test_one_cell_keeps_its_best_validated_rate():
    import pandas as pd

    from ablate.analysis.tuning import select_best_lr

    df = pd.DataFrame({"lr": [0.1, 0.1, 1.0, 1.0], "val_acc": [0.9, 0.8, 0.95, None]})
    kept = select_best_lr(df, [])
    assert set(kept["lr"]) == {0.1} and len(kept) == 2  # a diverged run scores lowest


def test_a_rate_the_sweep_kept_wins_over_the_best_mean():
    # The sweep backed cell "a" off its best mean (0.1, next to a cliff) to 0.03.
    df = pd.DataFrame(
        {
            "norm": ["a"] * 4 + ["b"] * 2,
            "lr": [0.03, 0.03, 0.1, 0.1, 0.1, 0.3],
            "val_acc": [0.95, 0.95, 0.96, 0.96, 0.9, 0.95],
            "kept_lr": [0.03] * 4 + [0.3] * 2,
        }
    )
    kept = select_best_lr(df, ["norm"])
    assert kept.groupby("norm")["lr"].unique().map(list).to_dict() == {"a": [0.03], "b": [0.3]}
    # Without the sweep's choice (a grid that does not extend), the best mean decides.
    best = select_best_lr(df.drop(columns="kept_lr"), ["norm"])
    assert set(best[best["norm"] == "a"]["lr"]) == {0.1}


def test_each_activation_keeps_the_init_that_validates_better():
    df = pd.DataFrame(
        {
            "act": ["relu"] * 4 + ["abs"] * 4,
            "init": ["xavier", "xavier", "kaiming", "kaiming"] * 2,
            "val_acc": [0.80, 0.82, 0.90, 0.91, 0.90, 0.92, None, 0.99],  # a diverged run: 0
        }
    )
    picked = select_best_level(df, "init", ["act"])
    assert picked.groupby("act")["init"].unique().map(list).to_dict() == {
        "abs": ["xavier"],
        "relu": ["kaiming"],
    }
    assert len(picked) == 4
