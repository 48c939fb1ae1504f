"""The report's header states the compute as `metrics.json` does, and a new report leaves no
figure of an earlier one behind."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ablate.analysis.metrics import headline, training_minutes
from ablate.report.context import Context
from ablate.report.render import _figure_files, header, prune_figures


def test_header_and_metrics_show_one_training_total(tmp_path: Path):
    runs = pd.DataFrame(
        {
            "study": ["main"] * 3,
            "key": ["a", "b", "c"],
            "role": ["grid", "grid", "lr_search"],
            "status": ["ok", "diverged", "ok"],
            "wall_time_s": [60.0, 30.0, 96.0],
            "test_acc": [0.9, None, 0.8],
            "activation": ["relu", "tanh", "relu"],
            **{c: ["x"] * 3 for c in ("processor", "dataset", "python", "torch", "lightning")},
            "cpus": [2] * 3,
            "cuda": [None] * 3,
            "code": ["abc"] * 3,
            "git": ["123"] * 3,
        }
    )
    text = header(Context(runs, {"profile": "cpu"}, tmp_path))
    metrics = headline(runs, runs[runs["role"] == "grid"])
    assert training_minutes(runs) == metrics["training_minutes"] == 3.1
    assert "| training time, summed over runs | 3.1 min" in text


def test_prune_removes_only_the_figures_not_drawn_again(tmp_path: Path):
    for name in ("kept.png", "stale.png"):
        (tmp_path / name).write_bytes(b"old")
    before = _figure_files(tmp_path)
    tmp = tmp_path / ".kept.png.tmp"
    tmp.write_bytes(b"new")
    os.replace(tmp, tmp_path / "kept.png")  # how figures.save writes every figure
    assert prune_figures(before) == [tmp_path / "stale.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.png"]
