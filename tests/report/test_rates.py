"""The rates table: extended rates shown, each settled edge with its reason, no bare edge."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ablate.report.context import Context
from ablate.report.rates import section
from ablate.sweep.lr_search import build_table
from tests.test_lr_search import two_seeds


def test_the_rates_table_shows_extensions_and_why_an_edge_stays(tmp_path: Path):
    jobs = [
        *two_seeds("relu", {0.01: (0.9, 0.9), 0.03: (0.93, 0.93), 0.1: (0.95, 0.95)}),
        *two_seeds("relu", {0.316: (None, None)}),  # the next rate up diverged
        *two_seeds("sigmoid", {0.01: (0.1, 0.1), 0.03: (0.11, 0.1), 0.1: (0.1, None)}),
        *two_seeds("tanh", {0.01: (0.9, 0.9), 0.03: (0.95, 0.95), 0.1: (0.9, 0.9)}),
    ]
    table = build_table([0.01, 0.03, 0.1], ["model.activation"], jobs)
    runs = pd.DataFrame({"study": ["main"], "key": ["k"], "status": ["ok"], "lr": [0.1]})
    ctx = Context(runs=runs, params={"studies": ["main"]}, out_dir=tmp_path)
    ctx.tuning = {"main": table}
    body = section(ctx).body
    lines = {line.split("|")[2].strip(): line for line in body.splitlines() if "`main`" in line}
    assert "*0.316*: —" in lines["activation=relu"]
    assert "the next half-decade diverged" in lines["activation=relu"]
    assert "trains at no rate tried" in lines["activation=sigmoid"]
    assert lines["activation=tanh"].rstrip(" |").endswith("0.900")  # interior: no flag
    assert "at the edge**" not in body and "seeds 0, 1" in body


def test_a_back_off_from_a_cliff_and_a_swept_cell_that_never_trains_are_named(tmp_path: Path):
    cliff = {0.01: (0.92, 0.927), 0.03: (0.927, 0.93), 0.1: (0.695, 0.535)}
    table = build_table([0.01, 0.03, 0.1], ["model.activation"], two_seeds("relu", cliff), 400)
    rows = []  # a study sweeping the rate: one cell learns at 0.1, one learns at no rate
    for lr in (0.01, 0.1, 1.0):
        for norm, val in (("batch", 0.95 if lr == 0.1 else 0.9), ("none", 0.1)):
            rows.append(
                {
                    "study": "bn",
                    "key": f"{norm}{lr}",
                    "status": "ok",
                    "lr": lr,
                    "norm": norm,
                    "val_acc": val,
                    "majority_acc": 0.11,
                    "classes": 10,
                }
            )
    runs = pd.DataFrame([{"study": "main", "key": "k", "status": "ok", "lr": 0.01}, *rows])
    ctx = Context(runs=runs, params={"studies": ["main", "bn"]}, out_dir=tmp_path)
    ctx.tuning = {"main": table}
    body = section(ctx).body
    assert "backed off from 0.03: the next rate up falls off" in body
    kept = {line.split("|")[1].strip(): line for line in body.splitlines() if "| 0." in line}
    assert "trains at no rate tried" in kept["none"] and "at the edge" not in kept["none"]
    assert kept["batch"].rstrip(" |").endswith("0.1")  # interior, learned: no flag
    # The sweep backed the batch cell off to 0.01 (its kept_lr): the table says so.
    runs = runs.assign(kept_lr=runs["norm"].map({"batch": 0.01, "none": 0.01}))
    ctx = Context(runs=runs, params={"studies": ["main", "bn"]}, out_dir=tmp_path)
    ctx.tuning = {"main": table}
    lines = section(ctx).body.splitlines()
    kept = {line.split("|")[1].strip(): line for line in lines if line.startswith("| ")}
    assert "| 0.01 | backed off from 0.1: the next rate up falls off |" in kept["batch"]


def test_a_swept_grid_says_which_cells_ran_extra_rates():
    from ablate.report.context import _extended

    df = pd.DataFrame(
        {
            "norm": ["batch"] * 3 + ["noisy_batch"] * 7,
            "norm_noise": [float("nan")] * 3 + [0.1] * 3 + [1.0] * 4,
            "lr": [0.01, 0.1, 1.0] * 2 + [0.001, 0.01, 0.1, 1.0],
        }
    )
    text = _extended(df)
    assert text == (
        " (every cell ran {0.01, 0.1, 1}; extended past an edge choice: "
        "norm=noisy_batch, norm_noise=1.0 also 0.001)"
    )
    assert _extended(df[df["norm"] == "batch"]) == ""
