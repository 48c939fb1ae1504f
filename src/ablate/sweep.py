"""A study's sweep: its grid as the profile sizes it, checked whole, run as a Hydra multirun.

The grid is the study's `hydra.sweeper.params` with the profile's `profile.sweeps.<study>`
levels on top, plus `seed=range(n)`. Every level is validated before the first job starts,
so a typo fails in a second instead of after an hour of training.
"""

from __future__ import annotations

import math
import os
import sys
import time
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from ablate.config import compose, validate
from ablate.errors import ConfigError
from ablate.params import PROFILES, STUDIES
from ablate.training.progress import START_ENV, TOTAL_ENV


def study_grid(profile: str, study: str, seeds: int | None) -> dict[str, str]:
    """Axis -> Hydra sweep levels ("a,b,c") for `study` under `profile`."""
    for kind, value, valid in (("study", study, STUDIES), ("profile", profile, PROFILES)):
        if value not in valid:
            raise ConfigError(f"{kind}={value!r} is not valid; choose one of: {', '.join(valid)}")
    cfg = compose([f"profile={profile}", f"study={study}"], with_hydra=True)
    grid: dict[str, Any] = dict(OmegaConf.to_container(cfg.hydra.sweeper.params) or {})
    grid.update(OmegaConf.to_container(cfg.profile.sweeps).get(study, {}))
    grid["seed"] = f"range(0,{seeds or cfg.profile.seeds})"
    return {key: str(value) for key, value in grid.items()}


def expand(grid: dict[str, str]) -> dict[str, list[str]]:
    """Each axis's levels as strings, parsed with Hydra's own override grammar."""
    parser = OverridesParser.create()
    levels: dict[str, list[str]] = {}
    for key, value in grid.items():
        override = parser.parse_override(f"{key}={value}")
        if override.is_sweep_override():
            levels[key] = list(override.sweep_string_iterator())
        else:
            levels[key] = [override.get_value_element_as_str()]
    return levels


def check_grid(profile: str, study: str, levels: dict[str, list[str]]) -> int:
    """Validate every level of every axis against the schema; return the number of jobs."""
    base = [f"profile={profile}", f"study={study}"]
    errors: list[str] = []
    for key, values in levels.items():
        for value in values if key != "seed" else values[:1]:
            try:
                validate(compose([*base, f"{key}={value}"]))
            except ConfigError as err:
                errors.append(str(err))
            except Exception as err:  # Hydra's own errors: unknown key, wrong type
                errors.append(f"{key}={value}: {err}".splitlines()[0])
    if errors:
        raise ConfigError(f"study {study!r} has bad levels: " + "; ".join(sorted(set(errors))))
    return math.prod(len(v) for v in levels.values())


def run_sweep(
    profile: str,
    study: str,
    seeds: int | None,
    wandb: str,
    extra: list[str],
    reuse_runs: bool = False,
) -> int:
    """Run the study's grid through Hydra's multirun; return the number of jobs.
    `reuse_runs`: keep finished runs of the same configs made by other code."""
    grid = study_grid(profile, study, seeds)
    total = check_grid(profile, study, expand(grid))
    print(f"sweep {study} ({profile}): {total} runs over " + ", ".join(grid), file=sys.stderr)
    from ablate.train import main

    argv = ["ablate.train", "-m", f"profile={profile}", f"study={study}", f"wandb={wandb}"]
    argv.append(f"reuse_runs={str(reuse_runs).lower()}")
    argv += [f"{key}={value}" for key, value in grid.items()] + list(extra)
    saved, sys.argv = sys.argv, argv
    os.environ[TOTAL_ENV] = str(total)
    os.environ[START_ENV] = str(time.time())
    try:
        main()
    finally:
        sys.argv = saved
        os.environ.pop(TOTAL_ENV, None)
        os.environ.pop(START_ENV, None)
    return total


def expected_keys(profile: str, study: str, seeds: int | None) -> set[str]:
    """The run keys of the study's current grid: what the aggregate keeps. Runs left over
    from an earlier grid or budget stay on disk (their keys may come back) but are not
    mixed into the current results."""
    from itertools import product

    from omegaconf import OmegaConf

    from ablate.training.keys import run_key

    base = compose([f"profile={profile}", f"study={study}"])
    parser = OverridesParser.create()
    axes = []
    for key, value in study_grid(profile, study, seeds).items():
        override = parser.parse_override(f"{key}={value}")
        values = (
            list(override.sweep_iterator()) if override.is_sweep_override() else [override.value()]
        )
        axes.append([(key, v) for v in values])
    keys = set()
    for job in product(*axes):
        cfg = base.copy()
        for key, value in job:
            OmegaConf.update(cfg, key, value, merge=False)
        keys.add(run_key(cfg))
    return keys
