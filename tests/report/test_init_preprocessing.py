"""W3 and D1 helpers on synthetic run tables: steps to a threshold with never-reached runs
at their budget, and each arm's highest rate at which every search run trained."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from ablate.analysis.rules.common import MissingEvidence
from ablate.report.init import steps_or_budget
from ablate.report.preprocessing import highest_trainable


def test_a_run_that_never_reached_the_loss_counts_at_its_budget():
    runs = pd.DataFrame(
        {
            "steps_to_loss": [120.0, math.nan, math.nan],
            "steps": [500, 500, 40],
            "max_steps": [500, 500, 500],
            "status": ["ok", "ok", "diverged"],
        }
    )
    assert steps_or_budget(runs, "steps_to_loss").tolist() == [120, 500, 500]
    with pytest.raises(MissingEvidence, match="steps_to_plateau_exit"):
        steps_or_budget(runs, "steps_to_plateau_exit")


def _search(arm: str, trains: dict[float, list[bool]]) -> list[dict]:
    return [
        {"preprocessing": arm, "activation": "relu", "lr": lr, "seed": seed, "trained": ok}
        for lr, oks in trains.items()
        for seed, ok in enumerate(oks)
    ]


def test_highest_trainable_rate_per_arm_and_the_first_that_fails():
    rows = (
        _search("center", {0.01: [True, True], 0.1: [True, True], 0.3: [False, False]})
        + _search("raw", {0.01: [True, True], 0.1: [True, False], 0.3: [False, False]})
        + _search("shift", {0.01: [False, False], 0.1: [False, False]})
        + _search("standardize", {0.01: [True, True], 0.1: [True, True]})
    )
    edges = highest_trainable(pd.DataFrame(rows)).set_index("preprocessing")
    assert edges.loc["center", ["highest", "fails_at"]].tolist() == [0.1, 0.3]
    assert edges.loc["raw", ["highest", "fails_at"]].tolist() == [0.01, 0.1]  # one seed failed
    assert math.isnan(edges.loc["shift", "highest"]) and edges.loc["shift", "fails_at"] == 0.01
    assert edges.loc["standardize", "highest"] == 0.1
    assert math.isnan(edges.loc["standardize", "fails_at"])  # the search stopped short
