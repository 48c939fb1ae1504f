"""The per-arm rate search: the choice rule, the table, and the resolver the grid uses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ablate.config import compose, validate
from ablate.errors import ConfigError
from ablate.sweep.grid import expand, search_grid, study_grid
from ablate.sweep.lr_search import build_table, choose, table_path
from ablate.training.keys import run_key


def result(lr: float, act: str, val: float | None, status: str = "ok") -> tuple:
    from omegaconf import OmegaConf

    cfg = OmegaConf.create({"optim": {"lr": lr}, "model": {"activation": act}})
    return cfg, {"status": status, "val_acc": val}


def test_best_validated_rate_wins_and_failures_rank_last():
    assert choose({0.01: 0.9, 0.1: 0.95, 1.0: None}) == 0.1
    assert choose({0.01: 0.9, 0.1: 0.9}) == 0.01  # ties go to the lower rate
    assert choose({0.01: None, 0.1: None}) == 0.01


def test_table_per_arm_with_edges():
    runs = [
        result(0.01, "relu", 0.90),
        result(0.1, "relu", 0.97),
        result(1.0, "relu", None, "diverged"),
        result(0.01, "tanh", 0.95),
        result(0.1, "tanh", 0.93),
        result(1.0, "tanh", 0.20),
    ]
    table = build_table([0.01, 0.1, 1.0], ["model.activation"], runs)
    relu, tanh = table["arms"]["model.activation=relu"], table["arms"]["model.activation=tanh"]
    assert relu["lr"] == 0.1 and not relu["edge"] and relu["scores"]["1"] is None
    assert tanh["lr"] == 0.01 and tanh["edge"]
    # Jobs sharing one run (a moot field) each get the arm of their own config.
    shared = {"status": "ok", "val_acc": 0.9}
    cfg_a, _ = result(0.1, "identity", None)
    cfg_b, _ = result(0.1, "relu", None)
    both = build_table([0.1], ["model.activation"], [(cfg_a, shared), (cfg_b, shared)])
    assert set(both["arms"]) == {"model.activation=identity", "model.activation=relu"}
    missing = build_table([0.1], ["model.activation"], [(cfg_a, None)])
    assert missing["arms"]["model.activation=identity"]["scores"]["0.1"] is None


def test_search_grid_and_resolver(tmp_path: Path):
    search = search_grid("smoke", "main", None)
    assert search is not None and search["seed"] == "0"
    # The search runs on the plain cell, at every downsampling: each is its own arm.
    assert search["model.arch"] == "plain"
    assert expand(search)["model.downsampling"] == ["maxpool", "strided_conv"]
    assert len(expand(search)["optim.lr"]) == 3
    cfg = compose(["profile=smoke", "study=main", f"runs_dir={tmp_path}"])
    with pytest.raises(ConfigError, match="tuned_lr.json is missing"):
        validate(cfg)
    path = table_path(tmp_path, "main")
    path.parent.mkdir(parents=True)
    arm = "model.activation=relu,model.downsampling=maxpool,model.init=kaiming,model.norm=batch"
    path.write_text(json.dumps({"arms": {arm: {"lr": 0.3}}}))
    validate(cfg)
    assert cfg.optim.lr == 0.3
    key = run_key(cfg)
    path.write_text(json.dumps({"arms": {arm: {"lr": 0.1}}}))
    assert run_key(cfg) != key  # a new rate is a new run
    other = compose(["profile=smoke", "study=main", f"runs_dir={tmp_path}", "model.norm=none"])
    with pytest.raises(ConfigError, match="no tuned rate for arm"):
        validate(other)


def test_a_grid_that_sweeps_the_rate_needs_no_search():
    assert "optim.lr" in study_grid("gpu", "main", None)
    assert search_grid("gpu", "main", None) is None
    assert search_grid("smoke", "lr_range", None) is None


def test_a_fixed_profile_setting_travels_into_the_search():
    search = search_grid("cpu", "depth_arch", None)
    assert search is not None and search["trainer.max_steps"] == "500"
