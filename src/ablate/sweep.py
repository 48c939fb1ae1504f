"""A study's sweep: its grid as the profile sizes it, checked whole, run as a Hydra multirun.

The grid is the study's `hydra.sweeper.params` with the profile's `profile.sweeps.<study>`
levels on top, then params.yaml's `overrides` (an override of an axis, or a sweep, sets that
axis's levels; any other is a fixed setting of every job), plus `seed=range(n)`. Every level
is validated before the first job starts, so a typo fails in a second instead of after an
hour of training.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from ablate.config import compose, validate
from ablate.errors import ConfigError
from ablate.params import PROFILES, STUDIES
from ablate.training.progress import START_ENV, TOTAL_ENV


def split_overrides(
    overrides: Sequence[str], axes: Iterable[str] = ()
) -> tuple[dict[str, str], list[str]]:
    """params.yaml's `overrides` -> (grid axes they set: key -> levels, fixed overrides).
    An override of an existing axis, or any sweep, sets an axis; the rest are fixed."""
    parser = OverridesParser.create()
    axes = set(axes)
    grid: dict[str, str] = {}
    fixed: list[str] = []
    for text in overrides:
        override = parser.parse_override(text)
        if override.is_sweep_override() or override.key_or_group in axes:
            grid[override.key_or_group] = text.split("=", 1)[1]
        else:
            fixed.append(text)
    return grid, fixed


def study_grid(
    profile: str, study: str, seeds: int | None, overrides: Sequence[str] = ()
) -> dict[str, str]:
    """Axis -> Hydra sweep levels ("a,b,c") for `study` under `profile` and `overrides`."""
    for kind, value, valid in (("study", study, STUDIES), ("profile", profile, PROFILES)):
        if value not in valid:
            raise ConfigError(f"{kind}={value!r} is not valid; choose one of: {', '.join(valid)}")
    base = [f"profile={profile}", f"study={study}", *split_overrides(overrides)[1]]
    cfg = compose(base, with_hydra=True)
    grid: dict[str, Any] = dict(OmegaConf.to_container(cfg.hydra.sweeper.params) or {})
    grid.update(OmegaConf.to_container(cfg.profile.sweeps).get(study, {}))
    grid.update(split_overrides(overrides, grid)[0])
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


def check_grid(
    profile: str, study: str, levels: dict[str, list[str]], fixed: Sequence[str] = ()
) -> int:
    """Validate every level of every axis against the schema; return the number of jobs."""
    base = [f"profile={profile}", f"study={study}", *fixed]
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
    overrides: Sequence[str] = (),
) -> int:
    """Run the study's grid through Hydra's multirun; return the number of jobs."""
    grid = study_grid(profile, study, seeds, overrides)
    fixed = split_overrides(overrides, grid)[1]
    total = check_grid(profile, study, expand(grid), fixed)
    print(f"sweep {study} ({profile}): {total} runs over " + ", ".join(grid), file=sys.stderr)
    from ablate.train import main

    argv = ["ablate.train", "-m", f"profile={profile}", f"study={study}", f"wandb={wandb}"]
    argv += [*fixed, *(f"{key}={value}" for key, value in grid.items()), *extra]
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


def expected_keys(
    profile: str, study: str, seeds: int | None, overrides: Sequence[str] = ()
) -> set[str]:
    """The run keys of the study's current grid: what the aggregate keeps. Runs left over
    from an earlier grid or budget stay on disk (their keys may come back) but are not
    mixed into the current results."""
    from itertools import product

    from omegaconf import OmegaConf

    from ablate.training.keys import run_key

    grid = study_grid(profile, study, seeds, overrides)
    base = compose([f"profile={profile}", f"study={study}", *split_overrides(overrides, grid)[1]])
    parser = OverridesParser.create()
    axes = []
    for key, value in grid.items():
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
