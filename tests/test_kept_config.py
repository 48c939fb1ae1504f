"""A sweep job's config from the kept composition equals Hydra's own, field by field."""

from __future__ import annotations

from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra._internal.utils import create_config_search_path
from hydra.types import RunMode
from omegaconf import OmegaConf

from ablate.config import CONF_DIR, register_schema
from ablate.sweep import kept_config
from ablate.sweep.kept_config import KeptConfigLoader

JOBS = [
    ["profile=smoke", "study=main", "model.activation=relu", "optim.lr=0.1", "seed=0"],
    ["profile=smoke", "study=main", "model.activation=tanh", "optim.lr=0.3", "seed=1"],
    ["profile=smoke", "study=main", "model.activation=tanh", "optim.lr=1e-2", "seed=1"],
    ["profile=smoke", "study=bn", "model.activation=relu", "optim.lr=0.1", "seed=0"],
    ["profile=cpu", "study=main", "model.activation=relu", "optim.lr=0.1", "seed=0"],
    ["profile=smoke", "study=main", "data=digits", "model.width=12", "seed=0"],
    ["profile=smoke", "study=main", "data=mnist5k", "model.width=16", "seed=2"],
]


def test_each_job_gets_what_hydra_would_compose(monkeypatch):
    register_schema()
    monkeypatch.setattr(kept_config, "_KEPT", {})
    path = create_config_search_path(str(CONF_DIR))
    hydra, kept = ConfigLoaderImpl(config_search_path=path), KeptConfigLoader(path)
    master = hydra.load_configuration(
        "train", ["hydra.mode=MULTIRUN", "seed=0,1"], run_mode=RunMode.MULTIRUN
    )
    for job in JOBS * 2:  # the second pass comes from kept compositions only
        want = OmegaConf.to_container(hydra.load_sweep_config(master, job))
        got = kept.load_sweep_config(master, job)
        assert OmegaConf.to_container(got) == want, job
        assert OmegaConf.is_struct(got)
    kinds = {key[2] for key in kept_config._KEPT}
    assert len(kinds) == 5  # main smoke; bn; cpu; and each data group apart


def test_a_bad_value_fails_as_in_hydra(monkeypatch):
    register_schema()
    monkeypatch.setattr(kept_config, "_KEPT", {})
    path = create_config_search_path(str(CONF_DIR))
    kept = KeptConfigLoader(path)
    master = kept.load_configuration("train", ["hydra.mode=MULTIRUN"], run_mode=RunMode.MULTIRUN)
    kept.load_sweep_config(master, ["model.width=8"])
    try:
        kept.load_sweep_config(master, ["model.width=wide"])
    except Exception as err:  # the schema's own type error, as composing gives
        assert "width" in str(err)
    else:
        raise AssertionError("model.width=wide was accepted")
