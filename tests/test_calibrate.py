"""Marks set beforehand: each kind's reference control, on seeds no study uses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ablate.errors import ConfigError
from ablate.sweep.calibrate import FIRST_SEED, REFERENCES, calibrate, main, reference_jobs
from ablate.sweep.params import MAX_SEEDS
from ablate.training.keys import run_key


def test_calibration_seeds_are_no_study_seeds():
    assert FIRST_SEED >= MAX_SEEDS


def test_a_reference_is_its_study_control_cell_at_the_searched_rate(tmp_path: Path):
    results = tmp_path / "results"
    results.mkdir()
    arm = "model.activation=relu,model.depth=2,model.init=kaiming"
    results.joinpath("tuned_lr.json").write_text(
        json.dumps({"depth_init": {"arms": {arm: {"lr": 0.03}}}})
    )
    jobs = reference_jobs("cpu", "mlp", [1000, 1001], runs=tmp_path, results=results)
    assert [job.seed for job in jobs] == [1000, 1001]
    assert {(j.model.depth, j.model.init, j.optim.lr) for j in jobs} == {(2, "kaiming", 0.03)}
    assert jobs[0].trainer.max_steps == 500  # the cpu profile's budget for depth_init
    assert jobs[0].runs_dir == "runs/calibration" and len({run_key(j) for j in jobs}) == 2
    with pytest.raises(ConfigError, match="has no search table"):
        reference_jobs("cpu", "mlp", [1000], runs=tmp_path, results=tmp_path)
    with pytest.raises(ConfigError, match="choose from: conv"):
        reference_jobs("cpu", "resnet", [1000])
    assert set(REFERENCES) == {"conv", "conv_nobn", "mlp", "deep_mlp", "very_deep_mlp", "tiny"}


def test_calibrate_trains_the_reference_and_prints_mean_and_lower_bound(
    tmp_path: Path, data_root: Path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    found = calibrate("smoke", ["tiny"], [1000, 1001], [f"data.root={data_root}"])
    assert found["tiny"].n == 2 and 0 < found["tiny"].mean <= 1
    assert (
        len(list((tmp_path / "runs" / "calibration" / "overfit_tiny").glob("*/result.json"))) == 2
    )
    main(["--profile", "smoke", "--kinds", "tiny", "--seeds", "2", f"data.root={data_root}"])
    out = capsys.readouterr().out  # the same two runs, reused by key
    assert "seeds 1000-1001" in out and f"tiny: {found['tiny'].mean:.3f}" in out
