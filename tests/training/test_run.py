"""Integration tests that really train on the 8x8 digits: one run, its folder and record,
skip on rerun (unless `rerun=true`), determinism, divergence and failure as results."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ablate.training import run as run_module
from ablate.training.keys import run_key
from ablate.training.records import run_dir
from ablate.training.run import run

from ..conftest import REPO

RESULT_FIELDS = {
    "status",
    "key",
    "seed",
    "val_acc",
    "val_loss",
    "test_acc",
    "test_loss",
    "epochs",
    "steps",
    "wall_time_s",
    "fit_time_s",
    "train_images_per_s",
    "params",
    "flops_per_image",
    "versions",
    "hardware",
    "data_hash",
    "config",
}


def test_one_run_writes_its_folder_and_is_skipped_on_rerun(make_cfg):
    cfg = make_cfg("model.activation=tanh", "model.init=xavier")
    result = run(cfg)
    folder = run_dir(cfg)
    assert result["status"] == "ok" and result.keys() >= RESULT_FIELDS
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.yaml",
        "history.csv",
        "probes.json",
        "result.json",
    ]
    assert result["test_acc"] > 0.3  # 10 classes: chance is 0.1
    history = (folder / "history.csv").read_text().splitlines()
    assert history[0] == "step,epoch,train_loss,val_loss,val_acc" and len(history) > 2
    assert "activation: tanh" in (folder / "config.yaml").read_text()
    before = (folder / "result.json").read_bytes()
    again = run(cfg)
    assert again.get("skipped") and (folder / "result.json").read_bytes() == before
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]
    redo = make_cfg("model.activation=tanh", "model.init=xavier", "rerun=true")
    assert run_key(redo) == result["key"]  # `rerun` is not part of the key
    again = run(redo)  # trains and writes the finished key again (and logs it, if W&B is on)
    assert not again.get("skipped") and (folder / "result.json").read_bytes() != before
    assert json.loads((folder / "result.json").read_text())["key"] == result["key"]


def test_same_config_and_seed_give_identical_metrics(make_cfg, tmp_path: Path):
    a = run(make_cfg("runs_dir=" + str(tmp_path / "a")))
    b = run(make_cfg("runs_dir=" + str(tmp_path / "b")))
    for name in ("val_acc", "val_loss", "test_acc", "test_loss", "steps"):
        assert a[name] == b[name], name
    c = run(make_cfg("runs_dir=" + str(tmp_path / "c"), "seed=1"))
    assert c["key"] != a["key"] and c["test_loss"] != a["test_loss"]


def test_key_ignores_paths_and_budgets_but_not_axes(make_cfg):
    base = run_key(make_cfg())
    assert run_key(make_cfg("runs_dir=/elsewhere", "trainer.max_time_s=5")) == base
    assert run_key(make_cfg("model.activation=tanh")) != base
    assert run_key(make_cfg("seed=3")) != base


def test_exploding_loss_is_recorded_as_diverged(make_cfg):
    result = run(make_cfg("optim=sgd", "optim.lr=1e30", "model.norm=none"))
    assert result["status"] == "diverged"
    assert isinstance(result["diverged_step"], int)
    assert (
        json.loads(
            (
                run_dir(make_cfg("optim=sgd", "optim.lr=1e30", "model.norm=none")) / "result.json"
            ).read_text()
        )["status"]
        == "diverged"
    )


def test_crash_is_recorded_as_failed_and_retried(make_cfg, monkeypatch):
    cfg = make_cfg()

    def boom(*args, **kwargs):
        raise RuntimeError("injected crash")

    monkeypatch.setattr(run_module, "build_model", boom)
    result = run(cfg)
    assert result["status"] == "failed" and "injected crash" in result["error"]
    monkeypatch.undo()
    retried = run(cfg)
    assert retried["status"] == "ok" and not retried.get("skipped")


def test_time_budget_stops_a_run_as_timeout(make_cfg):
    result = run(make_cfg("trainer.max_time_s=1e-9"))
    assert result["status"] == "timeout"


def test_cli_multirun_writes_one_folder_per_job(tmp_path: Path, data_root: Path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ablate.train",
            "-m",
            "profile=smoke",
            "model.activation=relu,tanh",
            "model.norm=none,batch",
            f"runs_dir={tmp_path}",
            f"data.root={data_root}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = [json.loads(p.read_text()) for p in tmp_path.glob("adhoc/*/result.json")]
    assert len(results) == 4 and {r["status"] for r in results} == {"ok"}
    cells = {(r["config"]["model"]["activation"], r["config"]["model"]["norm"]) for r in results}
    assert cells == {("relu", "none"), ("relu", "batch"), ("tanh", "none"), ("tanh", "batch")}


@pytest.mark.parametrize("arch", ["resnet", "inception", "mlp", "resmlp"])
def test_every_family_trains(make_cfg, arch):
    assert run(make_cfg(f"model.arch={arch}"))["status"] == "ok"


def test_moot_fields_share_a_key(make_cfg):
    assert run_key(make_cfg("model.norm=none", "model.norm_position=post")) == run_key(
        make_cfg("model.norm=none", "model.norm_position=pre")
    )
    assert run_key(make_cfg("model.norm=batch", "model.norm_position=post")) != run_key(
        make_cfg("model.norm=batch", "model.norm_position=pre")
    )
    assert run_key(make_cfg("model.arch=linear", "model.activation=tanh")) == run_key(
        make_cfg("model.arch=linear", "model.activation=relu")
    )
    # Without a reduction there is nothing to widen: the control of C1 trains once.
    resnet = ("model.arch=resnet", "model.reduction=none")
    assert run_key(make_cfg(*resnet, "model.match_flops=true")) == run_key(make_cfg(*resnet))
    pointwise = ("model.arch=resnet", "model.reduction=pointwise")
    assert run_key(make_cfg(*pointwise, "model.match_flops=true")) != run_key(make_cfg(*pointwise))
    # A family's own FLOPs are no other reference; another family's is (C4's families).
    plain = ("model.arch=plain", "model.match_flops=true")
    assert run_key(make_cfg(*plain, "model.flops_ref=plain")) == run_key(make_cfg(*plain))
    assert run_key(make_cfg("model.arch=plain")) == run_key(make_cfg(*plain))
    resnet_ref = ("model.arch=resnet", "model.flops_ref=plain")
    assert run_key(make_cfg(*resnet_ref)) == run_key(make_cfg("model.arch=resnet"))
    assert run_key(make_cfg(*resnet_ref, "model.match_flops=true")) != run_key(
        make_cfg("model.arch=resnet")
    )


def test_folds_hold_out_one_chunk_of_the_training_split(make_cfg):
    from ablate.data.datamodule import TensorDataModule

    sizes = []
    for fold in range(3):
        dm = TensorDataModule(make_cfg("data.folds=3", f"data.fold={fold}").data)
        dm.setup()
        sizes.append((len(dm.tensors["train"][1]), len(dm.tensors["val"][1])))
    assert sum(v for _, v in sizes) == sizes[0][0] + sizes[0][1]
    assert len({t + v for t, v in sizes}) == 1


def test_the_readme_image_folder_example_trains(make_cfg):
    shapes = REPO / "tests" / "fixtures" / "shapes"
    cfg = make_cfg(
        "data=imagefolder",
        f"data.path={shapes}",
        "data.batch_size=8",
        "data.val_fraction=0.2",
        "data.test_fraction=0.25",
        "model.stages=2",
    )
    result = run(cfg)
    assert result["status"] == "ok" and result["classes"] == 2
    assert result["config"]["data"]["name"] == "imagefolder"


@pytest.mark.parametrize("channels_last", [True, False])
def test_channels_last_applies_on_cpu_too(make_cfg, monkeypatch, channels_last: bool):
    """The gpu profile's memory layout is exercised by CPU runs, so a CPU dry run tests it."""
    seen: list[bool] = []

    class Spy(run_module.Classifier):
        def training_step(self, batch, batch_idx):
            conv = [p for p in self.parameters() if p.dim() == 4][-1]  # many input channels
            seen.append(conv.is_contiguous(memory_format=torch.channels_last))
            return super().training_step(batch, batch_idx)

    monkeypatch.setattr(run_module, "Classifier", Spy)
    result = run(make_cfg(f"trainer.channels_last={channels_last}", "probes.enabled=false"))
    assert result["status"] == "ok" and seen and set(seen) == {channels_last}


def test_stem_probes_land_in_the_result_beside_the_layer_probes(make_cfg):
    cfg = make_cfg(
        "model.stem=k3s2p0", "model.stages=2", "probes.stem_coverage=true", "probes.shifts=[1]"
    )
    probe = run(cfg)["probe"]
    assert probe["unread_pixels"] == 8 * 8 - 7 * 7 and 0 < probe["unread_ink_share"] < 1
    assert {"shift_acc_br_1", "shift_acc_tl_1", "act_layers"} <= probe.keys()
    plain = run(make_cfg("model.stem=k3s2p0", "model.stages=2", "probes.enabled=false"))
    assert "probe" not in plain


def test_noise_amplitude_is_moot_without_a_noisy_norm_and_off_switches_leave_keys_alone(make_cfg):
    from ablate.training.keys import canonical, key_fields

    assert run_key(make_cfg("model.norm=batch", "model.norm_noise=0.3")) == run_key(
        make_cfg("model.norm=batch")
    )
    noisy = ("model.norm=noisy_batch",)
    assert run_key(make_cfg(*noisy, "model.norm_noise=0.3")) != run_key(
        make_cfg(*noisy, "model.norm_noise=1.0")
    )
    # At their defaults the new fields are absent: keys made before they existed still match.
    fields = canonical(key_fields(make_cfg()))
    assert "norm_noise" not in fields["model"] and "scramble_labels" not in fields["data"]
    assert "drift" not in fields["probes"]
    on = canonical(key_fields(make_cfg("data.scramble_labels=true", "probes.drift=true")))
    assert on["data"]["scramble_labels"] and on["probes"]["drift"]
