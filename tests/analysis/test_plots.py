import pandas as pd
import pytest

from ablate.analysis.plots import learning_curves, main_effects


def runs() -> pd.DataFrame:
    rows = []
    for i, (act, norm, acc) in enumerate(
        [
            ("relu", "none", 0.8),
            ("relu", "batch", 0.9),
            ("tanh", "none", 0.6),
            ("tanh", "batch", 0.7),
        ]
    ):
        rows.append(
            {
                "study": "main",
                "status": "ok",
                "key": f"k{i}",
                "activation": act,
                "init": "kaiming",
                "norm": norm,
                "downsampling": "maxpool",
                "arch": "plain",
                "test_acc": acc,
            }
        )
    return pd.DataFrame(rows)


def test_main_effects_has_one_row_per_level():
    table = main_effects(runs()).set_index("arm")
    assert table.loc["activation=relu", "mean"] == pytest.approx(0.85)
    assert table.loc["norm=batch", "mean"] == pytest.approx(0.8)
    assert table.loc["arch=plain", "n"] == 4


def test_learning_curves_average_per_step_and_norm():
    history = pd.DataFrame(
        {
            "key": ["k0", "k0", "k1", "k2", "k3"],
            "step": [0, 10, 0, 0, 0],
            "train_loss": [2.0, 1.0, 1.5, 3.0, 2.5],
        }
    )
    table = learning_curves(runs(), history).set_index("step")
    assert table.loc[0, "none"] == 2.5 and table.loc[0, "batch"] == 2.0
    assert table.loc[10, "none"] == 1.0
