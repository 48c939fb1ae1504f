"""The per-arm rate search: the choice rule, the table, and the resolver the grid uses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ablate.config import compose, validate
from ablate.errors import ConfigError
from ablate.sweep.grid import expand, search_grid, study_grid
from ablate.sweep.lr_search import build_table, choose, mean_score, next_rate, pending, table_path
from ablate.training.keys import run_key


def result(
    lr: float, act: str, val: float | None, status: str = "ok", seed: int = 0, **fields
) -> tuple:
    from omegaconf import OmegaConf

    cfg = OmegaConf.create({"optim": {"lr": lr}, "model": {"activation": act}, "seed": seed})
    return cfg, {"status": status, "val_acc": val, "classes": 10, **fields}


def two_seeds(act: str, scores: dict[float, tuple]) -> list[tuple]:
    """Search jobs of one arm: rate -> (seed 0's, seed 1's val acc); None: diverged."""
    return [
        result(lr, act, val, "ok" if val is not None else "diverged", seed)
        for lr, pair in scores.items()
        for seed, val in enumerate(pair)
    ]


def arm(table: dict, act: str = "relu") -> dict:
    return table["arms"][f"model.activation={act}"]


def test_best_validated_rate_wins_and_failures_rank_last():
    assert choose({0.01: 0.9, 0.1: 0.95, 1.0: None}) == 0.1
    assert choose({0.01: 0.9, 0.1: 0.9}) == 0.01  # ties go to the lower rate
    assert choose({0.01: None, 0.1: None}) == 0.01


def test_the_choice_is_the_mean_over_two_seeds_a_diverged_seed_scoring_zero():
    assert mean_score([0.9, None]) == 0.45 and mean_score([None, None]) is None
    # Seed 0 alone would pick 0.03 (0.958 > 0.953); the mean over both seeds picks 0.01.
    jobs = two_seeds("relu", {0.003: (0.90, 0.90), 0.01: (0.953, 0.96), 0.03: (0.958, 0.94)})
    entry = arm(build_table([0.003, 0.01, 0.03], ["model.activation"], jobs))
    assert entry["lr"] == 0.01 and entry["edge"] is False and entry["trains"]
    assert entry["scores"]["0.03"] == {
        "mean": pytest.approx(0.949),
        "seeds": {"0": 0.958, "1": 0.94},
    }
    # One diverged seed sinks a rate: 0.97 and a diverged run average 0.485.
    jobs = two_seeds("relu", {0.01: (0.9, 0.9), 0.03: (0.97, None), 0.1: (0.5, 0.5)})
    assert arm(build_table([0.01, 0.03, 0.1], ["model.activation"], jobs))["lr"] == 0.01


@pytest.mark.parametrize(
    ("lr", "up", "expected"),
    [
        (0.1, True, 0.316),
        (0.01, False, 0.00316),
        (0.316, True, 1.0),
        (0.00316, False, 0.001),
        (0.03, True, 0.0949),
        (0.003, False, 0.000949),
    ],
)
def test_an_extension_is_half_a_decade_at_three_significant_figures(lr, up, expected):
    assert next_rate(lr, up) == expected


def test_an_edge_choice_extends_until_it_is_interior():
    levels, by = [0.01, 0.03, 0.1], ["model.activation"]
    jobs = two_seeds("relu", {0.01: (0.90, 0.91), 0.03: (0.93, 0.94), 0.1: (0.95, 0.96)})
    first = build_table(levels, by, jobs)
    assert pending(first) == {"model.activation=relu": 0.316} and "edge" in arm(first)
    jobs += two_seeds("relu", {0.316: (0.97, 0.97)})
    second = build_table(levels, by, jobs)
    assert pending(second) == {"model.activation=relu": 1.0}
    jobs += two_seeds("relu", {1.0: (0.96, 0.95)})
    done = build_table(levels, by, jobs)
    entry = arm(done)
    assert pending(done) == {} and entry["lr"] == 0.316 and entry["edge"] is False
    assert entry["extended"] == [0.316, 1.0] and set(entry["scores"]) == {
        "0.01",
        "0.03",
        "0.1",
        "0.316",
        "1",
    }


def test_an_extension_stops_at_a_diverging_rate_and_after_three():
    levels, by = [0.01, 0.03, 0.1], ["model.activation"]
    jobs = two_seeds("relu", {0.01: (0.9, 0.9), 0.03: (0.93, 0.93), 0.1: (0.95, 0.95)})
    jobs += two_seeds("relu", {0.316: (None, None)})
    entry = arm(build_table(levels, by, jobs))
    assert entry["lr"] == 0.1 and entry["edge"] == "diverged-next" and "next" not in entry
    # Still improving downwards after three half-decades: the limit, recorded.
    jobs = two_seeds("tanh", {0.01: (0.9, 0.9), 0.03: (0.8, 0.8), 0.1: (0.7, 0.7)})
    jobs += two_seeds("tanh", {0.00316: (0.91, 0.91), 0.001: (0.92, 0.92), 0.000316: (0.93, 0.93)})
    table = build_table(levels, by, jobs)
    assert arm(table, "tanh")["edge"] == "limit" and pending(table) == {}


def test_a_best_rate_next_to_a_cliff_backs_off_within_one_standard_error():
    levels, by = [0.01, 0.03, 0.1, 0.3], ["model.activation"]
    # 0.03 is best by 0.005, and 0.1 falls off (0.615 < 0.929 - 0.1): with 400 validation
    # images one SE of 0.929 is 0.0128, so 0.01 (0.924) is as good, and stabler.
    cliff = {0.01: (0.92, 0.927), 0.03: (0.927, 0.93), 0.1: (0.695, 0.535), 0.3: (None, None)}
    entry = arm(build_table(levels, by, two_seeds("relu", cliff), val_images=400))
    assert entry["lr"] == 0.01 and entry["edge"] == "cliff" and entry["cliff_from"] == 0.03
    # Unknown validation size, a lower rate more than one SE worse, a gentle slope above,
    # or one diverged seed above with a lower rate far behind: the best rate stays.
    assert arm(build_table(levels, by, two_seeds("relu", cliff)))["lr"] == 0.03
    behind = {**cliff, 0.01: (0.90, 0.90)}
    assert arm(build_table(levels, by, two_seeds("relu", behind), val_images=400))["lr"] == 0.03
    gentle = {**cliff, 0.1: (0.90, 0.91)}
    entry = arm(build_table(levels, by, two_seeds("relu", gentle), val_images=400))
    assert entry["lr"] == 0.03 and entry["edge"] is False
    one_nan = {**cliff, 0.1: (0.95, None)}  # mean 0.475, and a seed diverged
    assert arm(build_table(levels, by, two_seeds("relu", one_nan), val_images=400))["lr"] == 0.01
    # More validation images shrink the SE below the 0.005 gap: no back-off.
    assert arm(build_table(levels, by, two_seeds("relu", cliff), val_images=5000))["lr"] == 0.03


def test_an_arm_that_trains_at_no_rate_is_extended_up_until_a_seed_diverges():
    levels, by = [0.01, 0.03, 0.1], ["model.activation"]
    # Majority share 0.12: 0.2 is within the 0.1 margin; a seed diverged at the top rate.
    jobs = [
        result(lr, "sigmoid", val, status, seed, majority_acc=0.12)
        for lr, val, status in [(0.01, 0.2, "ok"), (0.03, 0.21, "ok"), (0.1, None, "diverged")]
        for seed in (0, 1)
    ]
    table = build_table(levels, by, jobs)
    entry = arm(table, "sigmoid")
    assert entry["trains"] is False and entry["edge"] == "no-train" and pending(table) == {}
    assert entry["lr"] == 0.01  # the lowest rate that did not diverge
    # At chance at every rate and no divergence: the cap may be why, so it goes up...
    flat = {0.01: (0.1, 0.1), 0.03: (0.1, 0.1), 0.1: (0.1, 0.1)}
    table = build_table(levels, by, two_seeds("relu", flat))
    assert arm(table)["trains"] is False and pending(table) == {"model.activation=relu": 0.316}
    # ...and trains where a larger step lets it, choosing again as any arm does.
    table = build_table(levels, by, two_seeds("relu", {**flat, 0.316: (0.9, 0.92)}))
    assert arm(table)["trains"] is True and pending(table) == {"model.activation=relu": 1.0}
    # Still at chance after three half-decades: it stops and trains at no rate tried.
    beyond = {0.316: (0.1, 0.1), 1.0: (0.1, 0.1), 3.16: (0.1, 0.1)}
    entry = arm(build_table(levels, by, two_seeds("relu", {**flat, **beyond})))
    assert entry["edge"] == "no-train" and "next" not in entry and entry["lr"] == 0.01
    # Without a recorded majority share, 1/classes is the floor: 0.25 > 0.1 + 0.1 trains.
    jobs = two_seeds("relu", {0.01: (0.25, 0.25), 0.03: (0.1, 0.1), 0.1: (0.1, 0.1)})
    assert arm(build_table(levels, by, jobs))["trains"] is True


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
    assert relu["lr"] == 0.1 and not relu["edge"] and relu["scores"]["1"]["mean"] is None
    assert tanh["lr"] == 0.01 and tanh["next"] == 0.00316
    # Jobs sharing one run (a moot field) each get the arm of their own config.
    shared = {"status": "ok", "val_acc": 0.9}
    cfg_a, _ = result(0.1, "identity", None)
    cfg_b, _ = result(0.1, "relu", None)
    both = build_table([0.1], ["model.activation"], [(cfg_a, shared), (cfg_b, shared)])
    assert set(both["arms"]) == {"model.activation=identity", "model.activation=relu"}
    missing = build_table([0.1], ["model.activation"], [(cfg_a, None)])
    assert missing["arms"]["model.activation=identity"]["scores"]["0.1"]["mean"] is None


def test_search_grid_and_resolver(tmp_path: Path):
    search = search_grid("smoke", "main", None)
    assert search is not None and search["seed"] == "0,1"
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


def test_an_arm_that_partly_learns_at_an_edge_is_extended_toward_it():
    levels, by = [0.01, 0.03, 0.1], ["model.activation"]
    # Below the mark (0.1 + 0.1) everywhere, but above chance by 0.07 at the lowest rate.
    jobs = two_seeds("sigmoid", {0.01: (0.17, 0.17), 0.03: (0.11, 0.1), 0.1: (0.1, 0.1)})
    table = build_table(levels, by, jobs)
    entry = arm(table, "sigmoid")
    assert entry["trains"] is False and entry["edge"] == "no-train"
    assert pending(table) == {"model.activation=sigmoid": 0.00316}
    # At chance at the bottom: only a larger step might train it, so it goes up.
    jobs = two_seeds("sigmoid", {0.01: (0.12, 0.12), 0.03: (0.11, 0.1), 0.1: (0.1, 0.1)})
    assert pending(build_table(levels, by, jobs)) == {"model.activation=sigmoid": 0.316}
    # Three half-decades later, still only partly: the search stops there.
    jobs = two_seeds("sigmoid", {0.01: (0.17, 0.17), 0.03: (0.11, 0.1), 0.1: (0.1, 0.1)})
    beyond = {0.00316: (0.17, 0.18), 0.001: (0.18, 0.18), 0.000316: (0.19, 0.19)}
    jobs += two_seeds("sigmoid", beyond)
    entry = arm(build_table(levels, by, jobs), "sigmoid")
    assert entry["lr"] == 0.000316 and "next" not in entry and entry["edge"] == "no-train"


def test_an_edge_rate_that_ties_the_best_is_extended_past():
    levels, by = [0.01, 0.03, 0.1], ["model.activation"]
    tied = {0.01: (0.90, 0.91), 0.03: (0.96, 0.97), 0.1: (0.97, 0.96)}
    table = build_table(levels, by, two_seeds("relu", tied))
    assert arm(table)["lr"] == 0.03 and pending(table) == {"model.activation=relu": 0.316}
    beyond = build_table(levels, by, two_seeds("relu", {**tied, 0.316: (0.95, 0.95)}))
    assert arm(beyond)["lr"] == 0.03 and pending(beyond) == {}  # worse beyond: settled


def test_an_arm_that_diverges_at_every_rate_is_extended_down():
    levels, by = [0.01, 0.03, 0.1], ["model.activation"]
    nan = {0.01: (None, None), 0.03: (None, None), 0.1: (None, None)}
    table = build_table(levels, by, two_seeds("abs", nan))
    assert arm(table, "abs")["trains"] is False
    assert pending(table) == {"model.activation=abs": 0.00316}
    lower = build_table(levels, by, two_seeds("abs", {**nan, 0.00316: (0.9, 0.91)}))
    assert arm(lower, "abs")["trains"] is True and arm(lower, "abs")["lr"] == 0.00316


def test_an_arm_whose_runs_failed_without_diverging_is_not_extended_down():
    levels, by = [0.01, 0.03, 0.1], ["model.activation"]
    jobs = [result(lr, "abs", None, "failed", seed) for lr in levels for seed in (0, 1)]
    table = build_table(levels, by, jobs)
    assert arm(table, "abs")["trains"] is False and pending(table) == {}
