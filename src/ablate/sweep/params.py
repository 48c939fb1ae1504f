"""params.yaml: the pipeline knobs that DVC tracks (profile, seeds, studies, wandb,
overrides, reuse_runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ablate.config import CONF_DIR, WANDB_MODES
from ablate.errors import ConfigError

PROFILES = tuple(sorted(p.stem for p in (CONF_DIR / "profile").glob("*.yaml")))
STUDIES = tuple(sorted(p.stem for p in (CONF_DIR / "study").glob("*.yaml")))
MAX_SEEDS = 100
# Settings params.yaml owns: an override of one would disagree with what DVC tracks.
OWN_KEYS = ("profile", "study", "seed", "wandb", "reuse_runs")


def load_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """Read and check params.yaml; a bad value fails here, before any stage does work."""
    params = yaml.safe_load(Path(path).read_text()) or {}
    profile = params.setdefault("profile", "cpu")
    if profile not in PROFILES:
        raise ConfigError(f"profile={profile!r} is not valid; choose one of: {', '.join(PROFILES)}")
    seeds = params.setdefault("seeds", None)
    if seeds is not None and (not isinstance(seeds, int) or not 1 <= seeds <= MAX_SEEDS):
        raise ConfigError(f"seeds={seeds!r} must be null or an integer in 1..{MAX_SEEDS}")
    for study in params.setdefault("studies", ["main"]):
        if study not in STUDIES:
            raise ConfigError(f"study {study!r} is not valid; choose from: {', '.join(STUDIES)}")
    if params.setdefault("wandb", "disabled") not in WANDB_MODES:
        raise ConfigError(
            f"wandb={params['wandb']!r} is not valid; choose one of: {', '.join(WANDB_MODES)}"
        )
    if not isinstance(params.setdefault("reuse_runs", False), bool):
        raise ConfigError(f"reuse_runs={params['reuse_runs']!r} must be true or false")
    check_overrides(params.setdefault("overrides", []))
    return params


def check_overrides(overrides: Any) -> None:
    """`overrides` must be a list of Hydra overrides that leave params.yaml's own keys alone;
    their values are checked against the schema when a stage composes them."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
        raise ConfigError(f"overrides={overrides!r} must be a list of Hydra overrides (strings)")
    parser = OverridesParser.create()
    for text in overrides:
        try:
            key = parser.parse_override(text).key_or_group
        except HydraException as err:
            raise ConfigError(f"overrides: {text!r} is not a Hydra override: {err}") from None
        if key in OWN_KEYS:
            raise ConfigError(f"overrides: {text!r} sets `{key}`; use params.yaml's own key")
