"""Collecting run folders: one row per run, axes as columns, corrupt files skipped by path."""

from __future__ import annotations

import json
from pathlib import Path

from ablate.analysis.collect import collect
from ablate.analysis.metrics import headline


def write(folder: Path, result: dict | str) -> None:
    folder.mkdir(parents=True)
    text = result if isinstance(result, str) else json.dumps(result)
    (folder / "result.json").write_text(text)


def result(key: str, status: str, acc: float | None, activation: str) -> dict:
    return {
        "key": key,
        "status": status,
        "seed": 0,
        "test_acc": acc,
        "wall_time_s": 2.0,
        "config": {
            "model": {"activation": activation, "norm": "batch"},
            "data": {"name": "digits"},
            "optim": {"name": "adam", "lr": 0.01},
            "trainer": {"max_epochs": 1},
        },
        "versions": {"torch": "2.13.0"},
        "hardware": {"cpus": 2},
    }


def test_collect_flattens_and_skips_corrupt(tmp_path: Path):
    runs = tmp_path / "runs"
    write(runs / "main" / "aaa", result("aaa", "ok", 0.9, "relu"))
    write(runs / "main" / "bbb", result("bbb", "diverged", None, "sigmoid"))
    write(runs / "main" / "ccc", "{not json")
    (runs / "main" / "ddd").mkdir()
    write(runs / "main" / ".eee.tmp-1", result("eee", "ok", 0.1, "relu"))  # in progress
    write(runs / "other" / "fff", result("fff", "ok", 0.5, "tanh"))  # not asked for
    table, problems = collect(runs, ["main"])
    assert table["key"].tolist() == ["aaa", "bbb"]
    assert table.set_index("key").loc["aaa", "activation"] == "relu"
    assert table.set_index("key").loc["bbb", "status"] == "diverged"
    assert table["lr"].tolist() == [0.01, 0.01] and table["torch"].tolist() == ["2.13.0"] * 2
    assert table["shift_px"].tolist() == [0, 0]  # stored before data.shift_px: unmoved
    assert len(problems) == 2
    assert any("ccc/result.json: unreadable" in p for p in problems)
    assert any("ddd/result.json: missing" in p for p in problems)


def test_headline_counts_statuses_and_best_cell(tmp_path: Path):
    runs = tmp_path / "runs"
    write(runs / "main" / "a", result("a", "ok", 0.9, "relu"))
    write(runs / "main" / "b", result("b", "ok", 0.7, "tanh"))
    write(runs / "main" / "c", result("c", "failed", None, "tanh"))
    table, _ = collect(runs, ["main"])
    metrics = headline(table)
    assert metrics["runs"] == {"total": 3, "ok": 2, "diverged": 0, "timeout": 0, "failed": 1}
    assert metrics["main"]["best_cell"] == "relu" and metrics["main"]["best_test_acc"] == 0.9
    assert metrics["main"]["mean_test_acc"] == 0.8
    assert metrics["compute_minutes"] == 0.1


def test_capacity_probe_fields_reach_the_run_table(tmp_path: Path):
    fields = {"train_fit_acc": 0.97, "train_fit_loss": 0.1, "logit_affine_r2": 1.0}
    write(
        tmp_path / "runs" / "linear_collapse" / "aaa",
        {**result("aaa", "ok", 0.9, "identity"), **fields},
    )
    table, _ = collect(tmp_path / "runs", ["linear_collapse"])
    assert table.iloc[0][list(fields)].to_dict() == fields
