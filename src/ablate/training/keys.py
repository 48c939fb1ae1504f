"""Run keys: a short hash of every config field that can change a run's result, and of the
code that turns the config into numbers (`fingerprint`), so results follow the code."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig

from ablate.config import DataConfig, ModelConfig, resolved
from ablate.training.fingerprint import code_fingerprint, device_type

# Fields that do not change the numbers a run produces: where it writes, how it logs,
# how long it may take, which study asked for it.
IGNORED = {
    "data": {"root", "url", "marks"},
    "trainer": {"max_time_s", "progress_bar"},
}
KEYED_SECTIONS = ("data", "model", "optim", "trainer", "probes", "seed")


def key_fields(cfg: DictConfig) -> dict[str, Any]:
    plain = resolved(cfg)
    assert isinstance(plain, dict)
    fields: dict[str, Any] = {}
    for section in KEYED_SECTIONS:
        value = plain[section]
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in IGNORED.get(section, ())}
        fields[section] = value
    return fields


# Fields a model family ignores: set to their defaults before hashing, so cells that differ
# only in a moot field (a norm position without a norm, an activation of a linear model)
# share one key and train once.
MOOT = {
    "linear": (
        "activation",
        "norm",
        "norm_position",
        "downsampling",
        "width",
        "depth",
        "stages",
        "reduction",
        "match_flops",
        "flops_ref",
        "stem",
        "head",
    ),
    "mlp": ("downsampling", "stages", "reduction", "match_flops", "flops_ref", "stem", "head"),
}
MOOT["resmlp"] = MOOT["resmlp_noskip"] = MOOT["mlp"]


def canonical(fields: dict[str, Any]) -> dict[str, Any]:
    model, data, defaults = fields["model"], fields["data"], ModelConfig()
    for name in MOOT.get(model["arch"], ()):
        model[name] = getattr(defaults, name)
    if model["flops_ref"] in ("", model["arch"]):  # its own family is the reference
        model["flops_ref"] = defaults.flops_ref
    if model["reduction"] == "none" and not model["flops_ref"]:
        model["match_flops"] = defaults.match_flops  # nothing to widen: already the reference
    if not model["match_flops"]:
        model["flops_ref"] = defaults.flops_ref
    if model["norm"] == "none":
        model["norm_position"] = defaults.norm_position
    # Moot, or off: absent, as in the keys made before these fields existed.
    if model["norm"] != "noisy_batch":
        model.pop("norm_noise", None)
    if not fields["probes"].get("drift", True):
        fields["probes"].pop("drift")
    if not data.get("scramble_labels", True):
        data.pop("scramble_labels")
    if not data.get("image_size", 1):
        data.pop("image_size")
    if model["init"] != "small_normal":
        model["init_std"] = defaults.init_std
    if not data["folds"]:
        data["fold"] = DataConfig().fold
    return fields


def _hash(fields: dict[str, Any]) -> str:
    blob = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def config_key(cfg: DictConfig) -> str:
    """The hash of the config alone: equal across code versions (what `reuse_runs` matches)."""
    return _hash(canonical(key_fields(cfg)))


# The model field that picks each registry's entry (registry kind -> field); the dataset
# registry's is `data.name`. Every registry in the fingerprint's scope must be named here.
CHOICE_FIELDS = {
    "activation": "activation",
    "architecture": "arch",
    "downsampling": "downsampling",
    "head": "head",
    "init": "init",
    "norm": "norm",
    "reduction": "reduction",
}


def code_choices(model: Mapping[str, Any], dataset: str) -> dict[str, str | None]:
    """The registry entries a run executes, kind -> name (None where its family ignores the
    field): the code fingerprint hashes these entries and no other entry of their kinds."""
    moot = MOOT.get(str(model["arch"]), ())
    choices: dict[str, str | None] = {
        kind: None if field in moot else str(model[field]) for kind, field in CHOICE_FIELDS.items()
    }
    return {**choices, "dataset": dataset}


def run_code(cfg: DictConfig) -> str:
    """The code fingerprint of the run `cfg`: the shared code and its own registry entries."""
    fields = canonical(key_fields(cfg))
    choices = code_choices(fields["model"], fields["data"]["name"])
    return code_fingerprint(device_type(cfg.trainer.accelerator), choices)


def run_key(cfg: DictConfig) -> str:
    """The run's identity: config and code fingerprint, so a code change trains anew."""
    return _hash({**canonical(key_fields(cfg)), "code": run_code(cfg)})
