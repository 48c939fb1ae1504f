"""Study grids as profiles size them, checked whole before any job starts."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ablate.errors import ConfigError
from ablate.sweep.grid import check_grid, expand, expected_keys, study_grid
from ablate.sweep.params import load_params


def test_cpu_grid_is_a_full_factorial_with_two_seeds():
    grid = study_grid("cpu", "main", None)
    levels = expand(grid)
    assert levels["model.activation"] == ["sigmoid", "tanh", "relu"]
    assert levels["model.downsampling"] == ["maxpool", "strided_conv", "conv_layer"]
    assert levels["seed"] == ["0", "1"]
    fixed = ["optim.lr=0.1"]  # the grid's rates come from its search, not run yet here
    assert levels["model.arch"] == ["plain"]  # families: C4 at matched FLOPs
    assert check_grid("cpu", "main", levels, fixed) == 3 * 2 * 2 * 3 * 2


def test_stride_fit_has_eight_seeds_for_three_holm_adjusted_sign_flip_tests():
    assert expand(study_grid("cpu", "stride_fit", None))["seed"] == [str(i) for i in range(8)]
    assert expand(study_grid("cpu", "stride_fit", 2))["seed"] == ["0", "1"]


def test_convolution_studies_have_six_seeds_and_their_deciding_levels():
    """C2 runs every stem on stored and moved digits; C1 compares the grouped bottleneck;
    C4 has families and depths; each with at least the seven seeds two Holm-adjusted
    sign-flip tests need (2 * 2 / 2^7 < 0.05), C1's two studies with twelve."""
    stride = expand(study_grid("cpu", "stride_fit", None))
    assert stride["data.shift_px"] == ["0", "2"]  # 2 of 16 px
    mixing = expand(study_grid("cpu", "mixing", None))
    assert mixing["model.width"] == ["12", "20"]  # grouped at pointwise's width, and wider
    families = expand(study_grid("cpu", "families", None))
    assert families["model.arch"] == ["plain", "resnet", "inception"]
    degradation = expand(study_grid("cpu", "degradation", None))
    assert degradation["model.depth"] == ["3", "9", "24"]
    bottleneck = expand(study_grid("cpu", "bottleneck", None))
    for levels in (families, degradation):
        assert levels["seed"] == [str(i) for i in range(7)]
    for levels in (mixing, bottleneck):
        assert levels["seed"] == [str(i) for i in range(12)]


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


def _finish(jobs, score) -> None:
    """Fake finished runs: result.json of each job, its val acc from score(cfg)."""
    from ablate.training.records import run_dir

    for _, cfg in jobs:
        val = score(cfg)
        folder = run_dir(cfg)
        folder.mkdir(parents=True, exist_ok=True)
        status = "ok" if val is not None else "diverged"
        result = {"status": status, "val_acc": val, "classes": 10, "majority_acc": 0.11}
        (folder / "result.json").write_text(json.dumps(result))


def test_edge_arms_extend_and_their_runs_are_expected_keys(tmp_path: Path):
    from ablate.sweep.grid import search_grid, search_jobs, write_search_table
    from ablate.sweep.lr_search import table_path

    fixed = [f"runs_dir={tmp_path}"]
    search = search_grid("smoke", "main", None, fixed)
    assert search is not None and search["seed"] == "0,1"

    def score(cfg):  # maxpool peaks at 0.316 (past the top level); strided_conv at 0.03
        lr, peak = float(cfg.optim.lr), 0.316 if cfg.model.downsampling == "maxpool" else 0.03
        return None if lr > 0.5 else 0.9 - abs(math.log10(lr / peak)) / 10 + cfg.seed / 100

    _finish(search_jobs("smoke", "main", search, fixed, None), score)
    todo = write_search_table("smoke", "main", search, fixed)
    assert [(g["model.downsampling"], g["optim.lr"], g["seed"]) for g in todo] == [
        ("maxpool", "0.316", "0,1")
    ]
    # Stopped before the extension ran: it is asked for again, not taken as diverged.
    assert write_search_table("smoke", "main", search, fixed) == todo
    rounds = 1
    while todo:  # as run_sweep does, with fake runs in place of training
        table = json.loads(table_path(tmp_path, "main").read_text())
        _finish(search_jobs("smoke", "main", search, fixed, table), score)
        todo, rounds = write_search_table("smoke", "main", search, fixed), rounds + 1
    table = json.loads(table_path(tmp_path, "main").read_text())
    maxpool, strided = (
        table["arms"][
            f"model.activation=relu,model.downsampling={d},model.init=kaiming,model.norm=batch"
        ]
        for d in ("maxpool", "strided_conv")
    )
    assert rounds == 3  # 0.316 chosen, then 1.0 diverged: settled
    assert maxpool["lr"] == 0.316 and maxpool["edge"] == "diverged-next"
    assert maxpool["extended"] == [0.316, 1.0] and strided["edge"] is False
    keys = expected_keys("smoke", "main", None, fixed)
    searched = [k for k, role in keys.items() if role == "lr_search"]
    # 2 arms x 3 rates x 2 seeds, and the maxpool arm's 2 added rates x 2 seeds, less the
    # grid's own runs at the chosen rates (seeds 0: the smoke profile has one), keyed `grid`.
    assert len(searched) + 2 == 2 * 3 * 2 + 2 * 2
    assert len([k for k, role in keys.items() if role == "grid"]) == 2 * 2  # 2 archs
    # A config change gives the extension runs new keys: the old table's extension rates
    # have no runs, so they are asked for again, never read as diverged.
    changed = [*fixed, "trainer.max_steps=7"]
    _finish(search_jobs("smoke", "main", search, changed, None), score)
    again = write_search_table("smoke", "main", search, changed)
    assert [(g["model.downsampling"], g["optim.lr"]) for g in again] == [("maxpool", "0.316")]


def test_run_sweep_runs_each_extension_until_every_arm_settles(tmp_path: Path, monkeypatch):
    from ablate.sweep import grid as sweep

    ran: list[dict[str, str]] = []

    def fake_multirun(profile, study, wandb, grid, fixed, extra, reuse):  # trains nothing
        ran.append(grid)
        _finish(sweep._jobs(profile, study, grid, fixed), lambda cfg: 0.5 + cfg.optim.lr)

    monkeypatch.setattr(sweep, "_multirun", fake_multirun)
    monkeypatch.setattr("ablate.training.fingerprint.code_fingerprint", lambda device: "x")
    sweep.run_sweep("smoke", "main", None, "disabled", [], [f"runs_dir={tmp_path}"])
    # The search, then per arm (2) 3 extensions upwards (accuracy grows with the rate), then
    # the grid at the last rate added: the limit.
    added = [(g["model.downsampling"], g["optim.lr"]) for g in ran[1:-1]]
    assert sorted(added) == sorted(
        (d, r) for d in ("maxpool", "strided_conv") for r in ("0.316", "1", "3.16")
    )
    assert "model.arch" in ran[-1] and ran[-1]["seed"] == "range(0,1)"
    table = json.loads((tmp_path / "main" / "tuned_lr.json").read_text())
    assert {entry["edge"] for entry in table["arms"].values()} == {"limit"}
    assert {entry["lr"] for entry in table["arms"].values()} == {3.16}


def test_control_cells_get_the_profile_control_seeds_as_their_own_keys():
    from ablate.sweep.grid import control_grids

    grids = control_grids("cpu", "depth_init", None)  # grid: 3 seeds; controls: 4
    assert [(g["model.depth"], g["model.init"], g["seed"]) for g in grids] == [
        ("2", "kaiming", "range(3,4)"),
        ("20", "kaiming", "range(3,4)"),
    ]
    assert control_grids("cpu", "stride_fit", None) == []  # 6 seeds already
    assert control_grids("cpu", "depth_init", 4) == []  # params.yaml's seeds win
    more = ["profile.control_seeds=3"]
    grids = control_grids("smoke", "bn", None, [*more, "model.norm=batch"])
    assert [g["seed"] for g in grids] == ["range(1,3)"]  # the no-BN arm is not in this grid
    keys = expected_keys("smoke", "bn", None, more)
    # Both arms (BN, none) at each of 2 rates, seeds 1 and 2, beside the 1-seed grid.
    assert len(keys) == len(expected_keys("smoke", "bn", None)) + 2 * 2 * 2
    assert list(keys.values()).count("control") == 8


def test_run_sweep_runs_the_control_seeds_after_the_grid(tmp_path: Path, monkeypatch):
    from ablate.sweep import grid as sweep

    ran: list[dict[str, str]] = []
    monkeypatch.setattr(sweep, "_multirun", lambda *args: ran.append(args[3]))
    monkeypatch.setattr("ablate.training.fingerprint.code_fingerprint", lambda device: "x")
    more = [f"runs_dir={tmp_path}", "profile.control_seeds=2"]
    sweep.run_sweep("smoke", "bn", None, "disabled", [], more)
    assert [g["seed"] for g in ran] == ["range(0,1)", "range(1,2)", "range(1,2)"]
    assert [g["model.norm"] for g in ran[1:]] == ["batch", "none"]


def test_a_rate_sweeping_grid_with_extend_lr_extends_each_edge_cell(tmp_path: Path, monkeypatch):
    from ablate.sweep import grid as sweep

    ran: list[dict[str, str]] = []

    def fake_multirun(profile, study, wandb, grid, fixed, extra, reuse):
        ran.append(grid)  # accuracy grows with the rate up to 1, then diverges
        _finish(
            sweep._jobs(profile, study, grid, fixed),
            lambda c: 0.5 + c.optim.lr / 4 if c.optim.lr < 2 else None,
        )

    monkeypatch.setattr(sweep, "_multirun", fake_multirun)
    monkeypatch.setattr("ablate.training.fingerprint.code_fingerprint", lambda *args: "x")
    more = [f"runs_dir={tmp_path}", "study.extend_lr=true"]
    sweep.run_sweep("smoke", "bn", None, "disabled", [], more)
    # The grid (rates 0.03, 1), then each norm's cell at 3.16, where both diverge.
    added = sorted((g["model.norm"], g["optim.lr"]) for g in ran[1:])
    assert added == [("batch", "3.16"), ("none", "3.16")]
    table = json.loads((tmp_path / "bn" / "extended_lr.json").read_text())
    assert {e["edge"] for e in table["arms"].values()} == {"diverged-next"}
    keys = expected_keys("smoke", "bn", None, more)
    assert len(keys) == len(expected_keys("smoke", "bn", None)) + 2  # one seed each
    assert set(keys.values()) == {"grid"}
    # Every run of a cell carries the rate its table kept: 1, below the diverging 3.16.
    kept = sweep.kept_rates("smoke", "bn", None, more)
    assert set(kept) == set(keys) and set(kept.values()) == {1.0}
    assert sweep.kept_rates("smoke", "bn", None, [f"runs_dir={tmp_path}/none"]) == {}  # no table


def test_control_seeds_of_a_rate_sweep_go_to_the_best_validated_rate(monkeypatch):
    from ablate.sweep.grid import control_grids

    more = ["profile.control_seeds=3", "model.norm=batch"]
    (before,) = control_grids("smoke", "bn", None, more)  # nothing has run: every rate
    assert before["optim.lr"] == "0.03,1.0"
    scores = {0.03: 0.9, 1.0: 0.5}
    monkeypatch.setattr(
        "ablate.training.records.read_result",
        lambda path: {"status": "ok", "val_acc": scores[float(path.name.split("@")[-1])]},
    )
    monkeypatch.setattr("ablate.training.records.run_dir", lambda cfg: Path(f"x@{cfg.optim.lr}"))
    (after,) = control_grids("smoke", "bn", None, more)
    assert after["optim.lr"] == "0.03" and after["seed"] == "range(1,3)"


def test_only_the_unfinished_part_of_a_grid_is_launched(tmp_path):
    from ablate.sweep.grid import _jobs, unfinished
    from ablate.training.records import run_dir

    grid = {"model.activation": "relu,tanh", "seed": "range(0,2)"}
    fixed = [f"runs_dir={tmp_path}", "optim.lr=0.1"]
    assert unfinished("smoke", "main", grid, fixed) == [grid]

    def finish(activation: str, status: str) -> None:
        for levels, cfg in _jobs("smoke", "main", grid, fixed):
            if levels["model.activation"] == activation:
                run_dir(cfg).mkdir(parents=True, exist_ok=True)
                (run_dir(cfg) / "result.json").write_text(json.dumps({"status": status}))

    finish("relu", "ok")
    assert unfinished("smoke", "main", grid, fixed) == [dict(grid, **{"model.activation": "tanh"})]
    finish("tanh", "failed")  # a failed run is tried again
    assert unfinished("smoke", "main", grid, fixed) == [dict(grid, **{"model.activation": "tanh"})]
    finish("tanh", "diverged")
    assert unfinished("smoke", "main", grid, fixed) == []
