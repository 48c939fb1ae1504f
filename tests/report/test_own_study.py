"""The section of a study of your own prints only what its grid supports."""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd

from ablate.analysis.controls import check_study
from ablate.report import own_study
from ablate.report.context import Context

SETUP = {
    "study": "mine",
    "status": "ok",
    "dataset": "imagefolder",
    "train_limit": None,
    "preprocessing": "standardize",
    "max_steps": 20,
    "steps": 20,
    "schedule": "warmup_cosine",
    "max_epochs": 1,
    "optimizer": "sgd",
    "batch_size": 16,
    "width": 8,
    "lr": 0.05,
    "classes": 2,
    "majority_acc": 0.5,
    "init": "kaiming",
    "arch": "plain",
}


def runs(**levels: list[str]) -> pd.DataFrame:
    """Two seeds of every cell of `levels`; tanh cells learn, the others sit at chance."""
    axes = list(levels)
    rows = []
    for i, cell in enumerate(itertools.product(*levels.values(), [0, 1])):
        row = {**SETUP, **dict(zip(axes, cell[:-1], strict=True)), "seed": cell[-1]}
        acc = 0.9 if row.get("activation") == "tanh" else 0.5
        rows.append({**row, "key": f"k{i}", "test_acc": acc + 0.01 * cell[-1], "val_acc": acc})
    return pd.DataFrame(rows)


def section(tmp_path: Path, table: pd.DataFrame) -> str:
    ctx = Context(table, {"studies": ["mine"]}, tmp_path)
    arms = [{"model.activation": table["activation"].iloc[0]}]
    checks = check_study("mine", table, pd.DataFrame(), arms, "conv", {}, "dataset `x`")
    return own_study.section(ctx, "mine", checks).body


def test_a_2x2_grid_gets_cells_effects_interactions_and_what_matters(tmp_path: Path):
    body = section(tmp_path, runs(activation=["relu", "tanh"], norm=["none", "batch"]))
    assert "| relu | none | 2/2 |" in body and "| 0.05 |" in body
    assert "| activation | tanh | 4 | 0.905" in body and "**activation x norm**" in body
    assert "no mark set for `conv` nets on dataset `x`" in body
    assert "What decides whether a net trains at all" in body
    assert (tmp_path / "figures" / "mine_interactions.png").is_file()


def test_one_varied_axis_has_no_interactions_and_one_cell_no_effects(tmp_path: Path):
    body = section(tmp_path, runs(activation=["relu", "tanh"], norm=["batch"]))
    assert "**Main effects**" in body and "Interactions" not in body and " x norm" not in body
    body = section(tmp_path, runs(activation=["tanh"]))
    assert "**Per cell**" in body and "**Main effects**" not in body
    assert "Interactions" not in body and "trains at all" not in body
