"""Study grids as profiles size them, checked whole before any job starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from ablate.errors import ConfigError
from ablate.params import load_params
from ablate.sweep import check_grid, expand, expected_keys, study_grid


def test_cpu_grid_is_a_full_factorial_with_two_seeds():
    grid = study_grid("cpu", "main", None)
    levels = expand(grid)
    assert levels["model.activation"] == ["sigmoid", "tanh", "relu"]
    assert levels["model.downsampling"] == ["maxpool", "strided_conv", "conv_layer"]
    assert levels["seed"] == ["0", "1"]
    fixed = ["optim.lr=0.1"]  # the grid's rates come from its search, not run yet here
    assert check_grid("cpu", "main", levels, fixed) == 3 * 2 * 2 * 3 * 2 * 2


def test_stride_fit_has_eight_seeds_for_three_holm_adjusted_sign_flip_tests():
    assert expand(study_grid("cpu", "stride_fit", None))["seed"] == [str(i) for i in range(8)]
    assert expand(study_grid("cpu", "stride_fit", 2))["seed"] == ["0", "1"]


def test_convolution_studies_have_six_seeds_and_their_deciding_levels():
    """C2 runs every stem on stored and moved digits; C1 compares the grouped bottleneck;
    C4 has families and depths; each with the seven seeds two Holm-adjusted sign-flip
    tests need (2 * 2 / 2^7 < 0.05)."""
    stride = expand(study_grid("cpu", "stride_fit", None))
    assert stride["data.shift_px"] == ["0", "4"]
    mixing = expand(study_grid("cpu", "mixing", None))
    assert mixing["model.reduction"] == ["none", "pointwise", "grouped"]
    families = expand(study_grid("cpu", "families", None))
    assert families["model.arch"] == ["plain", "resnet", "inception"]
    degradation = expand(study_grid("cpu", "degradation", None))
    assert degradation["model.depth"] == ["3", "9", "24"]
    bottleneck = expand(study_grid("cpu", "bottleneck", None))
    for levels in (mixing, families, degradation, bottleneck):
        assert levels["seed"] == [str(i) for i in range(7)]


def test_profile_replaces_levels_and_params_seeds_win():
    levels = expand(study_grid("smoke", "main", 3))
    assert levels["model.arch"] == ["plain", "resnet"]
    assert levels["model.activation"] == ["relu"]
    assert levels["seed"] == ["0", "1", "2"]


def test_a_profile_gives_one_study_its_own_seed_count_and_params_seeds_still_win():
    assert expand(study_grid("cpu", "depth_init", None))["seed"] == ["0", "1", "2"]
    assert expand(study_grid("cpu", "main", None))["seed"] == ["0", "1"]
    assert expand(study_grid("cpu", "depth_init", 1))["seed"] == ["0"]
    assert "seeds" not in study_grid("cpu", "depth_init", None)


def test_bad_level_fails_before_any_job_and_names_it():
    levels = expand(study_grid("smoke", "main", None))
    levels["model.activation"] = ["relu", "swish"]
    with pytest.raises(ConfigError, match="model.activation='swish' is not valid; choose one of"):
        check_grid("smoke", "main", levels, ["optim.lr=0.1"])


@pytest.mark.parametrize(
    ("kind", "args"), [("study", ("smoke", "nope")), ("profile", ("x", "main"))]
)
def test_unknown_study_or_profile_is_named(kind, args):
    with pytest.raises(ConfigError, match=f"{kind}=.* is not valid; choose one of"):
        study_grid(*args, None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("profile: laptop", "profile='laptop' is not valid; choose one of: cpu, gpu, smoke"),
        ("seeds: 0", "seeds=0 must be null or an integer in 1..100"),
        ("seeds: many", "seeds='many' must be null"),
        ("studies: [main, nope]", "study 'nope' is not valid"),
        ("wandb: cloud", "wandb='cloud' is not valid; choose one of: disabled, offline, online"),
        ("overrides: model.width=4", "must be a list of Hydra overrides"),
        ("overrides: [model.width]", "'model.width' is not a Hydra override"),
        ("overrides: [profile=gpu]", "sets `profile`; use params.yaml's own key"),
        ("overrides: ['seed=range(0,3)']", "sets `seed`; use params.yaml's own key"),
    ],
)
def test_bad_params_are_named(tmp_path: Path, text: str, message: str):
    path = tmp_path / "params.yaml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError, match=message):
        load_params(path)


def test_repo_params_are_valid():
    params = load_params(Path(__file__).resolve().parents[1] / "params.yaml")
    assert params["profile"] == "cpu" and "main" in params["studies"]


def test_expected_keys_match_composing_each_job():
    from itertools import product

    from ablate.config import compose
    from ablate.training.keys import run_key

    levels = expand(study_grid("smoke", "bn", None))
    jobs = product(*[[f"{k}={v}" for v in vs] for k, vs in levels.items()])
    by_compose = {run_key(compose(["profile=smoke", "study=bn", *job])) for job in jobs}
    expected = expected_keys("smoke", "bn", None)
    assert set(expected) == by_compose and set(expected.values()) == {"grid"}


OVERRIDES = ["model.norm=none", "model.activation=relu,tanh", "optim.lr=0.1,0.3", "model.width=4"]


def test_overrides_set_axes_and_fix_settings():
    levels = expand(study_grid("smoke", "main", None, OVERRIDES))
    assert levels["model.norm"] == ["none"]  # an axis of the study: replaced
    assert levels["model.activation"] == ["relu", "tanh"]  # a profile level: replaced
    assert levels["optim.lr"] == ["0.1", "0.3"]  # a sweep on a fixed field: a new axis
    assert "model.width" not in levels  # a fixed setting, not an axis
    assert check_grid("smoke", "main", levels, ["model.width=4"]) == 2 * 2 * 2 * 2  # x 1 seed


def test_expected_keys_follow_the_overrides():
    from ablate.config import compose
    from ablate.training.keys import run_key

    keys = expected_keys("smoke", "main", None, OVERRIDES)
    assert len(keys) == 16 and set(keys).isdisjoint(expected_keys("smoke", "main", None))
    job = ["model.norm=none", "model.activation=tanh", "optim.lr=0.3", "model.width=4"]
    grid = ["model.downsampling=strided_conv", "model.arch=resnet", "model.init=kaiming"]
    assert run_key(compose(["profile=smoke", "study=main", *job, *grid, "seed=0"])) in keys
