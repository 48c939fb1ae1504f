"""The controls are judged against the marks of the dataset their runs trained on."""

from __future__ import annotations

import pandas as pd

from ablate.report.controls import dataset_marks, study_config


def test_marks_come_from_the_runs_dataset_never_another():
    cfg = study_config({"profile": "cpu", "overrides": []}, "main")  # mnist5k's marks
    assert cfg.data.name == "mnist5k"
    name, marks = dataset_marks(cfg, pd.DataFrame({"dataset": ["mnist5k"]}))
    assert name == "dataset `mnist5k`" and marks["conv"] == cfg.data.marks["conv"]
    # Runs on another dataset: that dataset's file, or no mark at all.
    name, marks = dataset_marks(cfg, pd.DataFrame({"dataset": ["digits"]}))
    assert name == "dataset `digits`" and marks.get("conv") != cfg.data.marks["conv"]
    assert dataset_marks(cfg, pd.DataFrame({"dataset": ["imagefolder"]}))[1] == {}
    assert dataset_marks(cfg, pd.DataFrame({"dataset": ["a", "b"]})) == ("datasets `a`, `b`", {})


def test_the_config_follows_params_overrides():
    cfg = study_config({"profile": "cpu", "overrides": ["data=digits"]}, "main")
    assert cfg.data.name == "digits"
    name, marks = dataset_marks(cfg, pd.DataFrame({"dataset": ["digits"]}))
    assert marks == {k: float(v) for k, v in cfg.data.marks.items()}
