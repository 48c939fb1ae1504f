"""Bad values fail before any training, naming the bad value and the valid ones."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hydra.errors import ConfigCompositionException

from ablate.config import compose, validate
from ablate.errors import ConfigError
from ablate.sweep.params import PROFILES

from .conftest import REPO


def test_default_config_is_valid():
    validate(compose([]))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "model.activation=swish",
            "model.activation='swish' is not valid; choose one of: identity",
        ),
        ("model.init=orthogonal", "model.init='orthogonal' is not valid; choose one of: default"),
        ("model.norm=layer", "model.norm='layer' is not valid; choose one of: none, batch"),
        ("model.downsampling=blur", "choose one of: maxpool, avgpool, strided_conv, conv_layer"),
        ("model.arch=vgg", "model.arch='vgg' is not valid; choose one of: plain, resnet"),
        ("data.preprocessing=whiten", "choose one of: raw, center, standardize"),
        (
            "model.reduction=lowrank",
            "model.reduction='lowrank' is not valid; choose one of: none, pointwise, subsample",
        ),
        ("model.reduction=pointwise", "model.reduction='pointwise' needs model.arch in"),
        ("model.flops_ref=mlp", "model.flops_ref='mlp' is not valid; choose one of: plain"),
        ("optim.lr=0", "optim.lr=0.0 must be a positive number"),
        ("optim.lr=-0.1", "optim.lr=-0.1 must be a positive number"),
        ("model.depth=0", "model.depth=0 must be a positive number"),
        ("model.width=-4", "model.width=-4 must be a positive number"),
        ("trainer.max_epochs=0", "trainer.max_epochs=0 must be a positive number"),
        ("study.name=../x", "study.name='../x' must be a plain folder name"),
        ("study.name=/tmp/x", "study.name='/tmp/x' must be a plain folder name"),
        ("probes.shifts=[2,0]", "0] must be positive pixel counts"),
        ("model.norm_noise=-0.1", "model.norm_noise=-0.1 must be >= 0"),
        ("data.image_size=0", "data.image_size=0 must be a positive number"),
    ],
)
def test_bad_value_is_named(override, message):
    with pytest.raises(ConfigError, match=r".*" + message.replace("(", r"\(").replace(".", r"\.")):
        validate(compose([override]))


def test_several_errors_are_reported_together():
    with pytest.raises(ConfigError) as err:
        validate(compose(["model.activation=swish", "optim.lr=-1"]))
    assert "model.activation" in str(err.value) and "optim.lr" in str(err.value)


def test_typos_and_wrong_types_fail_at_composition():
    with pytest.raises(ConfigCompositionException, match="Could not override 'model.activaton'"):
        compose(["model.activaton=relu"])
    with pytest.raises(ConfigCompositionException, match="Error merging override model.width=wide"):
        compose(["model.width=wide"])


def test_cli_exits_nonzero_with_one_line_before_training(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "ablate.train", "model.activation=swish", f"runs_dir={tmp_path}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "error: model.activation='swish' is not valid; choose one of:" in proc.stderr
    assert "relu" in proc.stderr
    assert not any(tmp_path.rglob("result.json"))


@pytest.mark.parametrize("profile", PROFILES)
def test_no_profile_stops_a_run_for_stalling(profile):
    # A run still at ln(classes) early may leave it later: trainability is measured, not cut.
    assert compose([f"profile={profile}"]).trainer.stall_steps == 0


def test_a_kept_composition_is_a_copy_and_follows_edits_to_conf(tmp_path, monkeypatch):
    import shutil

    from ablate import config

    conf = shutil.copytree(config.CONF_DIR, tmp_path / "conf")
    monkeypatch.setattr(config, "CONF_DIR", conf)
    first = config.compose(["study=main"])
    first.model.width = 999  # a caller's change stays its own
    assert config.compose(["study=main"]).model.width != 999
    study = conf / "study" / "main.yaml"
    study.write_text(study.read_text() + "model:\n  width: 13\n")
    assert config.compose(["study=main"]).model.width == 13


def test_compositions_are_kept_side_by_side(monkeypatch):
    """Planning alternates between configs (one per level checked): each is composed once."""
    from ablate import config

    calls: list[list[str]] = []
    real = config._compose
    monkeypatch.setattr(config, "_compose", lambda o, *a: calls.append(o) or real(o, *a))
    monkeypatch.setattr(config, "_COMPOSED", {})
    for _ in range(3):
        config.compose(["study=main"])
        config.compose(["study=bn"])
    assert calls == [["study=main"], ["study=bn"]]
