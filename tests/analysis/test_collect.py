"""Collecting run folders: one row per run, axes as columns, corrupt files skipped by path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ablate.analysis.collect import collect
from ablate.analysis.metrics import headline, per_study, training_minutes


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


def test_headline_is_a_few_numbers_and_studies_hold_the_detail(tmp_path: Path):
    runs = tmp_path / "runs"
    write(runs / "main" / "a", result("a", "ok", 0.9, "relu"))
    write(runs / "main" / "b", result("b", "ok", 0.7, "tanh"))
    write(runs / "main" / "c", result("c", "failed", None, "tanh"))
    write(runs / "main" / "d", {**result("d", "ok", 0.5, "relu"), "wall_time_s": 6.0})
    table, _ = collect(runs, ["main"])
    grid = table[table["key"] != "d"]  # "d": a rate-search run, counted in the compute
    metrics = headline(table, grid)
    assert metrics == {
        "run_count": 4,
        "ok_share": 0.75,
        "training_minutes": 0.2,
        "main_best_cell_acc": 0.9,
    }
    assert training_minutes(table) == 12.0 / 60
    detail = per_study(grid)["main"]
    assert detail["runs"] == {"ok": 2, "diverged": 0, "timeout": 0, "failed": 1}
    assert detail["best_cell"] == "relu" and detail["best_test_acc"] == 0.9
    assert detail["mean_test_acc"] == 0.8


def test_capacity_probe_fields_reach_the_run_table(tmp_path: Path):
    fields = {"train_fit_acc": 0.97, "train_fit_loss": 0.1, "logit_affine_r2": 1.0}
    write(
        tmp_path / "runs" / "linear_collapse" / "aaa",
        {**result("aaa", "ok", 0.9, "identity"), **fields},
    )
    table, _ = collect(tmp_path / "runs", ["linear_collapse"])
    assert table.iloc[0][list(fields)].to_dict() == fields


def write_history(folder: Path, losses: list[float], every: int = 10) -> None:
    rows = "".join(f"{i * every},0,{loss},,\n" for i, loss in enumerate(losses))
    (folder / "history.csv").write_text("step,epoch,train_loss,val_loss,val_acc\n" + rows)


def test_steps_to_thresholds_read_the_smoothed_training_loss(tmp_path: Path):
    runs = tmp_path / "runs"
    # At ln 10 for 12 logs (steps 0-110), then learning: a stall stop at 100 would have lost it.
    late = [2.303] * 12 + [2.0, 1.0, 0.6, 0.4, 0.3, 0.2, 0.1, 0.1, 0.1, 0.1]
    write(runs / "main" / "late", {**result("late", "ok", 0.9, "relu"), "classes": 10})
    write_history(runs / "main" / "late", late)
    flat = [2.303] * 30
    write(runs / "main" / "flat", {**result("flat", "ok", 0.1, "relu"), "classes": 10})
    write_history(runs / "main" / "flat", flat)
    write(runs / "main" / "none", {**result("none", "ok", 0.9, "relu"), "classes": 10})
    row = collect(runs, ["main"])[0].set_index("key")
    # Means of 5 logged losses, dated by their last step: at 120, (4 * 2.303 + 2.0) / 5 = 2.242
    # is still above 0.97 ln 10 = 2.233; at 130 it is 1.98: the crossing, placed linearly
    # between, lies 3.5% of the way from 120. Under 0.5: at 170 the mean is exactly 0.5 (not
    # under), at 180 0.32: placed at 170 itself.
    plateau = 0.97 * np.log(10)
    at_120, at_130 = (4 * 2.303 + 2.0) / 5, (3 * 2.303 + 3.0) / 5
    expected = 120 + 10 * (at_120 - plateau) / (at_120 - at_130)
    assert row.loc["late", "steps_to_plateau_exit"] == pytest.approx(expected)
    assert 120 < expected < 121
    assert row.loc["late", "steps_to_loss"] == pytest.approx(170)
    assert row.loc["late", "final_train_loss"] == pytest.approx(0.12)  # the last 5
    assert np.isnan(row.loc["flat", ["steps_to_plateau_exit", "steps_to_loss"]]).all()
    assert row.loc["flat", "final_train_loss"] == pytest.approx(2.303)
    assert row.loc["none", ["steps_to_loss", "final_train_loss"]].isna().all()  # no history


def test_trained_means_ok_and_above_the_majority_share_by_the_margin(tmp_path: Path):
    runs = tmp_path / "runs"
    cases = {
        "learned": ("ok", 0.25, {"majority_acc": 0.12}),  # 0.25 > 0.12 + 0.1
        "guess": ("ok", 0.2, {"majority_acc": 0.12}),  # within the margin
        "chance": ("ok", 0.19, {}),  # no majority share: 1/10 + 0.1
        "diverged": ("diverged", 0.9, {}),
    }
    for key, (status, acc, extra) in cases.items():
        write(runs / "main" / key, {**result(key, status, acc, "relu"), "classes": 10, **extra})
    trained = collect(runs, ["main"])[0].set_index("key")["trained"]
    assert trained[trained].index.tolist() == ["learned"] and len(trained) == 4
