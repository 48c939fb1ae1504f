"""Stacked training (vmap over same-shape runs) against the project's real single-run path:
the same per-run scores, histories and divergences, and clear refusals of what cannot stack."""

from __future__ import annotations

import csv
import json
import math

import pytest

from ablate.errors import ConfigError
from ablate.training.records import run_dir
from ablate.training.run import run
from ablate.training.stacked import group_by_shape, train_stacked
from ablate.training.stacked_cli import bench, main

# 30 steps of 21 per epoch: an epoch boundary, its validation, and a budget cut mid-epoch.
BASE = ("probes.enabled=false", "optim=sgd", "quiet=true", "trainer.max_steps=30")
EVERY = "trainer.history_every=7"  # train-loss rows on both sides of the epoch boundary
DECAY = "optim.weight_decay=0.01"
LOSS_TOL = 1e-4


def _history(cfg) -> list[dict[str, float]]:
    with open(run_dir(cfg) / "history.csv") as handle:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(handle)]


def test_stacked_runs_match_their_separate_runs(make_cfg):
    cfgs = [
        make_cfg(*BASE, EVERY, DECAY, "seed=0"),  # batch norm (the smoke default): running stats
        make_cfg(*BASE, EVERY, DECAY, "seed=1", "optim.lr=0.1"),
        make_cfg(*BASE, EVERY, DECAY, "seed=2", "optim.lr=0.02", "model.init=xavier"),
    ]
    separate = [run(cfg) for cfg in cfgs]
    stacked = train_stacked(cfgs)
    for cfg, one, many in zip(cfgs, separate, stacked, strict=True):
        assert many["status"] == one["status"] == "ok" and many["stacked"] == 3
        assert many["config_key"] == one["config_key"]
        for name in ("steps", "epochs", "val_acc", "test_acc", "best_val_acc"):
            assert many[name] == one[name], name
        assert many["test_classes_predicted"] == one["test_classes_predicted"]
        for name in ("val_loss", "test_loss"):
            assert math.isclose(many[name], one[name], abs_tol=LOSS_TOL), name
        rows = _history(cfg)
        assert [(r["step"], r["epoch"]) for r in many["history"]] == [
            (r["step"], r["epoch"]) for r in rows
        ]
        for mine, theirs in zip(many["history"], rows, strict=True):
            for name in ("train_loss", "val_loss"):
                if name in theirs:
                    assert math.isclose(mine[name], theirs[name], abs_tol=LOSS_TOL)
        assert math.isfinite(many["train_loss"])


def test_a_diverged_run_ends_as_its_separate_run_does_and_spares_the_others(make_cfg):
    cfgs = [
        make_cfg(*BASE, "model.norm=none", "seed=0"),
        make_cfg(*BASE, "model.norm=none", "seed=1", "optim.lr=20.0"),
    ]
    separate = [run(cfg) for cfg in cfgs]
    ok, bad = train_stacked(cfgs)
    assert bad["status"] == separate[1]["status"] == "diverged"
    assert bad["diverged_step"] == separate[1]["diverged_step"]
    assert "test_acc" not in bad and all(r["step"] < bad["diverged_step"] for r in bad["history"])
    assert ok["status"] == "ok" and ok["test_acc"] == separate[0]["test_acc"]


def test_the_group_times_out_together_without_scores(make_cfg):
    cfgs = [make_cfg(*BASE, f"seed={seed}", "trainer.max_time_s=1e-9") for seed in (0, 1)]
    separate = run(cfgs[0])
    for result in train_stacked(cfgs):
        assert result["status"] == separate["status"] == "timeout"
        assert result["steps"] == 1 and "test_acc" not in result and "test_acc" not in separate


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["probes.enabled=true"], r"probes\.enabled=True .*valid: False"),
        (["optim=adam"], r"optim\.name='adam' .*valid: 'sgd'"),
        (["trainer.stall_steps=50"], r"trainer\.stall_steps=50 .*valid: 0"),
        (["trainer.precision=bf16-mixed"], r"trainer\.precision='bf16-mixed' .*valid: '32-true'"),
    ],
)
def test_refuses_what_it_cannot_stack_naming_the_value(make_cfg, overrides, message):
    with pytest.raises(ConfigError, match=message):
        train_stacked([make_cfg("probes.enabled=false", "optim=sgd", *overrides)])


def test_refuses_different_shapes_naming_the_field_and_the_free_ones(make_cfg):
    cfgs = [make_cfg(*BASE), make_cfg(*BASE, "model.width=4")]
    with pytest.raises(ConfigError, match=r"model\.width=8 vs 4; .*only seed, optim\.lr"):
        train_stacked(cfgs)
    with pytest.raises(ConfigError, match="at least one"):
        train_stacked([])


def test_groups_by_shape_keeping_free_fields_together(make_cfg):
    a, b, c = (
        make_cfg(*BASE, "seed=0"),
        make_cfg(*BASE, "model.width=4"),
        make_cfg(*BASE, "seed=1", "optim.lr=0.3", "model.init=xavier"),
    )
    assert group_by_shape([a, b, c]) == [[a, c], [b]]


def test_entry_point_trains_a_grid_by_groups_and_writes_results(tmp_path, data_root, capsys):
    out = tmp_path / "stacked.json"
    main(
        [
            "profile=smoke",
            f"data.root={data_root}",
            *BASE[:2],
            "trainer.max_steps=3",
            "seed=0,1",
            "model.width=4,8",
            "--out",
            str(out),
        ]
    )
    results = json.loads(out.read_text())
    assert len(results) == 4 and {r["stacked"] for r in results} == {2}
    assert capsys.readouterr().out.count(" ok test_acc=") == 4


def test_bench_times_stacked_and_separate_for_each_size(make_cfg):
    rows = bench(make_cfg(*BASE[:2], "trainer.max_steps=2"), [1, 2])
    assert [row["M"] for row in rows] == [1, 2]
    assert all(row["stacked_images_per_s"] > 0 < row["separate_images_per_s"] for row in rows)
